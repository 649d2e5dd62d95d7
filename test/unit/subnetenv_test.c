/*
 * subnetenv: flannel's subnet.env as flanneld writes it and as the flannel
 * CNI plugin reads it; tolerant input; errors that name the key; the
 * atomic writer in flanneld's exact format. Files in /tmp/subnetenvt-*.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subnetenv.h"
#include "test.h"

static char base[64];

static int parse(const char *s, struct subnetenv *se, char *err)
{
	return subnetenv_parse(s, strlen(s), se, err, SUBNETENV_ERRLEN);
}

static const char *net(const struct ipnet *n)
{
	static char buf[4][IPNET_STRLEN];
	static int i;

	i = (i + 1) % 4;
	return ipnet_fmt(n, buf[i]);
}

static void test_flanneld_file(void)
{
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN];

	CHECK_INT(parse("FLANNEL_NETWORK=10.244.0.0/16\n"
			"FLANNEL_SUBNET=10.244.1.1/24\n"
			"FLANNEL_MTU=1450\n"
			"FLANNEL_IPMASQ=true\n",
			&se, err),
		  0);
	CHECK_INT(se.nnetworks, 1);
	CHECK_STR(net(&se.networks[0]), "10.244.0.0/16");
	CHECK_STR(net(&se.subnet), "10.244.1.0/24");
	CHECK_STR(net(&se.subnet_addr), "10.244.1.1/24");
	CHECK_INT(se.subnet6.ip.family, 0);
	CHECK_INT(se.nnetworks6, 0);
	CHECK_INT(se.mtu, 1450);
	CHECK_INT(se.ipmasq, 1);
}

static void test_dual_and_v6_only(void)
{
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN];

	CHECK_INT(parse("FLANNEL_NETWORK=10.244.0.0/16\n"
			"FLANNEL_SUBNET=10.244.1.1/24\n"
			"FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"
			"FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n"
			"FLANNEL_MTU=1400\n"
			"FLANNEL_IPMASQ=false\n",
			&se, err),
		  0);
	CHECK_STR(net(&se.networks6[0]), "fd00:10:244::/56");
	CHECK_STR(net(&se.subnet6), "fd00:10:244:1::/64");
	CHECK_STR(net(&se.subnet6_addr), "fd00:10:244:1::1/64");
	CHECK_INT(se.ipmasq, 0);
	CHECK_INT(parse("FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"
			"FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n"
			"FLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n",
			&se, err),
		  0);
	CHECK_INT(se.nnetworks, 0);
	CHECK_INT(se.subnet.ip.family, 0);
}

static void test_tolerant(void)
{
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN];

	CHECK_INT(parse("# written by hand\r\n"
			"\r\n"
			"export FLANNEL_NETWORK=\"10.244.0.0/16, 10.245.0.0/16,"
			"10.244.0.0/16\"\r\n"
			"  FLANNEL_SUBNET = '10.244.1.1/24'  \r\n"
			"OTHER_KEY=whatever\r\n"
			"FLANNEL_MTU=9000\r\n"
			"FLANNEL_MTU=1450\r\n"
			"FLANNEL_IPMASQ=TRUE", /* no final newline */
			&se, err),
		  0);
	CHECK_INT(se.nnetworks, 2);
	CHECK_STR(net(&se.networks[1]), "10.245.0.0/16");
	CHECK_STR(net(&se.subnet_addr), "10.244.1.1/24");
	CHECK_INT(se.mtu, 1450); /* last one wins */
	CHECK_INT(se.ipmasq, 0); /* only "true" is true */
	/* networks written with host bits are masked */
	CHECK_INT(parse("FLANNEL_NETWORK=10.244.7.7/16\nFLANNEL_SUBNET="
			"10.244.1.1/24\nFLANNEL_MTU=0\nFLANNEL_IPMASQ=\n",
			&se, err),
		  0);
	CHECK_STR(net(&se.networks[0]), "10.244.0.0/16");
	CHECK_INT(se.mtu, 0);
}

