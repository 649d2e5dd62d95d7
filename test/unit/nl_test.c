/*
 * lib/nl + lib/netns against the kernel, in a private netns made with
 * unshare(CLONE_NEWNET) (gone when the test exits), plus a second netns
 * ("B") for the veth peer.  Skipped when not root.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "ip.h"
#include "netns.h"
#include "nl.h"
#include "test.h"

static struct nl nl;		/* in the test's netns (A) */
static struct nl nlb;		/* sockets made inside B */
static int ns_a = -1, ns_b = -1;

static struct ipnet net(const char *s)
{
	struct ipnet n;

	if (ipnet_parse(s, &n) < 0)
		abort();
	return n;
}

static struct ipaddr ip(const char *s)
{
	struct ipaddr a;

	if (ip_parse(s, &a) < 0)
		abort();
	return a;
}

static int idx(const char *name)
{
	return nl_link_index(&nl, name);
}

static int in_b(void *arg)
{
	int cur = netns_open_current(), r;

	r = netns_same(cur, ns_b);
	close(cur);
	*(int *)arg = r;
	return 7;
}

static void test_netns(void)
{
	int fd, r = 0, cur;

	fd = netns_open("/proc/self/ns/net");
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(netns_same(fd, ns_a), 1);
		CHECK_INT(netns_same(fd, ns_b), 0);
		close(fd);
	}
	CHECK_INT(netns_open("/nlt-no/such/ns"), -ENOENT);
	CHECK_INT(netns_open("/etc/hostname"), -EINVAL);	/* a file */
	CHECK_INT(netns_open("/proc/self/ns/uts"), -EINVAL);	/* other kind */
	CHECK_INT(netns_run(ns_b, in_b, &r), 7);
	CHECK_INT(r, 1);
	cur = netns_open_current();
	CHECK_INT(netns_same(cur, ns_a), 1);		/* came back */
	close(cur);
	CHECK_INT(netns_enter(-1, &r), -EBADF);
	CHECK_INT(r, -1);
}

static void test_link_get(void)
{
	struct nl_link l;

	CHECK_INT(nl_link_get(&nl, "lo", &l), 0);
	CHECK_INT(l.index, 1);
	CHECK_STR(l.name, "lo");
	CHECK_INT(l.mtu, 65536);
	CHECK_INT(l.hairpin, -1);
	CHECK_INT(l.master, 0);
	CHECK_INT(nl_link_get(&nl, "nlt-none", &l), -ENODEV);
	CHECK_INT(nl_link_get_index(&nl, 99999, &l), -ENODEV);
	CHECK_INT(nl_link_index(&nl, "lo"), 1);
	CHECK_INT(nl_link_index(&nl, "nlt-much-too-long"), -EINVAL);
	CHECK_INT(nl_link_set_up(&nl, 99999, true), -ENODEV);
	CHECK_INT(nl_link_del(&nl, 99999), -ENODEV);
	CHECK_INT(nl_link_del_name(&nl, "nlt-none"), -ENODEV);
	CHECK_INT(nl_link_get_index(&nl, 1, &l), 0);
	CHECK_STR(l.name, "lo");
}

