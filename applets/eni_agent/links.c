/* ENI links on the node: found by MAC (waiting for the kernel to create
 * the link, by RTNLGRP_LINK events, bounded), then configured as Terway
 * does for a shared ENI: MTU, up, and its own route table 1000 + ifindex
 * holding the vSwitch subnet (scope link) and the default route via the
 * vSwitch gateway (onlink).  Pod traffic is steered into that table by
 * cni-terway's rules ("from podIP lookup 1000+ifindex"). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include "links.h"
#include "sock.h"

#define EA_MAX_LINKS	1024

int ea_links_open(struct ea_links *l, int nsfd)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->nl = malloc(sizeof(*l->nl));
	l->list = calloc(EA_MAX_LINKS, sizeof(*l->list));
	if (!l->nl || !l->list) {
		free(l->nl);
		free(l->list);
		l->nl = NULL;
		l->list = NULL;
		return -ENOMEM;
	}
	rc = nl_open_netns(l->nl, nsfd);
	if (rc < 0) {
		free(l->nl);
		free(l->list);
		l->nl = NULL;
		l->list = NULL;
		return rc;
	}
	return 0;
}

void ea_links_close(struct ea_links *l)
{
	if (l->nl) {
		nl_close(l->nl);
		free(l->nl);
	}
	free(l->list);
	memset(l, 0, sizeof(*l));
}

static int find_in_dump(struct ea_links *l, const uint8_t *mac,
			struct nl_link *out)
{
	int n, i;

	n = nl_link_list(l->nl, l->list, EA_MAX_LINKS);
	if (n < 0)
		return n;
	for (i = 0; i < n && i < EA_MAX_LINKS; i++)
		if (l->list[i].mac_len == NL_MACLEN &&
		    !memcmp(l->list[i].mac, mac, NL_MACLEN)) {
			*out = l->list[i];
			return 1;
		}
	return 0;
}

struct ev_match {
	const uint8_t *mac;
	struct nl_link *out;
	int found;
};

static int ev_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ev_match *m = data;
	struct nl_link lk;

	if (nlh->nlmsg_type != RTM_NEWLINK || nl_link_parse(nlh, &lk) < 0)
		return MNL_CB_OK;
	if (lk.mac_len == NL_MACLEN && !memcmp(lk.mac, m->mac, NL_MACLEN)) {
		*m->out = lk;
		m->found = 1;
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

/* Events until the link shows up: 1, -ETIMEDOUT, -errno. */
static int wait_link(struct ea_links *l, const uint8_t *mac,
		     int64_t end, struct nl_link *out)
{
	struct pollfd p = { mnl_socket_get_fd(l->nl->ev), POLLIN, 0 };
	struct ev_match m = { mac, out, 0 };
	ssize_t n;
	int64_t left;
	int e;

	while (!m.found) {
		left = end - sock_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		e = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (e < 0 && errno != EINTR)
			return -errno;
		if (e <= 0)
			continue;
		n = mnl_socket_recvfrom(l->nl->ev, l->nl->buf,
					sizeof(l->nl->buf));
		if (n < 0 && errno == ENOBUFS) {
			e = find_in_dump(l, mac, out);
			if (e)
				return e;
		} else if (n < 0 && errno != EINTR) {
			return -errno;
		} else if (n > 0) {
			mnl_cb_run(l->nl->buf, nl_stream_len(l->nl->buf,
							     (size_t)n),
				   0, 0, ev_cb, &m);
		}
	}
	return 1;
}

int ea_link_by_mac(struct ea_links *l, const char *mac, int timeout_ms,
		   struct nl_link *out)
{
	unsigned int grp = RTNLGRP_LINK;
	uint8_t want[NL_MACLEN];
	int rc;

	if (nl_mac_parse(mac, want) < 0)
		return -EINVAL;
	/* subscribe first, then look: no change slips in between */
	if (mnl_socket_setsockopt(l->nl->ev, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return -errno;
	rc = find_in_dump(l, want, out);
	if (rc == 0)
		rc = wait_link(l, want, sock_now_ms() + timeout_ms, out);
	mnl_socket_setsockopt(l->nl->ev, NETLINK_DROP_MEMBERSHIP, &grp,
			      sizeof(grp));
	return rc < 0 ? rc : 0;
}

int ea_link_setup(struct ea_links *l, const struct nl_link *lk,
		  unsigned int mtu, const struct ipnet *cidr,
		  const struct ipaddr *gw, char *err, size_t errlen)
{
	struct nl_route r;
	unsigned int table = EA_TABLE_BASE + (unsigned int)lk->index;
	const char *what = "RTM_NEWLINK mtu";
	int rc = 0;

	if (mtu && lk->mtu != mtu)
		rc = nl_link_set_mtu(l->nl, lk->index, mtu);
	if (!rc && !(lk->flags & IFF_UP)) {
		what = "RTM_NEWLINK up";
		rc = nl_link_set_up(l->nl, lk->index, true);
	}
	if (!rc) {
		what = "RTM_NEWROUTE subnet";
		memset(&r, 0, sizeof(r));
		r.dst = *cidr;
		ipnet_mask(&r.dst);
		r.oif = lk->index;
		r.table = table;
		r.scope = RT_SCOPE_LINK;
		rc = nl_route_replace(l->nl, &r);
	}
	if (!rc) {
		what = "RTM_NEWROUTE default";
		memset(&r, 0, sizeof(r));
		r.dst.ip.family = AF_INET;
		r.gw = *gw;
		r.oif = lk->index;
		r.table = table;
		r.flags = RTNH_F_ONLINK;
		rc = nl_route_replace(l->nl, &r);
	}
	if (rc < 0)
		snprintf(err, errlen, "%s %s table %u: %s%s%s", what, lk->name,
			 table, strerror(-rc), l->nl->ext[0] ? ": " : "",
			 l->nl->ext);
	return rc;
}
