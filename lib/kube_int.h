/* kube internals shared by kube.c, kube_list.c and kube_watch.c; not part
 * of the API. */
#ifndef VPCNET_KUBE_INT_H
#define VPCNET_KUBE_INT_H

#include "kube.h"

#include <stddef.h>

#define KUBE_DEF_TIMEOUT_MS	30000
#define KUBE_STATUS_BODY_MAX	65536

int kube_fail(struct kube_client *kc, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append "?key=value" or "&key=value" (value percent-encoded) to
 * kc->target; no-op for a NULL value. */
int kube_query(struct kube_client *kc, const char *key, const char *value);

/* Start the request in kc->target: token refresh, 401 retry, and a
 * non-2xx reply turned into an error (-EACCES, ...) with its Status. */
int kube_begin(struct kube_client *kc, const struct http_endpoint *ep,
	       int stream);

/* The reply body, read into a growing buffer. */
struct kube_body {
	struct kube_client *kc;
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

/* Fill ev for the object obj of d: doc, obj, raw text, rv ("" when the
 * object has none; strings in d's arena). */
void kube_event_object(struct kube_event *ev, const struct json_doc *d,
		       int obj);

int64_t kube_rand(struct kube_client *kc, int64_t n);

#endif
