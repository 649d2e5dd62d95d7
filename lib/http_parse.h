/* HTTP/1.1 message parsing without I/O: response heads, the chunked
 * transfer coding (an incremental state machine), URLs and percent-encoding.
 * Strict: CRLF line ends only, no obsolete line folding, bounded line and
 * head sizes, one consistent Content-Length, Transfer-Encoding "chunked"
 * only.  Used by http.c and fuzzed by test/fuzz/http_*_fuzz.c. */
#ifndef VPCNET_HTTP_PARSE_H
#define VPCNET_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_MAX_LINE		8192	/* status or header line */
#define HTTP_MAX_HEAD		16384	/* status, headers, CRLF */
#define HTTP_MAX_HEADERS	100
#define HTTP_MAX_CHUNK_LINE	4096	/* chunk size + extensions */
#define HTTP_MAX_TRAILERS	HTTP_MAX_HEAD

struct http_header {
	const char *name;
	const char *value;	/* without surrounding whitespace */
};

struct http_head {
	int status;		/* 100..599 */
	int minor;		/* HTTP/1.<minor> */
	const char *reason;
	size_t nhdr;
	struct http_header hdr[HTTP_MAX_HEADERS];
	int64_t content_length;	/* -1 when absent */
	int chunked;		/* Transfer-Encoding: chunked */
	int close;		/* connection cannot be reused afterwards */
};

/* Size of the head at the start of buf (through the empty line), 0 when
 * not complete yet, -EMSGSIZE when HTTP_MAX_HEAD bytes hold no end. */
ssize_t http_head_end(const char *buf, size_t len);

/* Parse a complete head of len bytes (as measured by http_head_end) in
 * place: the strings in h point into buf.  0, or -EBADMSG with err set. */
int http_head_parse(char *buf, size_t len, struct http_head *h, char *err,
		    size_t errlen);

/* First value of a header (case-insensitive name), or NULL. */
const char *http_head_get(const struct http_head *h, const char *name);

enum http_chunked_state {
	HTTP_CH_SIZE0, HTTP_CH_SIZE, HTTP_CH_SIZE_WS, HTTP_CH_EXT,
	HTTP_CH_SIZE_LF, HTTP_CH_DATA, HTTP_CH_DATA_CR, HTTP_CH_DATA_LF,
	HTTP_CH_TRAILER0, HTTP_CH_TRAILER_NAME, HTTP_CH_TRAILER_VALUE,
	HTTP_CH_TRAILER_LF, HTTP_CH_END_LF, HTTP_CH_DONE, HTTP_CH_ERROR,
};

struct http_chunked {
	enum http_chunked_state state;
	uint64_t left;		/* bytes left in the current chunk */
	size_t line;		/* current size/trailer line length */
	size_t trailers;	/* total trailer bytes */
	const char *err;	/* why the input was rejected */
};

void http_chunked_init(struct http_chunked *c);

/* Decode in[0..inlen) into out[0..outlen): *used input bytes consumed,
 * *made output bytes produced.  Returns 1 once the last chunk and the
 * trailers are complete (nothing after them is consumed), 0 when it needs
 * more input or output room, -EBADMSG on malformed input (c->err). */
int http_chunked_decode(struct http_chunked *c, const char *in, size_t inlen,
			size_t *used, char *out, size_t outlen, size_t *made);

enum http_scheme { HTTP_SCHEME_HTTP, HTTP_SCHEME_HTTPS, HTTP_SCHEME_UNIX };

struct http_url {
	enum http_scheme scheme;
	char host[256];		/* name or IP literal, no brackets */
	unsigned short port;
	char path[512];		/* prefix: "" or "/a/b" (no final /) */
	char sock[108];		/* unix socket path */
};

/* http://host[:port][/path], https://..., unix:/path or unix:///path. */
int http_url_parse(const char *url, struct http_url *u, char *err,
		   size_t errlen);

/* RFC 3986 percent-encoding: every byte except ALPHA / DIGIT / "-._~" and
 * the bytes in keep (may be NULL) becomes %XX (upper-case hex).  Writes at
 * most cap bytes including a NUL; returns the full encoded length (like
 * snprintf), so a result >= cap means it did not fit. */
size_t http_pct_encode(const char *in, size_t inlen, char *out, size_t cap,
		       const char *keep);

#endif
