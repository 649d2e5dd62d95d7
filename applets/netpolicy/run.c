/* netpolicy run: list+watch namespaces, pods and networkpolicies through
 * the API server (one reflector thread each, lib/kube), keep them in a
 * store (store.c), and after a burst of changes has been quiet for
 * --debounce-ms (at most max_delay_ms after its first change) compile
 * everything and replace the table in one atomic batch (np_nft_apply).
 *
 * Nothing is programmed until each of the three lists has completed once,
 * and a sync waits while a relist (after 410 Gone) is in progress: the
 * table in force is never replaced by a partial view. API errors, failed
 * syncs and invalid objects leave the table in force as it is; SIGTERM and
 * SIGINT stop the threads and exit 0 with the rules in force (netpolicy
 * flush removes them).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../applets.h"
#include "log.h"
#include "netpolicy.h"
#include "np.h"
#include "np_nft.h"
#include "sock.h"

#define DEF_DEBOUNCE_MS 20
#define DEF_MAX_DELAY_MS 200
#define DEF_RESYNC_S 300
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 10000
#define EXIT_WAIT_MS 3000
#define THREAD_STACK (1u << 20)

static const char optstring[] = "s:t:c:n:r:m:d:Bh";
static const struct option options[] = {
	{ "server", required_argument, NULL, 's' },
	{ "token-file", required_argument, NULL, 't' },
	{ "ca-file", required_argument, NULL, 'c' },
	{ "node", required_argument, NULL, 'n' },
	{ "resync", required_argument, NULL, 'r' },
	{ "metrics-port", required_argument, NULL, 'm' },
	{ "debounce-ms", required_argument, NULL, 'd' },
	{ "no-br-netfilter", no_argument, NULL, 'B' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name, *path;
	enum kobj_kind kind;
} resources[NPD_NRES] = {
	[NPD_NS] = { "namespaces", "/api/v1/namespaces", KOBJ_NAMESPACE },
	[NPD_PODS] = { "pods", "/api/v1/pods", KOBJ_POD },
	[NPD_NPS] = { "networkpolicies",
		      "/apis/networking.k8s.io/v1/networkpolicies",
		      KOBJ_NETPOL },
};

int npd_stopping(struct npd *d)
{
	return __atomic_load_n(&d->stop, __ATOMIC_ACQUIRE);
}

void npd_wake(struct npd *d)
{
	pthread_cond_broadcast(&d->cv);
}

static int set_str(char *dst, size_t cap, const char *src, const char *opt)
{
	if (strlen(src) >= cap) {
		log_err("--%s: longer than %zu bytes", opt, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int set_int(int *dst, const char *s, int lo, int hi, const char *opt)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		log_err("--%s: want a number in [%d, %d], got \"%s\"", opt, lo,
			hi, s);
		return -EINVAL;
	}
	*dst = (int)v;
	return 0;
}

static int parse_opt(struct npd *d, int c, const char *arg)
{
	struct kube_config *k = &d->cfg;

	switch (c) {
	case 's':
		return set_str(k->server, sizeof(k->server), arg, "server");
	case 't':
		return set_str(k->token_file, sizeof(k->token_file), arg,
			       "token-file");
	case 'c':
		return set_str(k->ca_file, sizeof(k->ca_file), arg, "ca-file");
	case 'n':
		d->node = arg;
		return 0;
	case 'r':
		return set_int(&d->resync_s, arg, 0, 86400, "resync");
	case 'm':
		return set_int(&d->metrics_port, arg, 0, 65535,
			       "metrics-port");
	case 'd':
		return set_int(&d->debounce_ms, arg, 0, 10000, "debounce-ms");
	case 'B':
		d->no_bridge = 1;
		return 0;
	case 'h':
		fputs(netpolicy_help, stdout);
		exit(0);
	}
	return -EINVAL;
}

/* 0, 2 for usage errors, 1 for bad settings (logged). */
static int parse_args(struct npd *d, int argc, char **argv)
{
	char err[KUBE_ERR_SIZE] = "";
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, options, NULL)) != -1)
		if (parse_opt(d, c, optarg) < 0)
			return c == '?' ? 2 : 1;
	if (optind != argc)
		return 2;
	if (!d->node || !d->node[0])
		d->node = getenv("NODE_NAME");
	if (!d->node || !d->node[0]) {
		log_err("no node name: set --node NAME or NODE_NAME (the "
			"pods of that node are enforced)");
		return 1;
	}
	if (!d->cfg.server[0] &&
	    kube_config_in_cluster(&d->cfg, NULL, err, sizeof(err)) < 0) {
		log_err("in-cluster config: %s (outside a cluster give "
			"--server, --token-file and --ca-file)", err);
		return 1;
	}
	d->max_delay_ms = d->debounce_ms > DEF_MAX_DELAY_MS / 2 ?
			  d->debounce_ms * 2 : DEF_MAX_DELAY_MS;
	return 0;
}

