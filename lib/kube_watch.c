/* Kubernetes client: WATCH (a chunked stream of JSON events) and the
 * reflector loop (list, watch, resume, relist on 410; see kube.h). */
#include "kube.h"
#include "kube_int.h"
#include "sock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#define WATCH_MIN_S		300	/* client-go: [5 min, 10 min) */
#define WATCH_SLACK_MS		30000
#define DEF_POLL_MS		250
#define DEF_BACKOFF_MS		500
#define DEF_BACKOFF_MAX_MS	30000
#define QUICK_END_MS		1000	/* an empty watch shorter: a failure */

static const char *const type_names[] = {
	[KUBE_EV_ADDED] = "ADDED",
	[KUBE_EV_MODIFIED] = "MODIFIED",
	[KUBE_EV_DELETED] = "DELETED",
	[KUBE_EV_BOOKMARK] = "BOOKMARK",
};

static enum kube_event_type type_of(const char *s)
{
	int t;

	for (t = KUBE_EV_ADDED; t <= KUBE_EV_BOOKMARK; t++)
		if (!strcmp(s, type_names[t]))
			return (enum kube_event_type)t;
	return 0;
}

/* An ERROR event: its Status becomes kc->err. */
static int watch_error(struct kube_client *kc, const struct json_doc *d,
		       int obj)
{
	const char *msg = "", *reason = "";
	int64_t code = 0;

	json_get_int(d, obj, "code", 0, 999, &code, NULL);
	json_get_str(d, obj, "reason", &reason, NULL);
	json_get_str(d, obj, "message", &msg, NULL);
	kc->status = (int)code;
	snprintf(kc->reason, sizeof(kc->reason), "%s", reason);
	return kube_fail(kc, code == 410 ? -ESTALE : -EREMOTEIO,
			 "%s: watch ERROR %d %s: %.400s", kc->conn->what,
			 (int)code, reason, msg);
}

static int watch_event(struct kube_client *kc, struct arena *a,
		       const char *text, size_t n, char *rv, size_t rvlen,
		       kube_event_fn fn, void *arg)
{
	struct kube_event ev = { .type = 0 };
	const char *type = NULL;
	struct json_doc d;
	int obj = -1, rc;

	rc = kube_parse_span(kc, a, &d, text, n, "watch event");
	if (rc < 0)
		return rc;
	if (json_typeof(&d, 0) != JSON_OBJECT ||
	    json_get_str(&d, 0, "type", &type, NULL) < 0 ||
	    json_get_obj(&d, 0, "object", &obj, NULL) < 0 ||
	    json_typeof(&d, obj) != JSON_OBJECT)
		return kube_fail(kc, -EBADMSG, "%s: a watch event without "
				 "type or object", kc->conn->what);
	if (!strcmp(type, "ERROR"))
		return watch_error(kc, &d, obj);
	ev.type = type_of(type);
	if (!ev.type)
		return kube_fail(kc, -EBADMSG, "%s: unknown watch event type "
				 "\"%.40s\"", kc->conn->what, type);
	kube_event_object(&ev, &d, obj);
	if (!ev.rv[0] || strlen(ev.rv) >= rvlen)
		return kube_fail(kc, -EBADMSG, "%s: %s event with %s "
				 "resourceVersion", kc->conn->what, type,
				 ev.rv[0] ? "an overlong" : "no");
	rc = fn(arg, &ev);
	strcpy(rv, ev.rv);
	return rc;
}

static int watch_target(struct kube_client *kc, const char *path,
			const struct kube_watch_opts *o, const char *rv,
			int timeout_s)
{
	char to[24];
	int n, rc;

	n = snprintf(kc->target, sizeof(kc->target), "%s", path);
	if (n < 0 || (size_t)n >= KUBE_PATH_MAX || path[0] != '/' ||
	    strchr(path, '?'))
		return kube_fail(kc, -EINVAL, "WATCH %.100s: bad path", path);
	snprintf(to, sizeof(to), "%d", timeout_s);
	rc = kube_query(kc, "watch", "1");
	rc = rc ? rc : kube_query(kc, "allowWatchBookmarks", "true");
	rc = rc ? rc : kube_query(kc, "timeoutSeconds", to);
	rc = rc ? rc : kube_query(kc, "resourceVersion", *rv ? rv : NULL);
	rc = rc ? rc : kube_query(kc, "labelSelector", o->label_selector);
	return rc ? rc : kube_query(kc, "fieldSelector", o->field_selector);
}

