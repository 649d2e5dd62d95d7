/* netpolicy run: the objects the API holds, as watch events deliver them
 * (see netpolicy.h). Each valid object is kept as a trimmed JSON text; a
 * sync parses them all into one arena and hands the list to np_compile.
 * An object that fails validation is logged with its namespace/name and
 * never used: the last valid version of it, if any, stays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "netpolicy.h"
#include "sock.h"

#define STORE_MIN_CAP 64

static const char *const kind_names[] = {
	[KOBJ_NONE] = "object", [KOBJ_NAMESPACE] = "Namespace",
	[KOBJ_POD] = "Pod", [KOBJ_NETPOL] = "NetworkPolicy",
};

/* --- the hash table ------------------------------------------------- */

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static size_t find_slot(const struct npd_store *s, const char *key)
{
	size_t i = hash(key) & (s->cap - 1);

	while (s->slot[i] && strcmp(s->slot[i]->key, key))
		i = (i + 1) & (s->cap - 1);
	return i;
}

struct npd_obj *npd_store_get(const struct npd_store *s, const char *key)
{
	return s->cap ? s->slot[find_slot(s, key)] : NULL;
}

static int grow(struct npd_store *s)
{
	struct npd_store t = { NULL, s->cap ? s->cap * 2 : STORE_MIN_CAP, 0 };
	size_t i;

	t.slot = calloc(t.cap, sizeof(*t.slot));
	if (!t.slot)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->slot[i])
			t.slot[find_slot(&t, s->slot[i]->key)] = s->slot[i];
	t.n = s->n;
	free(s->slot);
	*s = t;
	return 0;
}

static void obj_free(struct npd_obj *o)
{
	if (!o)
		return;
	free(o->key);
	free(o->text);
	free(o);
}

void npd_store_free(struct npd_store *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		obj_free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

int npd_store_put(struct npd_store *s, const char *key, const char *text,
		  size_t len)
{
	struct npd_obj *o;
	char *t;
	size_t i;

	if ((s->n + 1) * 4 > s->cap * 3 && grow(s) < 0)
		return -ENOMEM;
	i = find_slot(s, key);
	o = s->slot[i];
	if (o) {
		o->stale = 0;
		if (o->len == len && !memcmp(o->text, text, len))
			return 0;
	}
	t = malloc(len + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, text, len);
	t[len] = 0;
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o || !(o->key = strdup(key))) {
			free(o);
			free(t);
			return -ENOMEM;
		}
		s->slot[i] = o;
		s->n++;
	}
	free(o->text);
	o->text = t;
	o->len = len;
	o->parsed = NULL;	/* its old parse stays in the cache: garbage */
	return 1;
}

/* Remove slot i, shifting back the entries of its probe run. */
static void remove_at(struct npd_store *s, size_t i)
{
	size_t j = i, k;

	obj_free(s->slot[i]);
	s->slot[i] = NULL;
	s->n--;
	for (;;) {
		j = (j + 1) & (s->cap - 1);
		if (!s->slot[j])
			return;
		k = hash(s->slot[j]->key) & (s->cap - 1);
		/* can the entry at j move to the hole at i? */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			s->slot[i] = s->slot[j];
			s->slot[j] = NULL;
			i = j;
		}
	}
}

int npd_store_del(struct npd_store *s, const char *key)
{
	size_t i;

	if (!s->cap)
		return 0;
	i = find_slot(s, key);
	if (!s->slot[i])
		return 0;
	remove_at(s, i);
	return 1;
}

void npd_store_mark_stale(struct npd_store *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		if (s->slot[i])
			s->slot[i]->stale = 1;
}

int npd_store_sweep(struct npd_store *s)
{
	size_t i = 0;
	int n = 0;

	while (i < s->cap) {
		if (s->slot[i] && s->slot[i]->stale) {
			remove_at(s, i);	/* may shift an entry into i */
			n++;
			continue;
		}
		i++;
	}
	return n;
}

/* --- trimming: the fields kobj reads, copied verbatim ----------------- */

static void copy_keys(struct json_w *w, const struct json_doc *d, int obj,
		      const char *const *keys)
{
	const char *raw;
	size_t n;
	int t;

	for (; *keys; keys++) {
		t = json_find(d, obj, *keys);
		if (t < 0)
			continue;
		raw = json_raw(d, t, &n);
		json_w_kraw(w, *keys, raw, n);
	}
}

