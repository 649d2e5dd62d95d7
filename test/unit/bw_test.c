/* Bandwidth quantities: Terway's k8s.aliyun.com annotations, Kubernetes
 * quantities, the CNI keys, and the token bucket built from a rate.  The
 * Terway expectations were produced by Terway's own parseBandwidth (pkg/k8s
 * /k8s.go) compiled with Go; the Kubernetes ones follow resource.Quantity
 * and kubelet's 1k..1P bounds. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bw.h"
#include "test.h"

#define KI 1024ULL
#define MI (1024ULL * 1024)
#define GI (1024ULL * 1024 * 1024)
#define TI (1024ULL * 1024 * 1024 * 1024)

static uint64_t aliyun(const char *s, int *err)
{
	uint64_t v = 12345;
	const char *why = NULL;

	*err = bw_parse_aliyun(s, strlen(s), &v, &why);
	if (*err)
		CHECK(why != NULL && v == 0);
	return v;
}

#define ALI_OK(s, want) do {						\
	int e_;								\
	uint64_t v_ = aliyun(s, &e_);					\
	if (e_)								\
		fprintf(stderr, "# aliyun \"%s\" failed %d\n", s, e_);	\
	CHECK_INT(e_, 0);						\
	CHECK_INT(v_, want);						\
} while (0)

#define ALI_BAD(s, want_err) do {					\
	int e_;								\
	aliyun(s, &e_);							\
	if (e_ != (want_err))						\
		fprintf(stderr, "# aliyun \"%s\"\n", s);		\
	CHECK_INT(e_, want_err);					\
} while (0)

/* The units and the case rules: 1024-based, bytes per second. */
static void test_aliyun_units(void)
{
	ALI_OK("1K", KI);
	ALI_OK("1KB", KI);
	ALI_OK("1KiB", KI);
	ALI_OK("1k", KI);
	ALI_OK("1kb", KI);
	ALI_OK("1kib", KI);
	ALI_OK("1m", MI);		/* lower case m is MiB/s, not milli */
	ALI_OK("1M", MI);
	ALI_OK("10M", 10 * MI);		/* 10 MiB/s = 83.9 Mbit/s */
	ALI_OK("1MB", MI);
	ALI_OK("1MiB", MI);
	ALI_OK("1mIb", MI);
	ALI_OK("1G", GI);
	ALI_OK("1gb", GI);
	ALI_OK("2GiB", 2 * GI);
	ALI_OK("1T", TI);
	ALI_OK("1TB", TI);
	ALI_OK("1tib", TI);
	ALI_OK("1B", 1);
	ALI_OK("100b", 100);
	ALI_OK("1k\xc4\xb1" "b", KI);	/* Go upper-cases dotless i to I */
}

/* The number: Go's strconv.ParseFloat, then truncation. */
static void test_aliyun_numbers(void)
{
	ALI_OK("1.5M", 1572864);
	ALI_OK(".5M", 524288);
	ALI_OK("5.M", 5 * MI);
	ALI_OK("+1M", MI);
	ALI_OK("1_000M", 1000 * MI);
	ALI_OK("1_0.2_5K", 10496);
	ALI_OK("0.5B", 0);		/* truncates to 0 = no limit */
	ALI_OK("0.0000001K", 0);
	ALI_OK("1.0000000000000002M", MI);
	ALI_OK("9007199254740993B", 9007199254740992ULL);
	ALI_OK("16777215T", 18446742974197923840ULL);
	ALI_OK("  10M  ", 10 * MI);
	ALI_OK("\t1M\n", MI);
	ALI_OK("\xc2\xa0" "10M\xe3\x80\x80", 10 * MI);	/* NBSP, U+3000 */
	ALI_OK("\xe2\x80\x85" "2K\xc2\x85", 2 * KI);	/* U+2005, NEL */
}

