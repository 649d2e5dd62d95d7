/* ipam ranges: parsing, upstream host-local's defaults and checks, Go's
 * address text. The store is in ipam.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ipam.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int is_v4mapped(const struct ipaddr *a)
{
	return a->family == AF_INET6 &&
	       !memcmp(a->b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
}

/* net.IP.String(): dotted IPv4 (also for IPv4-mapped IPv6); IPv6 per
 * RFC 5952: lowercase, no leading zeros, the first longest run of two or
 * more zero groups as "::". Differs from inet_ntop for ::a.b.c.d. */
const char *ipam_ip_fmt(const struct ipaddr *a, char buf[IP_STRLEN])
{
	int i, j, e0 = -1, e1 = -1, n = 0;
	const uint8_t *b = a->b;

	if (a->family == AF_INET || is_v4mapped(a)) {
		if (a->family == AF_INET6)
			b += 12;
		snprintf(buf, IP_STRLEN, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		return buf;
	}
	if (a->family != AF_INET6) {
		snprintf(buf, IP_STRLEN, "<invalid>");
		return buf;
	}
	for (i = 0; i < 16; i += 2) {
		for (j = i; j < 16 && !b[j] && !b[j + 1]; j += 2)
			;
		if (j > i && j - i > e1 - e0) {
			e0 = i;
			e1 = j;
			i = j;
		}
	}
	if (e1 - e0 <= 2)
		e0 = e1 = -1;
	for (i = 0; i < 16; i += 2) {
		if (i == e0) {
			n += snprintf(buf + n, IP_STRLEN - n, "::");
			i = e1;
			if (i >= 16)
				break;
		} else if (i > 0) {
			buf[n++] = ':';
		}
		n += snprintf(buf + n, IP_STRLEN - n, "%x",
			      (unsigned)(b[i] << 8 | b[i + 1]));
	}
	buf[n] = 0;
	return buf;
}

static const char *net_fmt(const struct ipnet *n, char buf[IPNET_STRLEN])
{
	char ip[IP_STRLEN];

	snprintf(buf, IPNET_STRLEN, "%s/%d", ipam_ip_fmt(&n->ip, ip),
		 n->prefix);
	return buf;
}

static const char *range_fmt(const struct ipam_range *r, char *buf, size_t len)
{
	char a[IP_STRLEN], b[IP_STRLEN];

	snprintf(buf, len, "%s-%s", ipam_ip_fmt(&r->start, a),
		 ipam_ip_fmt(&r->end, b));
	return buf;
}

const char *ipam_rangeset_fmt(const struct ipam_rangeset *s, char *buf,
			      size_t len)
{
	size_t n = 0;
	int i;

	if (len)
		buf[0] = 0;
	for (i = 0; i < s->n && n + 1 < len; i++) {
		if (i)
			buf[n++] = ',';
		range_fmt(&s->r[i], buf + n, len - n);
		n += strlen(buf + n);
	}
	return buf;
}

static int opt_ip(const char *s, struct ipaddr *out, const char *what,
		  char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	if (ip_parse(s, out) < 0)
		return fail(err, errlen, "invalid %s IP address: %.64s", what,
			    s);
	return 0;
}

int ipam_range_parse(struct ipam_range *r, const char *subnet,
		     const char *start, const char *end, const char *gateway,
		     char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (!subnet || !*subnet)
		return fail(err, errlen, "range is missing subnet");
	if (ipnet_parse(subnet, &r->subnet) < 0)
		return fail(err, errlen, "invalid CIDR address: %.64s", subnet);
	if (opt_ip(start, &r->start, "rangeStart", err, errlen) < 0 ||
	    opt_ip(end, &r->end, "rangeEnd", err, errlen) < 0 ||
	    opt_ip(gateway, &r->gateway, "gateway", err, errlen) < 0)
		return -EINVAL;
	return 0;
}

static int in_range(const struct ipam_range *r, const struct ipaddr *a)
{
	if (!ipnet_contains(&r->subnet, a))
		return 0;
	if (r->start.family && ip_cmp(a, &r->start) < 0)
		return 0;
	if (r->end.family && ip_cmp(a, &r->end) > 0)
		return 0;
	return 1;
}

int ipam_rangeset_find(const struct ipam_rangeset *s, const struct ipaddr *a)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (in_range(&s->r[i], a))
			return i;
	return -1;
}

