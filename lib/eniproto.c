/* eni-agent protocol v1: encoders and decoders (see eniproto.h). */
#include "eniproto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "json.h"

static const char *const op_names[] = { NULL, "alloc", "release", "info" };
static const char *const mode_names[] = { NULL, "eniip", "eni", "vpc" };

const char *eniproto_op_name(enum eniproto_op op)
{
	return op > 0 && op <= ENIPROTO_OP_INFO ? op_names[op] : NULL;
}

const char *eniproto_mode_name(enum eniproto_mode m)
{
	return m > 0 && m <= ENIPROTO_MODE_VPC ? mode_names[m] : NULL;
}

enum eniproto_mode eniproto_mode_parse(const char *s)
{
	int i;

	for (i = 1; s && i <= ENIPROTO_MODE_VPC; i++)
		if (!strcmp(s, mode_names[i]))
			return (enum eniproto_mode)i;
	return ENIPROTO_MODE_NONE;
}

static int op_parse(const char *s)
{
	int i;

	for (i = 1; i <= ENIPROTO_OP_INFO; i++)
		if (!strcmp(s, op_names[i]))
			return i;
	return ENIPROTO_OP_NONE;
}

static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int eniproto_resp_error(struct eniproto_resp *r, int code, const char *fmt,
			...)
{
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly "aa:bb:cc:dd:ee:ff" (either case). */
static int mac_parse(const char *s, uint8_t mac[6])
{
	int i, hi, lo;

	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		hi = hexval(s[i * 3]);
		lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- decoding ----------------------------------------------------------- */

struct dec {
	struct json_doc d;
	char *err;
	size_t errlen;
};

/* A string member into out[size]: absent is "" (an error when required),
 * longer than size - 1 bytes or holding a NUL is an error. */
static int get_str(struct dec *x, int obj, const char *key, const char *what,
		   char *out, size_t size, int required)
{
	struct json_err je;
	const char *s;
	size_t n;
	int i = json_find(&x->d, obj, key);

	out[0] = 0;
	if (i < 0 || json_typeof(&x->d, i) == JSON_NULL)
		return required ? seterr(x->err, x->errlen, -EINVAL,
					 "%s: missing", what) : 0;
	if (json_as_str(&x->d, i, what, &s, NULL, &je) < 0)
		return seterr(x->err, x->errlen, -EINVAL, "%s", je.msg);
	n = strlen(s);
	if (n >= size)
		return seterr(x->err, x->errlen, -EINVAL, "%s: longer than "
			      "%zu bytes", what, size - 1);
	if (!n && required)
		return seterr(x->err, x->errlen, -EINVAL, "%s: empty", what);
	memcpy(out, s, n + 1);
	return 0;
}

static int get_u64(struct dec *x, int obj, const char *key, uint64_t *out)
{
	struct json_err je;
	int r = json_get_u64(&x->d, obj, key, out, &je);

	if (r == -ENOENT) {
		*out = 0;
		return 0;
	}
	return r < 0 ? seterr(x->err, x->errlen, -EINVAL, "%s", je.msg) : 0;
}

static int get_ip(struct dec *x, int obj, const char *key, const char *what,
		  struct ipaddr *out)
{
	char s[IP_STRLEN];

	memset(out, 0, sizeof(*out));
	if (get_str(x, obj, key, what, s, sizeof(s), 0) < 0)
		return -EINVAL;
	if (s[0] && ip_parse(s, out) < 0)
		return seterr(x->err, x->errlen, -EINVAL, "%s \"%s\": not an "
			      "IP address", what, s);
	return 0;
}

/* net: "ip/prefix"; masked: no host bits allowed */
static int get_net(struct dec *x, int obj, const char *key,
		   struct ipnet *out, int masked)
{
	char s[IPNET_STRLEN];

	memset(out, 0, sizeof(*out));
	if (get_str(x, obj, key, key, s, sizeof(s), 0) < 0)
		return -EINVAL;
	if (s[0] && ipnet_parse(s, out) < 0)
		return seterr(x->err, x->errlen, -EINVAL, "%s \"%s\": not an "
			      "address/prefix", key, s);
	if (s[0] && masked && ipnet_has_host_bits(out))
		return seterr(x->err, x->errlen, -EINVAL, "%s \"%s\": host "
			      "bits set", key, s);
	return 0;
}

static int get_obj(struct dec *x, int obj, const char *key, int *out)
{
	int i = json_find(&x->d, obj, key);

	*out = -1;
	if (i < 0 || json_typeof(&x->d, i) == JSON_NULL)
		return 0;
	if (json_typeof(&x->d, i) != JSON_OBJECT)
		return seterr(x->err, x->errlen, -EINVAL, "%s: expected "
			      "object, got %s", key,
			      json_type_name(json_typeof(&x->d, i)));
	*out = i;
	return 0;
}

/* Parse, check the top is an object and "v" is 1. */
static int dec_open(struct dec *x, struct arena *a, const char *buf,
		    size_t len)
{
	struct json_limits lim = { ENIPROTO_MAX, 1 << 14, 8 };
	struct json_err je;
	int64_t v;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len >= ENIPROTO_MAX)
		return seterr(x->err, x->errlen, -EINVAL, "message longer "
			      "than %d bytes", ENIPROTO_MAX - 1);
	if (json_parse(&x->d, a, buf, len, &lim, &je) < 0)
		return seterr(x->err, x->errlen, -EINVAL, "not JSON: %s",
			      je.msg);
	if (json_typeof(&x->d, 0) != JSON_OBJECT)
		return seterr(x->err, x->errlen, -EINVAL, "expected a JSON "
			      "object, got %s",
			      json_type_name(json_typeof(&x->d, 0)));
	if (json_get_int(&x->d, 0, "v", 1, 1, &v, &je) < 0)
		return seterr(x->err, x->errlen, -EPROTONOSUPPORT,
			      "unsupported protocol version (\"v\" must be "
			      "%d)", ENIPROTO_VERSION);
	return 0;
}

static int req_fields(struct dec *x, struct eniproto_req *r)
{
	int alloc = r->op == ENIPROTO_OP_ALLOC;

	if (r->op == ENIPROTO_OP_INFO)
		return 0;
	if (get_str(x, 0, "containerID", "containerID", r->container_id,
		    sizeof(r->container_id), 1) < 0 ||
	    get_str(x, 0, "ifname", "ifname", r->ifname, sizeof(r->ifname),
		    1) < 0 ||
	    get_str(x, 0, "namespace", "namespace", r->ns, sizeof(r->ns),
		    alloc) < 0 ||
	    get_str(x, 0, "name", "name", r->name, sizeof(r->name),
		    alloc) < 0)
		return -EINVAL;
	if (!alloc)
		return 0;
	if (get_str(x, 0, "netns", "netns", r->netns, sizeof(r->netns),
		    1) < 0 ||
	    get_str(x, 0, "podUID", "podUID", r->pod_uid, sizeof(r->pod_uid),
		    0) < 0)
		return -EINVAL;
	return 0;
}

int eniproto_req_decode(struct eniproto_req *r, const char *buf, size_t len,
			char *err, size_t errlen)
{
	struct dec x = { .err = err, .errlen = errlen };
	struct arena a;
	char op[16];
	int rc;

	memset(r, 0, sizeof(*r));
	arena_init(&a);
	rc = dec_open(&x, &a, buf, len);
	if (rc < 0)
		goto out;
	rc = get_str(&x, 0, "op", "op", op, sizeof(op), 1);
	if (rc == 0) {
		r->op = (enum eniproto_op)op_parse(op);
		if (r->op == ENIPROTO_OP_NONE)
			rc = seterr(err, errlen, -EINVAL, "op \"%s\": expected "
				    "alloc, release or info", op);
	} else if (json_find(&x.d, 0, "op") >= 0) {
		rc = seterr(err, errlen, -EINVAL, "op: expected alloc, "
			    "release or info");
	}
	if (rc == 0)
		rc = req_fields(&x, r);
out:
	arena_free_all(&a);
	return rc;
}

static int dec_eni(struct dec *x, struct eniproto_resp *r)
{
	char mac[24];
	int e;

	if (get_obj(x, 0, "eni", &e) < 0)
		return -EINVAL;
	if (e < 0)
		return 0;
	if (get_str(x, e, "id", "eni.id", r->eni.id, sizeof(r->eni.id),
		    0) < 0 ||
	    get_str(x, e, "mac", "eni.mac", mac, sizeof(mac), 0) < 0 ||
	    get_ip(x, e, "primaryIP", "eni.primaryIP",
		   &r->eni.primary_ip) < 0)
		return -EINVAL;
	if (mac[0] && mac_parse(mac, r->eni.mac) < 0)
		return seterr(x->err, x->errlen, -EINVAL, "eni.mac \"%s\": "
			      "not a MAC address", mac);
	r->eni.has_mac = !!mac[0];
	return 0;
}

/* What each mode needs; shared with the encoder. */
static int alloc_check(const struct eniproto_resp *r, char *err,
		       size_t errlen)
{
	const char *m = eniproto_mode_name(r->mode);

	if (!m)
		return seterr(err, errlen, -EINVAL, "mode: expected eniip, "
			      "eni or vpc");
	if (r->mode == ENIPROTO_MODE_VPC)
		return r->pod_cidr.ip.family ? 0 :
		       seterr(err, errlen, -EINVAL, "podCIDR: missing (mode "
			      "vpc)");
	if (!r->ip.ip.family)
		return seterr(err, errlen, -EINVAL, "ip: missing (mode %s)", m);
	if (!r->gateway.family)
		return seterr(err, errlen, -EINVAL, "gateway: missing (mode "
			      "%s)", m);
	if (r->gateway.family != r->ip.ip.family)
		return seterr(err, errlen, -EINVAL, "gateway: not of the "
			      "family of ip");
	if (!r->eni.has_mac)
		return seterr(err, errlen, -EINVAL, "eni.mac: missing (mode "
			      "%s)", m);
	if (r->mode == ENIPROTO_MODE_ENIIP && !r->table)
		return seterr(err, errlen, -EINVAL, "table: missing (mode "
			      "eniip)");
	return 0;
}

static int dec_alloc(struct dec *x, struct eniproto_resp *r)
{
	struct json_err je;
	char mode[16];
	int64_t t;
	int rc;

	if (get_str(x, 0, "mode", "mode", mode, sizeof(mode), 1) < 0)
		return -EINVAL;
	r->mode = eniproto_mode_parse(mode);
	if (r->mode == ENIPROTO_MODE_NONE)
		return seterr(x->err, x->errlen, -EINVAL, "mode \"%s\": "
			      "expected eniip, eni or vpc", mode);
	if (get_net(x, 0, "ip", &r->ip, 0) < 0 ||
	    get_ip(x, 0, "gateway", "gateway", &r->gateway) < 0 ||
	    dec_eni(x, r) < 0 ||
	    get_net(x, 0, "podCIDR", &r->pod_cidr, 1) < 0 ||
	    get_net(x, 0, "serviceCIDR", &r->service_cidr, 1) < 0 ||
	    get_u64(x, 0, "ingress", &r->ingress) < 0 ||
	    get_u64(x, 0, "egress", &r->egress) < 0)
		return -EINVAL;
	rc = json_get_int(&x->d, 0, "table", 1, UINT32_MAX, &t, &je);
	if (rc < 0 && rc != -ENOENT)
		return seterr(x->err, x->errlen, -EINVAL, "%s", je.msg);
	if (rc == 0 && t >= 253 && t <= 255)
		return seterr(x->err, x->errlen, -EINVAL, "table %lld: "
			      "reserved (default, main, local)", (long long)t);
	r->table = rc == 0 ? (uint32_t)t : 0;
	return alloc_check(r, x->err, x->errlen);
}

static int dec_info(struct dec *x, struct eniproto_resp *r)
{
	char mode[16];
	int p;

	if (get_str(x, 0, "version", "version", r->version,
		    sizeof(r->version), 0) < 0 ||
	    get_str(x, 0, "mode", "mode", mode, sizeof(mode), 0) < 0 ||
	    get_obj(x, 0, "pool", &p) < 0)
		return -EINVAL;
	r->mode = eniproto_mode_parse(mode);
	if (mode[0] && r->mode == ENIPROTO_MODE_NONE)
		return seterr(x->err, x->errlen, -EINVAL, "mode \"%s\": "
			      "expected eniip, eni or vpc", mode);
	if (p < 0)
		return 0;
	if (get_u64(x, p, "idle", &r->pool.idle) < 0 ||
	    get_u64(x, p, "inuse", &r->pool.inuse) < 0 ||
	    get_u64(x, p, "enis", &r->pool.enis) < 0 ||
	    get_u64(x, p, "min", &r->pool.min) < 0 ||
	    get_u64(x, p, "max", &r->pool.max) < 0)
		return -EINVAL;
	return 0;
}

/* An error answer's msg is a human text: cut to fit, on a UTF-8 boundary. */
static int dec_error(struct dec *x, struct eniproto_resp *r)
{
	struct json_err je;
	const char *s;
	int64_t code;
	size_t n;
	int i;

	if (json_get_int(&x->d, 0, "code", 1, 999, &code, &je) < 0)
		return seterr(x->err, x->errlen, -EINVAL, "%s (1 to 999)",
			      je.msg);
	r->code = (int)code;
	i = json_find(&x->d, 0, "msg");
	if (i < 0 || json_typeof(&x->d, i) == JSON_NULL)
		return 0;
	if (json_as_str(&x->d, i, "msg", &s, NULL, &je) < 0)
		return seterr(x->err, x->errlen, -EINVAL, "%s", je.msg);
	n = strlen(s);
	if (n >= sizeof(r->msg)) {
		n = sizeof(r->msg) - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(r->msg, s, n);
	r->msg[n] = 0;
	return 0;
}

int eniproto_resp_decode(struct eniproto_resp *r, enum eniproto_op op,
			 const char *buf, size_t len, char *err,
			 size_t errlen)
{
	struct dec x = { .err = err, .errlen = errlen };
	struct json_err je;
	struct arena a;
	int rc;

	memset(r, 0, sizeof(*r));
	arena_init(&a);
	rc = dec_open(&x, &a, buf, len);
	if (rc < 0)
		goto out;
	if (json_get_bool(&x.d, 0, "ok", &r->ok, &je) < 0) {
		rc = seterr(err, errlen, -EINVAL, "%s", je.msg);
		goto out;
	}
	if (!r->ok)
		rc = dec_error(&x, r);
	else if (op == ENIPROTO_OP_ALLOC)
		rc = dec_alloc(&x, r);
	else if (op == ENIPROTO_OP_INFO)
		rc = dec_info(&x, r);
	else if (op != ENIPROTO_OP_RELEASE)
		rc = seterr(err, errlen, -EINVAL, "answer to an unknown op");
out:
	arena_free_all(&a);
	return rc;
}

/* ---- encoding ----------------------------------------------------------- */

static void kstr_opt(struct json_w *w, const char *key, const char *s)
{
	if (s[0])
		json_w_kstr(w, key, s);
}

/* Copy the writer's text plus "\n" into buf. */
static int enc_finish(struct json_w *w, char *buf, size_t size)
{
	const char *text;
	size_t len;
	int rc = json_w_finish(w, &text, &len);

	if (rc == 0 && len + 2 > size)
		rc = -ENOSPC;
	if (rc == 0) {
		memcpy(buf, text, len);
		buf[len] = '\n';
		buf[len + 1] = 0;
		rc = (int)len + 1;
	}
	json_w_free(w);
	return rc;
}

static int fits(const char *s, size_t size, int required)
{
	size_t n = strnlen(s, size);

	return n < size && (n || !required);
}

static int req_valid(const struct eniproto_req *r)
{
	int alloc = r->op == ENIPROTO_OP_ALLOC;

	if (r->op == ENIPROTO_OP_INFO)
		return 1;
	if (r->op != ENIPROTO_OP_ALLOC && r->op != ENIPROTO_OP_RELEASE)
		return 0;
	return fits(r->container_id, sizeof(r->container_id), 1) &&
	       fits(r->ifname, sizeof(r->ifname), 1) &&
	       fits(r->ns, sizeof(r->ns), alloc) &&
	       fits(r->name, sizeof(r->name), alloc) &&
	       (!alloc || (fits(r->netns, sizeof(r->netns), 1) &&
			   fits(r->pod_uid, sizeof(r->pod_uid), 0)));
}

int eniproto_req_encode(const struct eniproto_req *r, char *buf,
			size_t size)
{
	struct json_w w;

	if (!req_valid(r))
		return -EINVAL;
	json_w_init(&w, NULL, 0);
	json_w_obj_begin(&w);
	json_w_ki64(&w, "v", ENIPROTO_VERSION);
	json_w_kstr(&w, "op", eniproto_op_name(r->op));
	if (r->op != ENIPROTO_OP_INFO) {
		json_w_kstr(&w, "containerID", r->container_id);
		json_w_kstr(&w, "ifname", r->ifname);
	}
	if (r->op == ENIPROTO_OP_ALLOC)
		json_w_kstr(&w, "netns", r->netns);
	if (r->op != ENIPROTO_OP_INFO) {
		kstr_opt(&w, "namespace", r->ns);
		kstr_opt(&w, "name", r->name);
	}
	if (r->op == ENIPROTO_OP_ALLOC)
		kstr_opt(&w, "podUID", r->pod_uid);
	json_w_obj_end(&w);
	return enc_finish(&w, buf, size);
}

static void enc_eni(struct json_w *w, const struct eniproto_eni *e)
{
	char b[IP_STRLEN];

	if (!e->id[0] && !e->has_mac && !e->primary_ip.family)
		return;
	json_w_key(w, "eni");
	json_w_obj_begin(w);
	kstr_opt(w, "id", e->id);
	if (e->has_mac) {
		snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x",
			 e->mac[0], e->mac[1], e->mac[2], e->mac[3], e->mac[4],
			 e->mac[5]);
		json_w_kstr(w, "mac", b);
	}
	if (e->primary_ip.family)
		json_w_kstr(w, "primaryIP", ip_fmt(&e->primary_ip, b));
	json_w_obj_end(w);
}

static void knet(struct json_w *w, const char *key, const struct ipnet *n)
{
	char b[IPNET_STRLEN];

	if (n->ip.family)
		json_w_kstr(w, key, ipnet_fmt(n, b));
}

static int enc_alloc(struct json_w *w, const struct eniproto_resp *r)
{
	char b[IP_STRLEN];

	if (alloc_check(r, NULL, 0) < 0 || r->table == 253 ||
	    r->table == 254 || r->table == 255 ||
	    (r->pod_cidr.ip.family && ipnet_has_host_bits(&r->pod_cidr)) ||
	    (r->service_cidr.ip.family &&
	     ipnet_has_host_bits(&r->service_cidr)) ||
	    !fits(r->eni.id, sizeof(r->eni.id), 0))
		return -EINVAL;
	json_w_kstr(w, "mode", eniproto_mode_name(r->mode));
	knet(w, "ip", &r->ip);
	if (r->gateway.family)
		json_w_kstr(w, "gateway", ip_fmt(&r->gateway, b));
	enc_eni(w, &r->eni);
	if (r->table)
		json_w_ku64(w, "table", r->table);
	knet(w, "podCIDR", &r->pod_cidr);
	knet(w, "serviceCIDR", &r->service_cidr);
	json_w_ku64(w, "ingress", r->ingress);
	json_w_ku64(w, "egress", r->egress);
	return 0;
}

static int enc_info(struct json_w *w, const struct eniproto_resp *r)
{
	if (!fits(r->version, sizeof(r->version), 0) ||
	    (r->mode && !eniproto_mode_name(r->mode)))
		return -EINVAL;
	json_w_kstr(w, "version", r->version);
	if (r->mode)
		json_w_kstr(w, "mode", eniproto_mode_name(r->mode));
	json_w_key(w, "pool");
	json_w_obj_begin(w);
	json_w_ku64(w, "idle", r->pool.idle);
	json_w_ku64(w, "inuse", r->pool.inuse);
	json_w_ku64(w, "enis", r->pool.enis);
	json_w_ku64(w, "min", r->pool.min);
	json_w_ku64(w, "max", r->pool.max);
	json_w_obj_end(w);
	return 0;
}

int eniproto_resp_encode(const struct eniproto_resp *r, enum eniproto_op op,
			 char *buf, size_t size)
{
	struct json_w w;
	int rc = 0;

	if (!r->ok && (r->code < 1 || r->code > 999 ||
		       !fits(r->msg, sizeof(r->msg), 0)))
		return -EINVAL;
	json_w_init(&w, NULL, 0);
	json_w_obj_begin(&w);
	json_w_ki64(&w, "v", ENIPROTO_VERSION);
	json_w_kbool(&w, "ok", r->ok);
	if (!r->ok) {
		json_w_ki64(&w, "code", r->code);
		json_w_kstr(&w, "msg", r->msg);
	} else if (op == ENIPROTO_OP_ALLOC) {
		rc = enc_alloc(&w, r);
	} else if (op == ENIPROTO_OP_INFO) {
		rc = enc_info(&w, r);
	} else if (op != ENIPROTO_OP_RELEASE) {
		rc = -EINVAL;
	}
	json_w_obj_end(&w);
	if (rc < 0) {
		json_w_free(&w);
		return rc;
	}
	return enc_finish(&w, buf, size);
}
