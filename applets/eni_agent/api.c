/* eni-agent api: one Alibaba Cloud OpenAPI call, for operators and tests. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "eni_agent.h"

#define API_BODY_MAX	(16 << 20)
#define API_MAX_PARAMS	256

const char ea_api_help[] =
"usage: eni-agent api [--region R] [--endpoint URL] [--ca-file PEM]\n"
"                     [--config FILE] [--method GET|POST]\n"
"                     PRODUCT ACTION [Key=Value...]\n"
"\n"
"Call one Alibaba Cloud OpenAPI action (RPC style, signature 1.0) and\n"
"print the JSON reply as the aliyun CLI does (keys sorted, tab indented).\n"
"PRODUCT is ecs (API version " ALIYUN_ECS_VERSION ") or vpc ("
ALIYUN_VPC_VERSION ").\n"
"Each Key=Value is one request parameter, the value sent byte for byte\n"
"(percent-encoded for the signature); lists are numbered (Tag.1.Key=k).\n"
"RegionId, Version and Format may be given this way too.  Throttling*,\n"
"ServiceUnavailable and HTTP 5xx replies are retried with jittered\n"
"backoff (5 attempts in all); other errors are not.\n"
"\n"
"  -r, --region R      region; default: region_id of --config FILE, else\n"
"                      ALIBABA_CLOUD_REGION_ID, else region_id of\n"
"                      " EA_DEFAULT_CONFIG "\n"
"  -e, --endpoint URL  endpoint of both products; default\n"
"                      https://PRODUCT.R.aliyuncs.com\n"
"  -C, --ca-file PEM   trust anchors; default " TLS_DEFAULT_CA_FILE "\n"
"  -c, --config FILE   agent config (Terway eni.json keys: access_key,\n"
"                      access_secret, credential_path, region_id)\n"
"  -X, --method M      GET (default) or POST (parameters in a form body)\n"
"\n"
"Credentials: access_key/access_secret, else the encrypted credential_path\n"
"file, of --config FILE; else ALIBABA_CLOUD_ACCESS_KEY_ID,\n"
"ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN (STS);\n"
"else those of " EA_DEFAULT_CONFIG ".  Secrets are never printed.\n"
"Exit status: 0 success; 1 the API answered an error (Code, Message and\n"
"RequestId on stderr) or the request failed; 2 usage or configuration.\n";

static const char api_optstring[] = ":r:e:C:c:X:h";
static const struct option api_options[] = {
	{ "region", required_argument, NULL, 'r' },
	{ "endpoint", required_argument, NULL, 'e' },
	{ "ca-file", required_argument, NULL, 'C' },
	{ "config", required_argument, NULL, 'c' },
	{ "method", required_argument, NULL, 'X' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parameters only the signer sets (lib/aliyun.c refuses them). */
static const char *const reserved[] = {
	"AccessKeyId", "Action", "Signature", "SignatureMethod",
	"SignatureNonce", "SignatureVersion", "SecurityToken", "Timestamp",
};

struct api_args {
	const char *region, *endpoint, *ca_file, *config;
	int post;
	enum aliyun_product product;
	const char *action;
	struct aliyun_param params[API_MAX_PARAMS];
	size_t n;
};

static int bad_option(char **argv, int c)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return ea_usage_error("api", "option %s needs a value", opt);
	if (optopt)
		return ea_usage_error("api", "unknown option -%c", optopt);
	return ea_usage_error("api", "unknown option %.*s",
			      (int)strcspn(opt, "="), opt);
}

static int parse_options(int argc, char **argv, struct api_args *o)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, api_optstring, api_options,
				NULL)) != -1) {
		switch (c) {
		case 'r': o->region = optarg; break;
		case 'e': o->endpoint = optarg; break;
		case 'C': o->ca_file = optarg; break;
		case 'c': o->config = optarg; break;
		case 'X':
			if (!strcmp(optarg, "GET") || !strcmp(optarg, "POST")) {
				o->post = optarg[0] == 'P';
				break;
			}
			return ea_usage_error("api", "--method: want GET or "
					      "POST, got '%s'", optarg);
		case 'h':
			fputs(ea_api_help, stdout);
			return -1;
		default:
			return bad_option(argv, c);
		}
	}
	if (o->region && !*o->region)
		return ea_usage_error("api", "--region: empty");
	return 0;
}

