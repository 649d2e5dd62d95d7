/* cni-flannel: the bridge, the veth pair, addresses and routes (ADD), what
 * CHECK verifies, and the bandwidth limits on the host veth. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_addr.h>

#include "cni_flannel.h"
#include "log.h"

static int nlerr(struct fl *f, const char *what, const char *name, int r,
		 const struct nl *nl)
{
	return cni_errf(&f->e, CNI_ERR_PLUGIN, "%s %s: %s%s%s%s", what, name,
			strerror(-r), nl->ext[0] ? " (" : "", nl->ext,
			nl->ext[0] ? ")" : "");
}

static int bridge_up(struct fl *f)
{
	struct nl_link l;
	char key[64];
	int r;

	int made;

	r = nl_bridge_add(f->host, f->c.bridge, f->c.mtu);
	if (r < 0 && r != -EEXIST)	/* a parallel ADD may have made it */
		return nlerr(f, "RTM_NEWLINK", f->c.bridge, r, f->host);
	made = r == 0;
	r = nl_link_get(f->host, f->c.bridge, &l);
	if (r < 0)
		return nlerr(f, "RTM_GETLINK", f->c.bridge, r, f->host);
	/* pin the MAC so it stops following the lowest port's (as the
	 * bridge plugin does): pods' ARP caches stay valid */
	if (made && l.mac_len == NL_MACLEN &&
	    (r = nl_link_set_mac(f->host, l.index, l.mac)) < 0)
		return nlerr(f, "RTM_NEWLINK address", f->c.bridge, r, f->host);
	if (strcmp(l.kind, "bridge"))
		return cni_errf(&f->e, CNI_ERR_PLUGIN, "%s exists and is not "
				"a bridge (kind \"%s\")", f->c.bridge, l.kind);
	f->br_index = l.index;
	if (f->c.se.subnet6.ip.family) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra",
			 f->c.bridge);
		nl_sysctl_set(key, "0");
	}
	if (f->c.promisc && !(l.flags & IFF_PROMISC) &&
	    (r = nl_link_set_promisc(f->host, l.index, 1)) < 0)
		return nlerr(f, "RTM_NEWLINK promisc", f->c.bridge, r, f->host);
	if (!(l.flags & IFF_UP) &&
	    (r = nl_link_set_up(f->host, l.index, 1)) < 0)
		return nlerr(f, "RTM_NEWLINK up", f->c.bridge, r, f->host);
	return 0;
}

/* The gateway address on the bridge, as the bridge plugin's ensureAddr:
 * another address of the family (IPv4) or in an overlapping subnet (IPv6)
 * is an error unless forceAddress, which replaces it. */
static int bridge_addr(struct fl *f, const struct ipam_lease *l)
{
	struct nl_addr have[32];
	struct ipnet gw = { l->gateway, l->prefix };
	char a[IPNET_STRLEN], b[IPNET_STRLEN];
	int n, i, r;

	n = nl_addr_list(f->host, f->br_index, gw.ip.family, have, 32);
	for (i = 0; i < n && i < 32; i++) {
		struct ipnet *h = &have[i].addr;

		if (ip_equal(&h->ip, &gw.ip))
			return 0;
		if (have[i].scope != 0 /* RT_SCOPE_UNIVERSE */)
			continue;
		if (gw.ip.family == AF_INET6 && !ipnet_contains(h, &gw.ip) &&
		    !ipnet_contains(&gw, &h->ip))
			continue;
		if (!f->c.force_addr)
			return cni_errf(&f->e, CNI_ERR_PLUGIN, "\"%s\" already "
					"has an IP address different from %s "
					"(%s; set forceAddress to replace it)",
					f->c.bridge, ipnet_fmt(&gw, a),
					ipnet_fmt(h, b));
		r = nl_addr_del(f->host, f->br_index, h);
		if (r < 0 && r != -EADDRNOTAVAIL)
			return nlerr(f, "RTM_DELADDR", f->c.bridge, r, f->host);
	}
	r = nl_addr_add(f->host, f->br_index, &gw,
			gw.ip.family == AF_INET6 ? IFA_F_NODAD : 0);
	if (r < 0 && r != -EEXIST)	/* a parallel ADD got there first */
		return nlerr(f, "RTM_NEWADDR", f->c.bridge, r, f->host);
	return 0;
}

