/* The worker's side of the cloud: one OpenAPI client (lib/aliyun retries
 * Throttling and 5xx with jittered backoff), a client-side rate limit per
 * action (token buckets, Terway's per-minute defaults), credentials kept
 * fresh (RAM role STS and credential_path files are refreshed well before
 * their Expiration), and the metadata service.  Every call is logged at
 * debug level with its RequestId and counted in the metrics; parameters
 * and secrets are never logged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cloud.h"
#include "json.h"
#include "sock.h"

#define BODY_MAX	(4 << 20)
#define REFRESH_BEFORE_MS	(15 * 60 * 1000)
#define FILE_REFRESH_MS		(30 * 60 * 1000)

/* Terway's client-side limits (pkg/aliyun/client/ratelimit.go), per
 * minute; everything else 600. */
static const struct { const char *action; int per_min; } def_rates[] = {
	{ "AttachNetworkInterface", 500 }, { "CreateNetworkInterface", 500 },
	{ "DeleteNetworkInterface", 500 }, { "DescribeNetworkInterfaces", 800 },
	{ "DetachNetworkInterface", 400 }, { "AssignPrivateIpAddresses", 400 },
	{ "UnassignPrivateIpAddresses", 400 },
	{ "DescribeInstanceTypes", 400 }, { "DescribeVSwitches", 300 },
};

static int rate_for(const struct ea_conf *conf, const char *action)
{
	int i, def = 600;

	for (i = 0; i < conf->nrate; i++)
		if (!strcmp(conf->rate[i].action, action))
			return conf->rate[i].per_min;
	for (i = 0; i < conf->nrate; i++)
		if (!strcmp(conf->rate[i].action, "*"))
			def = conf->rate[i].per_min;
	for (i = 0; i < (int)(sizeof(def_rates) / sizeof(def_rates[0])); i++)
		if (!strcmp(def_rates[i].action, action))
			return def_rates[i].per_min;
	return def;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Take a token of action's bucket, waiting for one if needed. */
static void rate_wait(struct ea_cloud *c, const char *action)
{
	struct ea_bucket *b = NULL;
	int64_t now = sock_now_ms(), wait;
	int i, per_min;

	for (i = 0; i < c->nb; i++)
		if (!strcmp(c->b[i].action, action))
			b = &c->b[i];
	if (!b && c->nb < EA_MAX_ACTIONS) {
		b = &c->b[c->nb++];
		per_min = rate_for(&c->ag->conf, action);
		snprintf(b->action, sizeof(b->action), "%s", action);
		b->per_ms = per_min / 60000.0;
		b->burst = per_min / 10.0 < 1 ? 1 : per_min / 10.0;
		b->tokens = b->burst;
		b->last_ms = now;
	}
	if (!b)
		return;
	b->tokens += (double)(now - b->last_ms) * b->per_ms;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->last_ms = now;
	if (b->tokens < 1) {
		wait = (int64_t)((1 - b->tokens) / b->per_ms) + 1;
		log_debug("api %s: client rate limit, waiting %lld ms",
			  action, (long long)wait);
		sleep_ms(wait);
		b->tokens = 1;
		b->last_ms = sock_now_ms();
	}
	b->tokens -= 1;
}

void ea_client_token(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	int i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		for (i = 0; i < 16; i++)
			r[i] = (unsigned char)(rand() ^ (sock_now_ms() >> i));
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[32] = '\0';
}

int64_t ea_parse_iso8601(const char *s)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -1;
	return (int64_t)timegm(&tm);
}

/* When to read the credentials again, from their expiration. */
static void schedule_refresh(struct ea_cloud *c, const char *expiration)
{
	int64_t exp = expiration[0] ? ea_parse_iso8601(expiration) : -1;
	int64_t left_ms, now = sock_now_ms();

	if (exp < 0) {
		c->refresh_ms = c->kind == EA_CRED_FILE ?
			now + FILE_REFRESH_MS : 0;
		return;
	}
	left_ms = (exp - (int64_t)time(NULL)) * 1000;
	if (left_ms > 2 * REFRESH_BEFORE_MS)
		c->refresh_ms = now + left_ms - REFRESH_BEFORE_MS;
	else	/* short-lived: at half their life, not more often than 2 s */
		c->refresh_ms = now + (left_ms > 4000 ? left_ms / 2 : 2000);
	if (c->kind == EA_CRED_FILE && c->refresh_ms > now + FILE_REFRESH_MS)
		c->refresh_ms = now + FILE_REFRESH_MS;
}

