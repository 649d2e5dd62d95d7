/* cni-terway: the Terway CNI plugin.  eni-agent (the node daemon) decides
 * the pod's mode and address over its unix socket (lib/eniproto.h); this
 * plugin wires the pod as Terway does: a routed veth with policy routing
 * through the pod's ENI (eniip), the ENI itself moved into the pod (eni),
 * or a routed veth with an address from the node's podCIDR (vpc).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../applets.h"
#include "cni_terway.h"
#include "log.h"
#include "statefile.h"
#include "tc.h"

const char cni_terway_help[] =
"Terway CNI plugin (ENI, ENI IP, VPC modes)\n"
"\n"
"usage: CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION cni-terway <config\n"
"\n"
"A CNI plugin (spec 0.3.0 to 1.1.0) run by the container runtime, as\n"
"/opt/cni/bin/terway or /opt/cni/bin/cni-terway, next to eni-agent.\n"
"ADD asks eni-agent (socket, default " ENIPROTO_SOCKET ") for the\n"
"pod's address (CNI_ARGS K8S_POD_NAMESPACE and K8S_POD_NAME required)\n"
"and wires it in the mode the agent answers:\n"
"  eniip  veth (host side vethPrefix + sha1 of namespace.pod, default\n"
"         prefix cali), pod IP/32, default via 169.254.1.1 with a static\n"
"         neighbour, rules 512 \"to IP lookup main\" and 2048 \"from IP\n"
"         lookup <ENI table>\"\n"
"  eni    the ENI moved into the pod as eth0, plus veth1 to the host for\n"
"         service, node and host_stack_cidrs traffic\n"
"  vpc    veth as eniip, IP from the node's podCIDR (host-local\n"
"         compatible store, ipam.dataDir), main table\n"
"Keys: socket, vethPrefix, mtu (1500), dataDir (state, default\n"
TW_DEFAULT_DATA_DIR "), ipam.dataDir, timeoutMs (30000: ADD\n"
"gives up with code 11), host_stack_cidrs. Bandwidth: the agent's\n"
"(pod annotations), overridden per direction by the `bandwidth`\n"
"capability. STATUS is 50 while the agent does not answer.\n"
"Logs go to stderr (VPCNET_LOG_LEVEL, VPCNET_LOG_FILE).\n";

static const char *const known_args[] = { CNI_ARGS_K8S, NULL };

void tw_die(struct tw *t)
{
	const char *v = t->c.cni.cni_version;

	if (!v || !cni_version_supported(v))
		v = NULL;
	log_debug("error code=%d msg=\"%s\"", t->e.code, t->e.msg);
	cni_error_print(stdout, v, &t->e);
	fflush(stdout);
	exit(1);
}

static int lock(struct tw *t, int exclusive)
{
	char err[STATEFILE_ERRLEN];
	int fd = statefile_lock(t->c.data_dir, TW_LOCK, exclusive, err,
				sizeof(err));

	if (fd < 0) {
		cni_errf(&t->e, CNI_ERR_IO, "%s", err);
		tw_die(t);
	}
	return fd;
}

/* The attachment from the environment (ADD, and DEL without state). */
static void state_from_env(struct tw *t)
{
	struct tw_state *s = &t->s;
	const char *ns = cni_args_get(&t->args, "K8S_POD_NAMESPACE");
	const char *pod = cni_args_get(&t->args, "K8S_POD_NAME");

	memset(s, 0, sizeof(*s));
	snprintf(s->cid, sizeof(s->cid), "%s", t->env.containerid);
	snprintf(s->ifname, sizeof(s->ifname), "%s", t->env.ifname);
	snprintf(s->netns, sizeof(s->netns), "%s",
		 t->env.netns ? t->env.netns : "");
	if (ns && pod && strlen(ns) < sizeof(s->k8s_ns) &&
	    strlen(pod) < sizeof(s->k8s_name)) {
		strcpy(s->k8s_ns, ns);
		strcpy(s->k8s_name, pod);
	}
	tc_ifb_name(t->c.cni.name, s->cid, s->ifname, s->ifb);
}

static void need_k8s(struct tw *t)
{
	const char *ns = cni_args_get(&t->args, "K8S_POD_NAMESPACE");
	const char *pod = cni_args_get(&t->args, "K8S_POD_NAME");

	if (!ns || !*ns || !pod || !*pod) {
		cni_errf(&t->e, CNI_ERR_ENV, "CNI_ARGS K8S_POD_NAMESPACE and "
			 "K8S_POD_NAME are required");
		tw_die(t);
	}
	if (strlen(ns) >= ENIPROTO_K8S_MAX || strlen(pod) >= ENIPROTO_K8S_MAX) {
		cni_errf(&t->e, CNI_ERR_ENV, "CNI_ARGS K8S_POD_NAMESPACE or "
			 "K8S_POD_NAME longer than %d bytes",
			 ENIPROTO_K8S_MAX - 1);
		tw_die(t);
	}
}

static void add_rollback(struct tw *t)
{
	struct cni_error keep = t->e;

	if (tw_teardown(t) < 0)
		log_warn("rollback: %s", t->e.msg);
	else
		tw_finish(t);
	t->e = keep;
}

