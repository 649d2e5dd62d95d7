/* IP addresses and prefixes, both families, shared by every module. */
#ifndef VPCNET_IP_H
#define VPCNET_IP_H

#include <netinet/in.h>
#include <stdint.h>

#define IP_STRLEN 46		/* INET6_ADDRSTRLEN */
#define IPNET_STRLEN 50		/* address + "/128" */

struct ipaddr {
	int family;		/* AF_INET or AF_INET6; 0 = unset */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	};
};

struct ipnet {
	struct ipaddr ip;	/* as written: may have host bits set */
	int prefix;
};

int ip_parse(const char *s, struct ipaddr *out);
int ipnet_parse(const char *s, struct ipnet *out);
const char *ip_fmt(const struct ipaddr *a, char buf[IP_STRLEN]);
const char *ipnet_fmt(const struct ipnet *n, char buf[IPNET_STRLEN]);
int ip_len(const struct ipaddr *a);	/* 4, 16, or 0 */
int ip_bits(int family);		/* 32, 128, or 0 */
int ip_equal(const struct ipaddr *a, const struct ipaddr *b);
int ip_cmp(const struct ipaddr *a, const struct ipaddr *b);
void ip_add(struct ipaddr *a, int64_t n);	/* wraps within family */
void ipnet_mask(struct ipnet *n);		/* clear host bits */
void ipnet_network(const struct ipnet *n, struct ipaddr *out);
void ipnet_last(const struct ipnet *n, struct ipaddr *out);
int ipnet_contains(const struct ipnet *n, const struct ipaddr *a);
int ipnet_overlaps(const struct ipnet *a, const struct ipnet *b);
int ipnet_has_host_bits(const struct ipnet *n);

#endif
