/* cni-terway: the routed veth of the eniip and vpc modes (and the host
 * peer of an exclusive ENI pod), as Terway wires it:
 *
 *   pod:  <podIP>/32 dev eth0
 *         default via 169.254.1.1 dev eth0 onlink
 *         169.254.1.1 lladdr <host veth MAC> PERMANENT
 *   host: <podIP> dev caliXXXXXXXXXXX scope link     (main table)
 *         512:  to <podIP> lookup main                 (eniip)
 *         2048: from <podIP> lookup <1000 + ENI ifindex> (eniip)
 *         rp_filter 0 on the host veth, ip_forward 1
 *
 * No proxy_arp: the static neighbour stands in for it.  Bandwidth: tbf on
 * the host veth (pod ingress) and an ifb behind it (pod egress), lib/tc.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "cni_terway.h"
#include "log.h"
#include "tc.h"

int tw_nlerr(struct tw *t, const char *what, const char *name, int r,
	     const struct nl *nl)
{
	return cni_errf(&t->e, CNI_ERR_PLUGIN, "%s %s: %s%s%s%s", what, name,
			strerror(-r), nl->ext[0] ? " (" : "", nl->ext,
			nl->ext[0] ? ")" : "");
}

static int host_sysctls(struct tw *t)
{
	char key[64];
	int r;

	r = nl_sysctl_set("net/ipv4/ip_forward", "1");
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "sysctl net.ipv4."
				"ip_forward: %s", strerror(-r));
	snprintf(key, sizeof(key), "net/ipv4/conf/%s/rp_filter",
		 t->s.host_veth);
	r = nl_sysctl_set(key, "0");
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "sysctl %s: %s", key,
				strerror(-r));
	return 0;
}

/* The pair: host_veth here, peer in the pod.  A host veth of that name
 * is left by an older sandbox of the same pod (or a killed ADD): it is
 * replaced, as Terway does. */
static int veth_make(struct tw *t, const char *peer, struct nl_link *host)
{
	struct nl_veth v = { 0 };
	int r;

	v.name = t->s.host_veth;
	v.peer = peer;
	v.peer_netns = t->nsfd;
	v.mtu = t->c.mtu;
	r = nl_veth_add(t->host, &v);
	if (r == -EEXIST && nl_link_index(t->host, t->s.host_veth) > 0) {
		log_warn("%s exists (an older sandbox of %s/%s?): replaced",
			 t->s.host_veth, t->s.k8s_ns, t->s.k8s_name);
		nl_link_del_name(t->host, t->s.host_veth);
		r = nl_veth_add(t->host, &v);
	}
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWLINK veth", t->s.host_veth, r,
				t->host);
	r = nl_link_get(t->host, t->s.host_veth, host);
	if (r < 0)
		return tw_nlerr(t, "RTM_GETLINK", t->s.host_veth, r, t->host);
	t->s.host_index = host->index;
	if (host_sysctls(t) < 0)
		return -1;
	r = nl_link_set_up(t->host, host->index, 1);
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWLINK up", t->s.host_veth, r,
				t->host);
	return 0;
}

static int route(struct tw *t, struct nl *nl, const struct ipnet *dst,
		 const struct ipaddr *gw, int oif, int scope)
{
	struct nl_route rt = { 0 };
	char buf[IPNET_STRLEN];
	int r;

	rt.dst = *dst;
	rt.oif = oif;
	rt.scope = scope;
	if (gw) {
		rt.gw = *gw;
		rt.flags = RTNH_F_ONLINK;
	}
	r = nl_route_replace(nl, &rt);
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWROUTE", ipnet_fmt(dst, buf), r, nl);
	return 0;
}

/* In the pod: the fake gateway's permanent neighbour on link idx. */
static int pod_gw(struct tw *t, int idx, const struct nl_link *host)
{
	struct ipaddr gw;
	int r;

	ip_parse(TW_GW, &gw);
	r = nl_neigh_add(t->pod, idx, &gw, host->mac);
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWNEIGH", TW_GW, r, t->pod);
	return 0;
}

static int link_up_in_pod(struct tw *t, const char *name)
{
	int idx = nl_link_index(t->pod, name), r;

	if (idx < 0)
		return tw_nlerr(t, "RTM_GETLINK", name, idx, t->pod);
	r = nl_link_set_up(t->pod, idx, 1);
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWLINK up", name, r, t->pod);
	return idx;
}

/* eniip, vpc: the pod's only interface. */
static int pod_eth(struct tw *t, const struct nl_link *host)
{
	struct ipnet def = { .ip.family = AF_INET };
	char buf[IPNET_STRLEN];
	int idx, r;

	idx = link_up_in_pod(t, t->s.ifname);
	if (idx < 0)
		return -1;
	r = nl_addr_add(t->pod, idx, &t->s.ip, 0);
	if (r < 0 && r != -EEXIST)
		return tw_nlerr(t, "RTM_NEWADDR", ipnet_fmt(&t->s.ip, buf), r,
				t->pod);
	if (pod_gw(t, idx, host) < 0)
		return -1;
	return route(t, t->pod, &def, &t->s.gw, idx, RT_SCOPE_UNIVERSE);
}