static int forwarding(struct fl *f)
{
	int i, r;

	for (i = 0; i < f->nlease; i++) {
		r = nl_sysctl_set(f->lease[i].ip.family == AF_INET ?
				  "net/ipv4/ip_forward" :
				  "net/ipv6/conf/all/forwarding", "1");
		if (r < 0)
			return cni_errf(&f->e, CNI_ERR_PLUGIN, "sysctl "
					"forwarding: %s", strerror(-r));
	}
	return 0;
}

static const uint8_t *pod_mac(struct fl *f, uint8_t mac[NL_MACLEN])
{
	const char *s = cni_args_get(&f->args, "MAC");

	if (!s)
		s = f->c.cni.rc_mac ? f->c.cni.rc_mac : f->c.cni.args_mac;
	return s && nl_mac_parse(s, mac) == 0 ? mac : NULL;
}

static int veth_up(struct fl *f)
{
	struct nl_veth v = { 0 };
	uint8_t mac[NL_MACLEN];
	int r;

	if (cni_args_get(&f->args, "MAC") &&
	    !pod_mac(f, mac))
		return cni_errf(&f->e, CNI_ERR_ENV, "CNI_ARGS MAC=%s: not a "
				"MAC address", cni_args_get(&f->args, "MAC"));
	v.name = f->host_veth;
	v.peer = f->env.ifname;
	v.peer_netns = f->nsfd;
	v.mtu = f->c.mtu;
	v.peer_mac = pod_mac(f, mac);
	r = nl_veth_add(f->host, &v);
	if (r == -EEXIST && nl_link_index(f->host, f->host_veth) > 0) {
		/* left by a killed ADD of this very attachment */
		nl_link_del_name(f->host, f->host_veth);
		r = nl_veth_add(f->host, &v);
	}
	if (r < 0)
		return nlerr(f, "RTM_NEWLINK veth", f->host_veth, r, f->host);
	f->host_index = nl_link_index(f->host, f->host_veth);
	if (f->host_index < 0)
		return nlerr(f, "RTM_GETLINK", f->host_veth, f->host_index,
			     f->host);
	/* txqueuelen 0 on both ends, as the bridge plugin leaves them */
	if ((r = nl_link_set_txqlen(f->host, f->host_index, 0)) < 0)
		return nlerr(f, "RTM_NEWLINK txqlen", f->host_veth, r, f->host);
	if ((r = nl_link_set_master(f->host, f->host_index, f->br_index)) < 0)
		return nlerr(f, "RTM_NEWLINK master", f->host_veth, r, f->host);
	if (f->c.hairpin &&
	    (r = nl_bridge_port_set_hairpin(f->host, f->host_index, 1)) < 0)
		return nlerr(f, "RTM_SETLINK hairpin", f->host_veth, r,
			     f->host);
	if ((r = nl_link_set_up(f->host, f->host_index, 1)) < 0)
		return nlerr(f, "RTM_NEWLINK up", f->host_veth, r, f->host);
	return 0;
}

/* The route list the result reports and the pod gets: ipam routes
 * (user's, then one per cluster network) then, with isDefaultGateway, a
 * default route per family, as bridge + host-local do. */
static int pod_routes(struct fl *f, struct fl_route *out, int max)
{
	int n = 0, i;

	for (i = 0; i < f->c.nroutes && n < max; i++)
		out[n++] = f->c.routes[i];
	for (i = 0; f->c.is_default_gw && i < f->nlease && n < max; i++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].dst.ip.family = f->lease[i].ip.family;
		out[n].gw = f->lease[i].gateway;
		n++;
	}
	return n;
}

