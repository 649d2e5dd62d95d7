/* nftables sets, maps and their elements (part of nft.h). */
#include <errno.h>
#include <string.h>
#include <libmnl/libmnl.h>

#include "nft.h"
#include "nft_int.h"

#define ELEMS_SPLIT 60000	/* an attribute nest holds < 64 KiB */

static void set_desc(struct nft_batch *b, const struct nft_set_spec *s)
{
	int i;

	if (!s->fields || s->nfields <= 0)
		return;
	nft_nest_start(b, NFTA_SET_DESC);
	nft_nest_start(b, NFTA_SET_DESC_CONCAT);
	for (i = 0; i < s->nfields; i++) {
		nft_nest_start(b, NFTA_LIST_ELEM);
		nft_put_u32(b, NFTA_SET_FIELD_LEN, s->fields[i]);
		nft_nest_end(b);
	}
	nft_nest_end(b);
	nft_nest_end(b);
}

void nft_set_add(struct nft_batch *b, int family, const char *table,
		 const struct nft_set_spec *s)
{
	if (!s->key_len || s->key_len > NFT_DATA_VALUE_MAXLEN) {
		nft_fail(b, -EINVAL);
		return;
	}
	nft_msg(b, NFT_MSG_NEWSET, family, NLM_F_CREATE);
	nft_put_name(b, NFTA_SET_TABLE, table);
	nft_put_name(b, NFTA_SET_NAME, s->name);
	nft_put_u32(b, NFTA_SET_FLAGS, s->flags);
	nft_put_u32(b, NFTA_SET_KEY_TYPE, s->key_type);
	nft_put_u32(b, NFTA_SET_KEY_LEN, s->key_len);
	if (s->flags & NFT_SET_MAP) {
		nft_put_u32(b, NFTA_SET_DATA_TYPE, s->data_type);
		nft_put_u32(b, NFTA_SET_DATA_LEN,
			    s->data_type == NFT_DATA_VERDICT ?
			    sizeof(uint32_t) : s->data_len);
	}
	/* the kernel wants an id; one unique in the batch will do */
	nft_put_u32(b, NFTA_SET_ID, s->id ? s->id :
		    0x80000000u | (uint32_t)b->nmsg);
	set_desc(b, s);
	nft_msg_end(b);
}

void nft_set_del(struct nft_batch *b, int family, const char *table,
		 const char *set)
{
	nft_named(b, NFT_MSG_DELSET, family, 0, NFTA_SET_TABLE, table,
	      NFTA_SET_NAME, set);
}

void nft_set_flush(struct nft_batch *b, int family, const char *table,
		   const char *set)
{
	/* DELSETELEM without an element list flushes the set */
	nft_named(b, NFT_MSG_DELSETELEM, family, 0, NFTA_SET_ELEM_LIST_TABLE,
	      table, NFTA_SET_ELEM_LIST_SET, set);
}

static void elems_open(struct nft_batch *b)
{
	nft_msg(b, b->elem_type, b->family,
		b->elem_type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
	nft_put_name(b, NFTA_SET_ELEM_LIST_TABLE, b->table);
	nft_put_name(b, NFTA_SET_ELEM_LIST_SET, b->set);
	nft_nest_start(b, NFTA_SET_ELEM_LIST_ELEMENTS);
}

void nft_elems_begin(struct nft_batch *b, int del, int family,
		     const char *table, const char *set)
{
	b->elem_type = del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM;
	b->family = family;
	b->table = table;
	b->set = set;
	elems_open(b);
}

void nft_elems_end(struct nft_batch *b)
{
	nft_nest_end(b);
	nft_msg_end(b);
	b->table = b->set = NULL;
}

/* One element; a new message when the list nest nears 64 KiB.
 * v: verdict data for maps, or NULL. */
struct elem_verdict {
	int code;
	const char *chain;
};

static void elem_put(struct nft_batch *b, const void *key,
		     const void *key_end, size_t len, uint32_t flags,
		     const struct elem_verdict *v)
{
	const char *table = b->table, *set = b->set;

	if (b->err)
		return;
	if (!set || b->depth != 1 || !len || len > NFT_DATA_VALUE_MAXLEN) {
		nft_fail(b, -EINVAL);
		return;
	}
	if ((char *)mnl_nlmsg_get_payload_tail(b->cur) - (char *)b->nest[0] >
	    ELEMS_SPLIT) {
		nft_elems_end(b);
		b->table = table;
		b->set = set;
		elems_open(b);
	}
	nft_nest_start(b, NFTA_LIST_ELEM);
	nft_put_data(b, NFTA_SET_ELEM_KEY, key, len);
	if (key_end)
		nft_put_data(b, NFTA_SET_ELEM_KEY_END, key_end, len);
	if (flags)
		nft_put_u32(b, NFTA_SET_ELEM_FLAGS, flags);
	if (v)
		nft_put_verdict(b, NFTA_SET_ELEM_DATA, v->code, v->chain);
	nft_nest_end(b);
}

void nft_elem_key(struct nft_batch *b, const void *key, size_t len)
{
	elem_put(b, key, NULL, len, 0, NULL);
}

void nft_elem_verdict(struct nft_batch *b, const void *key, size_t len,
		      int code, const char *chain)
{
	struct elem_verdict v = { code, chain };

	elem_put(b, key, NULL, len, 0, &v);
}

/* big-endian increment; returns 1 on wrap (key was all ones) */
static int key_inc(uint8_t *k, size_t len)
{
	while (len--)
		if (++k[len])
			return 0;
	return 1;
}

static void range_put(struct nft_batch *b, const void *first,
		      const void *last, size_t len,
		      const struct elem_verdict *v)
{
	uint8_t end[NFT_DATA_VALUE_MAXLEN];

	if (!len || len > sizeof(end)) {
		nft_fail(b, -EINVAL);
		return;
	}
	if (memcmp(first, last, len) > 0) {
		nft_fail(b, -EINVAL);
		return;
	}
	memcpy(end, last, len);
	elem_put(b, first, NULL, len, 0, v);
	if (!key_inc(end, len))
		elem_put(b, end, NULL, len, NFT_SET_ELEM_INTERVAL_END, NULL);
}

void nft_elem_range(struct nft_batch *b, const void *first,
		    const void *last, size_t len)
{
	range_put(b, first, last, len, NULL);
}

void nft_elem_range_verdict(struct nft_batch *b, const void *first,
			    const void *last, size_t len, int code,
			    const char *chain)
{
	struct elem_verdict v = { code, chain };

	range_put(b, first, last, len, &v);
}

void nft_elem_concat_range(struct nft_batch *b, const void *first,
			   const void *last, size_t len)
{
	elem_put(b, first, last, len, 0, NULL);
}

void nft_elem_ipnet(struct nft_batch *b, const struct ipnet *net)
{
	struct ipaddr lo, hi;

	if (!ip_len(&net->ip) || net->prefix < 0 ||
	    net->prefix > ip_bits(net->ip.family)) {
		nft_fail(b, -EINVAL);
		return;
	}
	ipnet_network(net, &lo);
	ipnet_last(net, &hi);
	range_put(b, lo.b, hi.b, ip_len(&lo), NULL);
}
