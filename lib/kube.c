/* Kubernetes API client: configuration, token, requests, Status errors,
 * GET (see kube.h).  Lists are in kube_list.c, watches in kube_watch.c. */
#include "kube.h"
#include "kube_int.h"
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int kube_fail(struct kube_client *kc, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kc->err, sizeof(kc->err), fmt, ap);
	va_end(ap);
	return rc;
}

__attribute__((format(printf, 4, 5)))
static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

void kube_config_init(struct kube_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

/* Read a small file: 0 with buf NUL-terminated, -EMSGSIZE, -errno. */
static int read_small(const char *path, char *buf, size_t cap, size_t *len)
{
	ssize_t n;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap - 1) {
			rc = -EMSGSIZE;
			goto out;
		}
	}
	buf[got] = '\0';
	*len = got;
out:
	close(fd);
	return rc;
}

/* Trim surrounding whitespace in place; returns the new start. */
static char *trim(char *s, size_t *len)
{
	while (*len && strchr(" \t\r\n", s[*len - 1]))
		s[--*len] = '\0';
	while (*len && strchr(" \t\r\n", *s)) {
		s++;
		(*len)--;
	}
	return s;
}

static int copy_str(char *dst, size_t cap, const char *a, const char *b)
{
	int n = snprintf(dst, cap, "%s%s", a, b ? b : "");

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kube_config_in_cluster(struct kube_config *cfg, const char *sa_dir,
			   char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[600], buf[300], *ns;
	size_t len;
	int v6, rc;

	if (!sa_dir)
		sa_dir = KUBE_SA_DIR;
	if (!host || !*host || !port || !*port)
		return errf(err, errlen, -ENOENT, "not running in a cluster: "
			    "%s is not set", !host || !*host ?
			    "KUBERNETES_SERVICE_HOST" :
			    "KUBERNETES_SERVICE_PORT");
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    atoi(port) < 1 || atoi(port) > 65535)
		return errf(err, errlen, -EINVAL, "KUBERNETES_SERVICE_PORT: "
			    "bad port \"%.20s\"", port);
	v6 = strchr(host, ':') != NULL;
	rc = snprintf(cfg->server, sizeof(cfg->server), "https://%s%s%s:%s",
		      v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (rc < 0 || (size_t)rc >= sizeof(cfg->server))
		return errf(err, errlen, -EINVAL, "KUBERNETES_SERVICE_HOST: "
			    "too long");
	if (copy_str(cfg->token_file, sizeof(cfg->token_file), sa_dir,
		     "/token") < 0 ||
	    copy_str(cfg->ca_file, sizeof(cfg->ca_file), sa_dir,
		     "/ca.crt") < 0)
		return errf(err, errlen, -ENAMETOOLONG, "%s: path too long",
			    sa_dir);
	cfg->namespace[0] = '\0';
	snprintf(path, sizeof(path), "%s/namespace", sa_dir);
	if (read_small(path, buf, sizeof(buf), &len) == 0) {
		ns = trim(buf, &len);
		if (len < sizeof(cfg->namespace))
			memcpy(cfg->namespace, ns, len + 1);
	}
	return 0;
}

/* Re-read the token file when due (or forced): 1 when the token changed,
 * 0 when not, -errno when it cannot be used (kc->err). */
static int token_load(struct kube_client *kc, int force)
{
	static const char pfx[] = "Authorization: Bearer ";
	char buf[KUBE_TOKEN_MAX + 1], *t;
	int64_t now = sock_now_ms();
	int every = kc->cfg.token_reload_s;
	size_t len, i;
	int rc;

	if (!kc->cfg.token_file[0])
		return 0;
	if (!every)
		every = KUBE_TOKEN_RELOAD_S;
	if (!force && kc->token_read_ms && every > 0 &&
	    now - kc->token_read_ms < (int64_t)every * 1000)
		return 0;
	kc->token_read_ms = now;
	kc->token_reads++;
	rc = read_small(kc->cfg.token_file, buf, sizeof(buf), &len);
	if (rc < 0)
		return kube_fail(kc, rc, "token file %s: %s", kc->cfg.token_file,
				 rc == -EMSGSIZE ? "larger than 8 KiB" :
				 strerror(-rc));
	t = trim(buf, &len);
	if (!len)
		return kube_fail(kc, -EINVAL, "token file %s: empty",
				 kc->cfg.token_file);
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return kube_fail(kc, -EINVAL, "token file %s: not a "
					 "token (byte %zu is 0x%02x)",
					 kc->cfg.token_file, i,
					 (unsigned char)t[i]);
	if (!strncmp(kc->auth, pfx, sizeof(pfx) - 1) &&
	    !strcmp(kc->auth + sizeof(pfx) - 1, t))
		return 0;
	snprintf(kc->auth, sizeof(kc->auth), "%s%s", pfx, t);
	return 1;
}

static int tls_setup(struct kube_client *kc, char *err, size_t errlen)
{
	const struct kube_config *c = &kc->cfg;
	int rc;

	kc->tls_used = 1;
	rc = tls_config_init(&kc->tls, c->ca_file[0] ? c->ca_file : NULL, err,
			     errlen);
	if (rc < 0)
		return rc;
	if (!c->cert_file[0] != !c->key_file[0])
		return errf(err, errlen, -EINVAL, "client certificate: %s is "
			    "needed too", c->cert_file[0] ? "a key file" :
			    "a certificate file");
	if (c->cert_file[0])
		return tls_config_client_cert(&kc->tls, c->cert_file,
					      c->key_file, err, errlen);
	return 0;
}

static uint64_t seed(void)
{
	struct timespec ts;
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
	}
	return s | 1;
}

