/* ipam internals shared by ipam.c and ipam_add.c; not part of the API. */
#ifndef VPCNET_IPAM_INT_H
#define VPCNET_IPAM_INT_H

#include <stddef.h>

#include "ipam.h"

int ipam_seterr(struct ipam *h, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ipam_notice(struct ipam *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ipam_is_space(char c);
const char *ipam_status_name(int status);
int ipam_read_small(int dirfd, const char *name, char *buf, size_t max,
		    size_t *len);

/* Calls fn for each lease file (name = canonical address); non-zero from
 * fn stops the walk and is returned. */
typedef int (*ipam_walk_fn)(struct ipam *h, const struct ipam_lease *l,
			    void *arg);
int ipam_walk(struct ipam *h, ipam_walk_fn fn, void *arg);

int ipam_lock(struct ipam *h);
void ipam_unlock(struct ipam *h);

struct ipam_iplist {
	struct ipaddr *v;
	size_t n, cap;
};

int ipam_iplist_push(struct ipam *h, struct ipam_iplist *l,
		     const struct ipaddr *a);
/* l belongs to (cid, ifname): exactly, or (legacy) by cid alone. */
int ipam_is_mine(const struct ipam_lease *l, const char *cid,
		 const char *ifname, int legacy);
int ipam_get_ids(struct ipam *h, const char *cid, const char *ifname,
		 char out[IPAM_CID_MAX]);

#endif
