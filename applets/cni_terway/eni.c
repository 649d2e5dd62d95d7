/* cni-terway: the exclusive ENI (mode eni), as Terway's ExclusiveENI
 * datapath: the ENI link, found by its MAC in the host (waiting for it by
 * netlink events when the attach is still settling), moves into the pod
 * as eth0 with its address (vSwitch prefix), MTU and a default route via
 * the vSwitch gateway; veth.c adds veth1 for service and node traffic.
 *
 * DEL moves it back under the name it had in the host (recorded in the
 * state file; "eni%d" when that name is taken meanwhile).  When the pod's
 * netns is already gone the kernel has returned a physical device to the
 * initial netns (virtual ones, such as the veth a test uses as an ENI,
 * are destroyed with the netns): DEL then looks for the MAC in this
 * netns (renaming it back), and, when the plugin runs in another netns
 * than the initial one (a test node), in the initial netns, from where a
 * device without an rtnetlink kind (a NIC, never a virtual link) with
 * that MAC is moved back here.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include "cni_terway.h"
#include "log.h"
#include "netns.h"
#include "sock.h"
#include "tc.h"

#define TW_MAX_LINKS 1024

/* Links that share their lower device's MAC are not the ENI. */
static int stacked(const char *kind)
{
	static const char *const k[] = { "vlan", "macvlan", "macvtap",
		"ipvlan", "ipvtap", "bond", "bridge", "team", NULL };
	int i;

	for (i = 0; k[i]; i++)
		if (!strcmp(kind, k[i]))
			return 1;
	return 0;
}

static int eni_find(struct nl *nl, const uint8_t mac[NL_MACLEN],
		    struct nl_link *out)
{
	struct nl_link *l = calloc(TW_MAX_LINKS, sizeof(*l));
	int n, i, r = -ENODEV;

	if (!l)
		return -ENOMEM;
	n = nl_link_list(nl, l, TW_MAX_LINKS);
	if (n < 0)
		r = n;
	for (i = 0; i < n && i < TW_MAX_LINKS; i++)
		if (l[i].mac_len == NL_MACLEN &&
		    !memcmp(l[i].mac, mac, NL_MACLEN) && !stacked(l[i].kind)) {
			*out = l[i];
			r = 0;
			break;
		}
	free(l);
	return r;
}

/* Any link event means "look again"; a lost one (ENOBUFS) too. */
static void drain(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0 ||
	       errno == EINTR || errno == ENOBUFS)
		;
}

static int eni_wait(struct nl *nl, const uint8_t mac[NL_MACLEN],
		    struct nl_link *out, int timeout_ms)
{
	unsigned int grp = RTNLGRP_LINK;
	int64_t end = sock_now_ms() + timeout_ms;
	int fd = mnl_socket_get_fd(nl->ev), r;

	drain(fd);
	/* subscribe first, then look: no change can slip in between */
	if (mnl_socket_setsockopt(nl->ev, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0)
		return -errno;
	for (;;) {
		r = eni_find(nl, mac, out);
		if (r != -ENODEV)
			break;
		r = sock_wait(fd, POLLIN, sock_budget(0, end));
		if (r < 0)
			break;
		drain(fd);
	}
	mnl_socket_setsockopt(nl->ev, NETLINK_DROP_MEMBERSHIP, &grp,
			      sizeof(grp));
	drain(fd);
	return r;
}

/* One RTM_NEWLINK: into nsfd and, there, named name (the kernel closes
 * the device for the move, so the rename needs no "down" first). */
static int link_move(struct nl *nl, int index, int nsfd, const char *name)
{
	struct ifinfomsg *ifm;

	nl_msg(nl, RTM_NEWLINK, 0);
	ifm = nl_msg_extra(nl, sizeof(*ifm));
	if (!ifm)
		return -EMSGSIZE;
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	nl_put_u32(nl, IFLA_NET_NS_FD, (uint32_t)nsfd);
	nl_put_strz(nl, IFLA_IFNAME, name);
	return nl_talk(nl, NULL, NULL);
}

static int eni_in_pod(struct tw *t, int idx)
{
	struct ipnet def = { .ip.family = AF_INET };
	struct nl_route rt = { 0 };
	char buf[IPNET_STRLEN];
	int r;

	if ((r = nl_link_set_mtu(t->pod, idx, t->c.mtu)) < 0)
		return tw_nlerr(t, "RTM_NEWLINK mtu", t->s.ifname, r, t->pod);
	r = nl_addr_add(t->pod, idx, &t->s.ip, 0);
	if (r < 0 && r != -EEXIST)
		return tw_nlerr(t, "RTM_NEWADDR", ipnet_fmt(&t->s.ip, buf), r,
				t->pod);
	if ((r = nl_link_set_up(t->pod, idx, 1)) < 0)
		return tw_nlerr(t, "RTM_NEWLINK up", t->s.ifname, r, t->pod);
	rt.dst = def;
	rt.gw = t->s.gw;
	rt.oif = idx;
	rt.flags = RTNH_F_ONLINK;
	r = nl_route_replace(t->pod, &rt);
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWROUTE", "default", r, t->pod);
	return 0;
}

int tw_eni_wire(struct tw *t)
{
	int wait = t->c.timeout_ms < TW_ENI_WAIT_MS ? t->c.timeout_ms :
		   TW_ENI_WAIT_MS, r, idx;
	char mac[NL_MACSTRLEN];
	struct nl_link l;

	nl_mac_fmt(t->s.eni.mac, mac);
	r = eni_wait(t->host, t->s.eni.mac, &l, wait);
	if (r == -ETIMEDOUT)
		return cni_errf(&t->e, CNI_ERR_TRY_AGAIN, "ENI %s (%s) not in "
				"the host after %d ms", t->s.eni.id, mac, wait);
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "looking for ENI %s: "
				"%s", mac, strerror(-r));
	snprintf(t->s.eni_name, sizeof(t->s.eni_name), "%s", l.name);
	t->s.eni_mtu = l.mtu;
	if (tw_state_write(t) < 0)	/* DEL must know its host name */
		return -1;
	r = link_move(t->host, l.index, t->nsfd, t->s.ifname);
	if (r < 0)
		return tw_nlerr(t, "RTM_NEWLINK netns", l.name, r, t->host);
	log_info("ENI %s (%s) moved into %s as %s", l.name, mac, t->s.netns,
		 t->s.ifname);
	idx = nl_link_index(t->pod, t->s.ifname);
	if (idx < 0)
		return tw_nlerr(t, "RTM_GETLINK", t->s.ifname, idx, t->pod);
	return eni_in_pod(t, idx);
}

