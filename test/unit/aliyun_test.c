/* lib/aliyun: signature 1.0 against the documented example and independent
 * vectors (test/data/), the signed query, error replies and retries against
 * a forked fake endpoint, and the metadata client (IMDSv2 token, v1
 * fallback, 404, retries, RAM role credentials). */
#include "aliyun.h"
#include "test.h"
#include "test_server.h"

#include <errno.h>

static struct arena arena;
static struct http_conn conn;
static char body[65536];

/* --- signature vectors from test/data ------------------------------------- */

struct vec {
	char title[256], method[8], secret[128];
	struct aliyun_param p[32];
	size_t n;
	char *canonical, *sts, *sig, *sig_enc;
};

static char *dup_line(const char *v)
{
	return arena_strdup(&arena, v);
}

static void vec_field(struct vec *v, const char *k, const char *val)
{
	const char *eq;

	if (!strcmp(k, "title") || !strcmp(k, "name"))
		snprintf(v->title, sizeof(v->title), "%s", val);
	else if (!strcmp(k, "method"))
		snprintf(v->method, sizeof(v->method), "%s", val);
	else if (!strcmp(k, "secret"))
		snprintf(v->secret, sizeof(v->secret), "%s", val);
	else if (!strcmp(k, "canonical"))
		v->canonical = dup_line(val);
	else if (!strcmp(k, "string_to_sign"))
		v->sts = dup_line(val);
	else if (!strcmp(k, "signature"))
		v->sig = dup_line(val);
	else if (!strcmp(k, "signature_encoded"))
		v->sig_enc = dup_line(val);
	else if (!strcmp(k, "param") && (eq = strchr(val, '=')) &&
		 v->n < 32) {
		v->p[v->n].key = arena_strndup(&arena, val,
					       (size_t)(eq - val));
		v->p[v->n++].value = dup_line(eq + 1);
	}
}

static void check_vec(const struct vec *v)
{
	char sig[ALIYUN_SIG_LEN], enc[64];
	const char *canon, *sts;
	int before = test_failed_checks;

	canon = aliyun_canonical_query(&arena, v->p, v->n);
	CHECK_STR(canon, v->canonical);
	sts = aliyun_string_to_sign(&arena, v->method, v->canonical);
	CHECK_STR(sts, v->sts);
	aliyun_signature(v->secret, v->sts, sig);
	CHECK_STR(sig, v->sig);
	if (v->sig_enc) {
		aliyun_pct_encode(sig, enc, sizeof(enc));
		CHECK_STR(enc, v->sig_enc);
	}
	if (test_failed_checks != before)
		fprintf(stderr, "  in vector \"%s\"\n", v->title);
}