/* eni: veth1 carries service, node and host-stack traffic. */
static int pod_peer(struct tw *t, const struct nl_link *host,
		    const struct ipaddr *node)
{
	struct ipnet gw32 = { .prefix = 32 }, n32 = { .prefix = 32 };
	struct ipaddr gw;
	int idx, i;

	idx = link_up_in_pod(t, TW_HOST_PEER);
	if (idx < 0 || pod_gw(t, idx, host) < 0)
		return -1;
	ip_parse(TW_GW, &gw);
	gw32.ip = gw;
	if (route(t, t->pod, &gw32, NULL, idx, RT_SCOPE_LINK) < 0)
		return -1;
	if (t->r.service_cidr.ip.family &&
	    route(t, t->pod, &t->r.service_cidr, &gw, idx,
		  RT_SCOPE_UNIVERSE) < 0)
		return -1;
	if (node) {
		n32.ip = *node;
		if (route(t, t->pod, &n32, &gw, idx, RT_SCOPE_UNIVERSE) < 0)
			return -1;
	}
	for (i = 0; i < t->c.nhost_stack; i++)
		if (route(t, t->pod, &t->c.host_stack[i], &gw, idx,
			  RT_SCOPE_UNIVERSE) < 0)
			return -1;
	return 0;
}

static int rules(struct tw *t, int add)
{
	struct nl_rule to = { 0 }, from = { 0 };
	int r;

	to.family = from.family = AF_INET;
	to.priority = TW_PRIO_TO_POD;
	to.dst = (struct ipnet){ t->s.ip.ip, 32 };
	to.table = RT_TABLE_MAIN;
	from.priority = TW_PRIO_FROM_POD;
	from.src = (struct ipnet){ t->s.ip.ip, 32 };
	from.table = t->s.table;
	if (!add) {
		nl_rule_del(t->host, &to);
		nl_rule_del(t->host, &from);
		return 0;
	}
	r = nl_rule_add(t->host, &to);
	if (r < 0 && r != -EEXIST)
		return tw_nlerr(t, "RTM_NEWRULE", "to pod", r, t->host);
	r = nl_rule_add(t->host, &from);
	if (r < 0 && r != -EEXIST)
		return tw_nlerr(t, "RTM_NEWRULE", "from pod", r, t->host);
	return 0;
}

/* eni mode passes the node IP for veth1's routes; the others NULL. */
static int wire(struct tw *t, const struct ipaddr *node)
{
	struct ipnet pod32 = { t->s.ip.ip, 32 };
	struct nl_link host;
	int eni = t->s.mode == ENIPROTO_MODE_ENI, r;

	if (veth_make(t, eni ? TW_HOST_PEER : t->s.ifname, &host) < 0)
		return -1;
	if ((eni ? pod_peer(t, &host, node) : pod_eth(t, &host)) < 0)
		return -1;
	if (route(t, t->host, &pod32, NULL, host.index, RT_SCOPE_LINK) < 0)
		return -1;
	if (t->s.mode == ENIPROTO_MODE_ENIIP && rules(t, 1) < 0)
		return -1;
	r = nl_link_wait_up(t->host, host.index, TW_WAIT_UP_MS);
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_TRY_AGAIN, "%s did not come up "
				"within %d ms: %s", t->s.host_veth,
				TW_WAIT_UP_MS, strerror(-r));
	return 0;
}

/* The node's own address: the preferred source of the main table's
 * default route, else the first global IPv4 address of its link. */
static int node_ip(struct tw *t, struct ipaddr *out)
{
	struct nl_route *rt = calloc(256, sizeof(*rt));
	struct nl_addr a[16];
	int n, i, j, m, r = -ENOENT;

	n = rt ? nl_route_list(t->host, AF_INET, RT_TABLE_MAIN, rt, 256) : 0;
	for (i = 0; i < n && i < 256 && r; i++) {
		if (rt[i].dst.prefix || !rt[i].oif)
			continue;
		if (rt[i].src.family) {
			*out = rt[i].src;
			r = 0;
			break;
		}
		m = nl_addr_list(t->host, rt[i].oif, AF_INET, a, 16);
		for (j = 0; j < m && j < 16 && r; j++)
			if (a[j].scope == RT_SCOPE_UNIVERSE) {
				*out = a[j].addr.ip;
				r = 0;
			}
	}
	free(rt);
	return r;
}

int tw_veth_wire(struct tw *t)
{
	struct ipaddr node;

	if (t->s.mode != ENIPROTO_MODE_ENI)
		return wire(t, NULL);
	if (strcmp(t->s.ifname, "eth0"))
		return 0;	/* as Terway: the host peer only for eth0 */
	if (node_ip(t, &node) < 0) {
		log_warn("no default route with an IPv4 address in the host: "
			 "%s gets no route to the node", TW_HOST_PEER);
		return wire(t, NULL);
	}
	return wire(t, &node);
}

