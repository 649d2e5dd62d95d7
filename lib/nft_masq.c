/* Per-network masquerade for cni-flannel's ipMasq. See nft_masq.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nft_masq.h"
#include "nft_dump.h"

#define BATCH_SIZE 32768
#define RANDOM_FULLY 0x10	/* NF_NAT_RANGE_PROTO_RANDOM_FULLY */
#define TEARDOWN_TRIES 4

static int name_ok(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

int nft_masq_chain_name(const char *network, char *buf, size_t size)
{
	size_t n, i, keep;
	int clean = 1;

	if (!network || !network[0] || size < 16)
		return -EINVAL;
	n = strlen(network);
	for (i = 0; i < n; i++)
		clean &= name_ok((unsigned char)network[i]);
	if (clean && n < size && n < NFT_MASQ_CHAIN_MAX) {
		memcpy(buf, network, n + 1);
		return 0;
	}
	/* cleaned prefix + "-" + 8 hex + NUL */
	keep = size < NFT_MASQ_CHAIN_MAX ? size : NFT_MASQ_CHAIN_MAX;
	keep -= 10;
	if (keep > n)
		keep = n;
	for (i = 0; i < keep; i++)
		buf[i] = name_ok((unsigned char)network[i]) ? network[i] : '_';
	snprintf(buf + keep, size - keep, "-%08x", fnv1a(network));
	return 0;
}

static int check_nets(const struct ipnet *n, int count, int max)
{
	int i;

	if (count < 0 || count > max || (count && !n))
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (!ip_len(&n[i].ip) || n[i].prefix < 0 ||
		    n[i].prefix > ip_bits(n[i].ip.family))
			return -EINVAL;
	return 0;
}

/* Rules for one node subnet. */
static void subnet_rules(struct nft_batch *b, const char *chain,
			 const struct ipnet *subnet, const struct nft_masq *m)
{
	static const struct ipnet mcast4 = {
		.ip = { .family = AF_INET, .b = { 224 } }, .prefix = 4 };
	static const struct ipnet mcast6 = {
		.ip = { .family = AF_INET6, .b = { 0xff } }, .prefix = 8 };
	int af = subnet->ip.family, i;

	for (i = 0; i < m->nclusters; i++) {
		if (m->clusters[i].ip.family != af)
			continue;
		nft_rule_begin(b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain);
		nft_match_addr(b, 0, NFT_CMP_EQ, subnet);
		nft_match_addr(b, 1, NFT_CMP_EQ, &m->clusters[i]);
		nft_verdict(b, NFT_RETURN, NULL);
		nft_rule_end(b);
	}
	nft_rule_begin(b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain);
	nft_match_addr(b, 1, NFT_CMP_EQ, af == AF_INET ? &mcast4 : &mcast6);
	nft_verdict(b, NFT_RETURN, NULL);
	nft_rule_end(b);
	nft_rule_begin(b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain);
	nft_match_addr(b, 0, NFT_CMP_EQ, subnet);
	nft_expr_counter(b);
	nft_expr_masq(b, RANDOM_FULLY);
	nft_rule_end(b);
}

int nft_masq_build(struct nft_batch *b, const struct nft_masq *m)
{
	struct nft_hook hook = { "nat", NF_INET_POST_ROUTING,
				 NFT_MASQ_PRIO, 0 };
	char chain[NFT_MASQ_CHAIN_MAX];
	int err, i;

	err = nft_masq_chain_name(m->network, chain, sizeof(chain));
	if (!err)
		err = check_nets(m->subnets, m->nsubnets,
				 NFT_MASQ_MAX_SUBNETS);
	if (!err)
		err = check_nets(m->clusters, m->nclusters,
				 NFT_MASQ_MAX_CLUSTERS);
	if (!err && m->nsubnets == 0)
		err = -EINVAL;
	if (err)
		return err;
	nft_table_add(b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE);
	nft_chain_add(b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain, &hook);
	nft_chain_flush(b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain);
	for (i = 0; i < m->nsubnets; i++)
		subnet_rules(b, chain, &m->subnets[i], m);
	return b->err;
}

int nft_masq_setup(struct nft_sock *s, const struct nft_masq *m,
		   struct nft_err *e)
{
	char buf[BATCH_SIZE];
	struct nft_batch b;
	int err;

	nft_batch_init(&b, buf, sizeof(buf));
	err = nft_masq_build(&b, m);
	if (err) {
		if (e) {
			memset(e, 0, sizeof(*e));
			e->err = err;
			e->index = -1;
			snprintf(e->what, sizeof(e->what), "masq %s",
				 m->network ? m->network : "");
		}
		return err;
	}
	return nft_batch_send(s, &b, e);
}

struct census {
	const char *mine;
	int total;
	int found;
};

static int census_cb(const struct nft_chain_info *c, void *arg)
{
	struct census *k = arg;

	k->total++;
	if (!strcmp(c->name, k->mine))
		k->found = 1;
	return 0;
}

/* One guarded try: -ERESTART/-EBUSY/-ENOENT/-EINTR mean "raced, retry". */
static int teardown_once(struct nft_sock *s, const char *chain,
			 struct nft_err *e)
{
	struct census k = { chain, 0, 0 };
	char buf[1024];
	struct nft_batch b;
	uint32_t gen;
	int err, exists;

	err = nft_dump_genid(s, &gen);
	if (!err)
		err = nft_dump_chains(s, NFT_MASQ_FAMILY, NFT_MASQ_TABLE,
				      census_cb, &k);
	if (err)
		return err;
	exists = k.total ? 1 : nft_dump_table_exists(s, NFT_MASQ_FAMILY,
						     NFT_MASQ_TABLE);
	if (exists <= 0)
		return exists;
	nft_batch_init(&b, buf, sizeof(buf));
	nft_batch_genid(&b, gen);
	if (k.found)
		nft_chain_del(&b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain);
	if (k.total == k.found)
		nft_table_del_if_empty(&b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE);
	return nft_batch_send(s, &b, e);
}

int nft_masq_teardown(struct nft_sock *s, const char *network,
		      struct nft_err *e)
{
	char chain[NFT_MASQ_CHAIN_MAX], buf[1024];
	struct nft_batch b;
	int err, i;

	err = nft_masq_chain_name(network, chain, sizeof(chain));
	if (err)
		return err;
	for (i = 0; i < TEARDOWN_TRIES; i++) {
		err = teardown_once(s, chain, e);
		if (err != -ERESTART && err != -EBUSY && err != -ENOENT &&
		    err != -EINTR)
			return err;
	}
	/* the ruleset keeps changing: remove just our chain */
	nft_batch_init(&b, buf, sizeof(buf));
	nft_chain_del(&b, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain);
	err = nft_batch_send(s, &b, e);
	if (err != -ENOENT)
		return err;
	if (e) {
		memset(e, 0, sizeof(*e));
		e->index = -1;
	}
	return 0;
}
