/* rtnetlink links: read, create (veth, bridge, ifb, vxlan), change, wait. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/if.h>		/* not <net/if.h>: IFF_LOWER_UP, IF_OPER_* */
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "nl.h"

static bool name_ok(const char *name)
{
	size_t n = name ? strnlen(name, NL_IFNAMSIZ) : 0;

	return n > 0 && n < NL_IFNAMSIZ && !strchr(name, '/');
}

static int brport_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_get_type(a) != IFLA_BRPORT_MODE)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return MNL_CB_ERROR;
	l->hairpin = mnl_attr_get_u8(a) != 0;
	return MNL_CB_OK;
}

static int nested(const struct nlattr *a, mnl_attr_cb_t cb, void *data)
{
	if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return MNL_CB_ERROR;
	return mnl_attr_parse_nested(a, cb, data) < 0 ? MNL_CB_ERROR :
							MNL_CB_OK;
}

static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_INFO_KIND:
		return nl_attr_str(a, l->kind, sizeof(l->kind));
	case IFLA_INFO_SLAVE_KIND:
		return nl_attr_str(a, l->slave_kind, sizeof(l->slave_kind));
	case IFLA_INFO_SLAVE_DATA:
		/* the kernel sends the kind first; numbering is per kind */
		if (strcmp(l->slave_kind, "bridge"))
			return MNL_CB_OK;
		return nested(a, brport_attr, l);
	}
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		return nl_attr_str(a, l->name, sizeof(l->name));
	case IFLA_MTU:
		return nl_attr_u32(a, &l->mtu);
	case IFLA_TXQLEN:
		return nl_attr_u32(a, &l->txqlen);
	case IFLA_MASTER:
		return nl_attr_u32(a, (unsigned int *)&l->master);
	case IFLA_LINK:
		return nl_attr_u32(a, (unsigned int *)&l->link);
	case IFLA_LINK_NETNSID:
		return nl_attr_u32(a, (unsigned int *)&l->link_netnsid);
	case IFLA_OPERSTATE:
		if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
			return MNL_CB_ERROR;
		l->operstate = mnl_attr_get_u8(a);
		break;
	case IFLA_ADDRESS:
		if (len > NL_MACLEN)
			break;		/* not Ethernet: no MAC */
		memcpy(l->mac, mnl_attr_get_payload(a), len);
		l->mac_len = len;
		break;
	case IFLA_LINKINFO:
		return nested(a, linkinfo_attr, l);
	case IFLA_PROTINFO:	/* AF_BRIDGE messages only */
		if (!(a->nla_type & NLA_F_NESTED))
			break;
		return nested(a, brport_attr, l);
	}
	return MNL_CB_OK;
}

int nl_link_parse(const struct nlmsghdr *nlh, struct nl_link *out)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	memset(out, 0, sizeof(*out));
	out->link_netnsid = -1;
	out->hairpin = -1;
	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
	    || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return -EBADMSG;
	out->index = ifm->ifi_index;
	out->flags = ifm->ifi_flags;
	if (mnl_attr_parse(nlh, sizeof(*ifm), link_attr, out) < 0)
		return -EBADMSG;
	return 0;
}

struct link_get {
	struct nl_link *out;
	bool found;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_get *g = data;

	if (nl_link_parse(nlh, g->out) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	g->found = true;
	return MNL_CB_OK;
}

static struct ifinfomsg *link_msg(struct nl *nl, uint16_t type,
				  uint16_t flags, int index)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct ifinfomsg *ifm;

	/* always fits: the request buffer is empty */
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = index;
	return ifm;
}

