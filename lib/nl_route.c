/* rtnetlink addresses, routes, policy rules and neighbours. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "nl.h"

static bool inet(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/* --- addresses ---------------------------------------------------------- */

struct ctx {
	int family;
	void *out;
};

struct addr_ctx {
	int family;
	struct nl_addr *out;
	struct ipaddr local, address;
};

static int addr_attr(const struct nlattr *a, void *data)
{
	struct addr_ctx *c = data;

	switch (mnl_attr_get_type(a)) {
	case IFA_LOCAL:
		return nl_attr_ip(a, c->family, &c->local);
	case IFA_ADDRESS:	/* the peer when IFA_LOCAL is there too */
		return nl_attr_ip(a, c->family, &c->address);
	case IFA_FLAGS:
		return nl_attr_u32(a, &c->out->flags);
	}
	return MNL_CB_OK;
}

int nl_addr_parse(const struct nlmsghdr *nlh, struct nl_addr *out)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_ctx c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if ((nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
	    || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	if (!inet(ifa->ifa_family))
		return -EAFNOSUPPORT;
	c.family = ifa->ifa_family;
	c.out = out;
	out->index = ifa->ifa_index;
	out->addr.prefix = ifa->ifa_prefixlen;
	out->flags = ifa->ifa_flags;
	out->scope = ifa->ifa_scope;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr, &c) < 0)
		return -EBADMSG;
	out->addr.ip = c.local.family ? c.local : c.address;
	if (!out->addr.ip.family || out->addr.prefix > ip_bits(c.family))
		return -EBADMSG;
	return 0;
}

static int addr_req(struct nl *nl, uint16_t type, uint16_t flags, int index,
		    const struct ipnet *a, unsigned int aflags)
{
	struct ifaddrmsg *ifa;
	struct ipnet brd;

	if (!inet(a->ip.family) || a->prefix < 0 ||
	    a->prefix > ip_bits(a->ip.family) || index <= 0)
		return -EINVAL;
	nl_msg(nl, type, flags);
	ifa = nl_msg_extra(nl, sizeof(*ifa));
	if (!ifa)
		return -EMSGSIZE;
	ifa->ifa_family = a->ip.family;
	ifa->ifa_prefixlen = a->prefix;
	ifa->ifa_index = index;
	ifa->ifa_flags = aflags & 0xff;
	nl_put_ip(nl, IFA_LOCAL, &a->ip);
	nl_put_ip(nl, IFA_ADDRESS, &a->ip);
	if (aflags > 0xff)
		nl_put_u32(nl, IFA_FLAGS, aflags);
	if (type == RTM_NEWADDR && a->ip.family == AF_INET && a->prefix < 31) {
		brd = *a;
		ipnet_last(&brd, &brd.ip);
		nl_put_ip(nl, IFA_BROADCAST, &brd.ip);
	}
	return nl_talk(nl, NULL, NULL);
}

int nl_addr_add(struct nl *nl, int index, const struct ipnet *a,
		unsigned int flags)
{
	return addr_req(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, a,
			flags);
}

int nl_addr_del(struct nl *nl, int index, const struct ipnet *a)
{
	return addr_req(nl, RTM_DELADDR, 0, index, a, 0);
}

static int addr_parse(const struct nlmsghdr *nlh, void *out)
{
	return nl_addr_parse(nlh, out);
}

static bool addr_keep(const struct nl_list *l, const void *entry)
{
	const struct nl_addr *o = entry;

	return (!l->index || o->index == l->index) &&
	       (!l->family || o->addr.ip.family == l->family);
}

int nl_addr_list(struct nl *nl, int index, int family, struct nl_addr *out,
		 int max)
{
	struct nl_list l = { out, max, 0, index, family, 0,
			      sizeof(*out), addr_parse, addr_keep };
	struct ifaddrmsg *ifa;

	nl_msg(nl, RTM_GETADDR, 0);
	ifa = nl_msg_extra(nl, sizeof(*ifa));
	if (ifa)
		ifa->ifa_family = family;
	return nl_list(nl, &l);
}

/* --- routes ------------------------------------------------------------- */

