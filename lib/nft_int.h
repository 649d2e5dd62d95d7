/* Internal to nft.c / nft_expr.c / nft_dump.c: attribute writers that
 * record the first error in the batch instead of returning it. */
#ifndef VPCNET_NFT_INT_H
#define VPCNET_NFT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "nft.h"

struct nlmsghdr *nft_msg_start(struct nft_batch *b, uint16_t type,
			       int family, uint16_t flags);
struct nlmsghdr *nft_msg(struct nft_batch *b, int msg, int family,
			 uint16_t flags);	/* an nftables message + ACK */
void nft_msg_end(struct nft_batch *b);
/* a whole message: table name, and a second name unless NULL */
void nft_named(struct nft_batch *b, int msg, int family, uint16_t flags,
	       uint16_t tattr, const char *table, uint16_t nattr,
	       const char *name);
size_t nft_room(const struct nft_batch *b);
void nft_put(struct nft_batch *b, uint16_t type, const void *data,
	     size_t len);
void nft_put_u32(struct nft_batch *b, uint16_t type, uint32_t v);
void nft_put_name(struct nft_batch *b, uint16_t type, const char *s);
void nft_put_data(struct nft_batch *b, uint16_t type, const void *data,
		  size_t len);
void nft_put_verdict(struct nft_batch *b, uint16_t type, int code,
		     const char *chain);
void nft_nest_start(struct nft_batch *b, uint16_t type);
void nft_fail(struct nft_batch *b, int err);
void nft_nest_end(struct nft_batch *b);
const char *nft_family_name(int family);
int nft_msgs_ok(const void *buf, size_t len);

#endif