int ea_cloud_creds(struct ea_cloud *c, int force)
{
	const struct ea_conf *conf = &c->ag->conf;
	struct aliyun_cred cr;
	char exp[64] = "", why[EA_ERR_SIZE];
	int rc = 0;

	if (!force && (!c->refresh_ms || sock_now_ms() < c->refresh_ms) &&
	    c->cl.cred.access_key_id[0])
		return 0;
	if (c->kind == EA_CRED_KEY) {
		cr = conf->cred;
	} else if (c->kind == EA_CRED_FILE) {
		rc = ea_cred_file(conf->credential_path, &cr, exp, sizeof(exp),
				  why, sizeof(why));
	} else if (c->kind == EA_CRED_ENV) {
		rc = aliyun_cred_from_env(&cr, why, sizeof(why));
	} else {
		rc = aliyun_meta_credentials(&c->meta, conf->ram_role[0] ?
					     conf->ram_role : NULL, &cr, exp,
					     sizeof(exp));
		if (rc < 0)
			snprintf(why, sizeof(why), "RAM role credentials: "
				 "%.400s", c->meta.err);
	}
	if (rc < 0) {
		snprintf(c->err, sizeof(c->err), "%s", why);
		c->refresh_ms = sock_now_ms() + 10000;
		explicit_bzero(&cr, sizeof(cr));
		return rc;
	}
	c->cl.cred = cr;
	explicit_bzero(&cr, sizeof(cr));
	schedule_refresh(c, exp);
	log_info("credentials %s: %s%s%s", force ? "loaded" : "refreshed",
		 ea_cred_kind_name(c->kind), exp[0] ? ", expire " : "", exp);
	return 0;
}

const char *ea_cred_kind_name(enum ea_cred_kind k)
{
	switch (k) {
	case EA_CRED_KEY: return "access_key";
	case EA_CRED_FILE: return "credential_path";
	case EA_CRED_ENV: return "environment";
	case EA_CRED_ROLE: return "instance RAM role";
	default: return "none";
	}
}

static void request_id(struct ea_cloud *c, char *out, size_t cap)
{
	const char *s;

	if (c->e.request_id[0])
		snprintf(out, cap, "%s", c->e.request_id);
	else if (c->have_doc &&
		 json_get_str(&c->doc, 0, "RequestId", &s, NULL) == 0)
		snprintf(out, cap, "%s", s);
	else
		snprintf(out, cap, "-");
}

static void account(struct ea_cloud *c, const char *action, int64_t t0,
		    int rc)
{
	double secs = (double)(sock_now_ms() - t0) / 1000;
	const char *code = rc == 0 ? NULL : c->e.code[0] ? c->e.code :
		"transport";
	char rid[128];

	request_id(c, rid, sizeof(rid));
	if (rc == 0)
		log_debug("api %s ok RequestId=%s ms=%.0f attempts=%d", action,
			  rid, secs * 1000, c->e.attempts);
	else
		log_debug("api %s error=%s RequestId=%s ms=%.0f attempts=%d: "
			  "%s", action, code, rid, secs * 1000, c->e.attempts,
			  c->e.message);
	ea_lock(c->ag);
	ea_metric_api(&c->ag->m, action, secs, code);
	ea_unlock(c->ag);
}

