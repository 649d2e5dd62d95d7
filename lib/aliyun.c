/* Alibaba Cloud OpenAPI, RPC style, signature 1.0 (see aliyun.h).  The
 * metadata service client is in aliyun_meta.c. */
#include "aliyun.h"
#include "json.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char *const products[ALIYUN_NPRODUCTS] = { "ecs", "vpc" };
static const char *const versions[ALIYUN_NPRODUCTS] = {
	ALIYUN_ECS_VERSION, ALIYUN_VPC_VERSION,
};

/* Parameters that only the signer sets. */
static const char *const reserved[] = {
	"AccessKeyId", "Action", "Signature", "SignatureMethod",
	"SignatureNonce", "SignatureVersion", "SecurityToken", "Timestamp",
};

void aliyun_client_init(struct aliyun_client *cl, const char *region,
			const struct tls_config *tls, struct http_conn *conn)
{
	memset(cl, 0, sizeof(*cl));
	snprintf(cl->region, sizeof(cl->region), "%s", region ? region : "");
	cl->tls = tls;
	cl->conn = conn;
	cl->max_attempts = 5;
	cl->backoff_ms = 200;
	cl->backoff_max_ms = 10000;
	cl->timeout_ms = 30000;
}

static int env_copy(const char *name, char *dst, size_t cap, int need,
		    char *err, size_t errlen)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		if (need)
			snprintf(err, errlen, "%s is not set", name);
		return need ? -ENOENT : 0;
	}
	if (strlen(v) >= cap) {
		snprintf(err, errlen, "%s is too long", name);
		return -E2BIG;
	}
	strcpy(dst, v);
	return 0;
}

int aliyun_cred_from_env(struct aliyun_cred *c, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = env_copy("ALIBABA_CLOUD_ACCESS_KEY_ID", c->access_key_id,
		      sizeof(c->access_key_id), 1, err, errlen);
	if (!rc)
		rc = env_copy("ALIBABA_CLOUD_ACCESS_KEY_SECRET",
			      c->access_key_secret,
			      sizeof(c->access_key_secret), 1, err, errlen);
	if (!rc)
		rc = env_copy("ALIBABA_CLOUD_SECURITY_TOKEN",
			      c->security_token, sizeof(c->security_token), 0,
			      err, errlen);
	return rc;
}

size_t aliyun_pct_encode(const char *s, char *out, size_t cap)
{
	return http_pct_encode(s, strlen(s), out, cap, NULL);
}

static char *enc_dup(struct arena *a, const char *s)
{
	size_t n = aliyun_pct_encode(s, NULL, 0);
	char *p = arena_alloc(a, n + 1);

	if (p)
		aliyun_pct_encode(s, p, n + 1);
	return p;
}

static int by_key(const void *x, const void *y)
{
	return strcmp(((const struct aliyun_param *)x)->key,
		      ((const struct aliyun_param *)y)->key);
}

char *aliyun_canonical_query(struct arena *a, const struct aliyun_param *p,
			     size_t n)
{
	struct aliyun_param *s;
	size_t i, len = 1, k;
	char *out, *o;

	s = arena_alloc(a, n * sizeof(*p) + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n * sizeof(*p));
	for (i = 0; i < n; i++) {
		if (!s[i].key || !s[i].value || !*s[i].key)
			return NULL;
		len += aliyun_pct_encode(s[i].key, NULL, 0) +
		       aliyun_pct_encode(s[i].value, NULL, 0) + 2;
	}
	qsort(s, n, sizeof(*s), by_key);
	out = o = arena_alloc(a, len);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i && !strcmp(s[i - 1].key, s[i].key))
			return NULL;
		if (i)
			*o++ = '&';
		k = aliyun_pct_encode(s[i].key, o, len - (size_t)(o - out));
		o += k;
		*o++ = '=';
		k = aliyun_pct_encode(s[i].value, o, len - (size_t)(o - out));
		o += k;
	}
	*o = '\0';
	return out;
}

