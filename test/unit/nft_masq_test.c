/* Real traffic through lib/nft_masq: pod -> node (router) -> outside, all
 * private network namespaces of this process (they die with it).
 *
 *   pod  pod0 10.244.1.2/24 fd00:10:244:1::2/64
 *    |   nftm-p 10.244.1.1 fd00:10:244:1::1         node: forwarding,
 *   node                                            masq for cbr0
 *    |   nftm-o 192.0.2.1/24 2001:db8::1/64
 *   out  out0 192.0.2.2/24 2001:db8::2/64, and 10.244.2.2 fd00:10:244:2::2
 *        (a pod on another node), routes to the cluster via the node.
 *
 * The outside server reports the source address it sees: the node's for
 * destinations outside the cluster networks, the pod's inside them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "nft_dump.h"
#include "nft_masq.h"
#include "test.h"

static int pod_ns, out_ns, node_ns;
static struct nft_sock sock;
static struct ipnet subnets[2], clusters[2];
static const struct nft_masq masq = { "cbr0", subnets, 2, clusters, 2 };

static int run(const char *fmt, int ns)
{
	char cmd[512];
	int rc;

	snprintf(cmd, sizeof(cmd), fmt, ns);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "# failed: %s\n", cmd);
	return rc;
}

static int in_ns(int ns, const char *cmd)
{
	int rc;

	if (setns(ns, CLONE_NEWNET) < 0)
		return -1;
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "# failed: %s\n", cmd);
	setns(node_ns, CLONE_NEWNET);
	return rc;
}

static int new_ns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	return open("/proc/self/ns/net", O_RDONLY);
}

static int topology(void)
{
	pod_ns = new_ns();
	out_ns = new_ns();
	node_ns = new_ns();
	if (pod_ns < 0 || out_ns < 0 || node_ns < 0)
		return -1;
	return run("ip link add nftm-p type veth peer name pod0 "
		   "netns /proc/self/fd/%d", pod_ns) ||
	       run("ip link add nftm-o type veth peer name out0 "
		   "netns /proc/self/fd/%d", out_ns) ||
	       system("sysctl -qw net.ipv4.ip_forward=1 "
		      "net.ipv6.conf.all.forwarding=1 && "
		      "ip addr add 10.244.1.1/24 dev nftm-p && "
		      "ip addr add fd00:10:244:1::1/64 dev nftm-p nodad && "
		      "ip addr add 192.0.2.1/24 dev nftm-o && "
		      "ip addr add 2001:db8::1/64 dev nftm-o nodad && "
		      "ip link set nftm-p up && ip link set nftm-o up && "
		      "ip route add 10.244.2.0/24 via 192.0.2.2 && "
		      "ip route add fd00:10:244:2::/64 via 2001:db8::2") ||
	       in_ns(pod_ns, "ip link set lo up && ip link set pod0 up && "
		     "ip addr add 10.244.1.2/24 dev pod0 && "
		     "ip addr add fd00:10:244:1::2/64 dev pod0 nodad && "
		     "ip route add default via 10.244.1.1 && "
		     "ip route add default via fd00:10:244:1::1") ||
	       in_ns(out_ns, "ip link set lo up && ip link set out0 up && "
		     "ip addr add 192.0.2.2/24 dev out0 && "
		     "ip addr add 2001:db8::2/64 dev out0 nodad && "
		     "ip addr add 10.244.2.2/32 dev out0 && "
		     "ip addr add fd00:10:244:2::2/128 dev out0 nodad && "
		     "ip route add 10.244.0.0/16 via 192.0.2.1 && "
		     "ip route add fd00:10:244::/48 via 2001:db8::1");
}

static socklen_t sockaddr_of(const char *ip, int port,
			     struct sockaddr_storage *ss)
{
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &a->sin_addr) == 1) {
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		return sizeof(*a);
	}
	inet_pton(AF_INET6, ip, &a6->sin6_addr);
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	return sizeof(*a6);
}

static void peer_str(const struct sockaddr_storage *ss, char *buf)
{
	const struct sockaddr_in *a = (const void *)ss;
	const struct sockaddr_in6 *a6 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &a->sin_addr, buf, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, &a6->sin6_addr, buf, INET6_ADDRSTRLEN);
}

/* Child in the outside netns: bind, say "R", report the first peer. */
static void server(int type, const char *ip, int port, int wfd)
{
	struct sockaddr_storage ss, peer;
	socklen_t len = sockaddr_of(ip, port, &ss), plen = sizeof(peer);
	char buf[64], addr[INET6_ADDRSTRLEN] = "";
	int fd, c, one = 1;

	setns(out_ns, CLONE_NEWNET);
	fd = socket(ss.ss_family, type, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1) < 0))
		_exit(1);
	if (write(wfd, "R", 1) != 1)
		_exit(1);
	if (type == SOCK_DGRAM) {
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
			     &plen) < 0)
			_exit(1);
	} else {
		c = accept(fd, (struct sockaddr *)&peer, &plen);
		if (c < 0)
			_exit(1);
	}
	peer_str(&peer, addr);
	if (write(wfd, addr, strlen(addr) + 1) < 0)
		_exit(1);
	_exit(0);
}

