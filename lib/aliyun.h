/* Alibaba Cloud clients: the OpenAPI RPC style (ECS, VPC) with signature
 * version 1.0, and the ECS metadata service (IMDSv2 tokens).
 *
 * Signature 1.0: parameters sorted by name, each name and value
 * percent-encoded (RFC 3986 unreserved kept: space -> %20, * -> %2A, ~
 * kept), joined as k=v&k=v; StringToSign = METHOD "&%2F&" enc(canonical);
 * Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
 *
 * aliyun_call() adds the common parameters (Format=JSON, Version of the
 * product, AccessKeyId, SignatureMethod=HMAC-SHA1, SignatureVersion=1.0, a
 * fresh SignatureNonce and Timestamp per attempt, SecurityToken for STS
 * credentials, RegionId unless given), sends GET (or POST) to
 * https://<ecs|vpc>.<region>.aliyuncs.com/ or the configured endpoint,
 * and retries with jittered exponential backoff on Throttling*,
 * ServiceUnavailable, HTTP 5xx and transport failures (those only when the
 * request was not sent, or the action is idempotent: Describe*, List*,
 * Get*, or a ClientToken is given); never on other 4xx.  Secrets (the
 * AccessKey secret, the STS token) never appear in any message. */
#ifndef VPCNET_ALIYUN_H
#define VPCNET_ALIYUN_H

#include "arena.h"
#include "http.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ALIYUN_ECS_VERSION	"2014-05-26"
#define ALIYUN_VPC_VERSION	"2016-04-28"
#define ALIYUN_METADATA_URL	"http://100.100.100.200"
#define ALIYUN_SIG_LEN		29	/* base64(SHA-1) + NUL */

enum aliyun_product { ALIYUN_ECS, ALIYUN_VPC, ALIYUN_NPRODUCTS };

struct aliyun_param {
	const char *key;
	const char *value;
};

struct aliyun_cred {
	char access_key_id[128];
	char access_key_secret[128];
	char security_token[4096];	/* STS; "" for a plain AccessKey */
};

struct aliyun_error {
	int http_status;	/* 0 when no HTTP response came */
	int attempts;
	char code[128];		/* API error code; "" for transport */
	char message[1024];	/* API message, or what failed */
	char request_id[128];
};

struct aliyun_client {
	struct aliyun_cred cred;
	char region[64];
	char endpoint[ALIYUN_NPRODUCTS][256];	/* "" = public endpoint */
	const struct tls_config *tls;
	struct http_conn *conn;	/* caller's, kept alive between calls */
	int post;		/* send parameters as a form body */
	int max_attempts;	/* default 5 */
	int backoff_ms;		/* first retry delay, default 200 */
	int backoff_max_ms;	/* default 10000 */
	int timeout_ms;		/* per attempt, default 30000 */
};

void aliyun_client_init(struct aliyun_client *cl, const char *region,
			const struct tls_config *tls, struct http_conn *conn);

/* Credentials from ALIBABA_CLOUD_ACCESS_KEY_ID, _ACCESS_KEY_SECRET and
 * (optional) _SECURITY_TOKEN: 0, or -ENOENT naming what is missing. */
int aliyun_cred_from_env(struct aliyun_cred *c, char *err, size_t errlen);

/* Call action.  0: body[0..*len) is the JSON reply (NUL-terminated).
 * -EREMOTEIO: the API answered an error (e->code, message, request_id,
 * http_status; body holds it too).  Other -errno: transport or local
 * failure, e->message says which. */
int aliyun_call(struct aliyun_client *cl, enum aliyun_product product,
		const char *action, const struct aliyun_param *params,
		size_t n, char *body, size_t cap, size_t *len,
		struct aliyun_error *e);

/* --- signature pieces (pure; used by aliyun_call, exposed for tests) --- */

/* RFC 3986 encoding as the signature wants; returns the full length and
 * writes at most cap bytes including a NUL (see http_pct_encode). */
size_t aliyun_pct_encode(const char *s, char *out, size_t cap);