int64_t kube_rand(struct kube_client *kc, int64_t n)
{
	uint64_t x = kc->rng;

	x ^= x << 13;	/* xorshift64 */
	x ^= x >> 7;
	x ^= x << 17;
	kc->rng = x;
	return n > 0 ? (int64_t)(x % (uint64_t)n) : 0;
}

int kube_client_init(struct kube_client *kc, const struct kube_config *cfg,
		     char *err, size_t errlen)
{
	struct kube_config *c = &kc->cfg;
	int rc;

	memset(kc, 0, sizeof(*kc));
	*c = *cfg;
	kc->rng = seed();
	if (!c->server[0])
		return errf(err, errlen, -EINVAL, "no API server: set the "
			    "server URL or run in a cluster");
	rc = http_endpoint_init(&kc->ep, c->server, NULL, err, errlen);
	if (rc < 0)
		return rc;
	if (kc->ep.url.scheme == HTTP_SCHEME_HTTPS) {
		rc = tls_setup(kc, err, errlen);
		if (rc < 0)
			return rc;
		kc->ep.tls = &kc->tls;
	}
	snprintf(kc->ep.tls_name, sizeof(kc->ep.tls_name), "%s", c->tls_name);
	kc->ep.total_timeout_ms = c->timeout_ms ? c->timeout_ms :
				  KUBE_DEF_TIMEOUT_MS;
	kc->ep.io_timeout_ms = c->io_timeout_ms ? c->io_timeout_ms :
			       KUBE_DEF_TIMEOUT_MS;
	if (!c->max_object)
		c->max_object = KUBE_MAX_OBJECT;
	kc->conn = malloc(sizeof(*kc->conn));
	if (!kc->conn)
		return errf(err, errlen, -ENOMEM, "out of memory");
	http_conn_init(kc->conn);
	rc = token_load(kc, 1);
	if (rc < 0)
		return errf(err, errlen, rc, "%s", kc->err);
	return 0;
}

void kube_client_free(struct kube_client *kc)
{
	if (kc->conn) {
		http_conn_close(kc->conn);
		free(kc->conn);
		kc->conn = NULL;
	}
	if (kc->tls_used)
		tls_config_free(&kc->tls);
	kc->tls_used = 0;
	explicit_bzero(kc->auth, sizeof(kc->auth));
}

static int bad_segment(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr("/?%#", *s))
			return 1;
	return 0;
}

/* "v1" or "group/version" */
static int bad_api_version(const char *s)
{
	const char *slash = strchr(s, '/');
	char group[256];
	size_t glen;

	if (!slash)
		return !*s || bad_segment(s);
	glen = (size_t)(slash - s);
	if (!glen || glen >= sizeof(group) || !slash[1])
		return 1;
	memcpy(group, s, glen);
	group[glen] = '\0';
	return bad_segment(group) || bad_segment(slash + 1);
}

int kube_path(char *buf, size_t len, const char *api_version, const char *ns,
	      const char *resource, const char *name)
{
	int core, n;

	if (!api_version || bad_api_version(api_version) || !resource ||
	    !*resource || bad_segment(resource) || (ns && bad_segment(ns)) ||
	    (name && bad_segment(name)))
		return -EINVAL;
	core = !strchr(api_version, '/');
	n = snprintf(buf, len, "/%s/%s%s%s/%s%s%s", core ? "api" : "apis",
		     api_version, ns && *ns ? "/namespaces/" : "",
		     ns && *ns ? ns : "", resource, name && *name ? "/" : "",
		     name && *name ? name : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int kube_query(struct kube_client *kc, const char *key, const char *value)
{
	size_t len = strlen(kc->target), cap = sizeof(kc->target), n;

	if (!value)
		return 0;
	n = (size_t)snprintf(kc->target + len, cap - len, "%c%s=",
			     strchr(kc->target, '?') ? '&' : '?', key);
	if (len + n >= cap)
		goto toolong;
	len += n;
	n = http_pct_encode(value, strlen(value), kc->target + len, cap - len,
			    NULL);
	if (len + n >= cap)
		goto toolong;
	return 0;
toolong:
	kc->target[0] = '\0';
	return kube_fail(kc, -ENAMETOOLONG, "request target longer than %zu "
			 "bytes", cap - 1);
}

static int errno_of(int status)
{
	switch (status) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 410:
		return -ESTALE;
	default:
		return -EREMOTEIO;
	}
}

/* Keep printable ASCII of s in out (one line). */
static void sanitize(char *out, size_t cap, const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < cap; i++)
		out[o++] = (unsigned char)s[i] >= 0x20 &&
			   (unsigned char)s[i] < 0x7f ? s[i] : ' ';
	out[o] = '\0';
}

