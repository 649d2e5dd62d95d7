/* The daemon's config file: Terway's eni.json keys where they overlap,
 * plus ours (endpoints, paths, timings).  Every key is optional; a wrong
 * type or value is fatal and names the key; an unknown key is a warning. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "json.h"
#include "subnetenv.h"

struct cctx {
	struct ea_conf *c;
	const struct json_doc *d;
	int v;			/* the value's token */
	const char *key;
	char *err;
	size_t errlen;
};

struct key;
typedef int (*key_fn)(struct cctx *x, const struct key *k);

struct key {
	const char *name;
	key_fn fn;
	size_t off, size;	/* field of struct ea_conf */
	int64_t min, max;	/* integers and durations (ms) */
};

static int bad(struct cctx *x, const char *fmt, const char *what)
{
	snprintf(x->err, x->errlen, "%s: %s: ", x->c->path, x->key);
	snprintf(x->err + strlen(x->err), x->errlen - strlen(x->err), fmt,
		 what);
	return -EINVAL;
}

static int get_str(struct cctx *x, int tok, const char **s)
{
	struct json_err je;

	if (json_as_str(x->d, tok, x->key, s, NULL, &je) < 0) {
		snprintf(x->err, x->errlen, "%s: %s", x->c->path, je.msg);
		return -EINVAL;
	}
	return 0;
}