/* "k=v&k=v" sorted by key, encoded; NULL on a duplicate or NULL key or
 * value, or on allocation failure. */
char *aliyun_canonical_query(struct arena *a, const struct aliyun_param *p,
			     size_t n);

/* METHOD "&%2F&" enc(canonical). */
char *aliyun_string_to_sign(struct arena *a, const char *method,
			    const char *canonical);

/* base64(HMAC-SHA1(secret + "&", sts)). */
void aliyun_signature(const char *secret, const char *sts,
		      char out[ALIYUN_SIG_LEN]);

/* "2016-02-23T12:46:24Z" (UTC) */
void aliyun_timestamp(time_t t, char out[21]);

/* Random UUID-style nonce, 36 characters + NUL. */
void aliyun_nonce(char out[37]);

/* The complete signed query for one attempt ("...&Signature=..."), or
 * NULL with *rc = -EINVAL (a parameter that is ours, a duplicate) or
 * -ENOMEM. */
char *aliyun_signed_query(struct arena *a, const struct aliyun_client *cl,
			  enum aliyun_product product, const char *method,
			  const char *action, const struct aliyun_param *p,
			  size_t n, time_t now, const char *nonce, int *rc);

/* Pull Code, Message and RequestId out of an error reply (JSON). */
void aliyun_parse_error(const char *body, size_t len, struct aliyun_error *e);

/* Should this reply be retried?  Throttling*, ServiceUnavailable, 5xx. */
int aliyun_retryable(const struct aliyun_error *e);

/* What aliyun_call() makes of a complete reply (HTTP status, its reason
 * phrase, body[0..len)): 0 for 2xx; else -EREMOTEIO with e->code, message
 * and request_id from the body, message "HTTP <status> <reason>" when it
 * has none.  Sets e->http_status. */
int aliyun_reply(int status, const char *reason, const char *body,
		 size_t len, struct aliyun_error *e);

/* Replace c's secrets in msg (cap bytes), raw and percent-encoded once and
 * twice (as in an echoed StringToSign), by "<redacted>"; aliyun_call()
 * does it to every message. */
void aliyun_redact(char *msg, size_t cap, const struct aliyun_cred *c);

/* --- ECS metadata service ---------------------------------------------- */

struct aliyun_meta {
	struct http_endpoint ep;
	struct http_conn *conn;	/* caller's */
	int allow_v1;		/* go on without a token if none */
	int token_ttl;		/* seconds, default 21600 */
	int max_attempts;	/* default 4 (429, 5xx, transport) */
	int backoff_ms;		/* default 500, x1.2 per attempt */
	char token[512];
	int64_t token_expiry_ms;	/* refetched at TTL/2 */
	int64_t v1_until_ms;	/* token endpoint failed: v1 until */
	char err[HTTP_ERR_SIZE];
};

/* base_url NULL: ALIYUN_METADATA_URL. */
int aliyun_meta_init(struct aliyun_meta *m, const char *base_url,
		     struct http_conn *conn, char *err, size_t errlen);

/* GET /latest/meta-data/<path> (a path starting with '/' is taken as is).
 * out: the value without a trailing newline, NUL-terminated.  0, -ENOENT
 * (404), or -errno with m->err set. */
int aliyun_meta_get(struct aliyun_meta *m, const char *path, char *out,
		    size_t cap, size_t *len);

/* STS credentials of the instance's RAM role (role NULL: the attached
 * one): ram/security-credentials/<role>.  expiration gets the ISO 8601
 * Expiration ("" when absent). */
int aliyun_meta_credentials(struct aliyun_meta *m, const char *role,
			    struct aliyun_cred *c, char *expiration,
			    size_t explen);

/* The JSON of ram/security-credentials/<role> into c and expiration (may
 * be NULL; both cleared by the caller): 0, -EACCES (Code is not
 * "Success"), -ENOENT, -E2BIG, -EINVAL (not JSON); m->err says which. */
int aliyun_meta_parse_cred(struct aliyun_meta *m, const char *body,
			   size_t len, struct aliyun_cred *c,
			   char *expiration, size_t explen);

#endif
