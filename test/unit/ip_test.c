#include <arpa/inet.h>

#include "ip.h"
#include "test.h"

static void test_parse_format(void)
{
	struct ipaddr a;
	struct ipnet n;
	char buf[IPNET_STRLEN];

	CHECK_INT(ip_parse("10.244.1.7", &a), 0);
	CHECK_INT(a.family, AF_INET);
	CHECK_STR(ip_fmt(&a, buf), "10.244.1.7");
	CHECK_INT(ip_parse("fd00::1", &a), 0);
	CHECK_INT(a.family, AF_INET6);
	CHECK(ip_parse("10.244.1", &a) < 0);
	CHECK(ip_parse("", &a) < 0);
	CHECK_INT(ipnet_parse("10.244.1.1/24", &n), 0);
	CHECK_INT(n.prefix, 24);
	CHECK(ipnet_has_host_bits(&n));
	ipnet_mask(&n);
	CHECK_STR(ipnet_fmt(&n, buf), "10.244.1.0/24");
	CHECK(ipnet_parse("10.0.0.0/33", &n) < 0);
	CHECK(ipnet_parse("10.0.0.0/", &n) < 0);
	CHECK(ipnet_parse("10.0.0.0/-1", &n) < 0);
	CHECK(ipnet_parse("10.0.0.0/2x", &n) < 0);
	CHECK(ipnet_parse("fd00::/129", &n) < 0);
	CHECK_INT(ipnet_parse("fd00:10:244:1::/64", &n), 0);
}

static void test_arith(void)
{
	struct ipaddr a;
	char buf[IP_STRLEN];

	ip_parse("10.0.0.255", &a);
	ip_add(&a, 1);
	CHECK_STR(ip_fmt(&a, buf), "10.0.1.0");
	ip_add(&a, -2);
	CHECK_STR(ip_fmt(&a, buf), "10.0.0.254");
	ip_parse("fd00::ffff", &a);
	ip_add(&a, 1);
	CHECK_STR(ip_fmt(&a, buf), "fd00::1:0");
	ip_parse("255.255.255.255", &a);
	ip_add(&a, 1);
	CHECK_STR(ip_fmt(&a, buf), "0.0.0.0");
}

static void test_contains(void)
{
	struct ipnet n, m;
	struct ipaddr a, last;
	char buf[IP_STRLEN];

	ipnet_parse("10.244.0.0/16", &n);
	ip_parse("10.244.3.4", &a);
	CHECK(ipnet_contains(&n, &a));
	ip_parse("10.245.0.1", &a);
	CHECK(!ipnet_contains(&n, &a));
	ip_parse("fd00::1", &a);
	CHECK(!ipnet_contains(&n, &a));
	ipnet_parse("10.244.1.0/24", &m);
	CHECK(ipnet_overlaps(&n, &m));
	CHECK(ipnet_overlaps(&m, &n));
	ipnet_parse("10.245.1.0/24", &m);
	CHECK(!ipnet_overlaps(&n, &m));
	ipnet_last(&n, &last);
	CHECK_STR(ip_fmt(&last, buf), "10.244.255.255");
	ipnet_parse("10.1.2.3/0", &n);
	CHECK(ipnet_contains(&n, &a) == 0);
	ip_parse("1.2.3.4", &a);
	CHECK(ipnet_contains(&n, &a));
}

int main(void)
{
	RUN(test_parse_format);
	RUN(test_arith);
	RUN(test_contains);
	return test_done();
}
