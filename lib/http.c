/* HTTP/1.1 client I/O (see http.h); parsing is in http_parse.c. */
#include "http.h"
#include "sock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef VPCNET_VERSION
#define VPCNET_VERSION "0"
#endif

static int timeout_or(int ms, int def)
{
	if (ms < 0)
		return -1;
	return ms ? ms : def;
}

int http_endpoint_init(struct http_endpoint *ep, const char *url,
		       const struct tls_config *tls, char *err, size_t errlen)
{
	memset(ep, 0, sizeof(*ep));
	ep->tls = tls;
	return http_url_parse(url, &ep->url, err, errlen);
}

void http_conn_init(struct http_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->done = 1;
}

void http_conn_close(struct http_conn *c)
{
	if (c->fd >= 0) {
		if (c->use_tls)
			tls_close(&c->tls);
		close(c->fd);
	}
	c->fd = -1;
	c->reusable = 0;
	c->rpos = c->rlen = c->wlen = 0;
}

/* snprintf whose truncation is intended (messages are cut to fit). */
__attribute__((format(printf, 3, 4)))
static void msgf(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static int fail(struct http_conn *c, int rc, const char *fmt, ...)
{
	char msg[HTTP_ERR_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msgf(c->err, sizeof(c->err), "%s: %s", c->what, msg);
	return rc;
}

/* Explain a transport error of the current phase. */
static int io_fail(struct http_conn *c, int rc, const char *phase,
		   const char *detail)
{
	if (rc == -ETIMEDOUT && c->deadline_ms &&
	    sock_now_ms() >= c->deadline_ms)
		return fail(c, rc, "%s: timed out (limit %d ms for the "
			    "exchange)", phase, c->total_ms);
	if (rc == -ETIMEDOUT)
		return fail(c, rc, "%s: timed out (no data for %d ms)", phase,
			    c->idle_ms);
	if (detail && *detail)
		return fail(c, rc, "%s: %s", phase, detail);
	return fail(c, rc, "%s: %s", phase, strerror(-rc));
}

static ssize_t raw_read(struct http_conn *c, void *buf, size_t len,
			const char *phase)
{
	char tlserr[HTTP_ERR_SIZE] = "";
	ssize_t n;

	if (c->use_tls) {
		c->tls.idle_ms = c->idle_ms;
		c->tls.deadline_ms = c->deadline_ms;
		n = tls_read(&c->tls, buf, len, tlserr, sizeof(tlserr));
	} else {
		n = sock_read(c->fd, buf, len,
			      sock_budget(c->idle_ms, c->deadline_ms));
	}
	if (n < 0)
		return io_fail(c, (int)n, phase, tlserr);
	return n;
}

static int raw_write(struct http_conn *c, const void *buf, size_t len)
{
	char tlserr[HTTP_ERR_SIZE] = "";
	const char *p = buf;
	ssize_t n;
	int rc;

	if (c->use_tls) {
		c->tls.idle_ms = c->idle_ms;
		c->tls.deadline_ms = c->deadline_ms;
		rc = tls_write(&c->tls, buf, len, tlserr, sizeof(tlserr));
		if (rc < 0)
			return io_fail(c, rc, "sending the request", tlserr);
		return 0;
	}
	while (len) {
		n = sock_write(c->fd, p, len,
			       sock_budget(c->idle_ms, c->deadline_ms));
		if (n < 0)
			return io_fail(c, (int)n, "sending the request", NULL);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put(struct http_conn *c, const void *data, size_t len)
{
	const char *p = data;
	size_t n;
	int rc;

	while (len) {
		if (c->wlen == sizeof(c->wbuf)) {
			rc = raw_write(c, c->wbuf, c->wlen);
			if (rc < 0)
				return rc;
			c->wlen = 0;
		}
		n = sizeof(c->wbuf) - c->wlen;
		if (n > len)
			n = len;
		memcpy(c->wbuf + c->wlen, p, n);
		c->wlen += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int put_str(struct http_conn *c, const char *s)
{
	return put(c, s, strlen(s));
}

static int flush(struct http_conn *c)
{
	char tlserr[HTTP_ERR_SIZE] = "";
	int rc;

	rc = raw_write(c, c->wbuf, c->wlen);
	c->wlen = 0;
	if (rc == 0 && c->use_tls) {
		rc = tls_flush(&c->tls, tlserr, sizeof(tlserr));
		if (rc < 0)
			return io_fail(c, rc, "sending the request", tlserr);
	}
	return rc;
}

static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int check_request(struct http_conn *c, const struct http_request *rq)
{
	const char *const *h;

	if (!rq->method || !*rq->method ||
	    strspn(rq->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
	    strlen(rq->method))
		return fail(c, -EINVAL, "bad method");
	if (!rq->target || rq->target[0] != '/' || has_ctl(rq->target) ||
	    strchr(rq->target, ' '))
		return fail(c, -EINVAL, "bad request target");
	for (h = rq->headers; h && *h; h++)
		if (has_ctl(*h) || !strchr(*h, ':') || **h == ':')
			return fail(c, -EINVAL, "bad request header");
	return 0;
}

static void host_header(const struct http_url *u, char *buf, size_t len)
{
	int v6 = strchr(u->host, ':') != NULL;
	int dflt = (u->scheme == HTTP_SCHEME_HTTP && u->port == 80) ||
		   (u->scheme == HTTP_SCHEME_HTTPS && u->port == 443) ||
		   u->scheme == HTTP_SCHEME_UNIX;

	if (dflt)
		snprintf(buf, len, "%s%s%s", v6 ? "[" : "", u->host,
			 v6 ? "]" : "");
	else
		snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", u->host,
			 v6 ? "]" : "", u->port);
}

static int send_request(struct http_conn *c, const struct http_endpoint *ep,
			const struct http_request *rq)
{
	const char *const *h;
	char line[600];
	int rc, need_len;

	c->sent = 1;
	need_len = rq->body || !strcmp(rq->method, "POST") ||
		   !strcmp(rq->method, "PUT") || !strcmp(rq->method, "PATCH");
	host_header(&ep->url, line, sizeof(line));
	rc = put_str(c, rq->method);
	rc = rc ? rc : put_str(c, " ");
	rc = rc ? rc : put_str(c, ep->url.path);
	rc = rc ? rc : put_str(c, rq->target);
	rc = rc ? rc : put_str(c, " HTTP/1.1\r\nHost: ");
	rc = rc ? rc : put_str(c, line);
	rc = rc ? rc : put_str(c, "\r\nUser-Agent: vpcnet/" VPCNET_VERSION
			       "\r\n");
	for (h = rq->headers; h && *h && !rc; h++) {
		rc = put_str(c, *h);
		rc = rc ? rc : put_str(c, "\r\n");
	}
	if (need_len && !rc) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n",
			 rq->body ? rq->body_len : 0);
		rc = put_str(c, line);
	}
	rc = rc ? rc : put_str(c, "\r\n");
	if (rq->body && !rc)
		rc = put(c, rq->body, rq->body_len);
	rc = rc ? rc : flush(c);
	c->requests++;
	return rc;
}

/* Read more bytes into rbuf: > 0, 0 at end of stream, or -errno. */
static ssize_t fill(struct http_conn *c, const char *phase)
{
	ssize_t n;

	if (c->rpos) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rlen == sizeof(c->rbuf))
		return fail(c, -EMSGSIZE, "%s: buffer full", phase);
	n = raw_read(c, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, phase);
	if (n > 0)
		c->rlen += (size_t)n;
	return n;
}

static void set_body_mode(struct http_conn *c)
{
	struct http_head *h = &c->resp;

	c->done = 0;
	if (c->is_head || h->status == 204 || h->status == 304) {
		c->mode = HTTP_BODY_NONE;
	} else if (h->chunked) {
		c->mode = HTTP_BODY_CHUNKED;
		http_chunked_init(&c->chunked);
	} else if (h->content_length >= 0) {
		c->mode = HTTP_BODY_LENGTH;
		c->left = (uint64_t)h->content_length;
	} else {
		c->mode = HTTP_BODY_CLOSE;
		h->close = 1;
	}
	if (c->mode == HTTP_BODY_NONE ||
	    (c->mode == HTTP_BODY_LENGTH && !c->left))
		c->done = 1;
	c->reusable = c->done && !h->close && c->rpos == c->rlen;
}

/* One head (1xx ones included); -ECONNRESET when nothing came at all. */
static int read_one_head(struct http_conn *c)
{
	const char *ph = "reading the response head";
	char why[256];
	ssize_t end, n;

	for (;;) {
		end = http_head_end(c->rbuf + c->rpos, c->rlen - c->rpos);
		if (end > 0)
			break;
		if (end < 0)
			return fail(c, -EMSGSIZE, "%s: larger than %d bytes",
				    ph, HTTP_MAX_HEAD);
		n = fill(c, ph);
		if (n < 0)
			return (int)n;
		if (n == 0 && c->rlen == 0)
			return fail(c, -ECONNRESET, "%s: connection closed "
				    "before any response", ph);
		if (n == 0)
			return fail(c, -EBADMSG, "%s: connection closed in "
				    "the middle of it", ph);
	}
	memcpy(c->head, c->rbuf + c->rpos, (size_t)end);
	c->rpos += (size_t)end;
	if (http_head_parse(c->head, (size_t)end, &c->resp, why,
			    sizeof(why)) < 0)
		return fail(c, -EBADMSG, "%s", why);
	return 0;
}

static int read_head(struct http_conn *c)
{
	int rc;

	do {
		rc = read_one_head(c);
		if (rc < 0)
			return rc;
		if (c->resp.status == 101)
			return fail(c, -EPROTO, "unexpected 101 Switching "
				    "Protocols");
	} while (c->resp.status < 200);
	set_body_mode(c);
	return 0;
}

static int conn_open(struct http_conn *c, const struct http_endpoint *ep)
{
	const struct http_url *u = &ep->url;
	const char *name = ep->tls_name[0] ? ep->tls_name : u->host;
	int ct = timeout_or(ep->connect_timeout_ms, HTTP_CONNECT_TIMEOUT_MS);
	char why[HTTP_ERR_SIZE];
	int fd, rc;

	if (u->scheme == HTTP_SCHEME_HTTPS && !ep->tls)
		return fail(c, -EINVAL, "https without a TLS configuration");
	if (u->scheme == HTTP_SCHEME_UNIX)
		fd = sock_connect_unix(u->sock, ct, why, sizeof(why));
	else
		fd = sock_connect_tcp(u->host, u->port, ct, why, sizeof(why));
	if (fd < 0)
		return fail(c, fd, "%s", why);
	c->fd = fd;
	c->use_tls = u->scheme == HTTP_SCHEME_HTTPS;
	c->peer = *u;
	snprintf(c->peer_name, sizeof(c->peer_name), "%s", name);
	c->peer_tls = ep->tls;
	c->requests = 0;
	if (c->use_tls) {
		c->tls.idle_ms = c->idle_ms;
		c->tls.deadline_ms = c->deadline_ms;
		rc = tls_connect(&c->tls, ep->tls, fd, name, c->tlsbuf,
				 sizeof(c->tlsbuf), why, sizeof(why));
		if (rc < 0) {
			c->use_tls = 0;
			http_conn_close(c);
			if (rc == -ETIMEDOUT)
				return io_fail(c, rc, "TLS handshake", NULL);
			return fail(c, rc, "%s", why);
		}
	}
	return 0;
}

static int can_reuse(const struct http_conn *c,
		     const struct http_endpoint *ep)
{
	const char *name = ep->tls_name[0] ? ep->tls_name : ep->url.host;

	return c->fd >= 0 && c->reusable && c->done &&
	       c->peer.scheme == ep->url.scheme &&
	       c->peer.port == ep->url.port &&
	       !strcmp(c->peer.host, ep->url.host) &&
	       !strcmp(c->peer.sock, ep->url.sock) &&
	       (!c->use_tls || (c->peer_tls == ep->tls &&
				!strcmp(c->peer_name, name)));
}

static int idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
	       !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

static void describe(struct http_conn *c, const struct http_endpoint *ep,
		     const struct http_request *rq)
{
	const struct http_url *u = &ep->url;
	size_t tlen = rq->target ? strcspn(rq->target, "?") : 0;
	char host[300];

	host_header(u, host, sizeof(host));
	if (u->scheme == HTTP_SCHEME_UNIX)
		msgf(c->what, sizeof(c->what), "%s unix:%s %s%.*s",
			 rq->method ? rq->method : "?", u->sock, u->path,
			 (int)tlen, rq->target ? rq->target : "");
	else
		msgf(c->what, sizeof(c->what), "%s %s://%s%s%.*s",
			 rq->method ? rq->method : "?",
			 u->scheme == HTTP_SCHEME_HTTPS ? "https" : "http",
			 host, u->path, (int)tlen,
			 rq->target ? rq->target : "");
}

static void set_timeouts(struct http_conn *c, const struct http_endpoint *ep)
{
	c->idle_ms = timeout_or(ep->io_timeout_ms, HTTP_IO_TIMEOUT_MS);
	c->total_ms = timeout_or(ep->total_timeout_ms, HTTP_TOTAL_TIMEOUT_MS);
	c->deadline_ms = c->total_ms > 0 ? sock_now_ms() + c->total_ms : 0;
}

int http_start(struct http_conn *c, const struct http_endpoint *ep,
	       const struct http_request *rq)
{
	int attempt, reused, rc;

	describe(c, ep, rq);
	c->err[0] = '\0';
	c->sent = 0;
	rc = check_request(c, rq);
	if (rc < 0)
		return rc;
	set_timeouts(c, ep);
	for (attempt = 0;; attempt++) {
		reused = can_reuse(c, ep);
		if (!reused) {
			http_conn_close(c);
			rc = conn_open(c, ep);
			if (rc < 0)
				return rc;
		}
		c->rpos = c->rlen = c->wlen = 0;
		c->done = 0;
		c->reusable = 0;
		c->is_head = !strcmp(rq->method, "HEAD");
		rc = send_request(c, ep, rq);
		if (rc == 0)
			rc = read_head(c);
		if (rc == 0)
			break;
		http_conn_close(c);
		if (!reused || attempt || !idempotent(rq->method) ||
		    (rc != -ECONNRESET && rc != -EPIPE))
			return rc;
	}
	if (rq->stream)
		c->deadline_ms = 0;
	return 0;
}

static void body_done(struct http_conn *c)
{
	c->done = 1;
	c->reusable = !c->resp.close && c->rpos == c->rlen;
	if (!c->reusable)
		http_conn_close(c);
}

static ssize_t read_length(struct http_conn *c, char *buf, size_t len)
{
	size_t n = c->rlen - c->rpos;
	ssize_t r;

	if (!n) {
		r = fill(c, "reading the body");
		if (r < 0)
			return r;
		if (r == 0)
			return fail(c, -EBADMSG, "reading the body: connection "
				    "closed with %llu of %lld bytes missing",
				    (unsigned long long)c->left,
				    (long long)c->resp.content_length);
		n = c->rlen - c->rpos;
	}
	if (n > len)
		n = len;
	if (n > c->left)
		n = (size_t)c->left;
	memcpy(buf, c->rbuf + c->rpos, n);
	c->rpos += n;
	c->left -= n;
	if (!c->left)
		body_done(c);
	return (ssize_t)n;
}

static ssize_t read_chunked(struct http_conn *c, char *buf, size_t len)
{
	size_t used, made;
	ssize_t r;
	int rc;

	for (;;) {
		if (c->rpos < c->rlen) {
			rc = http_chunked_decode(&c->chunked, c->rbuf + c->rpos,
						 c->rlen - c->rpos, &used, buf,
						 len, &made);
			c->rpos += used;
			if (rc < 0)
				return fail(c, rc, "chunked body: %s",
					    c->chunked.err);
			if (rc == 1)
				body_done(c);
			if (made || rc == 1)
				return (ssize_t)made;
		}
		r = fill(c, "reading the body");
		if (r < 0)
			return r;
		if (r == 0)
			return fail(c, -EBADMSG, "reading the body: connection "
				    "closed in the middle of the chunked "
				    "body");
	}
}

ssize_t http_read(struct http_conn *c, void *buf, size_t len)
{
	size_t n;
	ssize_t r;

	if (c->done || !len)
		return 0;
	switch (c->mode) {
	case HTTP_BODY_LENGTH:
		return read_length(c, buf, len);
	case HTTP_BODY_CHUNKED:
		return read_chunked(c, buf, len);
	case HTTP_BODY_CLOSE:
		if (c->rpos == c->rlen) {
			r = fill(c, "reading the body");
			if (r <= 0) {
				if (r == 0)
					body_done(c);
				return r;
			}
		}
		n = c->rlen - c->rpos < len ? c->rlen - c->rpos : len;
		memcpy(buf, c->rbuf + c->rpos, n);
		c->rpos += n;
		return (ssize_t)n;
	default:
		return 0;
	}
}

int http_read_line(struct http_conn *c, struct http_lines *lr, char **line,
		   size_t *len)
{
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(lr->buf + lr->off, '\n', lr->len - lr->off);
		if (nl || (lr->len > lr->off && c->done)) {
			if (!nl)
				nl = lr->buf + lr->len;
			*line = lr->buf + lr->off;
			*len = (size_t)(nl - *line);
			lr->off = nl - lr->buf + (nl < lr->buf + lr->len);
			if (*len && (*line)[*len - 1] == '\r')
				(*len)--;
			(*line)[*len] = '\0';
			return 1;
		}
		if (lr->off) {
			memmove(lr->buf, lr->buf + lr->off, lr->len - lr->off);
			lr->len -= lr->off;
			lr->off = 0;
		}
		if (c->done)
			return 0;
		if (lr->len + 1 >= lr->cap)
			return fail(c, -EMSGSIZE, "body line longer than %zu "
				    "bytes", lr->cap - 1);
		n = http_read(c, lr->buf + lr->len, lr->cap - 1 - lr->len);
		if (n < 0)
			return (int)n;
		lr->len += (size_t)n;
	}
}

int http_finish(struct http_conn *c)
{
	char tmp[4096];
	size_t total = 0;
	ssize_t n;

	if (c->fd < 0 || c->done)
		return 0;
	if (c->mode == HTTP_BODY_CLOSE || c->resp.close) {
		http_conn_close(c);
		return 0;
	}
	while ((n = http_read(c, tmp, sizeof(tmp))) > 0) {
		total += (size_t)n;
		if (total > (1 << 20)) {
			http_conn_close(c);
			return 0;
		}
	}
	if (n < 0)
		http_conn_close(c);
	return (int)n;
}

int http_do(struct http_conn *c, const struct http_endpoint *ep,
	    const struct http_request *rq, char *body, size_t cap,
	    size_t *len)
{
	struct http_request r = *rq;
	size_t got = 0;
	char probe[1];
	ssize_t n;
	int rc;

	*len = 0;
	if (!cap)
		return fail(c, -EINVAL, "no room for the body");
	r.stream = 0;
	rc = http_start(c, ep, &r);
	if (rc < 0)
		return rc;
	while ((n = http_read(c, body + got, cap - 1 - got)) > 0) {
		got += (size_t)n;
		if (got == cap - 1 && (n = http_read(c, probe, 1)) != 0)
			break;
	}
	if (n > 0) {
		http_conn_close(c);
		body[got] = '\0';
		return fail(c, -EMSGSIZE, "response body larger than %zu bytes",
			    cap - 1);
	}
	body[got] = '\0';
	*len = got;
	if (n < 0)
		http_conn_close(c);
	return (int)n;
}