static void test_aliyun_rejects(void)
{
	ALI_BAD("", -EINVAL);
	ALI_BAD("100", -EINVAL);	/* Terway: no unit (it panicked) */
	ALI_BAD("   ", -EINVAL);
	ALI_BAD("M", -EINVAL);
	ALI_BAD("1Mi", -EINVAL);
	ALI_BAD("1KBB", -EINVAL);
	ALI_BAD("1KIBB", -EINVAL);
	ALI_BAD("1IB", -EINVAL);
	ALI_BAD("1P", -EINVAL);
	ALI_BAD("1bit", -EINVAL);
	ALI_BAD("10Mbps", -EINVAL);
	ALI_BAD("10 M", -EINVAL);
	ALI_BAD("1\tM", -EINVAL);
	ALI_BAD("1\xc2\xa0M", -EINVAL);
	ALI_BAD("\xe2\x80\x8b" "10M", -EINVAL);	/* U+200B is no space */
	ALI_BAD("1\xe2\x84\xaa", -EINVAL);	/* KELVIN SIGN */
	ALI_BAD("-1M", -EINVAL);
	ALI_BAD("0M", -EINVAL);
	ALI_BAD("-0.0M", -EINVAL);
	ALI_BAD("1e3M", -EINVAL);
	ALI_BAD("0x10M", -EINVAL);
	ALI_BAD("infM", -EINVAL);
	ALI_BAD("1.5.5M", -EINVAL);
	ALI_BAD("1,5M", -EINVAL);
	ALI_BAD("1__0M", -EINVAL);
	ALI_BAD("_1M", -EINVAL);
	ALI_BAD("1_M", -EINVAL);
	ALI_BAD("1_.5M", -EINVAL);
	ALI_BAD(".M", -EINVAL);
	ALI_BAD("+M", -EINVAL);
	ALI_BAD("16777216T", -ERANGE);	/* 2^64 bytes/s */
	ALI_BAD("99999999999999999999999999999999M", -ERANGE);
	ALI_BAD("1000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000M",
		-EINVAL);		/* longer than we copy */
}

/* Lengths are honoured: no NUL needed, bytes after n ignored. */
static void test_aliyun_length(void)
{
	uint64_t v;

	CHECK_INT(bw_parse_aliyun("10Mxyz", 3, &v, NULL), 0);
	CHECK_INT(v, 10 * MI);
	CHECK_INT(bw_parse_aliyun("10M", 2, &v, NULL), -EINVAL);
	CHECK_INT(bw_parse_aliyun("1\0M", 3, &v, NULL), -EINVAL);
}

static uint64_t k8s(const char *s, int *err)
{
	uint64_t v = 12345;
	const char *why = NULL;

	*err = bw_parse_k8s(s, strlen(s), &v, &why);
	if (*err)
		CHECK(why != NULL && v == 0);
	return v;
}

#define K8S_OK(s, want) do {						\
	int e_;								\
	uint64_t v_ = k8s(s, &e_);					\
	if (e_)								\
		fprintf(stderr, "# k8s \"%s\" failed %d\n", s, e_);	\
	CHECK_INT(e_, 0);						\
	CHECK_INT(v_, want);						\
} while (0)

#define K8S_BAD(s, want_err) do {					\
	int e_;								\
	k8s(s, &e_);							\
	if (e_ != (want_err))						\
		fprintf(stderr, "# k8s \"%s\"\n", s);			\
	CHECK_INT(e_, want_err);					\
} while (0)

/* resource.Quantity: bits/s, decimal and binary SI, exponents. */
static void test_k8s_quantities(void)
{
	K8S_OK("10M", 10000000);
	K8S_OK("1k", 1000);
	K8S_OK("100k", 100000);
	K8S_OK("1M", 1000000);
	K8S_OK("1G", 1000000000);
	K8S_OK("10G", 10000000000ULL);
	K8S_OK("1T", 1000000000000ULL);
	K8S_OK("1P", 1000000000000000ULL);
	K8S_OK("1Ki", 1024);
	K8S_OK("1Mi", 1048576);
	K8S_OK("1.5Gi", 1610612736);
	K8S_OK("1Ti", 1099511627776ULL);
	K8S_OK("1000", 1000);
	K8S_OK("2e6", 2000000);
	K8S_OK("2E6", 2000000);
	K8S_OK("2e+6", 2000000);
	K8S_OK("1.5e3", 1500);
	K8S_OK("123456e-2", 1235);	/* 1234.56 rounded up */
}

static void test_k8s_rounding(void)
{
	K8S_OK("1.5k", 1500);
	K8S_OK("999.1", 1000);		/* Value() rounds up */
	K8S_OK("999000001m", 999001);
	K8S_OK("1000000000000n", 1000);
	K8S_OK("1.0000001k", 1001);
	K8S_OK("0.000000000001E", 1000000);
	K8S_OK("1.1Ki", 1127);		/* 1126.4 up */
	K8S_OK("+10M", 10000000);
	K8S_OK("010M", 10000000);
	K8S_OK("10.M", 10000000);
	K8S_OK(".5M", 500000);
	K8S_OK("1e4294967299", 1000);	/* int32 exponent: 1e3 in Go */
	K8S_OK("1000e4294967296", 1000);
	K8S_OK("100000000000000000000000000000000000000e-35", 1000);
}

