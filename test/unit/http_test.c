/* lib/http_parse + lib/http: the pure parsers, then the client against small
 * servers forked on 127.0.0.1 (canned, echoing, truncating, dribbling). */
#include "http.h"
#include "sock.h"
#include "test.h"
#include "test_server.h"

#include <errno.h>
#include <unistd.h>

static char err[512];

/* --- response heads --------------------------------------------------- */

static int parse(const char *s, struct http_head *h)
{
	static char buf[HTTP_MAX_HEAD + 64];
	size_t n = strlen(s);

	memcpy(buf, s, n + 1);
	err[0] = '\0';
	return http_head_parse(buf, n, h, err, sizeof(err));
}

static void test_head_ok(void)
{
	struct http_head h;

	CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"
			"X-A:  spaced value \t\r\nx-empty:\r\n\r\n", &h), 0);
	CHECK_INT(h.status, 200);
	CHECK_INT(h.minor, 1);
	CHECK_STR(h.reason, "OK");
	CHECK_INT(h.nhdr, 3);
	CHECK_INT(h.content_length, 12);
	CHECK_INT(h.close, 0);
	CHECK_STR(http_head_get(&h, "x-a"), "spaced value");
	CHECK_STR(http_head_get(&h, "X-EMPTY"), "");
	CHECK(http_head_get(&h, "nope") == NULL);

	CHECK_INT(parse("HTTP/1.1 404 \r\nTransfer-Encoding: Chunked\r\n"
			"Connection: Keep-Alive, close\r\n\r\n", &h), 0);
	CHECK_INT(h.status, 404);
	CHECK_STR(h.reason, "");
	CHECK_INT(h.chunked, 1);
	CHECK_INT(h.content_length, -1);
	CHECK_INT(h.close, 1);

	CHECK_INT(parse("HTTP/1.0 200\r\n\r\n", &h), 0);
	CHECK_INT(h.close, 1);
	CHECK_INT(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
			&h), 0);
	CHECK_INT(h.close, 0);
	/* the same length twice is fine; chunked beats a length */
	CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
			"Content-Length: 5\r\n\r\n", &h), 0);
	CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
			"Transfer-Encoding: chunked\r\n\r\n", &h), 0);
	CHECK_INT(h.content_length, -1);
	CHECK_INT(h.close, 1);
}

static void bad_head(const char *s, const char *why)
{
	struct http_head h;

	CHECK_INT(parse(s, &h), -EBADMSG);
	if (!strstr(err, why)) {
		fprintf(stderr, "want \"%s\" in \"%s\"\n", why, err);
		test_failed_checks++;
	}
}

static void test_head_strict(void)
{
	static char big[HTTP_MAX_HEAD + 64];
	int i;

	bad_head("HTTP/2 200 OK\r\n\r\n", "not an HTTP/1.x");
	bad_head("ICY 200 OK\r\n\r\n", "not an HTTP/1.x");
	bad_head("HTTP/1.1 99 OK\r\n\r\n", "status code");
	bad_head("HTTP/1.1 600 OK\r\n\r\n", "status code");
	bad_head("HTTP/1.1 2000 OK\r\n\r\n", "status code");
	bad_head("HTTP/1.1 200 OK\nA: b\r\n\r\n", "not ended by CRLF");
	bad_head("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "bare CR");
	bad_head("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
		 "obsolete line folding");
	bad_head("HTTP/1.1 200 OK\r\nA : b\r\n\r\n", "header name");
	bad_head("HTTP/1.1 200 OK\r\n: b\r\n\r\n", "header name");
	bad_head("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "header name");
	bad_head("HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n", "control character");
	bad_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
		 "Content-Length: 6\r\n\r\n", "conflicting Content-Length");
	bad_head("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
		 "bad Content-Length");
	bad_head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		 "bad Content-Length");
	bad_head("HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n"
		 "\r\n", "bad Content-Length");
	bad_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		 "unsupported Transfer-Encoding");
	bad_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
		 "unsupported Transfer-Encoding");
	bad_head("HTTP/1.1 200 OK\r\n\r\nX", "not terminated");

	/* a header line over HTTP_MAX_LINE */
	strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + strlen(big), 'a', HTTP_MAX_LINE);
	strcpy(big + 20 + HTTP_MAX_LINE, "\r\n\r\n");
	bad_head(big, "line too long");

	/* more than HTTP_MAX_HEADERS fields */
	strcpy(big, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i <= HTTP_MAX_HEADERS; i++)
		strcat(big, "A: b\r\n");
	strcat(big, "\r\n");
	bad_head(big, "too many header fields");
}

