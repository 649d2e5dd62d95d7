/* A compiled NetworkPolicy ruleset as one nftables batch. See np_nft.h;
 * the nft-syntax rendering of the same table is in np_render.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nft.h"
#include "nl.h"
#include "np_nft.h"

#define F NP_NFT_FAMILY
#define T NP_NFT_TABLE
#define NAME_MAX_NP 32
#define BATCH_MIN (256u << 10)
#define BATCH_MAX (1u << 30)

static const char *const sfx_any[2] = { "a4", "a6" };
static const char *const sfx_box[2] = { "p4", "p6" };

static int af_of(int fam)
{
	return fam == NP_V4 ? AF_INET : AF_INET6;
}

static int alen(int fam)
{
	return fam == NP_V4 ? 4 : 16;
}

static void class_name(const struct np_class *c, int i, char *buf)
{
	snprintf(buf, NAME_MAX_NP, "%s_%d",
		 c->dir == KOBJ_EGRESS ? "eg" : "in", i);
}

static size_t box_key(const struct ipaddr *a, uint8_t proto, uint16_t port,
		      uint8_t *k)
{
	size_t n = (size_t)ip_len(a);

	memcpy(k, a->b, n);
	memset(k + n, 0, 8);
	k[n] = proto;			/* meta l4proto, padded to 4 */
	k[n + 4] = (uint8_t)(port >> 8);	/* th dport, padded to 4 */
	k[n + 5] = (uint8_t)port;
	return n + 8;
}

static void add_set(struct nft_batch *b, const char *name, int fam, int box,
		    struct np_nft_stats *st)
{
	static const uint8_t fields[2][3] = { { 4, 1, 2 }, { 16, 1, 2 } };
	struct nft_set_spec s = { 0 };
	uint32_t at = fam == NP_V4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;

	s.name = name;
	s.flags = NFT_SET_INTERVAL;
	s.key_type = at;
	s.key_len = (uint32_t)alen(fam);
	if (box) {
		s.flags |= NFT_SET_CONCAT;
		s.key_type = nft_type_concat(nft_type_concat(at,
				NFT_TYPE_INET_PROTO), NFT_TYPE_INET_SERVICE);
		s.key_len += 8;
		s.fields = fields[fam];
		s.nfields = 3;
	}
	nft_set_add(b, F, T, &s);
	st->sets++;
}

static void class_elems(struct nft_batch *b, const struct np_allow *al,
			int fam, const char *any, const char *box,
			struct np_nft_stats *st)
{
	uint8_t k1[24], k2[24];
	const struct np_box *x;
	size_t n;
	int i;

	if (al->nany[fam]) {
		nft_elems_begin(b, 0, F, T, any);
		for (i = 0; i < al->nany[fam]; i++)
			nft_elem_range(b, al->any[fam][i].lo.b,
				       al->any[fam][i].hi.b, alen(fam));
		nft_elems_end(b);
	}
	if (al->nbox[fam]) {
		nft_elems_begin(b, 0, F, T, box);
		for (i = 0; i < al->nbox[fam]; i++) {
			x = &al->box[fam][i];
			n = box_key(&x->addr.lo, x->proto, x->plo, k1);
			box_key(&x->addr.hi, x->proto, x->phi, k2);
			nft_elem_concat_range(b, k1, k2, n);
		}
		nft_elems_end(b);
	}
	st->elems += al->nany[fam] + al->nbox[fam];
}

/* ip saddr . meta l4proto . th dport @set (daddr for egress) */
static void match_box(struct nft_batch *b, int fam, int dst, const char *set)
{
	uint32_t proto_reg = fam == NP_V4 ? NFT_REG32_01 : NFT_REG32_04;

	nft_load_addr(b, af_of(fam), dst, NFT_REG32_00);
	nft_expr_meta(b, NFT_META_L4PROTO, proto_reg);
	nft_expr_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, proto_reg + 1);
	nft_expr_lookup(b, set, 0, NFT_REG32_00, NFT_NO_DREG, 0);
}

