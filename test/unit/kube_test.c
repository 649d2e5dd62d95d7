/* lib/kube: paths, in-cluster config, then the client against canned API
 * servers forked on 127.0.0.1: Status errors, paging, watch framing
 * across chunk boundaries, bookmarks, 410 -> relist, resume after a
 * dropped stream, token re-read, backoff and stop. */
#include "kube.h"
#include "sock.h"
#include "test.h"
#include "test_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

static char tmpdir[64];
static char reqlog[128];	/* request lines the servers saw */

/* --- server side ---------------------------------------------------------- */

/* Read one request, log its request line; the target, or NULL. */
static char *req(int fd, char *buf, size_t cap)
{
	char *sp, *end;
	int lf;

	if (tsrv_read_request(fd, buf, cap) <= 0)
		return NULL;
	end = strstr(buf, " HTTP/1.1\r\n");
	sp = strchr(buf, ' ');
	if (!end || !sp)
		return NULL;
	lf = open(reqlog, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (lf >= 0) {
		if (write(lf, buf, (size_t)(end - buf)) < 0 ||
		    write(lf, "\n", 1) < 0)
			perror("request log");
		close(lf);
	}
	*end = '\0';
	return sp + 1;
}

static void reply(int fd, int status, const char *body)
{
	tsrv_reply(fd, status, "Content-Type: application/json\r\n"
		   "Connection: close\r\n", body);
}

static void chunked_head(int fd)
{
	tsrv_say(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n");
}

static void chunk(int fd, const char *s, size_t n)
{
	char hdr[32];

	snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
	tsrv_say(fd, hdr);
	if (write(fd, s, n) < 0)
		return;
	tsrv_say(fd, "\r\n");
}

/* s in chunks of k bytes (k = 0: one chunk) */
static void chunks(int fd, const char *s, size_t k)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i += k ? k : n)
		chunk(fd, s + i, k && n - i > k ? k : n - i);
}

static void chunk_end(int fd)
{
	tsrv_say(fd, "0\r\n\r\n");
}

static const char *ev(const char *type, const char *name, const char *rv)
{
	static char buf[8][300];
	static int i;

	i = (i + 1) % 8;
	if (!strcmp(type, "BOOKMARK"))
		snprintf(buf[i], sizeof(buf[i]), "{\"type\":\"BOOKMARK\","
			 "\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
			 "\"metadata\":{\"resourceVersion\":\"%s\","
			 "\"creationTimestamp\":null}}}\n", rv);
	else
		snprintf(buf[i], sizeof(buf[i]), "{\"type\":\"%s\",\"object\":"
			 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
			 "\"namespace\":\"default\",\"resourceVersion\":\"%s\"},"
			 "\"spec\":{\"note\":\"a \\\"}] {[\\\\\"}}}\n", type,
			 name, rv);
	return buf[i];
}

static const char *list(const char *rv, const char *cont, const char *items)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "{\"kind\":\"PodList\",\"apiVersion\":"
		 "\"v1\",\"metadata\":{\"resourceVersion\":\"%s\"%s%s%s},"
		 "\"items\":[%s]}", rv, cont ? ",\"continue\":\"" : "",
		 cont ? cont : "", cont ? "\"" : "", items);
	return buf;
}

static const char *item(const char *name, const char *rv)
{
	static char buf[8][200];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "{\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"default\",\"resourceVersion\":\"%s\"}}", name,
		 rv);
	return buf[i];
}

/* resourceVersion=rv, the whole value */
static int has_rv(const char *t, const char *rv)
{
	const char *p = strstr(t, "resourceVersion=");
	size_t n = strlen(rv);

	return p && !strncmp(p + 16, rv, n) && (!p[16 + n] || p[16 + n] == '&');
}

static int is_watch(const char *t)
{
	return strstr(t, "watch=1") != NULL;
}

/* --- client side ---------------------------------------------------------- */

static void client(struct kube_client *kc, const struct tsrv *s,
		   const char *token_file)
{
	struct kube_config cfg;
	char err[512];
	int rc;

	kube_config_init(&cfg);
	snprintf(cfg.server, sizeof(cfg.server), "http://127.0.0.1:%d",
		 s->port);
	if (token_file)
		snprintf(cfg.token_file, sizeof(cfg.token_file), "%s",
			 token_file);
	cfg.timeout_ms = 3000;
	cfg.io_timeout_ms = 3000;
	rc = kube_client_init(kc, &cfg, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "kube_client_init: %s\n", err);
}

/* What a callback saw, one "TYPE name rv" line each. */
struct rec {
	char text[8192];
	const char *stop_at;	/* return 1 after this line */
	int n;
	int delays[32];
	int ndelays;
};

