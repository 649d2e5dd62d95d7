/* nftables rule expressions and the matches built from them. See nft.h. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <libmnl/libmnl.h>

#include "nft.h"
#include "nft_int.h"

/* b->deps: what the open rule already matched */
#define DEP_V4		0x1
#define DEP_V6		0x2
#define DEP_L4		0x100	/* l4proto in bits 16..23 */

static int in_rule(struct nft_batch *b)
{
	if (b->err)
		return 0;
	if (!b->cur || b->depth != 1 ||
	    (b->cur->nlmsg_type & 0xff) != NFT_MSG_NEWRULE) {
		nft_fail(b, -EINVAL);
		return 0;
	}
	return 1;
}

static int expr_begin(struct nft_batch *b, const char *name)
{
	if (!in_rule(b))
		return 0;
	nft_nest_start(b, NFTA_LIST_ELEM);
	nft_put(b, NFTA_EXPR_NAME, name, strlen(name) + 1);
	nft_nest_start(b, NFTA_EXPR_DATA);
	return !b->err;
}

static void expr_end(struct nft_batch *b)
{
	nft_nest_end(b);
	nft_nest_end(b);
}

void nft_expr_meta(struct nft_batch *b, uint32_t key, uint32_t dreg)
{
	if (!expr_begin(b, "meta"))
		return;
	nft_put_u32(b, NFTA_META_DREG, dreg);
	nft_put_u32(b, NFTA_META_KEY, key);
	expr_end(b);
}

void nft_expr_payload(struct nft_batch *b, uint32_t base, uint32_t offset,
		      uint32_t len, uint32_t dreg)
{
	if (!expr_begin(b, "payload"))
		return;
	nft_put_u32(b, NFTA_PAYLOAD_DREG, dreg);
	nft_put_u32(b, NFTA_PAYLOAD_BASE, base);
	nft_put_u32(b, NFTA_PAYLOAD_OFFSET, offset);
	nft_put_u32(b, NFTA_PAYLOAD_LEN, len);
	expr_end(b);
}

void nft_expr_cmp(struct nft_batch *b, uint32_t sreg, uint32_t op,
		  const void *data, size_t len)
{
	if (!expr_begin(b, "cmp"))
		return;
	nft_put_u32(b, NFTA_CMP_SREG, sreg);
	nft_put_u32(b, NFTA_CMP_OP, op);
	nft_put_data(b, NFTA_CMP_DATA, data, len);
	expr_end(b);
}

void nft_expr_bitwise(struct nft_batch *b, uint32_t sreg, uint32_t dreg,
		      const void *mask, const void *xor, size_t len)
{
	static const uint8_t zero[NFT_DATA_VALUE_MAXLEN];

	if (len > sizeof(zero)) {
		nft_fail(b, -EINVAL);
		return;
	}
	if (!expr_begin(b, "bitwise"))
		return;
	nft_put_u32(b, NFTA_BITWISE_SREG, sreg);
	nft_put_u32(b, NFTA_BITWISE_DREG, dreg);
	nft_put_u32(b, NFTA_BITWISE_LEN, (uint32_t)len);
	nft_put_data(b, NFTA_BITWISE_MASK, mask, len);
	nft_put_data(b, NFTA_BITWISE_XOR, xor ? xor : zero, len);
	expr_end(b);
}

void nft_expr_lookup(struct nft_batch *b, const char *set, uint32_t set_id,
		     uint32_t sreg, uint32_t dreg, uint32_t flags)
{
	if (!expr_begin(b, "lookup"))
		return;
	nft_put_name(b, NFTA_LOOKUP_SET, set);
	nft_put_u32(b, NFTA_LOOKUP_SREG, sreg);
	if (dreg != NFT_NO_DREG)
		nft_put_u32(b, NFTA_LOOKUP_DREG, dreg);
	if (set_id)
		nft_put_u32(b, NFTA_LOOKUP_SET_ID, set_id);
	if (flags)
		nft_put_u32(b, NFTA_LOOKUP_FLAGS, flags);
	expr_end(b);
}