static void class_chain(struct nft_batch *b, const struct np_ruleset *rs,
			int i, struct np_nft_stats *st)
{
	const struct np_class *c = &rs->cls[i];
	const struct np_allow *al = &c->allow;
	int dst = c->dir == KOBJ_EGRESS, fam;
	int ok = dst ? NFT_RETURN : NF_ACCEPT;
	char chain[NAME_MAX_NP], any[2][NAME_MAX_NP], box[2][NAME_MAX_NP];

	class_name(c, i, chain);
	nft_chain_add(b, F, T, chain, NULL);
	st->chains++;
	for (fam = 0; fam < 2; fam++) {
		snprintf(any[fam], NAME_MAX_NP, "%.24s_%s", chain,
			 sfx_any[fam]);
		snprintf(box[fam], NAME_MAX_NP, "%.24s_%s", chain,
			 sfx_box[fam]);
		if (al->nany[fam])
			add_set(b, any[fam], fam, 0, st);
		if (al->nbox[fam])
			add_set(b, box[fam], fam, 1, st);
		class_elems(b, al, fam, any[fam], box[fam], st);
	}
	for (fam = 0; fam < 2; fam++) {
		if (!al->nany[fam])
			continue;
		nft_rule_begin(b, F, T, chain);
		nft_match_addr_set(b, af_of(fam), dst, any[fam], 0);
		nft_verdict(b, ok, NULL);
		nft_rule_end(b);
		st->rules++;
	}
	for (fam = 0; fam < 2; fam++) {
		if (!al->nbox[fam])
			continue;
		nft_rule_begin(b, F, T, chain);
		match_box(b, fam, dst, box[fam]);
		nft_verdict(b, ok, NULL);
		nft_rule_end(b);
		st->rules++;
	}
	nft_rule_begin(b, F, T, chain);
	nft_verdict(b, NF_DROP, NULL);
	nft_rule_end(b);
	st->rules++;
}

/* targets of family fam with a class for dir (dir -1: any) */
static int count_targets(const struct np_ruleset *rs, int fam, int dir)
{
	int i, n = 0;

	for (i = 0; i < rs->ntgt; i++)
		if (rs->tgt[i].ip.family == af_of(fam) &&
		    (dir < 0 ? 1 : rs->tgt[i].cls[dir] >= 0))
			n++;
	return n;
}

static void vmap(struct nft_batch *b, const struct np_ruleset *rs, int fam,
		 int dir, const char *name, struct np_nft_stats *st)
{
	struct nft_set_spec s = { 0 };
	char chain[NAME_MAX_NP];
	const struct np_target *t;
	int i;

	s.name = name;
	s.flags = NFT_SET_MAP;
	s.key_type = fam == NP_V4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;
	s.key_len = (uint32_t)alen(fam);
	s.data_type = NFT_DATA_VERDICT;
	nft_set_add(b, F, T, &s);
	st->sets++;
	nft_elems_begin(b, 0, F, T, name);
	for (i = 0; i < rs->ntgt; i++) {
		t = &rs->tgt[i];
		if (t->ip.family != af_of(fam) || t->cls[dir] < 0)
			continue;
		class_name(&rs->cls[t->cls[dir]], t->cls[dir], chain);
		nft_elem_verdict(b, t->ip.b, alen(fam), NFT_JUMP, chain);
		st->elems++;
	}
	nft_elems_end(b);
}

static void self_set(struct nft_batch *b, const struct np_ruleset *rs,
		     int fam, const char *name, struct np_nft_stats *st)
{
	struct nft_set_spec s = { 0 };
	uint32_t at = fam == NP_V4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;
	uint8_t key[32];
	int i, n = alen(fam);

	s.name = name;
	s.key_type = nft_type_concat(at, at);
	s.key_len = (uint32_t)(2 * n);
	nft_set_add(b, F, T, &s);
	st->sets++;
	nft_elems_begin(b, 0, F, T, name);
	for (i = 0; i < rs->ntgt; i++) {
		if (rs->tgt[i].ip.family != af_of(fam))
			continue;
		memcpy(key, rs->tgt[i].ip.b, n);
		memcpy(key + n, rs->tgt[i].ip.b, n);
		nft_elem_key(b, key, 2 * n);
		st->elems++;
	}
	nft_elems_end(b);
}

static void rule_ct(struct nft_batch *b, struct np_nft_stats *st)
{
	uint8_t reply = 1;	/* IP_CT_DIR_REPLY */
	uint8_t nd_first = 133, nd_last = 137;

	nft_rule_begin(b, F, T, "forward");
	nft_match_ct_state(b, NFT_CTSTATE_RELATED);
	nft_verdict(b, NF_ACCEPT, NULL);
	nft_rule_end(b);
	nft_rule_begin(b, F, T, "forward");
	nft_expr_ct(b, NFT_CT_DIRECTION, NFT_REG_1);
	nft_expr_cmp(b, NFT_REG_1, NFT_CMP_EQ, &reply, 1);
	nft_match_ct_state(b, NFT_CTSTATE_ESTABLISHED);
	nft_verdict(b, NF_ACCEPT, NULL);
	nft_rule_end(b);
	/* IPv6 neighbour discovery (133-137): what ARP is to IPv4 */
	nft_rule_begin(b, F, T, "forward");
	nft_match_nfproto(b, NFPROTO_IPV6);
	nft_match_l4proto(b, IPPROTO_ICMPV6);
	nft_expr_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
	nft_expr_cmp(b, NFT_REG_1, NFT_CMP_GTE, &nd_first, 1);
	nft_expr_cmp(b, NFT_REG_1, NFT_CMP_LTE, &nd_last, 1);
	nft_verdict(b, NF_ACCEPT, NULL);
	nft_rule_end(b);
	st->rules += 3;
}