/* Turn a non-2xx reply into kc->err / status / reason.  The body is read
 * (up to KUBE_STATUS_BODY_MAX) and parsed as a Status when it is one. */
static int status_fail(struct kube_client *kc, int status)
{
	struct http_conn *c = kc->conn;
	const char *msg = NULL, *reason = NULL;
	char *body, why[400] = "", hint[600] = "";
	struct json_doc d;
	struct arena a;
	size_t len = 0;
	ssize_t n;

	arena_init(&a);
	body = arena_alloc(&a, KUBE_STATUS_BODY_MAX);
	while (body && (n = http_read(c, body + len,
				      KUBE_STATUS_BODY_MAX - 1 - len)) > 0)
		len += (size_t)n;
	if (!c->done)
		http_conn_close(c);
	if (body && len && json_parse(&d, &a, body, len, NULL, NULL) == 0 &&
	    json_typeof(&d, 0) == JSON_OBJECT) {
		json_get_str(&d, 0, "message", &msg, NULL);
		json_get_str(&d, 0, "reason", &reason, NULL);
	}
	if (msg)
		sanitize(why, sizeof(why), msg, strlen(msg));
	else if (body)
		sanitize(why, sizeof(why), body, len < 200 ? len : 200);
	snprintf(kc->reason, sizeof(kc->reason), "%s", reason ? reason : "");
	if (status == 401 && kc->cfg.token_file[0])
		snprintf(hint, sizeof(hint), " (bearer token from %s)",
			 kc->cfg.token_file);
	else if (status == 401 && kc->cfg.cert_file[0])
		snprintf(hint, sizeof(hint), " (client certificate %s)",
			 kc->cfg.cert_file);
	else if (status == 401)
		snprintf(hint, sizeof(hint), " (no credentials configured)");
	kc->status = status;
	kube_fail(kc, errno_of(status), "%s: %d %s%s%s%s", c->what, status,
		  reason && *reason ? reason : c->resp.reason,
		  why[0] ? ": " : "", why, hint);
	arena_free_all(&a);
	return errno_of(status);
}

int kube_begin(struct kube_client *kc, const struct http_endpoint *ep,
	       int stream)
{
	const char *hdrs[3] = { "Accept: application/json", NULL, NULL };
	struct http_request rq = { .method = "GET", .target = kc->target,
				   .headers = hdrs, .stream = stream };
	int rc, attempt, status;

	kc->status = 0;
	kc->reason[0] = '\0';
	rc = token_load(kc, 0);
	if (rc < 0 && !kc->auth[0])
		return rc;
	for (attempt = 0;; attempt++) {
		hdrs[1] = kc->auth[0] ? kc->auth : NULL;
		kc->requests++;
		rc = http_start(kc->conn, ep, &rq);
		if (rc < 0)
			return kube_fail(kc, rc, "%s", kc->conn->err);
		status = kc->conn->resp.status;
		if (status != 401 || attempt || !kc->cfg.token_file[0])
			break;
		/* the token may have rotated: re-read it, retry once */
		if (token_load(kc, 1) != 1)
			break;
		http_finish(kc->conn);
	}
	if (status >= 200 && status < 300)
		return 0;
	return status_fail(kc, status);
}

void kube_body_init(struct kube_body *b, struct kube_client *kc)
{
	memset(b, 0, sizeof(*b));
	b->kc = kc;
	b->max = kc->cfg.max_object;
}

void kube_body_free(struct kube_body *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->pos = b->cap = 0;
}

int kube_parse_span(struct kube_client *kc, struct arena *a,
		    struct json_doc *d, const char *text, size_t len,
		    const char *what)
{
	struct json_limits lim = { .max_len = kc->cfg.max_object };
	struct json_err je;
	int rc;

	rc = json_parse(d, a, text, len, &lim, &je);
	if (rc < 0)
		return kube_fail(kc, rc == -ENOMEM ? rc : -EBADMSG,
				 "%s: %s: %s", kc->conn->what, what, je.msg);
	return 0;
}

int kube_get(struct kube_client *kc, const char *path, struct arena *a,
	     struct json_doc *doc)
{
	struct kube_body b;
	char *text;
	int rc;

	if (copy_str(kc->target, sizeof(kc->target), path, NULL) < 0 ||
	    path[0] != '/')
		return kube_fail(kc, -EINVAL, "GET %.100s: bad path", path);
	rc = kube_begin(kc, &kc->ep, 0);
	if (rc < 0)
		return rc;
	kube_body_init(&b, kc);
	while ((rc = kube_body_fill(&b)) > 0)
		;
	if (rc == 0) {
		text = arena_memdup(a, b.buf ? b.buf : "", b.len + 1);
		rc = text ? kube_parse_span(kc, a, doc, text, b.len,
					    "reply is not JSON") :
			    kube_fail(kc, -ENOMEM, "out of memory");
	}
	kube_body_free(&b);
	return rc;
}