static void test_k8s_bounds(void)
{
	K8S_BAD("999", -ERANGE);	/* kubelet: < 1kbit */
	K8S_BAD("0.5Ki", -ERANGE);
	K8S_BAD("1", -ERANGE);
	K8S_BAD("0", -ERANGE);
	K8S_BAD("-10M", -ERANGE);
	K8S_BAD("1m", -ERANGE);		/* milli, not mega */
	K8S_BAD("1e-30", -ERANGE);
	K8S_BAD("1.000001P", -ERANGE);	/* kubelet: > 1Pbit */
	K8S_BAD("1Pi", -ERANGE);
	K8S_BAD("2E", -ERANGE);
	K8S_BAD("1e19", -ERANGE);
	K8S_BAD("1e2147483647", -ERANGE);
	K8S_BAD("99999999999999999999999999999999", -ERANGE);
	K8S_OK("1000000000000000", 1000000000000000ULL);
	K8S_OK("999999999999999.5", 1000000000000000ULL);
}

static void test_k8s_syntax(void)
{
	K8S_BAD("", -EINVAL);
	K8S_BAD("10 M", -EINVAL);
	K8S_BAD(" 10M", -EINVAL);
	K8S_BAD("10M ", -EINVAL);
	K8S_BAD("10Mb", -EINVAL);
	K8S_BAD("10mbit", -EINVAL);
	K8S_BAD("10KB", -EINVAL);
	K8S_BAD("10K", -EINVAL);	/* upper-case K is no SI prefix */
	K8S_BAD("10ki", -EINVAL);
	K8S_BAD("1e", -EINVAL);
	K8S_BAD("1ee3", -EINVAL);
	K8S_BAD("1e3.5", -EINVAL);
	K8S_BAD("1e99999999999999999999", -EINVAL);
	K8S_BAD("1M5", -EINVAL);
	K8S_BAD("0x10", -EINVAL);
	K8S_BAD("1.2.3", -EINVAL);
	K8S_BAD("+-1", -EINVAL);
	K8S_BAD("1_000k", -EINVAL);
}

static void test_annotation_precedence(void)
{
	uint64_t v;
	const char *why;

	CHECK_INT(bw_annotation("10M", 3, "1M", 2, &v, NULL), 0);
	CHECK_INT(v, 10000000);		/* kubernetes.io wins */
	CHECK_INT(bw_annotation("10M", 3, "garbage", 7, &v, NULL), 0);
	CHECK_INT(v, 10000000);		/* the loser is not even parsed */
	CHECK_INT(bw_annotation(NULL, 0, "1M", 2, &v, NULL), 0);
	CHECK_INT(v, 8 * MI);		/* bytes to bits */
	CHECK_INT(bw_annotation(NULL, 0, "10m", 3, &v, NULL), 0);
	CHECK_INT(v, 83886080);
	CHECK_INT(bw_annotation(NULL, 0, NULL, 0, &v, NULL), 0);
	CHECK_INT(v, 0);
	CHECK_INT(bw_annotation("10x", 3, "1M", 2, &v, &why), -EINVAL);
	CHECK(strstr(why, "regular expression") != NULL);
	CHECK_INT(bw_annotation("100", 3, NULL, 0, &v, &why), -ERANGE);
	CHECK(strstr(why, "unreasonably small") != NULL);
	CHECK_INT(bw_annotation(NULL, 0, "2097151T", 8, &v, NULL), 0);
	CHECK_INT(v, 2097151 * TI * 8);
	CHECK_INT(bw_annotation(NULL, 0, "2097152T", 8, &v, &why), -ERANGE);
}

static void test_cni_resolve(void)
{
	struct bw_limits top = { 1000000, 8000000, 0, 0 };
	struct bw_limits rc = { 2000000, 16000000, 3000000, 24000000 };
	struct bw_limits zero = { 0, 0, 0, 0 }, out;
	struct bw_limits nob = { 1000000, 0, 0, 0 };
	struct bw_limits norate = { 0, 0, 0, 8000 };
	struct bw_limits big = { 1000000, BW_BURST_MAX_CNI, 0, 0 };
	struct bw_limits cri = { 10000000, BW_BURST_UNSET, 10000000,
				 BW_BURST_UNSET };
	const char *why;

	CHECK_INT(bw_cni_resolve(&top, 1, &rc, 1, &out, NULL), 0);
	CHECK(!memcmp(&out, &top, sizeof(out)));	/* top level wins */
	CHECK_INT(bw_cni_resolve(&top, 0, &rc, 1, &out, NULL), 0);
	CHECK(!memcmp(&out, &rc, sizeof(out)));
	CHECK_INT(bw_cni_resolve(&zero, 1, &rc, 1, &out, NULL), 0);
	CHECK(!memcmp(&out, &zero, sizeof(out)));	/* "ingressRate": 0 */
	CHECK_INT(bw_cni_resolve(&top, 0, &rc, 0, &out, NULL), 0);
	CHECK(!memcmp(&out, &zero, sizeof(out)));
	CHECK_INT(bw_cni_resolve(&nob, 1, &rc, 1, &out, &why), -EINVAL);
	CHECK_STR(why, "if rate is set, burst must also be set");
	CHECK(!memcmp(&out, &zero, sizeof(out)));
	CHECK_INT(bw_cni_resolve(&norate, 1, NULL, 0, &out, &why), -EINVAL);
	CHECK_STR(why, "if burst is set, rate must also be set");
	CHECK_INT(bw_cni_resolve(&big, 1, NULL, 0, &out, &why), -ERANGE);
	CHECK_STR(why, "burst cannot be more than 4GB");
	big.ingress_burst--;
	CHECK_INT(bw_cni_resolve(&big, 1, NULL, 0, &out, NULL), 0);
	CHECK_INT(bw_cni_resolve(NULL, 0, &cri, 1, &out, NULL), 0);
	CHECK_INT(out.egress_burst, BW_BURST_UNSET);
}