static void trim_containers(struct json_w *w, const struct json_doc *d,
			    int spec)
{
	static const char *const ports[] = { "ports", NULL };
	int ctrs = json_find(d, spec, "containers"), c;

	if (json_typeof(d, ctrs) != JSON_ARRAY)
		return;
	json_w_key(w, "containers");
	json_w_arr_begin(w);
	json_for_each(d, ctrs, c) {
		json_w_obj_begin(w);
		copy_keys(w, d, c, ports);
		json_w_obj_end(w);
	}
	json_w_arr_end(w);
}

static void trim_part(struct json_w *w, const struct json_doc *d, int obj,
		      const char *part, const char *const *keys)
{
	int t = json_find(d, obj, part);

	if (json_typeof(d, t) != JSON_OBJECT)
		return;
	json_w_key(w, part);
	json_w_obj_begin(w);
	copy_keys(w, d, t, keys);
	if (!strcmp(part, "spec") && keys[0] && !strcmp(keys[0], "nodeName"))
		trim_containers(w, d, t);
	json_w_obj_end(w);
}

static int trim(struct arena *a, const struct json_doc *d, int obj,
		enum kobj_kind kind, const char **out, size_t *len)
{
	static const char *const meta[] = { "name", "namespace", "labels",
					    NULL };
	static const char *const pod_spec[] = { "nodeName", "hostNetwork",
						NULL };
	static const char *const pod_status[] = { "phase", "podIP", "podIPs",
						  NULL };
	static const char *const np[] = { "spec", NULL };
	struct json_w w;

	json_w_init(&w, a, 0);
	json_w_obj_begin(&w);
	trim_part(&w, d, obj, "metadata", meta);
	if (kind == KOBJ_POD) {
		trim_part(&w, d, obj, "spec", pod_spec);
		trim_part(&w, d, obj, "status", pod_status);
	} else if (kind == KOBJ_NETPOL) {
		copy_keys(&w, d, obj, np);
	}
	json_w_obj_end(&w);
	return json_w_finish(&w, out, len);
}

/* --- events ------------------------------------------------------------ */

/* "ns/name" (namespaced kinds) or "name"; "?" for what is missing. */
static const char *obj_key(struct arena *a, const struct json_doc *d,
			   int obj, enum kobj_kind kind)
{
	const char *name = "?", *ns = "default";
	int meta = json_find(d, obj, "metadata");

	json_get_str(d, meta, "name", &name, NULL);
	if (kind == KOBJ_NAMESPACE)
		return arena_strndup(a, name, 253);
	json_get_str(d, meta, "namespace", &ns, NULL);
	return arena_printf(a, "%.63s/%.253s", ns, name);
}

static int validate(struct npd_res_state *r, const struct kube_event *ev,
		    struct json_err *e)
{
	struct arena *a = &r->scratch;
	union {
		struct kobj_ns ns;
		struct kobj_pod pod;
		struct kobj_np np;
	} u;

	memset(e, 0, sizeof(*e));
	if (json_typeof(ev->doc, ev->obj) != JSON_OBJECT) {
		snprintf(e->msg, sizeof(e->msg), "not an object");
		return -EINVAL;
	}
	switch (r->kind) {
	case KOBJ_NAMESPACE:
		return kobj_parse_ns(ev->doc, ev->obj, a, &u.ns, e);
	case KOBJ_POD:
		return kobj_parse_pod(ev->doc, ev->obj, a, &u.pod, e);
	default:
		return kobj_parse_np(ev->doc, ev->obj, a, &u.np, e);
	}
}

static void changed(struct npd *d)
{
	int64_t now = sock_now_ms();

	if (!d->dirty)
		d->first_change_ms = now;
	d->dirty = 1;
	d->last_change_ms = now;
	npd_wake(d);
}

/* Pods, and everything of a full list, at debug level. */
static void log_change(struct npd_res_state *r, const char *what,
		       const char *key, int listing)
{
	if (r->kind == KOBJ_POD || listing)
		log_debug("%s %s %s", kind_names[r->kind], key, what);
	else
		log_info("%s %s %s", kind_names[r->kind], key, what);
}

