/* Bandwidth quantities and the token bucket they become (see bw.h).
 *
 * Followed, rule for rule:
 *  - Terway pkg/k8s/k8s.go parseBandwidth (k8s.aliyun.com annotations);
 *  - apimachinery resource.ParseQuantity and kubelet's
 *    ExtractPodBandwidthResources (kubernetes.io annotations);
 *  - containernetworking/plugins meta/bandwidth main.go (CNI keys).
 */
#include "bw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NUM_MAX 128	/* longest Go float we copy for strtod */

static int fail(const char **why, int err, const char *msg)
{
	if (why)
		*why = msg;
	return err;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Bytes of the Unicode White_Space character at p (Go's unicode.IsSpace,
 * what strings.TrimSpace trims), 0 if there is none. */
static size_t uspace(const unsigned char *p, size_t n)
{
	if (n >= 1 && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')))
		return 1;
	if (n >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (n < 3)
		return 0;
	if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)	/* U+1680 */
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x80 &&		/* U+2000..200A */
	    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 ||
	     p[2] == 0xa9 || p[2] == 0xaf))		/* 2028 2029 202F */
		return 3;
	if ((p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) ||	/* U+205F */
	    (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80))	/* U+3000 */
		return 3;
	return 0;
}

static void utrim(const char **s, size_t *n)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t len = *n, w, k;

	while (len && (w = uspace(p, len))) {
		p += w;
		len -= w;
	}
	while (len) {
		for (k = 1; k <= 3 && k <= len; k++)
			if (uspace(p + len - k, k) == k)
				break;
		if (k > 3 || k > len)
			break;
		len -= k;
	}
	*s = (const char *)p;
	*n = len;
}

/* Copy the Go float literal s[0..n) (letter-free: what Terway hands to
 * strconv.ParseFloat) to buf without underscores.  Go takes a sign, digits
 * with at most one '.', and '_' only between two digits. */
static int go_float(const char *s, size_t n, char *buf, size_t size)
{
	size_t i = 0, o = 0;
	int digits = 0, dot = 0;

	if (n && (s[0] == '+' || s[0] == '-'))
		buf[o++] = s[i++];
	for (; i < n; i++) {
		if (s[i] == '_' && i > 0 && is_digit(s[i - 1]) && i + 1 < n &&
		    is_digit(s[i + 1]))
			continue;
		if (is_digit(s[i]))
			digits++;
		else if (s[i] != '.' || dot++)
			return -EINVAL;
		if (o + 1 >= size)
			return -ERANGE;
		buf[o++] = s[i];
	}
	buf[o] = '\0';
	return digits ? 0 : -EINVAL;
}

/* Terway's unit after strings.ToUpper: its shift, or -1.  U+0131 (dotless
 * i) upper-cases to 'I' in Go, so "1kıb" is 1 KiB there too. */
static int aliyun_unit(const char *s, size_t n)
{
	static const struct {
		char name[4];
		int shift;
	} units[] = {
		{ "B", 0 }, { "K", 10 }, { "KB", 10 }, { "KIB", 10 },
		{ "M", 20 }, { "MB", 20 }, { "MIB", 20 }, { "G", 30 },
		{ "GB", 30 }, { "GIB", 30 }, { "T", 40 }, { "TB", 40 },
		{ "TIB", 40 },
	};
	char up[4];
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (o == 3)
			return -1;
		if (is_alpha(s[i])) {
			up[o++] = s[i] & ~0x20;
		} else if ((unsigned char)s[i] == 0xc4 && i + 1 < n &&
			   (unsigned char)s[i + 1] == 0xb1) {
			up[o++] = 'I';
			i++;
		} else {
			return -1;
		}
	}
	up[o] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(up, units[i].name))
			return units[i].shift;
	return -1;
}