static void test_bridge_veth(void)
{
	static const uint8_t pmac[6] = { 0x02, 0x6e, 0x6c, 0x74, 0, 1 };
	struct nl_veth v = { "nlt-h0", "nlt-p0", -1, 1400, NULL, pmac };
	struct nl_link l, br;

	CHECK_INT(nl_bridge_add(&nl, "nlt-br0", 1400), 0);
	CHECK_INT(nl_bridge_add(&nl, "nlt-br0", 1400), -EEXIST);
	CHECK_INT(nl_link_get(&nl, "nlt-br0", &br), 0);
	CHECK_STR(br.kind, "bridge");
	CHECK_INT(br.mtu, 1400);
	CHECK_INT(br.mac_len, 6);
	v.peer_netns = ns_b;
	CHECK_INT(nl_veth_add(&nl, &v), 0);
	CHECK_INT(nl_veth_add(&nl, &v), -EEXIST);
	CHECK_INT(nl_link_get(&nl, "nlt-p0", &l), -ENODEV);	/* in B */
	CHECK_INT(nl_link_get(&nlb, "nlt-p0", &l), 0);
	CHECK(!memcmp(l.mac, pmac, 6));
	CHECK_INT(l.mtu, 1400);
	CHECK_STR(l.kind, "veth");
	CHECK(l.link_netnsid >= 0);
	CHECK_INT(nl_link_get(&nl, "nlt-h0", &l), 0);
	CHECK_INT(l.mtu, 1400);
	CHECK(l.link_netnsid >= 0);
	CHECK(l.link > 0);
	CHECK_INT(nl_link_set_master(&nl, l.index, br.index), 0);
	CHECK_INT(nl_link_set_up(&nl, l.index, true), 0);
	CHECK_INT(nl_link_set_up(&nl, br.index, true), 0);
	CHECK_INT(nl_link_get(&nl, "nlt-h0", &l), 0);
	CHECK_INT(l.master, br.index);
	CHECK_STR(l.slave_kind, "bridge");
	CHECK_INT(l.hairpin, 0);
	CHECK(l.flags & IFF_UP);
	CHECK_INT(nl_bridge_port_set_hairpin(&nl, l.index, true), 0);
	CHECK_INT(nl_link_get_index(&nl, l.index, &l), 0);
	CHECK_INT(l.hairpin, 1);
	CHECK_INT(nl_bridge_port_set_hairpin(&nl, br.index, true), -EOPNOTSUPP);
	/* the peer comes up in B: the host end gets carrier */
	CHECK_INT(nl_link_set_up(&nlb, nl_link_index(&nlb, "nlt-p0"), true), 0);
	CHECK_INT(nl_link_wait_up(&nl, l.index, 5000), 0);
	CHECK_INT(nl_link_wait_up(&nlb, nl_link_index(&nlb, "nlt-p0"), 5000),
		  0);
	CHECK_INT(nl_link_get_index(&nl, l.index, &l), 0);
	CHECK_INT(l.operstate, IF_OPER_UP);
	CHECK(l.flags & IFF_LOWER_UP);
}

static void test_link_set(void)
{
	static const uint8_t mac[6] = { 0x02, 0x6e, 0x6c, 0x74, 0, 2 };
	struct nl_link l;
	char buf[NL_MACSTRLEN];
	int i = idx("nlt-br0");

	CHECK(i > 0);
	CHECK_INT(nl_link_set_mtu(&nl, i, 1300), 0);
	CHECK_INT(nl_link_set_mac(&nl, i, mac), 0);
	CHECK_INT(nl_link_set_promisc(&nl, i, true), 0);
	CHECK_INT(nl_link_set_txqlen(&nl, i, 77), 0);
	CHECK_INT(nl_link_get_index(&nl, i, &l), 0);
	CHECK_INT(l.mtu, 1300);
	CHECK_STR(nl_mac_fmt(l.mac, buf), "02:6e:6c:74:00:02");
	CHECK(l.flags & IFF_PROMISC);
	CHECK_INT(l.txqlen, 77);
	CHECK_INT(nl_link_set_promisc(&nl, i, false), 0);
	CHECK_INT(nl_link_get_index(&nl, i, &l), 0);
	CHECK(!(l.flags & IFF_PROMISC));
	/* extack: the kernel says why */
	CHECK_INT(nl_link_set_mtu(&nl, i, 1000000), -EINVAL);
	CHECK(nl.ext[0] != 0);
	CHECK(strcasestr(nl.ext, "mtu") != NULL);
	CHECK_INT(nl_link_set_mtu(&nl, i, 1400), 0);
	CHECK_STR(nl.ext, "");
	/* renaming: down first */
	CHECK_INT(nl_ifb_add(&nl, "nlt-ifb0"), 0);
	i = idx("nlt-ifb0");
	CHECK_INT(nl_link_get_index(&nl, i, &l), 0);
	CHECK_STR(l.kind, "ifb");
	CHECK_INT(nl_link_set_name(&nl, i, "nlt-ifb1"), 0);
	CHECK_INT(idx("nlt-ifb1"), i);
	CHECK_INT(nl_link_set_name(&nl, i, "bad/name"), -EINVAL);
	CHECK_INT(nl_link_del_name(&nl, "nlt-ifb1"), 0);
	CHECK_INT(idx("nlt-ifb1"), -ENODEV);
}

static void test_vxlan(void)
{
	struct nl_vxlan v = { "nlt-vx0", 42, 0, { 0 }, 8472, 1300, false };
	struct nl_link l;
	int e;

	v.local = ip("10.99.0.1");
	v.link = idx("nlt-br0");
	e = nl_vxlan_add(&nl, &v);
	if (e == -EOPNOTSUPP)
		return;		/* no vxlan module here */
	CHECK_INT(e, 0);
	CHECK_INT(nl_link_get(&nl, "nlt-vx0", &l), 0);
	CHECK_STR(l.kind, "vxlan");
	CHECK_INT(l.mtu, 1300);
	CHECK_INT(nl_link_del(&nl, l.index), 0);
	v.vni = 1 << 24;
	CHECK_INT(nl_vxlan_add(&nl, &v), -EINVAL);
}

