/* HTTP/1.1 client over TCP, TLS (lib/tls) or a unix socket.
 *
 *	struct http_endpoint ep;	// where and how: URL, TLS, timeouts
 *	static struct http_conn c;	// ~96 KiB: static or heap, reusable
 *	http_endpoint_init(&ep, "https://10.0.0.1:6443", &tlscfg, err, n);
 *	http_conn_init(&c);
 *	rc = http_do(&c, &ep, &(struct http_request){ .method = "GET",
 *		     .target = "/api/v1/pods?limit=500" }, body, cap, &len);
 *	// rc < 0: c.err says what failed; else c.resp.status, body[0..len)
 *	http_conn_close(&c);
 *
 * http_do() reads a whole response into a caller buffer under one deadline.
 * For long responses (watches) use http_start() then http_read() or
 * http_read_line() chunk by chunk, with only the idle timeout applying
 * (set .stream in the request).  The connection is kept alive and reused by
 * the next request to the same endpoint once a response was read to its
 * end; a request on a reused connection that the server had already closed
 * is retried once on a fresh one when its method is idempotent.
 * Errors: -errno, and c->err holds one line naming the request (without its
 * query string, which may carry credentials) and the reason. */
#ifndef VPCNET_HTTP_H
#define VPCNET_HTTP_H

#include "http_parse.h"
#include "tls.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_CONNECT_TIMEOUT_MS	10000
#define HTTP_IO_TIMEOUT_MS	30000
#define HTTP_TOTAL_TIMEOUT_MS	60000
#define HTTP_WBUF_SIZE		4096
#define HTTP_ERR_SIZE		512

struct http_endpoint {
	struct http_url url;
	char tls_name[256];	/* certificate name; "": the host */
	const struct tls_config *tls;	/* required for https */
	int connect_timeout_ms;	/* 0: default, < 0: none */
	int io_timeout_ms;	/* longest wait for one read or write */
	int total_timeout_ms;	/* all of http_do(), or a stream's head */
};

/* Parse url (see http_url_parse) and set default timeouts. */
int http_endpoint_init(struct http_endpoint *ep, const char *url,
		       const struct tls_config *tls, char *err, size_t errlen);

struct http_request {
	const char *method;		/* "GET", "PUT", ... */
	const char *target;		/* "/path?query", after url.path */
	const char *const *headers;	/* "Name: value", NULL-terminated */
	const void *body;		/* sent with Content-Length */
	size_t body_len;
	int stream;			/* body: idle timeout only */
};

enum http_body_mode {
	HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE,
};

struct http_conn {
	int fd;				/* -1: not connected */
	int use_tls;
	struct http_url peer;		/* what fd is connected to */
	char peer_name[256];
	const struct tls_config *peer_tls;
	unsigned requests;		/* requests sent on this connection */
	int sent;			/* last request was (partly) sent */
	int idle_ms, total_ms;
	int64_t deadline_ms;
	struct tls_conn tls;
	unsigned char tlsbuf[TLS_IOBUF_SIZE];
	char rbuf[HTTP_MAX_HEAD];
	size_t rpos, rlen;
	char wbuf[HTTP_WBUF_SIZE];
	size_t wlen;
	char head[HTTP_MAX_HEAD];
	struct http_head resp;		/* valid until the next request */
	enum http_body_mode mode;
	uint64_t left;			/* LENGTH: bytes to come */
	struct http_chunked chunked;
	int done;			/* body read to its end */
	int reusable;
	int is_head;
	char what[600];			/* "GET https://host/path" */
	char err[HTTP_ERR_SIZE];
};

void http_conn_init(struct http_conn *c);
void http_conn_close(struct http_conn *c);

/* Send a request and read the response head into c->resp. */
int http_start(struct http_conn *c, const struct http_endpoint *ep,
	       const struct http_request *rq);

/* Up to len bytes of the response body: > 0, 0 at its end, or -errno
 * (a connection closed before the announced length is an error). */
ssize_t http_read(struct http_conn *c, void *buf, size_t len);

/* Line reader over a caller buffer that survives between calls. */
struct http_lines {
	char *buf;
	size_t cap;
	size_t len, off;	/* zero them before the first call */
};

/* Next line of the body, without its "\n" or "\r\n", NUL-terminated and
 * valid until the next call: 1 with *line and *len set, 0 at the end of
 * the body (a last line without "\n" is returned first), -EMSGSIZE when a
 * line does not fit in cap - 1 bytes, or -errno. */
int http_read_line(struct http_conn *c, struct http_lines *lr, char **line,
		   size_t *len);

/* Discard the rest of the body so the connection can be reused (closes
 * it when that would take more than 1 MiB or the server asked to). */
int http_finish(struct http_conn *c);

/* Whole exchange: body gets at most cap - 1 bytes and a NUL; *len its
 * length.  -EMSGSIZE when the body does not fit (the connection is closed).
 * Any status is success here: look at c->resp.status. */
int http_do(struct http_conn *c, const struct http_endpoint *ep,
	    const struct http_request *rq, char *body, size_t cap,
	    size_t *len);

#endif