static int on_object(struct npd_res_state *r, const struct kube_event *ev)
{
	struct npd *d = r->d;
	const char *key, *text = NULL;
	struct json_err e;
	size_t len = 0;
	int rc, held, listing;

	key = obj_key(&r->scratch, ev->doc, ev->obj, r->kind);
	if (!key)
		return -ENOMEM;
	rc = validate(r, ev, &e);
	if (rc == -EINVAL) {
		pthread_mutex_lock(&d->mu);
		r->invalid++;
		held = npd_store_get(&r->store, key) != NULL;
		if (held)	/* seen: keep it through a relist */
			npd_store_get(&r->store, key)->stale = 0;
		pthread_mutex_unlock(&d->mu);
		log_warn("skipped %s %s: %s (%s)", kind_names[r->kind], key,
			 e.msg, held ? "its last valid version stays in force"
			 : "not used");
		return 0;
	}
	if (rc == 0)
		rc = trim(&r->scratch, ev->doc, ev->obj, r->kind, &text, &len);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&d->mu);
	held = npd_store_get(&r->store, key) != NULL;
	listing = r->listing;
	rc = npd_store_put(&r->store, key, text, len);
	if (rc > 0) {
		r->changes++;
		changed(d);
	}
	pthread_mutex_unlock(&d->mu);
	if (rc > 0)
		log_change(r, held ? "changed" : "added", key, listing);
	return rc < 0 ? rc : 0;
}

static int on_delete(struct npd_res_state *r, const struct kube_event *ev)
{
	struct npd *d = r->d;
	const char *key = obj_key(&r->scratch, ev->doc, ev->obj, r->kind);
	int rc;

	if (!key)
		return -ENOMEM;
	pthread_mutex_lock(&d->mu);
	rc = npd_store_del(&r->store, key);
	if (rc) {
		r->changes++;
		changed(d);
	}
	pthread_mutex_unlock(&d->mu);
	if (rc)
		log_change(r, "deleted", key, 0);
	return 0;
}

static void on_list_edge(struct npd_res_state *r, const struct kube_event *ev)
{
	struct npd *d = r->d;
	int swept = 0, first = 0;
	size_t held;

	pthread_mutex_lock(&d->mu);
	if (ev->type == KUBE_EV_RESET) {
		npd_store_mark_stale(&r->store);
		r->listing = 1;
		r->relists += ev->code != 0;
	} else {
		swept = npd_store_sweep(&r->store);
		first = !r->synced;
		r->synced = 1;
		r->listing = 0;
		r->api_ok = 1;
		if (first || swept)
			changed(d);
		else
			npd_wake(d);	/* syncs held during the list may go */
	}
	held = r->store.n;
	pthread_mutex_unlock(&d->mu);
	if (ev->type == KUBE_EV_RESET && ev->code)
		log_info("%s: listing again (%d: %s)", r->name, ev->code,
			 ev->message ? ev->message : "");
	else if (ev->type == KUBE_EV_SYNCED)
		log_info("%s: listed at resourceVersion %s (%zu held, %d gone)",
			 r->name, ev->rv ? ev->rv : "?", held, swept);
}

int npd_on_event(void *arg, const struct kube_event *ev)
{
	struct npd_res_state *r = arg;
	int rc = 0;

	arena_free_all(&r->scratch);
	switch (ev->type) {
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
	case KUBE_EV_DELETED:
		pthread_mutex_lock(&r->d->mu);
		r->events++;
		r->api_ok = 1;
		pthread_mutex_unlock(&r->d->mu);
		rc = ev->type == KUBE_EV_DELETED ? on_delete(r, ev) :
		     on_object(r, ev);
		break;
	case KUBE_EV_RESET:
	case KUBE_EV_SYNCED:
		on_list_edge(r, ev);
		break;
	case KUBE_EV_RETRY:
		pthread_mutex_lock(&r->d->mu);
		r->api_errors++;
		r->api_ok = 0;
		pthread_mutex_unlock(&r->d->mu);
		log_warn("%s: %s (retry in %d ms; the rules in force stay)",
			 r->name, ev->message && ev->message[0] ? ev->message :
			 "failed", ev->delay_ms);
		break;
	default:
		break;
	}
	arena_free_all(&r->scratch);
	return rc == -ENOMEM ? rc : 0;	/* lost: the thread lists again */
}

/* --- the list a sync compiles ------------------------------------------ */

#define CACHE_SLACK (1u << 20)

static const size_t obj_size[] = {
	[KOBJ_NAMESPACE] = sizeof(struct kobj_ns),
	[KOBJ_POD] = sizeof(struct kobj_pod),
	[KOBJ_NETPOL] = sizeof(struct kobj_np),
};