/* --- threads -------------------------------------------------------- */

static int should_stop(void *arg)
{
	return npd_stopping(arg);
}

static void *reflect_main(void *arg)
{
	struct npd_res_state *r = arg;
	struct kube_reflect_opts o = {
		.path = r->path, .fn = npd_on_event, .arg = r,
		.stop = should_stop, .stop_arg = r->d,
		.backoff_ms = 200, .backoff_max_ms = 5000,
		.stop_poll_ms = 100,
	};
	int rc;

	/* The callback stops the reflector only when it lost an event (out
	 * of memory): start over with a full list, which repairs the store. */
	while ((rc = kube_reflect(&r->kc, &o)) != 0 && !npd_stopping(r->d)) {
		log_err("%s: %s; listing again in 1 s", r->name, rc == -ENOMEM ?
			"out of memory, an event was lost" : r->kc.err);
		poll(NULL, 0, 1000);
	}
	pthread_mutex_lock(&r->d->mu);
	r->done = 1;
	npd_wake(r->d);
	pthread_mutex_unlock(&r->d->mu);
	return NULL;
}

/* SIGTERM, SIGINT (blocked in every thread) end the daemon. */
static void *signal_main(void *arg)
{
	struct npd *d = arg;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (sigwait(&set, &sig) != 0)
		;
	log_info("signal %d: stopping, the rules in force stay (netpolicy "
		 "flush removes them)", sig);
	pthread_mutex_lock(&d->mu);
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	npd_wake(d);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static int spawn(void *(*fn)(void *), void *arg)
{
	pthread_attr_t at;
	pthread_t th;
	int rc;

	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, THREAD_STACK);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, fn, arg);
	pthread_attr_destroy(&at);
	return -rc;
}

static int start_reflectors(struct npd *d)
{
	char err[KUBE_ERR_SIZE] = "";
	struct npd_res_state *r;
	int i, rc;

	for (i = 0; i < NPD_NRES; i++) {
		r = &d->res[i];
		rc = kube_client_init(&r->kc, &d->cfg, err, sizeof(err));
		if (rc < 0) {
			log_err("kube client: %s", err);
			return rc;
		}
	}
	for (i = 0; i < NPD_NRES; i++) {
		r = &d->res[i];
		if ((rc = spawn(reflect_main, r)) < 0) {
			log_err("thread: %s", strerror(-rc));
			return rc;
		}
		r->started = 1;
	}
	return 0;
}

/* --- syncing ------------------------------------------------------- */

static int ready(const struct npd *d)
{
	int i;

	for (i = 0; i < NPD_NRES; i++)
		if (!d->res[i].synced || d->res[i].listing)
			return 0;
	return 1;
}

struct sync_state {
	int64_t retry_at;	/* after a failed sync */
	int fails;
	int64_t last_ms;	/* monotonic time of the last sync */
};

/* When the next sync is due (monotonic ms), or -1: nothing to do. */
static int64_t due_ms(const struct npd *d, const struct sync_state *ss)
{
	int64_t t, m;

	if (!ready(d))
		return -1;
	if (d->dirty) {
		t = d->last_change_ms + d->debounce_ms;
		m = d->first_change_ms + d->max_delay_ms;
		t = t < m ? t : m;
		return ss->retry_at > t ? ss->retry_at : t;
	}
	if (d->resync_s > 0 && d->st.syncs)
		return ss->last_ms + (int64_t)d->resync_s * 1000;
	return -1;
}

static uint64_t problems_hash(const struct kobj_list *l,
			      const struct np_ruleset *rs)
{
	uint64_t h = 1469598103934665603ull;
	const char *p;
	int i;

	for (i = 0; i < l->nproblems + rs->nproblems; i++) {
		p = i < l->nproblems ? l->problems[i] :
		    rs->problems[i - l->nproblems];
		for (; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ '\n') * 1099511628211ull;
	}
	return h;
}

static void log_problems(struct npd *d, const struct kobj_list *l,
			 const struct np_ruleset *rs)
{
	uint64_t h = problems_hash(l, rs);
	int i;

	if (h == d->problems_hash)
		return;
	d->problems_hash = h;
	for (i = 0; i < l->nproblems; i++)
		log_warn("skipped: %s", l->problems[i]);
	for (i = 0; i < rs->nproblems; i++)
		log_warn("warning: %s", rs->problems[i]);
}

