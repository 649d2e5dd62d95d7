/* The worker thread: every cloud and netlink call happens here, one at a
 * time, never with agent.mu held.  It discovers the instance, reconciles
 * the pool with the cloud (at start, then every pool sync period), and
 * then, each time it is kicked or a second passed: exclusive ENIs for
 * pods, ENIs to delete, pool growth and shrink, the vpc route entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sock.h"
#include "worker.h"

#define START_RETRY_MS	2000
#define MAX_STEPS	64	/* pool steps per wake-up */
#define TICK_MS		1000

static void set_status(struct agent *ag, const char *msg)
{
	ea_lock(ag);
	snprintf(ag->status, sizeof(ag->status), "%s", msg);
	ea_unlock(ag);
}

/* Sleep until kicked, stopped, or ms passed. */
static void wait_work(struct ea_worker *w, unsigned *seen, int64_t ms)
{
	struct agent *ag = w->ag;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	ea_lock(ag);
	while (!ag->stop && ag->work_gen == *seen)
		if (pthread_cond_timedwait(&ag->work, &ag->mu, &ts) ==
		    ETIMEDOUT)
			break;
	*seen = ag->work_gen;
	ea_unlock(ag);
}

/* A state file written on another instance (a copied disk) says nothing
 * about this one. */
static void forget_other_instance(struct agent *ag)
{
	ea_lock(ag);
	if (ag->state_instance[0] && strcmp(ag->state_instance, ag->inst.id)) {
		log_warn("state: written by instance %s, we are %s: its %d "
			 "allocations are dropped", ag->state_instance,
			 ag->inst.id, ag->pool.nalloc);
		ag->pool.nalloc = 0;
		ag->pool.dirty = 1;
		ea_save(ag);
	}
	ea_unlock(ag);
}

/* Discovery and the first reconcile: 0 when done. */
static int start(struct ea_worker *w)
{
	struct agent *ag = w->ag;
	char err[EA_MSG_MAX];

	if (!w->discovered) {
		if (ea_discover(w, err, sizeof(err)) < 0) {
			log_warn("discovery: %s", err);
			set_status(ag, err);
			return -1;
		}
		w->discovered = 1;
		forget_other_instance(ag);
	}
	if (ea_reconcile(w, err, sizeof(err)) < 0) {
		log_warn("reconcile: %s", err);
		set_status(ag, err);
		return -1;
	}
	w->reconciled = 1;
	w->next_sync_ms = sock_now_ms() + ag->conf.pool_sync_ms;
	ea_lock(ag);
	ag->ready = 1;
	ag->status[0] = '\0';
	ea_unlock(ag);
	log_info("ready: %d ENIs in the pool", ag->pool.neni);
	ea_wake_main(ag);
	return 0;
}

static void periodic(struct ea_worker *w)
{
	char err[EA_MSG_MAX];

	if (sock_now_ms() < w->next_sync_ms)
		return;
	w->next_sync_ms = sock_now_ms() + w->ag->conf.pool_sync_ms;
	if (ea_reconcile(w, err, sizeof(err)) < 0)
		log_warn("reconcile: %s", err);
	ea_wake_main(w->ag);
}

static void work(struct ea_worker *w)
{
	int steps;

	ea_cloud_creds(&w->c, 0);
	for (steps = 0; steps < MAX_STEPS && !ea_stopping(w->ag); steps++) {
		if (ea_exclusive_work(w) > 0 || ea_delete_work(w) > 0)
			continue;
		if (ea_pool_work(w) <= 0)
			break;
	}
	ea_route_work(w);
	periodic(w);
}

static int worker_init(struct ea_worker *w, struct agent *ag)
{
	char err[EA_MSG_MAX];
	int rc;

	memset(w, 0, sizeof(*w));
	w->ag = ag;
	rc = ea_cloud_init(&w->c, ag, err, sizeof(err));
	if (rc < 0) {
		log_err("cloud client: %s", err);
		set_status(ag, err);
		return rc;
	}
	rc = ea_links_open(&w->links, ag->link_nsfd);
	if (rc < 0)
		log_err("netlink: %s: ENI links cannot be configured",
			strerror(-rc));
	w->have_links = rc == 0;
	return 0;
}

void *ea_worker_main(void *arg)
{
	struct agent *ag = arg;
	struct ea_worker *w = malloc(sizeof(*w));
	unsigned seen = 0;

	if (w && worker_init(w, ag) == 0) {
		while (!ea_stopping(ag)) {
			if (!w->reconciled && start(w) < 0) {
				wait_work(w, &seen, START_RETRY_MS);
				continue;
			}
			work(w);
			wait_work(w, &seen, TICK_MS);
		}
		ea_cloud_free(&w->c);
		if (w->have_links)
			ea_links_close(&w->links);
		free(w->scan);
	} else if (!w) {
		log_err("worker: out of memory");
	}
	free(w);
	ea_lock(ag);
	ag->worker_done = 1;
	ea_unlock(ag);
	ea_wake_main(ag);
	return NULL;
}
