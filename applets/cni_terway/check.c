/* cni-terway CHECK: what ADD made is still there, as the state file and
 * prevResult say: the pod's interface (up, MTU, address, default route,
 * the gateway's permanent neighbour or the ENI's MAC), the host veth and
 * its route, the policy rules (eniip) and the bandwidth limits. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "cni_terway.h"
#include "tc.h"

#define CHECK_MAX 256

#define bad(t, ...) do {						\
	cni_errf(&(t)->e, CNI_ERR_PLUGIN, __VA_ARGS__);			\
	tw_die(t);							\
} while (0)

static int has_addr(struct nl *nl, int idx, const struct ipnet *want)
{
	struct nl_addr have[32];
	int n, i;

	n = nl_addr_list(nl, idx, want->ip.family, have, 32);
	for (i = 0; i < n && i < 32; i++)
		if (ip_equal(&have[i].addr.ip, &want->ip) &&
		    have[i].addr.prefix == want->prefix)
			return 1;
	return 0;
}

/* A main-table route to dst (exact prefix) through oif [via gw]. */
static int has_route(struct nl *nl, int oif, const struct ipnet *dst,
		     const struct ipaddr *gw)
{
	struct nl_route *rt = calloc(CHECK_MAX, sizeof(*rt));
	int n, i, found = 0;

	n = rt ? nl_route_list(nl, AF_INET, RT_TABLE_MAIN, rt, CHECK_MAX) : 0;
	for (i = 0; i < n && i < CHECK_MAX && !found; i++)
		found = rt[i].oif == oif && rt[i].dst.prefix == dst->prefix &&
			(!dst->prefix || ip_equal(&rt[i].dst.ip, &dst->ip)) &&
			(!gw || ip_equal(&rt[i].gw, gw));
	free(rt);
	return found;
}

static int has_neigh(struct nl *nl, int idx, const uint8_t *mac)
{
	struct nl_neigh nb[32];
	struct ipaddr gw;
	int n, i;

	ip_parse(TW_GW, &gw);
	n = nl_neigh_list(nl, idx, AF_INET, nb, 32);
	for (i = 0; i < n && i < 32; i++)
		if (ip_equal(&nb[i].ip, &gw) && nb[i].mac_len == NL_MACLEN &&
		    !memcmp(nb[i].mac, mac, NL_MACLEN) &&
		    (nb[i].state & NUD_PERMANENT))
			return 1;
	return 0;
}

static int has_rule(struct nl *nl, unsigned int prio, const struct ipnet *src,
		    const struct ipnet *dst, unsigned int table)
{
	struct nl_rule *r = calloc(CHECK_MAX, sizeof(*r));
	int n, i, found = 0;

	n = r ? nl_rule_list(nl, AF_INET, r, CHECK_MAX) : 0;
	for (i = 0; i < n && i < CHECK_MAX && !found; i++)
		found = r[i].priority == prio && r[i].table == table &&
			r[i].src.prefix == src->prefix &&
			r[i].dst.prefix == dst->prefix &&
			(!src->prefix || ip_equal(&r[i].src.ip, &src->ip)) &&
			(!dst->prefix || ip_equal(&r[i].dst.ip, &dst->ip));
	free(r);
	return found;
}

static void check_pod(struct tw *t, struct nl_link *pl)
{
	struct ipnet def = { .ip.family = AF_INET };
	char a[IPNET_STRLEN], b[IP_STRLEN];

	if (nl_link_get(t->pod, t->s.ifname, pl) < 0)
		bad(t, "interface %s not found in %s", t->s.ifname,
		    t->env.netns);
	if (!(pl->flags & IFF_UP))
		bad(t, "interface %s in %s is down", t->s.ifname,
		    t->env.netns);
	if (pl->mtu != t->c.mtu)
		bad(t, "interface %s: MTU %u, config says %u", t->s.ifname,
		    pl->mtu, t->c.mtu);
	if (!has_addr(t->pod, pl->index, &t->s.ip))
		bad(t, "address %s missing on %s", ipnet_fmt(&t->s.ip, a),
		    t->s.ifname);
	if (!has_route(t->pod, pl->index, &def, &t->s.gw))
		bad(t, "default route via %s missing in the pod",
		    ip_fmt(&t->s.gw, b));
	if (t->s.mode == ENIPROTO_MODE_ENI &&
	    memcmp(pl->mac, t->s.eni.mac, NL_MACLEN))
		bad(t, "%s is not the ENI %s", t->s.ifname, t->s.eni.id);
}