static void test_missing(void)
{
	static const char *const cases[][2] = {
	    {"FLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1\n"
	     "FLANNEL_IPMASQ=true\n",
	     "FLANNEL_NETWORK is missing (and FLANNEL_IPV6_NETWORK too)"},
	    {"FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1\n"
	     "FLANNEL_IPMASQ=true\n",
	     "FLANNEL_SUBNET is missing (and FLANNEL_IPV6_SUBNET too)"},
	    {"FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n"
	     "FLANNEL_IPMASQ=true\n",
	     "FLANNEL_MTU is missing"},
	    {"FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n"
	     "FLANNEL_MTU=1\n",
	     "FLANNEL_IPMASQ is missing"},
	    {"", "FLANNEL_NETWORK is missing (and FLANNEL_IPV6_NETWORK too)"},
	    {"FLANNEL_MTU\n", "FLANNEL_MTU has no value"},
	};
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(parse(cases[i][0], &se, err), -EINVAL);
		CHECK_STR(err, cases[i][1]);
	}
}

static void test_bad_values(void)
{
	static const char *const cases[][2] = {
	    {"FLANNEL_NETWORK=10.244.0.0/33", "bad CIDR in FLANNEL_NETWORK: "
					      "\"10.244.0.0/33\""},
	    {"FLANNEL_NETWORK=10.244.0.0/16,", "bad CIDR in FLANNEL_NETWORK: "
					       "\"\""},
	    {"FLANNEL_NETWORK=10.244.0.0/16,x", "bad CIDR in FLANNEL_NETWORK: "
						"\"x\""},
	    {"FLANNEL_SUBNET=10.244.1.1", "bad CIDR in FLANNEL_SUBNET: "
					  "\"10.244.1.1\""},
	    {"FLANNEL_IPV6_SUBNET=10.244.1.1/24",
	     "FLANNEL_IPV6_SUBNET: 10.244.1.1/24 is not an IPv6 CIDR"},
	    {"FLANNEL_NETWORK=fd00::/56",
	     "FLANNEL_NETWORK: fd00::/56 is not an IPv4 CIDR"},
	    {"FLANNEL_MTU=-1", "bad FLANNEL_MTU: \"-1\""},
	    {"FLANNEL_MTU=4294967296", "bad FLANNEL_MTU: \"4294967296\""},
	    {"FLANNEL_MTU=14x", "bad FLANNEL_MTU: \"14x\""},
	    {"FLANNEL_MTU=", "bad FLANNEL_MTU: \"\""},
	    {"FLANNEL_NETWORK=10.0.0.0/16\nFLANNEL_SUBNET=10.1.1.1/24\n"
	     "FLANNEL_MTU=1\nFLANNEL_IPMASQ=true",
	     "FLANNEL_SUBNET 10.1.1.1/24 is outside FLANNEL_NETWORK"},
	    {"FLANNEL_NETWORK=10.0.0.0/24\nFLANNEL_SUBNET=10.0.0.1/16\n"
	     "FLANNEL_MTU=1\nFLANNEL_IPMASQ=true",
	     "FLANNEL_SUBNET 10.0.0.1/16 is outside FLANNEL_NETWORK"},
	};
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(parse(cases[i][0], &se, err), -EINVAL);
		CHECK_STR(err, cases[i][1]);
	}
	CHECK_INT(parse("FLANNEL_MTU=4294967295\n", &se, err), -EINVAL);
	CHECK_STR(err, "FLANNEL_NETWORK is missing (and FLANNEL_IPV6_NETWORK "
		       "too)");
	CHECK_INT(
	    subnetenv_parse("FLANNEL_MTU=1\0\n", 14, &se, err, sizeof(err)),
	    -EINVAL);
	CHECK_STR(err, "bad value for FLANNEL_MTU");
}