static void test_head_end(void)
{
	static char big[HTTP_MAX_HEAD + 10];
	const char *s = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";

	CHECK_INT(http_head_end(s, strlen(s)), (long)strlen(s) - 4);
	CHECK_INT(http_head_end(s, 20), 0);
	CHECK_INT(http_head_end("\r\n\r", 3), 0);
	memset(big, 'a', sizeof(big));
	CHECK_INT(http_head_end(big, sizeof(big)), -EMSGSIZE);
	CHECK_INT(http_head_end(big, HTTP_MAX_HEAD - 1), 0);
}

/* --- chunked decoder -------------------------------------------------- */

/* Decode s fed step bytes at a time into an output buffer of outcap. */
static int unchunk(const char *s, size_t len, size_t step, size_t outcap,
		   char *out, size_t *outlen, const char **why)
{
	struct http_chunked c;
	size_t i = 0, used, made, n;
	int rc = 0;

	http_chunked_init(&c);
	*outlen = 0;
	while (i < len && rc == 0) {
		n = len - i < step ? len - i : step;
		rc = http_chunked_decode(&c, s + i, n, &used, out + *outlen,
					 outcap, &made);
		i += used;
		*outlen += made;
		if (rc == 0 && !used && !made)
			break;
	}
	out[*outlen] = '\0';
	*why = c.err;
	if (rc == 1 && i != len)
		return 2;	/* finished before the end of the input */
	return rc;
}

static void chunk_ok(const char *in, const char *want)
{
	char out[256];
	size_t n, steps[] = { 1, 2, 3, 7, 1000 }, k, cap;
	const char *why;

	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
		for (cap = 1; cap <= 64; cap *= 4) {
			int rc = unchunk(in, strlen(in), steps[k], cap, out,
					 &n, &why);
			if (rc != 1 || strcmp(out, want)) {
				fprintf(stderr, "unchunk step %zu cap %zu: "
					"rc %d out \"%s\" (%s)\n", steps[k],
					cap, rc, out, why ? why : "");
				test_failed_checks++;
			}
		}
}

static void chunk_bad(const char *in, const char *want)
{
	char out[256];
	const char *why;
	size_t n;

	CHECK_INT(unchunk(in, strlen(in), 1000, 200, out, &n, &why), -EBADMSG);
	if (!why || !strstr(why, want)) {
		fprintf(stderr, "chunk_bad(%s): want \"%s\", got \"%s\"\n",
			in, want, why ? why : "(null)");
		test_failed_checks++;
	}
}

