/*
 * ipam: ranges and defaults as upstream host-local, round-robin allocation,
 * requested IPs, dual stack, release, GC, corrupt lease files, parallel
 * processes, and the on-disk store shared both ways with Debian's
 * /usr/lib/cni/host-local (skipped when it is not installed).
 * Stores live in /tmp/ipamt-XXXXXX, removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipam.h"
#include "test.h"

#define UPSTREAM "/usr/lib/cni/host-local"
#define NET "ipamt-net"

static char base[64];
static int notices;

static void on_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
	notices++;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* A fresh data dir under base; returns its path in a static buffer. */
static const char *fresh_dir(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", base, name);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return path;
}

static void set1(struct ipam_rangeset *s, const char *subnet, const char *start,
		 const char *end)
{
	char err[IPAM_ERRLEN];

	memset(s, 0, sizeof(*s));
	CHECK_INT(ipam_range_parse(&s->r[0], subnet, start, end, NULL, err,
				   sizeof(err)),
		  0);
	s->n = 1;
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), 0);
}

static int add(struct ipam *h, const char *cid, const char *ifname,
	       const struct ipam_rangeset *sets, int nsets,
	       struct ipam_lease *out)
{
	struct ipam_request req = {cid, ifname, sets, nsets, NULL, 0};

	return ipam_add(h, &req, out);
}

static const char *fmt(const struct ipaddr *a)
{
	static char buf[4][IP_STRLEN];
	static int i;

	i = (i + 1) % 4;
	return ipam_ip_fmt(a, buf[i]);
}

static int file_exists(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/" NET "/%s", dir, name);
	return access(p, F_OK) == 0;
}

static int read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/" NET "/%s", dir, name);
	buf[0] = 0;
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static void write_file(const char *dir, const char *name, const char *buf,
		       size_t len)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/" NET "/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, buf, len), (long long)len);
	close(fd);
}

static void test_range_defaults(void)
{
	struct ipam_rangeset s[1];
	char buf[256];

	set1(&s[0], "10.9.0.0/24", NULL, NULL);
	CHECK_STR(fmt(&s[0].r[0].gateway), "10.9.0.1");
	CHECK_STR(fmt(&s[0].r[0].start), "10.9.0.1");
	CHECK_STR(fmt(&s[0].r[0].end), "10.9.0.254");
	CHECK_STR(ipam_rangeset_fmt(&s[0], buf, sizeof(buf)),
		  "10.9.0.1-10.9.0.254");
	set1(&s[0], "fd00:1::/64", NULL, NULL);
	CHECK_STR(fmt(&s[0].r[0].gateway), "fd00:1::1");
	CHECK_STR(fmt(&s[0].r[0].end), "fd00:1::ffff:ffff:ffff:ffff");
	set1(&s[0], "10.9.0.0/30", NULL, NULL);
	CHECK_STR(fmt(&s[0].r[0].end), "10.9.0.2");
	set1(&s[0], "10.9.0.0/24", "10.9.0.10", "10.9.0.20");
	CHECK_STR(ipam_rangeset_fmt(&s[0], buf, sizeof(buf)),
		  "10.9.0.10-10.9.0.20");
	CHECK_STR(fmt(&s[0].r[0].gateway), "10.9.0.1");
	CHECK_INT(ipam_rangeset_find(&s[0], &s[0].r[0].start), 0);
	CHECK_INT(ipam_rangeset_find(&s[0], &s[0].r[0].gateway), -1);
}