/* A child changes the link a moment after the parent starts waiting. */
static pid_t later(const char *name, bool del)
{
	struct nl c;
	pid_t pid = fork();
	struct timespec ts = { 0, 100 * 1000000L };
	int i;

	if (pid != 0)
		return pid;
	nanosleep(&ts, NULL);
	if (nl_open(&c) < 0)
		_exit(1);
	i = nl_link_index(&c, name);
	_exit((del ? nl_link_del(&c, i) : nl_link_set_up(&c, i, true)) ? 1 : 0);
}

static void test_wait_up(void)
{
	struct nl_veth v = { "nlt-w0", "nlt-w1", -1, 0, NULL, NULL };
	int w0, st = -1;
	pid_t pid;

	CHECK_INT(nl_veth_add(&nl, &v), 0);
	w0 = idx("nlt-w0");
	CHECK_INT(nl_link_wait_up(&nl, w0, 50), -ETIMEDOUT);	/* down */
	CHECK_INT(nl_link_set_up(&nl, w0, true), 0);
	CHECK_INT(nl_link_wait_up(&nl, w0, 50), -ETIMEDOUT);	/* no peer */
	pid = later("nlt-w1", false);
	CHECK_INT(nl_link_wait_up(&nl, w0, 5000), 0);
	waitpid(pid, &st, 0);
	CHECK_INT(st, 0);
	CHECK_INT(nl_link_wait_up(&nl, w0, 0), 0);	/* already up */
	CHECK_INT(nl_link_set_up(&nl, idx("nlt-w1"), false), 0);
	pid = later("nlt-w0", true);
	CHECK_INT(nl_link_wait_up(&nl, w0, 5000), -ENODEV);
	waitpid(pid, &st, 0);
	CHECK_INT(nl_link_wait_up(&nl, 99999, 10), -ENODEV);
	/* the handle still works normally after waiting */
	CHECK_INT(nl_link_index(&nl, "lo"), 1);
}

static int find_addr(const char *cidr, int index, unsigned int *flags)
{
	struct nl_addr a[16];
	struct ipnet want = net(cidr);
	int n, i;

	n = nl_addr_list(&nl, index, want.ip.family, a, 16);
	for (i = 0; i < n && i < 16; i++)
		if (ip_equal(&a[i].addr.ip, &want.ip) &&
		    a[i].addr.prefix == want.prefix && a[i].index == index) {
			if (flags)
				*flags = a[i].flags;
			return 1;
		}
	return n < 0 ? n : 0;
}

static void test_addr(void)
{
	struct ipnet a4 = net("10.99.0.1/24"), a6 = net("fd00:99::1/64");
	struct ipnet np = net("10.98.0.1/24");
	struct nl_addr all[2];
	unsigned int fl = 0;
	int br = idx("nlt-br0");

	CHECK_INT(nl_addr_add(&nl, br, &a4, 0), 0);
	CHECK_INT(nl_addr_add(&nl, br, &a4, 0), -EEXIST);
	CHECK_INT(nl_addr_add(&nl, br, &a6, IFA_F_NODAD), 0);
	CHECK_INT(nl_addr_add(&nl, br, &np, IFA_F_NOPREFIXROUTE), 0);
	CHECK_INT(find_addr("10.99.0.1/24", br, NULL), 1);
	CHECK_INT(find_addr("fd00:99::1/64", br, &fl), 1);
	CHECK(fl & IFA_F_NODAD);
	CHECK(!(fl & IFA_F_TENTATIVE));
	CHECK_INT(find_addr("10.98.0.1/24", br, &fl), 1);
	CHECK(fl & IFA_F_NOPREFIXROUTE);
	CHECK_INT(find_addr("10.99.0.1/24", 1, NULL), 0);	/* not on lo */
	CHECK(nl_addr_list(&nl, 0, 0, all, 2) >= 4);	/* counts past max */
	CHECK_INT(nl_addr_del(&nl, br, &np), 0);
	CHECK_INT(nl_addr_del(&nl, br, &np), -EADDRNOTAVAIL);
	CHECK_INT(find_addr("10.98.0.1/24", br, NULL), 0);
	np.prefix = 33;
	CHECK_INT(nl_addr_add(&nl, br, &np, 0), -EINVAL);
}