static int check_param(const struct api_args *o, const char *arg,
		       size_t klen)
{
	size_t i;

	if (!klen)
		return ea_usage_error("api", "'%s': expected Key=Value", arg);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == klen &&
		    !memcmp(arg, reserved[i], klen))
			return ea_usage_error("api", "%s: set by the signer, "
					      "not a parameter", reserved[i]);
	for (i = 0; i < o->n; i++)
		if (strlen(o->params[i].key) == klen &&
		    !memcmp(arg, o->params[i].key, klen))
			return ea_usage_error("api", "%.*s: given twice",
					      (int)klen, arg);
	return 0;
}

/* PRODUCT ACTION Key=Value...: the keys are cut out of argv in place. */
static int parse_operands(int argc, char **argv, struct api_args *o)
{
	const char *p;
	char *eq;
	int i, rc;

	if (argc - optind < 2)
		return ea_usage_error("api", "PRODUCT and ACTION expected");
	if (!strcmp(argv[optind], "ecs"))
		o->product = ALIYUN_ECS;
	else if (!strcmp(argv[optind], "vpc"))
		o->product = ALIYUN_VPC;
	else
		return ea_usage_error("api", "PRODUCT: want ecs or vpc, got "
				      "'%s'", argv[optind]);
	o->action = argv[optind + 1];
	for (p = o->action; *p; p++)
		if (!(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
		    !(*p >= '0' && *p <= '9'))
			break;
	if (!*o->action || *p)
		return ea_usage_error("api", "ACTION: want a name like "
				      "DescribeVSwitches, got '%s'", o->action);
	for (i = optind + 2; i < argc; i++) {
		eq = strchr(argv[i], '=');
		if (o->n == API_MAX_PARAMS)
			return ea_usage_error("api", "more than %d parameters",
					      API_MAX_PARAMS);
		rc = check_param(o, argv[i], eq ? (size_t)(eq - argv[i]) : 0);
		if (rc)
			return rc;
		*eq = '\0';
		o->params[o->n].key = argv[i];
		o->params[o->n++].value = eq + 1;
	}
	return 0;
}

static int env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/* Credentials and region: flag, --config FILE, environment, default
 * config file (read only when something is still missing). */
static int settings(const struct api_args *o, struct aliyun_client *cl)
{
	char err[EA_ERR_SIZE];
	const char *region = o->region, *env_region;
	struct ea_config cfg;
	int env_cred, rc = 0;

	memset(&cfg, 0, sizeof(cfg));
	env_region = env_set("ALIBABA_CLOUD_REGION_ID") ?
		getenv("ALIBABA_CLOUD_REGION_ID") : NULL;
	env_cred = env_set("ALIBABA_CLOUD_ACCESS_KEY_ID") ||
		   env_set("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
	if (o->config) {
		rc = ea_config_load(&cfg, o->config, err, sizeof(err));
		if (rc < 0)
			return ea_usage_error("api", "--config: %s", err);
		if (!region && cfg.region[0])
			region = cfg.region;
	} else if (!env_cred || (!region && !env_region)) {
		rc = ea_config_load(&cfg, EA_DEFAULT_CONFIG, err, sizeof(err));
		if (rc < 0 && rc != -ENOENT)
			return ea_usage_error("api", "%s", err);
	}
	if (!region)
		region = env_region ? env_region : cfg.region;
	if (!*region && !o->endpoint) {
		ea_config_clear(&cfg);
		return ea_usage_error("api", "no region: give --region, "
				      "region_id in the config file or "
				      "ALIBABA_CLOUD_REGION_ID");
	}
	snprintf(cl->region, sizeof(cl->region), "%s", region);
	if (cfg.have_cred && (o->config || !env_cred))
		cl->cred = cfg.cred;
	else if (env_cred)
		rc = aliyun_cred_from_env(&cl->cred, err, sizeof(err));
	else
		rc = -ENOENT;
	ea_config_clear(&cfg);
	if (rc == -ENOENT && !env_cred)
		return ea_usage_error("api", "no credentials: set "
				      "ALIBABA_CLOUD_ACCESS_KEY_ID and "
				      "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or "
				      "access_key/access_secret in --config "
				      "FILE");
	if (rc < 0)
		return ea_usage_error("api", "%s", err);
	return 0;
}

/* TLS trust anchors, unless the endpoint is plain http. */
static int trust(const struct api_args *o, struct tls_config *tls,
		 int *have)
{
	struct http_url u;
	char err[EA_ERR_SIZE];

	*have = 0;
	if (o->endpoint) {
		if (http_url_parse(o->endpoint, &u, err, sizeof(err)) < 0)
			return ea_usage_error("api", "--endpoint: %s", err);
		if (u.scheme != HTTP_SCHEME_HTTPS)
			return 0;
	}
	*have = 1;
	if (tls_config_init(tls, o->ca_file, err, sizeof(err)) < 0)
		return ea_usage_error("api", "%s%s", o->ca_file ?
				      "--ca-file: " : "", err);
	return 0;
}

static int report(const struct api_args *o, int rc,
		  const struct aliyun_error *e)
{
	const char *prod = o->product == ALIYUN_ECS ? "ecs" : "vpc";

	if (rc == -EREMOTEIO) {
		fprintf(stderr, "eni-agent api: %s %s: HTTP %d after %d "
			"attempt%s\nCode: %s\nMessage: %s\nRequestId: %s\n",
			prod, o->action, e->http_status, e->attempts,
			e->attempts == 1 ? "" : "s",
			e->code[0] ? e->code : "(none)", e->message,
			e->request_id[0] ? e->request_id : "(none)");
	} else {
		ea_errorf("api", "%s %s: %s (%d attempt%s)", prod, o->action,
			  e->message[0] ? e->message : strerror(-rc),
			  e->attempts, e->attempts == 1 ? "" : "s");
	}
	return EA_EXIT_FAIL;
}

static int call(struct api_args *o, struct aliyun_client *cl)
{
	struct aliyun_error e;
	size_t len = 0;
	char *body;
	int rc;

	if (o->endpoint) {
		snprintf(cl->endpoint[ALIYUN_ECS], sizeof(cl->endpoint[0]),
			 "%s", o->endpoint);
		snprintf(cl->endpoint[ALIYUN_VPC], sizeof(cl->endpoint[0]),
			 "%s", o->endpoint);
	}
	cl->post = o->post;
	body = malloc(API_BODY_MAX);
	if (!body) {
		ea_errorf("api", "out of memory");
		return EA_EXIT_FAIL;
	}
	rc = aliyun_call(cl, o->product, o->action, o->params, o->n, body,
			 API_BODY_MAX, &len, &e);
	if (rc < 0)
		rc = report(o, rc, &e);
	else if (ea_json_print(stdout, body, len) < 0)
		rc = EA_EXIT_FAIL;	/* stdout is gone: nothing to say */
	free(body);
	return rc;
}

int ea_api_main(int argc, char **argv)
{
	struct api_args *o = calloc(1, sizeof(*o));
	struct http_conn *conn = malloc(sizeof(*conn));
	struct aliyun_client cl;
	struct tls_config tls;
	int rc, have_tls = 0;

	if (!o || !conn) {
		ea_errorf("api", "out of memory");
		rc = EA_EXIT_FAIL;
		goto out;
	}
	http_conn_init(conn);
	rc = parse_options(argc, argv, o);
	if (!rc)
		rc = parse_operands(argc, argv, o);
	if (!rc)
		rc = trust(o, &tls, &have_tls);
	if (!rc) {
		aliyun_client_init(&cl, NULL, have_tls ? &tls : NULL, conn);
		rc = settings(o, &cl);
	}
	if (!rc)
		rc = call(o, &cl);
	explicit_bzero(&cl.cred, sizeof(cl.cred));
	http_conn_close(conn);
	if (have_tls)
		tls_config_free(&tls);
out:
	free(conn);
	free(o);
	return rc < 0 ? EA_EXIT_OK : rc;
}
