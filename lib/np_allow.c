/* NetworkPolicy compiler, part 3: what one class may receive or send to,
 * the union of its policies' rules. See np.h and np_compile.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "np.h"
#include "np_int.h"

/* n bytes of p into the arena (never NULL for n == 0 unless OOM) */
static void *dup(struct np_ctx *x, const void *p, size_t n)
{
	void *d = arena_alloc(x->a, n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

static int fam(const struct ipaddr *ip)
{
	return ip->family == AF_INET6 ? NP_V6 : NP_V4;
}

static void add_any(struct np_ctx *x, const struct np_peers *cr)
{
	struct np_range full;
	int f;

	for (f = 0; f < 2; f++) {
		if (cr->all) {
			np_range_full(f, &full);
			np_buf_put(&x->any[f], &full, sizeof(full));
		} else {
			np_buf_put(&x->any[f], cr->r[f],
				   cr->nr[f] * sizeof(*cr->r[f]));
		}
	}
}

static void add_boxes(struct np_ctx *x, const struct np_peers *cr,
		      uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct np_box b = { .proto = proto, .plo = lo, .phi = hi };
	int f, i;

	for (f = 0; f < 2; f++) {
		if (cr->all) {
			np_range_full(f, &b.addr);
			np_buf_put(&x->box[f], &b, sizeof(b));
			continue;
		}
		for (i = 0; i < cr->nr[f]; i++) {
			b.addr = cr->r[f][i];
			np_buf_put(&x->box[f], &b, sizeof(b));
		}
	}
}

/* A named port: against the class's own pod (ingress: the destination)
 * or each peer pod (egress). */
static void add_named(struct np_ctx *x, const struct np_class *c,
		      const struct np_peers *cr, const struct kobj_np_port *q)
{
	const struct kobj_pod *p = &x->l->pods[c->rep];
	struct np_box b = { .proto = q->proto };
	int i, k;

	for (i = 0; c->dir == KOBJ_INGRESS && i < p->nports; i++)
		if (p->ports[i].name && p->ports[i].proto == q->proto &&
		    !strcmp(p->ports[i].name, q->name))
			add_boxes(x, cr, q->proto, p->ports[i].port,
				  p->ports[i].port);
	for (k = 0; c->dir == KOBJ_EGRESS && k < cr->npeps; k++) {
		p = &x->l->pods[cr->peps[k].pod];
		b.addr.lo = b.addr.hi = p->ips[cr->peps[k].ip];
		for (i = 0; i < p->nports; i++) {
			if (!p->ports[i].name ||
			    p->ports[i].proto != q->proto ||
			    strcmp(p->ports[i].name, q->name))
				continue;
			b.plo = b.phi = p->ports[i].port;
			np_buf_put(&x->box[fam(&b.addr.lo)], &b, sizeof(b));
		}
	}
}

static void add_rule(struct np_ctx *x, const struct np_class *c,
		     const struct np_peers *cr, const struct kobj_np_rule *r)
{
	const struct kobj_np_port *q;
	int i;

	if (!r->nports) {
		add_any(x, cr);
		return;
	}
	for (i = 0; i < r->nports; i++) {
		q = &r->ports[i];
		if (q->name)
			add_named(x, c, cr, q);
		else if (q->port)
			add_boxes(x, cr, q->proto, q->port, q->end);
		else
			add_boxes(x, cr, q->proto, 0, 65535);
	}
}

/* Scratch -> the class's arrays (arena), merged and made disjoint. */
static int allow_store(struct np_ctx *x, struct np_allow *al)
{
	struct np_box *nb;
	struct np_range *r, full;
	int f, n;

	for (f = 0; f < 2; f++) {
		r = x->any[f].v;
		n = np_ranges_merge(r, (int)(x->any[f].n / sizeof(*r)));
		al->any[f] = dup(x, r, n * sizeof(*r));
		al->nany[f] = n;
		np_range_full(f, &full);
		if (!al->any[f])
			return -ENOMEM;
		if (n == 1 && !np_range_cmp(&r[0], &full))
			continue;	/* every packet: boxes add nothing */
		n = np_boxes_normalize(x->box[f].v,
				       (int)(x->box[f].n / sizeof(*nb)), &nb);
		if (n < 0)
			return n;
		al->box[f] = dup(x, nb, n * sizeof(*nb));
		al->nbox[f] = n;
		free(nb);
		if (!al->box[f])
			return -ENOMEM;
	}
	return 0;
}

static void key_ports(const struct kobj_np_rule *r, struct np_buf *k,
		      int *named)
{
	const struct kobj_np_port *q;
	uint8_t zero = 0;
	int i;

	np_buf_put(k, &r->nports, sizeof(r->nports));
	for (i = 0; i < r->nports; i++) {
		q = &r->ports[i];
		np_buf_put(k, &q->proto, 1);
		np_buf_put(k, &q->port, 2);
		np_buf_put(k, &q->end, 2);
		if (q->name)
			np_buf_put(k, q->name, strlen(q->name) + 1);
		else
			np_buf_put(k, &zero, 1);
		*named |= q->name != NULL;
	}
}

int np_class_input(struct np_ctx *x, const struct np_class *c,
		   struct np_buf *k)
{
	const struct kobj_np *np;
	const struct np_rule *cr;
	int n, r, named = 0;
	uint8_t dir = (uint8_t)c->dir;

	np_buf_put(k, &dir, 1);
	for (n = 0; n < c->nnps; n++) {
		np = &x->l->nps[c->nps[n]];
		for (r = 0; r < np->nrules[c->dir]; r++) {
			cr = np_rule(x, c->nps[n], c->dir, r);
			if (!cr)
				return -ENOMEM;
			np_buf_put(k, &cr->id, sizeof(cr->id));
			key_ports(&np->rules[c->dir][r], k, &named);
		}
	}
	if (named && c->dir == KOBJ_INGRESS)
		return np_key_named_ports(&x->l->pods[c->rep], k);
	return k->err;
}

int np_class_allow(struct np_ctx *x, struct np_class *c)
{
	const struct kobj_np *np;
	const struct np_rule *cr;
	int k, r, f;

	for (f = 0; f < 2; f++)
		x->any[f].n = x->box[f].n = 0;
	for (k = 0; k < c->nnps; k++) {
		np = &x->l->nps[c->nps[k]];
		for (r = 0; r < np->nrules[c->dir]; r++) {
			cr = np_rule(x, c->nps[k], c->dir, r);
			if (!cr)
				return -ENOMEM;
			add_rule(x, c, cr->p, &np->rules[c->dir][r]);
		}
	}
	for (f = 0; f < 2; f++)
		if (x->any[f].err || x->box[f].err)
			return -ENOMEM;
	return allow_store(x, &c->allow);
}
