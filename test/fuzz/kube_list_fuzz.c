/* libFuzzer: the streaming List parser as kube_list() reads each page
 * (kube_list_read: items one at a time, metadata.resourceVersion and
 * .continue), fed from the input in pieces as a socket would (see
 * kube_fuzz.h; option bit 2: the first page, where resourceVersion is
 * required).  The outcome must not depend on where the pieces were cut,
 * and when the whole body is a JSON document (checked with json_parse) the
 * stream must agree with it: the same items in order, the same rv and
 * continue token, or a failure exactly when the document is not a List. */
#include "kube_fuzz.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEN	4096

struct lrun {
	struct kf_log log;
	const struct kf_opts *o;
	struct kube_list_page pg;
	size_t nseen;
	uint64_t seen[MAX_SEEN];	/* hash of each item's text */
};

static int on_item(void *arg, const struct kube_event *ev)
{
	struct lrun *r = arg;

	if (ev->type != KUBE_EV_ADDED || ev->obj != 0)
		abort();
	kf_check_object(ev);	/* an item's rv may be of any length */
	kf_log_event(&r->log, ev);
	if (r->nseen < MAX_SEEN)
		r->seen[r->nseen++] = kf_hash(0, ev->raw, ev->raw_len);
	if (r->o->stop_after && r->log.events >= r->o->stop_after)
		return KF_STOP_RC;
	return 0;
}

static void run(struct lrun *r, const struct kf_opts *o, int split)
{
	struct kube_client *kc = kf_client();
	struct kube_body b;
	struct kf_src s;
	int rc;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->pg.fn = on_item;
	r->pg.arg = r;
	kf_src_init(&s, o, split);
	kf_body(&b, kc, o, &s);
	rc = kube_list_read(kc, &b, o->bit2, &r->pg);
	kube_body_free(&b);
	if (rc < 0 && rc != -EBADMSG && rc != -EMSGSIZE)
		abort();
	if (rc > 0 && rc != KF_STOP_RC)
		abort();
	if ((rc < 0) != (kc->err[0] != '\0') || r->pg.items != r->log.events)
		abort();
	if (!memchr(r->pg.rv, '\0', sizeof(r->pg.rv)) ||
	    !memchr(r->pg.cont, '\0', sizeof(r->pg.cont)))
		abort();
	if (rc == 0 && o->bit2 && !r->pg.rv[0])
		abort();
	r->log.rc = rc;
	r->log.hash = kf_hash(r->log.hash, r->pg.rv, sizeof(r->pg.rv));
	r->log.hash = kf_hash(r->log.hash, r->pg.cont, sizeof(r->pg.cont));
	snprintf(r->log.err, sizeof(r->log.err), "%s", kc->err);
}

/* The raw key text is what the stream matches ("items", not "\u0069tems"). */
static int key_is(const struct json_doc *d, int k, const char *raw)
{
	size_t n;
	const char *p = json_raw(d, k, &n);

	return n == strlen(raw) && !memcmp(p, raw, n);
}

/* A metadata string (absent or null: ""); -1 when the stream must fail. */
static int meta_str(const struct json_doc *d, int md, const char *key,
		    char *out, size_t cap)
{
	int v = json_find(d, md, key);
	const char *s;
	size_t len;

	out[0] = '\0';
	if (json_typeof(d, v) == JSON_NONE || json_typeof(d, v) == JSON_NULL)
		return 0;
	if (json_as_str(d, v, NULL, &s, &len, NULL) < 0 || len >= cap)
		return -1;
	memcpy(out, s, len + 1);
	return 0;
}

struct expect {
	size_t nitems;
	uint64_t items[MAX_SEEN];
	char rv[KUBE_RV_MAX];
	char cont[KUBE_CONT_MAX];
};

/* What the stream must make of a document that json_parse accepts:
 * 1 success (ex filled), 0 failure, -1 no verdict. */
static int expected(const struct json_doc *d, size_t max,
		    struct expect *ex, int first)
{
	int k, v, i, items = -1, md = -1;
	size_t n;
	const char *p;

	if (json_typeof(d, 0) != JSON_OBJECT)
		return 0;
	json_for_each(d, 0, k) {
		if (key_is(d, k, "\"items\"")) {
			if (items >= 0)
				return -1;	/* repeated: all streamed */
			items = k + 1;
		} else if (key_is(d, k, "\"metadata\"")) {
			if (md >= 0)
				return -1;
			md = k + 1;
		}
	}
	if (md < 0 || json_typeof(d, md) != JSON_OBJECT)
		return 0;
	json_raw(d, md, &n);
	if (n > max || meta_str(d, md, "resourceVersion", ex->rv,
				sizeof(ex->rv)) < 0 ||
	    meta_str(d, md, "continue", ex->cont, sizeof(ex->cont)) < 0 ||
	    (first && !ex->rv[0]))
		return 0;
	ex->nitems = 0;
	if (items < 0 || json_typeof(d, items) == JSON_NULL)
		return 1;
	if (json_typeof(d, items) != JSON_ARRAY)
		return 0;
	i = 0;
	json_for_each(d, items, v) {
		if (json_typeof(d, v) != JSON_OBJECT)
			return 0;
		p = json_raw(d, v, &n);
		if (n > max)
			return 0;
		if (i < MAX_SEEN)
			ex->items[i++] = kf_hash(0, p, n);
		ex->nitems++;
	}
	return 1;
}

static void oracle(const struct kf_opts *o, const struct lrun *r)
{
	static struct expect ex;
	struct json_doc d;
	struct arena a;
	size_t max = o->max_object ? o->max_object : KUBE_MAX_OBJECT;
	int want;

	arena_init(&a);
	if (json_parse(&d, &a, (const char *)o->body, o->len, NULL, NULL) < 0)
		goto out;
	want = expected(&d, max, &ex, o->bit2);
	if (want == 0 && r->log.rc == 0)
		abort();
	if (want == 1 && (r->log.rc != 0 || r->pg.items != ex.nitems ||
			  memcmp(r->seen, ex.items, r->nseen * 8) ||
			  strcmp(r->pg.rv, ex.rv) ||
			  strcmp(r->pg.cont, ex.cont)))
		abort();
out:
	arena_free_all(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lrun whole, split;
	struct kf_opts o;

	if (kf_opts(&o, data, size) < 0)
		return 0;
	run(&whole, &o, 0);
	run(&split, &o, 1);
	if (!kf_same(&whole.log, &split.log))
		abort();
	if (!o.stop_after && !o.expand)
		oracle(&o, &whole);
	return 0;
}