static void rule_vmap(struct nft_batch *b, int fam, int dst,
		      const char *map, struct np_nft_stats *st)
{
	nft_rule_begin(b, F, T, "forward");
	nft_load_addr(b, af_of(fam), dst, NFT_REG_1);
	nft_expr_lookup(b, map, 0, NFT_REG_1, NFT_REG_VERDICT, 0);
	nft_rule_end(b);
	st->rules++;
}

static void forward(struct nft_batch *b, const struct np_ruleset *rs,
		    struct np_nft_stats *st)
{
	static const char *const maps[2][2] = {
		{ "in4", "in6" }, { "eg4", "eg6" },
	};
	static const char *const self[2] = { "self4", "self6" };
	struct nft_hook h = { "filter", NF_INET_FORWARD, NP_NFT_PRIO, 0 };
	int fam, dir, has[2][2];

	for (fam = 0; fam < 2; fam++) {
		for (dir = 0; dir < 2; dir++) {
			has[dir][fam] = count_targets(rs, fam, dir) > 0;
			if (has[dir][fam])
				vmap(b, rs, fam, dir, maps[dir][fam], st);
		}
		if (has[0][fam] || has[1][fam])
			self_set(b, rs, fam, self[fam], st);
	}
	nft_chain_add(b, F, T, "forward", &h);
	st->chains++;
	rule_ct(b, st);
	for (fam = 0; fam < 2; fam++) {
		if (!has[0][fam] && !has[1][fam])
			continue;
		nft_rule_begin(b, F, T, "forward");
		nft_load_addr(b, af_of(fam), 0, NFT_REG32_00);
		nft_load_addr(b, af_of(fam), 1,
			      fam == NP_V4 ? NFT_REG32_01 : NFT_REG32_04);
		nft_expr_lookup(b, self[fam], 0, NFT_REG32_00, NFT_NO_DREG, 0);
		nft_verdict(b, NF_ACCEPT, NULL);
		nft_rule_end(b);
		st->rules++;
	}
	/* egress first: its chains return when allowed */
	for (dir = 1; dir >= 0; dir--)
		for (fam = 0; fam < 2; fam++)
			if (has[dir][fam])
				rule_vmap(b, fam, dir == KOBJ_INGRESS,
					  maps[dir][fam], st);
}

int np_nft_build(struct nft_batch *b, const struct np_ruleset *rs,
		 struct np_nft_stats *st)
{
	struct np_nft_stats local;
	int i;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	nft_table_add(b, F, T);
	nft_table_del(b, F, T);
	nft_table_add(b, F, T);
	for (i = 0; i < rs->ncls; i++)
		class_chain(b, rs, i, st);
	forward(b, rs, st);
	st->msgs = b->nmsg;
	st->bytes = b->len;
	return b->err;
}

static size_t estimate(const struct np_ruleset *rs)
{
	size_t n = 64;
	int i, f;

	n += (size_t)rs->ntgt * 3;
	for (i = 0; i < rs->ncls; i++)
		for (f = 0; f < 2; f++)
			n += 2 * rs->cls[i].allow.nany[f] +
			     rs->cls[i].allow.nbox[f] + 8;
	n *= 112;	/* bytes per element, upper bound */
	return n < BATCH_MIN ? BATCH_MIN : n;
}

int np_nft_apply(struct nft_sock *s, const struct np_ruleset *rs,
		 struct nft_err *e, struct np_nft_stats *st)
{
	struct nft_batch b;
	size_t size = estimate(rs);
	void *buf;
	int rc;

	for (;;) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		nft_batch_init(&b, buf, size);
		rc = np_nft_build(&b, rs, st);
		if (rc != -EMSGSIZE || size >= BATCH_MAX)
			break;
		free(buf);
		size *= 4;
	}
	if (rc < 0 && e) {
		memset(e, 0, sizeof(*e));
		e->err = rc;
		e->index = -1;
		snprintf(e->what, sizeof(e->what), "build table inet %s", T);
	}
	if (rc == 0)
		rc = nft_batch_send(s, &b, e);
	free(buf);
	return rc;
}

int np_nft_flush(struct nft_sock *s, struct nft_err *e)
{
	return nft_table_destroy(s, F, T, e);
}

int np_nft_bridge_setup(void)
{
	int rc;

	if (access("/proc/sys/net/bridge", F_OK) < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	rc = nl_sysctl_set("net/bridge/bridge-nf-call-iptables", "1");
	if (rc == 0)
		rc = nl_sysctl_set("net/bridge/bridge-nf-call-ip6tables", "1");
	return rc;
}