static int route_attr(const struct nlattr *a, void *data)
{
	struct ctx *c = data;
	struct nl_route *o = c->out;

	switch (mnl_attr_get_type(a)) {
	case RTA_DST:
		return nl_attr_ip(a, c->family, &o->dst.ip);
	case RTA_GATEWAY:
		return nl_attr_ip(a, c->family, &o->gw);
	case RTA_PREFSRC:
		return nl_attr_ip(a, c->family, &o->src);
	case RTA_OIF:
		return nl_attr_u32(a, (unsigned int *)&o->oif);
	case RTA_PRIORITY:
		return nl_attr_u32(a, &o->metric);
	case RTA_TABLE:
		return nl_attr_u32(a, &o->table);
	}
	return MNL_CB_OK;
}

int nl_route_parse(const struct nlmsghdr *nlh, struct nl_route *out)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct ctx c = { 0, out };

	memset(out, 0, sizeof(*out));
	if ((nlh->nlmsg_type != RTM_NEWROUTE &&
	     nlh->nlmsg_type != RTM_DELROUTE) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EBADMSG;
	if (!inet(rtm->rtm_family))
		return -EAFNOSUPPORT;
	c.family = rtm->rtm_family;
	out->dst.ip.family = rtm->rtm_family;
	out->dst.prefix = rtm->rtm_dst_len;
	out->table = rtm->rtm_table;
	out->flags = rtm->rtm_flags;
	out->scope = rtm->rtm_scope;
	out->protocol = rtm->rtm_protocol;
	out->type = rtm->rtm_type;
	if (out->dst.prefix > ip_bits(c.family) ||
	    mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &c) < 0)
		return -EBADMSG;
	return 0;
}

static int route_req(struct nl *nl, uint16_t type, uint16_t flags,
		     const struct nl_route *r)
{
	int family = r->dst.ip.family;
	bool del = type == RTM_DELROUTE;
	unsigned int table = r->table ? r->table : RT_TABLE_MAIN;
	struct ipnet dst = r->dst;
	struct rtmsg *rtm;

	if (!inet(family) || dst.prefix < 0 || dst.prefix > ip_bits(family) ||
	    (r->gw.family && r->gw.family != family) ||
	    (r->src.family && r->src.family != family))
		return -EINVAL;
	ipnet_mask(&dst);
	nl_msg(nl, type, flags);
	rtm = nl_msg_extra(nl, sizeof(*rtm));
	if (!rtm)
		return -EMSGSIZE;
	rtm->rtm_family = family;
	rtm->rtm_dst_len = dst.prefix;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = r->protocol || del ? r->protocol : RTPROT_BOOT;
	rtm->rtm_scope = r->scope || !del ? r->scope : RT_SCOPE_NOWHERE;
	rtm->rtm_type = r->type || del ? r->type : RTN_UNICAST;
	rtm->rtm_flags = r->flags;
	nl_put_u32(nl, RTA_TABLE, table);
	if (dst.prefix)
		nl_put_ip(nl, RTA_DST, &dst.ip);
	if (r->gw.family)
		nl_put_ip(nl, RTA_GATEWAY, &r->gw);
	if (r->src.family)
		nl_put_ip(nl, RTA_PREFSRC, &r->src);
	if (r->oif)
		nl_put_u32(nl, RTA_OIF, r->oif);
	if (r->metric)
		nl_put_u32(nl, RTA_PRIORITY, r->metric);
	return nl_talk(nl, NULL, NULL);
}

