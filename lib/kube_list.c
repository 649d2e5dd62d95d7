/* Kubernetes client: reply bodies read as a stream of JSON values, and
 * LIST with limit/continue paging, one item at a time (see kube.h). */
#include "kube.h"
#include "kube_int.h"
#include "sock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MIN_READ	4096
#define BODY_FIRST_CAP	65536
#define BODY_SLACK	65536	/* framing around the largest object */

/* Would http_read() return without waiting for the network?  Buffered
 * bytes that are only chunk framing do not count: reading them would
 * block in http_read() for the rest, beyond our stop checks. */
static int data_ready(struct http_conn *c)
{
	struct http_chunked ch;
	size_t used, made;
	char out[1];

	if (c->fd < 0 || c->done)
		return 1;
	if (c->rpos < c->rlen) {
		if (c->mode != HTTP_BODY_CHUNKED)
			return 1;
		ch = c->chunked;
		if (http_chunked_decode(&ch, c->rbuf + c->rpos,
					c->rlen - c->rpos, &used, out,
					sizeof(out), &made) != 0 || made)
			return 1;
	}
	return c->use_tls && (br_ssl_engine_current_state(&c->tls.cc.eng) &
			      (BR_SSL_RECVAPP | BR_SSL_CLOSED));
}

/* Wait for body bytes in slices of poll_ms, asking stop() in between. */
static int wait_data(struct kube_body *b)
{
	struct http_conn *c = b->kc->conn;
	struct pollfd p;
	int64_t left;
	int ms, rc;

	for (;;) {
		if (b->stop && b->stop(b->stop_arg)) {
			b->stopped = 1;
			return -ECANCELED;
		}
		if (data_ready(c))
			return 0;
		left = b->idle_ms > 0 ? b->last_ms + b->idle_ms -
					sock_now_ms() : -1;
		if (b->idle_ms > 0 && left <= 0)
			return kube_fail(b->kc, -ETIMEDOUT, "%s: no data for "
					 "%d ms", c->what, b->idle_ms);
		ms = b->poll_ms > 0 ? b->poll_ms : 250;
		if (left >= 0 && left < ms)
			ms = (int)left;
		p.fd = c->fd;
		p.events = POLLIN;
		rc = poll(&p, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return kube_fail(b->kc, -errno, "%s: poll: %s", c->what,
					 strerror(errno));
	}
}

static int body_room(struct kube_body *b)
{
	size_t limit = b->max + BODY_SLACK, cap;
	char *p;

	if (b->cap - b->len > BODY_MIN_READ)
		return 0;
	if (b->len >= limit)
		return kube_fail(b->kc, -EMSGSIZE, "%s: an object larger than "
				 "%zu bytes", b->kc->conn->what, b->max);
	cap = b->cap ? b->cap * 2 : BODY_FIRST_CAP;
	if (cap > limit + 1)
		cap = limit + 1;
	p = realloc(b->buf, cap);
	if (!p)
		return kube_fail(b->kc, -ENOMEM, "out of memory");
	b->buf = p;
	b->cap = cap;
	return 0;
}

int kube_body_fill(struct kube_body *b)
{
	struct http_conn *c = b->kc->conn;
	ssize_t n;
	int rc;

	if (b->pos) {
		memmove(b->buf, b->buf + b->pos, b->len - b->pos);
		b->len -= b->pos;
		b->pos = 0;
	}
	if (b->eof)
		return 0;
	rc = body_room(b);
	if (rc == 0 && !b->src && (b->stop || b->idle_ms))
		rc = wait_data(b);
	if (rc < 0)
		return rc;
	if (b->src)
		n = b->src(b->src_arg, b->buf + b->len, b->cap - 1 - b->len);
	else
		n = http_read(c, b->buf + b->len, b->cap - 1 - b->len);
	if (n < 0)
		return kube_fail(b->kc, (int)n, "%s", b->src ?
				 strerror((int)-n) : c->err);
	b->buf[b->len + (size_t)n] = '\0';
	if (n == 0) {
		b->eof = 1;
		return 0;
	}
	b->len += (size_t)n;
	b->last_ms = sock_now_ms();
	return 1;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int kube_body_skip_ws(struct kube_body *b)
{
	int rc;

	for (;;) {
		while (b->pos < b->len && is_ws(b->buf[b->pos]))
			b->pos++;
		if (b->pos < b->len)
			return 1;
		rc = kube_body_fill(b);
		if (rc <= 0)
			return rc;
	}
}

/* Scan p[0..len) for the end of the value starting at p[0]. */
static int scan(struct kube_scan *s, const char *p, size_t len, int eof)
{
	size_t i;
	char c;

	if (p[0] != '{' && p[0] != '[' && p[0] != '"') {
		if (!p[0] || !strchr("-0123456789tfn", p[0]))
			return -EBADMSG;
		for (i = s->i; i < len; i++)
			if (p[i] == ',' || p[i] == '}' || p[i] == ']' ||
			    is_ws(p[i]))
				break;
		s->i = i;
		return i < len || eof ? 1 : 0;
	}
	for (i = s->i; i < len; i++) {
		c = p[i];
		if (s->esc) {
			s->esc = 0;
		} else if (s->in_str) {
			if (c == '\\') {
				s->esc = 1;
			} else if (c == '"') {
				s->in_str = 0;
				if (!s->depth)
					break;
			}
		} else if (c == '"') {
			s->in_str = 1;
		} else if (c == '{' || c == '[') {
			s->depth++;
		} else if ((c == '}' || c == ']') && --s->depth <= 0) {
			break;
		}
	}
	if (i < len) {
		s->i = i + 1;
		return s->depth < 0 ? -EBADMSG : 1;
	}
	s->i = len;
	return eof ? -EBADMSG : 0;
}

int kube_body_value(struct kube_body *b, size_t *n)
{
	struct kube_scan s = { 0 };
	int rc;

	for (;;) {
		rc = scan(&s, b->buf + b->pos, b->len - b->pos, b->eof);
		if (rc > 0) {
			*n = s.i;
			return 1;
		}
		if (rc < 0)
			return kube_fail(b->kc, rc, "%s: %s", b->kc->conn->what,
					 b->eof ? "reply ended in the middle "
					 "of a JSON value" : "reply is not JSON");
		rc = kube_body_fill(b);
		if (rc < 0)
			return rc;
	}
}

void kube_event_object(struct kube_event *ev, const struct json_doc *d,
		       int obj)
{
	const char *rv = NULL;

	ev->doc = d;
	ev->obj = obj;
	ev->raw = json_raw(d, obj, &ev->raw_len);
	json_as_str(d, json_path(d, obj, "metadata.resourceVersion"), NULL,
		    &rv, NULL, NULL);
	ev->rv = rv ? rv : "";
}

/* --- LIST ------------------------------------------------------------ */

enum lstate {
	L_OPEN, L_KEY_FIRST, L_KEY, L_COLON, L_VALUE, L_NEXT,
	L_ITEM_FIRST, L_ITEM, L_ITEM_NEXT, L_END,
};

enum lkey { K_OTHER, K_ITEMS, K_METADATA };

struct lctx {
	struct kube_client *kc;
	struct kube_body *b;
	struct arena a;
	enum lstate st;
	enum lkey key;
	int have_meta;
	struct kube_list_page *pg;
};

static int bad(struct lctx *l, const char *what)
{
	return kube_fail(l->kc, -EBADMSG, "%s: list reply: %s",
			 l->kc->conn->what, what);
}

static int copy_meta(struct lctx *l, const struct json_doc *d, int md,
		     const char *key, char *out, size_t cap)
{
	const char *s = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (json_as_str(d, json_find(d, md, key), NULL, &s, &len, NULL) < 0)
		return json_typeof(d, json_find(d, md, key)) == JSON_NONE ||
		       json_typeof(d, json_find(d, md, key)) == JSON_NULL ? 0 :
		       bad(l, "metadata: a value is not a string");
	if (len >= cap)
		return kube_fail(l->kc, -EMSGSIZE, "%s: list reply: "
				 "metadata.%s longer than %zu bytes",
				 l->kc->conn->what, key, cap - 1);
	memcpy(out, s, len + 1);
	return 0;
}

static int list_meta(struct lctx *l, const char *text, size_t n)
{
	struct json_doc d;
	int rc;

	rc = kube_parse_span(l->kc, &l->a, &d, text, n, "list metadata");
	if (rc == 0 && json_typeof(&d, 0) != JSON_OBJECT)
		rc = bad(l, "metadata is not an object");
	if (rc == 0)
		rc = copy_meta(l, &d, 0, "resourceVersion", l->pg->rv,
			       sizeof(l->pg->rv));
	if (rc == 0)
		rc = copy_meta(l, &d, 0, "continue", l->pg->cont,
			       sizeof(l->pg->cont));
	l->have_meta = 1;
	arena_free_all(&l->a);
	return rc;
}

static int list_item(struct lctx *l)
{
	struct kube_body *b = l->b;
	struct kube_event ev = { .type = KUBE_EV_ADDED };
	struct json_doc d;
	size_t n;
	int rc;

	rc = kube_body_value(b, &n);
	if (rc < 0)
		return rc;
	if (b->buf[b->pos] != '{')
		return bad(l, "an item is not an object");
	rc = kube_parse_span(l->kc, &l->a, &d, b->buf + b->pos, n,
			     "list item");
	if (rc == 0) {
		kube_event_object(&ev, &d, 0);
		l->pg->items++;
		rc = l->pg->fn(l->pg->arg, &ev);
	}
	arena_free_all(&l->a);
	b->pos += n;
	return rc;
}

static enum lkey key_of(const char *p, size_t n)
{
	if (n == 7 && !memcmp(p, "\"items\"", 7))
		return K_ITEMS;
	if (n == 10 && !memcmp(p, "\"metadata\"", 10))
		return K_METADATA;
	return K_OTHER;
}

static int member_value(struct lctx *l, char c)
{
	struct kube_body *b = l->b;
	size_t n;
	int rc;

	if (l->key == K_ITEMS && c == '[') {
		b->pos++;
		l->st = L_ITEM_FIRST;
		return 0;
	}
	rc = kube_body_value(b, &n);
	if (rc < 0)
		return rc;
	rc = 0;
	if (l->key == K_METADATA)
		rc = list_meta(l, b->buf + b->pos, n);
	else if (l->key == K_ITEMS && (n != 4 || memcmp(b->buf + b->pos,
							"null", 4)))
		rc = bad(l, "items is not an array");
	b->pos += n;
	l->st = L_NEXT;
	return rc;
}

/* One step of the list object's grammar at byte c. */
static int list_step(struct lctx *l, char c)
{
	struct kube_body *b = l->b;
	size_t n;
	int rc;

	switch (l->st) {
	case L_OPEN:
		if (c != '{')
			return bad(l, "not a JSON object");
		l->st = L_KEY_FIRST;
		break;
	case L_KEY_FIRST:
	case L_KEY:
		if (c == '}' && l->st == L_KEY_FIRST) {
			l->st = L_END;
			break;
		}
		if (c != '"')
			return bad(l, "expected a key");
		rc = kube_body_value(b, &n);
		if (rc < 0)
			return rc;
		l->key = key_of(b->buf + b->pos, n);
		b->pos += n;
		l->st = L_COLON;
		return 0;
	case L_COLON:
		if (c != ':')
			return bad(l, "expected ':'");
		l->st = L_VALUE;
		break;
	case L_VALUE:
		return member_value(l, c);
	case L_NEXT:
		if (c != ',' && c != '}')
			return bad(l, "expected ',' or '}'");
		l->st = c == ',' ? L_KEY : L_END;
		break;
	case L_ITEM_FIRST:
	case L_ITEM:
		if (c == ']' && l->st == L_ITEM_FIRST) {
			l->st = L_NEXT;
			break;
		}
		l->st = L_ITEM_NEXT;
		return list_item(l);
	case L_ITEM_NEXT:
		if (c != ',' && c != ']')
			return bad(l, "expected ',' or ']' in items");
		l->st = c == ',' ? L_ITEM : L_NEXT;
		break;
	case L_END:
		return bad(l, "data after the object");
	}
	b->pos++;
	return 0;
}

static int list_body(struct lctx *l)
{
	int rc;

	for (;;) {
		rc = kube_body_skip_ws(l->b);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return l->st == L_END ? 0 : bad(l, "ended early");
		rc = list_step(l, l->b->buf[l->b->pos]);
		if (rc)
			return rc;
	}
}

int kube_list_read(struct kube_client *kc, struct kube_body *b, int first,
		   struct kube_list_page *pg)
{
	struct lctx l = { .kc = kc, .b = b, .st = L_OPEN, .pg = pg };
	int rc;

	arena_init(&l.a);
	pg->rv[0] = pg->cont[0] = '\0';
	rc = list_body(&l);
	if (rc == 0 && (!l.have_meta || (first && !pg->rv[0])))
		rc = bad(&l, "no metadata.resourceVersion");
	arena_free_all(&l.a);
	return rc;
}

static int list_target(struct kube_client *kc, const char *path,
		       const struct kube_list_opts *o, const char *cont,
		       int first)
{
	char limit[24];
	int n, rc;

	n = snprintf(kc->target, sizeof(kc->target), "%s", path);
	if (n < 0 || (size_t)n >= KUBE_PATH_MAX || path[0] != '/' ||
	    strchr(path, '?'))
		return kube_fail(kc, -EINVAL, "LIST %.100s: bad path", path);
	snprintf(limit, sizeof(limit), "%d", o->limit ? o->limit :
		 KUBE_PAGE_SIZE);
	rc = kube_query(kc, "limit", o->limit >= 0 ? limit : NULL);
	if (!rc && cont[0])
		rc = kube_query(kc, "continue", cont);
	if (!rc && first && o->resource_version && *o->resource_version)
		rc = kube_query(kc, "resourceVersion", o->resource_version);
	if (!rc)
		rc = kube_query(kc, "labelSelector", o->label_selector);
	if (!rc)
		rc = kube_query(kc, "fieldSelector", o->field_selector);
	return rc;
}

/* One page: request, parse, deliver. */
static int list_page(struct kube_client *kc, const char *path,
		     const struct kube_list_opts *o, int first,
		     struct kube_list_page *pg)
{
	struct kube_body b;
	int rc;

	rc = list_target(kc, path, o, pg->cont, first);
	if (rc == 0)
		rc = kube_begin(kc, &kc->ep, 1);
	if (rc < 0)
		return rc;
	kube_body_init(&b, kc);
	rc = kube_list_read(kc, &b, first, pg);
	if (rc != 0 && !kc->conn->done)
		http_conn_close(kc->conn);
	kube_body_free(&b);
	return rc;
}

int kube_list(struct kube_client *kc, const char *path,
	      const struct kube_list_opts *o, kube_event_fn fn, void *arg,
	      struct kube_list_result *res)
{
	static const struct kube_list_opts none;
	struct kube_list_result r = { .pages = 0 };
	struct kube_list_page *pg;
	int rc;

	if (!o)
		o = &none;
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return kube_fail(kc, -ENOMEM, "out of memory");
	pg->fn = fn;
	pg->arg = arg;
	do {
		rc = list_page(kc, path, o, !r.pages, pg);
		if (rc)
			break;
		if (!r.pages++)
			memcpy(r.resource_version, pg->rv, sizeof(pg->rv));
	} while (pg->cont[0]);
	r.items = pg->items;
	if (res)
		*res = r;
	free(pg);
	return rc;
}