char *aliyun_string_to_sign(struct arena *a, const char *method,
			    const char *canonical)
{
	char *e = enc_dup(a, canonical);

	return e ? arena_printf(a, "%s&%%2F&%s", method, e) : NULL;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = b64[(v >> 6) & 63];
		*out++ = b64[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0);
		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

void aliyun_signature(const char *secret, const char *sts,
		      char out[ALIYUN_SIG_LEN])
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	unsigned char mac[20];
	char key[260];
	size_t n = strlen(secret);

	if (n > sizeof(key) - 2)
		n = sizeof(key) - 2;
	memcpy(key, secret, n);
	key[n++] = '&';
	br_hmac_key_init(&kc, &br_sha1_vtable, key, n);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, sts, strlen(sts));
	br_hmac_out(&hc, mac);
	base64(mac, sizeof(mac), out);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(&kc, sizeof(kc));
	explicit_bzero(&hc, sizeof(hc));
}

void aliyun_timestamp(time_t t, char out[21])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void aliyun_nonce(char out[37])
{
	unsigned char r[16];
	struct timespec ts;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		clock_gettime(CLOCK_REALTIME, &ts);	/* still unique */
		memset(r, 0, sizeof(r));
		memcpy(r, &ts, sizeof(ts) < sizeof(r) ? sizeof(ts) : 16);
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
		 r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
		 r[15]);
}

static int has_key(const struct aliyun_param *p, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].key && !strcmp(p[i].key, key))
			return 1;
	return 0;
}

/* Caller parameters plus the common ones, in arena memory. */
static struct aliyun_param *all_params(struct arena *a,
				       const struct aliyun_client *cl,
				       enum aliyun_product product,
				       const char *action,
				       const struct aliyun_param *p, size_t n,
				       const char *ts, const char *nonce,
				       size_t *total)
{
	struct aliyun_param *all = arena_alloc(a, (n + 12) * sizeof(*all));
	size_t k = n;

	if (!all)
		return NULL;
	if (n)
		memcpy(all, p, n * sizeof(*p));
#define ADD(key_, val_) do { all[k].key = key_; all[k++].value = val_; } \
	while (0)
	ADD("Action", action);
	ADD("AccessKeyId", cl->cred.access_key_id);
	ADD("SignatureMethod", "HMAC-SHA1");
	ADD("SignatureVersion", "1.0");
	ADD("SignatureNonce", nonce);
	ADD("Timestamp", ts);
	if (cl->cred.security_token[0])
		ADD("SecurityToken", cl->cred.security_token);
	if (!has_key(p, n, "Format"))
		ADD("Format", "JSON");
	if (!has_key(p, n, "Version"))
		ADD("Version", versions[product]);
	if (!has_key(p, n, "RegionId") && cl->region[0])
		ADD("RegionId", cl->region);
#undef ADD
	*total = k;
	return all;
}

char *aliyun_signed_query(struct arena *a, const struct aliyun_client *cl,
			  enum aliyun_product product, const char *method,
			  const char *action, const struct aliyun_param *p,
			  size_t n, time_t now, const char *nonce, int *rc)
{
	struct aliyun_param *all;
	char ts[21], sig[ALIYUN_SIG_LEN], *canon, *sts, *esig;
	size_t i, total;

	*rc = -EINVAL;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (has_key(p, n, reserved[i]))
			return NULL;
	aliyun_timestamp(now, ts);
	*rc = -ENOMEM;
	all = all_params(a, cl, product, action, p, n, ts, nonce, &total);
	if (!all)
		return NULL;
	canon = aliyun_canonical_query(a, all, total);
	if (!canon) {
		*rc = -EINVAL;	/* duplicate, empty or NULL parameter */
		return NULL;
	}
	sts = aliyun_string_to_sign(a, method, canon);
	if (!sts)
		return NULL;
	aliyun_signature(cl->cred.access_key_secret, sts, sig);
	esig = enc_dup(a, sig);
	if (!esig)
		return NULL;
	*rc = 0;
	return arena_printf(a, "%s&Signature=%s", canon, esig);
}

static void copy_field(const struct json_doc *d, const char *key, char *dst,
		       size_t cap)
{
	const char *v;

	if (json_get_str(d, 0, key, &v, NULL) == 0)
		snprintf(dst, cap, "%s", v);
}