int nl_route_add(struct nl *nl, const struct nl_route *r)
{
	return route_req(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int nl_route_replace(struct nl *nl, const struct nl_route *r)
{
	return route_req(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r);
}

int nl_route_del(struct nl *nl, const struct nl_route *r)
{
	return route_req(nl, RTM_DELROUTE, 0, r);
}

static int route_parse(const struct nlmsghdr *nlh, void *out)
{
	return nl_route_parse(nlh, out);
}

static bool route_keep(const struct nl_list *l, const void *entry)
{
	const struct nl_route *o = entry;

	return !(o->flags & RTM_F_CLONED) &&
	       (!l->family || o->dst.ip.family == l->family) &&
	       (!l->table || o->table == l->table);
}

int nl_route_list(struct nl *nl, int family, unsigned int table,
		  struct nl_route *out, int max)
{
	struct nl_list l = { out, max, 0, 0, family, table,
			      sizeof(*out), route_parse, route_keep };
	struct rtmsg *rtm;

	nl_msg(nl, RTM_GETROUTE, 0);
	rtm = nl_msg_extra(nl, sizeof(*rtm));
	if (rtm)
		rtm->rtm_family = family;
	return nl_list(nl, &l);
}

/* --- rules -------------------------------------------------------------- */

static int rule_attr(const struct nlattr *a, void *data)
{
	struct ctx *c = data;
	struct nl_rule *o = c->out;

	switch (mnl_attr_get_type(a)) {
	case FRA_PRIORITY:
		return nl_attr_u32(a, &o->priority);
	case FRA_SRC:
		return nl_attr_ip(a, c->family, &o->src.ip);
	case FRA_DST:
		return nl_attr_ip(a, c->family, &o->dst.ip);
	case FRA_IIFNAME:
		return nl_attr_str(a, o->iif, sizeof(o->iif));
	case FRA_OIFNAME:
		return nl_attr_str(a, o->oif, sizeof(o->oif));
	case FRA_TABLE:
		return nl_attr_u32(a, &o->table);
	case FRA_FWMARK:
		return nl_attr_u32(a, &o->fwmark);
	case FRA_FWMASK:
		return nl_attr_u32(a, &o->fwmask);
	}
	return MNL_CB_OK;
}

int nl_rule_parse(const struct nlmsghdr *nlh, struct nl_rule *out)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct ctx c = { 0, out };

	memset(out, 0, sizeof(*out));
	if ((nlh->nlmsg_type != RTM_NEWRULE && nlh->nlmsg_type != RTM_DELRULE)
	    || mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh))
		return -EBADMSG;
	if (!inet(frh->family))
		return -EAFNOSUPPORT;
	c.family = out->family = frh->family;
	out->src.prefix = frh->src_len;
	out->dst.prefix = frh->dst_len;
	out->table = frh->table;
	out->action = frh->action;
	if (frh->src_len > ip_bits(c.family) ||
	    frh->dst_len > ip_bits(c.family) ||
	    mnl_attr_parse(nlh, sizeof(*frh), rule_attr, &c) < 0)
		return -EBADMSG;
	return 0;
}

static bool rule_ok(const struct nl_rule *r)
{
	const struct ipnet *n[2] = { &r->src, &r->dst };
	int i;

	if (!inet(r->family))
		return false;
	for (i = 0; i < 2; i++)
		if (n[i]->ip.family && (n[i]->ip.family != r->family ||
		    n[i]->prefix < 0 || n[i]->prefix > ip_bits(r->family)))
			return false;
	return strnlen(r->iif, NL_IFNAMSIZ) < NL_IFNAMSIZ &&
	       strnlen(r->oif, NL_IFNAMSIZ) < NL_IFNAMSIZ;
}

static void put_prefix(struct nl *nl, uint16_t type, const struct ipnet *n,
		       uint8_t *len)
{
	struct ipnet m = *n;

	if (!m.ip.family)
		return;
	ipnet_mask(&m);
	*len = m.prefix;
	nl_put_ip(nl, type, &m.ip);
}

static int rule_req(struct nl *nl, uint16_t type, uint16_t flags,
		    const struct nl_rule *r)
{
	bool del = type == RTM_DELRULE;
	bool to_tbl = !r->action || r->action == FR_ACT_TO_TBL;
	unsigned int table = r->table || del || !to_tbl ? r->table :
							  RT_TABLE_MAIN;
	struct fib_rule_hdr *frh;

	if (!rule_ok(r))
		return -EINVAL;
	nl_msg(nl, type, flags);
	frh = nl_msg_extra(nl, sizeof(*frh));
	if (!frh)
		return -EMSGSIZE;
	frh->family = r->family;
	frh->action = r->action || del ? r->action : FR_ACT_TO_TBL;
	frh->table = table < 256 ? table : RT_TABLE_UNSPEC;
	if (table)
		nl_put_u32(nl, FRA_TABLE, table);
	if (r->priority)
		nl_put_u32(nl, FRA_PRIORITY, r->priority);
	put_prefix(nl, FRA_SRC, &r->src, &frh->src_len);
	put_prefix(nl, FRA_DST, &r->dst, &frh->dst_len);
	if (r->iif[0])
		nl_put_strz(nl, FRA_IIFNAME, r->iif);
	if (r->oif[0])
		nl_put_strz(nl, FRA_OIFNAME, r->oif);
	if (r->fwmark || r->fwmask)
		nl_put_u32(nl, FRA_FWMARK, r->fwmark);
	if (r->fwmask)
		nl_put_u32(nl, FRA_FWMASK, r->fwmask);
	return nl_talk(nl, NULL, NULL);
}