static int call_once(struct ea_cloud *c, enum aliyun_product p,
		     const char *action, const struct aliyun_param *params,
		     size_t n)
{
	struct json_err je;
	int64_t t0 = sock_now_ms();
	int rc;

	arena_free_all(&c->a);
	c->have_doc = 0;
	rate_wait(c, action);
	rc = aliyun_call(&c->cl, p, action, params, n, c->body, BODY_MAX,
			 &c->len, &c->e);
	if (rc == 0) {
		if (json_parse(&c->doc, &c->a, c->body, c->len, NULL, &je) < 0
		    || json_typeof(&c->doc, 0) != JSON_OBJECT) {
			snprintf(c->e.message, sizeof(c->e.message), "%s: bad "
				 "reply: %s", action, je.msg);
			rc = -EBADMSG;
		} else {
			c->have_doc = 1;
		}
	}
	account(c, action, t0, rc);
	return rc;
}

int ea_api(struct ea_cloud *c, enum aliyun_product p, const char *action,
	   const struct aliyun_param *params, size_t n)
{
	int rc;

	if (ea_cloud_creds(c, 0) < 0 && !c->cl.cred.access_key_id[0]) {
		memset(&c->e, 0, sizeof(c->e));
		snprintf(c->e.message, sizeof(c->e.message), "%s", c->err);
		return -EACCES;
	}
	rc = call_once(c, p, action, params, n);
	if (rc == -EREMOTEIO && c->kind != EA_CRED_KEY &&
	    (!strncmp(c->e.code, "InvalidSecurityToken", 20) ||
	     !strcmp(c->e.code, "InvalidAccessKeyId.NotFound")) &&
	    ea_cloud_creds(c, 1) == 0)
		rc = call_once(c, p, action, params, n);
	return rc;
}

int ea_meta(struct ea_cloud *c, const char *path, char *out, size_t cap)
{
	size_t len;
	int rc;

	rc = aliyun_meta_get(&c->meta, path, out, cap, &len);
	if (rc < 0 && rc != -ENOENT)
		log_debug("metadata %s: %s", path, c->meta.err);
	return rc;
}

static enum ea_cred_kind cred_kind(const struct ea_conf *conf)
{
	const char *id = getenv("ALIBABA_CLOUD_ACCESS_KEY_ID");

	if (conf->cred_kind == EA_CRED_KEY || conf->cred_kind == EA_CRED_FILE)
		return conf->cred_kind;
	if (id && *id)
		return EA_CRED_ENV;
	return EA_CRED_ROLE;
}

int ea_cloud_init(struct ea_cloud *c, struct agent *ag, char *err,
		  size_t errlen)
{
	const struct ea_conf *conf = &ag->conf;

	memset(c, 0, sizeof(*c));
	c->ag = ag;
	arena_init(&c->a);
	c->conn = malloc(sizeof(*c->conn));
	c->meta_conn = malloc(sizeof(*c->meta_conn));
	c->body = malloc(BODY_MAX);
	if (!c->conn || !c->meta_conn || !c->body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	http_conn_init(c->conn);
	http_conn_init(c->meta_conn);
	if (tls_config_init(&c->tls, conf->ca_file[0] ? conf->ca_file : NULL,
			    err, errlen) < 0)
		return -EINVAL;
	c->have_tls = 1;
	aliyun_client_init(&c->cl, conf->region, &c->tls, c->conn);
	snprintf(c->cl.endpoint[ALIYUN_ECS], sizeof(c->cl.endpoint[0]), "%s",
		 conf->ecs_endpoint);
	snprintf(c->cl.endpoint[ALIYUN_VPC], sizeof(c->cl.endpoint[0]), "%s",
		 conf->vpc_endpoint);
	c->cl.timeout_ms = 20000;
	if (aliyun_meta_init(&c->meta, conf->metadata_endpoint[0] ?
			     conf->metadata_endpoint : NULL, c->meta_conn,
			     err, errlen) < 0)
		return -EINVAL;
	c->kind = cred_kind(conf);
	return 0;
}

void ea_cloud_free(struct ea_cloud *c)
{
	explicit_bzero(&c->cl.cred, sizeof(c->cl.cred));
	if (c->conn)
		http_conn_close(c->conn);
	if (c->meta_conn)
		http_conn_close(c->meta_conn);
	if (c->have_tls)
		tls_config_free(&c->tls);
	arena_free_all(&c->a);
	free(c->conn);
	free(c->meta_conn);
	free(c->body);
	memset(c, 0, sizeof(*c));
}