int bw_parse_aliyun(const char *s, size_t n, uint64_t *bytes_ps,
		    const char **why)
{
	char num[NUM_MAX];
	size_t i;
	double v;
	int shift, err;

	*bytes_ps = 0;
	if (n == 0)
		return fail(why, -EINVAL, "invalid bandwidth: empty");
	utrim(&s, &n);
	for (i = 0; i < n && !is_alpha(s[i]) && !(s[i] & 0x80); i++)
		;
	if (i == n)
		return fail(why, -EINVAL,
			    "invalid bandwidth: needs a unit: K, M, G, T or B");
	err = go_float(s, i, num, sizeof(num));
	if (err == -ERANGE)
		return fail(why, -EINVAL, "invalid bandwidth: number too long");
	shift = aliyun_unit(s + i, n - i);
	if (err || shift < 0)
		return fail(why, -EINVAL, "invalid bandwidth: want a number "
			    "and K, M, G, T (optionally B or iB) or B");
	/* strtod is locale-dependent; vpcnet never calls setlocale(). */
	v = strtod(num, NULL);
	if (!(v > 0))
		return fail(why, -EINVAL, "invalid bandwidth: must be > 0");
	v *= (double)(1ULL << shift);
	if (v >= 18446744073709551616.0)
		return fail(why, -ERANGE, "bandwidth too large");
	*bytes_ps = (uint64_t)v;	/* truncates, like Go's uint64() */
	return 0;
}

/* A Kubernetes quantity: [+-] num [. den] suffix, value
 * num.den * 10^exp (decimal) or num.den * 2^exp (bin). */
struct qty {
	int neg, bin;
	int32_t exp;
	const char *num, *den;
	size_t nnum, nden;
};

/* strconv.ParseInt(s, 10, 64) as int32(), as apimachinery's suffixer does
 * for the "e<N>" exponent form (so 1e4294967296 is 1e0 there too). */