/* Child in the pod netns: a few datagrams, or one connection. */
static void client(int type, const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(ip, port, &ss);
	int fd, i;

	setns(pod_ns, CLONE_NEWNET);
	fd = socket(ss.ss_family, type, 0);
	if (fd < 0)
		_exit(1);
	if (type == SOCK_STREAM) {
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			_exit(2);
		_exit(write(fd, "x", 1) == 1 ? 0 : 1);
	}
	for (i = 0; i < 5; i++) {
		sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len);
		usleep(100000);
	}
	_exit(0);
}

static int read_timeout(int fd, char *buf, size_t size, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	n = read(fd, buf, size - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* The source address the outside sees for a flow from the pod to ip. */
static const char *seen_from(int type, const char *ip, char *seen)
{
	static int port = 5000;
	int p[2], cpid = -1, spid;
	char r[4];

	strcpy(seen, "(nothing)");
	if (pipe(p) < 0)
		return seen;
	port++;
	spid = fork();
	if (spid == 0)
		server(type, ip, port, p[1]);
	if (read_timeout(p[0], r, 2, 3000) == 0 && r[0] == 'R') {
		cpid = fork();
		if (cpid == 0)
			client(type, ip, port);
		read_timeout(p[0], seen, INET6_ADDRSTRLEN, 5000);
	}
	kill(spid, SIGKILL);
	if (cpid > 0)
		kill(cpid, SIGKILL);
	while (wait(NULL) > 0)
		;
	close(p[0]);
	close(p[1]);
	return seen;
}

static void test_masq_outside_v4(void)
{
	char s[INET6_ADDRSTRLEN];

	CHECK_STR(seen_from(SOCK_DGRAM, "192.0.2.2", s), "192.0.2.1");
	CHECK_STR(seen_from(SOCK_STREAM, "192.0.2.2", s), "192.0.2.1");
}

static void test_masq_outside_v6(void)
{
	char s[INET6_ADDRSTRLEN];

	CHECK_STR(seen_from(SOCK_DGRAM, "2001:db8::2", s), "2001:db8::1");
	CHECK_STR(seen_from(SOCK_STREAM, "2001:db8::2", s), "2001:db8::1");
}

static void test_no_masq_in_cluster(void)
{
	char s[INET6_ADDRSTRLEN];

	CHECK_STR(seen_from(SOCK_DGRAM, "10.244.2.2", s), "10.244.1.2");
	CHECK_STR(seen_from(SOCK_STREAM, "10.244.2.2", s), "10.244.1.2");
	CHECK_STR(seen_from(SOCK_DGRAM, "fd00:10:244:2::2", s),
		  "fd00:10:244:1::2");
	CHECK_STR(seen_from(SOCK_STREAM, "fd00:10:244:2::2", s),
		  "fd00:10:244:1::2");
}

static int count_rule(const struct nft_rule_info *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_setup_again(void)
{
	char s[INET6_ADDRSTRLEN];
	int n = 0;

	CHECK_INT(nft_masq_setup(&sock, &masq, NULL), 0);
	CHECK_INT(nft_dump_rules(&sock, NFT_MASQ_FAMILY, NFT_MASQ_TABLE,
				 "cbr0", count_rule, &n), 0);
	CHECK_INT(n, 6);
	CHECK_STR(seen_from(SOCK_DGRAM, "192.0.2.2", s), "192.0.2.1");
}

static void test_teardown_stops_masq(void)
{
	char s[INET6_ADDRSTRLEN];

	CHECK_INT(nft_masq_teardown(&sock, "cbr0", NULL), 0);
	CHECK_INT(nft_dump_table_exists(&sock, NFT_MASQ_FAMILY,
					NFT_MASQ_TABLE), 0);
	CHECK_STR(seen_from(SOCK_DGRAM, "192.0.2.2", s), "10.244.1.2");
	CHECK_STR(seen_from(SOCK_DGRAM, "2001:db8::2", s),
		  "fd00:10:244:1::2");
}

int main(void)
{
	struct nft_err e = { 0 };
	char msg[300];

	if (geteuid() != 0) {
		SKIP(test_nft_masq, "not root");
		return 0;
	}
	if (topology()) {
		SKIP(test_nft_masq, "cannot build netns topology");
		return 0;
	}
	ipnet_parse("10.244.1.0/24", &subnets[0]);
	ipnet_parse("fd00:10:244:1::/64", &subnets[1]);
	ipnet_parse("10.244.0.0/16", &clusters[0]);
	ipnet_parse("fd00:10:244::/48", &clusters[1]);
	if (nft_open(&sock) || nft_masq_setup(&sock, &masq, &e)) {
		fprintf(stderr, "# %s\n", nft_err_fmt(&e, msg, sizeof(msg)));
		printf("not ok - masq setup\n");
		return 1;
	}
	RUN(test_masq_outside_v4);
	RUN(test_masq_outside_v6);
	RUN(test_no_masq_in_cluster);
	RUN(test_setup_again);
	RUN(test_teardown_stops_masq);
	nft_close(&sock);
	return test_done();
}
