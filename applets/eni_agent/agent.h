/* eni-agent run: the node daemon's internals, shared by its files.
 *
 * Threads (all state in one struct agent, no globals):
 *   main    poll loop: the CNI socket (server.c, handle.c), metrics and
 *           /healthz (metrics.c), signals, timers (gc.c); never blocks on
 *           the network: an alloc that needs the cloud waits, bounded.
 *   worker  every cloud and netlink call (worker.c, eni.c, cloud.c,
 *           discover.c, links.c, vpcroute.c): discovery, reconcile, pool
 *           growth and shrink, exclusive ENIs, leaked ENIs, route entry.
 *   kube    list+watch of this node's pods, and of the node (vpc mode)
 *           (kube.c), one lib/kube client each.
 * Shared data (struct ea_pool, pods, metrics) is under agent.mu; the
 * worker never holds it across a cloud call.  The worker sleeps on
 * agent.work; main sleeps in poll() and is woken through agent.wake_fd. */
#ifndef VPCNET_EA_AGENT_H
#define VPCNET_EA_AGENT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>

#include "aliyun.h"
#include "eni_agent.h"
#include "ip.h"
#include "log.h"

#define EA_DEFAULT_SOCKET	"/run/vpcnet/eni-agent.sock"
#define EA_DEFAULT_STATE_DIR	"/var/lib/vpcnet/eni-agent"
#define EA_DEFAULT_METRICS_PORT	9483
#define EA_PROTO_VERSION	1
#define EA_ID_MAX	64	/* eni-..., vsw-..., i-... */
#define EA_MAC_MAX	18
#define EA_CID_MAX	256	/* container ID, as lib/eniproto */
#define EA_NS_MAX	254	/* namespace (as lib/eniproto) */
#define EA_NAME_MAX	254	/* pod name: DNS subdomain */
#define EA_UID_MAX	64
#define EA_MSG_MAX	512
#define EA_MAX_VSW	16
#define EA_MAX_SG	10
#define EA_MAX_TAGS	16
#define EA_MAX_RATES	24
#define EA_MAX_ENI_IPS	64	/* IPs of one ENI we track */
#define EA_TAG_CREATOR	"creator"
#define EA_TAG_CREATOR_V "vpcnet-eni-agent"
#define EA_TAG_INSTANCE	"vpcnet.io/instance"
#define EA_TAG_MODE	"vpcnet.io/mode"	/* "eni" on exclusive ENIs */

enum ea_mode { EA_MODE_ENIIP, EA_MODE_VPC, EA_MODE_ENI };
const char *ea_mode_name(enum ea_mode m);

/* --- configuration (conf.c) ----------------------------------------------- */

enum ea_cred_kind { EA_CRED_NONE, EA_CRED_KEY, EA_CRED_FILE, EA_CRED_ENV,
		    EA_CRED_ROLE };
enum ea_vsw_policy { EA_VSW_MOST_FREE, EA_VSW_ORDERED };

struct ea_conf {
	char path[256];
	/* cloud */
	char region[64];
	struct aliyun_cred cred;	/* access_key/access_secret */
	enum ea_cred_kind cred_kind;	/* what was configured */
	char credential_path[256];
	char ram_role[128];		/* "": the attached one */
	char ecs_endpoint[256], vpc_endpoint[256];	/* "": public */
	char ca_file[256];		/* OpenAPI trust anchors */
	char metadata_endpoint[256];
	char route_table_id[EA_ID_MAX];
	/* pool */
	struct { char zone[64]; char id[EA_ID_MAX]; } vsw[EA_MAX_VSW];
	int nvsw;
	enum ea_vsw_policy vsw_policy;
	char sg[EA_MAX_SG][EA_ID_MAX];
	int nsg;
	struct { char key[128]; char value[128]; } tags[EA_MAX_TAGS];
	int ntags;
	int min_pool, max_pool;		/* idle IPs */
	int max_eni;			/* 0: the instance type's */
	int batch;			/* IPs per cloud call, 1..10 */
	struct ipnet service_cidr;	/* family 0: none */
	enum ea_mode mode;		/* EA_MODE_ENIIP or EA_MODE_VPC */
	unsigned int mtu;
	/* Kubernetes */
	char kube_server[256], kube_token_file[256], kube_ca_file[256];
	char node[EA_NAME_MAX];
	/* local */
	char socket[108];
	char state_dir[256];
	char subnet_file[256];
	struct ipnet cluster_cidr;	/* FLANNEL_NETWORK; vpc mode */
	int ipmasq;
	char link_netns[256];		/* "": our own */
	char metrics_addr[64];
	int metrics_port;		/* 0: off */
	enum log_level log_level;
	int log_level_set;		/* by the file or a flag */
	/* timing, milliseconds */
	int gc_grace_ms, gc_interval_ms, pool_sync_ms, alloc_timeout_ms;
	int attach_timeout_ms, link_timeout_ms, pod_wait_ms;
	/* OpenAPI rate limits: requests per minute; "*" is every action */
	struct { char action[48]; int per_min; } rate[EA_MAX_RATES];
	int nrate;
};

