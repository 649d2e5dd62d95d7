/* libFuzzer: what the Alibaba Cloud clients make of a reply body.
 *   - aliyun_reply() (aliyun_call's handling of a complete reply: 2xx is
 *     success, else Code / Message / RequestId from the JSON error, or
 *     "HTTP <status> <reason>"), aliyun_retryable();
 *   - aliyun_redact() on the resulting message, with the message made to
 *     carry a secret (raw, percent-encoded once or twice) at a chosen
 *     place: afterwards no form of either secret may be left in it;
 *   - aliyun_meta_parse_cred() (the ECS metadata role credentials JSON).
 * Input: [mode][n1][n2][pos] token[n1] secret[n2 % 128] body, the secret
 * bytes mapped to the alphabet of STS tokens and AccessKey secrets.  mode
 * bits 0-2: HTTP status, bit 3: splice a secret (bit 4: the AccessKey
 * secret, else the token) into the message in form pos % 3 at offset
 * pos / 3 * 12, bits 6-7: the Expiration buffer size.
 * Buffers are exactly as long as their contents (no NUL after the body)
 * so that any read past them is caught. */
#include "aliyun.h"
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=";

static const int statuses[8] = { 200, 204, 400, 403, 404, 500, 502, 503 };

static const size_t explens[4] = { 64, 0, 8, 21 };

static void map_secret(char *dst, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = alphabet[p[i] % (sizeof(alphabet) - 1)];
	dst[n] = '\0';
}

/* A field copied from the body must be its JSON string, cut to fit. */
static void check_field(const struct json_doc *d, int ok, const char *key,
			const char *got, size_t cap)
{
	const char *v;
	size_t n;

	if (!memchr(got, '\0', cap))
		abort();
	if (!ok || json_get_str(d, 0, key, &v, NULL) < 0 || !*v) {
		if (strcmp(key, "Message") && got[0])
			abort();
		return;	/* an empty Message becomes "HTTP <status> .." */
	}
	n = strlen(v) < cap - 1 ? strlen(v) : cap - 1;
	if (strlen(got) != n || memcmp(got, v, n))
		abort();
}

static void check_error(const char *body, size_t len, int status, int rc,
			const struct aliyun_error *e)
{
	struct json_doc d;
	struct arena a;
	int ok;

	if (e->http_status != status)
		abort();
	if (status / 100 == 2) {
		if (rc != 0 || e->code[0] || e->message[0])
			abort();
		return;
	}
	if (rc != -EREMOTEIO || !e->message[0])
		abort();
	arena_init(&a);
	ok = json_parse(&d, &a, body, len, NULL, NULL) == 0 &&
	     json_typeof(&d, 0) == JSON_OBJECT;
	check_field(&d, ok, "Code", e->code, sizeof(e->code));
	check_field(&d, ok, "Message", e->message, sizeof(e->message));
	check_field(&d, ok, "RequestId", e->request_id, sizeof(e->request_id));
	arena_free_all(&a);
	if (aliyun_retryable(e) != (!strncmp(e->code, "Throttling", 10) ||
				    !strcmp(e->code, "ServiceUnavailable") ||
				    status >= 500))
		abort();
}

/* The secret s as a message would carry it: raw, encoded once, twice. */
static size_t secret_form(const char *s, int form, char *out, size_t cap)
{
	char once[4096 * 3 + 1];

	if (form == 0)
		return (size_t)snprintf(out, cap, "%s", s);
	aliyun_pct_encode(s, once, sizeof(once));
	if (form == 1)
		return (size_t)snprintf(out, cap, "%s", once);
	return aliyun_pct_encode(once, out, cap);
}

static void splice(char *msg, size_t cap, size_t pos, const char *ins)
{
	size_t len = strlen(msg), n = strlen(ins), tail;

	if (pos > len)
		pos = len;
	if (n > cap - 1 - pos)
		n = cap - 1 - pos;
	tail = len - pos;
	if (pos + n + tail > cap - 1)
		tail = cap - 1 - pos - n;
	memmove(msg + pos + n, msg + pos, tail);
	memcpy(msg + pos, ins, n);
	msg[pos + n + tail] = '\0';
}