static const struct ipaddr *route_gw(struct fl *f, const struct fl_route *r)
{
	int i;

	if (r->gw.family)
		return &r->gw;
	for (i = 0; i < f->nlease; i++)
		if (f->lease[i].ip.family == r->dst.ip.family)
			return &f->lease[i].gateway;
	return NULL;
}

static int pod_addrs_routes(struct fl *f, int idx)
{
	struct fl_route rt[FL_MAX_ROUTES + 2];
	char buf[IPNET_STRLEN];
	int i, n, r;

	for (i = 0; i < f->nlease; i++) {
		struct ipnet a = { f->lease[i].ip, f->lease[i].prefix };

		r = nl_addr_add(f->pod, idx, &a, a.ip.family == AF_INET6 ?
				IFA_F_NODAD : 0);
		if (r < 0)
			return nlerr(f, "RTM_NEWADDR", ipnet_fmt(&a, buf), r,
				     f->pod);
	}
	if ((r = nl_link_set_txqlen(f->pod, idx, 0)) < 0 ||
	    (r = nl_link_set_up(f->pod, idx, 1)) < 0)
		return nlerr(f, "RTM_NEWLINK", f->env.ifname, r, f->pod);
	n = pod_routes(f, rt, FL_MAX_ROUTES + 2);
	for (i = 0; i < n; i++) {
		struct nl_route nr = { 0 };
		const struct ipaddr *gw = route_gw(f, &rt[i]);

		if (!gw)
			continue;	/* no address of that family */
		nr.dst = rt[i].dst;
		nr.gw = *gw;
		nr.oif = idx;
		r = nl_route_add(f->pod, &nr);
		if (r < 0 && r != -EEXIST)
			return nlerr(f, "RTM_NEWROUTE",
				     ipnet_fmt(&nr.dst, buf), r, f->pod);
	}
	return 0;
}

int fl_wire(struct fl *f)
{
	int i, idx, r;

	if (bridge_up(f) < 0)
		return -1;
	for (i = 0; f->c.is_gw && i < f->nlease; i++)
		if (bridge_addr(f, &f->lease[i]) < 0)
			return -1;
	if (f->c.is_gw && forwarding(f) < 0)
		return -1;
	if (veth_up(f) < 0)
		return -1;
	idx = nl_link_index(f->pod, f->env.ifname);
	if (idx < 0)
		return nlerr(f, "RTM_GETLINK", f->env.ifname, idx, f->pod);
	if (pod_addrs_routes(f, idx) < 0)
		return -1;
	r = nl_link_wait_up(f->host, f->host_index, FL_WAIT_UP_MS);
	if (r < 0)
		return cni_errf(&f->e, CNI_ERR_TRY_AGAIN, "%s did not come up "
				"within %d ms: %s", f->host_veth,
				FL_WAIT_UP_MS, strerror(-r));
	return 0;
}

int fl_bw_setup(struct fl *f)
{
	char err[256];
	int r;

	if (!f->c.bw.ingress_rate && !f->c.bw.egress_rate)
		return 0;
	r = tc_bw_setup(f->host, &f->c.bw, f->host_index, f->ifb, f->c.mtu,
			err, sizeof(err));
	if (r < 0)
		return cni_errf(&f->e, r == -ERANGE || r == -EINVAL ?
				CNI_ERR_CONFIG : CNI_ERR_PLUGIN,
				"bandwidth: %s", err);
	return 0;
}

void fl_bw_teardown(struct fl *f)
{
	int host = f->host ? nl_link_index(f->host, f->host_veth) : -1;
	int r;

	if (!f->host || !f->ifb[0])
		return;
	r = tc_bw_teardown(f->host, host > 0 ? host : 0, f->ifb);
	if (r < 0)
		log_warn("bandwidth teardown of %s (ifb %s): %s", f->host_veth,
			 f->ifb, strerror(-r));
}