/* Defaults, then the JSON file at path (a missing file is fatal only
 * when must_exist).  0, or -EINVAL with err naming the key; unknown keys
 * are logged as warnings. */
void ea_conf_defaults(struct ea_conf *c);
int ea_conf_parse(struct ea_conf *c, const char *path, const char *text,
		  size_t len, char *err, size_t errlen);
int ea_conf_load(struct ea_conf *c, const char *path, int must_exist,
		 char *err, size_t errlen);
/* Cross-key checks after flags were applied (min <= max, vpc mode needs
 * cluster_cidr, ...). */
int ea_conf_check(struct ea_conf *c, char *err, size_t errlen);
/* Go-style duration ("300ms", "1m30s") or a number of seconds. */
int ea_parse_duration(const char *s, int64_t *ms);

/* --- pool planning, pure (plan.c) ----------------------------------------- */

struct ea_plan_eni {
	int nips;		/* IPs on it, primary included */
	int inuse;		/* held by pods (or reserved) */
	int idle_secondary;	/* idle, not the primary */
	int primary_idle;
	int usable;		/* link configured, not deleting, vSwitch ok */
	int cap;		/* most IPs it may hold */
};

struct ea_plan_in {
	const struct ea_plan_eni *eni;	/* the pool's shared ENIs */
	int neni;
	int idle, pending;	/* idle IPs; allocs waiting for one */
	int min, max, batch;
	int attached;		/* ENIs on the instance, primary included */
	int eni_quota;		/* most ENIs (type's EniQuantity, max_eni) */
	int ips_per_eni;
	int can_create;		/* a vSwitch may have free IPs */
};

enum ea_plan_op { EA_PLAN_NONE, EA_PLAN_ASSIGN, EA_PLAN_CREATE,
		  EA_PLAN_UNASSIGN, EA_PLAN_DELETE_ENI, EA_PLAN_FULL };

struct ea_plan {
	enum ea_plan_op op;
	int eni;		/* index into in->eni for ASSIGN, UNASSIGN,
				 * DELETE_ENI */
	int count;		/* IPs to add or remove */
};

int ea_plan_want(int idle, int pending, int min);
int ea_plan_excess(int idle, int pending, int max);
int ea_plan_grow_count(int idle, int pending, int min, int max);
int ea_plan_capacity(int eni_quota, int exclusive, int ips_per_eni);
void ea_plan_step(const struct ea_plan_in *in, struct ea_plan *out);
const char *ea_plan_op_name(enum ea_plan_op op);

struct ea_vsw_info {
	char id[EA_ID_MAX];
	long free;		/* AvailableIpAddressCount; < 0 unknown */
	int blocked;		/* exhausted recently */
};
/* The vSwitch for a new ENI that needs `need` IPs: -1 when none has
 * any free IP. */
int ea_pick_vswitch(const struct ea_vsw_info *v, int n,
		    enum ea_vsw_policy policy, int need);
/* Clamp min/max idle to what the instance can hold. */
void ea_plan_clamp(int capacity, int *min, int *max);

/* --- the pool: ENIs, IPs, allocations (state.c, under agent.mu) ----------- */

enum ea_ip_state { EA_IP_IDLE, EA_IP_INUSE, EA_IP_RELEASING };

struct ea_ip {
	struct in_addr addr;
	unsigned char primary;
	unsigned char state;	/* enum ea_ip_state */
	int64_t since_ms;	/* monotonic: state since */
};

enum ea_eni_state { EA_ENI_LINK, EA_ENI_READY, EA_ENI_DELETING };

struct ea_eni {
	char id[EA_ID_MAX];
	char mac[EA_MAC_MAX];
	char vsw[EA_ID_MAX];
	struct ipnet cidr;	/* the vSwitch's */
	struct ipaddr gw;
	int ifindex;
	unsigned int table;	/* 1000 + ifindex */
	int exclusive;		/* a pod's own ENI (mode eni) */
	int state;		/* enum ea_eni_state */
	int cap;		/* most IPs; lowered on Ipv4CountExceeded */
	int seen;		/* reconcile mark */
	int64_t orphan_ms;	/* exclusive, no pod holds it: since */
	struct ea_ip ip[EA_MAX_ENI_IPS];
	int nips;
};