/* A full message (cut to fit) must not end with the start of a secret
 * either, 8 bytes or more of it. */
static int ends_with_start(const char *msg, size_t cap, const char *form)
{
	size_t len = strlen(msg), n = strlen(form), k;

	if (len + 1 < cap)
		return 0;
	for (k = 8; k < n && k <= len; k++)
		if (!memcmp(msg + len - k, form, k))
			return 1;
	return 0;
}

static void check_redacted(const char *msg, size_t cap,
			   const struct aliyun_cred *c)
{
	static char form[4096 * 9 + 1];
	const char *sec[2] = { c->security_token, c->access_key_secret };
	int i, f;

	if (!memchr(msg, '\0', cap))
		abort();
	for (i = 0; i < 2; i++) {
		if (strlen(sec[i]) < 8)	/* too short to redact */
			continue;
		for (f = 0; f < 3; f++) {
			secret_form(sec[i], f, form, sizeof(form));
			if (strstr(msg, form) ||
			    ends_with_start(msg, cap, form))
				abort();
		}
	}
}

static void redaction(uint8_t mode, uint8_t pos, struct aliyun_error *e,
		      const struct aliyun_cred *c)
{
	static char form[4096 * 9 + 1];
	const char *s = mode & 0x10 ? c->access_key_secret :
			c->security_token;

	if (mode & 8) {
		secret_form(s, pos % 3, form, sizeof(form));
		splice(e->message, sizeof(e->message), (size_t)pos / 3 * 12,
		       form);
	}
	aliyun_redact(e->message, sizeof(e->message), c);
	check_redacted(e->message, sizeof(e->message), c);
}

static void meta_cred(uint8_t mode, const char *body, size_t len)
{
	static struct aliyun_meta m;
	struct aliyun_cred c;
	size_t explen = explens[mode >> 6];
	char *exp = malloc(explen ? explen : 1);
	int rc;

	if (!exp)
		return;
	memset(&c, 0, sizeof(c));	/* as aliyun_meta_credentials() */
	memset(exp, 0xa5, explen);
	if (explen)
		exp[0] = '\0';
	m.err[0] = '\0';
	rc = aliyun_meta_parse_cred(&m, body, len, &c, exp, explen);
	if (rc != 0 && rc != -EACCES && rc != -ENOENT && rc != -E2BIG &&
	    rc != -EINVAL)
		abort();
	if ((rc != 0) != (m.err[0] != '\0'))
		abort();
	if (!memchr(c.access_key_id, '\0', sizeof(c.access_key_id)) ||
	    !memchr(c.access_key_secret, '\0', sizeof(c.access_key_secret)) ||
	    !memchr(c.security_token, '\0', sizeof(c.security_token)))
		abort();
	if (rc == 0 && explen && !memchr(exp, '\0', explen))
		abort();
	free(exp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct aliyun_cred cred;
	struct aliyun_error e;
	size_t n1, n2, len;
	uint8_t mode, pos;
	char *body;
	int status, rc;

	if (size < 4)
		return 0;
	mode = data[0];
	n1 = data[1];
	n2 = data[2] % 128;
	pos = data[3];
	if (size < 4 + n1 + n2)
		return 0;
	map_secret(cred.security_token, data + 4, n1);
	map_secret(cred.access_key_secret, data + 4 + n1, n2);
	data += 4 + n1 + n2;
	len = size - 4 - n1 - n2;
	body = malloc(len ? len : 1);
	if (!body)
		return 0;
	if (len)
		memcpy(body, data, len);
	status = statuses[mode & 7];
	memset(&e, 0, sizeof(e));
	rc = aliyun_reply(status, "Reason", body, len, &e);
	check_error(body, len, status, rc, &e);
	redaction(mode, pos, &e, &cred);
	meta_cred(mode, body, len);
	free(body);
	return 0;
}
