/* netpolicy run: internals shared by run.c (the daemon: options, threads,
 * debounce, sync), store.c (objects from the API, as watch events arrive)
 * and metrics.c (/metrics and /healthz on 127.0.0.1). Prefix npd_. */
#ifndef VPCNET_NETPOLICY_INT_H
#define VPCNET_NETPOLICY_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "kobj.h"
#include "kube.h"

/* --- store.c: one table of objects per resource ---------------------- */

/* An object as the compiler needs it: the fields kobj reads, re-serialised
 * compactly from a valid object (the rest of a Pod, status conditions,
 * managedFields, ..., is dropped: less memory, and changes to it are no
 * changes). */
struct npd_obj {
	char *key;		/* "ns/name", or "name" for a Namespace */
	char *text;		/* trimmed JSON, NUL-terminated */
	size_t len;
	int stale;		/* not seen yet in the current relist */
	void *parsed;		/* kobj_ns/pod/np in npd.cache, or NULL */
};

struct npd_store {
	struct npd_obj **slot;	/* open addressing, linear probing */
	size_t cap, n;
};

enum npd_res { NPD_NS, NPD_PODS, NPD_NPS, NPD_NRES };

struct npd;

/* One resource: its reflector thread, its store, its counters. The store
 * and counters are guarded by npd.mu; kc and scratch are the thread's. */
struct npd_res_state {
	struct npd *d;
	enum npd_res res;
	const char *name;	/* "namespaces", "pods", "networkpolicies" */
	const char *path;
	enum kobj_kind kind;
	struct npd_store store;
	struct kube_client kc;
	struct arena scratch;	/* one event's trimming, reset per event */
	int started, done;	/* thread running / returned */
	int synced;		/* a list completed at least once */
	int listing;		/* between RESET and SYNCED */
	unsigned long events, changes, invalid, api_errors, relists;
	int api_ok;		/* the last request worked */
};

struct npd_stats {
	unsigned long syncs, sync_errors;
	double last_sync_ms;		/* build + compile + program */
	double last_latency_ms;		/* first change seen -> in force */
	double max_latency_ms;
	int64_t last_sync_wall;		/* unix seconds */
	int last_ok;			/* the last sync was applied */
	int local, isolated, classes;
	int chains, sets, rules, elems;
};

struct npd {
	/* settings, fixed after start */
	const char *node;
	int resync_s;
	int metrics_port;
	int no_bridge;
	int debounce_ms, max_delay_ms;
	struct kube_config cfg;

	pthread_mutex_t mu;
	pthread_cond_t cv;	/* changes, thread exits, stop */
	int stop;		/* read with __atomic loads anywhere */
	struct npd_res_state res[NPD_NRES];
	int dirty;
	int64_t first_change_ms, last_change_ms;
	struct npd_stats st;
	uint64_t problems_hash;	/* compiler warnings last logged */
	struct arena cache;	/* parsed objects (npd_obj.parsed); only the
				 * syncing thread allocates or frees it */
};

int npd_stopping(struct npd *d);
void npd_wake(struct npd *d);	/* with d->mu held */

/* store.c */
void npd_store_free(struct npd_store *s);
struct npd_obj *npd_store_get(const struct npd_store *s, const char *key);
/* Insert or replace key's text (copied): 1 if it changed, 0 if the same
 * text was there, -ENOMEM. Clears stale. */
int npd_store_put(struct npd_store *s, const char *key, const char *text,
		  size_t len);
int npd_store_del(struct npd_store *s, const char *key);	/* 1 if held */
void npd_store_mark_stale(struct npd_store *s);
int npd_store_sweep(struct npd_store *s);	/* drop stale; how many */

/* The reflector callback (arg: struct npd_res_state): 0, or -ENOMEM when
 * an event was lost (the caller lists again). */
int npd_on_event(void *arg, const struct kube_event *ev);

/* A kobj_list of everything held (the caller holds d->mu): objects parsed
 * since their last change are reused from d->cache, the others parsed
 * (their tokens in a, the result in d->cache), and the cache is rebuilt
 * when more than about two thirds of it is garbage. Objects that no longer
 * parse are skipped (described in out->problems). */
int npd_build_list(struct npd *d, struct arena *a, struct kobj_list *out);

/* metrics.c: serve until npd_stopping(); fd is a listening socket. */
int npd_metrics_listen(int port, char *err, size_t errlen);
void *npd_metrics_main(void *arg);	/* arg: struct npd_metrics */

struct npd_metrics {
	struct npd *d;
	int fd;
};

/* run.c */
int npd_run_main(int argc, char **argv);

/* main.c: br_netfilter sysctls unless no_bridge; logs why on failure. */
int npd_bridge(int no_bridge);

#endif