struct ea_alloc {
	char cid[EA_CID_MAX];	/* "" when reserved from a pod */
	char ifname[16];
	char ns[EA_NS_MAX];
	char name[EA_NAME_MAX];
	char uid[EA_UID_MAX];
	enum ea_mode mode;
	struct in_addr ip;
	char eni[EA_ID_MAX];
	int64_t created;	/* wall clock, seconds */
	int64_t gone_ms;	/* monotonic: pod missing since; 0 present */
};

enum { EA_REQ_WAIT, EA_REQ_TAKEN, EA_REQ_FAILED };

/* An exclusive ENI a pod waits for. */
struct ea_eni_req {
	char cid[EA_CID_MAX], ifname[16];
	char ns[EA_NS_MAX], name[EA_NAME_MAX], uid[EA_UID_MAX];
	int state;		/* EA_REQ_* */
	int cancel;		/* released while the worker had it */
	char msg[EA_MSG_MAX];
	int64_t deadline_ms;
};

struct ea_pool {
	struct ea_eni *eni;
	int neni, ceni;
	struct ea_alloc *alloc;
	int nalloc, calloc;
	struct ea_eni_req *req;
	int nreq, creq;
	int eni_quota;		/* EniQuantity (capped by max_eni) */
	int ips_per_eni;	/* EniPrivateIpAddressQuantity */
	int quota_known;
	int min, max;		/* clamped */
	int pending;		/* eniip allocs waiting (main sets it) */
	/* growth failures, for waiting and new allocs */
	char grow_err[EA_MSG_MAX];
	unsigned grow_err_gen;
	int64_t grow_retry_ms;	/* no new attempt before */
	int dirty;		/* state file must be written */
};

struct ea_pool_count {
	int enis;		/* shared ENIs (ready or not) */
	int exclusive;
	int idle, inuse, releasing, total;
};

void ea_pool_free(struct ea_pool *p);
struct ea_eni *ea_eni_find(struct ea_pool *p, const char *id);
struct ea_eni *ea_eni_by_mac(struct ea_pool *p, const char *mac);
struct ea_eni *ea_eni_add(struct ea_pool *p, const char *id);
void ea_eni_remove(struct ea_pool *p, struct ea_eni *e);
struct ea_ip *ea_ip_find(struct ea_pool *p, struct in_addr a,
			 struct ea_eni **eni);
struct ea_ip *ea_eni_ip_add(struct ea_eni *e, struct in_addr a, int primary,
			    int64_t now);
void ea_eni_ip_remove(struct ea_eni *e, struct in_addr a);
struct ea_alloc *ea_alloc_find(struct ea_pool *p, const char *cid,
			       const char *ifname);
struct ea_alloc *ea_alloc_by_ip(struct ea_pool *p, struct in_addr a);
struct ea_alloc *ea_alloc_reserved(struct ea_pool *p, const char *ns,
				   const char *name);
struct ea_alloc *ea_alloc_add(struct ea_pool *p);
void ea_alloc_remove(struct ea_pool *p, struct ea_alloc *a);
/* An idle IP of a ready shared ENI, or NULL. */
struct ea_ip *ea_pool_take(struct ea_pool *p, struct ea_eni **eni);
void ea_pool_count(const struct ea_pool *p, struct ea_pool_count *c);
/* Inputs of ea_plan_step() for the shared ENIs; eni gets p->neni entries
 * (map[i] = index in p->eni). */
void ea_pool_plan_in(const struct ea_pool *p, struct ea_plan_eni *eni,
		     int *map, struct ea_plan_in *in);
int ea_pool_attached(const struct ea_pool *p);	/* + the primary */
struct in_addr ea_eni_primary(const struct ea_eni *e);
struct ea_eni_req *ea_req_find(struct ea_pool *p, const char *cid,
			       const char *ifname);
struct ea_eni_req *ea_req_add(struct ea_pool *p);
void ea_req_remove(struct ea_pool *p, struct ea_eni_req *r);

/* persist.c: the state file (state_dir/state.json), written atomically */
int ea_state_save(const struct ea_pool *p, const char *dir,
		  const char *instance, char *err, size_t errlen);
/* Allocations only (ENIs come from the cloud): 0, -ENOENT, -errno. */
int ea_state_parse(struct ea_pool *p, const char *text, size_t len,
		   char *instance, size_t instlen, char *err, size_t errlen);
