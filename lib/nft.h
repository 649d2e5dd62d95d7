/* nftables over nfnetlink: one atomic batch of tables, chains, rules, sets.
 *
 *	char buf[16384];
 *	struct nft_batch b;
 *	struct nft_err e;
 *	struct nft_hook h = { "filter", NF_INET_FORWARD, 0, 0 };
 *
 *	nft_batch_init(&b, buf, sizeof(buf));
 *	nft_table_add(&b, NFPROTO_INET, "t");
 *	nft_chain_add(&b, NFPROTO_INET, "t", "fw", &h);
 *	nft_rule_begin(&b, NFPROTO_INET, "t", "fw");
 *	nft_match_ct_state(&b, NFT_CTSTATE_ESTABLISHED | NFT_CTSTATE_RELATED);
 *	nft_verdict(&b, NF_ACCEPT, NULL);
 *	nft_rule_end(&b);
 *	err = nft_batch_send(&sock, &b, &e);
 *
 * Builders return nothing: the first error (-EMSGSIZE when the buffer is
 * full, -EINVAL or -ENAMETOOLONG for bad arguments) sticks in the batch and
 * nft_batch_send() returns it without sending. Every message asks for an
 * ACK; the kernel applies the whole batch or nothing.
 */
#ifndef VPCNET_NFT_H
#define VPCNET_NFT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netfilter/nf_tables.h>

#include "ip.h"

/* <linux/netfilter.h> clashes with <netinet/in.h> under musl; the few
 * things we need from it (same names and values). Do not include it
 * after this header. */
#ifndef __LINUX_NETFILTER_H
#define NF_DROP 0
#define NF_ACCEPT 1
enum nf_inet_hooks {
	NF_INET_PRE_ROUTING,
	NF_INET_LOCAL_IN,
	NF_INET_FORWARD,
	NF_INET_LOCAL_OUT,
	NF_INET_POST_ROUTING,
	NF_INET_NUMHOOKS,
	NF_INET_INGRESS = NF_INET_NUMHOOKS,
};
enum {
	NFPROTO_UNSPEC = 0,
	NFPROTO_INET = 1,
	NFPROTO_IPV4 = 2,
	NFPROTO_ARP = 3,
	NFPROTO_NETDEV = 5,
	NFPROTO_BRIDGE = 7,
	NFPROTO_IPV6 = 10,
};
#endif

struct mnl_socket;
struct nlattr;

#define NFT_BATCH_NEST_MAX 6
#define NFT_ERR_MSGLEN 192

struct nft_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

/* Where and why a batch failed. */
struct nft_err {
	int err;		/* 0, or -errno of the first failure */
	int index;		/* failing message, 0 = first after BEGIN;
				 * -1 = the batch as a whole */
	uint16_t type;		/* its NFT_MSG_* (low byte), or 0 */
	char what[96];		/* "NEWRULE inet t/c", or "" */
	char msg[NFT_ERR_MSGLEN]; /* kernel extack text, or "" */
};

struct nft_batch {
	char *buf;
	size_t size;		/* bytes usable for messages (END kept back) */
	size_t len;		/* bytes of finished messages */
	int nmsg;		/* messages after BEGIN */
	int err;		/* sticky -errno */
	struct nlmsghdr *cur;	/* message being built, at buf + len */
	struct nlattr *nest[NFT_BATCH_NEST_MAX];
	int depth;
	int family;		/* of the open rule / element list */
	int deps;		/* dependencies already matched in a rule */
	const char *table;	/* open element list, for splitting */
	const char *set;
	uint16_t elem_type;
};

/* Socket: NETLINK_NETFILTER with NETLINK_CAP_ACK and NETLINK_EXT_ACK. */
int nft_open(struct nft_sock *s);
void nft_close(struct nft_sock *s);

/* Batch. size: at least 256; GENID (optional) right after init makes the
 * kernel refuse the batch with -ERESTART if the ruleset changed since. */
void nft_batch_init(struct nft_batch *b, void *buf, size_t size);
void nft_batch_genid(struct nft_batch *b, uint32_t genid);
int nft_batch_send(struct nft_sock *s, struct nft_batch *b,
		   struct nft_err *e);
