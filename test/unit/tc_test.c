/* lib/tc against the kernel, in a private network namespace of this
 * process (it dies with it): a veth pair tct-h (host side) / tct-p, ifbs,
 * tbf, ingress, u32 + mirred; read back with the library and with tc(8)'s
 * own text. */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nl.h"
#include "tc.h"
#include "test.h"

static struct nl nl;
static struct tc_clock clk;
static int host, peer;

/* The output of a shell command, NUL-terminated, in buf. */
static const char *sh(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *sh(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	size_t n = 0;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	f = popen(cmd, "r");
	if (!f)
		return buf;
	while (n + 1 < len && fgets(buf + n, len - n, f))
		n += strlen(buf + n);
	pclose(f);
	return buf;
}

static int has(const char *text, const char *needle)
{
	if (strstr(text, needle))
		return 1;
	fprintf(stderr, "# \"%s\" not in:\n%s", needle, text);
	return 0;
}

static void test_clock(void)
{
	struct tc_clock c;
	uint32_t rtab[256];

	CHECK_INT(tc_clock_parse(&c, "000003e8 00000040 000f4240 3b9aca00\n"),
		  0);
	CHECK_INT(c.mul, 125);			/* 15.625 ticks per us */
	CHECK_INT(c.div, 8);
	/* iproute2: trunc(trunc(1e6 * 1514 / 1250000) * 15.625) */
	CHECK_INT(tc_xmittime(&c, 1250000, 1514), 18921);
	CHECK_INT(tc_xmitsize(&c, 1250000, 18921), 1512);	/* iproute2 */
	CHECK_INT(tc_xmittime(&c, 1, UINT32_MAX), UINT32_MAX);
	CHECK_INT(tc_calc_rtable(&c, 1250000, rtab), 3);
	CHECK_INT(rtab[0], 93);			/* 8 bytes: 6 us */
	CHECK_INT(rtab[255], tc_xmittime(&c, 1250000, 2048));
	CHECK_INT(tc_clock_parse(&c, "000003e8 00000040 3b9aca00"), 0);
	CHECK_INT(c.mul, 1000);			/* old kernels: 1 ns ticks */
	CHECK_INT(c.div, 1);
	CHECK_INT(tc_clock_parse(&c, "garbage"), -EINVAL);
	CHECK_INT(tc_clock_parse(&c, "0 0 0"), -EINVAL);
	CHECK_INT(tc_clock_init(&c), 0);
	CHECK(c.mul && c.div);
}

static void test_ifb_name(void)
{
	char a[16], b[16], c[16];

	tc_ifb_name("net", "0123456789abcdef", "eth0", a);
	tc_ifb_name("net", "0123456789abcdef", "eth0", b);
	tc_ifb_name("net", "0123456789abcdef", "eth1", c);
	CHECK_STR(a, b);
	CHECK(strcmp(a, c) != 0);
	CHECK_INT(strlen(a), 15);
	CHECK(!strncmp(a, "bwp", 3));
	CHECK_INT(strspn(a + 3, "0123456789abcdef"), 12);
	tc_ifb_name("ne", "t0123456789abcdef", "eth0", b);	/* separated */
	CHECK(strcmp(a, b) != 0);
	tc_ifb_name(NULL, NULL, NULL, b);
	CHECK_INT(strlen(b), 15);
}

static void test_tbf_roundtrip(void)
{
	struct bw_tbf t, got;
	char out[4096];
	uint32_t ticks;

	CHECK_INT(bw_tbf(10000000, 0, 1500, &t, NULL), 0);
	CHECK_INT(tc_tbf_get(&nl, &clk, host, &got, NULL), -ENOENT);
	CHECK_INT(tc_tbf_add(&nl, &clk, host, &t), 0);
	CHECK_INT(tc_tbf_get(&nl, &clk, host, &got, &ticks), 0);
	CHECK_INT(got.rate, 1250000);
	CHECK_INT(got.limit, t.limit);
	CHECK(got.burst >= t.burst - t.burst / 100 &&
	      got.burst <= t.burst + t.burst / 100);
	CHECK(ticks > 0);
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(has(out, "qdisc tbf 1: root"));
	CHECK(has(out, "rate 10Mbit burst 12500b"));
	CHECK_INT(tc_tbf_add(&nl, &clk, host, &t), -EEXIST);
	CHECK_INT(bw_tbf(50000000, 0, 1500, &t, NULL), 0);
	CHECK_INT(tc_tbf_replace(&nl, &clk, host, &t), 0);
	CHECK_INT(tc_tbf_get(&nl, &clk, host, &got, NULL), 0);
	CHECK_INT(got.rate, 6250000);
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(has(out, "rate 50Mbit burst 62500b lat 25"));
	CHECK_INT(tc_tbf_del(&nl, host), 0);
	CHECK_INT(tc_tbf_get(&nl, &clk, host, &got, NULL), -ENOENT);
	CHECK_INT(tc_tbf_del(&nl, host) < 0, 1);
}

/* 100 kbit/s and 40 Gbit/s (TCA_TBF_RATE64) both land as asked. */
static void test_tbf_extremes(void)
{
	struct bw_tbf t, got;
	char out[4096];

	CHECK_INT(bw_tbf(100000, 0, 1500, &t, NULL), 0);
	CHECK_INT(tc_tbf_replace(&nl, &clk, host, &t), 0);
	CHECK_INT(tc_tbf_get(&nl, &clk, host, &got, NULL), 0);
	CHECK_INT(got.rate, 12500);
	CHECK_INT(got.limit, 3340);
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(has(out, "rate 100Kbit burst 3028b"));
	CHECK_INT(bw_tbf(40000000000ULL, 0, 1500, &t, NULL), 0);
	CHECK_INT(tc_tbf_replace(&nl, &clk, host, &t), 0);
	CHECK_INT(tc_tbf_get(&nl, &clk, host, &got, NULL), 0);
	CHECK_INT(got.rate, 5000000000ULL);
	CHECK_INT(got.limit, t.limit);
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(has(out, "rate 40Gbit"));
	CHECK_INT(bw_tbf(1000000000000000ULL, 0, 1500, &t, NULL), 0);
	CHECK_INT(tc_tbf_replace(&nl, &clk, host, &t), 0);
	CHECK_INT(tc_tbf_get(&nl, &clk, host, &got, NULL), 0);
	CHECK_INT(got.rate, 125000000000000ULL);
	CHECK_INT(tc_tbf_del(&nl, host), 0);
}

static void test_tbf_unrepresentable(void)
{
	struct bw_tbf t = { 125, 4000000, 4000000 };	/* 8.9 hours */
	const char *why = NULL;

	CHECK_INT(tc_tbf_valid(&clk, &t, &why), -ERANGE);
	CHECK(why && strstr(why, "u32 ticks"));
	CHECK_INT(tc_tbf_add(&nl, &clk, host, &t), -ERANGE);
	t.rate = 0;
	CHECK_INT(tc_tbf_valid(&clk, &t, NULL), -ERANGE);
	t.rate = 125;
	t.burst = 0;
	CHECK_INT(tc_tbf_valid(&clk, &t, NULL), -ERANGE);
	CHECK_INT(bw_tbf(1000, 0, 65535, &t, NULL), 0);	/* 1049 s */
	CHECK_INT(tc_tbf_valid(&clk, &t, NULL), -ERANGE);
	CHECK_INT(bw_tbf(1000, 0, 9000, &t, NULL), 0);	/* 144 s */
	CHECK_INT(tc_tbf_valid(&clk, &t, NULL), 0);
}

static void test_redirect(void)
{
	char out[4096];
	int ifb, to = -1;

	CHECK_INT(nl_ifb_add(&nl, "tct-ifb"), 0);
	ifb = nl_link_index(&nl, "tct-ifb");
	CHECK(ifb > 0);
	CHECK_INT(tc_ingress_get(&nl, host), -ENOENT);
	CHECK_INT(tc_redirect_get(&nl, host, &to), -ENOENT);
	CHECK_INT(tc_ingress_add(&nl, host), 0);
	CHECK_INT(tc_ingress_add(&nl, host), -EEXIST);
	CHECK_INT(tc_ingress_get(&nl, host), 0);
	CHECK_INT(tc_redirect_get(&nl, host, &to), 0);
	CHECK_INT(to, -1);
	CHECK_INT(tc_redirect_add(&nl, host, ifb), 0);
	CHECK(tc_redirect_get(&nl, host, &to) > 0);
	CHECK_INT(to, ifb);
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(has(out, "qdisc ingress ffff: parent ffff:fff1"));
	sh(out, sizeof(out), "tc filter show dev tct-h ingress");
	CHECK(has(out, "filter protocol all pref 1 u32"));
	CHECK(has(out, "flowid 1:1"));
	CHECK(has(out, "match 00000000/00000000 at 0"));
	CHECK(has(out, "action order 1: mirred (Egress Redirect to device "
		  "tct-ifb) stolen"));
	CHECK_INT(nl_link_del_name(&nl, "tct-ifb"), 0);
	CHECK(tc_redirect_get(&nl, host, &to) > 0);
	CHECK_INT(to, 0);		/* dangling: the ifb is gone */
	CHECK_INT(tc_redirect_del(&nl, host), 0);
	CHECK_INT(tc_redirect_get(&nl, host, &to), 0);
	CHECK_INT(to, -1);
	CHECK_INT(tc_ingress_del(&nl, host), 0);
	CHECK_INT(tc_ingress_get(&nl, host), -ENOENT);
}

static const struct bw_limits both = { 10000000, 0, 50000000, 0 };

static int ifb_exists(const char *name)
{
	return nl_link_index(&nl, name) > 0;
}

static void test_bw_setup_check_teardown(void)
{
	char ifb[16], err[TC_ERRLEN], out[4096];
	struct bw_limits other = both;
	int to, n;

	tc_ifb_name("tct-net", "cid1", "eth0", ifb);
	CHECK_INT(tc_bw_check(&nl, &both, host, ifb, 1500, err, sizeof(err)),
		  -EINVAL);
	CHECK(has(err, "ingress: no tbf 1: at the root"));
	CHECK_INT(tc_bw_setup(&nl, &both, host, ifb, 1500, err, sizeof(err)),
		  0);
	CHECK_INT(tc_bw_check(&nl, &both, host, ifb, 1500, err, sizeof(err)),
		  0);
	sh(out, sizeof(out), "ip -o link show %s", ifb);
	CHECK(has(out, "mtu 1500"));
	CHECK(has(out, "state UNKNOWN") || has(out, ",UP"));
	sh(out, sizeof(out), "tc qdisc show dev %s", ifb);
	CHECK(has(out, "qdisc tbf 1: root"));
	CHECK(has(out, "rate 50Mbit burst 62500b lat 25ms"));
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(has(out, "rate 10Mbit burst 12500b lat 25ms"));
	CHECK(has(out, "qdisc ingress ffff:"));
	/* run again: converges, still one filter */
	n = tc_redirect_get(&nl, host, &to);
	CHECK_INT(n, 3);		/* u32: the filter, its table, a key */
	CHECK_INT(tc_bw_setup(&nl, &both, host, ifb, 1500, err, sizeof(err)),
		  0);
	CHECK_INT(tc_redirect_get(&nl, host, &to), n);
	CHECK_INT(to, nl_link_index(&nl, ifb));
	/* someone changes the rate: CHECK says so */
	system("tc qdisc change dev tct-h root handle 1: tbf rate 1mbit "
	       "burst 10k latency 25ms");
	CHECK_INT(tc_bw_check(&nl, &both, host, ifb, 1500, err, sizeof(err)),
		  -EINVAL);
	CHECK(has(err, "ingress: tbf rate on #"));
	CHECK(has(err, "is 125000 bytes/s, want 1250000"));
	other.ingress_rate = 0;
	CHECK_INT(tc_bw_check(&nl, &other, host, ifb, 1500, err, sizeof(err)),
		  0);
	system("tc filter del dev tct-h ingress");
	CHECK_INT(tc_bw_check(&nl, &other, host, ifb, 1500, err, sizeof(err)),
		  -EINVAL);
	CHECK(has(err, "egress: no u32 mirred redirect from #"));
	CHECK_INT(tc_bw_teardown(&nl, host, ifb), 0);
	CHECK(!ifb_exists(ifb));
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(!strstr(out, "tbf") && !strstr(out, "ingress"));
	CHECK_INT(tc_bw_teardown(&nl, host, ifb), 0);	/* idempotent */
	CHECK_INT(tc_bw_teardown(&nl, 0, ifb), 0);
	CHECK_INT(tc_bw_check(&nl, &other, host, ifb, 1500, err, sizeof(err)),
		  -ENODEV);
	CHECK(has(err, "egress: ifb bwp"));
}

/* A bad limit fails before anything is made. */
static void test_bw_rejects_first(void)
{
	struct bw_limits bad = { 10000000, 0, 500, 0 };
	struct bw_limits jumbo = { 1000, 0, 10000000, 0 };
	char ifb[16], err[TC_ERRLEN], out[4096];

	tc_ifb_name("tct-net", "cid2", "eth0", ifb);
	CHECK_INT(tc_bw_setup(&nl, &bad, host, ifb, 1500, err, sizeof(err)),
		  -ERANGE);
	CHECK(has(err, "egress rate 500 bit/s (rate below 1 kbit/s)"));
	CHECK_INT(tc_bw_setup(&nl, &jumbo, host, ifb, 65535, err,
			      sizeof(err)), -ERANGE);
	CHECK(has(err, "ingress rate 1000 bit/s (tbf burst lasts too long"));
	CHECK(!ifb_exists(ifb));
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(!strstr(out, "tbf") && !strstr(out, "ingress"));
}

/* Egress only: no tbf on the host veth; a clsact somebody else put there
 * is used and left in place. */
static void test_bw_shares_clsact(void)
{
	struct bw_limits eg = { 0, 0, 20000000, 160000 };
	char ifb[16], err[TC_ERRLEN], out[4096];

	tc_ifb_name("tct-net", "cid3", "eth0", ifb);
	CHECK_INT(system("tc qdisc add dev tct-h clsact"), 0);
	CHECK_INT(tc_bw_setup(&nl, &eg, host, ifb, 1500, err, sizeof(err)), 0);
	CHECK_INT(tc_bw_check(&nl, &eg, host, ifb, 1500, err, sizeof(err)), 0);
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(!strstr(out, "tbf"));
	sh(out, sizeof(out), "tc filter show dev tct-h ingress");
	CHECK(has(out, "mirred (Egress Redirect to device bwp"));
	sh(out, sizeof(out), "tc qdisc show dev %s", ifb);
	CHECK(has(out, "rate 20Mbit burst 25000b"));	/* the 20 kB asked */
	CHECK_INT(tc_bw_teardown(&nl, host, ifb), 0);
	sh(out, sizeof(out), "tc qdisc show dev tct-h");
	CHECK(has(out, "qdisc clsact ffff:"));
	sh(out, sizeof(out), "tc filter show dev tct-h ingress");
	CHECK_INT(strlen(out), 0);
	system("tc qdisc del dev tct-h clsact");
}

/* The host veth deleted under us: teardown still removes the ifb. */
static void test_bw_host_gone(void)
{
	char ifb[16], err[TC_ERRLEN];
	struct nl_veth v = { "tct-h2", "tct-p2", -1, 1500, NULL, NULL };
	int h2;

	tc_ifb_name("tct-net", "cid4", "eth0", ifb);
	CHECK_INT(nl_veth_add(&nl, &v), 0);
	h2 = nl_link_index(&nl, "tct-h2");
	CHECK_INT(tc_bw_setup(&nl, &both, h2, ifb, 1500, err, sizeof(err)), 0);
	CHECK_INT(nl_link_del(&nl, h2), 0);
	CHECK(ifb_exists(ifb));
	CHECK_INT(tc_bw_teardown(&nl, h2, ifb), 0);
	CHECK(!ifb_exists(ifb));
}

/* 20 attachments added and removed leave nothing behind. */
static void test_bw_many(void)
{
	char ifb[16], err[TC_ERRLEN], out[8192], cid[32], name[32];
	struct nl_veth v = { name, NULL, -1, 1500, NULL, NULL };
	char peer_name[32];
	int i, h[20], ok = 1;

	v.peer = peer_name;
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "tct-m%d", i % 100);
		snprintf(peer_name, sizeof(peer_name), "tct-n%d", i % 100);
		snprintf(cid, sizeof(cid), "cid-m%d", i);
		tc_ifb_name("tct-net", cid, "eth0", ifb);
		if (nl_veth_add(&nl, &v) < 0 ||
		    (h[i] = nl_link_index(&nl, name)) < 0 ||
		    tc_bw_setup(&nl, &both, h[i], ifb, 1500, err,
				sizeof(err)) < 0)
			ok = 0;
	}
	CHECK(ok);
	sh(out, sizeof(out), "ip -o link show type ifb | wc -l");
	CHECK_INT(atoi(out), 20);
	for (i = 0; i < 20; i++) {
		snprintf(cid, sizeof(cid), "cid-m%d", i);
		tc_ifb_name("tct-net", cid, "eth0", ifb);
		CHECK_INT(tc_bw_teardown(&nl, h[i], ifb), 0);
	}
	sh(out, sizeof(out), "ip -o link show type ifb | wc -l");
	CHECK_INT(atoi(out), 0);
	sh(out, sizeof(out), "tc qdisc show | grep -c -e tbf -e ingress");
	CHECK_INT(atoi(out), 0);
	for (i = 0; i < 20; i++)
		nl_link_del(&nl, h[i]);
}