/* Parse o: text and tokens in tmp (emptied afterwards), the object and
 * its strings in cache, a problem in a. */
static int parse_one(struct arena *a, struct arena *tmp, struct arena *cache,
		     enum kobj_kind kind, struct npd_obj *o, const char **why)
{
	struct json_doc d;
	struct json_err e;
	void *out = arena_alloc(cache, obj_size[kind]);
	char *text = arena_memdup(tmp, o->text, o->len + 1);
	int rc;

	if (!out || !text) {
		arena_free_all(tmp);
		return -ENOMEM;
	}
	memset(&e, 0, sizeof(e));
	rc = json_parse(&d, tmp, text, o->len, NULL, &e);
	d.arena = cache;	/* where the getters put strings */
	if (rc == 0 && kind == KOBJ_NAMESPACE)
		rc = kobj_parse_ns(&d, 0, cache, out, &e);
	else if (rc == 0 && kind == KOBJ_POD)
		rc = kobj_parse_pod(&d, 0, cache, out, &e);
	else if (rc == 0)
		rc = kobj_parse_np(&d, 0, cache, out, &e);
	arena_free_all(tmp);
	if (rc == -EINVAL) {
		*why = arena_printf(a, "%s %s: %s", kind_names[kind], o->key,
				    e.msg);
		return *why ? 0 : -ENOMEM;
	}
	if (rc == 0)
		o->parsed = out;
	return rc;
}

static void add_parsed(enum kobj_kind kind, const void *p, struct kobj_list *l)
{
	if (kind == KOBJ_NAMESPACE)
		l->ns[l->nns++] = *(const struct kobj_ns *)p;
	else if (kind == KOBJ_POD)
		l->pods[l->npods++] = *(const struct kobj_pod *)p;
	else
		l->nps[l->nnps++] = *(const struct kobj_np *)p;
}

/* Drop the cache when its garbage outweighs what is live. */
static void cache_check(struct npd *d)
{
	struct npd_store *s;
	size_t live = 0, i;
	int r;

	for (r = 0; r < NPD_NRES; r++)
		for (s = &d->res[r].store, i = 0; i < s->cap; i++)
			if (s->slot[i])
				live += s->slot[i]->len;
	if (d->cache.total <= 3 * live + CACHE_SLACK)
		return;
	arena_free_all(&d->cache);
	for (r = 0; r < NPD_NRES; r++)
		for (s = &d->res[r].store, i = 0; i < s->cap; i++)
			if (s->slot[i])
				s->slot[i]->parsed = NULL;
}

static int alloc_list(struct npd *d, struct arena *a, struct kobj_list *out)
{
	size_t total = 0;
	int r;

	memset(out, 0, sizeof(*out));
	for (r = 0; r < NPD_NRES; r++)
		total += d->res[r].store.n;
	out->ns = arena_alloc(a, (d->res[NPD_NS].store.n + 1) *
			      sizeof(*out->ns));
	out->pods = arena_alloc(a, (d->res[NPD_PODS].store.n + 1) *
				sizeof(*out->pods));
	out->nps = arena_alloc(a, (d->res[NPD_NPS].store.n + 1) *
			       sizeof(*out->nps));
	out->problems = arena_alloc(a, (total + 1) * sizeof(*out->problems));
	out->nitems = (int)total;
	return out->ns && out->pods && out->nps && out->problems ? 0 :
	       -ENOMEM;
}

int npd_build_list(struct npd *d, struct arena *a, struct kobj_list *out)
{
	enum kobj_kind kind;
	struct npd_store *s;
	struct arena tmp;
	const char *why;
	size_t i;
	int r, rc;

	cache_check(d);
	if ((rc = alloc_list(d, a, out)) < 0)
		return rc;
	arena_init(&tmp);
	for (r = 0; r < NPD_NRES; r++) {
		s = &d->res[r].store;
		kind = d->res[r].kind;
		for (i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			why = NULL;
			if (!s->slot[i]->parsed &&
			    (rc = parse_one(a, &tmp, &d->cache, kind,
					    s->slot[i], &why)) < 0)
				return rc;
			if (why)
				out->problems[out->nproblems++] = why;
			else
				add_parsed(kind, s->slot[i]->parsed, out);
		}
	}
	return 0;
}