void aliyun_parse_error(const char *body, size_t len, struct aliyun_error *e)
{
	struct json_doc d;
	struct arena a;

	e->code[0] = e->message[0] = e->request_id[0] = '\0';
	arena_init(&a);
	if (json_parse(&d, &a, body, len, NULL, NULL) == 0 &&
	    json_typeof(&d, 0) == JSON_OBJECT) {
		copy_field(&d, "Code", e->code, sizeof(e->code));
		copy_field(&d, "Message", e->message, sizeof(e->message));
		copy_field(&d, "RequestId", e->request_id,
			   sizeof(e->request_id));
	}
	arena_free_all(&a);
}

int aliyun_retryable(const struct aliyun_error *e)
{
	return !strncmp(e->code, "Throttling", 10) ||
	       !strcmp(e->code, "ServiceUnavailable") || e->http_status >= 500;
}

static int idempotent(const char *action, const struct aliyun_param *p,
		      size_t n)
{
	return !strncmp(action, "Describe", 8) || !strncmp(action, "List", 4) ||
	       !strncmp(action, "Get", 3) || has_key(p, n, "ClientToken");
}

static int transport_retryable(int rc, int sent, int idem)
{
	switch (rc) {
	case -ECONNREFUSED: case -EHOSTUNREACH: case -ENETUNREACH:
		return 1;
	case -ETIMEDOUT: case -ECONNRESET: case -EPIPE: case -ECONNABORTED:
	case -EBADMSG:
		return !sent || idem;
	default:
		return 0;
	}
}

/* A full msg was cut to fit, maybe inside a secret: an end of 8 bytes or
 * more that starts s goes too. */
static void redact_tail(char *msg, size_t cap, const char *s, size_t n)
{
	size_t len = strlen(msg), k;
	char *p;

	if (len + 1 < cap)
		return;
	for (k = n - 1 < len ? n - 1 : len; k >= 8; k--) {
		p = msg + len - k;
		if (memcmp(p, s, k))
			continue;
		if (k >= 10)
			memcpy(p, "<redacted>", 10);
		p[k >= 10 ? 10 : 0] = '\0';
		return;
	}
}

/* Replace each occurrence of s in msg by "<redacted>". */
static void redact_one(char *msg, size_t cap, const char *s)
{
	size_t n = strlen(s), off, tail;
	char *p, *from = msg;

	if (n < 8)
		return;
	while ((p = strstr(from, s))) {
		off = (size_t)(p - msg);
		if (off + 11 > cap) {
			*p = '\0';
			return;
		}
		tail = strlen(p + n);
		if (off + 10 + tail + 1 > cap)
			tail = cap - off - 11;
		memmove(p + 10, p + n, tail);
		p[10 + tail] = '\0';
		memcpy(p, "<redacted>", 10);
		from = p + 10;
	}
	redact_tail(msg, cap, s, n);
}

void aliyun_redact(char *msg, size_t cap, const struct aliyun_cred *c)
{
	const char *sec[2] = { c->security_token, c->access_key_secret };
	struct arena a;
	char *e1, *e2;
	int i;

	arena_init(&a);
	for (i = 0; i < 2; i++) {
		redact_one(msg, cap, sec[i]);
		e1 = enc_dup(&a, sec[i]);
		e2 = e1 ? enc_dup(&a, e1) : NULL;
		if (e1)
			redact_one(msg, cap, e1);
		if (e2)
			redact_one(msg, cap, e2);
	}
	arena_free_all(&a);
}

