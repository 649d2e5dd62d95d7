/* nftables queries over nfnetlink: ruleset generation, does a table exist,
 * and dumps of tables, chains, rules and sets (GET* with NLM_F_DUMP).
 * Callbacks get one object at a time; a non-zero return stops the calls
 * (the dump is still drained) and becomes the function's result. Every
 * attribute of a reply is type- and length-checked before it is copied. */
#ifndef VPCNET_NFT_DUMP_H
#define VPCNET_NFT_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "nft.h"

struct nft_table_info {
	int family;
	char name[NFT_NAME_MAXLEN];
	uint32_t flags;
	uint32_t use;		/* chains + sets + objects */
	uint64_t handle;
};

struct nft_chain_info {
	int family;
	char table[NFT_NAME_MAXLEN];
	char name[NFT_NAME_MAXLEN];
	uint64_t handle;
	uint32_t use;		/* references (rules jumping here) */
	int base;		/* 1: a base chain with the fields below */
	uint32_t hooknum;
	int32_t prio;
	uint32_t policy;	/* NF_ACCEPT / NF_DROP */
	char type[16];
};

struct nft_rule_info {
	int family;
	char table[NFT_NAME_MAXLEN];
	char chain[NFT_NAME_MAXLEN];
	uint64_t handle;
	int nexprs;
	char exprs[256];	/* names, space separated (may be cut) */
	const struct nlattr *expressions; /* raw nest, only in the cb */
};

struct nft_set_info {
	int family;
	char table[NFT_NAME_MAXLEN];
	char name[NFT_NAME_MAXLEN];
	uint64_t handle;
	uint32_t flags;
	uint32_t key_type;
	uint32_t key_len;
	uint32_t data_type;
	uint32_t data_len;
};

/* Callbacks for nft_dump_parse(); NULL ones skip their messages. */
struct nft_dump_cbs {
	int (*table)(const struct nft_table_info *, void *);
	int (*chain)(const struct nft_chain_info *, void *);
	int (*rule)(const struct nft_rule_info *, void *);
	int (*set)(const struct nft_set_info *, void *);
	void *arg;
};

/* Parse received replies (NEWTABLE/NEWCHAIN/NEWRULE/NEWSET messages, as a
 * dump returns them; others are skipped). 0 at NLMSG_DONE or the end,
 * -EBADMSG for a malformed message, -errno for an NLMSG_ERROR, or the
 * first non-zero callback result. No kernel needed: for tests and fuzzing. */
int nft_dump_parse(const void *buf, size_t len,
		   const struct nft_dump_cbs *cbs);

/* family NFPROTO_UNSPEC: every family. table/chain NULL: all. */
int nft_dump_genid(struct nft_sock *s, uint32_t *genid);
int nft_dump_table_exists(struct nft_sock *s, int family, const char *table);
int nft_dump_tables(struct nft_sock *s, int family,
		    int (*cb)(const struct nft_table_info *, void *),
		    void *arg);
int nft_dump_chains(struct nft_sock *s, int family, const char *table,
		    int (*cb)(const struct nft_chain_info *, void *),
		    void *arg);
int nft_dump_rules(struct nft_sock *s, int family, const char *table,
		   const char *chain,
		   int (*cb)(const struct nft_rule_info *, void *),
		   void *arg);
int nft_dump_sets(struct nft_sock *s, int family, const char *table,
		  int (*cb)(const struct nft_set_info *, void *), void *arg);

#endif