int kube_watch_read(struct kube_client *kc, struct kube_body *b, char *rv,
		    size_t rvlen, kube_event_fn fn, void *arg)
{
	struct arena a;
	size_t n;
	int rc;

	arena_init(&a);
	for (;;) {
		rc = kube_body_skip_ws(b);
		if (rc <= 0)
			break;
		if (b->buf[b->pos] != '{') {
			rc = kube_fail(kc, -EBADMSG, "%s: a watch event is not "
				       "a JSON object", kc->conn->what);
			break;
		}
		rc = kube_body_value(b, &n);
		if (rc < 0)
			break;
		rc = watch_event(kc, &a, b->buf + b->pos, n, rv, rvlen, fn,
				 arg);
		arena_free_all(&a);
		b->pos += n;
		if (rc)
			break;
	}
	arena_free_all(&a);
	return rc;
}

int kube_watch(struct kube_client *kc, const char *path,
	       const struct kube_watch_opts *o, char *rv, size_t rvlen,
	       kube_event_fn fn, void *arg)
{
	static const struct kube_watch_opts none;
	struct http_endpoint ep = kc->ep;
	struct kube_body b;
	int timeout_s, idle_ms, rc;

	if (!o)
		o = &none;
	timeout_s = o->timeout_s > 0 ? o->timeout_s :
		    WATCH_MIN_S + (int)kube_rand(kc, WATCH_MIN_S);
	idle_ms = o->idle_ms > 0 ? o->idle_ms :
		  timeout_s * 1000 + WATCH_SLACK_MS;
	/* Stop checks happen while no byte is pending; once bytes arrived
	 * (chunk framing without data, say), http_read() may wait for the
	 * rest: up to the stream's idle limit, not the usual read limit. */
	ep.io_timeout_ms = idle_ms;
	rc = watch_target(kc, path, o, rv, timeout_s);
	if (rc == 0)
		rc = kube_begin(kc, &ep, 1);
	if (rc < 0)
		return rc;
	kube_body_init(&b, kc);
	b.stop = o->stop;
	b.stop_arg = o->stop_arg;
	b.poll_ms = o->stop_poll_ms > 0 ? o->stop_poll_ms : DEF_POLL_MS;
	b.idle_ms = idle_ms;
	b.last_ms = sock_now_ms();
	rc = kube_watch_read(kc, &b, rv, rvlen, fn, arg);
	if (rc == -ECANCELED && b.stopped)
		rc = KUBE_STOPPED;
	if (rc != 0 || !kc->conn->done)
		http_conn_close(kc->conn);
	kube_body_free(&b);
	return rc;
}

/* --- reflector ---------------------------------------------------------- */

struct refl {
	struct kube_client *kc;
	const struct kube_reflect_opts *o;
	char rv[KUBE_RV_MAX];
	int reset_sent;
	int reset_code;			/* 0 or 410 */
	char reset_msg[KUBE_ERR_SIZE];
	int cb_rc;			/* the callback said stop */
	unsigned events;		/* of the current watch */
	int failures;			/* in a row */
	int just_listed;		/* no watch since the last list */
};

static int emit(struct refl *r, const struct kube_event *ev)
{
	int rc = r->o->fn(r->o->arg, ev);

	if (rc)
		r->cb_rc = rc;
	return rc;
}

static int emit_reset(struct refl *r)
{
	struct kube_event ev = { .type = KUBE_EV_RESET, .obj = -1, .rv = "",
				 .code = r->reset_code };

	ev.message = r->reset_code ? r->reset_msg : "";
	r->reset_sent = 1;
	return emit(r, &ev);
}

static int fwd_list(void *arg, const struct kube_event *ev)
{
	struct refl *r = arg;

	if (!r->reset_sent && emit_reset(r))
		return r->cb_rc;
	return emit(r, ev);
}

static int fwd_watch(void *arg, const struct kube_event *ev)
{
	struct refl *r = arg;

	r->events++;
	return emit(r, ev);
}

static int relist(struct refl *r)
{
	const struct kube_reflect_opts *o = r->o;
	struct kube_list_opts lo = { .label_selector = o->label_selector,
				     .field_selector = o->field_selector,
				     .limit = o->page_size };
	struct kube_event ev = { .type = KUBE_EV_SYNCED, .obj = -1 };
	struct kube_list_result res;
	int rc;

	r->reset_sent = 0;
	rc = kube_list(r->kc, o->path, &lo, fwd_list, r, &res);
	if (rc)
		return rc;
	if (!r->reset_sent && emit_reset(r))
		return r->cb_rc;
	memcpy(r->rv, res.resource_version, sizeof(r->rv));
	ev.rv = r->rv;
	r->reset_code = 0;
	return emit(r, &ev);
}