/* Deletes the host veth only when it is the one ADD made (its ifindex is
 * in the state): a newer sandbox of the same pod may own the name now. */
static void host_veth_del(struct tw *t)
{
	struct nl_link l;
	int r;

	if (!t->s.host_veth[0] ||
	    nl_link_get(t->host, t->s.host_veth, &l) < 0)
		return;
	if (t->s.host_index && l.index != t->s.host_index) {
		log_info("%s is #%d, not #%d: another sandbox's, kept",
			 t->s.host_veth, l.index, t->s.host_index);
		return;
	}
	r = nl_link_del(t->host, l.index);
	if (r < 0 && r != -ENODEV)
		log_warn("RTM_DELLINK %s: %s", t->s.host_veth, strerror(-r));
}

void tw_veth_teardown(struct tw *t)
{
	const char *peer = t->s.mode == ENIPROTO_MODE_ENI ? TW_HOST_PEER :
			   t->s.ifname;
	struct nl_link l;
	int idx;

	if (t->s.mode == ENIPROTO_MODE_ENIIP && t->s.ip.ip.family)
		rules(t, 0);
	if (t->s.ifb[0]) {
		idx = nl_link_index(t->host, t->s.host_veth);
		tc_bw_teardown(t->host, idx > 0 && (!t->s.host_index ||
			       idx == t->s.host_index) ? idx : 0, t->s.ifb);
	}
	/* the pod end (never the ENI, which eni.c moved out already) */
	if (t->pod && nl_link_get(t->pod, peer, &l) == 0 &&
	    !strcmp(l.kind, "veth"))
		nl_link_del(t->pod, l.index);
	host_veth_del(t);
}

/* One direction's tbf must fit the kernel's u32 ticks: code 7 if not. */
static int bw_valid(struct tw *t, const char *dir, uint64_t rate,
		    uint64_t burst)
{
	struct tc_clock clk;
	struct bw_tbf tbf;
	const char *why;

	if (!rate)
		return 0;
	tc_clock_init(&clk);
	if (bw_tbf(rate, burst, t->c.mtu, &tbf, &why) < 0 ||
	    tc_tbf_valid(&clk, &tbf, &why) < 0)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "%s bandwidth %llu "
				"bit/s: %s", dir, (unsigned long long)rate,
				why);
	return 0;
}

/* Per direction the capability (runtimeConfig.bandwidth, from the
 * kubernetes.io annotations) wins over the agent's numbers (Terway's
 * k8s.aliyun.com annotations), as Terway's parseSetupConf does. */
static int bw_merge(struct tw *t, struct bw_limits *b)
{
	const struct bw_limits *cap = &t->c.bw;

	memset(b, 0, sizeof(*b));
	if (cap->ingress_rate) {
		b->ingress_rate = cap->ingress_rate;
		b->ingress_burst = cap->ingress_burst;
	} else {
		b->ingress_rate = t->r.ingress;
	}
	if (cap->egress_rate) {
		b->egress_rate = cap->egress_rate;
		b->egress_burst = cap->egress_burst;
	} else {
		b->egress_rate = t->r.egress;
	}
	if (bw_valid(t, "ingress", b->ingress_rate, b->ingress_burst) < 0 ||
	    bw_valid(t, "egress", b->egress_rate, b->egress_burst) < 0)
		return -EINVAL;
	return 0;
}

/* Exclusive ENI: egress only, a tbf on the ENI in the pod (Terway). */
static int bw_eni(struct tw *t, struct bw_limits *b)
{
	struct tc_clock clk;
	struct bw_tbf tbf;
	int idx, r;

	if (b->ingress_rate)
		log_info("%s/%s: no ingress limit on an exclusive ENI (as "
			 "Terway)", t->s.k8s_ns, t->s.k8s_name);
	b->ingress_rate = b->ingress_burst = 0;
	if (!b->egress_rate)
		return 0;
	tc_clock_init(&clk);
	bw_tbf(b->egress_rate, b->egress_burst, t->c.mtu, &tbf, NULL);
	idx = nl_link_index(t->pod, t->s.ifname);
	r = idx < 0 ? idx : tc_tbf_replace(t->pod, &clk, idx, &tbf);
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWQDISC tbf", t->s.ifname, r, t->pod);
	return 0;
}

int tw_bw_setup(struct tw *t)
{
	struct bw_limits b;
	char err[TC_ERRLEN];
	int r;

	if (bw_merge(t, &b) < 0)
		return -1;
	if (t->s.mode == ENIPROTO_MODE_ENI) {
		r = bw_eni(t, &b);
		t->s.bw = b;
		return r;
	}
	if (!b.ingress_rate && !b.egress_rate)
		return 0;
	r = tc_bw_setup(t->host, &b, t->s.host_index, t->s.ifb, t->c.mtu, err,
			sizeof(err));
	if (r < 0)
		return cni_errf(&t->e, r == -ERANGE || r == -EINVAL ?
				CNI_ERR_CONFIG : CNI_ERR_PLUGIN,
				"bandwidth: %s", err);
	t->s.bw = b;
	return 0;
}