int ea_state_load(struct ea_pool *p, const char *dir, char *instance,
		  size_t instlen, char *err, size_t errlen);

/* --- pods (kube.c) -------------------------------------------------------- */

struct ea_pod {
	char ns[EA_NS_MAX], name[EA_NAME_MAX], uid[EA_UID_MAX];
	struct in_addr ip;	/* status.podIP; 0 none */
	int eni;		/* k8s.aliyun.com/eni */
	int host_network;
	int terminal;		/* Succeeded or Failed */
	uint64_t ingress, egress;	/* bits/s; 0 none */
	char bw_err[160];	/* a bad bandwidth annotation */
	int stale;
};

struct ea_pods {
	struct ea_pod *pod;
	int n, cap;
	int synced;		/* a full list arrived, no RESET since */
	int64_t synced_ms;	/* first time synced (monotonic) */
	char err[EA_MSG_MAX];	/* last failure of the watch */
	unsigned events;
};

struct ea_pod *ea_pod_find(struct ea_pods *ps, const char *ns,
			   const char *name);

/* --- metrics (metrics.c; counters under agent.mu) ------------------------- */

#define EA_MAX_ACTIONS	24
#define EA_MAX_CODES	8

struct ea_api_stat {
	char action[48];
	unsigned long calls, errors;
	double seconds;		/* total latency */
	struct { char code[64]; unsigned long n; } code[EA_MAX_CODES];
};

struct ea_metrics {
	struct ea_api_stat api[EA_MAX_ACTIONS];
	int napi;
	unsigned long alloc_ok[3], alloc_fail[3];	/* by mode */
	unsigned long releases;
	unsigned long gc_pod_ips, gc_enis, ips_returned, enis_created;
	unsigned long enis_deleted, bad_requests;
	double alloc_seconds;	/* answered allocs: total wait */
};

void ea_metric_api(struct ea_metrics *m, const char *action, double secs,
		   const char *err_code);

/* --- the agent ------------------------------------------------------------ */

struct ea_instance {
	char id[EA_ID_MAX], type[64], region[64], zone[64], vpc[EA_ID_MAX];
	char vsw[EA_ID_MAX];
	char mac[EA_MAC_MAX];
	struct in_addr primary_ip;
	struct ipnet vsw_cidr;
	struct ipaddr gw;
};

struct agent {
	struct ea_conf conf;
	pthread_mutex_t mu;
	pthread_cond_t work;	/* the worker waits for work here */
	int wake_fd;		/* eventfd: wakes the main loop */
	int stop;		/* under mu */
	int link_nsfd;		/* netns of the ENI links, or -1 */
	/* under mu: */
	struct ea_pool pool;
	struct ea_pods pods;
	struct ea_metrics m;
	struct ea_instance inst;
	int ready;		/* discovery and first reconcile done */
	char status[EA_MSG_MAX];	/* why not ready / last problem */
	struct ipnet pod_cidr;	/* node.spec.podCIDR; family 0: none */
	int pod_cidr_seen;	/* the node object was read */
	int route_ok;		/* vpc mode: the route entry exists */
	int pods_reserved;	/* reserve_pod_ips() ran */
	int worker_done;
	unsigned work_gen;	/* bumped by ea_kick_worker() */
	char state_instance[EA_ID_MAX];	/* of the state file */
	/* worker only: security groups of new ENIs */
	char sg[EA_MAX_SG][EA_ID_MAX];
	int nsg;
};

void ea_lock(struct agent *ag);
void ea_unlock(struct agent *ag);
void ea_wake_main(struct agent *ag);	/* any thread */
void ea_kick_worker(struct agent *ag);	/* with mu held */
int ea_stopping(struct agent *ag);
/* Write the state file if dirty (mu held); logs failures. */
int ea_save(struct agent *ag);

/* worker.c */
void *ea_worker_main(void *arg);
/* kube.c: the settings usable (CA, token file)? err says why not */
int ea_kube_check(const struct ea_conf *conf, char *err, size_t errlen);
int ea_kube_start(struct agent *ag, pthread_t *pods, pthread_t *node,
		  int *have_node, char *err, size_t errlen);
/* gc.c (main thread, mu held) */
void ea_gc_pods(struct agent *ag, int64_t now);
void ea_reserve_pod_ips(struct agent *ag);
/* Give an allocation back: its IP idle, or its exclusive ENI to the
 * worker for deletion. */
void ea_release_alloc(struct agent *ag, struct ea_alloc *a, int64_t now);
/* No IP can come for one more pod (quota used up): 1 with msg. */
int ea_pool_full(struct agent *ag, char *msg, size_t len);

#endif