int nl_rule_add(struct nl *nl, const struct nl_rule *r)
{
	return rule_req(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int nl_rule_del(struct nl *nl, const struct nl_rule *r)
{
	return rule_req(nl, RTM_DELRULE, 0, r);
}

static int rule_parse(const struct nlmsghdr *nlh, void *out)
{
	return nl_rule_parse(nlh, out);
}

static bool rule_keep(const struct nl_list *l, const void *entry)
{
	const struct nl_rule *o = entry;

	return !l->family || o->family == l->family;
}

int nl_rule_list(struct nl *nl, int family, struct nl_rule *out, int max)
{
	struct nl_list l = { out, max, 0, 0, family, 0,
			      sizeof(*out), rule_parse, rule_keep };
	struct fib_rule_hdr *frh;

	nl_msg(nl, RTM_GETRULE, 0);
	frh = nl_msg_extra(nl, sizeof(*frh));
	if (frh)
		frh->family = family;
	return nl_list(nl, &l);
}

/* --- neighbours --------------------------------------------------------- */

static int neigh_attr(const struct nlattr *a, void *data)
{
	struct ctx *c = data;
	struct nl_neigh *o = c->out;
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case NDA_DST:
		return nl_attr_ip(a, c->family, &o->ip);
	case NDA_LLADDR:
		if (len > NL_MACLEN)
			break;
		memcpy(o->mac, mnl_attr_get_payload(a), len);
		o->mac_len = len;
		break;
	}
	return MNL_CB_OK;
}

int nl_neigh_parse(const struct nlmsghdr *nlh, struct nl_neigh *out)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct ctx c = { 0, out };

	memset(out, 0, sizeof(*out));
	if ((nlh->nlmsg_type != RTM_NEWNEIGH &&
	     nlh->nlmsg_type != RTM_DELNEIGH) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return -EBADMSG;
	if (!inet(ndm->ndm_family))
		return -EAFNOSUPPORT;
	c.family = ndm->ndm_family;
	out->index = ndm->ndm_ifindex;
	out->state = ndm->ndm_state;
	out->flags = ndm->ndm_flags;
	if (mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr, &c) < 0)
		return -EBADMSG;
	return 0;
}

static int neigh_req(struct nl *nl, uint16_t type, uint16_t flags,
		     int index, const struct ipaddr *ip, const uint8_t *mac)
{
	struct ndmsg *ndm;

	if (!inet(ip->family) || index <= 0)
		return -EINVAL;
	nl_msg(nl, type, flags);
	ndm = nl_msg_extra(nl, sizeof(*ndm));
	if (!ndm)
		return -EMSGSIZE;
	ndm->ndm_family = ip->family;
	ndm->ndm_ifindex = index;
	nl_put_ip(nl, NDA_DST, ip);
	if (mac) {
		ndm->ndm_state = NUD_PERMANENT;
		nl_put(nl, NDA_LLADDR, NL_MACLEN, mac);
	}
	return nl_talk(nl, NULL, NULL);
}

int nl_neigh_add(struct nl *nl, int index, const struct ipaddr *ip,
		 const uint8_t *mac)
{
	if (!mac)
		return -EINVAL;
	return neigh_req(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
			 index, ip, mac);
}

int nl_neigh_del(struct nl *nl, int index, const struct ipaddr *ip)
{
	return neigh_req(nl, RTM_DELNEIGH, 0, index, ip, NULL);
}

static int neigh_parse(const struct nlmsghdr *nlh, void *out)
{
	return nl_neigh_parse(nlh, out);
}

static bool neigh_keep(const struct nl_list *l, const void *entry)
{
	const struct nl_neigh *o = entry;

	return (!l->index || o->index == l->index) &&
	       (!l->family || o->ip.family == l->family);
}

int nl_neigh_list(struct nl *nl, int index, int family, struct nl_neigh *out,
		  int max)
{
	struct nl_list l = { out, max, 0, index, family, 0,
			      sizeof(*out), neigh_parse, neigh_keep };
	struct ndmsg *ndm;

	nl_msg(nl, RTM_GETNEIGH, 0);
	ndm = nl_msg_extra(nl, sizeof(*ndm));
	if (ndm)
		ndm->ndm_family = family;
	return nl_list(nl, &l);
}