static int find_route(const struct nl_route *want, struct nl_route *got)
{
	struct nl_route r[64];
	int n, i;

	n = nl_route_list(&nl, want->dst.ip.family, want->table, r, 64);
	for (i = 0; i < n && i < 64; i++)
		if (ip_equal(&r[i].dst.ip, &want->dst.ip) &&
		    r[i].dst.prefix == want->dst.prefix) {
			*got = r[i];
			return 1;
		}
	return n < 0 ? n : 0;
}

static void test_route(void)
{
	struct nl_route r = { 0 }, got;
	int br = idx("nlt-br0");

	r.dst = net("10.1.0.0/16");
	r.gw = ip("10.99.0.2");
	r.oif = br;
	r.metric = 7;
	CHECK_INT(nl_route_add(&nl, &r), 0);
	CHECK_INT(nl_route_add(&nl, &r), -EEXIST);
	r.table = RT_TABLE_MAIN;
	CHECK_INT(find_route(&r, &got), 1);
	CHECK(ip_equal(&got.gw, &r.gw));
	CHECK_INT(got.oif, br);
	CHECK_INT(got.metric, 7);
	CHECK_INT(got.protocol, RTPROT_BOOT);
	CHECK_INT(got.type, RTN_UNICAST);
	r.gw = ip("10.99.0.3");
	CHECK_INT(nl_route_replace(&nl, &r), 0);
	CHECK_INT(find_route(&r, &got), 1);
	CHECK(ip_equal(&got.gw, &r.gw));
	CHECK_INT(nl_route_del(&nl, &r), 0);
	CHECK_INT(nl_route_del(&nl, &r), -ESRCH);
	CHECK_INT(find_route(&r, &got), 0);
	/* default route in table 1000, host bits masked */
	memset(&r, 0, sizeof(r));
	r.dst = net("0.0.0.0/0");
	r.gw = ip("10.99.0.2");
	r.table = 1000;
	CHECK_INT(nl_route_add(&nl, &r), 0);
	CHECK_INT(find_route(&r, &got), 1);
	CHECK_INT(got.table, 1000);
	r.table = RT_TABLE_MAIN;
	CHECK_INT(find_route(&r, &got), 0);
	/* onlink gateway outside any connected prefix; scope link */
	memset(&r, 0, sizeof(r));
	r.dst = net("10.3.0.7/16");
	r.gw = ip("192.168.255.1");
	r.oif = br;
	CHECK(nl_route_add(&nl, &r) < 0);
	CHECK(nl.ext[0] != 0);
	r.flags = RTNH_F_ONLINK;
	CHECK_INT(nl_route_add(&nl, &r), 0);
	r.dst = net("10.3.0.0/16");
	CHECK_INT(find_route(&r, &got), 1);
	CHECK(got.flags & RTNH_F_ONLINK);
	memset(&r, 0, sizeof(r));
	r.dst = net("10.4.0.1/32");
	r.oif = br;
	r.scope = RT_SCOPE_LINK;
	r.src = ip("10.99.0.1");
	CHECK_INT(nl_route_add(&nl, &r), 0);
	CHECK_INT(find_route(&r, &got), 1);
	CHECK_INT(got.scope, RT_SCOPE_LINK);
	CHECK(ip_equal(&got.src, &r.src));
	memset(&r, 0, sizeof(r));
	r.dst = net("10.5.0.0/16");
	r.type = RTN_BLACKHOLE;
	CHECK_INT(nl_route_add(&nl, &r), 0);
	CHECK_INT(find_route(&r, &got), 1);
	CHECK_INT(got.type, RTN_BLACKHOLE);
	CHECK_INT(nl_route_del(&nl, &r), 0);
	memset(&r, 0, sizeof(r));
	r.dst = net("fd00:1::/64");
	r.gw = ip("fd00:99::2");
	r.oif = br;
	CHECK_INT(nl_route_add(&nl, &r), 0);
	CHECK_INT(find_route(&r, &got), 1);
	CHECK(ip_equal(&got.gw, &r.gw));
	CHECK_INT(nl_route_del(&nl, &r), 0);
	r.gw = ip("10.99.0.2");			/* family mismatch */
	CHECK_INT(nl_route_add(&nl, &r), -EINVAL);
}

static int find_rule(unsigned int prio, struct nl_rule *got)
{
	struct nl_rule r[32];
	int n, i;

	n = nl_rule_list(&nl, 0, r, 32);
	for (i = 0; i < n && i < 32; i++)
		if (r[i].priority == prio) {
			*got = r[i];
			return 1;
		}
	return n < 0 ? n : 0;
}