static int setup_netns(void)
{
	struct nl_veth v = { "tct-h", "tct-p", -1, 1500, NULL, NULL };

	if (unshare(CLONE_NEWNET) < 0 || nl_open(&nl) < 0)
		return -1;
	if (nl_veth_add(&nl, &v) < 0)
		return -1;
	host = nl_link_index(&nl, "tct-h");
	peer = nl_link_index(&nl, "tct-p");
	if (host < 0 || peer < 0 || nl_link_set_up(&nl, host, 1) < 0 ||
	    nl_link_set_up(&nl, peer, 1) < 0)
		return -1;
	tc_clock_init(&clk);
	return 0;
}

int main(void)
{
	RUN(test_clock);
	RUN(test_ifb_name);
	if (geteuid() != 0 || setup_netns() < 0) {
		SKIP(test_tc_kernel, "needs root and a new network namespace");
		return test_done();
	}
	RUN(test_tbf_roundtrip);
	RUN(test_tbf_extremes);
	RUN(test_tbf_unrepresentable);
	RUN(test_redirect);
	RUN(test_bw_setup_check_teardown);
	RUN(test_bw_rejects_first);
	RUN(test_bw_shares_clsact);
	RUN(test_bw_host_gone);
	RUN(test_bw_many);
	nl_close(&nl);
	return test_done();
}