/* Errors, worded as Debian's host-local 1.1.1 words them. */
static void test_range_errors(void)
{
	struct ipam_rangeset s[2];
	char err[IPAM_ERRLEN];

	memset(s, 0, sizeof(s));
	s[0].n = 1;
	ipam_range_parse(&s[0].r[0], "10.9.0.0/31", NULL, NULL, NULL, err, 1);
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid range set 0: Network 10.9.0.0/31 too small "
		       "to allocate from");
	ipam_range_parse(&s[0].r[0], "fd00::/127", NULL, NULL, NULL, err, 1);
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), -EINVAL);
	ipam_range_parse(&s[0].r[0], "10.9.0.1/24", NULL, NULL, NULL, err, 1);
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid range set 0: Network has host bits set. For "
		       "a subnet mask of length 24 the network address is "
		       "10.9.0.0");
	ipam_range_parse(&s[0].r[0], "10.9.0.0/24", "10.9.0.9", "10.9.0.5",
			 NULL, err, 1);
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid range set 0: RangeStart 10.9.0.9 not in "
		       "network 10.9.0.0/24");
	ipam_range_parse(&s[0].r[0], "10.9.0.0/24", NULL, NULL, "10.9.1.1", err,
			 1);
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid range set 0: gateway 10.9.1.1 not in network "
		       "10.9.0.0/24");
	CHECK_INT(ipam_range_parse(&s[0].r[0], "10.9.0.0/33", NULL, NULL, NULL,
				   err, sizeof(err)),
		  -EINVAL);
	CHECK_STR(err, "invalid CIDR address: 10.9.0.0/33");
	CHECK_INT(ipam_range_parse(&s[0].r[0], "10.9.0.0/24", "x", NULL, NULL,
				   err, sizeof(err)),
		  -EINVAL);

	/* within a set: overlap, mixed families; across sets: overlap */
	s[0].n = 2;
	ipam_range_parse(&s[0].r[0], "10.9.0.0/24", NULL, NULL, NULL, err, 1);
	ipam_range_parse(&s[0].r[1], "10.9.0.0/25", NULL, NULL, NULL, err, 1);
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid range set 0: subnets 10.9.0.1-10.9.0.254 and "
		       "10.9.0.1-10.9.0.126 overlap");
	ipam_range_parse(&s[0].r[1], "fd00::/64", NULL, NULL, NULL, err, 1);
	CHECK_INT(ipam_canon(s, 1, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "invalid range set 0: mixed address families");
	s[0].n = 1;
	s[1].n = 1;
	ipam_range_parse(&s[1].r[0], "10.9.0.0/25", NULL, NULL, NULL, err, 1);
	CHECK_INT(ipam_canon(s, 2, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "range set 0 overlaps with 1");
	ipam_range_parse(&s[1].r[0], "10.10.0.0/25", NULL, NULL, NULL, err, 1);
	CHECK_INT(ipam_canon(s, 2, err, sizeof(err)), 0);
	CHECK_INT(ipam_canon(s, 0, err, sizeof(err)), -EINVAL);
}

static void test_go_format(void)
{
	static const char *const in[][2] = {
	    {"10.0.0.1", "10.0.0.1"},
	    {"fd00:0:0:0:0:0:0:1", "fd00::1"},
	    {"1:0:2:0:0:3:0:4", "1:0:2::3:0:4"},
	    {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
	    {"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},
	    {"1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"},
	    {"::1.2.3.4", "::102:304"},
	    {"::ffff:1.2.3.4", "1.2.3.4"},
	    {"::", "::"},
	    {"FD00::ABCD", "fd00::abcd"},
	    {"0:2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
	    {"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"},
	    {"1:2:3:4:5:6:0:0", "1:2:3:4:5:6::"},
	};
	struct ipaddr a;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		CHECK_INT(ip_parse(in[i][0], &a), 0);
		CHECK_STR(fmt(&a), in[i][1]);
	}
}

static void test_lease_parse(void)
{
	char cid[IPAM_CID_MAX], ifn[IPAM_IFNAME_MAX];

#define P(s)                                                                   \
	ipam_lease_parse(s, sizeof(s) - 1, cid, sizeof(cid), ifn, sizeof(ifn))
	CHECK_INT(P("abc\r\neth0"), IPAM_LEASE_OK);
	CHECK_STR(cid, "abc");
	CHECK_STR(ifn, "eth0");
	CHECK_INT(P("abc\neth1\n"), IPAM_LEASE_OK);
	CHECK_STR(ifn, "eth1");
	CHECK_INT(P("  abc  \n"), IPAM_LEASE_LEGACY);
	CHECK_STR(cid, "abc");
	CHECK_STR(ifn, "");
	CHECK_INT(P(""), IPAM_LEASE_EMPTY);
	CHECK_INT(P(" \r\n\t"), IPAM_LEASE_EMPTY);
	CHECK_INT(P("\0\0\0\0"), IPAM_LEASE_CORRUPT);
	CHECK_INT(P("abc\0\r\neth0"), IPAM_LEASE_CORRUPT);
	CHECK_INT(P("a\r\nb\r\nc"), IPAM_LEASE_CORRUPT);
	CHECK_INT(P("\r\neth0x"), IPAM_LEASE_LEGACY); /* trimmed: "eth0x" */
	CHECK_INT(P("abc\r\n\x01"), IPAM_LEASE_CORRUPT);
	CHECK_INT(P("abc\r\n0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789"),
		  IPAM_LEASE_CORRUPT);
#undef P
}

static void test_alloc_order_wrap(void)
{
	const char *dir = fresh_dir("order");
	struct ipam_rangeset s;
	struct ipam_lease l;
	struct ipam h;
	char buf[64];

	set1(&s, "10.9.0.0/29", NULL, NULL); /* .2 .. .6, gateway .1 */
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	CHECK_INT(add(&h, "c1", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.2");
	CHECK_INT(l.prefix, 29);
	CHECK_STR(fmt(&l.gateway), "10.9.0.1");
	CHECK_INT(l.set, 0);
	CHECK_INT(add(&h, "c2", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.3");
	/* round-robin: a released address is not reused right away */
	CHECK_INT(ipam_del(&h, "c1", "eth0", NULL, 0), 1);
	CHECK_INT(add(&h, "c3", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.4");
	CHECK_INT(add(&h, "c4", "eth0", &s, 1, &l), 0);
	CHECK_INT(add(&h, "c5", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.6");
	/* wraps around to the start, skipping the gateway */
	CHECK_INT(add(&h, "c6", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.2");
	CHECK(read_file(dir, "last_reserved_ip.0", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "10.9.0.2");
	CHECK(read_file(dir, "10.9.0.2", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "c6\r\neth0");
	/* a last_reserved_ip outside the ranges restarts from the start */
	write_file(dir, "last_reserved_ip.0", "192.168.0.1", 11);
	CHECK_INT(ipam_del(&h, "c3", "eth0", NULL, 0), 1);
	CHECK_INT(add(&h, "c7", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.4");
	/* rewritten in place: a shorter address leaves no tail behind */
	CHECK_INT(read_file(dir, "last_reserved_ip.0", buf, sizeof(buf)), 8);
	CHECK_STR(buf, "10.9.0.4");
	ipam_close(&h);
}

static void test_exhaustion(void)
{
	const char *dir = fresh_dir("full");
	struct ipam_rangeset s;
	struct ipam_lease l;
	struct ipam h;

	set1(&s, "10.9.0.0/30", NULL, NULL);
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	CHECK_INT(add(&h, "c1", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.2");
	CHECK_INT(add(&h, "c2", "eth0", &s, 1, &l), -EADDRNOTAVAIL);
	CHECK_STR(h.err, "failed to allocate for range 0: no IP addresses "
			 "available in range set: 10.9.0.1-10.9.0.2");
	/* several ranges in one set are used in turn */
	memset(&s, 0, sizeof(s));
	s.n = 2;
	ipam_range_parse(&s.r[0], "10.9.0.0/30", NULL, NULL, NULL, h.err, 1);
	ipam_range_parse(&s.r[1], "10.9.1.0/24", "10.9.1.10", "10.9.1.11", NULL,
			 h.err, 1);
	CHECK_INT(ipam_canon(&s, 1, h.err, sizeof(h.err)), 0);
	CHECK_INT(add(&h, "c2", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.1.10");
	CHECK_INT(l.prefix, 24);
	CHECK_STR(fmt(&l.gateway), "10.9.1.1");
	CHECK_INT(add(&h, "c3", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.1.11");
	CHECK_INT(add(&h, "c4", "eth0", &s, 1, &l), -EADDRNOTAVAIL);
	ipam_close(&h);
}

static void test_requested(void)
{
	const char *dir = fresh_dir("req");
	struct ipam_rangeset s[2];
	struct ipam_lease l[2];
	struct ipaddr want[2];
	struct ipam_request req = {"r1", "eth0", s, 1, want, 1};
	struct ipam h;

	set1(&s[0], "10.9.0.0/24", NULL, NULL);
	set1(&s[1], "fd00::/120", NULL, NULL);
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	ip_parse("10.9.0.77", &want[0]);
	CHECK_INT(ipam_add(&h, &req, l), 0);
	CHECK_STR(fmt(&l[0].ip), "10.9.0.77");
	CHECK(file_exists(dir, "10.9.0.77"));
	req.cid = "r2";
	CHECK_INT(ipam_add(&h, &req, l), -EADDRINUSE);
	CHECK_STR(h.err, "failed to allocate for range 0: requested IP "
			 "address 10.9.0.77 is not available in range set "
			 "10.9.0.1-10.9.0.254");
	ip_parse("10.9.0.1", &want[0]);
	CHECK_INT(ipam_add(&h, &req, l), -EINVAL);
	CHECK_STR(h.err, "failed to allocate for range 0: requested ip "
			 "10.9.0.1 is subnet's gateway");
	ip_parse("10.9.0.255", &want[0]); /* outside rangeStart..rangeEnd */
	CHECK_INT(ipam_add(&h, &req, l), -EINVAL);
	CHECK_STR(h.err, "failed to allocate all requested IPs: 10.9.0.255");
	CHECK(!file_exists(dir, "10.9.0.1") && !file_exists(dir, "10.9.0.2"));
	/* dual stack: both requested; then v4 free but v6 taken: the v4
	 * lease made by the failed call is rolled back */
	ip_parse("10.9.0.78", &want[0]);
	ip_parse("fd00::5", &want[1]);
	req.cid = "r4";
	req.nsets = 2;
	req.nrequested = 2;
	CHECK_INT(ipam_add(&h, &req, l), 0);
	CHECK_STR(fmt(&l[0].ip), "10.9.0.78");
	CHECK_STR(fmt(&l[1].ip), "fd00::5");
	req.cid = "r5";
	ip_parse("10.9.0.79", &want[0]);
	CHECK_INT(ipam_add(&h, &req, l), -EADDRINUSE);
	CHECK(!file_exists(dir, "10.9.0.79"));
	ipam_close(&h);
}

static void test_dual_stack(void)
{
	const char *dir = fresh_dir("dual");
	struct ipam_rangeset s[2];
	struct ipam_lease l[2];
	struct ipam h;
	char buf[64];

	set1(&s[0], "10.9.0.0/24", NULL, NULL);
	set1(&s[1], "fd00:10:244:1::/64", NULL, NULL);
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	CHECK_INT(add(&h, "d1", "eth0", s, 2, l), 0);
	CHECK_STR(fmt(&l[0].ip), "10.9.0.2");
	CHECK_STR(fmt(&l[1].ip), "fd00:10:244:1::2");
	CHECK_INT(l[1].prefix, 64);
	CHECK_STR(fmt(&l[1].gateway), "fd00:10:244:1::1");
	CHECK_INT(l[1].set, 1);
	CHECK(read_file(dir, "fd00:10:244:1::2", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "d1\r\neth0");
	CHECK(read_file(dir, "last_reserved_ip.1", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "fd00:10:244:1::2");
	/* same container, second interface: fine; same ifname: duplicate */
	CHECK_INT(add(&h, "d1", "net1", s, 2, l), 0);
	CHECK_STR(fmt(&l[0].ip), "10.9.0.3");
	CHECK_INT(add(&h, "d1", "eth0", s, 2, l), -EEXIST);
	CHECK_STR(h.err, "failed to allocate for range 0: 10.9.0.2 has been "
			 "allocated to d1, duplicate allocation is not "
			 "allowed");
	CHECK(!file_exists(dir, "10.9.0.4"));
	CHECK_INT(ipam_find(&h, "d1", "eth0", l, 2), 2);
	CHECK_INT(ipam_del(&h, "d1", "eth0", NULL, 0), 2);
	CHECK_INT(ipam_find(&h, "d1", "eth0", l, 2), 0);
	CHECK_INT(ipam_find(&h, "d1", "net1", NULL, 0), 2);
	ipam_close(&h);
}

static void test_release(void)
{
	const char *dir = fresh_dir("rel");
	struct ipam_rangeset s;
	struct ipam_lease l;
	struct ipaddr rel[4];
	struct ipam h;

	set1(&s, "10.9.0.0/24", NULL, NULL);
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	CHECK_INT(add(&h, " e1\n", "eth0", &s, 1, &l), 0); /* id trimmed */
	CHECK_INT(add(&h, "e2", "eth0", &s, 1, &l), 0);
	CHECK_INT(ipam_del(&h, "e1", "eth1", rel, 4), 0); /* other ifname */
	CHECK_INT(ipam_del(&h, "e1", "eth0", rel, 4), 1);
	CHECK_STR(fmt(&rel[0]), "10.9.0.2");
	CHECK(!file_exists(dir, "10.9.0.2") && file_exists(dir, "10.9.0.3"));
	CHECK_INT(ipam_del(&h, "e1", "eth0", rel, 4), 0); /* idempotent */
	CHECK_INT(ipam_del(&h, "unknown", "eth0", NULL, 0), 0);
	/* legacy id-only files: released when no exact lease exists */
	write_file(dir, "10.9.0.50", "e3", 2);
	write_file(dir, "10.9.0.51", "e3\r\neth0", 8);
	CHECK_INT(add(&h, "e3", "eth1", &s, 1, &l), -EEXIST);
	CHECK_INT(ipam_del(&h, "e3", "eth0", rel, 4), 1);
	CHECK_STR(fmt(&rel[0]), "10.9.0.51");
	CHECK(file_exists(dir, "10.9.0.50"));
	CHECK_INT(ipam_del(&h, "e3", "eth7", rel, 4), 1);
	CHECK_STR(fmt(&rel[0]), "10.9.0.50");
	CHECK_INT(ipam_del(&h, "", "eth0", rel, 4), -EINVAL);
	CHECK_INT(ipam_del(&h, "e1", "a/b", rel, 4), -EINVAL);
	CHECK(file_exists(dir, "lock"));
	ipam_close(&h);
}

static int count_cb(void *arg, const struct ipam_lease *l)
{
	(void)l;
	(*(int *)arg)++;
	return 0;
}

static void test_gc(void)
{
	const char *dir = fresh_dir("gc");
	struct ipam_attachment valid[] = {{"g1", "eth0"}, {"g3", "eth0"}};
	struct ipam_rangeset s[2];
	struct ipam_lease l[2];
	struct ipam h;
	int n = 0;

	set1(&s[0], "10.9.0.0/24", NULL, NULL);
	set1(&s[1], "fd00::/64", NULL, NULL);
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	CHECK_INT(add(&h, "g1", "eth0", s, 2, l), 0);
	CHECK_INT(add(&h, "g1", "eth1", s, 2, l), 0);
	CHECK_INT(add(&h, "g2", "eth0", s, 2, l), 0);
	write_file(dir, "10.9.0.100", "g3", 2); /* legacy, valid cid */
	write_file(dir, "10.9.0.101", "g4", 2); /* legacy, stale */
	write_file(dir, "10.9.0.102", "", 0);	/* empty */
	write_file(dir, "not-an-ip", "g9\r\neth0", 8);
	notices = 0;
	h.notice = on_notice;
	CHECK_INT(ipam_gc(&h, valid, 2), 6); /* g1/eth1 x2, g2 x2, .101, .102 */
	CHECK(notices >= 6);
	CHECK_INT(ipam_list(&h, count_cb, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(ipam_find(&h, "g1", "eth0", l, 2), 2);
	CHECK(file_exists(dir, "10.9.0.100") && file_exists(dir, "lock"));
	CHECK(file_exists(dir, "last_reserved_ip.0"));
	CHECK(file_exists(dir, "last_reserved_ip.1"));
	CHECK(file_exists(dir, "not-an-ip"));
	CHECK_INT(ipam_gc(&h, NULL, 0), 3);
	n = 0;
	CHECK_INT(ipam_list(&h, count_cb, &n), 0);
	CHECK_INT(n, 0);
	ipam_close(&h);
}

static void test_corrupt_is_free(void)
{
	const char *dir = fresh_dir("corrupt");
	struct ipam_rangeset s;
	struct ipam_lease l;
	struct ipam h;
	char buf[64];

	set1(&s, "10.9.0.0/29", NULL, NULL);
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	write_file(dir, "10.9.0.2", "", 0);
	write_file(dir, "10.9.0.3", "\0\0\0\0\0\0", 6);
	write_file(dir, "10.9.0.4", "x\r\neth0", 7);
	notices = 0;
	h.notice = on_notice;
	CHECK_INT(add(&h, "k1", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.2");
	CHECK_INT(h.ncorrupt, 2);
	CHECK(notices >= 3); /* two seen, one replaced */
	CHECK_INT(add(&h, "k2", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.3");
	CHECK(read_file(dir, "10.9.0.3", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "k2\r\neth0");
	CHECK_INT(add(&h, "k3", "eth0", &s, 1, &l), 0);
	CHECK_STR(fmt(&l.ip), "10.9.0.5");
	CHECK_INT(h.ncorrupt, 0);
	ipam_close(&h);
}

static void test_open_errors(void)
{
	char path[128];
	struct ipam h;

	CHECK_INT(ipam_open(&h, base, "../x"), -EINVAL);
	CHECK_INT(ipam_open(&h, base, ".."), -EINVAL);
	CHECK_INT(ipam_open(&h, base, ""), -EINVAL);
	snprintf(path, sizeof(path), "%s/afile", base);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	CHECK_INT(ipam_open(&h, path, "n"), -ENOTDIR);
	CHECK(strstr(h.err, "mkdir") != NULL);
	unlink(path);
}

static void test_parallel(void)
{
	const char *dir = fresh_dir("parallel");
	char seen[256] = {0}, name[32];
	struct ipam_rangeset s;
	int i, status, n = 0;
	pid_t pid;

	set1(&s, "10.9.0.0/24", NULL, NULL);
	for (i = 0; i < 20; i++) {
		pid = fork();
		if (pid == 0) {
			struct ipam h;
			struct ipam_lease l;
			char cid[16];

			snprintf(cid, sizeof(cid), "p%d", i);
			if (ipam_open(&h, dir, NET) < 0 ||
			    add(&h, cid, "eth0", &s, 1, &l) < 0)
				_exit(1);
			ipam_close(&h);
			_exit(0);
		}
		CHECK(pid > 0);
	}
	while (wait(&status) > 0)
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 256; i++) {
		char buf[64], want[16];

		snprintf(name, sizeof(name), "10.9.0.%d", i);
		if (read_file(dir, name, buf, sizeof(buf)) <= 0)
			continue;
		n++;
		CHECK(sscanf(buf, "p%15[0-9]", want) == 1);
		CHECK(!seen[atoi(want)]);
		seen[atoi(want)] = 1;
	}
	CHECK_INT(n, 20);
}

/* --- Debian's upstream host-local ---------------------------------------- */

static char up_out[4096];

/* Run the upstream plugin; its stdout lands in up_out. Returns exit code. */
static int upstream(const char *cmd, const char *cid, const char *ifname,
		    const char *conf)
{
	char e1[64], e2[128], e3[64], *env[] = {e1,
						e2,
						e3,
						"CNI_NETNS=/proc/self/ns/net",
						"CNI_PATH=/usr/lib/cni",
						NULL};
	int in[2], out[2], status;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	snprintf(e1, sizeof(e1), "CNI_COMMAND=%s", cmd);
	snprintf(e2, sizeof(e2), "CNI_CONTAINERID=%s", cid);
	snprintf(e3, sizeof(e3), "CNI_IFNAME=%s", ifname);
	if (pipe(in) < 0 || pipe(out) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execve(UPSTREAM, (char *[]){"host-local", NULL}, env);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	CHECK_INT(write(in[1], conf, strlen(conf)), (long long)strlen(conf));
	close(in[1]);
	while ((n = read(out[0], up_out + got, sizeof(up_out) - 1 - got)) > 0)
		got += (size_t)n;
	up_out[got] = 0;
	close(out[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The n-th "address" of upstream's result, without the prefix. */
static const char *up_addr(int n)
{
	static char buf[IP_STRLEN];
	const char *p = up_out;
	size_t len;

	while (n-- >= 0) {
		p = strstr(p, "\"address\": \"");
		if (!p)
			return "";
		p += 12;
	}
	len = strcspn(p, "/\"");
	snprintf(buf, sizeof(buf), "%.*s", (int)len, p);
	return buf;
}

static void test_upstream_compat(void)
{
	const char *dir = fresh_dir("upstream");
	struct ipam_rangeset s[2];
	struct ipam_lease l[2];
	struct ipam h;
	char conf[512], buf[64];

	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"" NET "\","
		 "\"type\":\"bridge\",\"ipam\":{\"type\":\"host-local\","
		 "\"dataDir\":\"%s\",\"ranges\":[[{\"subnet\":"
		 "\"10.9.0.0/29\"}],[{\"subnet\":\"fd00:1::/125\"}]]}}",
		 dir);
	set1(&s[0], "10.9.0.0/29", NULL, NULL);
	set1(&s[1], "fd00:1::/125", NULL, NULL);

	/* upstream first: our ADD skips its lease and continues after its
	 * last_reserved_ip, which reads the same */
	CHECK_INT(upstream("ADD", "up1", "eth0", conf), 0);
	CHECK_STR(up_addr(0), "10.9.0.2");
	CHECK_STR(up_addr(1), "fd00:1::2");
	CHECK_INT(ipam_open(&h, dir, NET), 0);
	CHECK_INT(add(&h, "our1", "eth0", s, 2, l), 0);
	CHECK_STR(fmt(&l[0].ip), "10.9.0.3");
	CHECK_STR(fmt(&l[1].ip), "fd00:1::3");
	CHECK_INT(add(&h, "up1", "eth0", s, 2, l), -EEXIST);

	/* ours seen by upstream: not handed out, duplicate detected */
	CHECK_INT(upstream("ADD", "up2", "eth0", conf), 0);
	CHECK_STR(up_addr(0), "10.9.0.4");
	CHECK_STR(up_addr(1), "fd00:1::4");
	CHECK(upstream("ADD", "our1", "eth0", conf) != 0);
	CHECK(strstr(up_out, "duplicate allocation") != NULL);
	CHECK(upstream("CHECK", "our1", "eth0", conf) == 0);
	CHECK(read_file(dir, "last_reserved_ip.0", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "10.9.0.4");
	CHECK(read_file(dir, "last_reserved_ip.1", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "fd00:1::4");

	/* release across: ours DEL of upstream's lease, upstream DEL of ours */
	CHECK_INT(ipam_del(&h, "up1", "eth0", NULL, 0), 2);
	CHECK(!file_exists(dir, "10.9.0.2") && !file_exists(dir, "fd00:1::2"));
	CHECK_INT(upstream("DEL", "our1", "eth0", conf), 0);
	CHECK(!file_exists(dir, "10.9.0.3") && !file_exists(dir, "fd00:1::3"));
	CHECK_INT(ipam_find(&h, "up2", "eth0", NULL, 0), 2);

	/* exhaust with both: every address handed out exactly once */
	CHECK_INT(add(&h, "our2", "eth0", s, 2, l), 0);
	CHECK_STR(fmt(&l[0].ip), "10.9.0.5");
	CHECK_INT(upstream("ADD", "up3", "eth0", conf), 0);
	CHECK_STR(up_addr(0), "10.9.0.6");
	CHECK_INT(add(&h, "our3", "eth0", s, 2, l), 0);
	CHECK_STR(fmt(&l[0].ip), "10.9.0.2");
	CHECK_INT(upstream("ADD", "up4", "eth0", conf), 0);
	CHECK_STR(up_addr(0), "10.9.0.3");
	CHECK(upstream("ADD", "up5", "eth0", conf) != 0);
	CHECK(strstr(up_out, "no IP addresses available") != NULL);
	CHECK_INT(add(&h, "our4", "eth0", s, 2, l), -EADDRNOTAVAIL);
	ipam_close(&h);
}

/* Upstream and ours allocating at the same time share the lock: 20
 * processes, each container gets exactly one distinct address. */
static void test_upstream_parallel(void)
{
	const char *dir = fresh_dir("upstream-par");
	struct ipam_rangeset s;
	char conf[512], name[32], buf[64], seen[20] = {0};
	int i, k, status, n = 0;
	pid_t pid;

	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"0.3.1\",\"name\":\"" NET "\","
		 "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s\","
		 "\"ranges\":[[{\"subnet\":\"10.9.0.0/24\"}]]}}",
		 dir);
	set1(&s, "10.9.0.0/24", NULL, NULL);
	for (i = 0; i < 20; i++) {
		pid = fork();
		if (pid == 0) {
			struct ipam_lease l;
			struct ipam h;
			char cid[16];

			snprintf(cid, sizeof(cid), "m%d", i);
			if (i % 2)
				_exit(upstream("ADD", cid, "eth0", conf));
			if (ipam_open(&h, dir, NET) < 0 ||
			    add(&h, cid, "eth0", &s, 1, &l) < 0)
				_exit(1);
			_exit(0);
		}
		CHECK(pid > 0);
	}
	while (wait(&status) > 0)
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "10.9.0.%d", i);
		if (read_file(dir, name, buf, sizeof(buf)) <= 0)
			continue;
		n++;
		CHECK(sscanf(buf, "m%d", &k) == 1 && k >= 0 && k < 20);
		if (k >= 0 && k < 20) {
			CHECK(!seen[k]);
			seen[k] = 1;
		}
	}
	CHECK_INT(n, 20);
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/ipamt-XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_range_defaults);
	RUN(test_range_errors);
	RUN(test_go_format);
	RUN(test_lease_parse);
	RUN(test_alloc_order_wrap);
	RUN(test_exhaustion);
	RUN(test_requested);
	RUN(test_dual_stack);
	RUN(test_release);
	RUN(test_gc);
	RUN(test_corrupt_is_free);
	RUN(test_open_errors);
	RUN(test_parallel);
	if (access(UPSTREAM, X_OK) == 0)
		RUN(test_upstream_compat);
	else
		SKIP(test_upstream_compat, UPSTREAM " not installed");
	if (access(UPSTREAM, X_OK) == 0)
		RUN(test_upstream_parallel);
	else
		SKIP(test_upstream_parallel, UPSTREAM " not installed");
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return test_done();
}