static void test_rule(void)
{
	struct nl_rule r = { 0 }, got;
	char buf[IPNET_STRLEN];

	r.family = AF_INET;
	r.priority = 1000;
	r.src = net("10.99.0.0/24");
	r.table = 1000;
	CHECK_INT(nl_rule_add(&nl, &r), 0);
	CHECK_INT(nl_rule_add(&nl, &r), -EEXIST);
	CHECK_INT(find_rule(1000, &got), 1);
	CHECK_STR(ipnet_fmt(&got.src, buf), "10.99.0.0/24");
	CHECK_INT(got.dst.ip.family, 0);
	CHECK_INT(got.table, 1000);
	CHECK_INT(got.action, FR_ACT_TO_TBL);
	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	r.priority = 1001;
	r.dst = net("10.7.0.0/16");
	strcpy(r.iif, "nlt-br0");
	strcpy(r.oif, "nlt-h0");
	r.fwmark = 0x10;
	r.fwmask = 0xf0;
	r.table = 1001;
	CHECK_INT(nl_rule_add(&nl, &r), 0);
	CHECK_INT(find_rule(1001, &got), 1);
	CHECK_STR(got.iif, "nlt-br0");
	CHECK_STR(got.oif, "nlt-h0");
	CHECK_INT(got.fwmark, 0x10);
	CHECK_INT(got.fwmask, 0xf0);
	CHECK_STR(ipnet_fmt(&got.dst, buf), "10.7.0.0/16");
	memset(&r, 0, sizeof(r));
	r.family = AF_INET6;
	r.priority = 1002;
	r.src = net("fd00:99::/64");
	r.table = 1002;
	CHECK_INT(nl_rule_add(&nl, &r), 0);
	CHECK_INT(find_rule(1002, &got), 1);
	CHECK_INT(got.family, AF_INET6);
	CHECK_INT(nl_rule_del(&nl, &r), 0);
	CHECK_INT(nl_rule_del(&nl, &r), -ENOENT);
	CHECK_INT(find_rule(1002, &got), 0);
	r.src = net("10.0.0.0/8");			/* family mismatch */
	CHECK_INT(nl_rule_add(&nl, &r), -EINVAL);
}

static int find_neigh(const char *addr, struct nl_neigh *got)
{
	struct nl_neigh n[32];
	struct ipaddr want = ip(addr);
	int c, i;

	c = nl_neigh_list(&nl, idx("nlt-br0"), 0, n, 32);
	for (i = 0; i < c && i < 32; i++)
		if (ip_equal(&n[i].ip, &want)) {
			*got = n[i];
			return 1;
		}
	return c < 0 ? c : 0;
}

static void test_neigh(void)
{
	uint8_t mac[6];
	struct ipaddr a = ip("10.99.0.5"), a6 = ip("fd00:99::5");
	struct nl_neigh got;
	char buf[NL_MACSTRLEN];
	int br = idx("nlt-br0");

	CHECK_INT(nl_mac_parse("02:6E:6c:74:00:05", mac), 0);
	CHECK_INT(nl_neigh_add(&nl, br, &a, mac), 0);
	CHECK_INT(find_neigh("10.99.0.5", &got), 1);
	CHECK_INT(got.state, NUD_PERMANENT);
	CHECK_STR(nl_mac_fmt(got.mac, buf), "02:6e:6c:74:00:05");
	mac[5] = 6;
	CHECK_INT(nl_neigh_add(&nl, br, &a, mac), 0);	/* replaces */
	CHECK_INT(find_neigh("10.99.0.5", &got), 1);
	CHECK_INT(got.mac[5], 6);
	CHECK_INT(nl_neigh_add(&nl, br, &a6, mac), 0);
	CHECK_INT(find_neigh("fd00:99::5", &got), 1);
	CHECK_INT(nl_neigh_del(&nl, br, &a), 0);
	CHECK_INT(nl_neigh_del(&nl, br, &a), -ENOENT);
	CHECK_INT(find_neigh("10.99.0.5", &got), 0);
	CHECK_INT(nl_neigh_del(&nl, br, &a6), 0);
	CHECK_INT(nl_mac_parse("02:6e:6c:74:00", mac), -EINVAL);
	CHECK_INT(nl_mac_parse("02:6e:6c:74:00:05:", mac), -EINVAL);
	CHECK_INT(nl_mac_parse("02-6e-6c-74-00-05", mac), -EINVAL);
	CHECK_INT(nl_mac_parse(" 2:6e:6c:74:00:05", mac), -EINVAL);
}

