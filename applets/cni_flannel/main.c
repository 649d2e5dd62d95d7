/* cni-flannel: the flannel CNI plugin, with the bridge, veth, host-local
 * IPAM and masquerade work done in-process over rtnetlink and nfnetlink.
 *
 * A conflist written for upstream flannel works unchanged; see README.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../applets.h"
#include "cni_flannel.h"
#include "log.h"
#include "statefile.h"

const char cni_flannel_help[] =
"Flannel-compatible bridge CNI plugin\n"
"\n"
"usage: CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION cni-flannel <config\n"
"\n"
"A CNI plugin (spec 0.3.0 to 1.1.0) run by the container runtime, as\n"
"/opt/cni/bin/flannel or /opt/cni/bin/cni-flannel. Reads the flannel\n"
"subnet file (subnetFile, default " SUBNETENV_DEFAULT_PATH ") and wires\n"
"the pod to a bridge (delegate.bridge, default cni0) with a veth pair and\n"
"an address from the node subnet (host-local compatible lease store,\n"
"ipam.dataDir, default " IPAM_DEFAULT_DATA_DIR "). ipMasq (default\n"
"!FLANNEL_IPMASQ) masquerades traffic leaving FLANNEL_NETWORK with\n"
"nftables. Bandwidth limits come from the `bandwidth` capability or the\n"
"top-level keys ingressRate/ingressBurst/egressRate/egressBurst.\n"
"Logs go to stderr (VPCNET_LOG_LEVEL, VPCNET_LOG_FILE).\n";

static const char *const known_args[] = {
	CNI_ARGS_K8S, "IP", "MAC", NULL
};

/* Any failure ends here: the spec's error JSON on stdout, exit 1. */
void fl_die(struct fl *f)
{
	const char *v = f->c.cni.cni_version;

	if (!v || !cni_version_supported(v))
		v = NULL;
	log_debug("error code=%d msg=\"%s\"", f->e.code, f->e.msg);
	cni_error_print(stdout, v, &f->e);
	fflush(stdout);
	exit(1);
}

/* A lock around lease changes and the masquerade rule set, so that the
 * last DEL of a network never removes rules a parallel ADD relies on. */
static int net_lock(struct fl *f)
{
	char err[STATEFILE_ERRLEN];
	int fd = statefile_lock(f->c.data_dir, ".vpcnet.lock", 1, err,
				sizeof(err));

	if (fd < 0)
		return cni_errf(&f->e, CNI_ERR_IO, "%s", err);
	return fd;
}

static void net_unlock(int fd)
{
	statefile_unlock(fd);
}

/* Undo what a failed ADD did, in reverse; errors here are only logged. */
static void add_rollback(struct fl *f, struct ipam *h)
{
	struct ipaddr rel[IPAM_MAX_SETS];
	int lock;

	if (f->host) {
		if (f->host_index > 0)
			nl_link_del(f->host, f->host_index);
		else
			nl_link_del_name(f->host, f->host_veth);
		fl_bw_teardown(f);
	}
	lock = net_lock(f);
	if (ipam_del(h, f->env.containerid, f->env.ifname, rel,
		     IPAM_MAX_SETS) < 0)
		log_warn("rollback: release %s/%s: %s", f->env.containerid,
			 f->env.ifname, h->err);
	if (f->c.ipmasq)
		fl_masq_release(f, h);
	net_unlock(lock);
	fl_state_remove(f);
}

static void cmd_add(struct fl *f)
{
	struct ipam h;
	int lock, r;

	fl_open_netns(f, 1);
	fl_open_nl(f);
	if (nl_link_index(f->pod, f->env.ifname) > 0) {
		cni_errf(&f->e, CNI_ERR_PLUGIN, "interface %s already exists "
			 "in %s", f->env.ifname, f->env.netns);
		fl_die(f);
	}
	if (fl_ipam_open(f, &h) < 0)
		fl_die(f);
	lock = net_lock(f);
	if (lock < 0)
		fl_die(f);
	r = fl_ipam_add(f, &h);
	if (r == 0 && f->c.ipmasq)
		r = fl_masq_setup(f);
	net_unlock(lock);
	if (r < 0) {
		add_rollback(f, &h);
		fl_die(f);
	}
	if (fl_state_write(f) < 0 || fl_wire(f) < 0 || fl_bw_setup(f) < 0) {
		add_rollback(f, &h);
		fl_die(f);
	}
	ipam_close(&h);
	fl_print_result(f);
}

