/* eni-agent metadata: one value of the ECS metadata service. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "eni_agent.h"

#define META_VALUE_MAX	(1 << 20)

const char ea_metadata_help[] =
"usage: eni-agent metadata [--endpoint URL] [--allow-v1] PATH\n"
"\n"
"Print one value of the ECS instance metadata service, as the agent reads\n"
"it: an IMDSv2 token first (PUT /latest/api/token), then GET\n"
"/latest/meta-data/PATH with the token (a PATH starting with / is taken as\n"
"it is).  Examples: instance-id, region-id, mac,\n"
"network/interfaces/macs/MAC/private-ipv4s, ram/security-credentials/.\n"
"429, 5xx and transport failures are retried (4 attempts).\n"
"\n"
"  -e, --endpoint URL  metadata service; default " ALIYUN_METADATA_URL "\n"
"  -1, --allow-v1      read without a token (IMDSv1) when the service\n"
"                      gives none; refused by default\n"
"\n"
"Exit status: 0 success; 1 not found or the request failed; 2 usage.\n";

static const char meta_optstring[] = ":e:1h";
static const struct option meta_options[] = {
	{ "endpoint", required_argument, NULL, 'e' },
	{ "allow-v1", no_argument, NULL, '1' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct meta_args {
	const char *endpoint;
	int allow_v1;
	const char *path;
};

static int parse_args(int argc, char **argv, struct meta_args *o)
{
	const char *opt;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, meta_optstring, meta_options,
				NULL)) != -1) {
		opt = argv[optind - 1];
		switch (c) {
		case 'e': o->endpoint = optarg; break;
		case '1': o->allow_v1 = 1; break;
		case 'h':
			fputs(ea_metadata_help, stdout);
			return -1;
		case ':':
			return ea_usage_error("metadata", "option %s needs a "
					      "value", opt);
		default:
			if (optopt)
				return ea_usage_error("metadata", "unknown "
						      "option -%c", optopt);
			return ea_usage_error("metadata", "unknown option "
					      "%.*s", (int)strcspn(opt, "="),
					      opt);
		}
	}
	if (argc - optind != 1 || !*argv[optind])
		return ea_usage_error("metadata", "one PATH expected");
	o->path = argv[optind];
	return 0;
}

static int get(const struct meta_args *o, struct http_conn *conn)
{
	struct aliyun_meta m;
	char err[EA_ERR_SIZE], *out;
	size_t len;
	int rc;

	if (aliyun_meta_init(&m, o->endpoint, conn, err, sizeof(err)) < 0)
		return ea_usage_error("metadata", "--endpoint: %s", err);
	m.allow_v1 = o->allow_v1;
	out = malloc(META_VALUE_MAX);
	if (!out) {
		ea_errorf("metadata", "out of memory");
		return EA_EXIT_FAIL;
	}
	rc = aliyun_meta_get(&m, o->path, out, META_VALUE_MAX, &len);
	if (rc == 0) {
		fwrite(out, 1, len, stdout);
		fputc('\n', stdout);
		rc = fflush(stdout) || ferror(stdout) ? EA_EXIT_FAIL : 0;
	} else if (!m.token[0] && !o->allow_v1 &&
		   !strncmp(m.err, "metadata token", 14)) {
		ea_errorf("metadata", "%s (no IMDSv2 token; --allow-v1 reads "
			  "without one)", m.err);
		rc = EA_EXIT_FAIL;
	} else {
		ea_errorf("metadata", "%s", m.err);
		rc = EA_EXIT_FAIL;
	}
	explicit_bzero(out, len);	/* may be role credentials */
	free(out);
	explicit_bzero(m.token, sizeof(m.token));
	return rc;
}

int ea_metadata_main(int argc, char **argv)
{
	struct meta_args o = { 0 };
	struct http_conn *conn;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? EA_EXIT_OK : rc;
	conn = malloc(sizeof(*conn));
	if (!conn) {
		ea_errorf("metadata", "out of memory");
		return EA_EXIT_FAIL;
	}
	http_conn_init(conn);
	rc = get(&o, conn);
	http_conn_close(conn);
	free(conn);
	return rc;
}