static void test_sysctl(void)
{
	char buf[16];

	CHECK_INT(nl_sysctl_set("net/ipv4/ip_forward", "1"), 0);
	CHECK_INT(nl_sysctl_get("net/ipv4/ip_forward", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "1");
	CHECK_INT(nl_sysctl_set("net/ipv4/ip_forward", "0"), 0);
	CHECK_INT(nl_sysctl_get("net/ipv4/ip_forward", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "0");
	CHECK_INT(nl_sysctl_set("net/ipv4/conf/nlt-br0/rp_filter", "2"), 0);
	CHECK_INT(nl_sysctl_get("net/ipv4/conf/nlt-br0/rp_filter", buf, 16), 0);
	CHECK_STR(buf, "2");
	CHECK_INT(nl_sysctl_set("../etc/x", "1"), -EINVAL);
	CHECK_INT(nl_sysctl_set("net/../../etc/x", "1"), -EINVAL);
	CHECK_INT(nl_sysctl_set("net/ipv4/", "1"), -EINVAL);
	CHECK_INT(nl_sysctl_set("", "1"), -EINVAL);
	CHECK_INT(nl_sysctl_set("/net/ipv4/ip_forward", "1"), -EINVAL);
	CHECK_INT(nl_sysctl_get("net/ipv4/nlt_none", buf, 16), -ENOENT);
}

static void test_netns_move(void)
{
	struct nl_veth v = { "nlt-m0", "nlt-m1", -1, 0, NULL, NULL };
	struct nl_link l;
	int i;

	CHECK_INT(nl_veth_add(&nl, &v), 0);
	i = idx("nlt-m1");
	CHECK_INT(nl_link_set_netns(&nl, i, ns_b), 0);
	CHECK_INT(idx("nlt-m1"), -ENODEV);
	CHECK_INT(nl_link_get(&nlb, "nlt-m1", &l), 0);
	CHECK_INT(nl_link_get(&nl, "nlt-m0", &l), 0);
	CHECK(l.link_netnsid >= 0);
	CHECK_INT(nl_link_del_name(&nlb, "nlt-m1"), 0);	/* takes both */
	CHECK_INT(idx("nlt-m0"), -ENODEV);
}

static void test_many(void)
{
	struct nl_veth v = { NULL, NULL, -1, 0, NULL, NULL };
	struct nl_link l[4];
	char a[24], b[24];
	int i, n0, n;

	n0 = nl_link_list(&nl, l, 4);
	CHECK(n0 >= 3);	/* lo, nlt-br0, nlt-h0 */
	for (i = 0; i < 40; i++) {
		snprintf(a, sizeof(a), "nlt-x%da", i);
		snprintf(b, sizeof(b), "nlt-x%db", i);
		v.name = a;
		v.peer = b;
		CHECK_INT(nl_veth_add(&nl, &v), 0);
	}
	n = nl_link_list(&nl, l, 4);	/* a multi-part dump */
	CHECK_INT(n, n0 + 80);
	CHECK_INT(l[0].index, 1);
	for (i = 0; i < 40; i++) {
		snprintf(a, sizeof(a), "nlt-x%da", i);
		CHECK_INT(nl_link_del_name(&nl, a), 0);
	}
	CHECK_INT(nl_link_list(&nl, NULL, 0), n0);
}

/* Addresses change all the time while we dump 1000 of them (several
 * skbs): the kernel flags such dumps (NLM_F_DUMP_INTR); a list retries,
 * and returns the exact set or, when every try was spoiled, -EINTR; never
 * a wrong count, and the handle stays in step. */
static void test_dump_intr(void)
{
	struct nl_veth v = { "nlt-d0", "nlt-d1", -1, 0, NULL, NULL };
	struct ipnet a = net("10.100.0.1/32"), churn = net("10.101.0.1/32");
	struct nl c;
	int d0, d1, i, n, good = 0, bad = 0;
	pid_t pid;

	CHECK_INT(nl_veth_add(&nl, &v), 0);
	d0 = idx("nlt-d0");
	d1 = idx("nlt-d1");
	for (i = 0; i < 1000; i++) {
		a.ip.b[2] = i / 250;
		a.ip.b[3] = i % 250 + 1;
		CHECK_INT(nl_addr_add(&nl, d0, &a, 0), 0);
	}
	pid = fork();
	if (pid == 0) {
		if (nl_open(&c) < 0)
			_exit(1);
		for (;;) {
			nl_addr_add(&c, d1, &churn, 0);
			nl_addr_del(&c, d1, &churn);
		}
	}
	for (i = 0; i < 40; i++) {
		n = nl_addr_list(&nl, d0, AF_INET, NULL, 0);
		good += n == 1000;
		bad += n != 1000 && n != -EINTR;
		bad += nl_link_index(&nl, "lo") != 1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK_INT(bad, 0);
	CHECK(good > 0);
	CHECK_INT(nl_addr_list(&nl, d0, AF_INET, NULL, 0), 1000);
	CHECK_INT(nl_link_del(&nl, d0), 0);
}

static void test_request_limits(void)
{
	static char big[NL_REQSIZE];

	nl_msg(&nl, RTM_GETLINK, 0);
	nl_msg_extra(&nl, sizeof(struct ifinfomsg));
	nl_put(&nl, IFLA_IFNAME, sizeof(big), big);
	CHECK(nl.trunc);
	CHECK_INT(nl_talk(&nl, NULL, NULL), -EMSGSIZE);
	/* and the handle is fine afterwards */
	CHECK_INT(nl_link_index(&nl, "lo"), 1);
}

static void test_other_ns_handle(void)
{
	struct nl_link l;

	CHECK_INT(nl_link_get(&nlb, "lo", &l), 0);
	CHECK(!(l.flags & IFF_UP));	/* B's lo, never brought up */
	nl_close(&nlb);
	CHECK_INT(nl_open_netns(&nlb, -1), 0);	/* reopen in the current */
	CHECK_INT(nl_link_get(&nlb, "nlt-br0", &l), 0);
	nl_close(&nlb);
	CHECK_INT(nl_open_netns(&nlb, ns_b), 0);
	CHECK_INT(nl_link_get(&nlb, "nlt-br0", &l), -ENODEV);
	nl_close(&nl);
	CHECK_INT(nl_open_netns(&nl, 12345), -EBADF);
	CHECK_INT(nl_link_index(&nl, "lo"), -EBADF);
	nl_close(&nl);
	CHECK_INT(nl_open(&nl), 0);
}

/* --- parsers over hand-built replies (no kernel needed) ----------------- */

static struct nlmsghdr *err_blob(char *buf, int error, uint16_t flags,
				 const char *msg, size_t echo)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *err;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = flags;
	err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err) + echo);
	err->error = error;
	err->msg.nlmsg_len = sizeof(struct nlmsghdr) + echo;
	if (msg)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	return nlh;
}

