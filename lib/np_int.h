/* Internal to np_compile.c and np_allow.c. */
#ifndef VPCNET_NP_INT_H
#define VPCNET_NP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "np.h"

struct np_buf {			/* growable bytes (malloc), sticky err */
	void *v;
	size_t n, cap;
	int err;
};

struct np_nsinfo {
	const char *name;
	const struct selector_labels *labels;
	int real;		/* from a Namespace object */
	int *pods;		/* active pods, list order */
	int npods;
};

struct np_slot {		/* intern table entry */
	const void *key;
	size_t len;
	uint64_t hash;
	int id;
};

struct np_table {		/* exact-key intern table */
	struct np_slot *slots;
	size_t nslots;		/* a power of two, > 2 x the keys */
	size_t n;
};

struct np_pep {			/* a peer pod's address */
	int pod;
	int ip;
};

struct np_peers {		/* peers as addresses, computed once */
	int all;		/* every address */
	struct np_range *r[2];	/* merged, per family */
	int nr[2];
	struct np_pep *peps;	/* the peer pods' addresses */
	int npeps;
};

struct np_rule {		/* one rule of one policy */
	int done;
	int id;			/* equal rules (peers), equal id */
	const struct np_peers *p;
};

struct np_ctx {
	struct arena *a;
	const struct kobj_list *l;
	const struct np_opts *o;
	struct np_nsinfo *ns;	/* sorted by name */
	int nns;
	unsigned char *local, *active;	/* per pod */
	int nlocal;
	int **sel;		/* [pod * 2 + dir]: selecting policies */
	int *nsel;
	struct np_table classes;	/* class keys -> class */
	struct np_table peer_ids;	/* selector peers -> peers[] */
	struct np_table rule_ids;	/* rule peers -> rules[] */
	struct np_buf peers, rules;	/* struct np_peers *, by id */
	struct np_class *cls;
	int ncls;
	int *pcls;		/* [pod * 2 + dir]: class or -1 */
	struct np_rule **cr;	/* [policy * 2 + dir][rule], lazily */
	struct np_buf any[2], box[2], rng, pep, probs;
};

void np_buf_put(struct np_buf *b, const void *p, size_t n);
int np_table_init(struct arena *a, struct np_table *t, size_t keys);
/* The id of a key equal to k[0..n), or new_id after storing a copy. */
int np_intern(struct arena *a, struct np_table *t, const void *k, size_t n,
	      int new_id);
/* The pod's named ports, sorted, appended to k. */
int np_key_named_ports(const struct kobj_pod *p, struct np_buf *k);
/* What decides a class's allowed set, exactly: its rules' interned peers
 * and ports (and, for named ingress ports, the pod's). */
int np_class_input(struct np_ctx *x, const struct np_class *c,
		   struct np_buf *k);
int np_ns_find(const struct np_ctx *x, const char *name);
int np_class_allow(struct np_ctx *x, struct np_class *c);
/* Rule r of policy p for dir, its peers computed on first use; NULL on
 * -ENOMEM. */
const struct np_rule *np_rule(struct np_ctx *x, int p, int dir, int r);
void np_ctx_free(struct np_ctx *x);

#endif
