/* NetworkPolicy compiler: kobj_list -> np_ruleset. See np.h.
 *
 * 1. namespaces sorted by name (those only named by pods or policies get
 *    the kubernetes.io/metadata.name label), active pods per namespace;
 * 2. per policy, the local pods it selects; per pod and direction, the
 *    policies selecting it (in list order) make its class key;
 * 3. per class, the union of its policies' rules: peers -> address
 *    ranges (cached per rule), ports -> boxes, named ports resolved
 *    against the class's pod (ingress) or each peer pod (egress);
 * 4. targets: every address of a local pod that has a class.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "np.h"
#include "np_int.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

static int ns_cmp(const void *a, const void *b)
{
	const struct np_nsinfo *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : y->real - x->real;	/* real Namespaces first */
}

int np_ns_find(const struct np_ctx *x, const char *name)
{
	int lo = 0, hi = x->nns - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(x->ns[mid].name, name);

		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int ns_add_synth(struct np_ctx *x, const char *name)
{
	struct np_nsinfo *n = &x->ns[x->nns++];
	struct selector_labels *l;

	n->name = name;
	l = arena_alloc(x->a, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->v = arena_alloc(x->a, sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	l->v[0].key = NS_NAME_LABEL;
	l->v[0].value = name;
	l->n = 1;
	n->labels = l;
	return 0;
}

/* Namespace objects, plus the names pods and policies refer to. */
static int build_namespaces(struct np_ctx *x)
{
	const struct kobj_list *l = x->l;
	int i, out = 0, rc = 0;

	x->ns = arena_alloc(x->a, (l->nns + l->npods + l->nnps + 1) *
			    sizeof(*x->ns));
	if (!x->ns)
		return -ENOMEM;
	for (i = 0; i < l->nns; i++) {
		x->ns[x->nns].name = l->ns[i].name;
		x->ns[x->nns].labels = &l->ns[i].labels;
		x->ns[x->nns++].real = 1;
	}
	for (i = 0; i < l->npods && !rc; i++)
		rc = ns_add_synth(x, l->pods[i].ns);
	for (i = 0; i < l->nnps && !rc; i++)
		rc = ns_add_synth(x, l->nps[i].ns);
	if (rc < 0)
		return rc;
	qsort(x->ns, x->nns, sizeof(*x->ns), ns_cmp);
	for (i = 0; i < x->nns; i++)
		if (!out || strcmp(x->ns[out - 1].name, x->ns[i].name))
			x->ns[out++] = x->ns[i];
	x->nns = out;
	return 0;
}

static int pod_active(const struct kobj_pod *p)
{
	return !p->terminal && !p->host_network && p->nips > 0;
}

/* Active pods per namespace, in list order. */
static int build_pods(struct np_ctx *x)
{
	const struct kobj_list *l = x->l;
	int *pool, i, k, n = l->npods;

	x->local = arena_alloc(x->a, n + 1);
	x->active = arena_alloc(x->a, n + 1);
	pool = arena_alloc(x->a, (n + 1) * sizeof(int));
	if (!x->local || !x->active || !pool)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct kobj_pod *p = &l->pods[i];

		x->active[i] = (unsigned char)pod_active(p);
		x->local[i] = x->active[i] && (!x->o->node ||
			(p->node && !strcmp(p->node, x->o->node)));
		if (x->active[i])
			x->ns[np_ns_find(x, p->ns)].npods++;
		x->nlocal += x->local[i];
	}
	for (k = 0; k < x->nns; k++) {
		x->ns[k].pods = pool;
		pool += x->ns[k].npods;
		x->ns[k].npods = 0;
	}
	for (i = 0; i < n; i++) {
		if (!x->active[i])
			continue;
		k = np_ns_find(x, l->pods[i].ns);
		x->ns[k].pods[x->ns[k].npods++] = i;
	}
	return 0;
}

/* The local pods policy p selects: *out (arena), count returned. */
static int policy_targets(struct np_ctx *x, int p, int **out)
{
	const struct kobj_np *np = &x->l->nps[p];
	const struct np_nsinfo *ns = &x->ns[np_ns_find(x, np->ns)];
	int i, n = 0;

	*out = arena_alloc(x->a, (ns->npods + 1) * sizeof(int));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < ns->npods; i++) {
		int pod = ns->pods[i];

		if (x->local[pod] &&
		    selector_match(&np->pod_sel, &x->l->pods[pod].labels))
			(*out)[n++] = pod;
	}
	return n;
}

/* x->sel[pod * 2 + dir]: the policies selecting pod for dir. */
static int build_selection(struct np_ctx *x)
{
	const struct kobj_list *l = x->l;
	int **tg, *ntg, *pool, p, i, d, slots = 2 * l->npods, total = 0;

	tg = arena_alloc(x->a, (l->nnps + 1) * sizeof(*tg));
	ntg = arena_alloc(x->a, (l->nnps + 1) * sizeof(int));
	x->sel = arena_alloc(x->a, (slots + 1) * sizeof(*x->sel));
	x->nsel = arena_alloc(x->a, (slots + 1) * sizeof(int));
	if (!tg || !ntg || !x->sel || !x->nsel)
		return -ENOMEM;
	for (p = 0; p < l->nnps; p++) {
		ntg[p] = policy_targets(x, p, &tg[p]);
		if (ntg[p] < 0)
			return ntg[p];
		for (d = 0; d < 2; d++)
			if (l->nps[p].types & (1 << d))
				for (i = 0; i < ntg[p]; i++, total++)
					x->nsel[tg[p][i] * 2 + d]++;
	}
	pool = arena_alloc(x->a, (total + 1) * sizeof(int));
	if (!pool)
		return -ENOMEM;
	for (i = 0; i < slots; i++) {
		x->sel[i] = pool;
		pool += x->nsel[i];
		x->nsel[i] = 0;
	}
	for (p = 0; p < l->nnps; p++)
		for (d = 0; d < 2; d++)
			if (l->nps[p].types & (1 << d))
				for (i = 0; i < ntg[p]; i++) {
					int s = tg[p][i] * 2 + d;

					x->sel[s][x->nsel[s]++] = p;
				}
	return 0;
}

static int np_has_named(const struct kobj_np *np, int dir)
{
	int r, q;

	for (r = 0; r < np->nrules[dir]; r++)
		for (q = 0; q < np->rules[dir][r].nports; q++)
			if (np->rules[dir][r].ports[q].name)
				return 1;
	return 0;
}

/* Class key: dir, the policies, and for ingress with named ports the
 * pod's named ports (they decide what those rules open). */
static int class_key(struct np_ctx *x, int pod, int dir, struct np_buf *k)
{
	const int *ids = x->sel[pod * 2 + dir];
	int n = x->nsel[pod * 2 + dir], named = 0, i;
	uint8_t hdr[2] = { (uint8_t)dir, 0 };

	k->n = 0;
	np_buf_put(k, hdr, sizeof(hdr));
	np_buf_put(k, ids, n * sizeof(int));
	for (i = 0; dir == KOBJ_INGRESS && i < n && !named; i++)
		named = np_has_named(&x->l->nps[ids[i]], dir);
	if (named)
		return np_key_named_ports(&x->l->pods[pod], k);
	return k->err;
}

/* The class of key k (new if unseen), or -ENOMEM. */
static int class_of(struct np_ctx *x, const struct np_buf *k, int pod,
		    int dir)
{
	struct np_class *c;
	int id = np_intern(x->a, &x->classes, k->v, k->n, x->ncls);

	if (id < 0 || id < x->ncls) {
		if (id >= 0)
			x->cls[id].npods++;
		return id;
	}
	c = &x->cls[x->ncls++];
	c->dir = (enum kobj_dir)dir;
	c->nps = x->sel[pod * 2 + dir];
	c->nnps = x->nsel[pod * 2 + dir];
	c->npods = 1;
	c->rep = pod;
	return id;
}

static int build_classes(struct np_ctx *x)
{
	struct np_buf k = { 0 };
	int n = x->l->npods, pod, d, c, rc;

	rc = np_table_init(x->a, &x->classes, 2 * x->nlocal);
	x->cls = arena_alloc(x->a, (2 * x->nlocal + 1) * sizeof(*x->cls));
	x->pcls = arena_alloc(x->a, (2 * n + 1) * sizeof(int));
	if (rc < 0 || !x->cls || !x->pcls)
		return -ENOMEM;
	for (pod = 0; pod < n && !rc; pod++)
		for (d = 0; d < 2 && !rc; d++) {
			x->pcls[pod * 2 + d] = -1;
			if (!x->local[pod] || !x->nsel[pod * 2 + d])
				continue;
			rc = class_key(x, pod, d, &k);
			c = rc < 0 ? rc : class_of(x, &k, pod, d);
			rc = c < 0 ? c : 0;
			x->pcls[pod * 2 + d] = c;
		}
	free(k.v);
	return rc;
}

/* Classes whose allowed sets are certainly equal (same interned peers,
 * same ports) become one: computed once, programmed once. */
static int merge_classes(struct np_ctx *x)
{
	struct np_table t;
	struct np_buf k = { 0 };
	int *map, c, n = 0, id, i, rc;

	map = arena_alloc(x->a, (x->ncls + 1) * sizeof(int));
	rc = np_table_init(x->a, &t, x->ncls);
	if (!map || rc < 0)
		return -ENOMEM;
	for (c = 0; c < x->ncls && !rc; c++) {
		k.n = 0;
		rc = np_class_input(x, &x->cls[c], &k);
		id = rc < 0 ? rc : np_intern(x->a, &t, k.v, k.n, n);
		if (id < 0) {
			rc = id;
		} else if (id == n) {
			x->cls[n++] = x->cls[c];
		} else {
			x->cls[id].npods += x->cls[c].npods;
			x->cls[id].nalike++;
		}
		map[c] = id;
	}
	free(k.v);
	if (rc < 0)
		return rc;
	x->ncls = n;
	for (i = 0; i < 2 * x->l->npods; i++)
		if (x->pcls[i] >= 0)
			x->pcls[i] = map[x->pcls[i]];
	return 0;
}

static int tgt_cmp(const void *a, const void *b)
{
	const struct np_target *x = a, *y = b;
	int c = ip_cmp(&x->ip, &y->ip);

	return c ? c : x->pod - y->pod;
}

static int problem(struct np_ctx *x, const char *msg)
{
	if (!msg)
		return -ENOMEM;
	np_buf_put(&x->probs, &msg, sizeof(msg));
	return x->probs.err;
}

/* Targets: each address of each local pod with a class; an address two
 * pods claim goes to the first. */
static int build_targets(struct np_ctx *x, struct np_ruleset *rs)
{
	const struct kobj_list *l = x->l;
	struct np_target *t;
	int pod, i, n = 0, out = 0, rc;

	for (pod = 0; pod < l->npods; pod++)
		if (x->pcls[pod * 2] >= 0 || x->pcls[pod * 2 + 1] >= 0)
			n += l->pods[pod].nips;
	t = arena_alloc(x->a, (n + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	n = 0;
	for (pod = 0; pod < l->npods; pod++) {
		if (x->pcls[pod * 2] < 0 && x->pcls[pod * 2 + 1] < 0)
			continue;
		for (i = 0; i < l->pods[pod].nips; i++, n++) {
			t[n].ip = l->pods[pod].ips[i];
			t[n].pod = pod;
			t[n].cls[0] = x->pcls[pod * 2];
			t[n].cls[1] = x->pcls[pod * 2 + 1];
		}
	}
	qsort(t, n, sizeof(*t), tgt_cmp);
	for (i = 0; i < n; i++) {
		const struct kobj_pod *p = &l->pods[t[i].pod], *q;
		char ip[IP_STRLEN];

		if (!out || !ip_equal(&t[out - 1].ip, &t[i].ip)) {
			t[out++] = t[i];
			continue;
		}
		q = &l->pods[t[out - 1].pod];
		rc = problem(x, arena_printf(x->a, "Pod %s/%s: address %s is "
			     "also Pod %s/%s's: not enforced for %s/%s", p->ns,
			     p->name, ip_fmt(&t[i].ip, ip), q->ns, q->name,
			     p->ns, p->name));
		if (rc < 0)
			return rc;
	}
	rs->tgt = t;
	rs->ntgt = out;
	return 0;
}

int np_compile(struct arena *a, const struct kobj_list *l,
	       const struct np_opts *o, struct np_ruleset *out)
{
	struct np_ctx x;
	int rc, i;

	memset(out, 0, sizeof(*out));
	if (!l || !o)
		return -EINVAL;
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.l = l;
	x.o = o;
	if ((rc = build_namespaces(&x)) < 0 || (rc = build_pods(&x)) < 0 ||
	    (rc = build_selection(&x)) < 0 || (rc = build_classes(&x)) < 0 ||
	    (rc = merge_classes(&x)) < 0 || (rc = build_targets(&x, out)) < 0)
		goto out;
	for (i = 0; i < x.ncls && !rc; i++)
		rc = np_class_allow(&x, &x.cls[i]);
	if (rc < 0)
		goto out;
	out->list = l;
	out->cls = x.cls;
	out->ncls = x.ncls;
	out->nlocal = x.nlocal;
	out->problems = arena_alloc(a, x.probs.n + sizeof(char *));
	if (!out->problems) {
		rc = -ENOMEM;
		goto out;
	}
	if (x.probs.n)
		memcpy(out->problems, x.probs.v, x.probs.n);
	out->nproblems = (int)(x.probs.n / sizeof(char *));
out:
	np_ctx_free(&x);
	return rc;
}
