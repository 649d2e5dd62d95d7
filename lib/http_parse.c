/* HTTP/1.1 message parsing without I/O (see http_parse.h). */
#include "http_parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Field value octets: VCHAR, SP, HTAB, obs-text. */
static int is_vchar(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

ssize_t http_head_end(const char *buf, size_t len)
{
	size_t i, n = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;

	for (i = 3; i < n; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' &&
		    buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return (ssize_t)(i + 1);
	return len >= HTTP_MAX_HEAD ? -EMSGSIZE : 0;
}

static int bad(char *err, size_t errlen, const char *what, int line)
{
	if (line > 0)
		snprintf(err, errlen, "response head line %d: %s", line, what);
	else
		snprintf(err, errlen, "response head: %s", what);
	return -EBADMSG;
}

static int parse_status(char *s, struct http_head *h, char *err, size_t el)
{
	char *p = s;

	if (strncmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9')
		return bad(err, el, "not an HTTP/1.x status line", 1);
	h->minor = p[7] - '0';
	p += 8;
	if (*p++ != ' ')
		return bad(err, el, "no space after the HTTP version", 1);
	if (p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9')
		return bad(err, el, "status code is not 100..599", 1);
	h->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	p += 3;
	if (*p && *p != ' ')
		return bad(err, el, "status code is not 100..599", 1);
	h->reason = *p ? p + 1 : p;
	for (p = (char *)h->reason; *p; p++)
		if (!is_vchar((unsigned char)*p))
			return bad(err, el, "control character in reason", 1);
	return 0;
}

/* Split "Name: value" in place. */
static int parse_field(char *s, int line, struct http_head *h, char *err,
		       size_t el)
{
	char *p = s, *v, *end;

	if (*p == ' ' || *p == '\t')
		return bad(err, el, "obsolete line folding", line);
	while (is_tchar((unsigned char)*p))
		p++;
	if (p == s || *p != ':')
		return bad(err, el, "malformed header name", line);
	*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	v = p;
	for (end = p; *p; p++) {
		if (!is_vchar((unsigned char)*p))
			return bad(err, el, "control character in header",
				   line);
		if (*p != ' ' && *p != '\t')
			end = p + 1;
	}
	*end = '\0';
	if (h->nhdr >= HTTP_MAX_HEADERS)
		return bad(err, el, "too many header fields", line);
	h->hdr[h->nhdr].name = s;
	h->hdr[h->nhdr].value = v;
	h->nhdr++;
	return 0;
}

/* Does a comma-separated header value contain token tok? */
static int list_has(const char *v, const char *tok)
{
	size_t n = strlen(tok), k;

	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		k = strcspn(v, ", \t");
		if (k == n && !strncasecmp(v, tok, n))
			return 1;
		v += k;
	}
	return 0;
}

static int parse_length(const char *v, int64_t *out)
{
	int64_t n = 0;
	const char *p;

	if (!*v)
		return -1;
	for (p = v; *p; p++) {
		if (*p < '0' || *p > '9' || p - v >= 18)
			return -1;
		n = n * 10 + (*p - '0');
	}
	*out = n;
	return 0;
}

/* Content-Length, Transfer-Encoding and Connection. */
static int derive(struct http_head *h, char *err, size_t el)
{
	int64_t n;
	size_t i;
	int te = 0;

	h->content_length = -1;
	h->close = h->minor == 0;
	for (i = 0; i < h->nhdr; i++) {
		const char *name = h->hdr[i].name, *v = h->hdr[i].value;

		if (!strcasecmp(name, "Content-Length")) {
			if (parse_length(v, &n) < 0)
				return bad(err, el, "bad Content-Length", 0);
			if (h->content_length >= 0 && h->content_length != n)
				return bad(err, el,
					   "conflicting Content-Length", 0);
			h->content_length = n;
		} else if (!strcasecmp(name, "Transfer-Encoding")) {
			if (te++ || strcasecmp(v, "chunked"))
				return bad(err, el, "unsupported "
					   "Transfer-Encoding", 0);
			h->chunked = 1;
		} else if (!strcasecmp(name, "Connection")) {
			if (list_has(v, "close"))
				h->close = 1;
			else if (h->minor == 0 && list_has(v, "keep-alive"))
				h->close = 0;
		}
	}
	if (h->chunked && h->content_length >= 0) {
		/* RFC 9112 6.3: chunked wins, and the connection is done */
		h->content_length = -1;
		h->close = 1;
	}
	return 0;
}

int http_head_parse(char *buf, size_t len, struct http_head *h, char *err,
		    size_t errlen)
{
	char *line = buf, *end = buf + len, *eol;
	int n = 0, rc;

	memset(h, 0, sizeof(*h));
	if (len < 4 || memcmp(end - 4, "\r\n\r\n", 4))
		return bad(err, errlen, "not terminated by an empty line", 0);
	while (line < end - 2) {
		n++;
		eol = memchr(line, '\r', (size_t)(end - line));
		if (!eol || eol[1] != '\n')
			return bad(err, errlen, "bare CR in line", n);
		if (memchr(line, '\n', (size_t)(eol - line)))
			return bad(err, errlen, "line not ended by CRLF", n);
		if (memchr(line, '\0', (size_t)(eol - line)))
			return bad(err, errlen, "NUL byte", n);
		if (eol - line > HTTP_MAX_LINE)
			return bad(err, errlen, "line too long", n);
		*eol = '\0';
		rc = n == 1 ? parse_status(line, h, err, errlen)
			    : parse_field(line, n, h, err, errlen);
		if (rc < 0)
			return rc;
		line = eol + 2;
	}
	return derive(h, err, errlen);
}

const char *http_head_get(const struct http_head *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nhdr; i++)
		if (!strcasecmp(h->hdr[i].name, name))
			return h->hdr[i].value;
	return NULL;
}

void http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = HTTP_CH_SIZE0;
}

static int ch_fail(struct http_chunked *c, const char *why)
{
	c->state = HTTP_CH_ERROR;
	c->err = why;
	return -EBADMSG;
}

/* One byte of a chunk-size line: size, whitespace, extensions, CRLF. */
static int ch_size_byte(struct http_chunked *c, unsigned char ch)
{
	int v = hexval(ch);

	if (++c->line > HTTP_MAX_CHUNK_LINE)
		return ch_fail(c, "chunk size line too long");
	switch (c->state) {
	case HTTP_CH_SIZE0:
		if (v < 0)
			return ch_fail(c, "chunk size is not hexadecimal");
		c->left = (uint64_t)v;
		c->state = HTTP_CH_SIZE;
		return 0;
	case HTTP_CH_SIZE:
		if (v >= 0) {
			if (c->left >> 59)
				return ch_fail(c, "chunk size too large");
			c->left = c->left << 4 | (uint64_t)v;
			return 0;
		}
		if (ch == ' ' || ch == '\t') {
			c->state = HTTP_CH_SIZE_WS;
			return 0;
		}
		/* fallthrough */
	case HTTP_CH_SIZE_WS:
		if (ch == ' ' || ch == '\t')
			return 0;
		if (ch == ';')
			c->state = HTTP_CH_EXT;
		else if (ch == '\r')
			c->state = HTTP_CH_SIZE_LF;
		else
			return ch_fail(c, "bad character after chunk size");
		return 0;
	default:	/* HTTP_CH_EXT */
		if (ch == '\r')
			c->state = HTTP_CH_SIZE_LF;
		else if (!is_vchar(ch))
			return ch_fail(c, "control character in chunk "
				       "extension");
		return 0;
	}
}

/* One byte of a trailer section. */
static int ch_trailer_byte(struct http_chunked *c, unsigned char ch)
{
	if (++c->trailers > HTTP_MAX_TRAILERS)
		return ch_fail(c, "trailers too large");
	if (++c->line > HTTP_MAX_LINE)
		return ch_fail(c, "trailer line too long");
	switch (c->state) {
	case HTTP_CH_TRAILER0:
		if (ch == '\r') {
			c->state = HTTP_CH_END_LF;
			return 0;
		}
		if (!is_tchar(ch))
			return ch_fail(c, "malformed trailer name");
		c->state = HTTP_CH_TRAILER_NAME;
		return 0;
	case HTTP_CH_TRAILER_NAME:
		if (ch == ':')
			c->state = HTTP_CH_TRAILER_VALUE;
		else if (!is_tchar(ch))
			return ch_fail(c, "malformed trailer name");
		return 0;
	default:	/* HTTP_CH_TRAILER_VALUE */
		if (ch == '\r')
			c->state = HTTP_CH_TRAILER_LF;
		else if (!is_vchar(ch))
			return ch_fail(c, "control character in trailer");
		return 0;
	}
}

/* CR LF expectations between the parts. */
static int ch_lf_byte(struct http_chunked *c, unsigned char ch)
{
	switch (c->state) {
	case HTTP_CH_SIZE_LF:
		if (ch != '\n')
			return ch_fail(c, "chunk size line not ended by CRLF");
		c->line = 0;
		c->state = c->left ? HTTP_CH_DATA : HTTP_CH_TRAILER0;
		return 0;
	case HTTP_CH_DATA_CR:
		if (ch != '\r')
			return ch_fail(c, "chunk data not followed by CRLF");
		c->state = HTTP_CH_DATA_LF;
		return 0;
	case HTTP_CH_DATA_LF:
		if (ch != '\n')
			return ch_fail(c, "chunk data not followed by CRLF");
		c->state = HTTP_CH_SIZE0;
		return 0;
	case HTTP_CH_TRAILER_LF:
		if (ch != '\n')
			return ch_fail(c, "trailer line not ended by CRLF");
		c->line = 0;
		c->state = HTTP_CH_TRAILER0;
		return 0;
	default:	/* HTTP_CH_END_LF */
		if (ch != '\n')
			return ch_fail(c, "last chunk not ended by CRLF");
		c->state = HTTP_CH_DONE;
		return 0;
	}
}

int http_chunked_decode(struct http_chunked *c, const char *in, size_t inlen,
			size_t *used, char *out, size_t outlen, size_t *made)
{
	size_t i = 0, o = 0, n;
	int rc = 0;

	while (i < inlen && rc == 0) {
		switch (c->state) {
		case HTTP_CH_DATA:
			n = inlen - i;
			if (n > outlen - o)
				n = outlen - o;
			if (n > c->left)
				n = (size_t)c->left;
			if (n == 0)
				goto out;
			memcpy(out + o, in + i, n);
			i += n;
			o += n;
			c->left -= n;
			if (!c->left)
				c->state = HTTP_CH_DATA_CR;
			continue;
		case HTTP_CH_SIZE0: case HTTP_CH_SIZE: case HTTP_CH_SIZE_WS:
		case HTTP_CH_EXT:
			rc = ch_size_byte(c, (unsigned char)in[i]);
			break;
		case HTTP_CH_TRAILER0: case HTTP_CH_TRAILER_NAME:
		case HTTP_CH_TRAILER_VALUE:
			rc = ch_trailer_byte(c, (unsigned char)in[i]);
			break;
		case HTTP_CH_DONE:
			goto out;
		case HTTP_CH_ERROR:
			rc = -EBADMSG;
			continue;
		default:
			rc = ch_lf_byte(c, (unsigned char)in[i]);
			break;
		}
		i++;
	}
out:
	*used = i;
	*made = o;
	if (rc < 0)
		return rc;
	return c->state == HTTP_CH_DONE;
}

static int url_host(const char **pp, struct http_url *u)
{
	const char *p = *pp, *e;
	size_t n;

	if (*p == '[') {
		e = strchr(p, ']');
		if (!e)
			return -EINVAL;
		n = (size_t)(e - p - 1);
		if (!n || strspn(p + 1, "0123456789abcdefABCDEF:.%") != n)
			return -EINVAL;
		p++;
		*pp = e + 1;
	} else {
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
		*pp = p + n;
	}
	if (!n || n >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, p, n);
	u->host[n] = '\0';
	return 0;
}

static int url_rest(const char *p, const char *url, struct http_url *u,
		    char *err, size_t el)
{
	unsigned long port = 0;
	size_t n;

	if (*p == ':') {
		p++;
		while (*p >= '0' && *p <= '9' && port <= 65535)
			port = port * 10 + (unsigned long)(*p++ - '0');
		if (port == 0 || port > 65535) {
			snprintf(err, el, "URL %s: bad port", url);
			return -EINVAL;
		}
		u->port = (unsigned short)port;
	}
	if (*p && *p != '/') {
		snprintf(err, el, "URL %s: unexpected '%c'", url, *p);
		return -EINVAL;
	}
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (n >= sizeof(u->path) || strcspn(p, "?#@ \t\r\n") < strlen(p)) {
		snprintf(err, el, "URL %s: bad path", url);
		return -EINVAL;
	}
	memcpy(u->path, p, n);
	u->path[n] = '\0';
	return 0;
}

int http_url_parse(const char *url, struct http_url *u, char *err,
		   size_t errlen)
{
	const char *p;
	int rc;

	memset(u, 0, sizeof(*u));
	if (!strncmp(url, "unix:", 5)) {
		p = url + 5;
		if (!strncmp(p, "//", 2))
			p += 2;
		u->scheme = HTTP_SCHEME_UNIX;
		if (*p != '/' || strlen(p) >= sizeof(u->sock)) {
			snprintf(err, errlen, "URL %s: bad socket path", url);
			return -EINVAL;
		}
		strcpy(u->sock, p);
		strcpy(u->host, "localhost");
		return 0;
	}
	if (!strncasecmp(url, "http://", 7)) {
		u->scheme = HTTP_SCHEME_HTTP;
		u->port = 80;
		p = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		u->scheme = HTTP_SCHEME_HTTPS;
		u->port = 443;
		p = url + 8;
	} else {
		snprintf(err, errlen, "URL %s: scheme is not http, https or "
			 "unix", url);
		return -EINVAL;
	}
	rc = url_host(&p, u);
	if (rc < 0) {
		snprintf(err, errlen, "URL %s: bad host", url);
		return rc;
	}
	return url_rest(p, url, u, err, errlen);
}

size_t http_pct_encode(const char *in, size_t inlen, char *out, size_t cap,
		       const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;
	unsigned char ch;

	for (i = 0; i < inlen; i++) {
		ch = (unsigned char)in[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || (ch && strchr("-._~", ch)) ||
		    (keep && ch && strchr(keep, ch))) {
			if (o + 1 < cap)
				out[o] = (char)ch;
			o++;
			continue;
		}
		if (o + 3 < cap) {
			out[o] = '%';
			out[o + 1] = hex[ch >> 4];
			out[o + 2] = hex[ch & 15];
		} else if (o < cap) {
			cap = o + 1;	/* no partial escape */
		}
		o += 3;
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}