struct sync_result {
	int rc;
	char msg[512];
	struct np_nft_stats st;
	struct kobj_list list;
	struct np_ruleset rs;
	double build_ms, compile_ms, program_ms;
};

/* Build (d->mu held on entry, released on return), compile, program. */
static void sync_work(struct npd *d, struct arena *a, struct sync_result *res)
{
	struct np_opts o = { d->node };
	struct nft_sock s;
	struct nft_err e;
	int64_t t0 = sock_now_ms(), t1, t2;

	memset(&e, 0, sizeof(e));
	res->rc = npd_build_list(d, a, &res->list);
	pthread_mutex_unlock(&d->mu);
	t1 = sock_now_ms();
	if (res->rc == 0)
		res->rc = np_compile(a, &res->list, &o, &res->rs);
	t2 = sock_now_ms();
	if (res->rc < 0) {
		snprintf(res->msg, sizeof(res->msg), "compile: %s",
			 strerror(-res->rc));
	} else if ((res->rc = nft_open(&s)) < 0) {
		snprintf(res->msg, sizeof(res->msg), "netlink socket: %s",
			 strerror(-res->rc));
	} else {
		res->rc = np_nft_apply(&s, &res->rs, &e, &res->st);
		nft_close(&s);
		if (res->rc < 0)
			nft_err_fmt(&e, res->msg, sizeof(res->msg));
	}
	res->build_ms = (double)(t1 - t0);
	res->compile_ms = (double)(t2 - t1);
	res->program_ms = (double)(sock_now_ms() - t2);
}

static void record(struct npd *d, const struct sync_result *res,
		   double latency)
{
	struct npd_stats *st = &d->st;

	st->last_sync_ms = res->build_ms + res->compile_ms + res->program_ms;
	st->last_ok = res->rc == 0;
	if (res->rc < 0) {
		st->sync_errors++;
		return;
	}
	st->syncs++;
	st->last_sync_wall = (int64_t)time(NULL);
	if (latency >= 0) {
		st->last_latency_ms = latency;
		if (latency > st->max_latency_ms)
			st->max_latency_ms = latency;
	}
	st->local = res->rs.nlocal;
	st->isolated = res->rs.ntgt;
	st->classes = res->rs.ncls;
	st->chains = res->st.chains;
	st->sets = res->st.sets;
	st->rules = res->st.rules;
	st->elems = res->st.elems;
}

/* One sync; d->mu held on entry and on return. */
static void sync_once(struct npd *d, struct sync_state *ss)
{
	struct sync_result *res = calloc(1, sizeof(*res));
	int64_t first = d->first_change_ms;
	int was_dirty = d->dirty;
	double latency;
	struct arena a;

	if (!res) {
		ss->retry_at = sock_now_ms() + RETRY_MIN_MS;
		return;
	}
	d->dirty = 0;
	arena_init(&a);
	sync_work(d, &a, res);	/* releases d->mu */
	latency = was_dirty ? (double)(sock_now_ms() - first) : -1;
	pthread_mutex_lock(&d->mu);
	record(d, res, latency);
	ss->last_ms = sock_now_ms();
	if (res->rc < 0) {
		ss->fails++;
		ss->retry_at = ss->last_ms + (RETRY_MIN_MS << (ss->fails < 6 ?
					      ss->fails - 1 : 5));
		if (ss->retry_at > ss->last_ms + RETRY_MAX_MS)
			ss->retry_at = ss->last_ms + RETRY_MAX_MS;
		if (!d->dirty)
			d->first_change_ms = first;
		d->dirty = 1;	/* try again; the old table stays */
	} else {
		ss->fails = 0;
		ss->retry_at = 0;
		log_problems(d, &res->list, &res->rs);
	}
	pthread_mutex_unlock(&d->mu);
	if (res->rc < 0)
		log_err("sync failed, the table in force stays: %s (retry "
			"in %" PRId64 " ms)", res->msg,
			ss->retry_at - ss->last_ms);
	else
		log_info("synced reason=%s namespaces=%d pods=%d policies=%d "
			 "local=%d isolated=%d classes=%d chains=%d sets=%d "
			 "rules=%d elements=%d build_ms=%.0f compile_ms=%.0f "
			 "program_ms=%.0f latency_ms=%.0f",
			 was_dirty ? "change" : "resync", res->list.nns,
			 res->list.npods, res->list.nnps, res->rs.nlocal,
			 res->rs.ntgt, res->rs.ncls, res->st.chains,
			 res->st.sets, res->st.rules, res->st.elems,
			 res->build_ms, res->compile_ms, res->program_ms,
			 latency);
	arena_free_all(&a);
	free(res);
	pthread_mutex_lock(&d->mu);
}

