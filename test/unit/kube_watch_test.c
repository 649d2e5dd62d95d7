/* A command-line driver for lib/kube, for test/e2e/kube_client.sh; run
 * without arguments it tests itself against canned servers.
 *
 * usage: kube_watch_test [CONNECTION] COMMAND [OPTIONS]
 *   CONNECTION: --server URL | --in-cluster SA_DIR (KUBERNETES_SERVICE_*),
 *               --ca FILE, --token-file FILE, --cert FILE --key FILE,
 *               --tls-name NAME, --token-reload SECONDS
 *   COMMAND:    --get PATH
 *               --list RES [--limit N]
 *               --watch RES [--events N] [--watch-timeout S]
 *   OPTIONS:    --namespace NS, --selector L, --field-selector F,
 *               --backoff MS, --backoff-max MS
 * RES: pods, namespaces, nodes, networkpolicies (any core/v1 resource) or
 * an API path.  Output, one line each, flushed:
 *   --list:  ITEM ns/name rv ... then LIST rv=R pages=P items=I
 *   --watch: RESET code [message] / LISTED ns/name rv / SYNCED rv /
 *            WATCH rv / ADDED|MODIFIED|DELETED ns/name rv / BOOKMARK rv /
 *            RETRY code delay_ms message; then DONE events=N (after
 *            --events N watch events) or STOPPED (SIGTERM, SIGINT)
 *   --get:   the object's JSON
 * Failures: "kube_watch_test: MESSAGE" on stderr, exit 1 (2: usage). */
#include "kube.h"
#include "test.h"
#include "test_server.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>

static volatile sig_atomic_t got_signal;

struct cli {
	struct kube_config cfg;
	const char *sa_dir;
	int in_cluster;
	const char *get, *list, *watch;
	const char *ns, *selector, *field_selector;
	int limit, events, watch_timeout, backoff, backoff_max;
	char path[KUBE_PATH_MAX];
	FILE *out;
	int seen;		/* watch events so far */
	int listing;		/* between RESET and SYNCED */
};

static const struct option longopts[] = {
	{ "server", required_argument, NULL, 's' },
	{ "in-cluster", required_argument, NULL, 'I' },
	{ "ca", required_argument, NULL, 'c' },
	{ "token-file", required_argument, NULL, 't' },
	{ "cert", required_argument, NULL, 'C' },
	{ "key", required_argument, NULL, 'K' },
	{ "tls-name", required_argument, NULL, 'N' },
	{ "token-reload", required_argument, NULL, 'r' },
	{ "get", required_argument, NULL, 'g' },
	{ "list", required_argument, NULL, 'l' },
	{ "watch", required_argument, NULL, 'w' },
	{ "limit", required_argument, NULL, 'L' },
	{ "events", required_argument, NULL, 'e' },
	{ "watch-timeout", required_argument, NULL, 'T' },
	{ "namespace", required_argument, NULL, 'n' },
	{ "selector", required_argument, NULL, 'S' },
	{ "field-selector", required_argument, NULL, 'F' },
	{ "backoff", required_argument, NULL, 'b' },
	{ "backoff-max", required_argument, NULL, 'B' },
	{ NULL, 0, NULL, 0 },
};

static int set(char *dst, size_t cap, const char *v)
{
	return snprintf(dst, cap, "%s", v) >= (int)cap ? -1 : 0;
}

static int parse_opt(struct cli *c, int o, const char *v)
{
	switch (o) {
	case 's': return set(c->cfg.server, sizeof(c->cfg.server), v);
	case 'I': c->in_cluster = 1; c->sa_dir = v; return 0;
	case 'c': return set(c->cfg.ca_file, sizeof(c->cfg.ca_file), v);
	case 't': return set(c->cfg.token_file, sizeof(c->cfg.token_file), v);
	case 'C': return set(c->cfg.cert_file, sizeof(c->cfg.cert_file), v);
	case 'K': return set(c->cfg.key_file, sizeof(c->cfg.key_file), v);
	case 'N': return set(c->cfg.tls_name, sizeof(c->cfg.tls_name), v);
	case 'r': c->cfg.token_reload_s = atoi(v); return 0;
	case 'g': c->get = v; return 0;
	case 'l': c->list = v; return 0;
	case 'w': c->watch = v; return 0;
	case 'L': c->limit = atoi(v); return 0;
	case 'e': c->events = atoi(v); return 0;
	case 'T': c->watch_timeout = atoi(v); return 0;
	case 'n': c->ns = v; return 0;
	case 'S': c->selector = v; return 0;
	case 'F': c->field_selector = v; return 0;
	case 'b': c->backoff = atoi(v); return 0;
	case 'B': c->backoff_max = atoi(v); return 0;
	default: return -1;
	}
}