/* The pod's address from the answer (vpc: from the lease store). */
static int take_address(struct tw *t)
{
	struct ipam_request q = { 0 };
	struct ipam_rangeset set = { .n = 1 };
	char err[IPAM_ERRLEN], buf[IPNET_STRLEN];
	struct ipam h;
	int r;

	t->s.mode = t->r.mode;
	if (t->s.mode != ENIPROTO_MODE_VPC) {
		t->s.eni = t->r.eni;
		t->s.table = t->r.table;
		t->s.ip = t->r.ip;
		t->s.gw = t->r.gateway;
		if (t->s.mode == ENIPROTO_MODE_ENI)
			return 0;
		t->s.ip.prefix = 32;
		return ip_parse(TW_GW, &t->s.gw);
	}
	if (ipam_range_parse(&set.r[0], ipnet_fmt(&t->r.pod_cidr, buf), NULL,
			     NULL, NULL, err, sizeof(err)) < 0 ||
	    ipam_canon(&set, 1, err, sizeof(err)) < 0)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "podCIDR: %s", err);
	if (tw_ipam_open(t, &h) < 0)
		return -1;
	q.cid = t->s.cid;
	q.ifname = t->s.ifname;
	q.sets = &set;
	q.nsets = 1;
	r = ipam_add(&h, &q, &t->lease);
	if (r == -EEXIST)	/* an ADD retried after a crash */
		r = ipam_find(&h, q.cid, q.ifname, &t->lease, 1) == 1 ? 0 : r;
	if (r < 0)
		cni_errf(&t->e, cni_ipam_code(r), "%s", h.err);
	ipam_close(&h);
	if (r < 0)
		return -1;
	snprintf(t->s.ipam_dir, sizeof(t->s.ipam_dir), "%s",
		 t->c.ipam_dir ? t->c.ipam_dir : "");
	t->s.ip = (struct ipnet){ t->lease.ip, 32 };
	return ip_parse(TW_GW, &t->s.gw);
}

static int wire(struct tw *t)
{
	tw_veth_name(t->c.prefix, t->s.k8s_ns, t->s.k8s_name, t->s.ifname,
		     t->s.host_veth);
	if (tw_state_write(t) < 0)
		return -1;
	if (t->s.mode == ENIPROTO_MODE_ENI && tw_eni_wire(t) < 0)
		return -1;
	if (tw_veth_wire(t) < 0 || tw_bw_setup(t) < 0)
		return -1;
	return tw_state_write(t);
}

static void cmd_add(struct tw *t)
{
	int fd, r;

	need_k8s(t);
	state_from_env(t);
	tw_open_host(t);
	tw_open_pod(t, t->env.netns, 1);
	if (nl_link_index(t->pod, t->s.ifname) > 0) {
		cni_errf(&t->e, CNI_ERR_PLUGIN, "interface %s already exists "
			 "in %s", t->s.ifname, t->s.netns);
		tw_die(t);
	}
	fd = lock(t, 0);
	r = tw_alloc(t);
	if (r < 0) {
		if (r == -ETIMEDOUT)	/* the agent may finish it */
			add_rollback(t);
		tw_die(t);
	}
	if (take_address(t) < 0 || wire(t) < 0) {
		add_rollback(t);
		tw_die(t);
	}
	statefile_unlock(fd);
	tw_print_result(t);
}

static void cmd_del(struct tw *t)
{
	const char *netns;
	int fd;

	fd = lock(t, 0);
	if (tw_state_read(t, t->env.containerid, t->env.ifname) < 0)
		state_from_env(t);	/* nothing wired; still release */
	netns = t->env.netns && *t->env.netns ? t->env.netns : t->s.netns;
	tw_open_host(t);
	tw_open_pod(t, netns, 0);
	if (tw_teardown(t) < 0)
		tw_die(t);
	tw_finish(t);
	statefile_unlock(fd);
}

static void cmd_version(struct tw *t)
{
	char *in = NULL;
	size_t n = 0;
	const char *v = NULL;

	if (cni_read_stdin(0, &t->a, CNI_STDIN_MAX, &in, &n, &t->e) == 0)
		v = cni_version_sniff(&t->a, in, n);
	cni_version_print(stdout, v);
}

int cni_terway_main(int argc, char **argv)
{
	static struct tw t;
	int fd;

	log_init("cni-terway", LOG_LVL_WARN);
	arena_init(&t.a);
	t.nsfd = -1;
	if (cni_env_read(&t.env, NULL, &t.e) < 0)
		tw_die(&t);
	if (t.env.cmd == CNI_CMD_VERSION) {
		cmd_version(&t);
		return 0;
	}
	if (tw_conf_load(&t) < 0)
		tw_die(&t);
	if (t.env.cmd != CNI_CMD_GC && t.env.cmd != CNI_CMD_STATUS &&
	    cni_args_parse(&t.args, &t.a, t.env.args ? t.env.args : "",
			   known_args, &t.e) < 0)
		tw_die(&t);
	switch (t.env.cmd) {
	case CNI_CMD_ADD:
		cmd_add(&t);
		break;
	case CNI_CMD_DEL:
		cmd_del(&t);
		break;
	case CNI_CMD_CHECK:
		tw_check(&t);
		break;
	case CNI_CMD_STATUS:
		if (tw_info(&t) < 0)
			tw_die(&t);
		break;
	case CNI_CMD_GC:
		fd = lock(&t, 1);
		tw_open_host(&t);
		tw_gc(&t);
		statefile_unlock(fd);
		break;
	default:
		break;
	}
	tw_close(&t);
	return 0;
}