static int record(void *arg, const struct kube_event *e)
{
	static const char *names[] = { "?", "ADDED", "MODIFIED", "DELETED",
				       "BOOKMARK", "RESET", "SYNCED", "WATCH",
				       "RETRY" };
	struct rec *r = arg;
	const char *name = "-";
	char line[200];
	size_t len;

	if (e->doc)
		json_as_str(e->doc, json_path(e->doc, e->obj, "metadata.name"),
			    NULL, &name, NULL, NULL);
	if (e->type == KUBE_EV_RESET || e->type == KUBE_EV_RETRY)
		snprintf(line, sizeof(line), "%s %d", names[e->type], e->code);
	else
		snprintf(line, sizeof(line), "%s %s %s", names[e->type],
			 name ? name : "-", e->rv);
	if (e->type == KUBE_EV_RETRY && r->ndelays < 32)
		r->delays[r->ndelays++] = e->delay_ms;
	if (e->doc && (e->raw_len < 2 || e->raw[0] != '{' ||
		       e->raw[e->raw_len - 1] != '}'))
		strcat(line, " BADRAW");
	len = strlen(r->text);
	snprintf(r->text + len, sizeof(r->text) - len, "%s%s", len ? "|" : "",
		 line);
	r->n++;
	if (getenv("KT_DEBUG"))
		fprintf(stderr, "EV %s\n", line);
	return r->stop_at && !strcmp(line, r->stop_at);
}

static void check_log(const char *want)
{
	static char got[16384];
	int fd;
	ssize_t n;

	fd = open(reqlog, O_RDONLY);
	n = fd >= 0 ? read(fd, got, sizeof(got) - 1) : 0;
	if (fd >= 0)
		close(fd);
	got[n > 0 ? n : 0] = '\0';
	if (!strstr(got, want)) {
		fprintf(stderr, "want request \"%s\" in:\n%s", want, got);
		test_failed_checks++;
	}
}

static void clear_log(void)
{
	unlink(reqlog);
}

#define CHECK_HAS(hay, needle) do {					\
	if (!strstr((hay), (needle))) {					\
		fprintf(stderr, "%s:%d: want \"%s\" in \"%s\"\n",	\
			__FILE__, __LINE__, (needle), (hay));		\
		test_failed_checks++;					\
	}								\
} while (0)

