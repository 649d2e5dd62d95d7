/* NetworkPolicy compiler, part 2: who a rule's peers are, as merged
 * address ranges (and, for egress named ports, the peer pods). A peer
 * (selectors + the policy's namespace) is computed once however many
 * policies repeat it, a rule's peers once per distinct rule, and equal
 * rules share an id, so classes with equal inputs can merge exactly.
 * Also the small containers the compiler uses. See np_int.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "np.h"
#include "np_int.h"

void np_buf_put(struct np_buf *b, const void *p, size_t n)
{
	size_t cap;
	void *v;

	if (b->err)
		return;
	if (b->n + n > b->cap) {
		for (cap = b->cap ? b->cap * 2 : 1024; cap < b->n + n;)
			cap *= 2;
		v = realloc(b->v, cap);
		if (!v) {
			b->err = -ENOMEM;
			return;
		}
		b->v = v;
		b->cap = cap;
	}
	if (n)
		memcpy((char *)b->v + b->n, p, n);
	b->n += n;
}

static uint64_t fnv64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull;

	while (n--) {
		h ^= *s++;
		h *= 1099511628211ull;
	}
	return h;
}

int np_table_init(struct arena *a, struct np_table *t, size_t keys)
{
	for (t->nslots = 16; t->nslots < 2 * keys + 2;)
		t->nslots *= 2;
	t->slots = arena_alloc(a, t->nslots * sizeof(*t->slots));
	t->n = 0;
	return t->slots ? 0 : -ENOMEM;
}

/* Double the table (the old slots stay in the arena). */
static int table_grow(struct arena *a, struct np_table *t)
{
	struct np_slot *old = t->slots;
	size_t n = t->nslots, i, j;

	t->slots = arena_alloc(a, 2 * n * sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->nslots = 2 * n;
	for (i = 0; i < n; i++) {
		if (!old[i].key)
			continue;
		for (j = old[i].hash & (t->nslots - 1); t->slots[j].key;
		     j = (j + 1) & (t->nslots - 1))
			;
		t->slots[j] = old[i];
	}
	return 0;
}

int np_intern(struct arena *a, struct np_table *t, const void *k, size_t n,
	      int new_id)
{
	uint64_t h = fnv64(k, n);
	struct np_slot *s;
	size_t i;

	if (!t->slots && np_table_init(a, t, 64) < 0)
		return -ENOMEM;
	if (2 * (t->n + 1) > t->nslots && table_grow(a, t) < 0)
		return -ENOMEM;
	for (i = h & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
		s = &t->slots[i];
		if (!s->key)
			break;
		if (s->hash == h && s->len == n && !memcmp(s->key, k, n))
			return s->id;
	}
	s->key = arena_alloc(a, n ? n : 1);
	if (!s->key)
		return -ENOMEM;
	memcpy((void *)s->key, k, n);
	s->hash = h;
	s->len = n;
	s->id = new_id;
	t->n++;
	return new_id;
}

static int cport_cmp(const void *a, const void *b)
{
	const struct kobj_port *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	return x->port - y->port;
}

int np_key_named_ports(const struct kobj_pod *p, struct np_buf *k)
{
	struct kobj_port *ports;
	int i, m = 0;

	if (!p->nports)
		return k->err;
	ports = malloc(p->nports * sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	for (i = 0; i < p->nports; i++)
		if (p->ports[i].name)
			ports[m++] = p->ports[i];
	qsort(ports, m, sizeof(*ports), cport_cmp);
	for (i = 0; i < m; i++) {
		np_buf_put(k, ports[i].name, strlen(ports[i].name) + 1);
		np_buf_put(k, &ports[i].proto, 1);
		np_buf_put(k, &ports[i].port, 2);
	}
	free(ports);
	return k->err;
}

void np_ctx_free(struct np_ctx *x)
{
	int i;

	for (i = 0; i < 2; i++) {
		free(x->any[i].v);
		free(x->box[i].v);
	}
	free(x->rng.v);
	free(x->pep.v);
	free(x->probs.v);
	free(x->peers.v);
	free(x->rules.v);
}

/* --- peers -------------------------------------------------------------- */

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

static void push_pod(struct np_ctx *x, int pod, int peps)
{
	const struct kobj_pod *p = &x->l->pods[pod];
	struct np_range r;
	struct np_pep e;
	int i;

	for (i = 0; i < p->nips; i++) {
		r.lo = r.hi = p->ips[i];
		np_buf_put(&x->rng, &r, sizeof(r));
		e.pod = pod;
		e.ip = i;
		if (peps)
			np_buf_put(&x->pep, &e, sizeof(e));
	}
}

static void push_ns_pods(struct np_ctx *x, int k, const struct selector *s)
{
	const struct np_nsinfo *ns = &x->ns[k];
	int i;

	for (i = 0; i < ns->npods; i++)
		if (!s || selector_match(s, &x->l->pods[ns->pods[i]].labels))
			push_pod(x, ns->pods[i], 1);
}

/* x->rng and x->pep (merged ranges) -> a stored result */
static struct np_peers *store(struct np_ctx *x, int all)
{
	struct np_range *r = x->rng.v;
	struct np_peers *p = arena_alloc(x->a, sizeof(*p));
	int n = np_ranges_merge(r, (int)(x->rng.n / sizeof(*r))), i, f;

	if (!p || x->rng.err || x->pep.err)
		return NULL;
	p->all = all;
	for (i = 0; i < n; i++)
		p->nr[fam(&r[i].lo)]++;
	for (f = 0; f < 2; f++) {
		p->r[f] = dup(x, f ? r + p->nr[0] : r, p->nr[f] * sizeof(*r));
		if (!p->r[f])
			return NULL;
	}
	p->npeps = (int)(x->pep.n / sizeof(struct np_pep));
	p->peps = dup(x, x->pep.v, x->pep.n);
	return p->peps ? p : NULL;
}

static void key_selector(struct np_buf *k, const struct selector *s)
{
	uint8_t tag = s ? 1 : 0, op;
	int i, j;

	np_buf_put(k, &tag, 1);
	for (i = 0; s && i < s->nreqs; i++) {
		op = (uint8_t)(s->reqs[i].op + 1);
		np_buf_put(k, &op, 1);
		np_buf_put(k, s->reqs[i].key, strlen(s->reqs[i].key) + 1);
		np_buf_put(k, &s->reqs[i].nvalues, sizeof(int));
		for (j = 0; j < s->reqs[i].nvalues; j++)
			np_buf_put(k, s->reqs[i].values[j],
				   strlen(s->reqs[i].values[j]) + 1);
	}
	tag = 0xff;
	np_buf_put(k, &tag, 1);
}

/* The pods a selector peer of a policy in namespace ns matches: its id. */
static int selector_peer(struct np_ctx *x, const char *ns,
			 const struct kobj_peer *peer)
{
	struct np_buf k = { 0 };
	struct np_peers *p;
	int id, n = (int)(x->peers.n / sizeof(p)), i;

	np_buf_put(&k, peer->nss ? "" : ns, peer->nss ? 1 : strlen(ns) + 1);
	key_selector(&k, peer->nss);
	key_selector(&k, peer->pods);
	id = k.err ? k.err : np_intern(x->a, &x->peer_ids, k.v, k.n, n);
	free(k.v);
	if (id < 0 || id < n)
		return id;
	x->rng.n = x->pep.n = 0;
	if (!peer->nss)
		push_ns_pods(x, np_ns_find(x, ns), peer->pods);
	for (i = 0; peer->nss && i < x->nns; i++)
		if (selector_match(peer->nss, x->ns[i].labels))
			push_ns_pods(x, i, peer->pods);
	p = store(x, 0);
	np_buf_put(&x->peers, &p, sizeof(p));
	return p && !x->peers.err ? id : -ENOMEM;
}

static const struct np_peers *peers_of(const struct np_ctx *x, int id)
{
	return ((struct np_peers *const *)x->peers.v)[id];
}

/* cidr minus except, into x->rng */
static int push_block(struct np_ctx *x, const struct kobj_ipblock *b)
{
	struct np_range base, *ex, *out;
	int i, n, nex = b->nexcept;

	ex = malloc((2 * nex + 2) * sizeof(*ex));
	if (!ex)
		return -ENOMEM;
	out = ex + nex;
	for (i = 0; i < nex; i++)
		np_range_of_net(&b->except[i], &ex[i]);
	nex = np_ranges_merge(ex, nex);
	np_range_of_net(&b->cidr, &base);
	n = np_range_subtract(&base, ex, nex, out);
	np_buf_put(&x->rng, out, n * sizeof(*out));
	free(ex);
	return 0;
}

static int in_ranges(const struct np_range *r, int n, const struct ipaddr *a)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (ip_cmp(a, &r[mid].lo) < 0)
			hi = mid - 1;
		else if (ip_cmp(a, &r[mid].hi) > 0)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* The ipBlocks of a rule (ranges in x->rng) and, for named ports, the
 * pods (active, any node) with an address in them. */
static int push_blocks(struct np_ctx *x, const struct kobj_np_rule *rule,
		       int peps)
{
	struct np_range *r;
	struct np_pep e;
	int i, n, pod, rc = 0;

	x->rng.n = 0;
	for (i = 0; i < rule->npeers && !rc; i++)
		if (rule->peers[i].block)
			rc = push_block(x, rule->peers[i].block);
	if (rc < 0 || x->rng.err)
		return -ENOMEM;
	r = x->rng.v;
	n = np_ranges_merge(r, (int)(x->rng.n / sizeof(*r)));
	x->rng.n = n * sizeof(*r);
	for (pod = 0; peps && n && pod < x->l->npods; pod++) {
		if (!x->active[pod])
			continue;
		for (i = 0; i < x->l->pods[pod].nips; i++) {
			e.pod = pod;
			e.ip = i;
			if (in_ranges(r, n, &x->l->pods[pod].ips[i]))
				np_buf_put(&x->pep, &e, sizeof(e));
		}
	}
	return x->pep.err;
}

/* --- rules --------------------------------------------------------------- */

static int rule_named(const struct kobj_np_rule *r)
{
	int q;

	for (q = 0; q < r->nports; q++)
		if (r->ports[q].name)
			return 1;
	return 0;
}

static void key_block(struct np_buf *k, const struct kobj_ipblock *b)
{
	np_buf_put(k, &b->cidr, sizeof(b->cidr));
	np_buf_put(k, &b->nexcept, sizeof(b->nexcept));
	np_buf_put(k, b->except, b->nexcept * sizeof(*b->except));
}

/* A rule's key: whether pods are wanted, its peers (selector peers by
 * id, ipBlocks by value). Fills ids[] with the selector peers' ids. */
static int rule_key(struct np_ctx *x, const struct kobj_np *np,
		    const struct kobj_np_rule *rule, int peps,
		    struct np_buf *k, int *ids)
{
	const struct kobj_peer *p;
	int i, tag;

	np_buf_put(k, &peps, sizeof(peps));
	for (i = 0; i < rule->npeers; i++) {
		p = &rule->peers[i];
		tag = p->block ? -1 : selector_peer(x, np->ns, p);
		if (tag < -1)
			return tag;
		ids[i] = tag;
		np_buf_put(k, &tag, sizeof(tag));
		if (p->block)
			key_block(k, p->block);
	}
	return k->err;
}

/* Union of the peers: the one selector peer as is, else merged. */
static struct np_peers *rule_union(struct np_ctx *x,
				   const struct kobj_np_rule *rule,
				   const int *ids, int peps)
{
	const struct np_peers *p;
	int i, f, blocks = 0;

	if (rule->npeers == 1 && ids[0] >= 0)
		return (struct np_peers *)peers_of(x, ids[0]);
	for (i = 0; i < rule->npeers; i++)
		blocks += ids[i] < 0;
	x->pep.n = 0;
	if (blocks && push_blocks(x, rule, peps) < 0)
		return NULL;
	if (!blocks)
		x->rng.n = 0;
	for (i = 0; i < rule->npeers; i++) {
		if (ids[i] < 0)
			continue;
		p = peers_of(x, ids[i]);
		for (f = 0; f < 2; f++)
			np_buf_put(&x->rng, p->r[f],
				   p->nr[f] * sizeof(*p->r[f]));
		np_buf_put(&x->pep, p->peps, p->npeps * sizeof(*p->peps));
	}
	for (i = 0; !rule->npeers && peps && i < x->l->npods; i++) {
		struct np_pep e = { i, 0 };

		for (e.ip = 0; x->active[i] && e.ip < x->l->pods[i].nips;
		     e.ip++)
			np_buf_put(&x->pep, &e, sizeof(e));
	}
	return store(x, rule->npeers == 0);
}

static int rule_build(struct np_ctx *x, const struct kobj_np *np, int dir,
		      const struct kobj_np_rule *rule, struct np_rule *out)
{
	struct np_buf k = { 0 };
	int peps = dir == KOBJ_EGRESS && rule_named(rule), n, id, *ids;

	n = (int)(x->rules.n / sizeof(struct np_peers *));
	ids = malloc((rule->npeers + 1) * sizeof(int));
	id = ids ? rule_key(x, np, rule, peps, &k, ids) : -ENOMEM;
	if (id >= 0)
		id = np_intern(x->a, &x->rule_ids, k.v, k.n, n);
	free(k.v);
	if (id >= 0 && id == n) {
		struct np_peers *p = rule_union(x, rule, ids, peps);

		np_buf_put(&x->rules, &p, sizeof(p));
		if (!p || x->rules.err)
			id = -ENOMEM;
	}
	free(ids);
	if (id < 0)
		return id;
	out->id = id;
	out->p = ((struct np_peers *const *)x->rules.v)[id];
	out->done = 1;
	return 0;
}

const struct np_rule *np_rule(struct np_ctx *x, int p, int dir, int r)
{
	const struct kobj_np *np = &x->l->nps[p];
	struct np_rule **slot;

	if (!x->cr) {
		x->cr = arena_alloc(x->a, (2 * x->l->nnps + 1) *
				    sizeof(*x->cr));
		if (!x->cr)
			return NULL;
	}
	slot = &x->cr[p * 2 + dir];
	if (!*slot) {
		*slot = arena_alloc(x->a, (np->nrules[dir] + 1) *
				    sizeof(struct np_rule));
		if (!*slot)
			return NULL;
	}
	if (!(*slot)[r].done &&
	    rule_build(x, np, dir, &np->rules[dir][r], &(*slot)[r]) < 0)
		return NULL;
	return &(*slot)[r];
}