static void tbf(uint64_t rate, uint64_t burst, unsigned int mtu,
		struct bw_tbf *t)
{
	CHECK_INT(bw_tbf(rate, burst, mtu, t, NULL), 0);
}

/* 100 kbit/s: the two-packet floor; 10 Gbit/s: 10 ms at rate. */
static void test_tbf_small_and_large(void)
{
	struct bw_tbf t;

	tbf(100000, 0, 1500, &t);
	CHECK_INT(t.rate, 12500);
	CHECK_INT(t.burst, 3028);		/* 2 * (1500 + 14) */
	CHECK_INT(t.limit, 3028 + 312);		/* + 25 ms at rate */
	tbf(10000000000ULL, 0, 1500, &t);
	CHECK_INT(t.rate, 1250000000);
	CHECK_INT(t.burst, 12500000);		/* 10 ms */
	CHECK_INT(t.limit, 12500000 + 31250000);
	tbf(10000000, 0, 1500, &t);		/* 10 Mbit/s */
	CHECK_INT(t.burst, 12500);
	CHECK_INT(t.limit, 12500 + 31250);
	tbf(100000, 0, 9000, &t);		/* jumbo frames */
	CHECK_INT(t.burst, 18028);
	tbf(1000, 0, 0, &t);			/* mtu 0 = 1500 */
	CHECK_INT(t.rate, 125);
	CHECK_INT(t.burst, 3028);
}

static void test_tbf_burst_caps(void)
{
	struct bw_tbf t;
	const char *why;

	tbf(10000000, 8 * 100000, 1500, &t);	/* user's 100 kB kept */
	CHECK_INT(t.burst, 100000);
	tbf(10000000, 8, 1500, &t);		/* 1 byte: raised */
	CHECK_INT(t.burst, 12500);
	tbf(10000000, 8ULL * 10000000, 1500, &t);	/* 8 s: 1 s */
	CHECK_INT(t.burst, 1250000);
	tbf(10000000, BW_BURST_UNSET, 1500, &t);	/* containerd */
	CHECK_INT(t.burst, 12500);
	tbf(10000000, BW_BURST_UNSET - 1, 1500, &t);	/* explicit 512M */
	CHECK_INT(t.burst, 1250000);
	tbf(1000000000000000ULL, 0, 1500, &t);		/* 1 Pbit/s */
	CHECK_INT(t.rate, 125000000000000ULL);
	CHECK_INT(t.burst, UINT32_MAX);
	CHECK_INT(t.limit, UINT32_MAX);
	tbf(UINT64_MAX, UINT64_MAX, UINT32_MAX, &t);
	CHECK_INT(t.rate, UINT64_MAX / 8);
	CHECK_INT(bw_tbf(999, 0, 1500, &t, &why), -ERANGE);
	CHECK_STR(why, "rate below 1 kbit/s");
	CHECK_INT(t.rate, 0);
	CHECK_INT(bw_tbf(0, 0, 1500, &t, NULL), -ERANGE);
}

int main(void)
{
	RUN(test_aliyun_units);
	RUN(test_aliyun_numbers);
	RUN(test_aliyun_rejects);
	RUN(test_aliyun_length);
	RUN(test_k8s_quantities);
	RUN(test_k8s_rounding);
	RUN(test_k8s_bounds);
	RUN(test_k8s_syntax);
	RUN(test_annotation_precedence);
	RUN(test_cni_resolve);
	RUN(test_tbf_small_and_large);
	RUN(test_tbf_burst_caps);
	return test_done();
}