static void test_parse_errors(void)
{
	char buf[512] __attribute__((aligned(4))), ext[16];
	struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));
	nlh = err_blob(buf, -EEXIST, NLM_F_CAPPED | NLM_F_ACK_TLVS,
		       "File exists!", 0);
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), -EEXIST);
	CHECK_STR(ext, "File exists!");
	nlh = err_blob(buf, -EINVAL, NLM_F_ACK_TLVS, "uncapped", 24);
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), -EINVAL);
	CHECK_STR(ext, "uncapped");
	nlh = err_blob(buf, -EINVAL, NLM_F_CAPPED | NLM_F_ACK_TLVS,
		       "a message longer than ext", 0);
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), -EINVAL);
	CHECK_STR(ext, "a message longe");		/* cut, terminated */
	nlh = err_blob(buf, EPERM, NLM_F_CAPPED, "no ACK_TLVS flag", 0);
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), -EPERM);
	CHECK_STR(ext, "");
	nlh = err_blob(buf, 0, NLM_F_CAPPED | NLM_F_ACK_TLVS, "warning", 0);
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), 0);
	CHECK_STR(ext, "warning");
	nlh = err_blob(buf, -ENOENT, 0, NULL, 0);
	nlh->nlmsg_len = 20;				/* truncated */
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), -EBADMSG);
	nlh = mnl_nlmsg_put_header(buf);		/* dump end */
	nlh->nlmsg_type = NLMSG_DONE;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = -ENOBUFS;
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), -ENOBUFS);
	*(int *)mnl_nlmsg_get_payload(nlh) = 0;
	CHECK_INT(nl_error_parse(nlh, ext, sizeof(ext)), 0);
}

static struct nlmsghdr *link_blob(char *buf, const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct nlattr *li, *sd;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = 7;
	ifm->ifi_flags = IFF_UP | IFF_LOWER_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1450);
	mnl_attr_put_u32(nlh, IFLA_MASTER, 3);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_UP);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, "\x02\0\0\0\0\x07");
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
	sd = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(nlh, sd);
	mnl_attr_nest_end(nlh, li);
	return nlh;
}