void nft_expr_ct(struct nft_batch *b, uint32_t key, uint32_t dreg)
{
	if (!expr_begin(b, "ct"))
		return;
	nft_put_u32(b, NFTA_CT_DREG, dreg);
	nft_put_u32(b, NFTA_CT_KEY, key);
	expr_end(b);
}

void nft_expr_masq(struct nft_batch *b, uint32_t flags)
{
	if (!expr_begin(b, "masq"))
		return;
	if (flags)
		nft_put_u32(b, NFTA_MASQ_FLAGS, flags);
	expr_end(b);
}

void nft_expr_counter(struct nft_batch *b)
{
	if (!expr_begin(b, "counter"))
		return;
	expr_end(b);
}

void nft_verdict(struct nft_batch *b, int code, const char *chain)
{
	if (!expr_begin(b, "immediate"))
		return;
	nft_put_u32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	nft_put_verdict(b, NFTA_IMMEDIATE_DATA, code, chain);
	expr_end(b);
}

/* --- matches ------------------------------------------------------------ */

static void cmp_reg1(struct nft_batch *b, uint32_t op, const void *data,
		     size_t len)
{
	nft_expr_cmp(b, NFT_REG_1, op, data, len);
}

static void nfproto_in(struct nft_batch *b, uint8_t nfproto, uint32_t reg)
{
	nft_expr_meta(b, NFT_META_NFPROTO, reg);
	nft_expr_cmp(b, reg, NFT_CMP_EQ, &nfproto, 1);
	b->deps |= nfproto == NFPROTO_IPV4 ? DEP_V4 :
		   nfproto == NFPROTO_IPV6 ? DEP_V6 : 0;
}

void nft_match_nfproto(struct nft_batch *b, uint8_t nfproto)
{
	nfproto_in(b, nfproto, NFT_REG_1);
}

/* `ip ...` in an inet/bridge/netdev table needs the protocol checked.
 * Dependencies use the register the field goes to next: registers below
 * it may hold earlier fields of a concatenation. */
static void need_af(struct nft_batch *b, int af, uint32_t reg)
{
	int dep = af == AF_INET ? DEP_V4 : DEP_V6;
	uint16_t eth = htons(af == AF_INET ? ETHERTYPE_IP : ETHERTYPE_IPV6);

	if (af != AF_INET && af != AF_INET6) {
		nft_fail(b, -EINVAL);
		return;
	}
	if (b->deps & dep)
		return;
	switch (b->family) {
	case NFPROTO_IPV4:
	case NFPROTO_IPV6:
		if ((b->family == NFPROTO_IPV4) != (af == AF_INET))
			nft_fail(b, -EINVAL);
		break;
	case NFPROTO_INET:
		nfproto_in(b, af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6,
			   reg);
		break;
	default:	/* bridge, netdev: the ethertype */
		nft_expr_meta(b, NFT_META_PROTOCOL, reg);
		nft_expr_cmp(b, reg, NFT_CMP_EQ, &eth, sizeof(eth));
		break;
	}
	b->deps |= dep;
}

static void l4proto_in(struct nft_batch *b, uint8_t proto, uint32_t reg)
{
	nft_expr_meta(b, NFT_META_L4PROTO, reg);
	nft_expr_cmp(b, reg, NFT_CMP_EQ, &proto, 1);
	b->deps = (b->deps & 0xffff) | DEP_L4 | proto << 16;
}

void nft_match_l4proto(struct nft_batch *b, uint8_t proto)
{
	l4proto_in(b, proto, NFT_REG_1);
}

static void need_l4(struct nft_batch *b, uint8_t proto, uint32_t reg)
{
	if (!(b->deps & DEP_L4))
		l4proto_in(b, proto, reg);
	else if ((b->deps >> 16 & 0xff) != proto)
		nft_fail(b, -EINVAL);	/* tcp dport after udp dport */
}