/* Blocks of key=value lines separated by blank lines; returns the count. */
static int run_vectors(const char *path)
{
	char line[4096], *eq;
	struct vec v;
	FILE *f = fopen(path, "r");
	int n = 0, open = 0;

	if (!f) {
		fprintf(stderr, "%s: cannot open (run from the repo top)\n",
			path);
		test_failed_checks++;
		return 0;
	}
	memset(&v, 0, sizeof(v));
	for (;;) {
		char *got = fgets(line, sizeof(line), f);

		if (got)
			line[strcspn(line, "\n")] = '\0';
		if (!got || !line[0]) {
			if (open) {
				check_vec(&v);
				n++;
			}
			memset(&v, 0, sizeof(v));
			open = 0;
			if (!got)
				break;
			continue;
		}
		if (line[0] == '#' || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		vec_field(&v, line, eq + 1);
		open = 1;
	}
	fclose(f);
	return n;
}

static void test_documented_example(void)
{
	arena_init(&arena);
	CHECK_INT(run_vectors("test/data/aliyun_signature_example.txt"), 2);
	arena_free_all(&arena);
}

static void test_independent_vectors(void)
{
	arena_init(&arena);
	CHECK_INT(run_vectors("test/data/aliyun_signature_vectors.txt"), 4);
	arena_free_all(&arena);
}

static void test_percent_encoding(void)
{
	char out[128];

	aliyun_pct_encode("a b*c~d", out, sizeof(out));
	CHECK_STR(out, "a%20b%2Ac~d");
	aliyun_pct_encode("/+=&%:,", out, sizeof(out));
	CHECK_STR(out, "%2F%2B%3D%26%25%3A%2C");
	aliyun_pct_encode("AZaz09-_.", out, sizeof(out));
	CHECK_STR(out, "AZaz09-_.");
	aliyun_pct_encode("\xe7\xbd\x91", out, sizeof(out));
	CHECK_STR(out, "%E7%BD%91");
}

static void test_canonical_rejects(void)
{
	struct aliyun_param dup[] = { { "A", "1" }, { "B", "2" },
				      { "A", "3" } };
	struct aliyun_param nul[] = { { "A", NULL } };
	struct aliyun_param none[] = { { "", "x" } };

	arena_init(&arena);
	CHECK(aliyun_canonical_query(&arena, dup, 3) == NULL);
	CHECK(aliyun_canonical_query(&arena, nul, 1) == NULL);
	CHECK(aliyun_canonical_query(&arena, none, 1) == NULL);
	CHECK_STR(aliyun_canonical_query(&arena, dup, 2), "A=1&B=2");
	CHECK_STR(aliyun_canonical_query(&arena, dup, 0), "");
	arena_free_all(&arena);
}

static void test_timestamp_nonce(void)
{
	char ts[21], n1[37], n2[37];

	aliyun_timestamp(1456231584, ts);
	CHECK_STR(ts, "2016-02-23T12:46:24Z");
	aliyun_timestamp(0, ts);
	CHECK_STR(ts, "1970-01-01T00:00:00Z");
	aliyun_nonce(n1);
	aliyun_nonce(n2);
	CHECK_INT(strlen(n1), 36);
	CHECK(n1[8] == '-' && n1[13] == '-' && n1[14] == '4' &&
	      n1[18] == '-' && n1[23] == '-');
	CHECK(strcmp(n1, n2) != 0);
}

static void client(struct aliyun_client *cl, const char *token)
{
	aliyun_client_init(cl, "cn-hangzhou", NULL, &conn);
	strcpy(cl->cred.access_key_id, "testid");
	strcpy(cl->cred.access_key_secret, "testsecret");
	snprintf(cl->cred.security_token, sizeof(cl->cred.security_token),
		 "%s", token ? token : "");
}

/* The full query of a call, checked against Python's computation. */
static void test_signed_query(void)
{
	static const char want[] =
		"AccessKeyId=testid&Action=DescribeRegions&Format=JSON&"
		"RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&"
		"SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&"
		"SignatureVersion=1.0&Timestamp=2016-02-23T12%3A46%3A24Z&"
		"Version=2014-05-26&Signature=";
	struct aliyun_param p[] = { { "Format", "XML" },
				    { "RegionId", "cn-beijing" } };
	struct aliyun_param bad[] = { { "Timestamp", "x" } };
	struct aliyun_client cl;
	const char *q;
	int rc;

	arena_init(&arena);
	client(&cl, NULL);
	q = aliyun_signed_query(&arena, &cl, ALIYUN_ECS, "GET",
				"DescribeRegions", NULL, 0, 1456231584,
				"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", &rc);
	CHECK_INT(rc, 0);
	CHECK(q && !strncmp(q, want, strlen(want)));
	CHECK(q && !strcmp(q + strlen(want),
			   "dswIngPce7fSvWTEJv%2Bo2h5RhWQ%3D"));
	/* the caller's Format and RegionId win; the VPC version */
	q = aliyun_signed_query(&arena, &cl, ALIYUN_VPC, "POST",
				"DescribeVSwitches", p, 2, 1456231584, "n",
				&rc);
	CHECK(q && strstr(q, "&Format=XML&RegionId=cn-beijing&") != NULL);
	CHECK(q && strstr(q, "&Version=2016-04-28&Signature=") != NULL);
	/* STS */
	client(&cl, "CAIS+tok/en==");
	q = aliyun_signed_query(&arena, &cl, ALIYUN_ECS, "GET", "X", NULL, 0,
				1456231584, "n", &rc);
	CHECK(q && strstr(q, "&SecurityToken=CAIS%2Btok%2Fen%3D%3D&") != NULL);
	/* parameters that only the signer sets */
	CHECK(aliyun_signed_query(&arena, &cl, ALIYUN_ECS, "GET", "X", bad, 1,
				  0, "n", &rc) == NULL);
	CHECK_INT(rc, -EINVAL);
	arena_free_all(&arena);
}

static void test_parse_error(void)
{
	static const char thr[] = "{\"RequestId\":\"7F6A-1\",\"HostId\":"
		"\"ecs.aliyuncs.com\",\"Code\":\"Throttling.User\",\"Message\":"
		"\"Request was denied due to user flow control.\"}";
	struct aliyun_error e = { .http_status = 400 };

	aliyun_parse_error(thr, strlen(thr), &e);
	CHECK_STR(e.code, "Throttling.User");
	CHECK_STR(e.message, "Request was denied due to user flow control.");
	CHECK_STR(e.request_id, "7F6A-1");
	CHECK(aliyun_retryable(&e));
	strcpy(e.code, "InvalidParameter");
	CHECK(!aliyun_retryable(&e));
	strcpy(e.code, "ServiceUnavailable");
	e.http_status = 503;
	CHECK(aliyun_retryable(&e));
	strcpy(e.code, "InternalError");
	e.http_status = 500;
	CHECK(aliyun_retryable(&e));
	aliyun_parse_error("<html>502</html>", 16, &e);
	CHECK_STR(e.code, "");
	CHECK_STR(e.message, "");
}

/* --- calls against a fake endpoint --------------------------------------- */

/* Scripted replies, one per request, across connections; a repeated
 * SignatureNonce is refused as the real gateway does. */
static const char *const *script;

static void h_api(int fd, int conn_no)
{
	static char nonces[64][40];
	static int nreq;
	char req[16384], *p;
	int i;

	while (tsrv_read_request(fd, req, sizeof(req)) > 0) {
		const char *r = script[nreq] ? script[nreq] : "close";

		p = strstr(req, "SignatureNonce=");
		for (i = 0; p && i < nreq && i < 64; i++)
			if (!strncmp(nonces[i], p + 15, 36)) {
				tsrv_reply(fd, 400, NULL, "{\"Code\":"
					   "\"SignatureNonceUsed\"}");
				r = NULL;
			}
		if (p && nreq < 64)
			snprintf(nonces[nreq], 37, "%s", p + 15);
		nreq++;
		if (!r)
			continue;
		if (!strcmp(r, "close"))
			return;
		if (!strstr(req, "&Signature=") || (strncmp(req, "GET /?", 6) &&
		    (strncmp(req, "POST / ", 7) || !strstr(req, "\r\nContent-"
		     "Type: application/x-www-form-urlencoded\r\n"))))
			tsrv_reply(fd, 400, NULL, "{\"Code\":\"NoSignature\"}");
		else
			tsrv_reply(fd, atoi(r), NULL, strchr(r, '{'));
	}
}

static int post_mode;

static int call(const char *const *replies, const char *action,
		struct aliyun_error *e, const char *token)
{
	struct aliyun_client cl;
	struct tsrv s;
	size_t len;
	int rc;

	script = replies;
	tsrv_start(&s, h_api, 0);
	client(&cl, token);
	snprintf(cl.endpoint[ALIYUN_ECS], sizeof(cl.endpoint[0]),
		 "http://127.0.0.1:%d", s.port);
	cl.max_attempts = 3;
	cl.backoff_ms = 10;
	cl.timeout_ms = 2000;
	cl.post = post_mode;
	http_conn_init(&conn);
	rc = aliyun_call(&cl, ALIYUN_ECS, action, NULL, 0, body, sizeof(body),
			 &len, e);
	http_conn_close(&conn);
	tsrv_stop(&s);
	return rc;
}

static void test_retry_throttling_then_ok(void)
{
	static const char *const r[] = {
		"400 {\"Code\":\"Throttling.User\",\"Message\":\"slow down\"}",
		"503 {\"Code\":\"ServiceUnavailable\"}",
		"200 {\"RequestId\":\"ok-3\",\"Regions\":{\"Region\":[]}}",
		NULL,
	};
	struct aliyun_error e;

	CHECK_INT(call(r, "DescribeRegions", &e, NULL), 0);
	CHECK_INT(e.attempts, 3);
	CHECK_INT(e.http_status, 200);
	CHECK(strstr(body, "\"ok-3\"") != NULL);
}

static void test_post(void)
{
	static const char *const r[] = { "200 {\"RequestId\":\"p\"}", NULL };
	struct aliyun_error e;

	post_mode = 1;
	CHECK_INT(call(r, "CreateNetworkInterface", &e, NULL), 0);
	CHECK_INT(e.attempts, 1);
	post_mode = 0;
}

static void test_no_retry_on_4xx(void)
{
	static const char *const r[] = {
		"400 {\"RequestId\":\"r-1\",\"Code\":\"InvalidParameter\","
		"\"Message\":\"The specified parameter is not valid.\"}",
		"200 {}", NULL,
	};
	struct aliyun_error e;

	CHECK_INT(call(r, "DescribeRegions", &e, NULL), -EREMOTEIO);
	CHECK_INT(e.attempts, 1);
	CHECK_INT(e.http_status, 400);
	CHECK_STR(e.code, "InvalidParameter");
	CHECK_STR(e.request_id, "r-1");
	CHECK_STR(e.message, "The specified parameter is not valid.");
}

static void test_gives_up_on_5xx(void)
{
	static const char *const r[] = {
		"500 {\"Code\":\"InternalError\"}",
		"500 {\"Code\":\"InternalError\"}",
		"502 <html>bad gateway</html>{", "200 {}", NULL,
	};
	struct aliyun_error e;

	CHECK_INT(call(r, "DescribeRegions", &e, NULL), -EREMOTEIO);
	CHECK_INT(e.attempts, 3);
	CHECK_INT(e.http_status, 502);
	CHECK_STR(e.code, "");
	CHECK_STR(e.message, "HTTP 502 X");
}

static void test_secrets_redacted(void)
{
	static const char tok[] = "CAIS+SecretSTSToken/abcdef==";
	static const char *const r[] = {
		"400 {\"Code\":\"SignatureDoesNotMatch\",\"Message\":"
		"\"Specified"
		" signature is not matched with our calculation. server string "
		"to sign is:GET&%2F&AccessKeyId%3Dtestid%26SecurityToken%3D"
		"CAIS%252BSecretSTSToken%252Fabcdef%253D%253D%26X\"}",
		NULL,
	};
	struct aliyun_error e;

	CHECK_INT(call(r, "DescribeRegions", &e, tok), -EREMOTEIO);
	CHECK_STR(e.code, "SignatureDoesNotMatch");
	CHECK(strstr(e.message, "SecretSTSToken") == NULL);
	CHECK(strstr(e.message, "SecurityToken%3D<redacted>%26X") != NULL);
}

static void test_transport_retries(void)
{
	static const char *const closes[] = { "close", "close", "close",
					      "200 {}", NULL };
	struct aliyun_client cl;
	struct aliyun_error e;
	size_t len;

	/* connection refused: nothing was sent, always retried */
	client(&cl, NULL);
	strcpy(cl.endpoint[ALIYUN_ECS], "http://127.0.0.1:1");
	cl.max_attempts = 3;
	cl.backoff_ms = 5;
	http_conn_init(&conn);
	CHECK_INT(aliyun_call(&cl, ALIYUN_ECS, "CreateNetworkInterface", NULL,
			      0, body, sizeof(body), &len, &e), -ECONNREFUSED);
	CHECK_INT(e.attempts, 3);
	CHECK(strstr(e.message, "connect 127.0.0.1:1") != NULL);
	CHECK_INT(e.http_status, 0);
	/* the server hangs up after reading: a Describe is retried, a
	 * Create without ClientToken is not */
	CHECK_INT(call(closes, "DescribeNetworkInterfaces", &e, NULL),
		  -ECONNRESET);
	CHECK_INT(e.attempts, 3);
	CHECK_INT(call(closes, "CreateNetworkInterface", &e, NULL),
		  -ECONNRESET);
	CHECK_INT(e.attempts, 1);
	CHECK(strstr(e.message, "GET http://127.0.0.1:") != NULL);
	CHECK(strstr(e.message, "Signature") == NULL);
}

static void test_endpoint_default(void)
{
	struct aliyun_client cl;
	struct aliyun_error e;
	size_t len;

	client(&cl, NULL);
	cl.region[0] = '\0';
	CHECK_INT(aliyun_call(&cl, ALIYUN_VPC, "DescribeVSwitches", NULL, 0,
			      body, sizeof(body), &len, &e), -EINVAL);
	CHECK_STR(e.message, "vpc API: no region and no endpoint configured");
}

static void test_cred_from_env(void)
{
	struct aliyun_cred c;
	char err[200];

	unsetenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
	CHECK_INT(aliyun_cred_from_env(&c, err, sizeof(err)), -ENOENT);
	CHECK_STR(err, "ALIBABA_CLOUD_ACCESS_KEY_ID is not set");
	setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "id", 1);
	setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sec", 1);
	setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "tok", 1);
	CHECK_INT(aliyun_cred_from_env(&c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "id");
	CHECK_STR(c.access_key_secret, "sec");
	CHECK_STR(c.security_token, "tok");
}