static void test_parse_link(void)
{
	char buf[512] __attribute__((aligned(4)));
	struct nlmsghdr *nlh;
	struct nl_link l;

	memset(buf, 0, sizeof(buf));
	nlh = link_blob(buf, "veth1234");
	CHECK_INT(nl_link_parse(nlh, &l), 0);
	CHECK_INT(l.index, 7);
	CHECK_STR(l.name, "veth1234");
	CHECK_INT(l.mtu, 1450);
	CHECK_INT(l.master, 3);
	CHECK_INT(l.operstate, IF_OPER_UP);
	CHECK_INT(l.mac_len, 6);
	CHECK_INT(l.mac[5], 7);
	CHECK_STR(l.kind, "veth");
	CHECK_STR(l.slave_kind, "bridge");
	CHECK_INT(l.hairpin, 1);
	CHECK_INT(l.link_netnsid, -1);
	/* a name that does not fit IFNAMSIZ is malformed, not truncated */
	nlh = link_blob(buf, "a-name-too-long-for-linux");
	CHECK_INT(nl_link_parse(nlh, &l), -EBADMSG);
	/* a u32 attribute of the wrong size */
	nlh = link_blob(buf, "x");
	mnl_attr_put_u16(nlh, IFLA_TXQLEN, 1);
	CHECK_INT(nl_link_parse(nlh, &l), -EBADMSG);
	/* a truncated header, a foreign type */
	nlh = link_blob(buf, "x");
	nlh->nlmsg_len = 24;
	CHECK_INT(nl_link_parse(nlh, &l), -EBADMSG);
	nlh = link_blob(buf, "x");
	nlh->nlmsg_type = RTM_NEWADDR;
	CHECK_INT(nl_link_parse(nlh, &l), -EBADMSG);
	/* an attribute running past the message ends the walk quietly */
	nlh = link_blob(buf, "x");
	nlh->nlmsg_len -= 4;
	CHECK_INT(nl_link_parse(nlh, &l), 0);
	CHECK_STR(l.kind, "");
}

static void test_parse_route(void)
{
	char buf[256] __attribute__((aligned(4)));
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nl_route r;
	char s[IPNET_STRLEN];

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 16;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, 4, "\x0a\x01\0\0");
	mnl_attr_put(nlh, RTA_GATEWAY, 4, "\x0a\x63\0\x02");
	mnl_attr_put_u32(nlh, RTA_OIF, 4);
	mnl_attr_put_u32(nlh, RTA_TABLE, 1000);
	CHECK_INT(nl_route_parse(nlh, &r), 0);
	CHECK_STR(ipnet_fmt(&r.dst, s), "10.1.0.0/16");
	CHECK_STR(ip_fmt(&r.gw, s), "10.99.0.2");
	CHECK_INT(r.oif, 4);
	CHECK_INT(r.table, 1000);
	mnl_attr_put(nlh, RTA_PREFSRC, 16, "0123456789abcdef"); /* v6 in v4 */
	CHECK_INT(nl_route_parse(nlh, &r), -EBADMSG);
	rtm->rtm_family = AF_BRIDGE;
	CHECK_INT(nl_route_parse(nlh, &r), -EAFNOSUPPORT);
}

/* A: a fresh netns for the test; B: another one, kept by its fd. */
static int setup(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	ns_a = netns_open_current();
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	ns_b = netns_open_current();
	if (ns_a < 0 || ns_b < 0 || setns(ns_a, CLONE_NEWNET) < 0)
		return -1;
	if (nl_open(&nl) < 0 || nl_open_netns(&nlb, ns_b) < 0)
		return -1;
	return nl_link_set_up(&nl, 1, true);
}

int main(void)
{
	RUN(test_parse_errors);
	RUN(test_parse_link);
	RUN(test_parse_route);
	if (geteuid() != 0 || setup() < 0) {
		SKIP(test_nl, "needs root and network namespaces");
		return test_done();
	}
	RUN(test_netns);
	RUN(test_link_get);
	RUN(test_bridge_veth);
	RUN(test_link_set);
	RUN(test_vxlan);
	RUN(test_wait_up);
	RUN(test_addr);
	RUN(test_route);
	RUN(test_rule);
	RUN(test_neigh);
	RUN(test_sysctl);
	RUN(test_netns_move);
	RUN(test_many);
	RUN(test_dump_intr);
	RUN(test_request_limits);
	RUN(test_other_ns_handle);
	nl_close(&nl);
	nl_close(&nlb);
	return test_done();
}
