/* cni-flannel internals, shared by the files of applets/cni_flannel/. */
#ifndef VPCNET_CNI_FLANNEL_H
#define VPCNET_CNI_FLANNEL_H

#include <limits.h>

#include "arena.h"
#include "bw.h"
#include "cni.h"
#include "ipam.h"
#include "netns.h"
#include "nft_masq.h"
#include "nl.h"
#include "subnetenv.h"
#include "tc.h"

#define FL_PATH_MAX 4096
#define FL_DEFAULT_DATA_DIR "/var/lib/cni/flannel"
#define FL_DEFAULT_BRIDGE "cni0"
#define FL_MAX_ROUTES 64
#define FL_WAIT_UP_MS 3000

struct fl_route {
	struct ipnet dst;
	struct ipaddr gw;	/* family 0: the IP's gateway */
};

struct fl_conf {
	struct cni_conf cni;
	const char *subnet_file;
	const char *data_dir;		/* flannel per-container state */
	const char *bridge;
	int is_gw, is_default_gw, hairpin, promisc, force_addr, ipmasq;
	unsigned int mtu;
	const char *ipam_dir;		/* NULL: host-local's default */
	struct fl_route routes[FL_MAX_ROUTES];	/* ipam.routes + networks */
	int nroutes;
	int user_routes;		/* how many came from ipam.routes */
	struct subnetenv se;
	int have_se;
	struct bw_limits bw;		/* resolved, 0 = none */
};

struct fl {
	struct arena a;
	struct cni_env env;
	struct cni_args args;
	struct fl_conf c;
	struct cni_error e;
	int nsfd;			/* pod netns, -1: none/gone */
	struct nl *host, *pod;
	char host_veth[NL_IFNAMSIZ];
	char ifb[NL_IFNAMSIZ];
	int host_index, br_index;
	/* the leases of this attachment, one per range set */
	struct ipam_lease lease[IPAM_MAX_SETS];
	int nlease;
	struct ipam_rangeset sets[2];
	int nsets;
	int state_ipam_dir;		/* ipam dir came from the state file */
};

/* main.c: print the spec error JSON from f->e and exit 1 */
void fl_die(struct fl *f) __attribute__((noreturn));

/* conf.c */
int fl_conf_load(struct fl *f);
/* Opens CNI_NETNS: required (ADD/CHECK: errors are code 4) or best
 * effort (DEL: a missing netns leaves nsfd -1). Dies on error. */
void fl_open_netns(struct fl *f, int required);
void fl_open_nl(struct fl *f);
void fl_close(struct fl *f);

/* ipam glue (conf.c) */
int fl_ipam_open(struct fl *f, struct ipam *h);
int fl_ipam_add(struct fl *f, struct ipam *h);

/* wire.c: bridge, veth, addresses, routes; CHECK; bandwidth */
int fl_wire(struct fl *f);
void fl_check(struct fl *f);
int fl_bw_setup(struct fl *f);
void fl_bw_teardown(struct fl *f);

/* masq.c: called with the network lock held */
int fl_masq_setup(struct fl *f);
void fl_masq_release(struct fl *f, struct ipam *h);

/* state.c: the per-container state file, results, GC */
int fl_state_write(struct fl *f);
void fl_state_read(struct fl *f);
void fl_state_remove(struct fl *f);
void fl_print_result(struct fl *f);
void fl_gc(struct fl *f, struct ipam *h);
void fl_veth_name(const char *cid, const char *ifname, char out[16]);

#endif