/* "NEWRULE inet t/c: No such file or directory (extack text)" */
const char *nft_err_fmt(const struct nft_err *e, char *buf, size_t size);

/* Tables. add = create if missing (no NLM_F_EXCL), so idempotent.
 * del fails the batch with -ENOENT when missing; del_if_empty sets
 * NLM_F_NONREC (-EBUSY if it still has chains/sets; kernel >= 5.x). */
void nft_table_add(struct nft_batch *b, int family, const char *table);
void nft_table_del(struct nft_batch *b, int family, const char *table);
void nft_table_del_if_empty(struct nft_batch *b, int family,
			    const char *table);
void nft_table_flush(struct nft_batch *b, int family, const char *table);
/* Delete a table and all in it, if it exists: one batch {add, del}. */
int nft_table_destroy(struct nft_sock *s, int family, const char *table,
		      struct nft_err *e);

/* Chains. hook NULL: a regular chain. add is idempotent when the hook
 * matches an existing chain's. */
struct nft_hook {
	const char *type;	/* "filter", "nat", "route" */
	int hooknum;		/* NF_INET_PRE_ROUTING ... */
	int prio;		/* e.g. 100 = srcnat, 0 = filter */
	int drop;		/* policy drop instead of accept */
};

void nft_chain_add(struct nft_batch *b, int family, const char *table,
		   const char *chain, const struct nft_hook *hook);
void nft_chain_flush(struct nft_batch *b, int family, const char *table,
		     const char *chain);
void nft_chain_del(struct nft_batch *b, int family, const char *table,
		   const char *chain);

/* Rules: begin, expressions, end. Appended at the chain's end. */
void nft_rule_begin(struct nft_batch *b, int family, const char *table,
		    const char *chain);
void nft_rule_end(struct nft_batch *b);
void nft_rule_del(struct nft_batch *b, int family, const char *table,
		  const char *chain, uint64_t handle);

/* Raw expressions (inside a rule). Registers: NFT_REG_VERDICT (0),
 * NFT_REG_1..4 (16 bytes), NFT_REG32_00.. (4 bytes, REG32_00 = REG_1).
 * Concatenations: load each field into consecutive 32-bit registers
 * from NFT_REG32_00 (each field padded to 4 bytes), lookup with sreg
 * NFT_REG32_00. NFT_NO_DREG: a lookup with no destination (a set). */
#define NFT_NO_DREG UINT32_MAX
void nft_expr_meta(struct nft_batch *b, uint32_t key, uint32_t dreg);
void nft_expr_payload(struct nft_batch *b, uint32_t base, uint32_t offset,
		      uint32_t len, uint32_t dreg);
void nft_expr_cmp(struct nft_batch *b, uint32_t sreg, uint32_t op,
		  const void *data, size_t len);
void nft_expr_bitwise(struct nft_batch *b, uint32_t sreg, uint32_t dreg,
		      const void *mask, const void *xor, size_t len);
void nft_expr_lookup(struct nft_batch *b, const char *set, uint32_t set_id,
		     uint32_t sreg, uint32_t dreg, uint32_t flags);
void nft_expr_ct(struct nft_batch *b, uint32_t key, uint32_t dreg);
void nft_expr_masq(struct nft_batch *b, uint32_t flags);
void nft_expr_counter(struct nft_batch *b);

/* Matches (inside a rule), each a load into NFT_REG_1 then a cmp/lookup.
 * In inet tables the address and port matches add `meta nfproto` /
 * `meta l4proto` once per rule, as nft does. dst: 0 saddr/sport,
 * 1 daddr/dport. op: NFT_CMP_EQ, NFT_CMP_NEQ, NFT_CMP_LT ... */
void nft_match_nfproto(struct nft_batch *b, uint8_t nfproto);
void nft_match_l4proto(struct nft_batch *b, uint8_t proto);
void nft_match_ifname(struct nft_batch *b, int oif, uint32_t op,
		      const char *ifname);
void nft_match_mark(struct nft_batch *b, uint32_t op, uint32_t value,
		    uint32_t mask);
void nft_match_addr(struct nft_batch *b, int dst, uint32_t op,
		    const struct ipnet *net);
void nft_match_addr_set(struct nft_batch *b, int af, int dst,
			const char *set, int invert);