static int copy_str(struct cctx *x, const char *s, char *dst, size_t cap)
{
	if (strlen(s) >= cap) {
		snprintf(x->err, x->errlen, "%s: %s: longer than %zu bytes",
			 x->c->path, x->key, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int k_str(struct cctx *x, const struct key *k)
{
	const char *s;

	if (get_str(x, x->v, &s) < 0)
		return -EINVAL;
	return copy_str(x, s, (char *)x->c + k->off, k->size);
}

static int k_secret(struct cctx *x, const struct key *k)
{
	const char *s;
	int rc;

	if (get_str(x, x->v, &s) < 0)
		return -EINVAL;
	rc = copy_str(x, s, (char *)x->c + k->off, k->size);
	explicit_bzero((char *)s, strlen(s));
	return rc;
}

static int k_int(struct cctx *x, const struct key *k)
{
	struct json_err je;
	int64_t v;

	if (json_as_int(x->d, x->v, x->key, k->min, k->max, &v, &je) < 0) {
		snprintf(x->err, x->errlen, "%s: %s (%lld..%lld)", x->c->path,
			 je.msg, (long long)k->min, (long long)k->max);
		return -EINVAL;
	}
	*(int *)((char *)x->c + k->off) = (int)v;
	return 0;
}

static int k_bool(struct cctx *x, const struct key *k)
{
	struct json_err je;
	int v;

	if (json_as_bool(x->d, x->v, x->key, &v, &je) < 0) {
		snprintf(x->err, x->errlen, "%s: %s", x->c->path, je.msg);
		return -EINVAL;
	}
	*(int *)((char *)x->c + k->off) = v;
	return 0;
}

/* A number of seconds, or a Go duration string. */
static int k_dur(struct cctx *x, const struct key *k)
{
	const char *s;
	double secs;
	int64_t ms;

	if (json_typeof(x->d, x->v) == JSON_NUMBER) {
		if (json_as_double(x->d, x->v, x->key, &secs, NULL) < 0 ||
		    secs < 0 || secs > 1e7)
			return bad(x, "%s", "bad number of seconds");
		ms = (int64_t)(secs * 1000 + 0.5);
	} else if (json_typeof(x->d, x->v) == JSON_STRING) {
		if (get_str(x, x->v, &s) < 0)
			return -EINVAL;
		if (ea_parse_duration(s, &ms) < 0)
			return bad(x, "'%s': expected a duration like "
				   "\"30s\", \"5m\" or a number of seconds", s);
	} else {
		return bad(x, "expected a duration (\"30s\" or seconds), "
			   "got %s", json_type_name(json_typeof(x->d, x->v)));
	}
	if (ms < k->min || ms > k->max)
		return bad(x, "%s", "out of range");
	*(int *)((char *)x->c + k->off) = (int)ms;
	return 0;
}

static int k_cidr(struct cctx *x, const struct key *k)
{
	struct ipnet *n = (struct ipnet *)((char *)x->c + k->off);
	const char *s;

	if (get_str(x, x->v, &s) < 0)
		return -EINVAL;
	if (ipnet_parse(s, n) < 0 || n->ip.family != AF_INET)
		return bad(x, "'%s': expected an IPv4 CIDR", s);
	ipnet_mask(n);
	return 0;
}

static int k_mode(struct cctx *x, const struct key *k)
{
	const char *s;

	if (get_str(x, x->v, &s) < 0)
		return -EINVAL;
	if (!strcmp(s, "eniip") || !strcmp(s, "ENIMultiIP"))
		x->c->mode = EA_MODE_ENIIP;
	else if (!strcmp(s, "vpc") || !strcmp(s, "VPC"))
		x->c->mode = EA_MODE_VPC;
	else
		return bad(x, "'%s': expected \"eniip\" or \"vpc\"", s);
	return 0;
}

static int k_ip_stack(struct cctx *x, const struct key *k)
{
	const char *s;

	if (get_str(x, x->v, &s) < 0)
		return -EINVAL;
	if (strcmp(s, "ipv4"))
		return bad(x, "'%s': only \"ipv4\" is supported", s);
	return 0;
}

static int k_vsw_policy(struct cctx *x, const struct key *k)
{
	const char *s;

	if (get_str(x, x->v, &s) < 0)
		return -EINVAL;
	if (!strcmp(s, "ordered"))
		x->c->vsw_policy = EA_VSW_ORDERED;
	else if (!strcmp(s, "random") || !strcmp(s, "most_free"))
		x->c->vsw_policy = EA_VSW_MOST_FREE;
	else
		return bad(x, "'%s': expected \"ordered\" or \"random\"", s);
	return 0;
}

static int k_log_level(struct cctx *x, const struct key *k)
{
	const char *s;

	if (get_str(x, x->v, &s) < 0)
		return -EINVAL;
	if (log_parse_level(s, &x->c->log_level) < 0)
		return bad(x, "'%s': expected error, warn, info or debug", s);
	x->c->log_level_set = 1;
	return 0;
}

static int k_endpoint(struct cctx *x, const struct key *k)
{
	const char *s;

	if (get_str(x, x->v, &s) < 0 ||
	    copy_str(x, s, x->c->ecs_endpoint, sizeof(x->c->ecs_endpoint)))
		return -EINVAL;
	return copy_str(x, s, x->c->vpc_endpoint, sizeof(x->c->vpc_endpoint));
}

static int add_sg(struct cctx *x, int tok)
{
	const char *s;

	if (get_str(x, tok, &s) < 0)
		return -EINVAL;
	if (x->c->nsg == EA_MAX_SG)
		return bad(x, "%s", "more than 10 security groups");
	return copy_str(x, s, x->c->sg[x->c->nsg++], EA_ID_MAX);
}

static int k_sg(struct cctx *x, const struct key *k)
{
	int i;

	if (json_typeof(x->d, x->v) == JSON_STRING)
		return add_sg(x, x->v);
	if (json_typeof(x->d, x->v) != JSON_ARRAY)
		return bad(x, "expected a string or an array of strings, "
			   "got %s", json_type_name(json_typeof(x->d, x->v)));
	json_for_each(x->d, x->v, i)
		if (add_sg(x, i) < 0)
			return -EINVAL;
	return 0;
}

/* {"zone": ["vsw-1", "vsw-2"], ...} */
static int k_vswitches(struct cctx *x, const struct key *k)
{
	const char *zone, *id;
	int t, i;

	if (json_typeof(x->d, x->v) != JSON_OBJECT)
		return bad(x, "expected an object {zone: [vswitch IDs]}, got "
			   "%s", json_type_name(json_typeof(x->d, x->v)));
	json_for_each(x->d, x->v, t) {
		if (get_str(x, t, &zone) < 0)
			return -EINVAL;
		if (json_typeof(x->d, t + 1) != JSON_ARRAY)
			return bad(x, "zone '%s': expected an array of vSwitch "
				   "IDs", zone);
		json_for_each(x->d, t + 1, i) {
			if (get_str(x, i, &id) < 0)
				return -EINVAL;
			if (x->c->nvsw == EA_MAX_VSW)
				return bad(x, "more than %s vSwitches", "16");
			if (copy_str(x, zone, x->c->vsw[x->c->nvsw].zone, 64) ||
			    copy_str(x, id, x->c->vsw[x->c->nvsw].id,
				     EA_ID_MAX))
				return -EINVAL;
			x->c->nvsw++;
		}
	}
	return 0;
}

/* {"key": "value", ...} */
static int k_tags(struct cctx *x, const struct key *k)
{
	const char *tk, *v;
	int t;

	if (json_typeof(x->d, x->v) != JSON_OBJECT)
		return bad(x, "expected an object {key: value}, got %s",
			   json_type_name(json_typeof(x->d, x->v)));
	json_for_each(x->d, x->v, t) {
		if (get_str(x, t, &tk) < 0 || get_str(x, t + 1, &v) < 0)
			return -EINVAL;
		if (x->c->ntags == EA_MAX_TAGS - 3)	/* ours come too */
			return bad(x, "more than %s tags", "13");
		if (!*tk || copy_str(x, tk, x->c->tags[x->c->ntags].key, 128) ||
		    copy_str(x, v, x->c->tags[x->c->ntags].value, 128))
			return *tk ? -EINVAL : bad(x, "%s", "empty tag key");
		x->c->ntags++;
	}
	return 0;
}

/* {"Action": per minute, ...} (Terway's rate_limit) */
static int k_rate(struct cctx *x, const struct key *k)
{
	struct json_err je;
	const char *a;
	int64_t v;
	int t;

	if (json_typeof(x->d, x->v) != JSON_OBJECT)
		return bad(x, "expected an object {Action: per minute}, got %s",
			   json_type_name(json_typeof(x->d, x->v)));
	json_for_each(x->d, x->v, t) {
		if (get_str(x, t, &a) < 0)
			return -EINVAL;
		if (json_as_int(x->d, t + 1, a, 1, 1000000, &v, &je) < 0)
			return bad(x, "%s", je.msg);
		if (x->c->nrate == EA_MAX_RATES)
			return bad(x, "more than %s actions", "24");
		if (copy_str(x, a, x->c->rate[x->c->nrate].action, 48))
			return -EINVAL;
		x->c->rate[x->c->nrate++].per_min = (int)v;
	}
	return 0;
}

static int k_any(struct cctx *x, const struct key *k)
{
	return 0;
}

#define F(f)	offsetof(struct ea_conf, f), sizeof(((struct ea_conf *)0)->f)
#define S(name, f)	{ name, k_str, F(f), 0, 0 }
#define I(name, f, lo, hi)	{ name, k_int, offsetof(struct ea_conf, f), \
				  0, lo, hi }
#define D(name, f, lo, hi)	{ name, k_dur, offsetof(struct ea_conf, f), \
				  0, lo, hi }
#define X(name, fn)	{ name, fn, 0, 0, 0, 0 }

static const struct key keys[] = {
	S("access_key", cred.access_key_id),
	{ "access_secret", k_secret, F(cred.access_key_secret), 0, 0 },
	D("alloc_timeout", alloc_timeout_ms, 1000, 600000),
	D("attach_timeout", attach_timeout_ms, 1000, 3600000),
	S("ca_file", ca_file),
	{ "cluster_cidr", k_cidr, F(cluster_cidr), 0, 0 },
	S("credential_path", credential_path),
	X("daemon_mode", k_mode),
	S("ecs_endpoint", ecs_endpoint),
	X("eni_tags", k_tags),
	D("gc_grace", gc_grace_ms, 0, 86400000),
	D("gc_interval", gc_interval_ms, 100, 86400000),
	D("ip_pool_sync_period", pool_sync_ms, 1000, 86400000),
	X("ip_stack", k_ip_stack),
	{ "ipmasq", k_bool, F(ipmasq), 0, 0 },
	S("kube_ca_file", kube_ca_file),
	S("kube_server", kube_server),
	S("kube_token_file", kube_token_file),
	D("link_timeout", link_timeout_ms, 100, 600000),
	S("link_netns", link_netns),
	X("log_level", k_log_level),
	I("max_eni", max_eni, 0, 64),
	I("max_pool_size", max_pool, 0, 10000),
	S("metadata_endpoint", metadata_endpoint),
	S("metrics_address", metrics_addr),
	I("metrics_port", metrics_port, 0, 65535),
	I("min_pool_size", min_pool, 0, 10000),
	X("mode", k_mode),
	I("mtu", mtu, 576, 9216),
	S("node_name", node),
	X("openapi_endpoint", k_endpoint),
	D("pod_wait", pod_wait_ms, 0, 600000),
	S("ram_role", ram_role),
	X("rate_limit", k_rate),
	S("region_id", region),
	S("route_table_id", route_table_id),
	X("security_group", k_sg),
	X("security_groups", k_sg),
	{ "service_cidr", k_cidr, F(service_cidr), 0, 0 },
	I("batch_size", batch, 1, 10),
	S("socket", socket),
	S("state_dir", state_dir),
	S("subnet_file", subnet_file),
	X("version", k_any),
	X("vswitch_selection_policy", k_vsw_policy),
	X("vswitches", k_vswitches),
	S("vpc_endpoint", vpc_endpoint),
};

/* Terway keys we know and do not implement: a warning, not an error. */
static const char *const unsupported[] = {
	"backoff_override", "custom_stateful_workload_kinds",
	"disable_device_plugin", "eni_cap_ratio", "eni_cap_shift",
	"eni_selection_policy", "eni_tag_block_list", "eni_tag_filter",
	"enable_eni_trunking", "enable_erdma", "enable_ip_prefix",
	"enable_patch_pod_ips", "extra_routes", "hot_plug",
	"idle_ip_reclaim_after", "idle_ip_reclaim_batch_size",
	"idle_ip_reclaim_interval", "idle_ip_reclaim_jitter_factor",
	"ip_warm_up_size", "ipam_type", "ipv4_prefix_count",
	"ipv6_prefix_count", "kube_client_burst", "kube_client_qps",
	"min_eni", "prefix", "resource_group_id",
};

static int one_key(struct cctx *x, int k)
{
	const struct key *kk;
	unsigned int i;
	int rc;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		kk = &keys[i];
		if (!json_key_eq(x->d, k, kk->name))
			continue;
		x->key = kk->name;
		if (json_typeof(x->d, x->v) == JSON_NULL)
			return 0;
		rc = kk->fn(x, kk);
		return rc;
	}
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (json_key_eq(x->d, k, unsupported[i])) {
			log_warn("config %s: %s: not supported by vpcnet, "
				 "ignored", x->c->path, unsupported[i]);
			return 0;
		}
	log_warn("config %s: unknown key '%.*s', ignored", x->c->path,
		 x->d->tok[k].end - x->d->tok[k].start,
		 x->d->text + x->d->tok[k].start);
	return 0;
}

