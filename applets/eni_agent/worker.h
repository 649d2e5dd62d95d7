/* eni-agent: the worker thread (worker.c) and its jobs: discovery
 * (discover.c), reconcile with the cloud (reconcile.c), pool growth and
 * shrink and exclusive ENIs (pool.c), the vpc-mode route entry and subnet
 * file (vpcroute.c). */
#ifndef VPCNET_EA_WORKER_H
#define VPCNET_EA_WORKER_H

#include "cloud.h"
#include "links.h"

#define EA_VSW_BLOCK_MS	60000	/* a full vSwitch is left alone this long */

struct ea_net {
	char vsw[EA_ID_MAX];
	struct ipnet cidr;
	struct ipaddr gw;
};

struct ea_worker {
	struct agent *ag;
	struct ea_cloud c;
	struct ea_links links;
	int have_links;
	struct ea_vsw_info vsw[EA_MAX_VSW];	/* candidates, our zone */
	int nvsw;
	int64_t vsw_block_until[EA_MAX_VSW];
	struct ea_net net[32];			/* vSwitch gateway cache */
	int nnet;
	int discovered, reconciled;
	int64_t next_sync_ms;
	int64_t grow_backoff_ms;		/* doubles on failures */
	int64_t shrink_retry_ms;
	/* vpc mode */
	char route_table[EA_ID_MAX];
	struct ipnet route_done, subnet_done;
	int64_t route_retry_ms;
	/* reconcile */
	struct ea_ceni *scan;
	int nscan, cscan;
};

/* discover.c */
int ea_discover(struct ea_worker *w, char *err, size_t errlen);
int ea_vsw_net(struct ea_worker *w, const char *vsw, const char *mac,
	       struct ipnet *cidr, struct ipaddr *gw, char *err,
	       size_t errlen);

/* reconcile.c: ENIs tagged for this instance in the cloud vs the pool
 * (adopt attached ones, delete leaked ones, IP lists, allocations). */
int ea_reconcile(struct ea_worker *w, char *err, size_t errlen);
/* Link and gateway of an attached ENI into e (outside agent.mu). */
int ea_prepare_eni(struct ea_worker *w, struct ea_eni *e, int wait,
		   char *err, size_t errlen);

/* pool.c: one step of growth or shrink: 1 did something, 0 nothing to
 * do, < 0 failed (recorded for the waiting allocs). */
int ea_pool_work(struct ea_worker *w);
int ea_exclusive_work(struct ea_worker *w);
int ea_delete_work(struct ea_worker *w);

/* vpcroute.c */
void ea_route_work(struct ea_worker *w);

#endif