/* RES -> API path */
static int resource_path(struct cli *c, const char *res)
{
	const char *gv = "v1";

	if (res[0] == '/')
		return set(c->path, sizeof(c->path), res);
	if (!strcmp(res, "networkpolicies"))
		gv = "networking.k8s.io/v1";
	return kube_path(c->path, sizeof(c->path), gv, c->ns, res, NULL);
}

static void print_obj(struct cli *c, const char *what,
		      const struct kube_event *e)
{
	const char *ns = NULL, *name = NULL;
	int md = json_find(e->doc, e->obj, "metadata");

	json_get_str(e->doc, md, "namespace", &ns, NULL);
	json_get_str(e->doc, md, "name", &name, NULL);
	fprintf(c->out, "%s %s%s%s %s\n", what, ns ? ns : "", ns ? "/" : "",
		name ? name : "?", e->rv);
}

static int on_event(void *arg, const struct kube_event *e)
{
	static const char *names[] = { "?", "ADDED", "MODIFIED", "DELETED" };
	struct cli *c = arg;

	switch (e->type) {
	case KUBE_EV_RESET:
		c->listing = 1;
		fprintf(c->out, "RESET %d%s%s\n", e->code, e->code ? " " : "",
			e->message);
		break;
	case KUBE_EV_SYNCED:
		c->listing = 0;
		fprintf(c->out, "SYNCED %s\n", e->rv);
		break;
	case KUBE_EV_WATCH:
		fprintf(c->out, "WATCH %s\n", e->rv);
		break;
	case KUBE_EV_RETRY:
		fprintf(c->out, "RETRY %d %d %s\n", e->code, e->delay_ms,
			e->message);
		break;
	case KUBE_EV_BOOKMARK:
		fprintf(c->out, "BOOKMARK %s\n", e->rv);
		break;
	default:
		print_obj(c, c->listing ? "LISTED" : c->list ? "ITEM" :
			  names[e->type], e);
		if (!c->listing && !c->list)
			c->seen++;
	}
	fflush(c->out);
	return c->events > 0 && c->seen >= c->events;
}

static int stop_on_signal(void *arg)
{
	return got_signal;
}

static int run(struct cli *c, struct kube_client *kc)
{
	struct kube_list_opts lo = { .label_selector = c->selector,
				     .field_selector = c->field_selector,
				     .limit = c->limit };
	struct kube_reflect_opts ro = { .path = c->path, .fn = on_event,
					.arg = c, .stop = stop_on_signal,
					.label_selector = c->selector,
					.field_selector = c->field_selector,
					.page_size = c->limit,
					.watch_timeout_s = c->watch_timeout,
					.backoff_ms = c->backoff,
					.backoff_max_ms = c->backoff_max };
	struct kube_list_result res;
	struct json_doc d;
	struct arena a;
	const char *raw;
	size_t len;
	int rc;

	if (c->get) {
		arena_init(&a);
		rc = kube_get(kc, c->get, &a, &d);
		if (rc == 0) {
			raw = json_raw(&d, 0, &len);
			fprintf(c->out, "%.*s\n", (int)len, raw);
		}
		arena_free_all(&a);
		return rc;
	}
	if (c->list) {
		rc = kube_list(kc, c->path, &lo, on_event, c, &res);
		if (rc == 0)
			fprintf(c->out, "LIST rv=%s pages=%u items=%u\n",
				res.resource_version, res.pages, res.items);
		return rc;
	}
	rc = kube_reflect(kc, &ro);
	if (rc == 0)
		fprintf(c->out, "STOPPED\n");
	else if (rc > 0)
		fprintf(c->out, "DONE events=%d\n", c->seen);
	return rc > 0 ? 0 : rc;
}

