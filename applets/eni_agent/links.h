/* eni-agent: ENI links on the node (links.c).  Worker thread only. */
#ifndef VPCNET_EA_LINKS_H
#define VPCNET_EA_LINKS_H

#include <net/if.h>

#include "agent.h"
#include "nl.h"

#define EA_TABLE_BASE	1000	/* Terway: table = 1000 + ENI ifindex */

struct ea_links {
	struct nl *nl;
	struct nl_link *list;	/* dump buffer */
};

/* Netlink in nsfd (-1: ours). */
int ea_links_open(struct ea_links *l, int nsfd);
void ea_links_close(struct ea_links *l);
/* The link carrying mac, waiting up to timeout_ms for it to appear:
 * 0, -ETIMEDOUT, -errno. */
int ea_link_by_mac(struct ea_links *l, const char *mac, int timeout_ms,
		   struct nl_link *out);
/* MTU, up, table 1000 + ifindex: cidr dev (scope link) and default via
 * gw onlink.  Idempotent. */
int ea_link_setup(struct ea_links *l, const struct nl_link *lk,
		  unsigned int mtu, const struct ipnet *cidr,
		  const struct ipaddr *gw, char *err, size_t errlen);

#endif
