/* NetworkPolicy compiler: namespaces + pods + policies (kobj.h) -> an
 * abstract ruleset that np_nft.h programs or prints.
 *
 *	struct np_ruleset rs;
 *	struct np_opts o = { .node = "node-1" };	(NULL: all pods local)
 *	np_compile(arena, &list, &o, &rs);
 *
 * The ruleset, for the local pods some policy isolates:
 *  - targets: each address of such a pod, sorted, with its class per
 *    direction (-1: that direction is not isolated).
 *  - classes: pods whose policies (and, for ingress, named ports) are the
 *    same share a class: what it may receive (ingress) or send to
 *    (egress), as address ranges open to every protocol and port ("any")
 *    plus disjoint boxes address range x protocol x port range.
 * Semantics: networking.k8s.io/v1 (see README "NetworkPolicy"): isolation
 * per direction, union of policies, peers ORed, selectors in one peer
 * ANDed, ipBlock minus except (matching pod addresses too), named ports
 * resolved against the destination pod, endPort, host-network and
 * finished pods neither selected nor matched as peers.
 */
#ifndef VPCNET_NP_H
#define VPCNET_NP_H

#include <stdint.h>

#include "arena.h"
#include "ip.h"
#include "kobj.h"

enum { NP_V4, NP_V6 };		/* family index of per-family arrays */

struct np_range {		/* inclusive, one family */
	struct ipaddr lo, hi;
};

struct np_box {
	struct np_range addr;
	uint8_t proto;
	uint16_t plo, phi;	/* inclusive port range */
};

struct np_allow {
	struct np_range *any[2];	/* every protocol and port; merged */
	int nany[2];
	struct np_box *box[2];		/* disjoint */
	int nbox[2];
};

struct np_class {
	enum kobj_dir dir;
	struct np_allow allow;
	const int *nps;		/* policies: indices into list->nps */
	int nnps;
	int npods;		/* member pods */
	int rep;		/* one member: index into list->pods */
	int nalike;		/* classes merged in: same allowed set */
};

struct np_target {
	struct ipaddr ip;
	int pod;		/* index into list->pods */
	int cls[2];		/* [KOBJ_INGRESS], [KOBJ_EGRESS]; -1: none */
};

struct np_ruleset {
	const struct kobj_list *list;
	struct np_class *cls;
	int ncls;
	struct np_target *tgt;	/* sorted by address */
	int ntgt;
	int nlocal;		/* local pods with addresses */
	const char **problems;	/* e.g. two local pods with one address */
	int nproblems;
};

struct np_opts {
	const char *node;	/* enforce for pods on this node; NULL: all */
};

/* 0, -ENOMEM, or -EINVAL (o or l NULL). The ruleset points into l. */
int np_compile(struct arena *a, const struct kobj_list *l,
	       const struct np_opts *o, struct np_ruleset *out);

/* Ranges (np_range.c). */
int np_range_cmp(const struct np_range *x, const struct np_range *y);
void np_range_full(int fam, struct np_range *out);
void np_range_of_net(const struct ipnet *n, struct np_range *out);
/* The prefix length if r is exactly one CIDR, else -1. */
int np_range_prefix(const struct np_range *r);
/* Sort and merge overlapping or adjacent ranges in place; new count. */
int np_ranges_merge(struct np_range *r, int n);
/* [lo, hi] of base minus the merged, sorted ranges x: out needs nx + 1
 * slots; returns the count. */
int np_range_subtract(const struct np_range *base, const struct np_range *x,
		      int nx, struct np_range *out);
/* Make boxes disjoint (and merge what can be merged) with the same
 * union; *out is malloc'd (free it), count returned, or -ENOMEM. */
int np_boxes_normalize(const struct np_box *in, int n, struct np_box **out);

#endif