/* The whole command: exit status 0, 1 (failure) or 2 (usage). */
static int cli_main(int argc, char **argv, FILE *out, FILE *errs)
{
	static struct kube_client kc;
	struct cli c = { .out = out };
	char err[KUBE_ERR_SIZE];
	int o, rc;

	kube_config_init(&c.cfg);
	optind = 0;
	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (parse_opt(&c, o, optarg) < 0)
			goto usage;
	if (optind != argc || !!c.get + !!c.list + !!c.watch != 1 ||
	    (!c.in_cluster && !c.cfg.server[0]))
		goto usage;
	if (!c.get && resource_path(&c, c.list ? c.list : c.watch) < 0)
		goto usage;
	if (c.in_cluster && kube_config_in_cluster(&c.cfg, c.sa_dir, err,
						   sizeof(err)) < 0) {
		fprintf(errs, "kube_watch_test: %s\n", err);
		return 1;
	}
	rc = kube_client_init(&kc, &c.cfg, err, sizeof(err));
	if (rc == 0)
		rc = run(&c, &kc);
	if (rc < 0)
		fprintf(errs, "kube_watch_test: %s\n", kc.err[0] ? kc.err : err);
	fflush(out);
	kube_client_free(&kc);
	return rc < 0 ? 1 : 0;
usage:
	fprintf(errs, "usage: kube_watch_test --server URL|--in-cluster DIR "
		"[--ca F] [--token-file F] [--cert F --key F]\n"
		"  --get PATH | --list RES [--limit N] | --watch RES "
		"[--events N]\n");
	return 2;
}

/* --- unit tests: the driver against canned servers ---------------------- */

static void say_json(int fd, const char *body)
{
	tsrv_reply(fd, 200, "Content-Type: application/json\r\n"
		   "Connection: close\r\n", body);
}

static void h_api(int fd, int n)
{
	char buf[8192];

	if (tsrv_read_request(fd, buf, sizeof(buf)) <= 0)
		return;
	if (!strncmp(buf, "GET /api/v1/pods?limit=1 ", 25))
		say_json(fd, "{\"metadata\":{\"resourceVersion\":\"7\","
			 "\"continue\":\"k\"},\"items\":[{\"metadata\":"
			 "{\"name\":\"a\",\"namespace\":\"x\","
			 "\"resourceVersion\":\"3\"}}]}");
	else if (!strncmp(buf, "GET /api/v1/pods?limit=1&continue=k ", 36))
		say_json(fd, "{\"metadata\":{\"resourceVersion\":\"7\"},"
			 "\"items\":[{\"metadata\":{\"name\":\"b\","
			 "\"namespace\":\"x\",\"resourceVersion\":\"5\"}}]}");
	else if (!strncmp(buf, "GET /apis/networking.k8s.io/v1/namespaces/x/"
			  "networkpolicies?limit=500 ", 70))
		say_json(fd, "{\"metadata\":{\"resourceVersion\":\"9\"},"
			 "\"items\":[{\"metadata\":{\"name\":\"deny\","
			 "\"namespace\":\"x\",\"resourceVersion\":\"8\"}}]}");
	else if (!strncmp(buf, "GET /api/v1/nodes?watch=1&allowWatchBookmarks="
			  "true&timeoutSeconds=30&resourceVersion=4 ", 87))
		tsrv_say(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			 "Connection: close\r\n\r\n"
			 "4b\r\n{\"type\":\"ADDED\",\"object\":{\"metadata\":{"
			 "\"name\":\"n2\",\"resourceVersion\":\"5\"}}}\n\r\n");
	else if (!strncmp(buf, "GET /api/v1/nodes?limit=500 ", 28))
		say_json(fd, "{\"metadata\":{\"resourceVersion\":\"4\"},"
			 "\"items\":[{\"metadata\":{\"name\":\"n1\","
			 "\"resourceVersion\":\"2\"}}]}");
	else if (!strncmp(buf, "GET /api/v1/nodes/n1 ", 21))
		say_json(fd, "{\"kind\":\"Node\"}");
	else
		tsrv_reply(fd, 404, "Connection: close\r\n", "{\"kind\":"
			   "\"Status\",\"message\":\"no\",\"code\":404}");
}