/* --- metadata ------------------------------------------------------------- */

static int meta_mode;	/* 0: IMDSv2 only, 1: no token endpoint (v1) */

/* Paths: instance-id; flaky (500 once); rotate (token revoked once);
 * ram/security-credentials/[role]; /count (token PUTs so far). */
static void h_meta(int fd, int conn_no)
{
	static int puts, flaky, rotated, gen = 1;
	char req[8192], tok[64], hdr[100];
	int authed;

	while (tsrv_read_request(fd, req, sizeof(req)) > 0) {
		snprintf(tok, sizeof(tok), "X-aliyun-ecs-metadata-token: "
			 "tok-%d\r\n", gen);
		authed = strstr(req, tok) != NULL;
		if (!strncmp(req, "PUT /latest/api/token ", 22)) {
			puts++;
			if (meta_mode == 1 || !strstr(req, "\r\nX-aliyun-"
				"ecs-metadata-token-ttl-seconds: 21600\r\n"))
				tsrv_reply(fd, 403, NULL, "forbidden");
			else
				tsrv_reply(fd, 200, NULL, tok + 29);
		} else if (!strncmp(req, "GET /count ", 11)) {
			snprintf(hdr, sizeof(hdr), "%d", puts);
			tsrv_reply(fd, 200, NULL, hdr);
		} else if (meta_mode == 0 && !authed) {
			tsrv_reply(fd, 401, NULL, "no token");
		} else if (strstr(req, " /latest/meta-data/instance-id ")) {
			tsrv_reply(fd, 200, NULL, "i-fake0001\n");
		} else if (strstr(req, " /latest/meta-data/flaky ")) {
			tsrv_reply(fd, flaky++ ? 200 : 500, NULL, "ok");
		} else if (strstr(req, " /latest/meta-data/rotate ")) {
			if (!rotated++)
				gen++;	/* revoke the current token */
			tsrv_reply(fd, 200, NULL, "rotated");
		} else if (strstr(req, "/ram/security-credentials/ ")) {
			tsrv_reply(fd, 200, NULL, "node-role\n");
		} else if (strstr(req, "/security-credentials/node-role ")) {
			tsrv_reply(fd, 200, NULL, "{\"AccessKeyId\":\"STS.id\","
				   "\"AccessKeySecret\":\"sts-secret\","
				   "\"Expiration\":\"2030-01-01T00:00:00Z\","
				   "\"SecurityToken\":\"CAIS-token\","
				   "\"LastUpdated\":\"2029-12-31T18:00:00Z\","
				   "\"Code\":\"Success\"}");
		} else {
			tsrv_reply(fd, 404, NULL, "not found");
		}
	}
}

