/* kube internals shared by kube.c, kube_list.c and kube_watch.c; not part
 * of the API. */
#ifndef VPCNET_KUBE_INT_H
#define VPCNET_KUBE_INT_H

#include "kube.h"

#include <stddef.h>
#include <sys/types.h>

#define KUBE_DEF_TIMEOUT_MS	30000
#define KUBE_STATUS_BODY_MAX	65536
#define KUBE_CONT_MAX		4096	/* continue token + NUL */

int kube_fail(struct kube_client *kc, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append "?key=value" or "&key=value" (value percent-encoded) to
 * kc->target; no-op for a NULL value. */
int kube_query(struct kube_client *kc, const char *key, const char *value);

/* Start the request in kc->target: token refresh, 401 retry, and a
 * non-2xx reply turned into an error (-EACCES, ...) with its Status. */
int kube_begin(struct kube_client *kc, const struct http_endpoint *ep,
	       int stream);

/* Where body bytes come from instead of kc->conn (tests, fuzzers): up to
 * len bytes into buf, > 0, 0 at the end, or -errno, as http_read().  No
 * stop() or idle checks are made then. */
typedef ssize_t (*kube_src_fn)(void *arg, char *buf, size_t len);

/* The reply body, read into a growing buffer. */
struct kube_body {
	struct kube_client *kc;
	kube_src_fn src;	/* NULL: http_read(kc->conn) */
	void *src_arg;
	char *buf;
	size_t len, pos, cap;	/* pos: where parsing stands */
	size_t max;		/* largest value that must fit */
	int eof;
	/* watches: wait in slices, asking stop(); give up after idle_ms */
	kube_stop_fn stop;
	void *stop_arg;
	int poll_ms;
	int idle_ms;
	int64_t last_ms;	/* last byte received */
	int stopped;
};

void kube_body_init(struct kube_body *b, struct kube_client *kc);
void kube_body_free(struct kube_body *b);

/* Drop buf[0..pos), read more: 1, 0 at the end of the body, or -errno
 * (kc->err); -ECANCELED with b->stopped set when stop() said so. */
int kube_body_fill(struct kube_body *b);

/* Skip whitespace at pos: 1 at a non-space byte, 0 at the end, or -errno. */
int kube_body_skip_ws(struct kube_body *b);

/* Incremental scan of one JSON value at buf[pos] (no leading space). */
struct kube_scan {
	size_t i;		/* bytes scanned so far */
	int depth, in_str, esc;
};

/* One complete value at buf[pos..pos + *n): 1, or -errno (the body ended
 * early, the value is larger than b->max, or not JSON). */
int kube_body_value(struct kube_body *b, size_t *n);

/* Parse text[0..len) (a span of the body) for a callback. */
int kube_parse_span(struct kube_client *kc, struct arena *a,
		    struct json_doc *d, const char *text, size_t len,
		    const char *what);

/* One List reply (a page) read from b: each item goes to fn as an ADDED
 * event.  rv and cont get metadata.resourceVersion and .continue ("" when
 * absent); items counts the items delivered (added to). */
struct kube_list_page {
	kube_event_fn fn;
	void *arg;
	char rv[KUBE_RV_MAX];
	char cont[KUBE_CONT_MAX];
	unsigned items;
};

/* 0, fn's non-zero value, or -errno (kc->err): -EBADMSG for a reply that
 * is not a List (or, when first, has no resourceVersion), -EMSGSIZE. */
int kube_list_read(struct kube_client *kc, struct kube_body *b, int first,
		   struct kube_list_page *pg);

/* Watch events from b until the body ends (0), fn returns non-zero (that
 * value) or a failure: -ESTALE / -EREMOTEIO for an ERROR event, -EBADMSG,
 * -EMSGSIZE, ...  rv (rvlen bytes) gets each event's resourceVersion. */
int kube_watch_read(struct kube_client *kc, struct kube_body *b, char *rv,
		    size_t rvlen, kube_event_fn fn, void *arg);

/* Fill ev for the object obj of d: doc, obj, raw text, rv ("" when the
 * object has none; strings in d's arena). */
void kube_event_object(struct kube_event *ev, const struct json_doc *d,
		       int obj);

int64_t kube_rand(struct kube_client *kc, int64_t n);

#endif
