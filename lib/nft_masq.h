/* ipMasq for cni-flannel: per-network nftables masquerade in a table owned
 * by vpcnet, NOT per pod:
 *
 *	table inet vpcnet_masq {
 *		chain <network> {
 *			type nat hook postrouting priority srcnat;
 *			ip saddr S ip daddr N return	(each cluster network N)
 *			ip daddr 224.0.0.0/4 return
 *			ip saddr S masquerade fully-random
 *			(the same with ip6 and ff00::/8 for IPv6 subnets)
 *		}
 *	}
 *
 * setup is one batch {add table, add chain, flush chain, add rules}: it is
 * idempotent and safe under parallel callers (the result is always exactly
 * one copy of the rules). teardown deletes the chain, and the table when
 * no other chain is left, guarded by the ruleset generation id so a chain
 * another process just added is never removed; under constant ruleset churn
 * it may leave the empty table behind (harmless; the next setup reuses it). */
#ifndef VPCNET_NFT_MASQ_H
#define VPCNET_NFT_MASQ_H

#include <stddef.h>

#include "ip.h"
#include "nft.h"

#define NFT_MASQ_TABLE "vpcnet_masq"
#define NFT_MASQ_FAMILY NFPROTO_INET
#define NFT_MASQ_PRIO 100		/* srcnat */
#define NFT_MASQ_MAX_SUBNETS 4
#define NFT_MASQ_MAX_CLUSTERS 16
#define NFT_MASQ_CHAIN_MAX 224		/* name + NUL, < NFT_NAME_MAXLEN */

struct nft_masq {
	const char *network;		/* CNI network name */
	const struct ipnet *subnets;	/* this node's pod subnets (v4/v6) */
	int nsubnets;
	const struct ipnet *clusters;	/* FLANNEL_NETWORK, ..._IPV6_... */
	int nclusters;
};

/* The chain for a network: the name itself when it is only [A-Za-z0-9_.-]
 * and short, else a cleaned, cut copy with "-" and 8 hex digits of a hash
 * of the whole name appended. -EINVAL for an empty name. */
int nft_masq_chain_name(const char *network, char *buf, size_t size);

/* Append the setup messages to b (for callers that batch more). */
int nft_masq_build(struct nft_batch *b, const struct nft_masq *m);

int nft_masq_setup(struct nft_sock *s, const struct nft_masq *m,
		   struct nft_err *e);
/* 0 also when there was nothing to remove. */
int nft_masq_teardown(struct nft_sock *s, const char *network,
		      struct nft_err *e);

#endif