static void meta_client(struct aliyun_meta *m, const struct tsrv *s)
{
	char url[64], err[200];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
	http_conn_init(&conn);
	CHECK_INT(aliyun_meta_init(m, url, &conn, err, sizeof(err)), 0);
	m->backoff_ms = 10;
}

static void test_meta_imdsv2(void)
{
	struct aliyun_meta m;
	struct tsrv s;
	char out[256];
	size_t len;

	meta_mode = 0;
	tsrv_start(&s, h_meta, 0);
	meta_client(&m, &s);
	CHECK_INT(aliyun_meta_get(&m, "instance-id", out, sizeof(out), &len),
		  0);
	CHECK_STR(out, "i-fake0001");
	CHECK_INT(len, 10);
	CHECK_STR(m.token, "tok-1");
	CHECK_INT(aliyun_meta_get(&m, "flaky", out, sizeof(out), &len), 0);
	CHECK_STR(out, "ok");
	CHECK_INT(aliyun_meta_get(&m, "/count", out, sizeof(out), &len), 0);
	CHECK_STR(out, "1");	/* the token was cached */
	/* a revoked token is fetched again, once */
	CHECK_INT(aliyun_meta_get(&m, "rotate", out, sizeof(out), &len), 0);
	CHECK_INT(aliyun_meta_get(&m, "instance-id", out, sizeof(out), &len),
		  0);
	CHECK_STR(m.token, "tok-2");
	CHECK_INT(aliyun_meta_get(&m, "nope", out, sizeof(out), &len),
		  -ENOENT);
	CHECK_STR(m.err, "metadata /latest/meta-data/nope: HTTP 404 X");
	http_conn_close(&conn);
	tsrv_stop(&s);
}