void ea_conf_defaults(struct ea_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->min_pool = 0;
	c->max_pool = 5;	/* Terway's defaults: 5 / 0 */
	c->batch = 10;
	c->mode = EA_MODE_ENIIP;
	c->mtu = 1500;
	c->ipmasq = 1;
	c->log_level = LOG_LVL_INFO;
	c->metrics_port = EA_DEFAULT_METRICS_PORT;
	snprintf(c->metrics_addr, sizeof(c->metrics_addr), "127.0.0.1");
	snprintf(c->socket, sizeof(c->socket), "%s", EA_DEFAULT_SOCKET);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s",
		 EA_DEFAULT_STATE_DIR);
	snprintf(c->subnet_file, sizeof(c->subnet_file), "%s",
		 SUBNETENV_DEFAULT_PATH);
	c->gc_grace_ms = 300000;
	c->gc_interval_ms = 60000;
	c->pool_sync_ms = 120000;
	c->alloc_timeout_ms = 25000;
	c->attach_timeout_ms = 60000;
	c->link_timeout_ms = 10000;
	c->pod_wait_ms = 3000;
}

int ea_conf_parse(struct ea_conf *c, const char *path, const char *text,
		  size_t len, char *err, size_t errlen)
{
	struct cctx x = { .c = c, .err = err, .errlen = errlen };
	struct json_err je;
	struct json_doc d;
	struct arena a;
	int rc = 0, k;

	snprintf(c->path, sizeof(c->path), "%s", path);
	arena_init(&a);
	if (json_parse(&d, &a, text, len, NULL, &je) < 0) {
		snprintf(err, errlen, "%s: %s", path, je.msg);
		rc = -EINVAL;
	} else if (json_typeof(&d, 0) != JSON_OBJECT) {
		snprintf(err, errlen, "%s: expected a JSON object", path);
		rc = -EINVAL;
	}
	x.d = &d;
	if (!rc)
		json_for_each(&d, 0, k) {
			x.v = k + 1;
			rc = one_key(&x, k);
			if (rc < 0)
				break;
		}
	arena_free_all(&a);
	return rc;
}