/* Back in this netns: its MTU as it was. */
static void eni_restore(struct tw *t)
{
	struct nl_link l;

	if (eni_find(t->host, t->s.eni.mac, &l) < 0)
		return;
	if (t->s.eni_mtu && l.mtu != t->s.eni_mtu)
		nl_link_set_mtu(t->host, l.index, t->s.eni_mtu);
	log_info("ENI %s is back in the host as %s", t->s.eni.id[0] ?
		 t->s.eni.id : "-", l.name);
}

/* Move link index of handle nl into this netns, under its host name. */
static int move_home(struct tw *t, struct nl *nl, int index)
{
	const char *name = t->s.eni_name[0] ? t->s.eni_name : "eni%d";
	int self = netns_open_current(), r;

	if (self < 0)
		return self;
	r = link_move(nl, index, self, name);
	if (r == -EEXIST && strcmp(name, "eni%d")) {
		log_warn("ENI name %s is taken in the host: named eni%%d",
			 name);
		r = link_move(nl, index, self, "eni%d");
	}
	close(self);
	return r;
}

/* The pod netns is gone: a NIC went back to the initial netns. */
static void eni_from_init(struct tw *t)
{
	int init = netns_open("/proc/1/ns/net"), self = netns_open_current();
	struct nl *nl = NULL;
	struct nl_link l;
	int r = -ENODEV;

	if (init < 0 || self < 0 || netns_same(init, self) != 0)
		goto out;
	nl = calloc(1, sizeof(*nl));
	if (!nl || nl_open_netns(nl, init) < 0)
		goto out;
	if (eni_find(nl, t->s.eni.mac, &l) == 0 && !l.kind[0])
		r = move_home(t, nl, l.index);
	nl_close(nl);
out:
	free(nl);
	if (init >= 0)
		close(init);
	if (self >= 0)
		close(self);
	if (r == 0)
		eni_restore(t);
	else
		log_warn("ENI %s: not in the pod, this or the initial netns "
			 "(a virtual stand-in dies with the pod's netns)",
			 t->s.eni.id[0] ? t->s.eni.id : t->s.eni_name);
}

void tw_eni_teardown(struct tw *t)
{
	struct nl_link l;
	int r;

	if (!t->s.eni.has_mac)
		return;
	if (t->pod && eni_find(t->pod, t->s.eni.mac, &l) == 0) {
		tc_tbf_del(t->pod, l.index);
		r = move_home(t, t->pod, l.index);
		if (r < 0)
			log_warn("ENI %s: RTM_NEWLINK netns: %s", l.name,
				 strerror(-r));
		else
			eni_restore(t);
		return;
	}
	if (eni_find(t->host, t->s.eni.mac, &l) == 0) {
		if (t->s.eni_name[0] && strcmp(l.name, t->s.eni_name)) {
			nl_link_set_up(t->host, l.index, 0);
			r = nl_link_set_name(t->host, l.index, t->s.eni_name);
			if (r < 0)
				log_warn("ENI %s: rename to %s: %s", l.name,
					 t->s.eni_name, strerror(-r));
		}
		eni_restore(t);
		return;
	}
	eni_from_init(t);
}
