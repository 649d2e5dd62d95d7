/* cni-flannel CHECK: the pod's interface, addresses and routes, the host
 * veth on the bridge, the bridge's gateway address, the lease and the
 * bandwidth limits must all be as prevResult and the config say. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "cni_flannel.h"

#define CHECK_MAX 256

/* A failed check: the message says what is missing or wrong. */
#define bad(f, ...) do {						\
	cni_errf(&(f)->e, CNI_ERR_PLUGIN, __VA_ARGS__);			\
	fl_die(f);							\
} while (0)

static int has_addr(struct nl *nl, int idx, const struct ipnet *want)
{
	struct nl_addr have[CHECK_MAX];
	int n, i;

	n = nl_addr_list(nl, idx, want->ip.family, have, CHECK_MAX);
	for (i = 0; i < n && i < CHECK_MAX; i++)
		if (ip_equal(&have[i].addr.ip, &want->ip) &&
		    have[i].addr.prefix == want->prefix)
			return 1;
	return 0;
}

static int has_route(struct nl *nl, int idx, const struct ipnet *dst,
		     const struct ipaddr *gw)
{
	static struct nl_route have[CHECK_MAX];
	int n, i;

	n = nl_route_list(nl, dst->ip.family, 254 /* main */, have, CHECK_MAX);
	for (i = 0; i < n && i < CHECK_MAX; i++)
		if (have[i].oif == idx && have[i].dst.prefix == dst->prefix &&
		    (dst->prefix == 0 || ip_equal(&have[i].dst.ip, &dst->ip)) &&
		    (!gw || ip_equal(&have[i].gw, gw)))
			return 1;
	return 0;
}

static const struct ipaddr *ip_gw(const struct cni_result *r, int family)
{
	int i;

	for (i = 0; i < r->n_ips; i++)
		if (r->ips[i].address.ip.family == family &&
		    r->ips[i].gateway.family)
			return &r->ips[i].gateway;
	return NULL;
}

static void check_pod(struct fl *f, const struct cni_result *r, int pif)
{
	char a[IPNET_STRLEN], b[IP_STRLEN];
	struct nl_link l;
	int i;

	if (nl_link_get(f->pod, f->env.ifname, &l) < 0)
		bad(f, "interface %s not found in %s", f->env.ifname,
		    f->env.netns);
	if (!(l.flags & IFF_UP))
		bad(f, "interface %s in %s is down", f->env.ifname,
		    f->env.netns);
	if (f->c.mtu && l.mtu != f->c.mtu)
		bad(f, "interface %s: MTU %u, config says %u", f->env.ifname,
		    l.mtu, f->c.mtu);
	for (i = 0; i < r->n_ips; i++) {
		if (r->ips[i].iface != pif)
			continue;
		if (!has_addr(f->pod, l.index, &r->ips[i].address))
			bad(f, "address %s missing on %s",
			    ipnet_fmt(&r->ips[i].address, a), f->env.ifname);
	}
	for (i = 0; i < r->n_routes; i++) {
		const struct cni_route *rt = &r->routes[i];
		const struct ipaddr *gw = rt->gw.family ? &rt->gw :
					  ip_gw(r, rt->dst.ip.family);

		if (!has_route(f->pod, l.index, &rt->dst, gw))
			bad(f, "route %s via %s missing in the pod",
			    ipnet_fmt(&rt->dst, a), gw ? ip_fmt(gw, b) : "-");
	}
}

static void check_host(struct fl *f, const struct cni_result *r)
{
	struct nl_link l, br;
	int i;

	if (nl_link_get(f->host, f->c.bridge, &br) < 0)
		bad(f, "bridge %s not found", f->c.bridge);
	if (nl_link_get(f->host, f->host_veth, &l) < 0)
		bad(f, "host veth %s not found", f->host_veth);
	if (l.master != br.index)
		bad(f, "host veth %s is not attached to %s", f->host_veth,
		    f->c.bridge);
	if (f->c.hairpin && l.hairpin != 1)
		bad(f, "host veth %s: hairpin mode is off", f->host_veth);
	for (i = 0; f->c.is_gw && i < r->n_ips; i++) {
		struct ipnet gw = { r->ips[i].gateway,
				    r->ips[i].address.prefix };
		char a[IPNET_STRLEN];

		if (gw.ip.family && !has_addr(f->host, br.index, &gw))
			bad(f, "bridge %s lacks the gateway address %s",
			    f->c.bridge, ipnet_fmt(&gw, a));
	}
	f->host_index = l.index;
}

static void check_lease(struct fl *f, const struct cni_result *r)
{
	struct ipam_lease have[IPAM_MAX_SETS];
	char a[IPNET_STRLEN];
	struct ipam h;
	int n, i, j;

	if (fl_ipam_open(f, &h) < 0)
		fl_die(f);
	n = ipam_find(&h, f->env.containerid, f->env.ifname, have,
		      IPAM_MAX_SETS);
	ipam_close(&h);
	for (i = 0; i < r->n_ips; i++) {
		for (j = 0; j < n && j < IPAM_MAX_SETS; j++)
			if (ip_equal(&have[j].ip, &r->ips[i].address.ip))
				break;
		if (j >= n || j >= IPAM_MAX_SETS)
			bad(f, "no lease for %s of %s",
			    ipnet_fmt(&r->ips[i].address, a),
			    f->env.containerid);
	}
}

void fl_check(struct fl *f)
{
	const struct cni_result *r = &f->c.cni.prev_result;
	char err[256];
	int i, pif = -1;

	if (f->c.cni.prev < 0)
		bad(f, "CHECK needs prevResult (the result of ADD)");
	for (i = 0; i < r->n_ifaces; i++)
		if (r->ifaces[i].sandbox && r->ifaces[i].name &&
		    !strcmp(r->ifaces[i].name, f->env.ifname))
			pif = i;
	if (pif < 0)
		bad(f, "prevResult has no interface %s with a sandbox",
		    f->env.ifname);
	fl_open_netns(f, 1);
	fl_open_nl(f);
	check_pod(f, r, pif);
	check_host(f, r);
	check_lease(f, r);
	if ((f->c.bw.ingress_rate || f->c.bw.egress_rate) &&
	    tc_bw_check(f->host, &f->c.bw, f->host_index, f->ifb, f->c.mtu,
			err, sizeof(err)) < 0)
		bad(f, "bandwidth of %s (#%d, ifb %s): %s", f->host_veth,
		    f->host_index, f->ifb, err);
}