static void backoff_sleep(const struct aliyun_client *cl, int attempt)
{
	long d = cl->backoff_ms;
	unsigned r = 0;
	struct timespec ts;

	while (--attempt > 0 && d < cl->backoff_max_ms)
		d *= 2;
	if (d > cl->backoff_max_ms)
		d = cl->backoff_max_ms;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)d;
	d = d / 2 + (long)(r % (unsigned)(d / 2 + 1));	/* [d/2, d] */
	ts.tv_sec = d / 1000;
	ts.tv_nsec = (d % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int endpoint_for(const struct aliyun_client *cl,
			enum aliyun_product product, struct http_endpoint *ep,
			struct aliyun_error *e)
{
	char url[300];

	if (cl->endpoint[product][0]) {
		snprintf(url, sizeof(url), "%s", cl->endpoint[product]);
	} else if (cl->region[0]) {
		snprintf(url, sizeof(url), "https://%s.%s.aliyuncs.com",
			 products[product], cl->region);
	} else {
		snprintf(e->message, sizeof(e->message), "%s API: no region "
			 "and no endpoint configured", products[product]);
		return -EINVAL;
	}
	if (http_endpoint_init(ep, url, cl->tls, e->message,
			       sizeof(e->message)) < 0)
		return -EINVAL;
	ep->total_timeout_ms = cl->timeout_ms;
	ep->io_timeout_ms = cl->timeout_ms;
	return 0;
}

int aliyun_reply(int status, const char *reason, const char *body,
		 size_t len, struct aliyun_error *e)
{
	e->http_status = status;
	if (status / 100 == 2)
		return 0;
	aliyun_parse_error(body, len, e);
	if (!e->message[0])
		snprintf(e->message, sizeof(e->message), "HTTP %d %s", status,
			 reason);
	return -EREMOTEIO;
}

/* One attempt: 0 (2xx), -EREMOTEIO (API error) or -errno. */
static int attempt_call(struct aliyun_client *cl, enum aliyun_product product,
			const struct http_endpoint *ep, const char *action,
			const struct aliyun_param *params, size_t n,
			char *body, size_t cap, size_t *len,
			struct aliyun_error *e)
{
	static const char *const form[] = {
		"Content-Type: application/x-www-form-urlencoded", NULL,
	};
	struct http_request rq = { .method = cl->post ? "POST" : "GET" };
	char nonce[37];
	struct arena a;
	char *q;
	int rc;

	arena_init(&a);
	aliyun_nonce(nonce);
	q = aliyun_signed_query(&a, cl, product, rq.method, action, params,
				n, time(NULL), nonce, &rc);
	if (!q) {
		snprintf(e->message, sizeof(e->message), "%s %s: %s", action,
			 products[product], rc == -EINVAL ? "bad, duplicate "
			 "or reserved parameter" : strerror(-rc));
		goto out;
	}
	if (cl->post) {
		rq.target = "/";
		rq.headers = form;
		rq.body = q;
		rq.body_len = strlen(q);
	} else {
		rq.target = arena_printf(&a, "/?%s", q);
	}
	rc = rq.target ? http_do(cl->conn, ep, &rq, body, cap, len) : -ENOMEM;
	if (rc < 0) {
		snprintf(e->message, sizeof(e->message), "%s", cl->conn->err);
		goto out;
	}
	rc = aliyun_reply(cl->conn->resp.status, cl->conn->resp.reason, body,
			  *len, e);
out:
	arena_free_all(&a);
	return rc;
}

int aliyun_call(struct aliyun_client *cl, enum aliyun_product product,
		const char *action, const struct aliyun_param *params,
		size_t n, char *body, size_t cap, size_t *len,
		struct aliyun_error *e)
{
	struct http_endpoint ep;
	int rc, attempt, retry;

	memset(e, 0, sizeof(*e));
	*len = 0;
	if ((unsigned)product >= ALIYUN_NPRODUCTS || !action || !*action) {
		snprintf(e->message, sizeof(e->message), "bad product/action");
		return -EINVAL;
	}
	rc = endpoint_for(cl, product, &ep, e);
	for (attempt = 1; rc == 0; attempt++) {
		memset(e, 0, sizeof(*e));
		e->attempts = attempt;
		rc = attempt_call(cl, product, &ep, action, params, n, body,
				  cap, len, e);
		if (rc == -EREMOTEIO)
			retry = aliyun_retryable(e);
		else
			retry = rc < 0 && transport_retryable(rc,
				cl->conn->sent, idempotent(action, params, n));
		aliyun_redact(e->message, sizeof(e->message), &cl->cred);
		if (!retry || attempt >= cl->max_attempts)
			break;
		backoff_sleep(cl, attempt);
		rc = 0;
	}
	return rc;
}