static void test_chunked(void)
{
	static char longext[HTTP_MAX_CHUNK_LINE + 20];
	char out[64];
	const char *why;
	size_t n;

	chunk_ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
	chunk_ok("0\r\n\r\n", "");
	chunk_ok("A\r\n0123456789\r\n0\r\n\r\n", "0123456789");
	chunk_ok("a\r\n0123456789\r\n00000\r\n\r\n", "0123456789");
	chunk_ok("000000000000000000003\r\nabc\r\n0\r\n\r\n", "abc");
	chunk_ok("3;name=value;x=\"q s\"\r\nabc\r\n0;last\r\n\r\n", "abc");
	chunk_ok("3 \t;ext\r\nabc\r\n0 \r\n\r\n", "abc");
	chunk_ok("3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", "abc");
	chunk_ok("1\r\n\n\r\n1\r\n\r\r\n0\r\n\r\n", "\n\r");

	chunk_bad("g\r\n", "not hexadecimal");
	chunk_bad("\r\n", "not hexadecimal");
	chunk_bad(" 5\r\n", "not hexadecimal");
	chunk_bad("-5\r\n", "not hexadecimal");
	chunk_bad("0x5\r\nhello\r\n", "after chunk size");
	chunk_bad("5x\r\n", "after chunk size");
	chunk_bad("5 5\r\n", "after chunk size");
	chunk_bad("5\nhello\r\n", "after chunk size");
	chunk_bad("5\r\rhello\r\n", "not ended by CRLF");
	chunk_bad("5\r\nhelloX\r\n", "not followed by CRLF");
	chunk_bad("5\r\nhello\rX", "not followed by CRLF");
	chunk_bad("5\r\nhello\n0\r\n\r\n", "not followed by CRLF");
	chunk_bad("3;a\x01\r\nabc\r\n", "control character");
	chunk_bad("10000000000000000\r\n", "too large");
	chunk_bad("FFFFFFFFFFFFFFFFFFFF\r\n", "too large");
	chunk_bad("0\r\nNoColon\r\n\r\n", "trailer name");
	chunk_bad("0\r\n: x\r\n\r\n", "trailer name");
	chunk_bad("0\r\nA: b\rc\r\n\r\n", "not ended by CRLF");
	chunk_bad("0\r\nA: \x02\r\n\r\n", "control character");
	chunk_bad("0\r\n\rX", "last chunk");
	memset(longext, 'e', sizeof(longext) - 1);
	memcpy(longext, "1;", 2);
	chunk_bad(longext, "chunk size line too long");

	/* huge but representable: accepted, the data just never ends */
	CHECK_INT(unchunk("7fffffffffffffff\r\nabc", 21, 5, 60, out, &n, &why),
		  0);
	CHECK_STR(out, "abc");
	/* nothing after the final CRLF is consumed */
	CHECK_INT(unchunk("0\r\n\r\nHTTP/1.1", 13, 100, 60, out, &n, &why),
		  2);
}

static void test_chunked_sticky_error(void)
{
	struct http_chunked c;
	size_t used, made;
	char out[8];

	http_chunked_init(&c);
	CHECK_INT(http_chunked_decode(&c, "z", 1, &used, out, 8, &made),
		  -EBADMSG);
	CHECK_INT(http_chunked_decode(&c, "0\r\n\r\n", 5, &used, out, 8,
				      &made), -EBADMSG);
	CHECK_INT(used, 0);
}

/* --- URLs and percent-encoding ----------------------------------------- */