static void wait_until(struct npd *d, int64_t mono_ms)
{
	struct timespec ts;

	ts.tv_sec = mono_ms / 1000;
	ts.tv_nsec = (mono_ms % 1000) * 1000000L;
	pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static void loop(struct npd *d)
{
	struct sync_state ss = { 0, 0, 0 };
	int64_t now, due;

	pthread_mutex_lock(&d->mu);
	while (!npd_stopping(d)) {
		now = sock_now_ms();
		due = due_ms(d, &ss);
		if (due >= 0 && now >= due) {
			sync_once(d, &ss);
			continue;
		}
		wait_until(d, due >= 0 && due < now + 1000 ? due : now + 1000);
	}
	pthread_mutex_unlock(&d->mu);
}

/* After stop: give the threads a moment to return (a request stuck on a
 * dead server is not waited for: exiting ends it). 1 if all returned. */
static int wait_threads(struct npd *d)
{
	int64_t end = sock_now_ms() + EXIT_WAIT_MS;
	int i, all = 0;

	pthread_mutex_lock(&d->mu);
	while (!all && sock_now_ms() < end) {
		all = 1;
		for (i = 0; i < NPD_NRES; i++)
			if (d->res[i].started && !d->res[i].done)
				all = 0;
		if (!all)
			wait_until(d, sock_now_ms() + 100);
	}
	pthread_mutex_unlock(&d->mu);
	return all;
}

/* --- set-up ----------------------------------------------------------- */

static int init(struct npd *d)
{
	pthread_condattr_t ca;
	int i;

	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&d->cv, &ca) != 0)
		return -ENOMEM;
	pthread_condattr_destroy(&ca);
	for (i = 0; i < NPD_NRES; i++) {
		d->res[i].d = d;
		d->res[i].res = i;
		d->res[i].name = resources[i].name;
		d->res[i].path = resources[i].path;
		d->res[i].kind = resources[i].kind;
		arena_init(&d->res[i].scratch);
	}
	arena_init(&d->cache);
	return 0;
}

static int start(struct npd *d)
{
	struct npd_metrics *m;
	char err[256] = "";
	sigset_t set;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rc = spawn(signal_main, d)) < 0)
		return rc;
	if (d->metrics_port) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		m->d = d;
		m->fd = npd_metrics_listen(d->metrics_port, err, sizeof(err));
		if (m->fd < 0) {
			rc = m->fd;
			log_err("--metrics-port %d: %s", d->metrics_port, err);
			free(m);
			return rc;
		}
		if ((rc = spawn(npd_metrics_main, m)) < 0)
			return rc;
	}
	return start_reflectors(d);
}

/* The stores and clients, once no thread uses them; d itself stays (the
 * signal and metrics threads hold it until the process exits). */
static void cleanup(struct npd *d, int threads_done)
{
	int i;

	if (!threads_done)
		return;
	for (i = 0; i < NPD_NRES; i++) {
		kube_client_free(&d->res[i].kc);
		npd_store_free(&d->res[i].store);
		arena_free_all(&d->res[i].scratch);
	}
	arena_free_all(&d->cache);
}

int npd_run_main(int argc, char **argv)
{
	struct npd *d = calloc(1, sizeof(*d));
	int rc;

	if (!d) {
		log_err("out of memory");
		return 1;
	}
	kube_config_init(&d->cfg);
	d->resync_s = DEF_RESYNC_S;
	d->debounce_ms = DEF_DEBOUNCE_MS;
	rc = parse_args(d, argc, argv);
	if (rc == 2)
		fputs(netpolicy_help, stderr);
	if (rc == 0 && npd_bridge(d->no_bridge) < 0)
		rc = 1;
	if (rc == 0 && init(d) < 0)
		rc = 1;
	if (rc) {
		free(d);	/* no thread started */
		return rc;
	}
	log_info("watching %s for node %s; until namespaces, pods and "
		 "networkpolicies are listed once, the table in force (if "
		 "any) stays", d->cfg.server, d->node);
	if (start(d) < 0)
		rc = 1;
	else
		loop(d);
	pthread_mutex_lock(&d->mu);
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->mu);
	cleanup(d, wait_threads(d));
	return rc;
}