static int stopped(const struct kube_reflect_opts *o)
{
	return o->stop && o->stop(o->stop_arg);
}

/* Sleep ms in slices, asking stop(): 1 when it said so. */
static int nap(const struct kube_reflect_opts *o, int ms)
{
	int64_t end = sock_now_ms() + ms, left;
	int slice = o->stop_poll_ms > 0 ? o->stop_poll_ms : DEF_POLL_MS;

	while (!stopped(o)) {
		left = end - sock_now_ms();
		if (left <= 0)
			return 0;
		poll(NULL, 0, left < slice ? (int)left : slice);
	}
	return 1;
}

static int backoff_ms(struct refl *r)
{
	int64_t base = r->o->backoff_ms > 0 ? r->o->backoff_ms :
		       DEF_BACKOFF_MS;
	int64_t max = r->o->backoff_max_ms > 0 ? r->o->backoff_max_ms :
		      DEF_BACKOFF_MAX_MS;
	int shift = r->failures - 1 < 20 ? r->failures - 1 : 20;
	int64_t d = base << (shift > 0 ? shift : 0);

	if (d > max)
		d = max;
	return (int)(d / 2 + kube_rand(r->kc, d / 2 + 1));
}

/* Report a failure and wait: 0 to go on, else what to return. */
static int retry(struct refl *r, int rc)
{
	struct kube_event ev = { .type = KUBE_EV_RETRY, .obj = -1 };

	r->failures++;
	ev.rv = r->rv;
	ev.code = r->kc->status ? r->kc->status : rc;
	ev.message = r->kc->err;
	ev.delay_ms = backoff_ms(r);
	if (emit(r, &ev))
		return r->cb_rc;
	return nap(r->o, ev.delay_ms) ? KUBE_STOPPED : 0;
}

/* One watch from r->rv: 0 to watch again, -ESTALE to list again, else
 * a failure. */
static int watch_once(struct refl *r)
{
	const struct kube_reflect_opts *o = r->o;
	struct kube_watch_opts wo = { .label_selector = o->label_selector,
				      .field_selector = o->field_selector,
				      .timeout_s = o->watch_timeout_s,
				      .stop = o->stop,
				      .stop_arg = o->stop_arg,
				      .stop_poll_ms = o->stop_poll_ms };
	struct kube_event ev = { .type = KUBE_EV_WATCH, .obj = -1,
				 .rv = r->rv };
	int64_t t0 = sock_now_ms();
	int rc;

	if (emit(r, &ev))
		return r->cb_rc;
	r->events = 0;
	rc = kube_watch(r->kc, o->path, &wo, r->rv, sizeof(r->rv), fwd_watch,
			r);
	if (r->cb_rc || rc == KUBE_STOPPED)
		return rc;
	if (r->events)
		r->failures = 0;
	if (rc == -ESTALE) {
		r->reset_code = 410;
		snprintf(r->reset_msg, sizeof(r->reset_msg), "%s", r->kc->err);
		return rc;
	}
	if (rc == 0 && !r->events && sock_now_ms() - t0 < QUICK_END_MS)
		return kube_fail(r->kc, -EPIPE, "%s: watch ended at once "
				 "without an event", r->kc->conn->what);
	return rc;
}

int kube_reflect(struct kube_client *kc, const struct kube_reflect_opts *o)
{
	struct refl r = { .kc = kc, .o = o };
	int need_list = 1, rc;

	if (!o || !o->path || !o->fn)
		return kube_fail(kc, -EINVAL, "kube_reflect: no path or "
				 "callback");
	while (!stopped(o)) {
		if (need_list) {
			rc = relist(&r);
			if (r.cb_rc)
				return r.cb_rc;
			if (rc == 0) {
				need_list = 0;
				r.failures = 0;
				r.just_listed = 1;
			}
		} else {
			rc = watch_once(&r);
			if (r.cb_rc || rc == KUBE_STOPPED)
				return r.cb_rc ? r.cb_rc : 0;
			if (rc == -ESTALE) {
				/* Gone: relist, at once unless the list we
				 * just made was already too old */
				need_list = 1;
				rc = r.just_listed && !r.events ? -ESTALE : 0;
			}
			r.just_listed = 0;
		}
		if (rc < 0) {
			rc = retry(&r, rc);
			if (rc)
				return rc == KUBE_STOPPED && !r.cb_rc ? 0 : rc;
		}
	}
	return 0;
}