static void test_url(void)
{
	struct http_url u;

	CHECK_INT(http_url_parse("https://ecs.cn-hangzhou.aliyuncs.com", &u,
				 err, sizeof(err)), 0);
	CHECK_INT(u.scheme, HTTP_SCHEME_HTTPS);
	CHECK_STR(u.host, "ecs.cn-hangzhou.aliyuncs.com");
	CHECK_INT(u.port, 443);
	CHECK_STR(u.path, "");
	CHECK_INT(http_url_parse("http://100.100.100.200/", &u, err,
				 sizeof(err)), 0);
	CHECK_INT(u.port, 80);
	CHECK_STR(u.path, "");
	CHECK_INT(http_url_parse("https://[fd00::1]:6443/k8s/", &u, err,
				 sizeof(err)), 0);
	CHECK_STR(u.host, "fd00::1");
	CHECK_INT(u.port, 6443);
	CHECK_STR(u.path, "/k8s");
	CHECK_INT(http_url_parse("unix:///run/vpcnet/eni-agent.sock", &u, err,
				 sizeof(err)), 0);
	CHECK_INT(u.scheme, HTTP_SCHEME_UNIX);
	CHECK_STR(u.sock, "/run/vpcnet/eni-agent.sock");
	CHECK_INT(http_url_parse("unix:/tmp/x.sock", &u, err, sizeof(err)), 0);
	CHECK_STR(u.sock, "/tmp/x.sock");

	CHECK_INT(http_url_parse("ftp://x", &u, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "scheme") != NULL);
	CHECK_INT(http_url_parse("http://x:0", &u, err, sizeof(err)), -EINVAL);
	CHECK_INT(http_url_parse("http://x:65536", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(http_url_parse("http://x:80a", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(http_url_parse("http://user@x/", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(http_url_parse("http://x/?q=1", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(http_url_parse("http:///path", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(http_url_parse("https://[fd00::1/", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(http_url_parse("unix:relative", &u, err, sizeof(err)),
		  -EINVAL);
}

static void test_pct(void)
{
	char out[64];
	const char *in = "a b*c~d/e+f=g&h%\xe4";

	CHECK_INT(http_pct_encode(in, strlen(in), out, sizeof(out), NULL), 33);
	CHECK_STR(out, "a%20b%2Ac~d%2Fe%2Bf%3Dg%26h%25%E4");
	CHECK_INT(http_pct_encode("a/b", 3, out, sizeof(out), "/"), 3);
	CHECK_STR(out, "a/b");
	/* truncation never leaves half an escape */
	CHECK_INT(http_pct_encode("ab/c", 4, out, 4, NULL), 6);
	CHECK_STR(out, "ab");
	CHECK_INT(http_pct_encode("abc", 3, out, 3, NULL), 3);
	CHECK_STR(out, "ab");
}

/* --- against forked servers ------------------------------------------ */

static struct http_conn conn;
static char body[65536];

static void endpoint(struct http_endpoint *ep, const struct tsrv *s)
{
	char url[200];

	if (s->sock[0])
		snprintf(url, sizeof(url), "unix:%s", s->sock);
	else
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	CHECK_INT(http_endpoint_init(ep, url, NULL, err, sizeof(err)), 0);
	ep->io_timeout_ms = 2000;
	ep->total_timeout_ms = 5000;
}

static const struct http_request get_root = { .method = "GET",
					      .target = "/" };

static void do_get(const struct tsrv *s, int want_rc, const char *want)
{
	struct http_endpoint ep;
	size_t len;
	int rc;

	endpoint(&ep, s);
	http_conn_init(&conn);
	rc = http_do(&conn, &ep, &get_root, body, sizeof(body), &len);
	CHECK_INT(rc, want_rc);
	if (!strstr(rc < 0 ? conn.err : body, want)) {
		fprintf(stderr, "want \"%s\" in \"%s\"\n", want,
			rc < 0 ? conn.err : body);
		test_failed_checks++;
	}
	http_conn_close(&conn);
}

/* Echo each request back as the body, keeping the connection open;
 * X-Conn says which connection served it. */
static void h_echo(int fd, int n)
{
	char req[8192], hdr[200];
	ssize_t len;

	while ((len = tsrv_read_request(fd, req, sizeof(req))) > 0) {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nX-Conn: %d\r\n"
			 "Content-Length: %zd\r\n\r\n", n, len);
		tsrv_say(fd, hdr);
		if (strncmp(req, "HEAD ", 5))
			tsrv_say(fd, req);
	}
}

static void test_request_and_keepalive(void)
{
	const char *hdrs[] = { "Accept: application/json",
			       "X-Token: abc", NULL };
	struct http_request rq = { .method = "POST", .target = "/v1/x?a=b%20c",
				   .headers = hdrs, .body = "{\"k\":1}",
				   .body_len = 7 };
	struct http_endpoint ep;
	struct tsrv s;
	char want[300];
	size_t len;

	tsrv_start(&s, h_echo, 0);
	endpoint(&ep, &s);
	http_conn_init(&conn);
	CHECK_INT(http_do(&conn, &ep, &rq, body, sizeof(body), &len), 0);
	CHECK_INT(conn.resp.status, 200);
	snprintf(want, sizeof(want), "POST /v1/x?a=b%%20c HTTP/1.1\r\n"
		 "Host: 127.0.0.1:%d\r\nUser-Agent: vpcnet/", s.port);
	CHECK(!strncmp(body, want, strlen(want)));
	CHECK(strstr(body, "\r\nAccept: application/json\r\nX-Token: abc\r\n"
		     "Content-Length: 7\r\n\r\n{\"k\":1}") != NULL);
	CHECK_INT(len, strlen(body));
	/* the second and third requests reuse the connection */
	CHECK_INT(http_do(&conn, &ep, &get_root, body, sizeof(body), &len), 0);
	CHECK(!strncmp(body, "GET / HTTP/1.1\r\n", 16));
	CHECK(strstr(body, "Content-Length") == NULL);
	rq.method = "HEAD";
	rq.body = NULL;
	CHECK_INT(http_do(&conn, &ep, &rq, body, sizeof(body), &len), 0);
	CHECK_INT(len, 0);
	CHECK_STR(http_head_get(&conn.resp, "X-Conn"), "1");
	CHECK_INT(conn.requests, 3);
	/* a header or target that would inject lines is refused */
	hdrs[1] = "X-Evil: a\r\nInjected: 1";
	rq.method = "GET";
	CHECK_INT(http_do(&conn, &ep, &rq, body, sizeof(body), &len), -EINVAL);
	CHECK(strstr(conn.err, "bad request header") != NULL);
	rq.headers = NULL;
	rq.target = "/a b";
	CHECK_INT(http_do(&conn, &ep, &rq, body, sizeof(body), &len), -EINVAL);
	rq.target = "/x";
	rq.method = "get";
	CHECK_INT(http_do(&conn, &ep, &rq, body, sizeof(body), &len), -EINVAL);
	/* the query string stays out of messages */
	rq.method = "GET";
	rq.target = "/secret?Token=s3cr3t";
	CHECK_INT(http_do(&conn, &ep, &rq, body, 10, &len), -EMSGSIZE);
	CHECK(strstr(conn.err, "s3cr3t") == NULL);
	CHECK(strstr(conn.err, "/secret: response body larger") != NULL);
	http_conn_close(&conn);
	tsrv_stop(&s);
}

/* One response per connection, then close without saying so. */
static void h_once(int fd, int n)
{
	char req[8192], resp[100];

	if (tsrv_read_request(fd, req, sizeof(req)) > 0) {
		snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
			 "Content-Length: 6\r\n\r\nconn-%d", n);
		tsrv_say(fd, resp);
	}
}

static void test_stale_keepalive_retry(void)
{
	struct http_request post = { .method = "POST", .target = "/" };
	struct http_endpoint ep;
	struct tsrv s;
	size_t len;

	tsrv_start(&s, h_once, 0);
	endpoint(&ep, &s);
	http_conn_init(&conn);
	CHECK_INT(http_do(&conn, &ep, &get_root, body, sizeof(body), &len), 0);
	CHECK_STR(body, "conn-1");
	usleep(50000);	/* let the server's close arrive */
	CHECK_INT(http_do(&conn, &ep, &get_root, body, sizeof(body), &len), 0);
	CHECK_STR(body, "conn-2");
	/* a POST is not retried on a stale connection */
	usleep(50000);
	CHECK_INT(http_do(&conn, &ep, &post, body, sizeof(body), &len),
		  -ECONNRESET);
	CHECK(strstr(conn.err, "closed before any response") != NULL);
	http_conn_close(&conn);
	tsrv_stop(&s);
}

static const char *canned;

static void h_canned(int fd, int n)
{
	char req[8192];

	if (tsrv_read_request(fd, req, sizeof(req)) > 0)
		tsrv_say(fd, canned);
	shutdown(fd, SHUT_WR);
	usleep(100000);
}

static void canned_get(const char *resp, int want_rc, const char *want)
{
	struct tsrv s;

	canned = resp;
	tsrv_start(&s, h_canned, 0);
	do_get(&s, want_rc, want);
	tsrv_stop(&s);
}

static void test_bodies(void)
{
	canned_get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "4;a=b\r\nchun\r\n3\r\nked\r\n0\r\nX-Trailer: t\r\n\r\n",
		   0, "chunked");
	canned_get("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n"
		   "\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal",
		   0, "final");
	canned_get("HTTP/1.0 200 OK\r\n\r\nuntil the end", 0, "until the end");
	canned_get("HTTP/1.1 204 No Content\r\n\r\n", 0, "");
	canned_get("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, "");
}

static void test_truncated(void)
{
	canned_get("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..",
		   -EBADMSG, "closed with 90 of 100 bytes missing");
	canned_get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "a\r\nabc", -EBADMSG, "in the middle of the chunked body");
	canned_get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "3\r\nabc\r\n", -EBADMSG, "middle of the chunked body");
	canned_get("HTTP/1.1 200 OK\r\nContent-Le", -EBADMSG,
		   "reading the response head: connection closed in the "
		   "middle of it");
	canned_get("", -ECONNRESET, "closed before any response");
	canned_get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "xyz\r\n", -EBADMSG, "chunked body: chunk size is not "
		   "hexadecimal");
	canned_get("HTTP/1.1 101 Switching Protocols\r\n\r\n", -EPROTO,
		   "101");
	canned_get("SSH-2.0-OpenSSH_9.2\r\n\r\n", -EBADMSG,
		   "not an HTTP/1.x status line");
}

static char huge[HTTP_MAX_HEAD * 2];

static void test_oversized(void)
{
	size_t n;

	strcpy(huge, "HTTP/1.1 200 OK\r\nX-Big: ");
	n = strlen(huge);
	memset(huge + n, 'x', HTTP_MAX_HEAD);
	strcpy(huge + n + HTTP_MAX_HEAD, "\r\n\r\n");
	canned_get(huge, -EMSGSIZE, "response head: larger than 16384 bytes");

	strcpy(huge, "HTTP/1.1 200 OK\r\nX-Big: ");
	n = strlen(huge);
	memset(huge + n, 'x', HTTP_MAX_LINE + 1);
	strcpy(huge + n + HTTP_MAX_LINE + 1, "\r\n\r\n");
	canned_get(huge, -EBADMSG, "line 2: line too long");
}

/* Slowloris: one byte of a never-ending head every 20 ms. */
static void h_dribble(int fd, int n)
{
	const char *s = "HTTP/1.1 200 OK\r\nX-Slow: ";
	char req[8192];
	size_t i;

	if (tsrv_read_request(fd, req, sizeof(req)) <= 0)
		return;
	for (i = 0;; i++) {
		if (write(fd, i < strlen(s) ? s + i : "z", 1) != 1)
			return;
		usleep(20000);
	}
}

static void h_silent(int fd, int n)
{
	char req[8192];

	tsrv_read_request(fd, req, sizeof(req));
	pause();
}

static void test_slowloris_timeout(void)
{
	struct http_endpoint ep;
	struct tsrv s;
	int64_t t0, dt;
	size_t len;

	tsrv_start(&s, h_dribble, 0);
	endpoint(&ep, &s);
	ep.io_timeout_ms = 1000;
	ep.total_timeout_ms = 400;
	http_conn_init(&conn);
	t0 = sock_now_ms();
	CHECK_INT(http_do(&conn, &ep, &get_root, body, sizeof(body), &len),
		  -ETIMEDOUT);
	dt = sock_now_ms() - t0;
	CHECK(dt >= 390 && dt < 1500);
	CHECK(strstr(conn.err, "reading the response head: timed out "
		     "(limit 400 ms for the exchange)") != NULL);
	http_conn_close(&conn);
	tsrv_stop(&s);

	tsrv_start(&s, h_silent, 0);
	endpoint(&ep, &s);
	ep.io_timeout_ms = 200;
	t0 = sock_now_ms();
	CHECK_INT(http_do(&conn, &ep, &get_root, body, sizeof(body), &len),
		  -ETIMEDOUT);
	dt = sock_now_ms() - t0;
	CHECK(dt >= 190 && dt < 1500);
	CHECK(strstr(conn.err, "timed out (no data for 200 ms)") != NULL);
	http_conn_close(&conn);
	tsrv_stop(&s);
}

/* A watch-like stream: JSON lines in chunks that split lines, slowly. */
static void h_stream(int fd, int n)
{
	static const char *parts[] = {
		"8\r\n{\"a\":1}\n\r\n", "3\r\n{\"b\r\n",
		"9\r\n\":2}\n\n{\"c\r\n",
		"4\r\n\":3}\r\n", "0\r\n\r\n",
	};
	char req[8192];
	size_t i;

	if (tsrv_read_request(fd, req, sizeof(req)) <= 0)
		return;
	tsrv_say(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		usleep(150000);
		tsrv_say(fd, parts[i]);
	}
	tsrv_read_request(fd, req, sizeof(req));
}

static void test_stream_lines(void)
{
	struct http_request rq = { .method = "GET", .target = "/watch",
				   .stream = 1 };
	struct http_endpoint ep;
	struct http_lines lr = { 0 };
	char buf[64], *line;
	struct tsrv s;
	size_t len;

	tsrv_start(&s, h_stream, 0);
	endpoint(&ep, &s);
	ep.total_timeout_ms = 300;	/* the head; the body takes 750 */
	ep.io_timeout_ms = 1000;
	lr.buf = buf;
	lr.cap = sizeof(buf);
	http_conn_init(&conn);
	CHECK_INT(http_start(&conn, &ep, &rq), 0);
	CHECK_INT(http_read_line(&conn, &lr, &line, &len), 1);
	CHECK_STR(line, "{\"a\":1}");
	CHECK_INT(http_read_line(&conn, &lr, &line, &len), 1);
	CHECK_STR(line, "{\"b\":2}");
	CHECK_INT(http_read_line(&conn, &lr, &line, &len), 1);
	CHECK_STR(line, "");
	CHECK_INT(len, 0);
	CHECK_INT(http_read_line(&conn, &lr, &line, &len), 1);
	CHECK_STR(line, "{\"c\":3}");
	CHECK_INT(http_read_line(&conn, &lr, &line, &len), 0);
	CHECK(conn.reusable);
	http_conn_close(&conn);

	/* a line longer than the buffer */
	lr.cap = 6;
	lr.len = lr.off = 0;
	CHECK_INT(http_start(&conn, &ep, &rq), 0);
	CHECK_INT(http_read_line(&conn, &lr, &line, &len), -EMSGSIZE);
	CHECK(strstr(conn.err, "longer than 5 bytes") != NULL);
	http_conn_close(&conn);
	tsrv_stop(&s);
}

static void test_unix_socket(void)
{
	struct tsrv s;

	tsrv_start(&s, h_echo, 1);
	do_get(&s, 0, "GET / HTTP/1.1\r\nHost: localhost\r\n");
	tsrv_stop(&s);
}

static void test_connect_errors(void)
{
	struct tsrv s = { .port = 1 };
	struct http_endpoint ep;
	size_t len;

	do_get(&s, -ECONNREFUSED, "connect 127.0.0.1:1 (127.0.0.1): "
	       "Connection refused");
	strcpy(s.sock, "/tmp/httpt-does-not-exist.sock");
	do_get(&s, -ENOENT, "connect unix:/tmp/httpt-does-not-exist.sock");
	CHECK_INT(http_endpoint_init(&ep, "https://127.0.0.1:1", NULL, err,
				     sizeof(err)), 0);
	http_conn_init(&conn);
	CHECK_INT(http_do(&conn, &ep, &get_root, body, sizeof(body), &len),
		  -EINVAL);
	CHECK(strstr(conn.err, "without a TLS configuration") != NULL);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_head_ok);
	RUN(test_head_strict);
	RUN(test_head_end);
	RUN(test_chunked);
	RUN(test_chunked_sticky_error);
	RUN(test_url);
	RUN(test_pct);
	RUN(test_request_and_keepalive);
	RUN(test_stale_keepalive_retry);
	RUN(test_bodies);
	RUN(test_truncated);
	RUN(test_oversized);
	RUN(test_slowloris_timeout);
	RUN(test_stream_lines);
	RUN(test_unix_socket);
	RUN(test_connect_errors);
	return test_done();
}