static void write_file(const char *path, const char *s)
{
	char tmp[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fputs(s, f);
	fclose(f);
	rename(tmp, path);
}

/* --- pure pieces ---------------------------------------------------------- */

static void test_path(void)
{
	char p[KUBE_PATH_MAX];

	CHECK_INT(kube_path(p, sizeof(p), "v1", NULL, "pods", NULL), 0);
	CHECK_STR(p, "/api/v1/pods");
	CHECK_INT(kube_path(p, sizeof(p), "v1", "kube-system", "pods", "a"),
		  0);
	CHECK_STR(p, "/api/v1/namespaces/kube-system/pods/a");
	CHECK_INT(kube_path(p, sizeof(p), "networking.k8s.io/v1", "",
			    "networkpolicies", ""), 0);
	CHECK_STR(p, "/apis/networking.k8s.io/v1/networkpolicies");
	CHECK_INT(kube_path(p, sizeof(p), "v1", NULL, "nodes", "n1"), 0);
	CHECK_STR(p, "/api/v1/nodes/n1");
	CHECK_INT(kube_path(p, sizeof(p), "v1", "a/b", "pods", NULL), -EINVAL);
	CHECK_INT(kube_path(p, sizeof(p), "v1", NULL, "pods", "x?y"), -EINVAL);
	CHECK_INT(kube_path(p, sizeof(p), "v1", NULL, "pods", "a b"), -EINVAL);
	CHECK_INT(kube_path(p, sizeof(p), "/v1", NULL, "pods", NULL), -EINVAL);
	CHECK_INT(kube_path(p, sizeof(p), "a/b/c", NULL, "pods", NULL),
		  -EINVAL);
	CHECK_INT(kube_path(p, sizeof(p), "v1", NULL, "", NULL), -EINVAL);
	CHECK_INT(kube_path(p, 10, "v1", NULL, "pods", NULL), -ENAMETOOLONG);
}

static void test_in_cluster(void)
{
	struct kube_config cfg;
	char dir[128], path[200], err[300];

	snprintf(dir, sizeof(dir), "%s/sa", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/namespace", dir);
	write_file(path, "kube-system\n");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	kube_config_init(&cfg);
	CHECK_INT(kube_config_in_cluster(&cfg, dir, err, sizeof(err)), 0);
	CHECK_STR(cfg.server, "https://10.96.0.1:443");
	snprintf(path, sizeof(path), "%s/token", dir);
	CHECK_STR(cfg.token_file, path);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	CHECK_STR(cfg.ca_file, path);
	CHECK_STR(cfg.namespace, "kube-system");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	CHECK_INT(kube_config_in_cluster(&cfg, NULL, err, sizeof(err)), 0);
	CHECK_STR(cfg.server, "https://[fd00::1]:443");
	CHECK_STR(cfg.token_file, KUBE_SA_DIR "/token");
	setenv("KUBERNETES_SERVICE_PORT", "44x", 1);
	CHECK_INT(kube_config_in_cluster(&cfg, dir, err, sizeof(err)),
		  -EINVAL);
	CHECK_HAS(err, "KUBERNETES_SERVICE_PORT");
	unsetenv("KUBERNETES_SERVICE_HOST");
	CHECK_INT(kube_config_in_cluster(&cfg, dir, err, sizeof(err)),
		  -ENOENT);
	CHECK_HAS(err, "not running in a cluster: KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_client_init_errors(void)
{
	struct kube_config cfg;
	struct kube_client kc;
	char err[512];

	kube_config_init(&cfg);
	CHECK_INT(kube_client_init(&kc, &cfg, err, sizeof(err)), -EINVAL);
	CHECK_HAS(err, "no API server");
	kube_client_free(&kc);
	strcpy(cfg.server, "https://127.0.0.1:1");
	snprintf(cfg.ca_file, sizeof(cfg.ca_file), "%s/no-ca.pem", tmpdir);
	CHECK(kube_client_init(&kc, &cfg, err, sizeof(err)) < 0);
	CHECK_HAS(err, "no-ca.pem");
	kube_client_free(&kc);
	strcpy(cfg.server, "http://127.0.0.1:1");
	snprintf(cfg.token_file, sizeof(cfg.token_file), "%s/no-token",
		 tmpdir);
	CHECK_INT(kube_client_init(&kc, &cfg, err, sizeof(err)), -ENOENT);
	CHECK_HAS(err, "no-token: No such file");
	kube_client_free(&kc);
}

/* --- GET and Status errors ------------------------------------------------ */

static void h_status(int fd, int n)
{
	char buf[8192], *t = req(fd, buf, sizeof(buf));

	if (!t)
		return;
	if (!strcmp(t, "/api/v1/namespaces/default"))
		reply(fd, 200, "{\"kind\":\"Namespace\",\"metadata\":"
		      "{\"name\":\"default\"}}");
	else if (!strcmp(t, "/api/v1/pods?limit=500"))
		reply(fd, 403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
		      "\"metadata\":{},\"status\":\"Failure\",\"message\":"
		      "\"pods is forbidden: User \\\"system:serviceaccount:"
		      "x:y\\\" cannot list resource \\\"pods\\\"\",\"reason\":"
		      "\"Forbidden\",\"code\":403}");
	else if (!strcmp(t, "/api/v1/nodes/gone"))
		reply(fd, 404, "{\"kind\":\"Status\",\"message\":\"nodes "
		      "\\\"gone\\\" not found\",\"reason\":\"NotFound\","
		      "\"code\":404}");
	else if (!strcmp(t, "/notjson"))
		reply(fd, 200, "<html>");
	else
		reply(fd, 500, "upstream\nbroke");
}

static void test_get_and_status(void)
{
	struct kube_client kc;
	struct json_doc d;
	struct arena a;
	const char *name = NULL;
	struct tsrv s;

	tsrv_start(&s, h_status, 0);
	client(&kc, &s, NULL);
	arena_init(&a);
	CHECK_INT(kube_get(&kc, "/api/v1/namespaces/default", &a, &d), 0);
	CHECK_INT(json_get_str(&d, json_path(&d, 0, "metadata"), "name",
			       &name, NULL), 0);
	CHECK_STR(name, "default");
	CHECK_INT(kube_list(&kc, "/api/v1/pods", NULL, record, NULL, NULL),
		  -EACCES);
	CHECK_INT(kc.status, 403);
	CHECK_STR(kc.reason, "Forbidden");
	CHECK_HAS(kc.err, "GET http://127.0.0.1:");
	CHECK_HAS(kc.err, "/api/v1/pods: 403 Forbidden: pods is forbidden: "
		  "User \"system:serviceaccount:x:y\" cannot list resource "
		  "\"pods\"");
	CHECK(!strstr(kc.err, "limit="));
	CHECK_INT(kube_get(&kc, "/api/v1/nodes/gone", &a, &d), -ENOENT);
	CHECK_HAS(kc.err, "404 NotFound: nodes \"gone\" not found");
	CHECK_INT(kube_get(&kc, "/api/v1/other", &a, &d), -EREMOTEIO);
	CHECK_HAS(kc.err, "500 X: upstream broke");
	CHECK_INT(kc.status, 500);
	CHECK_INT(kube_get(&kc, "/notjson", &a, &d), -EBADMSG);
	CHECK_HAS(kc.err, "/notjson: reply is not JSON");
	CHECK_INT(kube_get(&kc, "nopath", &a, &d), -EINVAL);
	arena_free_all(&a);
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* --- LIST paging ---------------------------------------------------------- */

static void h_pages(int fd, int n)
{
	char buf[8192], items[1024], *t = req(fd, buf, sizeof(buf));

	if (!t)
		return;
	if (!strstr(t, "labelSelector=app%3Dweb%2Ctier%20in%20%28a%29") ||
	    !strstr(t, "fieldSelector=spec.nodeName%3Dn1")) {
		reply(fd, 400, "{\"kind\":\"Status\",\"message\":\"bad query\","
		      "\"code\":400}");
		return;
	}
	if (!strstr(t, "continue=")) {
		snprintf(items, sizeof(items), "%s,%s", item("p1", "5"),
			 item("p2", "6"));
		reply(fd, 200, list("100", "c%1", items));
	} else if (strstr(t, "continue=c%251")) {
		/* chunked, metadata after the items, odd spacing */
		snprintf(items, sizeof(items), "{ \"items\" : [ %s ,\n%s ] , "
			 "\"metadata\" : {\"continue\":\"c2\",\"resourceVersion"
			 "\":\"100\",\"remainingItemCount\":1},\"kind\":"
			 "\"PodList\" }\n", item("p3", "7"), item("p4", "8"));
		chunked_head(fd);
		chunks(fd, items, 7);
		chunk_end(fd);
	} else {
		reply(fd, 200, list("100", "", item("p5", "9")));
	}
}

static void test_list_paging(void)
{
	struct kube_list_opts o = { .label_selector = "app=web,tier in (a)",
				    .field_selector = "spec.nodeName=n1",
				    .limit = 2 };
	struct kube_list_result res;
	struct kube_client kc;
	struct rec r = { .stop_at = NULL };
	struct tsrv s;

	clear_log();
	tsrv_start(&s, h_pages, 0);
	client(&kc, &s, NULL);
	CHECK_INT(kube_list(&kc, "/api/v1/pods", &o, record, &r, &res), 0);
	CHECK_STR(r.text, "ADDED p1 5|ADDED p2 6|ADDED p3 7|ADDED p4 8|"
		  "ADDED p5 9");
	CHECK_STR(res.resource_version, "100");
	CHECK_INT(res.pages, 3);
	CHECK_INT(res.items, 5);
	check_log("GET /api/v1/pods?limit=2&labelSelector=");
	check_log("GET /api/v1/pods?limit=2&continue=c%251&labelSelector=");
	check_log("GET /api/v1/pods?limit=2&continue=c2&labelSelector=");
	/* the callback stops the list */
	memset(&r, 0, sizeof(r));
	r.stop_at = "ADDED p3 7";
	CHECK_INT(kube_list(&kc, "/api/v1/pods", &o, record, &r, &res), 1);
	CHECK_INT(r.n, 3);
	CHECK_INT(kube_list(&kc, "/api/v1/pods?x=1", &o, record, &r, &res),
		  -EINVAL);
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* 10,000 items in one page, read through a buffer bounded by the largest
 * object; then an object over the limit. */
static void h_big(int fd, int n)
{
	char buf[8192], one[300], *t = req(fd, buf, sizeof(buf));
	int i;

	if (!t)
		return;
	chunked_head(fd);
	chunks(fd, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":"
	       "\"7\"},\"items\":[", 0);
	for (i = 0; i < 10000; i++) {
		snprintf(one, sizeof(one), "%s{\"metadata\":{\"name\":\"p%d\","
			 "\"resourceVersion\":\"%d\"},\"spec\":{\"pad\":\"%0*d\"}}",
			 i ? "," : "", i, i, 150, 0);
		chunk(fd, one, strlen(one));
	}
	if (strstr(t, "big%3D1")) {
		chunks(fd, ",{\"metadata\":{\"name\":\"huge\"},\"pad\":\"", 0);
		for (i = 0; i < 400; i++)
			chunks(fd, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			       "x\n", 0);
		chunks(fd, "\"}", 0);
	}
	chunks(fd, "]}", 0);
	chunk_end(fd);
}

static int count_items(void *arg, const struct kube_event *e)
{
	int *n = arg;
	const char *name = NULL;
	char want[16];

	snprintf(want, sizeof(want), "p%d", *n);
	json_as_str(e->doc, json_path(e->doc, e->obj, "metadata.name"), NULL,
		    &name, NULL, NULL);
	if (!name || strcmp(name, want))
		return -EILSEQ;
	(*n)++;
	return 0;
}

static void test_list_bounded_memory(void)
{
	struct kube_list_opts o = { .limit = -1 };
	struct kube_list_result res;
	struct kube_client kc;
	struct tsrv s;
	int n = 0;

	tsrv_start(&s, h_big, 0);
	client(&kc, &s, NULL);
	kc.cfg.max_object = 4096;	/* the body is ~2 MiB */
	CHECK_INT(kube_list(&kc, "/api/v1/pods", &o, count_items, &n, &res),
		  0);
	CHECK_INT(n, 10000);
	CHECK_INT(res.items, 10000);
	CHECK_INT(res.pages, 1);
	check_log("GET /api/v1/pods\n");
	n = 0;
	o.field_selector = "big=1";
	CHECK_INT(kube_list(&kc, "/api/v1/pods", &o, count_items, &n, &res),
		  -EMSGSIZE);
	CHECK_INT(n, 10000);
	CHECK_HAS(kc.err, "an object larger than 4096 bytes");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* --- WATCH framing -------------------------------------------------------- */

static int split_k;	/* chunk size of the watch stream */

static void h_watch_split(int fd, int n)
{
	char buf[8192], body[4096], *t = req(fd, buf, sizeof(buf));

	if (!t)
		return;
	if (!is_watch(t) || !strstr(t, "resourceVersion=10")) {
		reply(fd, 400, "{}");
		return;
	}
	/* newline-separated, CRLF, back to back, and blank lines */
	snprintf(body, sizeof(body), "%s%s\r\n%s\n%s%s", ev("ADDED", "a", "11"),
		 ev("MODIFIED", "a", "12"), ev("ADDED", "b", "13"),
		 ev("BOOKMARK", "", "14"), ev("DELETED", "a", "15"));
	body[strlen(body) - 1] = '\0';	/* the last without a newline */
	strcat(body, "\n\n");
	chunked_head(fd);
	chunks(fd, body, (size_t)split_k);
	chunk_end(fd);
}

static void test_watch_chunk_boundaries(void)
{
	static const int ks[] = { 1, 2, 3, 5, 7, 13, 64, 0 };
	struct kube_watch_opts o = { .timeout_s = 60 };
	struct kube_client kc;
	struct tsrv s;
	struct rec r;
	char rv[KUBE_RV_MAX];
	int before = test_failed_checks;
	size_t i;

	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		split_k = ks[i];
		clear_log();
		tsrv_start(&s, h_watch_split, 0);
		client(&kc, &s, NULL);
		memset(&r, 0, sizeof(r));
		strcpy(rv, "10");
		CHECK_INT(kube_watch(&kc, "/api/v1/pods", &o, rv, sizeof(rv),
				     record, &r), 0);
		CHECK_STR(r.text, "ADDED a 11|MODIFIED a 12|ADDED b 13|"
			  "BOOKMARK - 14|DELETED a 15");
		CHECK_STR(rv, "15");
		check_log("GET /api/v1/pods?watch=1&allowWatchBookmarks=true&"
			  "timeoutSeconds=60&resourceVersion=10\n");
		kube_client_free(&kc);
		tsrv_stop(&s);
		if (test_failed_checks != before) {
			fprintf(stderr, "chunk size %d\n", split_k);
			break;
		}
	}
}

/* Framing that arrives later than its data, longer than the client's
 * read timeout: a watch waits for it (the stream's idle limit). */
static void h_watch_late_crlf(int fd, int n)
{
	char buf[8192], one[400], *t = req(fd, buf, sizeof(buf));
	const char *e = ev("ADDED", "a", "11");

	if (!t)
		return;
	snprintf(one, sizeof(one), "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
		 "chunked\r\n\r\n%zx\r\n%s", strlen(e), e);
	tsrv_say(fd, one);
	usleep(400000);
	tsrv_say(fd, "\r\n");
	usleep(400000);
	chunks(fd, ev("ADDED", "b", "12"), 0);
	chunk_end(fd);
}

static void test_watch_late_framing(void)
{
	struct kube_watch_opts o = { .timeout_s = 60, .stop_poll_ms = 50 };
	struct kube_client kc;
	struct rec r = { .stop_at = NULL };
	char rv[KUBE_RV_MAX] = "10";
	struct tsrv s;

	tsrv_start(&s, h_watch_late_crlf, 0);
	client(&kc, &s, NULL);
	kc.ep.io_timeout_ms = 200;
	CHECK_INT(kube_watch(&kc, "/api/v1/pods", &o, rv, sizeof(rv), record,
			     &r), 0);
	CHECK_STR(r.text, "ADDED a 11|ADDED b 12");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* A bookmark alone moves the resourceVersion; the next watch uses it. */
static void h_bookmark(int fd, int n)
{
	char buf[8192], *t = req(fd, buf, sizeof(buf));

	if (!t)
		return;
	if (!is_watch(t)) {
		reply(fd, 200, list("10", NULL, item("a", "9")));
		return;
	}
	chunked_head(fd);
	if (has_rv(t, "10")) {
		chunks(fd, ev("BOOKMARK", "", "50"), 0);
		chunk_end(fd);
	} else if (has_rv(t, "50")) {
		chunks(fd, ev("ADDED", "b", "51"), 0);
		usleep(100000);
		chunk_end(fd);
	} else {
		chunks(fd, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		       "\"code\":400,\"reason\":\"BadRequest\",\"message\":"
		       "\"wrong rv\"}}\n", 0);
		chunk_end(fd);
	}
}

static void test_bookmark_advances_rv(void)
{
	struct kube_reflect_opts o = { .path = "/api/v1/pods",
				       .fn = record, .backoff_ms = 10 };
	struct kube_client kc;
	struct rec r = { .stop_at = "ADDED b 51" };
	struct tsrv s;

	clear_log();
	tsrv_start(&s, h_bookmark, 0);
	client(&kc, &s, NULL);
	o.arg = &r;
	CHECK_INT(kube_reflect(&kc, &o), 1);
	CHECK_STR(r.text, "RESET 0|ADDED a 9|SYNCED - 10|WATCH - 10|"
		  "BOOKMARK - 50|WATCH - 50|ADDED b 51");
	check_log("resourceVersion=50\n");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* --- 410 Gone -> relist --------------------------------------------------- */

static void h_gone(int fd, int n)
{
	char buf[8192], items[512], *t = req(fd, buf, sizeof(buf));

	if (!t)
		return;
	if (!is_watch(t)) {
		if (n == 1) {
			snprintf(items, sizeof(items), "%s,%s", item("a", "1"),
				 item("b", "2"));
			reply(fd, 200, list("10", NULL, items));
		} else if (n == 3) {
			snprintf(items, sizeof(items), "%s,%s", item("a", "1"),
				 item("c", "11"));
			reply(fd, 200, list("20", NULL, items));
		} else {
			reply(fd, 200, list("30", NULL, item("c", "11")));
		}
		return;
	}
	if (has_rv(t, "20")) {
		/* too old already: a plain HTTP 410 */
		reply(fd, 410, "{\"kind\":\"Status\",\"status\":\"Failure\","
		      "\"message\":\"too old resource version: 20 (25)\","
		      "\"reason\":\"Expired\",\"code\":410}");
		return;
	}
	chunked_head(fd);
	if (has_rv(t, "10")) {
		chunks(fd, ev("ADDED", "c", "11"), 0);
		chunks(fd, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		       "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
		       "\"Failure\",\"message\":\"too old resource version: 11 "
		       "(15)\",\"reason\":\"Expired\",\"code\":410}}\n", 0);
	} else if (has_rv(t, "30")) {
		chunks(fd, ev("MODIFIED", "c", "31"), 0);
	}
	chunk_end(fd);
}

static void test_gone_relists(void)
{
	struct kube_reflect_opts o = { .path = "/api/v1/pods",
				       .fn = record, .backoff_ms = 10,
				       .backoff_max_ms = 20 };
	struct kube_client kc;
	struct rec r = { .stop_at = "MODIFIED c 31" };
	struct tsrv s;

	tsrv_start(&s, h_gone, 0);
	client(&kc, &s, NULL);
	o.arg = &r;
	CHECK_INT(kube_reflect(&kc, &o), 1);
	CHECK_STR(r.text, "RESET 0|ADDED a 1|ADDED b 2|SYNCED - 10|"
		  "WATCH - 10|ADDED c 11|"
		  "RESET 410|ADDED a 1|ADDED c 11|SYNCED - 20|WATCH - 20|"
		  "RETRY 410|"
		  "RESET 410|ADDED c 11|SYNCED - 30|WATCH - 30|"
		  "MODIFIED c 31");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

static void test_watch_error_event(void)
{
	struct kube_client kc;
	struct rec r = { .stop_at = NULL };
	char rv[KUBE_RV_MAX] = "99";
	struct tsrv s;

	tsrv_start(&s, h_bookmark, 0);
	client(&kc, &s, NULL);
	CHECK_INT(kube_watch(&kc, "/api/v1/pods", NULL, rv, sizeof(rv),
			     record, &r), -EREMOTEIO);
	CHECK_HAS(kc.err, "/api/v1/pods: watch ERROR 400 BadRequest: "
		  "wrong rv");
	CHECK_INT(kc.status, 400);
	CHECK_STR(rv, "99");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* --- a dropped stream resumes from the last event ------------------------- */

static void h_drop(int fd, int n)
{
	char buf[8192], *t = req(fd, buf, sizeof(buf));

	if (!t)
		return;
	if (!is_watch(t)) {
		reply(fd, 200, list("10", NULL, ""));
		return;
	}
	chunked_head(fd);
	if (has_rv(t, "10")) {
		chunks(fd, ev("ADDED", "x", "11"), 0);
		chunks(fd, "{\"type\":\"ADDED\",\"object\":{\"metadata\"", 0);
		/* reset: no last chunk */
		return;
	}
	if (has_rv(t, "11"))
		chunks(fd, ev("ADDED", "y", "12"), 0);
	chunk_end(fd);
}

static void test_resume_after_drop(void)
{
	struct kube_reflect_opts o = { .path = "/api/v1/pods",
				       .fn = record, .backoff_ms = 10 };
	struct kube_client kc;
	struct rec r = { .stop_at = "ADDED y 12" };
	struct tsrv s;

	clear_log();
	tsrv_start(&s, h_drop, 0);
	client(&kc, &s, NULL);
	o.arg = &r;
	CHECK_INT(kube_reflect(&kc, &o), 1);
	CHECK_STR(r.text, "RESET 0|SYNCED - 10|WATCH - 10|ADDED x 11|"
		  "RETRY -74|WATCH - 11|ADDED y 12");
	CHECK(r.ndelays == 1 && r.delays[0] >= 5 && r.delays[0] <= 10);
	check_log("resourceVersion=11\n");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* --- token re-read -------------------------------------------------------- */

static char srv_token[128];	/* file with the token the server wants */

static void h_token(int fd, int n)
{
	char buf[8192], want[200], hdr[256], *t = req(fd, buf, sizeof(buf));
	FILE *f;

	if (!t)
		return;
	want[0] = '\0';
	f = fopen(srv_token, "r");
	if (f) {
		if (!fgets(want, sizeof(want), f))
			want[0] = '\0';
		fclose(f);
	}
	snprintf(hdr, sizeof(hdr), "\r\nAuthorization: Bearer %s\r\n", want);
	if (want[0] && strstr(t + strlen(t) + 1, hdr))
		reply(fd, 200, "{\"kind\":\"Namespace\"}");
	else
		reply(fd, 401, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
		      "\"metadata\":{},\"status\":\"Failure\",\"message\":"
		      "\"Unauthorized\",\"reason\":\"Unauthorized\","
		      "\"code\":401}");
}

static void test_token_reread(void)
{
	struct kube_client kc;
	struct json_doc d;
	struct arena a;
	char tf[128];
	struct tsrv s;
	unsigned req0;

	snprintf(srv_token, sizeof(srv_token), "%s/srv-token", tmpdir);
	snprintf(tf, sizeof(tf), "%s/token", tmpdir);
	write_file(srv_token, "tok-A");
	write_file(tf, "  tok-A\n");
	tsrv_start(&s, h_token, 0);
	client(&kc, &s, tf);
	kc.cfg.token_reload_s = 3600;
	arena_init(&a);
	CHECK_INT(kube_get(&kc, "/api/v1/namespaces/default", &a, &d), 0);
	CHECK_INT(kc.token_reads, 1);
	/* rotated: the 401 makes the client re-read and retry once */
	write_file(srv_token, "tok-B");
	write_file(tf, "tok-B\n");
	req0 = kc.requests;
	CHECK_INT(kube_get(&kc, "/api/v1/namespaces/default", &a, &d), 0);
	CHECK_INT(kc.requests - req0, 2);
	CHECK_INT(kc.token_reads, 2);
	/* re-read before each request (reload period < 0): no 401 */
	kc.cfg.token_reload_s = -1;
	write_file(srv_token, "tok-C");
	write_file(tf, "tok-C");
	req0 = kc.requests;
	CHECK_INT(kube_get(&kc, "/api/v1/namespaces/default", &a, &d), 0);
	CHECK_INT(kc.requests - req0, 1);
	/* a token file that vanished: the last token stays in use */
	unlink(tf);
	CHECK_INT(kube_get(&kc, "/api/v1/namespaces/default", &a, &d), 0);
	/* a token the server rejects: clear error, one request only */
	write_file(tf, "tok-C");
	write_file(srv_token, "tok-D");
	req0 = kc.requests;
	CHECK_INT(kube_get(&kc, "/api/v1/namespaces/default", &a, &d),
		  -EACCES);
	CHECK_INT(kc.requests - req0, 1);
	CHECK_INT(kc.status, 401);
	CHECK_HAS(kc.err, "/api/v1/namespaces/default: 401 Unauthorized: "
		  "Unauthorized (bearer token from ");
	CHECK_HAS(kc.err, tf);
	CHECK(!strstr(kc.err, "tok-C"));
	/* a token file holding junk */
	write_file(tf, "tok\001x");
	CHECK_INT(kube_get(&kc, "/api/v1/namespaces/default", &a, &d),
		  -EACCES);
	arena_free_all(&a);
	kube_client_free(&kc);
	tsrv_stop(&s);
}

/* --- backoff, stop, idle -------------------------------------------------- */

static void h_fail(int fd, int n)
{
	char buf[8192];

	if (req(fd, buf, sizeof(buf)))
		reply(fd, 503, "{\"kind\":\"Status\",\"message\":\"etcd is "
		      "down\",\"reason\":\"ServiceUnavailable\",\"code\":503}");
}

static int stop_when_6_retries(void *arg)
{
	return ((struct rec *)arg)->ndelays >= 6;
}

static void test_backoff_bounded_jitter(void)
{
	struct kube_reflect_opts o = { .path = "/api/v1/pods",
				       .fn = record,
				       .stop = stop_when_6_retries,
				       .backoff_ms = 8, .backoff_max_ms = 40,
				       .stop_poll_ms = 5 };
	static const int hi[] = { 8, 16, 32, 40, 40, 40 };
	struct kube_client kc;
	struct rec r = { .stop_at = NULL };
	struct tsrv s;
	int i;

	tsrv_start(&s, h_fail, 0);
	client(&kc, &s, NULL);
	o.arg = o.stop_arg = &r;
	CHECK_INT(kube_reflect(&kc, &o), 0);
	CHECK_INT(r.ndelays, 6);
	for (i = 0; i < 6; i++)
		CHECK(r.delays[i] >= hi[i] / 2 && r.delays[i] <= hi[i]);
	CHECK_HAS(r.text, "RETRY 503");
	CHECK_HAS(kc.err, "503 ServiceUnavailable: etcd is down");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

static void h_silent_watch(int fd, int n)
{
	char buf[8192], *t = req(fd, buf, sizeof(buf));

	if (!t)
		return;
	if (!is_watch(t)) {
		reply(fd, 200, list("10", NULL, ""));
		return;
	}
	/* one chunk in one write, as real servers send them */
	tsrv_say(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "1\r\n\n\r\n");
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int64_t stop_at_ms;

static int stop_by_time(void *arg)
{
	return sock_now_ms() >= stop_at_ms;
}

static void test_stop_while_watching(void)
{
	struct kube_reflect_opts o = { .path = "/api/v1/pods",
				       .fn = record, .stop = stop_by_time,
				       .stop_poll_ms = 20 };
	struct kube_watch_opts wo = { .idle_ms = 300 };
	struct kube_client kc;
	struct rec r = { .stop_at = NULL };
	char rv[KUBE_RV_MAX] = "10";
	struct tsrv s;
	int64_t t0, dt;

	tsrv_start(&s, h_silent_watch, 0);
	client(&kc, &s, NULL);
	o.arg = &r;
	t0 = sock_now_ms();
	stop_at_ms = t0 + 300;
	CHECK_INT(kube_reflect(&kc, &o), 0);
	dt = sock_now_ms() - t0;
	CHECK(dt >= 290 && dt < 1500);
	CHECK_STR(r.text, "RESET 0|SYNCED - 10|WATCH - 10");
	/* a stream that says nothing for idle_ms is dead */
	t0 = sock_now_ms();
	CHECK_INT(kube_watch(&kc, "/api/v1/pods", &wo, rv, sizeof(rv), record,
			     &r), -ETIMEDOUT);
	dt = sock_now_ms() - t0;
	CHECK(dt >= 290 && dt < 1500);
	CHECK_HAS(kc.err, "/api/v1/pods: ");
	CHECK_HAS(kc.err, "no data for 300 ms");
	kube_client_free(&kc);
	tsrv_stop(&s);
}

int main(void)
{
	char cmd[128];

	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kubet-%d", (int)getpid());
	mkdir(tmpdir, 0700);
	snprintf(reqlog, sizeof(reqlog), "%s/requests", tmpdir);
	RUN(test_path);
	RUN(test_in_cluster);
	RUN(test_client_init_errors);
	RUN(test_get_and_status);
	RUN(test_list_paging);
	RUN(test_list_bounded_memory);
	RUN(test_watch_chunk_boundaries);
	RUN(test_watch_late_framing);
	RUN(test_bookmark_advances_rv);
	RUN(test_gone_relists);
	RUN(test_watch_error_event);
	RUN(test_resume_after_drop);
	RUN(test_token_reread);
	RUN(test_backoff_bounded_jitter);
	RUN(test_stop_while_watching);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) < 0)
		perror("rm");
	return test_done();
}