static void test_size_bound(void)
{
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN], *big;
	char path[128];
	int fd;

	big = malloc(SUBNETENV_MAX_SIZE + 2);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, '\n', SUBNETENV_MAX_SIZE + 1);
	CHECK_INT(
	    subnetenv_parse(big, SUBNETENV_MAX_SIZE + 1, &se, err, sizeof(err)),
	    -EFBIG);
	snprintf(path, sizeof(path), "%s/big.env", base);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_INT(write(fd, big, SUBNETENV_MAX_SIZE + 1),
		  SUBNETENV_MAX_SIZE + 1);
	close(fd);
	CHECK_INT(subnetenv_load(path, &se, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, path) == err);
	unlink(path);
	free(big);
}

static void test_load(void)
{
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN], path[128], want[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/none.env", base);
	CHECK_INT(subnetenv_load(path, &se, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "open %s: %s", path, strerror(ENOENT));
	CHECK_STR(err, want);
	snprintf(path, sizeof(path), "%s/partial.env", base);
	f = fopen(path, "w");
	fputs("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\n", f);
	fclose(f);
	CHECK_INT(subnetenv_load(path, &se, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: FLANNEL_SUBNET is missing (and "
		 "FLANNEL_IPV6_SUBNET too)",
		 path);
	CHECK_STR(err, want);
	unlink(path);
}

static void test_write_format(void)
{
	struct subnetenv se, back;
	char err[SUBNETENV_ERRLEN], path[128], buf[512];
	struct stat st;
	ssize_t n;
	int fd;

	memset(&se, 0, sizeof(se));
	ipnet_parse("10.244.0.0/16", &se.networks[0]);
	se.nnetworks = 1;
	ipnet_parse("10.244.3.0/24", &se.subnet); /* no subnet_addr: .1 */
	ipnet_parse("fd00:10:244::/56", &se.networks6[0]);
	se.nnetworks6 = 1;
	ipnet_parse("fd00:10:244:3::/64", &se.subnet6);
	se.mtu = 1450;
	se.ipmasq = 1;
	CHECK_INT(subnetenv_format(&se, buf, sizeof(buf)), 174);
	CHECK_STR(buf, "FLANNEL_NETWORK=10.244.0.0/16\n"
		       "FLANNEL_SUBNET=10.244.3.1/24\n"
		       "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"
		       "FLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n"
		       "FLANNEL_MTU=1450\n"
		       "FLANNEL_IPMASQ=true\n");
	CHECK_INT(subnetenv_format(&se, buf, 20), -ENOSPC);

	snprintf(path, sizeof(path), "%s/run/flannel/subnet.env", base);
	CHECK_INT(subnetenv_write(path, &se, err, sizeof(err)), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0644);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	CHECK_INT(n, 174);
	CHECK_INT(subnetenv_load(path, &back, err, sizeof(err)), 0);
	CHECK_STR(net(&back.subnet_addr), "10.244.3.1/24");
	CHECK_STR(net(&back.subnet6_addr), "fd00:10:244:3::1/64");
	CHECK_INT(back.mtu, 1450);
	CHECK_INT(back.ipmasq, 1);

	/* subnet_addr kept as read; v6 omitted; replaced atomically */
	se = back;
	memset(&se.subnet6, 0, sizeof(se.subnet6));
	ipnet_parse("10.244.3.9/24", &se.subnet_addr);
	se.ipmasq = 0;
	CHECK_INT(subnetenv_write(path, &se, err, sizeof(err)), 0);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	CHECK_STR(buf, "FLANNEL_NETWORK=10.244.0.0/16\n"
		       "FLANNEL_SUBNET=10.244.3.9/24\n"
		       "FLANNEL_MTU=1450\n"
		       "FLANNEL_IPMASQ=false\n");
	unlink(path);
	snprintf(path, sizeof(path), "%s/run/flannel", base);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/run", base);
	rmdir(path);
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/subnetenvt-XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_flanneld_file);
	RUN(test_dual_and_v6_only);
	RUN(test_tolerant);
	RUN(test_missing);
	RUN(test_bad_values);
	RUN(test_size_bound);
	RUN(test_load);
	RUN(test_write_format);
	if (rmdir(base) < 0)
		printf("not ok - cleanup %s: %s\n", base, strerror(errno));
	return test_done();
}
