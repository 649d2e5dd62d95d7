/* A compiled NetworkPolicy ruleset (np.h) as nftables: one table
 * `inet vpcnet_netpolicy`, replaced whole in one atomic batch
 * ({add, delete, add} table, then everything), or printed in nft syntax.
 *
 *	chain forward (hook forward, priority filter, policy accept):
 *		ct state related accept
 *		ct direction reply ct state established accept
 *		icmpv6 type 133-137 accept	(neighbour discovery)
 *		ip saddr . ip daddr @self4 accept	(a pod to itself)
 *		ip saddr vmap @eg4			(-> jump eg_N)
 *		ip daddr vmap @in4			(-> jump in_N)
 *		(and ip6)
 *	chain in_N:	ip saddr @in_N_a4 accept	(any protocol/port)
 *			ip saddr . meta l4proto . th dport @in_N_p4 accept
 *			drop
 *	chain eg_N:	the same on daddr, with return instead of accept
 *
 * One hash lookup per packet finds a pod's class; the class's sets are
 * interval sets, so the cost does not grow with pods or policies.
 * Original-direction packets of established flows are checked again, so
 * a flow a new policy forbids stops at its next packet; replies pass.
 */
#ifndef VPCNET_NP_NFT_H
#define VPCNET_NP_NFT_H

#include <stddef.h>

#include "nft.h"
#include "np.h"

#define NP_NFT_TABLE "vpcnet_netpolicy"
#define NP_NFT_FAMILY NFPROTO_INET
#define NP_NFT_PRIO 0		/* filter */

struct np_nft_stats {
	int msgs;		/* netlink messages in the batch */
	size_t bytes;
	int chains, sets, rules, elems;
};

/* Append the whole table to b. 0, or the batch's sticky error. */
int np_nft_build(struct nft_batch *b, const struct np_ruleset *rs,
		 struct np_nft_stats *st);
/* Build in a buffer sized to fit and send it: the kernel applies all of
 * it or nothing (then the old table stays). st may be NULL. */
int np_nft_apply(struct nft_sock *s, const struct np_ruleset *rs,
		 struct nft_err *e, struct np_nft_stats *st);
/* Remove the table if it exists. */
int np_nft_flush(struct nft_sock *s, struct nft_err *e);

/* nft syntax (`nft -f` reads it back): *out is malloc'd, free it. */
int np_nft_render(const struct np_ruleset *rs, char **out, size_t *len);

/* Bridged pods reach the forward hook only through br_netfilter: set
 * net.bridge.bridge-nf-call-iptables and -ip6tables to 1 in the current
 * netns. -ENOENT when /proc/sys/net/bridge is missing (module not
 * loaded), else 0 or -errno. */
int np_nft_bridge_setup(void);

#endif