static void test_meta_v1_fallback(void)
{
	struct aliyun_meta m;
	struct tsrv s;
	char out[256];
	size_t len;

	meta_mode = 1;
	tsrv_start(&s, h_meta, 0);
	meta_client(&m, &s);
	CHECK_INT(aliyun_meta_get(&m, "instance-id", out, sizeof(out), &len),
		  -EACCES);
	CHECK_STR(m.err, "metadata token: HTTP 403 X");
	m.allow_v1 = 1;
	CHECK_INT(aliyun_meta_get(&m, "instance-id", out, sizeof(out), &len),
		  0);
	CHECK_STR(out, "i-fake0001");
	CHECK_STR(m.token, "");
	http_conn_close(&conn);
	tsrv_stop(&s);
}

static void test_meta_credentials(void)
{
	struct aliyun_meta m;
	struct aliyun_cred c;
	struct tsrv s;
	char exp[64];

	meta_mode = 0;
	tsrv_start(&s, h_meta, 0);
	meta_client(&m, &s);
	CHECK_INT(aliyun_meta_credentials(&m, NULL, &c, exp, sizeof(exp)), 0);
	CHECK_STR(c.access_key_id, "STS.id");
	CHECK_STR(c.access_key_secret, "sts-secret");
	CHECK_STR(c.security_token, "CAIS-token");
	CHECK_STR(exp, "2030-01-01T00:00:00Z");
	CHECK_INT(aliyun_meta_credentials(&m, "other", &c, NULL, 0), -ENOENT);
	http_conn_close(&conn);
	tsrv_stop(&s);
}