static int get(struct nl *nl, struct nl_link *out)
{
	struct link_get g = { out, false };
	int e;

	nl_put_u32(nl, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	e = nl_talk(nl, get_cb, &g);
	if (e == 0 && !g.found)
		e = -ENODEV;
	return e;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out)
{
	if (!name_ok(name))
		return -EINVAL;
	link_msg(nl, RTM_GETLINK, 0, 0);
	nl_put_strz(nl, IFLA_IFNAME, name);
	return get(nl, out);
}

int nl_link_get_index(struct nl *nl, int index, struct nl_link *out)
{
	if (index <= 0)
		return -ENODEV;
	link_msg(nl, RTM_GETLINK, 0, index);
	return get(nl, out);
}

int nl_link_index(struct nl *nl, const char *name)
{
	struct nl_link l;
	int e = nl_link_get(nl, name, &l);

	return e < 0 ? e : l.index;
}

static int list_parse(const struct nlmsghdr *nlh, void *out)
{
	return nl_link_parse(nlh, out);
}

int nl_link_list(struct nl *nl, struct nl_link *out, int max)
{
	struct nl_list l = { out, max, 0, 0, 0, 0, sizeof(*out), list_parse,
			     NULL };

	link_msg(nl, RTM_GETLINK, 0, 0);
	nl_put_u32(nl, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_list(nl, &l);
}

/* --- creating ----------------------------------------------------------- */

static void put_kind(struct nl *nl, const char *kind)
{
	struct nlattr *info = nl_nest(nl, IFLA_LINKINFO);

	nl_put_strz(nl, IFLA_INFO_KIND, kind);
	nl_nest_end(nl, info);
}

static void new_link(struct nl *nl, const char *name, unsigned int mtu,
		     const uint8_t *mac)
{
	link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_put_strz(nl, IFLA_IFNAME, name);
	if (mtu)
		nl_put_u32(nl, IFLA_MTU, mtu);
	if (mac)
		nl_put(nl, IFLA_ADDRESS, NL_MACLEN, mac);
}

int nl_veth_add(struct nl *nl, const struct nl_veth *v)
{
	struct nlattr *info, *data, *peer;

	if (!name_ok(v->name) || !name_ok(v->peer))
		return -EINVAL;
	new_link(nl, v->name, v->mtu, v->mac);
	info = nl_nest(nl, IFLA_LINKINFO);
	nl_put_strz(nl, IFLA_INFO_KIND, "veth");
	data = nl_nest(nl, IFLA_INFO_DATA);
	peer = nl_nest(nl, VETH_INFO_PEER);
	nl_msg_extra(nl, sizeof(struct ifinfomsg));	/* the peer's */
	nl_put_strz(nl, IFLA_IFNAME, v->peer);
	if (v->peer_netns >= 0)
		nl_put_u32(nl, IFLA_NET_NS_FD, v->peer_netns);
	if (v->mtu)
		nl_put_u32(nl, IFLA_MTU, v->mtu);
	if (v->peer_mac)
		nl_put(nl, IFLA_ADDRESS, NL_MACLEN, v->peer_mac);
	nl_nest_end(nl, peer);
	nl_nest_end(nl, data);
	nl_nest_end(nl, info);
	return nl_talk(nl, NULL, NULL);
}

int nl_bridge_add(struct nl *nl, const char *name, unsigned int mtu)
{
	if (!name_ok(name))
		return -EINVAL;
	new_link(nl, name, mtu, NULL);
	put_kind(nl, "bridge");
	return nl_talk(nl, NULL, NULL);
}

int nl_ifb_add(struct nl *nl, const char *name)
{
	if (!name_ok(name))
		return -EINVAL;
	new_link(nl, name, 0, NULL);
	put_kind(nl, "ifb");
	return nl_talk(nl, NULL, NULL);
}

int nl_vxlan_add(struct nl *nl, const struct nl_vxlan *v)
{
	struct nlattr *info, *data;

	if (!name_ok(v->name) || v->vni >= 1 << 24)
		return -EINVAL;
	new_link(nl, v->name, v->mtu, NULL);
	info = nl_nest(nl, IFLA_LINKINFO);
	nl_put_strz(nl, IFLA_INFO_KIND, "vxlan");
	data = nl_nest(nl, IFLA_INFO_DATA);
	nl_put_u32(nl, IFLA_VXLAN_ID, v->vni);
	if (v->link)
		nl_put_u32(nl, IFLA_VXLAN_LINK, v->link);
	if (v->local.family == AF_INET)
		nl_put_ip(nl, IFLA_VXLAN_LOCAL, &v->local);
	else if (v->local.family == AF_INET6)
		nl_put_ip(nl, IFLA_VXLAN_LOCAL6, &v->local);
	if (v->port)
		nl_put_u16(nl, IFLA_VXLAN_PORT, htons(v->port));
	nl_put_u8(nl, IFLA_VXLAN_LEARNING, v->learning);
	nl_nest_end(nl, data);
	nl_nest_end(nl, info);
	return nl_talk(nl, NULL, NULL);
}

int nl_link_del(struct nl *nl, int index)
{
	if (index <= 0)
		return -ENODEV;
	link_msg(nl, RTM_DELLINK, 0, index);
	return nl_talk(nl, NULL, NULL);
}

int nl_link_del_name(struct nl *nl, const char *name)
{
	if (!name_ok(name))
		return -EINVAL;
	link_msg(nl, RTM_DELLINK, 0, 0);
	nl_put_strz(nl, IFLA_IFNAME, name);
	return nl_talk(nl, NULL, NULL);
}

/* --- changing ----------------------------------------------------------- */

static int set_flag(struct nl *nl, int index, unsigned int flag, bool on)
{
	struct ifinfomsg *ifm = link_msg(nl, RTM_SETLINK, 0, index);

	ifm->ifi_change = flag;
	ifm->ifi_flags = on ? flag : 0;
	return nl_talk(nl, NULL, NULL);
}

static int set_u32(struct nl *nl, int index, uint16_t type, uint32_t v)
{
	link_msg(nl, RTM_SETLINK, 0, index);
	nl_put_u32(nl, type, v);
	return nl_talk(nl, NULL, NULL);
}

int nl_link_set_up(struct nl *nl, int index, bool up)
{
	return set_flag(nl, index, IFF_UP, up);
}

int nl_link_set_promisc(struct nl *nl, int index, bool on)
{
	return set_flag(nl, index, IFF_PROMISC, on);
}

int nl_link_set_mtu(struct nl *nl, int index, unsigned int mtu)
{
	return set_u32(nl, index, IFLA_MTU, mtu);
}

int nl_link_set_master(struct nl *nl, int index, int master)
{
	return set_u32(nl, index, IFLA_MASTER, master);
}

int nl_link_set_netns(struct nl *nl, int index, int nsfd)
{
	return set_u32(nl, index, IFLA_NET_NS_FD, nsfd);
}

int nl_link_set_txqlen(struct nl *nl, int index, unsigned int txqlen)
{
	return set_u32(nl, index, IFLA_TXQLEN, txqlen);
}

int nl_link_set_name(struct nl *nl, int index, const char *name)
{
	if (!name_ok(name))
		return -EINVAL;
	link_msg(nl, RTM_SETLINK, 0, index);
	nl_put_strz(nl, IFLA_IFNAME, name);
	return nl_talk(nl, NULL, NULL);
}

int nl_link_set_mac(struct nl *nl, int index, const uint8_t *mac)
{
	link_msg(nl, RTM_SETLINK, 0, index);
	nl_put(nl, IFLA_ADDRESS, NL_MACLEN, mac);
	return nl_talk(nl, NULL, NULL);
}

/* As `bridge link set dev X hairpin on`: AF_BRIDGE, nested PROTINFO. */
int nl_bridge_port_set_hairpin(struct nl *nl, int index, bool on)
{
	struct ifinfomsg *ifm = link_msg(nl, RTM_SETLINK, 0, index);
	struct nlattr *pi;

	ifm->ifi_family = AF_BRIDGE;
	pi = nl_nest(nl, IFLA_PROTINFO);
	nl_put_u8(nl, IFLA_BRPORT_MODE, on);
	nl_nest_end(nl, pi);
	return nl_talk(nl, NULL, NULL);
}

/* --- waiting ------------------------------------------------------------ */

static bool link_ready(const struct nl_link *l)
{
	if (!(l->flags & IFF_UP))
		return false;
	if (l->operstate == IF_OPER_UP)
		return true;
	return l->operstate == IF_OPER_UNKNOWN && (l->flags & IFF_LOWER_UP);
}

struct wait {
	int index;
	int result;		/* 1 ready, -ENODEV gone, 0 not yet */
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct wait *w = data;
	struct nl_link l;

	if (nl_link_parse(nlh, &l) < 0 || l.index != w->index)
		return MNL_CB_OK;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		/* AF_BRIDGE: the port left its bridge, the link is here */
		if (ifm->ifi_family != AF_BRIDGE)
			w->result = -ENODEV;
	} else if (link_ready(&l)) {
		w->result = 1;
	}
	return w->result ? MNL_CB_STOP : MNL_CB_OK;
}

static void drain_events(struct nl *nl)
{
	int fd = mnl_socket_get_fd(nl->ev);

	while (recv(fd, nl->buf, sizeof(nl->buf), MSG_DONTWAIT) >= 0 ||
	       errno == EINTR || errno == ENOBUFS)
		;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 +
	       (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* Events until the link is ready or gone; a lost event (ENOBUFS) means
 * asking again. */
static int wait_events(struct nl *nl, struct wait *w,
		       const struct timespec *end)
{
	struct pollfd p = { mnl_socket_get_fd(nl->ev), POLLIN, 0 };
	struct nl_link l;
	ssize_t n;
	long ms;
	int e;

	while (!w->result) {
		ms = ms_left(end);
		if (ms <= 0)
			return -ETIMEDOUT;
		e = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
		if (e < 0 && errno != EINTR)
			return -errno;
		if (e <= 0)
			continue;
		n = mnl_socket_recvfrom(nl->ev, nl->buf, sizeof(nl->buf));
		if (n < 0 && errno == ENOBUFS) {
			e = nl_link_get_index(nl, w->index, &l);
			if (e < 0)
				return e;
			w->result = link_ready(&l);
		} else if (n < 0 && errno != EINTR && errno != ENOSPC) {
			return -errno;
		} else if (n > 0) {
			mnl_cb_run(nl->buf, nl_stream_len(nl->buf, n), 0, 0,
				   event_cb, w);
		}
	}
	return w->result < 0 ? w->result : 0;
}

int nl_link_wait_up(struct nl *nl, int index, int timeout_ms)
{
	unsigned int grp = RTNLGRP_LINK;
	struct wait w = { index, 0 };
	struct timespec end;
	struct nl_link l;
	int e;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	drain_events(nl);
	/* subscribe first, then look: no change can slip in between */
	if (mnl_socket_setsockopt(nl->ev, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return -errno;
	e = nl_link_get_index(nl, index, &l);
	if (e == 0 && !link_ready(&l))
		e = wait_events(nl, &w, &end);
	mnl_socket_setsockopt(nl->ev, NETLINK_DROP_MEMBERSHIP, &grp,
			      sizeof(grp));
	drain_events(nl);
	return e;
}