static int cli(const char *args, char *out, size_t cap, char *errs,
	       size_t ecap)
{
	char buf[1024], *argv[40], *p;
	FILE *o = fmemopen(out, cap, "w"), *e = fmemopen(errs, ecap, "w");
	int argc = 0, rc;

	snprintf(buf, sizeof(buf), "kube_watch_test %s", args);
	for (p = strtok(buf, " "); p && argc < 39; p = strtok(NULL, " "))
		argv[argc++] = p;
	argv[argc] = NULL;
	rc = cli_main(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return rc;
}

static char out[4096], errs[2048];

static void test_cli_list(void)
{
	struct tsrv s;
	char args[200];

	tsrv_start(&s, h_api, 0);
	snprintf(args, sizeof(args), "--server http://127.0.0.1:%d --list pods "
		 "--limit 1", s.port);
	CHECK_INT(cli(args, out, sizeof(out), errs, sizeof(errs)), 0);
	CHECK_STR(out, "ITEM x/a 3\nITEM x/b 5\nLIST rv=7 pages=2 items=2\n");
	snprintf(args, sizeof(args), "--server http://127.0.0.1:%d "
		 "--namespace x --list networkpolicies", s.port);
	CHECK_INT(cli(args, out, sizeof(out), errs, sizeof(errs)), 0);
	CHECK_STR(out, "ITEM x/deny 8\nLIST rv=9 pages=1 items=1\n");
	snprintf(args, sizeof(args), "--server http://127.0.0.1:%d --get "
		 "/api/v1/nodes/n1", s.port);
	CHECK_INT(cli(args, out, sizeof(out), errs, sizeof(errs)), 0);
	CHECK_STR(out, "{\"kind\":\"Node\"}\n");
	snprintf(args, sizeof(args), "--server http://127.0.0.1:%d --get "
		 "/api/v1/nodes/n9", s.port);
	CHECK_INT(cli(args, out, sizeof(out), errs, sizeof(errs)), 1);
	CHECK(strstr(errs, "kube_watch_test: GET http://127.0.0.1:") != NULL);
	CHECK(strstr(errs, "/api/v1/nodes/n9: 404 X: no\n") != NULL);
	tsrv_stop(&s);
}

static void test_cli_watch(void)
{
	struct tsrv s;
	char args[200];

	tsrv_start(&s, h_api, 0);
	snprintf(args, sizeof(args), "--server http://127.0.0.1:%d --watch "
		 "nodes --events 1 --watch-timeout 30", s.port);
	CHECK_INT(cli(args, out, sizeof(out), errs, sizeof(errs)), 0);
	CHECK_STR(out, "RESET 0\nLISTED n1 2\nSYNCED 4\nWATCH 4\nADDED n2 5\n"
		  "DONE events=1\n");
	tsrv_stop(&s);
}

static void test_cli_usage_and_errors(void)
{
	CHECK_INT(cli("--list pods", out, sizeof(out), errs, sizeof(errs)), 2);
	CHECK(strstr(errs, "usage:") != NULL);
	CHECK_INT(cli("--server http://x --list pods --watch pods", out,
		      sizeof(out), errs, sizeof(errs)), 2);
	CHECK_INT(cli("--server http://x --list a/b", out, sizeof(out), errs,
		      sizeof(errs)), 2);
	CHECK_INT(cli("--server http://127.0.0.1:1 --list pods", out,
		      sizeof(out), errs, sizeof(errs)), 1);
	CHECK(strstr(errs, "connect 127.0.0.1:1") != NULL);
	CHECK_INT(cli("--server http://127.0.0.1:1 --token-file /nonexistent/t "
		      "--list pods", out, sizeof(out), errs, sizeof(errs)), 1);
	CHECK(strstr(errs, "token file /nonexistent/t: No such file") != NULL);
	unsetenv("KUBERNETES_SERVICE_HOST");
	CHECK_INT(cli("--in-cluster /nonexistent --list pods", out,
		      sizeof(out), errs, sizeof(errs)), 1);
	CHECK(strstr(errs, "KUBERNETES_SERVICE_HOST is not set") != NULL);
}

static void on_signal(int sig)
{
	got_signal = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	signal(SIGPIPE, SIG_IGN);
	if (argc > 1) {
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		return cli_main(argc, argv, stdout, stderr);
	}
	RUN(test_cli_list);
	RUN(test_cli_watch);
	RUN(test_cli_usage_and_errors);
	return test_done();
}