int ea_conf_load(struct ea_conf *c, const char *path, int must_exist,
		 char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	snprintf(c->path, sizeof(c->path), "%s", path);
	rc = ea_read_file(path, EA_MAX_CONFIG, &text, &len);
	if (rc == -ENOENT && !must_exist)
		return 0;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = ea_conf_parse(c, path, text, len, err, errlen);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

static int check_cred(struct ea_conf *c, char *err, size_t errlen)
{
	int id = c->cred.access_key_id[0] != 0;
	int sec = c->cred.access_key_secret[0] != 0;

	if (id != sec) {
		snprintf(err, errlen, "%s: %s is set but %s is not", c->path,
			 id ? "access_key" : "access_secret",
			 id ? "access_secret" : "access_key");
		return -EINVAL;
	}
	if (id)
		c->cred_kind = EA_CRED_KEY;
	else if (c->credential_path[0])
		c->cred_kind = EA_CRED_FILE;
	return 0;
}

int ea_conf_check(struct ea_conf *c, char *err, size_t errlen)
{
	const char *p = c->path[0] ? c->path : "config";

	if (check_cred(c, err, errlen) < 0)
		return -EINVAL;
	if (c->min_pool > c->max_pool) {
		snprintf(err, errlen, "%s: min_pool_size (%d) is larger than "
			 "max_pool_size (%d)", p, c->min_pool, c->max_pool);
		return -EINVAL;
	}
	if (c->mode == EA_MODE_VPC && c->subnet_file[0] &&
	    !c->cluster_cidr.ip.family) {
		snprintf(err, errlen, "%s: cluster_cidr: required in vpc mode "
			 "(FLANNEL_NETWORK of %s; or set subnet_file to \"\")",
			 p, c->subnet_file);
		return -EINVAL;
	}
	if (!c->socket[0] || !c->state_dir[0]) {
		snprintf(err, errlen, "%s: %s: must not be empty", p,
			 c->socket[0] ? "state_dir" : "socket");
		return -EINVAL;
	}
	if (!c->node[0]) {
		snprintf(err, errlen, "%s: node_name: unknown (set it, "
			 "--node, or NODE_NAME)", p);
		return -EINVAL;
	}
	return 0;
}

static int unit_ms(const char *u, size_t n, double *ms)
{
	static const struct { const char *u; double ms; } units[] = {
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 },
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].u) == n && !memcmp(u, units[i].u, n)) {
			*ms = units[i].ms;
			return 0;
		}
	return -EINVAL;
}

int ea_parse_duration(const char *s, int64_t *ms)
{
	double total = 0, v, mul;
	const char *u;
	char *end;

	if (!*s)
		return -EINVAL;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	while (*s) {
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return -EINVAL;
		v = strtod(s, &end);
		if (end == s)
			return -EINVAL;
		for (u = end; *end && !(*end >= '0' && *end <= '9') &&
		     *end != '.'; end++)
			;
		if (unit_ms(u, (size_t)(end - u), &mul) < 0)
			return -EINVAL;
		total += v * mul;
		s = end;
	}
	if (total > 1e12)
		return -ERANGE;
	*ms = (int64_t)(total + 0.5);
	return 0;
}