void nft_match_port(struct nft_batch *b, uint8_t proto, int dst,
		    uint32_t op, uint16_t port);
void nft_match_port_range(struct nft_batch *b, uint8_t proto, int dst,
			  uint16_t first, uint16_t last);
void nft_match_ct_state(struct nft_batch *b, uint32_t states);
/* Load an address (af AF_INET/AF_INET6) or port into a register, for
 * concatenations and vmaps; adds the nfproto / l4proto dependency. */
void nft_load_addr(struct nft_batch *b, int af, int dst, uint32_t dreg);
void nft_load_port(struct nft_batch *b, uint8_t proto, int dst,
		   uint32_t dreg);

/* ct state bits (NF_CT_STATE_BIT). */
#define NFT_CTSTATE_INVALID	0x01
#define NFT_CTSTATE_ESTABLISHED	0x02
#define NFT_CTSTATE_RELATED	0x04
#define NFT_CTSTATE_NEW		0x08
#define NFT_CTSTATE_UNTRACKED	0x40

/* Verdict (immediate): NF_ACCEPT, NF_DROP, NFT_RETURN, NFT_CONTINUE;
 * NFT_JUMP / NFT_GOTO with a chain. */
void nft_verdict(struct nft_batch *b, int code, const char *chain);

/* Sets and maps. key_type/data_type: nft datatype ids (only `nft list`
 * reads them); concatenated types: nft_type_concat(). data_type
 * NFT_DATA_VERDICT with NFT_SET_MAP makes a verdict map. */
#define NFT_TYPE_VERDICT	1
#define NFT_TYPE_MARK		19
#define NFT_TYPE_IPADDR		7
#define NFT_TYPE_IP6ADDR	8
#define NFT_TYPE_INET_PROTO	12
#define NFT_TYPE_INET_SERVICE	13
#define NFT_TYPE_IFNAME		41

static inline uint32_t nft_type_concat(uint32_t a, uint32_t b)
{
	return a << 6 | b;
}

struct nft_set_spec {
	const char *name;
	uint32_t id;		/* in-batch id (NFTA_SET_ID), 0 = none */
	uint32_t flags;		/* NFT_SET_INTERVAL|CONSTANT|MAP|CONCAT */
	uint32_t key_type;
	uint32_t key_len;	/* bytes; concat: fields padded to 4 */
	uint32_t data_type;	/* maps */
	uint32_t data_len;	/* data maps (not verdict maps) */
	const uint8_t *fields;	/* concat field lengths in bytes, or NULL */
	int nfields;
};

void nft_set_add(struct nft_batch *b, int family, const char *table,
		 const struct nft_set_spec *s);
void nft_set_del(struct nft_batch *b, int family, const char *table,
		 const char *set);
void nft_set_flush(struct nft_batch *b, int family, const char *table,
		   const char *set);

/* Elements: begin (del 0 = add, 1 = delete), elements, end. table and
 * set must stay valid until end (long lists are split into several
 * messages). Adding an element that exists is not an error.
 * Ranges are inclusive [first, last], for interval sets only: they become
 * nft's pair, first and last+1 flagged NFT_SET_ELEM_INTERVAL_END (left
 * out when last is all ones); the kernel rejects overlapping ranges, so
 * merge them first. nft_elem_ipnet: the prefix as such a range.
 * concat_range: one element with KEY_END (interval concat sets, pipapo).
 * Keys in network byte order, concat fields padded to 4 bytes.
 * chain: for NFT_JUMP / NFT_GOTO, else NULL. */
void nft_elems_begin(struct nft_batch *b, int del, int family,
		     const char *table, const char *set);
void nft_elems_end(struct nft_batch *b);
void nft_elem_key(struct nft_batch *b, const void *key, size_t len);
void nft_elem_verdict(struct nft_batch *b, const void *key, size_t len,
		      int code, const char *chain);
void nft_elem_range(struct nft_batch *b, const void *first,
		    const void *last, size_t len);
void nft_elem_range_verdict(struct nft_batch *b, const void *first,
			    const void *last, size_t len, int code,
			    const char *chain);
void nft_elem_concat_range(struct nft_batch *b, const void *first,
			   const void *last, size_t len);
void nft_elem_ipnet(struct nft_batch *b, const struct ipnet *net);

#endif