static int check_member(struct ipam_range *r, struct ipaddr *a,
			const char *what, char *err, size_t errlen)
{
	char ip[IP_STRLEN], net[IPNET_STRLEN];

	if (a->family != r->subnet.ip.family || is_v4mapped(a) ||
	    !in_range(r, a))
		return fail(err, errlen, "%s %s not in network %s", what,
			    ipam_ip_fmt(a, ip), net_fmt(&r->subnet, net));
	return 0;
}

static int range_canon(struct ipam_range *r, char *err, size_t errlen)
{
	struct ipnet *sn = &r->subnet;
	char buf[IPNET_STRLEN], ip[IP_STRLEN];
	struct ipaddr net;

	if (is_v4mapped(&sn->ip))
		return fail(err, errlen, "IPv4-mapped subnet %s not supported",
			    net_fmt(sn, buf));
	if (sn->prefix > ip_bits(sn->ip.family) - 2)
		return fail(err, errlen,
			    "Network %s too small to allocate from",
			    net_fmt(sn, buf));
	ipnet_network(sn, &net);
	if (!ip_equal(&net, &sn->ip))
		return fail(
		    err, errlen,
		    "Network has host bits set. For a "
		    "subnet mask of length %d the network address is %s",
		    sn->prefix, ipam_ip_fmt(&net, ip));
	if (!r->gateway.family) {
		r->gateway = net;
		ip_add(&r->gateway, 1);
	} else if (check_member(r, &r->gateway, "gateway", err, errlen)) {
		return -EINVAL;
	}
	if (!r->start.family) {
		r->start = net;
		ip_add(&r->start, 1);
	} else if (check_member(r, &r->start, "RangeStart", err, errlen)) {
		return -EINVAL;
	}
	if (!r->end.family) {
		ipnet_last(sn, &r->end);
		if (sn->ip.family == AF_INET)
			ip_add(&r->end, -1);
	} else if (check_member(r, &r->end, "RangeEnd", err, errlen)) {
		return -EINVAL;
	}
	return 0;
}

static int range_overlaps(const struct ipam_range *a,
			  const struct ipam_range *b)
{
	if (a->start.family != b->start.family)
		return 0;
	return in_range(a, &b->start) || in_range(a, &b->end) ||
	       in_range(b, &a->start) || in_range(b, &a->end);
}

static int set_canon(struct ipam_rangeset *s, char *err, size_t errlen)
{
	char x[2 * IP_STRLEN + 2], y[2 * IP_STRLEN + 2];
	int i, j;

	if (s->n <= 0 || s->n > IPAM_MAX_RANGES)
		return fail(err, errlen,
			    s->n <= 0 ? "empty range set"
				      : "too many ranges in range set");
	for (i = 0; i < s->n; i++) {
		if (range_canon(&s->r[i], err, errlen) < 0)
			return -EINVAL;
		if (s->r[i].start.family != s->r[0].start.family)
			return fail(err, errlen, "mixed address families");
	}
	for (i = 0; i < s->n; i++)
		for (j = i + 1; j < s->n; j++)
			if (range_overlaps(&s->r[i], &s->r[j]))
				return fail(err, errlen,
					    "subnets %s and %s overlap",
					    range_fmt(&s->r[i], x, sizeof(x)),
					    range_fmt(&s->r[j], y, sizeof(y)));
	return 0;
}

static int sets_overlap(const struct ipam_rangeset *a,
			const struct ipam_rangeset *b)
{
	int i, j;

	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			if (range_overlaps(&a->r[i], &b->r[j]))
				return 1;
	return 0;
}

int ipam_canon(struct ipam_rangeset *sets, int nsets, char *err, size_t errlen)
{
	char msg[IPAM_ERRLEN];
	int i, j;

	if (nsets <= 0)
		return fail(err, errlen, "no IP ranges specified");
	if (nsets > IPAM_MAX_SETS)
		return fail(err, errlen, "too many range sets (max %d)",
			    IPAM_MAX_SETS);
	for (i = 0; i < nsets; i++)
		if (set_canon(&sets[i], msg, sizeof(msg)) < 0)
			return fail(err, errlen, "invalid range set %d: %s", i,
				    msg);
	for (i = 0; i < nsets; i++)
		for (j = i + 1; j < nsets; j++)
			if (sets_overlap(&sets[i], &sets[j]))
				return fail(err, errlen,
					    "range set %d overlaps with %d", i,
					    j);
	return 0;
}