static void check_host(struct tw *t, const char *peer)
{
	struct ipnet pod32 = { t->s.ip.ip, 32 }, none = { 0 };
	char a[IPNET_STRLEN];
	struct nl_link l;
	int idx;

	if (nl_link_get(t->host, t->s.host_veth, &l) < 0)
		bad(t, "host veth %s not found", t->s.host_veth);
	if (t->s.host_index && l.index != t->s.host_index)
		bad(t, "host veth %s is #%d, ADD made #%d", t->s.host_veth,
		    l.index, t->s.host_index);
	if (!(l.flags & IFF_UP))
		bad(t, "host veth %s is down", t->s.host_veth);
	if (!has_route(t->host, l.index, &pod32, NULL))
		bad(t, "host route %s dev %s missing", ipnet_fmt(&pod32, a),
		    t->s.host_veth);
	idx = nl_link_index(t->pod, peer);
	if (idx < 0 || !has_neigh(t->pod, idx, l.mac))
		bad(t, "no permanent neighbour %s -> %s MAC on %s in the pod",
		    TW_GW, t->s.host_veth, peer);
	if (t->s.mode != ENIPROTO_MODE_ENIIP)
		return;
	if (!has_rule(t->host, TW_PRIO_TO_POD, &none, &pod32, RT_TABLE_MAIN))
		bad(t, "rule %d \"to %s lookup main\" missing", TW_PRIO_TO_POD,
		    ipnet_fmt(&pod32, a));
	if (!has_rule(t->host, TW_PRIO_FROM_POD, &pod32, &none, t->s.table))
		bad(t, "rule %d \"from %s lookup %u\" missing",
		    TW_PRIO_FROM_POD, ipnet_fmt(&pod32, a), t->s.table);
}

static void check_bw(struct tw *t, int pod_index)
{
	const struct bw_limits *b = &t->s.bw;
	struct tc_clock clk;
	struct bw_tbf want, have;
	char err[TC_ERRLEN];

	if (!b->ingress_rate && !b->egress_rate)
		return;
	if (t->s.mode != ENIPROTO_MODE_ENI) {
		if (tc_bw_check(t->host, b, t->s.host_index, t->s.ifb,
				t->c.mtu, err, sizeof(err)) < 0)
			bad(t, "bandwidth of %s: %s", t->s.host_veth, err);
		return;
	}
	tc_clock_init(&clk);
	if (bw_tbf(b->egress_rate, b->egress_burst, t->c.mtu, &want,
		   NULL) < 0 ||
	    tc_tbf_get(t->pod, &clk, pod_index, &have, NULL) < 0 ||
	    have.rate != want.rate)
		bad(t, "bandwidth: egress rate of %s is not %llu bit/s",
		    t->s.ifname, (unsigned long long)b->egress_rate);
}

/* prevResult must list this interface and the state's address. */
static void check_prev(struct tw *t)
{
	const struct cni_result *r = &t->c.cni.prev_result;
	char a[IPNET_STRLEN];
	int i;

	if (t->c.cni.prev < 0)
		bad(t, "CHECK needs prevResult (the result of ADD)");
	for (i = 0; i < r->n_ips; i++)
		if (ip_equal(&r->ips[i].address.ip, &t->s.ip.ip))
			return;
	bad(t, "prevResult does not list %s", ipnet_fmt(&t->s.ip, a));
}

void tw_check(struct tw *t)
{
	struct nl_link pl;
	int eni;

	if (tw_state_read(t, t->env.containerid, t->env.ifname) < 0 ||
	    t->s.pending || !t->s.mode)
		bad(t, "no attachment %s/%s (state file missing in %s)",
		    t->env.containerid, t->env.ifname, t->c.data_dir);
	check_prev(t);
	tw_open_host(t);
	tw_open_pod(t, t->env.netns, 1);
	eni = t->s.mode == ENIPROTO_MODE_ENI;
	check_pod(t, &pl);
	if (!eni || !strcmp(t->s.ifname, "eth0"))
		check_host(t, eni ? TW_HOST_PEER : t->s.ifname);
	check_bw(t, pl.index);
}