static void del_links(struct fl *f)
{
	int r;

	if (f->nsfd >= 0 && f->pod) {
		r = nl_link_del_name(f->pod, f->env.ifname);
		if (r < 0 && r != -ENODEV)
			log_warn("RTM_DELLINK %s in %s: %s", f->env.ifname,
				 f->env.netns, strerror(-r));
	}
	r = nl_link_del_name(f->host, f->host_veth);
	if (r < 0 && r != -ENODEV)
		log_warn("RTM_DELLINK %s: %s", f->host_veth, strerror(-r));
	fl_bw_teardown(f);
}

static void cmd_del(struct fl *f)
{
	struct ipaddr rel[IPAM_MAX_SETS];
	struct ipam h;
	int lock;

	fl_state_read(f);
	fl_open_netns(f, 0);
	fl_open_nl(f);
	del_links(f);
	if (fl_ipam_open(f, &h) < 0)
		fl_die(f);
	lock = net_lock(f);
	if (lock < 0)
		fl_die(f);
	if (ipam_del(&h, f->env.containerid, f->env.ifname, rel,
		     IPAM_MAX_SETS) < 0) {
		cni_errf(&f->e, CNI_ERR_IO, "release %s/%s: %s",
			 f->env.containerid, f->env.ifname, h.err);
		net_unlock(lock);
		fl_die(f);
	}
	fl_masq_release(f, &h);
	net_unlock(lock);
	ipam_close(&h);
	fl_state_remove(f);
}

static void cmd_status(struct fl *f)
{
	/* the subnet file was loaded by fl_conf_load: reaching here is OK */
	struct ipam h;

	if (fl_ipam_open(f, &h) < 0) {
		f->e.code = CNI_ERR_NOT_AVAILABLE;
		fl_die(f);
	}
	ipam_close(&h);
}

static void cmd_gc(struct fl *f)
{
	struct ipam h;
	int lock;

	if (fl_ipam_open(f, &h) < 0)
		fl_die(f);
	fl_open_nl(f);
	lock = net_lock(f);
	if (lock < 0)
		fl_die(f);
	fl_gc(f, &h);
	fl_masq_release(f, &h);
	net_unlock(lock);
	ipam_close(&h);
}

static void cmd_version(struct fl *f)
{
	char *in = NULL;
	size_t n = 0;
	const char *v = NULL;

	if (cni_read_stdin(0, &f->a, CNI_STDIN_MAX, &in, &n, &f->e) == 0)
		v = cni_version_sniff(&f->a, in, n);
	cni_version_print(stdout, v);
}

int cni_flannel_main(int argc, char **argv)
{
	static struct fl f;

	log_init("cni-flannel", LOG_LVL_WARN);
	arena_init(&f.a);
	f.nsfd = -1;
	if (cni_env_read(&f.env, NULL, &f.e) < 0)
		fl_die(&f);
	if (f.env.cmd == CNI_CMD_VERSION) {
		cmd_version(&f);
		return 0;
	}
	if (fl_conf_load(&f) < 0)
		fl_die(&f);
	if (f.env.cmd != CNI_CMD_GC && f.env.cmd != CNI_CMD_STATUS &&
	    cni_args_parse(&f.args, &f.a, f.env.args ? f.env.args : "",
			   known_args, &f.e) < 0)
		fl_die(&f);
	switch (f.env.cmd) {
	case CNI_CMD_ADD:
		cmd_add(&f);
		break;
	case CNI_CMD_DEL:
		cmd_del(&f);
		break;
	case CNI_CMD_CHECK:
		fl_check(&f);
		break;
	case CNI_CMD_STATUS:
		cmd_status(&f);
		break;
	case CNI_CMD_GC:
		cmd_gc(&f);
		break;
	default:
		break;
	}
	fl_close(&f);
	return 0;
}
