/* ECS metadata service client with IMDSv2 tokens (see aliyun.h). */
#include "aliyun.h"
#include "json.h"
#include "sock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOKEN_PATH	"/latest/api/token"
#define TTL_HEADER	"X-aliyun-ecs-metadata-token-ttl-seconds"
#define TOKEN_HEADER	"X-aliyun-ecs-metadata-token"
#define V1_RETRY_MS	(5 * 60 * 1000)

int aliyun_meta_init(struct aliyun_meta *m, const char *base_url,
		     struct http_conn *conn, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->conn = conn;
	m->token_ttl = 21600;
	m->max_attempts = 4;
	m->backoff_ms = 500;
	if (http_endpoint_init(&m->ep, base_url ? base_url :
			       ALIYUN_METADATA_URL, NULL, err, errlen) < 0)
		return -EINVAL;
	m->ep.connect_timeout_ms = 2000;
	m->ep.total_timeout_ms = 10000;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One request with retries on 429, 5xx and transport errors. */
static int meta_do(struct aliyun_meta *m, const struct http_request *rq,
		   char *out, size_t cap, size_t *len)
{
	long delay = m->backoff_ms;
	int attempt, rc = 0, status;

	for (attempt = 1; attempt <= m->max_attempts; attempt++) {
		if (attempt > 1) {
			sleep_ms(delay);
			delay = delay * 6 / 5;
		}
		rc = http_do(m->conn, &m->ep, rq, out, cap, len);
		if (rc == -EMSGSIZE || rc == -EINVAL)
			break;
		if (rc < 0)
			continue;
		status = m->conn->resp.status;
		if (status != 429 && status < 500)
			break;
	}
	if (rc < 0)
		snprintf(m->err, sizeof(m->err), "%s", m->conn->err);
	return rc;
}

static void trim(char *s, size_t *len)
{
	while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r' ||
			s[*len - 1] == ' '))
		s[--*len] = '\0';
}

/* Make sure a token is at hand (or v1 is allowed): 0 or -errno. */
static int meta_token(struct aliyun_meta *m)
{
	char hdr[80], body[sizeof(m->token)];
	const char *hdrs[] = { hdr, NULL };
	struct http_request rq = { .method = "PUT", .target = TOKEN_PATH,
				   .headers = hdrs };
	int64_t now = sock_now_ms();
	size_t len;
	int rc;

	if ((m->token[0] && now < m->token_expiry_ms) || now < m->v1_until_ms)
		return 0;
	m->token[0] = '\0';
	snprintf(hdr, sizeof(hdr), TTL_HEADER ": %d", m->token_ttl);
	rc = meta_do(m, &rq, body, sizeof(body), &len);
	if (rc == 0 && m->conn->resp.status == 200) {
		trim(body, &len);
		if (len && !strpbrk(body, "\r\n")) {
			memcpy(m->token, body, len + 1);
			m->token_expiry_ms = now + m->token_ttl * 500LL;
			return 0;
		}
	}
	if (m->allow_v1) {
		m->v1_until_ms = now + V1_RETRY_MS;
		return 0;
	}
	if (rc == 0) {
		snprintf(m->err, sizeof(m->err), "metadata token: HTTP %d %s",
			 m->conn->resp.status, m->conn->resp.reason);
		rc = -EACCES;
	}
	return rc;
}

int aliyun_meta_get(struct aliyun_meta *m, const char *path, char *out,
		    size_t cap, size_t *len)
{
	char target[1024], hdr[sizeof(m->token) + 40];
	const char *hdrs[] = { hdr, NULL };
	struct http_request rq = { .method = "GET", .target = target };
	int tries, rc = 0, status = 0;

	*len = 0;
	if (snprintf(target, sizeof(target), "%s%s", path[0] == '/' ? "" :
		     "/latest/meta-data/", path) >= (int)sizeof(target)) {
		snprintf(m->err, sizeof(m->err), "metadata path too long");
		return -ENAMETOOLONG;
	}
	for (tries = 0; tries < 2; tries++) {
		rc = meta_token(m);
		if (rc < 0)
			return rc;
		snprintf(hdr, sizeof(hdr), TOKEN_HEADER ": %s", m->token);
		rq.headers = m->token[0] ? hdrs : NULL;
		rc = meta_do(m, &rq, out, cap, len);
		if (rc < 0)
			return rc;
		status = m->conn->resp.status;
		if (status != 401 || !m->token[0])
			break;
		m->token[0] = '\0';	/* expired or revoked: once more */
	}
	if (status == 200) {
		trim(out, len);
		return 0;
	}
	snprintf(m->err, sizeof(m->err), "metadata %.300s: HTTP %d %.100s",
		 target, status, m->conn->resp.reason);
	return status == 404 ? -ENOENT : status == 401 || status == 403 ?
	       -EACCES : -EPROTO;
}

static int cred_field(const struct json_doc *d, const char *key, char *dst,
		      size_t cap, int need)
{
	const char *v;

	if (json_get_str(d, 0, key, &v, NULL) < 0)
		return need ? -ENOENT : 0;
	if (strlen(v) >= cap)
		return -E2BIG;
	strcpy(dst, v);
	return 0;
}

int aliyun_meta_parse_cred(struct aliyun_meta *m, const char *body,
			   size_t len, struct aliyun_cred *c,
			   char *expiration, size_t explen)
{
	struct json_doc d;
	struct arena a;
	const char *code;
	int rc;

	arena_init(&a);
	rc = json_parse(&d, &a, body, len, NULL, NULL);
	if (rc == 0 && json_get_str(&d, 0, "Code", &code, NULL) == 0 &&
	    strcmp(code, "Success"))
		rc = -EACCES;
	if (rc == 0)
		rc = cred_field(&d, "AccessKeyId", c->access_key_id,
				sizeof(c->access_key_id), 1);
	if (rc == 0)
		rc = cred_field(&d, "AccessKeySecret", c->access_key_secret,
				sizeof(c->access_key_secret), 1);
	if (rc == 0)
		rc = cred_field(&d, "SecurityToken", c->security_token,
				sizeof(c->security_token), 0);
	if (rc == 0 && expiration)
		rc = cred_field(&d, "Expiration", expiration, explen, 0);
	if (rc < 0)
		snprintf(m->err, sizeof(m->err), "metadata role credentials: "
			 "%s", rc == -EACCES ? "Code is not Success" :
			 "missing or bad fields");
	arena_free_all(&a);
	return rc;
}

int aliyun_meta_credentials(struct aliyun_meta *m, const char *role,
			    struct aliyun_cred *c, char *expiration,
			    size_t explen)
{
	char name[256], path[300], body[8192];
	size_t len;
	int rc;

	memset(c, 0, sizeof(*c));
	if (expiration && explen)
		expiration[0] = '\0';
	if (!role) {
		rc = aliyun_meta_get(m, "ram/security-credentials/", name,
				     sizeof(name), &len);
		if (rc < 0)
			return rc;
		name[strcspn(name, "\r\n")] = '\0';
		if (!name[0] || strchr(name, '/')) {
			snprintf(m->err, sizeof(m->err), "metadata: no RAM "
				 "role attached to the instance");
			return -ENOENT;
		}
		role = name;
	}
	snprintf(path, sizeof(path), "ram/security-credentials/%s", role);
	rc = aliyun_meta_get(m, path, body, sizeof(body), &len);
	if (rc == 0)
		rc = aliyun_meta_parse_cred(m, body, len, c, expiration,
					    explen);
	explicit_bzero(body, sizeof(body));
	return rc;
}