void nft_match_ifname(struct nft_batch *b, int oif, uint32_t op,
		      const char *ifname)
{
	char name[IFNAMSIZ] = { 0 };

	if (!ifname || !ifname[0] || strlen(ifname) >= sizeof(name)) {
		nft_fail(b, -EINVAL);
		return;
	}
	strcpy(name, ifname);
	nft_expr_meta(b, oif ? NFT_META_OIFNAME : NFT_META_IIFNAME,
		      NFT_REG_1);
	cmp_reg1(b, op, name, sizeof(name));
}

void nft_match_mark(struct nft_batch *b, uint32_t op, uint32_t value,
		    uint32_t mask)
{
	nft_expr_meta(b, NFT_META_MARK, NFT_REG_1);
	if (mask != UINT32_MAX)
		nft_expr_bitwise(b, NFT_REG_1, NFT_REG_1, &mask, NULL,
				 sizeof(mask));
	cmp_reg1(b, op, &value, sizeof(value));	/* host byte order */
}

void nft_load_addr(struct nft_batch *b, int af, int dst, uint32_t dreg)
{
	uint32_t off, len;

	need_af(b, af, dreg);
	if (af == AF_INET) {
		off = dst ? 16 : 12;
		len = 4;
	} else {
		off = dst ? 24 : 8;
		len = 16;
	}
	nft_expr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, off, len, dreg);
}

void nft_match_addr(struct nft_batch *b, int dst, uint32_t op,
		    const struct ipnet *net)
{
	struct ipaddr a, mask;
	int len = ip_len(&net->ip), bits = ip_bits(net->ip.family), i;

	if (!len || net->prefix < 0 || net->prefix > bits) {
		nft_fail(b, -EINVAL);
		return;
	}
	nft_load_addr(b, net->ip.family, dst, NFT_REG_1);
	ipnet_network(net, &a);
	if (net->prefix < bits) {
		memset(&mask, 0, sizeof(mask));
		for (i = 0; i < net->prefix; i++)
			mask.b[i / 8] |= 0x80 >> (i % 8);
		nft_expr_bitwise(b, NFT_REG_1, NFT_REG_1, mask.b, NULL, len);
	}
	cmp_reg1(b, op, a.b, len);
}

void nft_match_addr_set(struct nft_batch *b, int af, int dst,
			const char *set, int invert)
{
	nft_load_addr(b, af, dst, NFT_REG_1);
	nft_expr_lookup(b, set, 0, NFT_REG_1, NFT_NO_DREG,
			invert ? NFT_LOOKUP_F_INV : 0);
}

void nft_load_port(struct nft_batch *b, uint8_t proto, int dst,
		   uint32_t dreg)
{
	need_l4(b, proto, dreg);
	nft_expr_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, dst ? 2 : 0, 2,
			 dreg);
}

void nft_match_port(struct nft_batch *b, uint8_t proto, int dst,
		    uint32_t op, uint16_t port)
{
	uint16_t p = htons(port);

	nft_load_port(b, proto, dst, NFT_REG_1);
	cmp_reg1(b, op, &p, sizeof(p));
}

void nft_match_port_range(struct nft_batch *b, uint8_t proto, int dst,
			  uint16_t first, uint16_t last)
{
	uint16_t lo = htons(first), hi = htons(last);

	nft_load_port(b, proto, dst, NFT_REG_1);
	cmp_reg1(b, NFT_CMP_GTE, &lo, sizeof(lo));
	cmp_reg1(b, NFT_CMP_LTE, &hi, sizeof(hi));
}

void nft_match_ct_state(struct nft_batch *b, uint32_t states)
{
	uint32_t zero = 0;

	nft_expr_ct(b, NFT_CT_STATE, NFT_REG_1);
	nft_expr_bitwise(b, NFT_REG_1, NFT_REG_1, &states, NULL,
			 sizeof(states));	/* host byte order */
	cmp_reg1(b, NFT_CMP_NEQ, &zero, sizeof(zero));
}
