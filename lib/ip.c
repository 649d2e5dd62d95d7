#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"

int ip_len(const struct ipaddr *a)
{
	return a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;
}

int ip_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

int ip_parse(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int ipnet_parse(const char *s, struct ipnet *out)
{
	char buf[IPNET_STRLEN], *slash, *end;
	long p;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*slash = 0;
	if (ip_parse(buf, &out->ip) < 0)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (errno || *end || p < 0 || p > ip_bits(out->ip.family))
		return -EINVAL;
	out->prefix = (int)p;
	return 0;
}

const char *ip_fmt(const struct ipaddr *a, char buf[IP_STRLEN])
{
	if (!inet_ntop(a->family, a->b, buf, IP_STRLEN))
		strcpy(buf, "<invalid>");
	return buf;
}

const char *ipnet_fmt(const struct ipnet *n, char buf[IPNET_STRLEN])
{
	char ip[IP_STRLEN];

	snprintf(buf, IPNET_STRLEN, "%s/%d", ip_fmt(&n->ip, ip), n->prefix);
	return buf;
}

int ip_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && !memcmp(a->b, b->b, ip_len(a));
}

int ip_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, ip_len(a));
}

void ip_add(struct ipaddr *a, int64_t n)
{
	int i = ip_len(a) - 1;
	int carry = 0;
	uint64_t v = (uint64_t)n;
	int neg = n < 0;

	/* two's complement add of a sign-extended 64-bit value */
	for (; i >= 0; i--) {
		unsigned int byte = neg ? 0xff : 0;
		unsigned int sum;

		if (v || neg) {
			byte = v & 0xff;
			v >>= 8;
			if (neg)
				v |= (uint64_t)0xff << 56;
		}
		sum = a->b[i] + byte + carry;
		a->b[i] = sum & 0xff;
		carry = sum >> 8;
	}
}

static void mask_bits(uint8_t *b, int len, int prefix, int ones)
{
	int i;

	for (i = 0; i < len; i++) {
		int keep = prefix - i * 8;
		uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 :
			    (uint8_t)(0xff << (8 - keep));

		b[i] = ones ? (b[i] | (uint8_t)~m) : (b[i] & m);
	}
}

void ipnet_mask(struct ipnet *n)
{
	mask_bits(n->ip.b, ip_len(&n->ip), n->prefix, 0);
}

void ipnet_network(const struct ipnet *n, struct ipaddr *out)
{
	*out = n->ip;
	mask_bits(out->b, ip_len(out), n->prefix, 0);
}

void ipnet_last(const struct ipnet *n, struct ipaddr *out)
{
	*out = n->ip;
	mask_bits(out->b, ip_len(out), n->prefix, 1);
}

int ipnet_contains(const struct ipnet *n, const struct ipaddr *a)
{
	struct ipaddr x = *a, net;

	if (a->family != n->ip.family)
		return 0;
	mask_bits(x.b, ip_len(&x), n->prefix, 0);
	ipnet_network(n, &net);
	return ip_equal(&x, &net);
}

int ipnet_overlaps(const struct ipnet *a, const struct ipnet *b)
{
	struct ipaddr na, nb;

	if (a->ip.family != b->ip.family)
		return 0;
	ipnet_network(a, &na);
	ipnet_network(b, &nb);
	return ipnet_contains(a, &nb) || ipnet_contains(b, &na);
}

int ipnet_has_host_bits(const struct ipnet *n)
{
	struct ipaddr net;

	ipnet_network(n, &net);
	return !ip_equal(&net, &n->ip);
}
