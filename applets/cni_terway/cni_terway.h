/* cni-terway internals, shared by the files of applets/cni_terway/. */
#ifndef VPCNET_CNI_TERWAY_H
#define VPCNET_CNI_TERWAY_H

#include <limits.h>
#include <stdint.h>

#include "arena.h"
#include "bw.h"
#include "cni.h"
#include "eniproto.h"
#include "ipam.h"
#include "nl.h"

#define TW_DEFAULT_DATA_DIR	"/var/lib/vpcnet/cni-terway"
#define TW_DEFAULT_PREFIX	"cali"
#define TW_DEFAULT_MTU		1500
#define TW_LOCK			".vpcnet.lock"
#define TW_STATE_MAX		(64 * 1024)
#define TW_MAX_CIDRS		32
#define TW_GW			"169.254.1.1"	/* Terway's fake gateway */
#define TW_PRIO_TO_POD		512	/* to <podIP> lookup main */
#define TW_PRIO_FROM_POD	2048	/* from <podIP> lookup <ENI's> */
#define TW_ENI_WAIT_MS		10000	/* for the ENI (or timeoutMs) */
#define TW_WAIT_UP_MS		3000
#define TW_RELEASE_MS		10000	/* release: at most */
#define TW_INFO_MS		5000	/* info (STATUS): at most */
#define TW_HOST_PEER		"veth1"	/* eni mode: pod end of the veth */

struct tw_conf {
	struct cni_conf cni;
	const char *socket;
	const char *prefix;		/* host veth names */
	unsigned int mtu;
	const char *data_dir;		/* state files */
	const char *ipam_dir;		/* vpc mode leases, NULL: default */
	int timeout_ms;
	struct ipnet host_stack[TW_MAX_CIDRS];	/* eni: via veth1 */
	int nhost_stack;
	struct bw_limits bw;		/* runtimeConfig.bandwidth */
};

/* One attachment as the state file records it. */
struct tw_state {
	char cid[ENIPROTO_CID_MAX];
	char ifname[ENIPROTO_IFNAME_MAX];
	char netns[ENIPROTO_NETNS_MAX];
	char k8s_ns[ENIPROTO_K8S_MAX];
	char k8s_name[ENIPROTO_K8S_MAX];
	enum eniproto_mode mode;	/* NONE: nothing wired (release only) */
	struct ipnet ip;		/* on the pod's interface */
	struct ipaddr gw;		/* the pod's default gateway */
	uint32_t table;			/* eniip */
	char host_veth[NL_IFNAMSIZ];
	int host_index;			/* 0: not made yet */
	char ifb[NL_IFNAMSIZ];
	struct eniproto_eni eni;	/* eni: mac, id */
	char eni_name[NL_IFNAMSIZ];	/* eni: its name in the host */
	unsigned int eni_mtu;		/* eni: its MTU in the host */
	char ipam_dir[PATH_MAX];	/* vpc: "" = default */
	struct bw_limits bw;		/* applied */
	int pending;			/* torn down, release still owed */
};

struct tw {
	struct arena a;
	struct cni_env env;
	struct cni_args args;
	struct tw_conf c;
	struct cni_error e;
	struct nl *host;
	/* the attachment at hand */
	struct tw_state s;
	int nsfd;			/* pod netns, -1: none/gone */
	struct nl *pod;
	struct eniproto_resp r;		/* the agent's alloc answer */
	struct ipam_lease lease;	/* vpc */
	int agent_down;			/* a release failed: no more tries */
};

/* main.c: print the spec error JSON from t->e and exit 1 */
void tw_die(struct tw *t) __attribute__((noreturn));

/* conf.c */
int tw_conf_load(struct tw *t);
/* Opens netns into t->nsfd and t->pod: required (code 4 when it cannot)
 * or best effort (a missing netns leaves nsfd -1).  Dies on error. */
void tw_open_pod(struct tw *t, const char *netns, int required);
void tw_close_pod(struct tw *t);
void tw_open_host(struct tw *t);
void tw_close(struct tw *t);
int tw_ipam_open(struct tw *t, struct ipam *h);

/* agent.c: alloc fills t->r; -ETIMEDOUT when the agent took too long
 * (it may still allocate), else -1 with t->e set */
int tw_alloc(struct tw *t);
/* 0 released (or nothing to release), -1 not reachable (logged) */
int tw_release(struct tw *t);
int tw_info(struct tw *t);

/* state.c */
void tw_veth_name(const char *prefix, const char *ns, const char *pod,
		  const char *ifname, char out[NL_IFNAMSIZ]);
int tw_state_write(struct tw *t);
/* 0, -ENOENT (no file), -EINVAL (corrupt: logged) */
int tw_state_read(struct tw *t, const char *cid, const char *ifname);
int tw_state_read_file(struct tw *t, const char *path);
/* the state file and its temporaries (a killed ADD's) */
void tw_state_remove(struct tw *t);
void tw_print_result(struct tw *t);

/* veth.c: routed veth (eniip, vpc; eni's host peer) */
int tw_veth_wire(struct tw *t);
void tw_veth_teardown(struct tw *t);
int tw_bw_setup(struct tw *t);
int tw_nlerr(struct tw *t, const char *what, const char *name, int r,
	     const struct nl *nl);

/* eni.c: the exclusive ENI */
int tw_eni_wire(struct tw *t);
void tw_eni_teardown(struct tw *t);

/* check.c */
void tw_check(struct tw *t);

/* gc.c: teardown of t->s (0, or -1 with t->e: the vpc lease is kept);
 * finish releases it to the agent and removes the state file, or keeps
 * the file as "release pending"; gc with the exclusive lock held */
int tw_teardown(struct tw *t);
void tw_finish(struct tw *t);
void tw_gc(struct tw *t);

#endif