/* aliyun_test --vectors FILE [N]: only the vectors of FILE (same block
 * format, e.g. made by `node test/fake/check_aliyun.js vectors FILE.txt`
 * with @alicloud/pop-core), expecting N of them when N is given. */
static int vectors_only(const char *path, const char *want)
{
	int n;

	arena_init(&arena);
	n = run_vectors(path);
	arena_free_all(&arena);
	if (want)
		CHECK_INT(n, atoi(want));
	printf("%s - %d signature vectors of %s: canonical query, string to "
	       "sign, signature\n", test_failed_checks ? "not ok" : "ok", n,
	       path);
	return test_failed_checks ? 1 : 0;
}

/* A message cut inside an echoed STS token must not keep the token's start
 * (the fuzzer's regress-cut-token, as a plain unit case). */
static void test_redact_cut_token(void)
{
	static struct aliyun_cred c;
	char msg[64];
	size_t i;

	strcpy(c.access_key_id, "LTAIexample");
	strcpy(c.access_key_secret, "secretsecret");
	for (i = 0; i < 200; i++)
		c.security_token[i] = (char)('A' + i % 26);
	c.security_token[200] = 0;
	/* the buffer is full and ends inside the token */
	strcpy(msg, "StringToSign: GET&%2F&token%3D");
	i = strlen(msg);
	memcpy(msg + i, c.security_token, sizeof(msg) - 1 - i);
	msg[sizeof(msg) - 1] = 0;
	aliyun_redact(msg, sizeof(msg), &c);
	CHECK(!strstr(msg, "ABCDEFGH"));
	CHECK(strstr(msg, "StringToSign") != NULL);
	strcpy(msg, "bad secret secretsecret here");
	aliyun_redact(msg, sizeof(msg), &c);
	CHECK(!strstr(msg, "secretsecret"));
	CHECK(strstr(msg, "<redacted>") != NULL);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--vectors"))
		return vectors_only(argv[2], argc > 3 ? argv[3] : NULL);
	signal(SIGPIPE, SIG_IGN);
	RUN(test_documented_example);
	RUN(test_redact_cut_token);
	RUN(test_independent_vectors);
	RUN(test_percent_encoding);
	RUN(test_canonical_rejects);
	RUN(test_timestamp_nonce);
	RUN(test_signed_query);
	RUN(test_parse_error);
	RUN(test_retry_throttling_then_ok);
	RUN(test_post);
	RUN(test_no_retry_on_4xx);
	RUN(test_gives_up_on_5xx);
	RUN(test_secrets_redacted);
	RUN(test_transport_retries);
	RUN(test_endpoint_default);
	RUN(test_cred_from_env);
	RUN(test_meta_imdsv2);
	RUN(test_meta_v1_fallback);
	RUN(test_meta_credentials);
	return test_done();
}