static int qty_exp(const char *s, size_t n, int32_t *out)
{
	uint64_t v = 0, max = (uint64_t)INT64_MAX;
	size_t i = 0;
	int neg = 0;

	if (n && (s[0] == '+' || s[0] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return -EINVAL;
	if (neg)
		max++;
	for (; i < n; i++) {
		if (!is_digit(s[i]) || v > (max - (s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = (int32_t)(uint32_t)(neg ? 0 - v : v);
	return 0;
}

static int qty_suffix(const char *s, size_t n, struct qty *q)
{
	static const struct {
		char s[3];
		int8_t bin, exp;
	} tab[] = {
		{ "", 0, 0 }, { "n", 0, -9 }, { "u", 0, -6 }, { "m", 0, -3 },
		{ "k", 0, 3 }, { "M", 0, 6 }, { "G", 0, 9 }, { "T", 0, 12 },
		{ "P", 0, 15 }, { "E", 0, 18 }, { "Ki", 1, 10 },
		{ "Mi", 1, 20 }, { "Gi", 1, 30 }, { "Ti", 1, 40 },
		{ "Pi", 1, 50 }, { "Ei", 1, 60 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strlen(tab[i].s) == n && !memcmp(tab[i].s, s, n)) {
			q->bin = tab[i].bin;
			q->exp = tab[i].exp;
			return 0;
		}
	}
	if (n > 1 && (s[0] == 'e' || s[0] == 'E'))
		return qty_exp(s + 1, n - 1, &q->exp);
	return -EINVAL;
}

static size_t digits(const char *s, size_t i, size_t n)
{
	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

/* resource.ParseQuantity's scanner (parseQuantityString), then the
 * suffix. */
static int qty_scan(const char *s, size_t n, struct qty *q)
{
	size_t pos = 0, end;

	memset(q, 0, sizeof(*q));
	if (n == 0)
		return -EINVAL;
	if (s[0] == '-' || s[0] == '+')
		q->neg = s[pos++] == '-';
	while (pos < n && s[pos] == '0')
		pos++;
	end = digits(s, pos, n);
	q->num = s + pos;
	q->nnum = end - pos;
	pos = end;
	if (pos < n && s[pos] == '.') {
		end = digits(s, ++pos, n);
		q->den = s + pos;
		q->nden = end - pos;
		pos = end;
	}
	end = pos;
	while (end < n && s[end] && memchr("eEinumkKMGTP", s[end], 12))
		end++;
	if (end < n && (s[end] == '-' || s[end] == '+'))
		end++;
	if (digits(s, end, n) != n)
		return -EINVAL;
	return qty_suffix(s + pos, n - pos, q);
}

static char qty_digit(const struct qty *q, size_t j)
{
	return (j < q->nnum ? q->num[j] : q->den[j - q->nnum]) - '0';
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Digits [from, to) of the quantity as an integer, saturating. */
static uint64_t qty_int(const struct qty *q, size_t from, size_t to)
{
	uint64_t v = 0;

	for (; from < to; from++)
		v = sat_add(sat_mul(v, 10), qty_digit(q, from));
	return v;
}

/* ceil(|value|) exactly (kubelet's Value() rounds up), saturating.  With
 * D the digits and E the power of ten: D * 10^E * 2^B. */
static uint64_t qty_ceil(const struct qty *q)
{
	size_t nd = q->nnum + q->nden, lo = 0, hi = nd, k, j;
	int64_t e = (q->bin ? 0 : (int64_t)q->exp) - (int64_t)q->nden;
	unsigned int b = q->bin ? (unsigned int)q->exp : 0;
	uint64_t v, carry = 0, t, inexact = 0;

	while (lo < hi && qty_digit(q, lo) == 0)
		lo++;
	while (hi > lo && qty_digit(q, hi - 1) == 0) {
		hi--;
		e++;
	}
	if (lo == hi)
		return 0;
	if (e >= 0) {
		if ((int64_t)(hi - lo) + e > 20)
			return UINT64_MAX;
		v = qty_int(q, lo, hi);
		while (e--)
			v = sat_mul(v, 10);
		return sat_mul(v, 1ULL << b);
	}
	k = (size_t)-e;			/* digits after the point */
	if (k > hi - lo + 19)		/* 0 < value < 10^-19 * 2^60 < 1 */
		return 1;
	/* floor(F * 2^b / 10^k) by long division, F the last k digits */
	for (j = 0; j < k; j++) {
		t = (j < hi - lo ? (uint64_t)qty_digit(q, hi - 1 - j) << b
				 : 0) + carry;
		inexact |= t % 10;
		carry = t / 10;
	}
	v = hi - lo > k ? qty_int(q, lo, hi - k) : 0;
	v = sat_add(sat_mul(v, 1ULL << b), carry);
	return sat_add(v, inexact != 0);
}

int bw_parse_k8s(const char *s, size_t n, uint64_t *bits_ps,
		 const char **why)
{
	struct qty q;
	uint64_t v;

	*bits_ps = 0;
	if (qty_scan(s, n, &q) < 0)
		return fail(why, -EINVAL, "quantities must match the regular "
			    "expression '^([+-]?[0-9.]+)"
			    "([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	v = qty_ceil(&q);
	if (q.neg || v < BW_K8S_MIN)
		return fail(why, -ERANGE,
			    "resource is unreasonably small (< 1kbit)");
	if (v > BW_K8S_MAX)
		return fail(why, -ERANGE,
			    "resource is unreasonably large (> 1Pbit)");
	*bits_ps = v;
	return 0;
}

int bw_annotation(const char *k8s, size_t k8s_n, const char *aliyun,
		  size_t aliyun_n, uint64_t *bits_ps, const char **why)
{
	uint64_t bytes;
	int err;

	*bits_ps = 0;
	if (k8s)
		return bw_parse_k8s(k8s, k8s_n, bits_ps, why);
	if (!aliyun)
		return 0;
	err = bw_parse_aliyun(aliyun, aliyun_n, &bytes, why);
	if (err)
		return err;
	if (bytes > UINT64_MAX / 8)
		return fail(why, -ERANGE, "bandwidth too large");
	*bits_ps = bytes * 8;
	return 0;
}

static int cni_pair(uint64_t rate, uint64_t burst, const char **why)
{
	if (burst == 0 && rate != 0)
		return fail(why, -EINVAL,
			    "if rate is set, burst must also be set");
	if (rate == 0 && burst != 0)
		return fail(why, -EINVAL,
			    "if burst is set, rate must also be set");
	if (burst >= BW_BURST_MAX_CNI)
		return fail(why, -ERANGE, "burst cannot be more than 4GB");
	return 0;
}

int bw_cni_resolve(const struct bw_limits *top, int have_top,
		   const struct bw_limits *rc, int have_rc,
		   struct bw_limits *out, const char **why)
{
	const struct bw_limits *bw = have_top ? top : have_rc ? rc : NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (!bw)
		return 0;
	err = cni_pair(bw->ingress_rate, bw->ingress_burst, why);
	if (!err)
		err = cni_pair(bw->egress_rate, bw->egress_burst, why);
	if (!err)
		*out = *bw;
	return err;
}

/* rate * ms / 1000 without overflow (rate < 2^61). */
static uint64_t at_ms(uint64_t rate, unsigned int ms)
{
	return rate / 1000 * ms + rate % 1000 * ms / 1000;
}

/*
 * The token bucket, in bytes; rate = rate_bits / 8 (truncated, upstream).
 *
 *	floor   = max(2 packets of mtu + 14, 10 ms at rate)
 *	ceiling = max(floor, 1 s at rate)
 *	burst   = the wanted burst clamped to [floor, ceiling]
 *		  (floor when unset: 0 or BW_BURST_UNSET)
 *	limit   = 25 ms at rate + burst	(queue = upstream's latency)
 *	both at most 2^32-1 (u32 in the kernel's tbf)
 *
 * A bucket smaller than a packet never sends that packet: tbf drops it.
 * A bucket shorter than the gap between two runs of the qdisc (a timer
 * tick: 10 ms at HZ=100, more under load) loses tokens, so the rate is
 * never reached: at 10 Gbit/s the floor is 12.5 MB.  At 100 kbit/s 10 ms
 * is 125 bytes, so the two packets decide (3028 bytes at MTU 1500, 242 ms
 * at that rate).  The ceiling keeps a huge burst from switching the limit
 * off: containerd sends 2^32-1 bits (512 MiB, 7 minutes at line rate for
 * 10 Mbit/s) for every kubernetes.io annotation, meaning "no preference",
 * which is why that exact value counts as unset.
 */
int bw_tbf(uint64_t rate_bits, uint64_t burst_bits, unsigned int mtu,
	   struct bw_tbf *out, const char **why)
{
	uint64_t rate = rate_bits / 8, lo, hi, burst;

	memset(out, 0, sizeof(*out));
	if (rate_bits < BW_RATE_MIN)
		return fail(why, -ERANGE, "rate below 1 kbit/s");
	lo = 2 * ((uint64_t)(mtu ? mtu : 1500) + 14);
	if (at_ms(rate, BW_BURST_MIN_MS) > lo)
		lo = at_ms(rate, BW_BURST_MIN_MS);
	hi = at_ms(rate, BW_BURST_MAX_MS);
	if (hi < lo)
		hi = lo;
	burst = burst_bits == BW_BURST_UNSET ? 0 : burst_bits / 8;
	if (burst < lo)
		burst = lo;
	if (burst > hi)
		burst = hi;
	if (burst > UINT32_MAX)
		burst = UINT32_MAX;
	out->rate = rate;
	out->burst = (uint32_t)burst;
	burst += at_ms(rate, BW_LATENCY_MS);
	out->limit = burst > UINT32_MAX ? UINT32_MAX : (uint32_t)burst;
	return 0;
}
