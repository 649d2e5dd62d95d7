/* Kubernetes API client: configuration (in-cluster or explicit), GET, LIST
 * with limit/continue paging, WATCH, and a reflector (list, then watch;
 * resume after a dropped stream; relist on 410 Gone; back off on errors).
 *
 *	struct kube_config cfg;
 *	struct kube_client kc;
 *	kube_config_init(&cfg);
 *	rc = kube_config_in_cluster(&cfg, NULL, err, sizeof(err));
 *	    (or set cfg.server, token_file, ca_file, cert_file + key_file)
 *	rc = kube_client_init(&kc, &cfg, err, sizeof(err));
 *	rc = kube_reflect(&kc, &(struct kube_reflect_opts){
 *		.path = "/api/v1/pods", .fn = on_event, .arg = ctx,
 *		.stop = should_stop });
 *	kube_client_free(&kc);
 *
 * Paths are API paths, without a query for list and watch:
 * "/api/v1/pods", "/api/v1/namespaces/NS/pods/NAME",
 * "/apis/networking.k8s.io/v1/networkpolicies" (kube_path() builds them).
 *
 * Objects reach callbacks as a parsed struct json_doc and the token of the
 * object; both (and the text) are valid during the callback only: copy
 * what you keep.  Lists are read item by item from the response stream, so
 * memory is bounded by the largest object (cfg.max_object), not the list.
 *
 * A client serves one thread at a time: give each reflector thread its
 * own.  Functions return 0 or -errno, and on failure kc->err holds one line
 * naming the request (never its query or the token) and the reason,
 * including the API's Status message when there was one:
 *	"GET https://10.0.0.1:443/api/v1/pods: 403 Forbidden: pods is
 *	 forbidden: User \"x\" cannot list resource \"pods\" ..."
 * kc->status holds the HTTP status (the Status code for watch ERROR events;
 * 0 for transport failures) and kc->reason the Status reason.
 *	-EACCES		401 Unauthorized, 403 Forbidden
 *	-ENOENT		404 Not Found
 *	-ESTALE		410 Gone: resourceVersion too old, continue expired
 *	-EREMOTEIO	any other error status from the API
 *	-EBADMSG	a reply that is not what the API sends
 *	-EMSGSIZE	an object larger than cfg.max_object
 *	others		transport and TLS errors (lib/http, lib/tls)
 *
 * Bearer token: read from cfg.token_file at init, re-read at most every
 * cfg.token_reload_s seconds and at once on a 401, in which case the
 * request is retried once with the new token (projected service-account
 * tokens rotate). */
#ifndef VPCNET_KUBE_H
#define VPCNET_KUBE_H

#include "arena.h"
#include "http.h"
#include "json.h"
#include "tls.h"

#include <stddef.h>
#include <stdint.h>

#define KUBE_SA_DIR		"/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_TOKEN_MAX		8192	/* bytes of a bearer token */
#define KUBE_RV_MAX		128	/* resourceVersion + NUL */
#define KUBE_TARGET_MAX		8192	/* path + query of one request */
#define KUBE_ERR_SIZE		1024
#define KUBE_PATH_MAX		512
#define KUBE_PAGE_SIZE		500	/* default list limit */
#define KUBE_TOKEN_RELOAD_S	60
#define KUBE_MAX_OBJECT		(4u << 20)
#define KUBE_STOPPED		1	/* returned when stop() said so */

struct kube_config {
	char server[512];	/* "https://host:port", "http://..." */
	char token_file[512];	/* bearer token file; "": none */
	char ca_file[512];	/* "": TLS_DEFAULT_CA_FILE */
	char cert_file[512];	/* client certificate (PEM); "": none */
	char key_file[512];	/* its key (PEM), required with cert_file */
	char tls_name[256];	/* name the server cert must carry; "": host */
	char namespace[256];	/* in-cluster: the pod's namespace, or "" */
	int token_reload_s;	/* 0: KUBE_TOKEN_RELOAD_S; < 0: each request */
	int timeout_ms;		/* per request head / GET; 0: 30000 */
	int io_timeout_ms;	/* longest wait for one read; 0: 30000 */
	size_t max_object;	/* bytes of one object or event; 0: 4 MiB */
};

/* Zero cfg (every setting at its default). */
void kube_config_init(struct kube_config *cfg);

/* In-cluster settings: server from KUBERNETES_SERVICE_HOST and _PORT
 * (IPv6 in brackets), token_file, ca_file (ca.crt) and namespace from
 * sa_dir (NULL: KUBE_SA_DIR; the namespace file may be absent).  -ENOENT
 * naming the variable that is not set, -EINVAL for a bad port. */
int kube_config_in_cluster(struct kube_config *cfg, const char *sa_dir,
			   char *err, size_t errlen);

struct kube_client {
	struct kube_config cfg;
	struct http_endpoint ep;
	struct tls_config tls;
	int tls_used;
	struct http_conn *conn;		/* heap, kept alive between calls */
	char auth[KUBE_TOKEN_MAX + 32];	/* "Authorization: Bearer ..." */
	int64_t token_read_ms;		/* last read of token_file */
	unsigned token_reads;		/* times token_file was read */
	unsigned requests;		/* requests sent */
	uint64_t rng;			/* backoff jitter */
	char target[KUBE_TARGET_MAX];	/* request being built */
	int status;			/* of the last failure; 0 transport */
	char reason[64];		/* Status reason of the last failure */
	char err[KUBE_ERR_SIZE];
};

/* Load the CA (https), client certificate, and token; no request is made.
 * Free with kube_client_free() even after a failure. */
int kube_client_init(struct kube_client *kc, const struct kube_config *cfg,
		     char *err, size_t errlen);
void kube_client_free(struct kube_client *kc);

/* "/api/v1[/namespaces/NS]/RESOURCE[/NAME]" for api_version "v1", or
 * "/apis/GROUP/VERSION/..." for "GROUP/VERSION"; ns and name may be NULL
 * or "".  -EINVAL for a segment holding '/', '?', '%', '#', spaces or
 * control characters, -ENAMETOOLONG when len is too small. */
int kube_path(char *buf, size_t len, const char *api_version, const char *ns,
	      const char *resource, const char *name);

/* GET path (a query may follow) and parse the reply into doc (root token
 * 0), text and tokens in arena a. */
int kube_get(struct kube_client *kc, const char *path, struct arena *a,
	     struct json_doc *doc);

enum kube_event_type {
	KUBE_EV_ADDED = 1,	/* watch event, or an item of a list */
	KUBE_EV_MODIFIED,
	KUBE_EV_DELETED,
	KUBE_EV_BOOKMARK,	/* only obj.metadata.resourceVersion is set */
	/* kube_reflect() only: */
	KUBE_EV_RESET,		/* a full list follows as ADDED events: mark
				 * everything you hold stale (code: 0 first
				 * list, 410 relist after Gone) */
	KUBE_EV_SYNCED,		/* the list is complete (rv): drop what is
				 * still stale */
	KUBE_EV_WATCH,		/* a watch starts from rv (information) */
	KUBE_EV_RETRY,		/* a failure (code, message); the next try
				 * comes after delay_ms */
};

struct kube_event {
	enum kube_event_type type;
	const struct json_doc *doc;	/* NULL for RESET, SYNCED, WATCH, RETRY */
	int obj;			/* the object's token in doc, or -1 */
	const char *raw;		/* the object's JSON text (raw_len bytes) */
	size_t raw_len;
	const char *rv;			/* object's or list's resourceVersion */
	int code;			/* RESET, RETRY: HTTP/Status code or
					 * -errno */
	const char *message;		/* RESET (410), RETRY: kc->err */
	int delay_ms;			/* RETRY */
};

/* 0: go on.  Non-zero stops the call, which returns that value (so
 * return < 0 for an error, > 0 to stop cleanly). */
typedef int (*kube_event_fn)(void *arg, const struct kube_event *ev);

/* Returns non-zero to make a long call return (KUBE_STOPPED). */
typedef int (*kube_stop_fn)(void *arg);

struct kube_list_opts {
	const char *label_selector;	/* NULL: every object */
	const char *field_selector;	/* NULL: every object */
	int limit;			/* page size; 0: KUBE_PAGE_SIZE, < 0:
					 * no paging */
	const char *resource_version;	/* NULL: most recent */
};

struct kube_list_result {
	char resource_version[KUBE_RV_MAX];	/* of the list: watch from it */
	unsigned pages;
	unsigned items;
};

/* LIST path, following continue tokens; each item goes to fn as a
 * KUBE_EV_ADDED event (rv: the item's resourceVersion).  An expired
 * continue token (410) returns -ESTALE: items already delivered are part
 * of an incomplete list, so start over.  o and res may be NULL. */
int kube_list(struct kube_client *kc, const char *path,
	      const struct kube_list_opts *o, kube_event_fn fn, void *arg,
	      struct kube_list_result *res);

struct kube_watch_opts {
	const char *label_selector;
	const char *field_selector;
	int timeout_s;		/* timeoutSeconds; 0: random in [300, 600) */
	int idle_ms;		/* no byte for this long: dead stream,
				 * -ETIMEDOUT; 0: timeout_s + 30 s */
	kube_stop_fn stop;	/* asked while waiting; NULL: never */
	void *stop_arg;
	int stop_poll_ms;	/* how often stop() is asked; 0: 250 */
};

/* WATCH path from resource version rv ("": from now, with synthetic ADDED
 * events for existing objects), with allowWatchBookmarks=true.  Each event
 * (ADDED, MODIFIED, DELETED, BOOKMARK) goes to fn; afterwards rv holds its
 * resourceVersion, so a new watch from rv continues without a gap.
 * Returns 0 when the server ended the stream (timeoutSeconds), -ESTALE
 * for 410 Gone (HTTP or an ERROR event), -EREMOTEIO for another ERROR
 * event (kc->err has its Status), KUBE_STOPPED when stop() said so, fn's
 * non-zero value, or another -errno.  o may be NULL. */
int kube_watch(struct kube_client *kc, const char *path,
	       const struct kube_watch_opts *o, char *rv, size_t rvlen,
	       kube_event_fn fn, void *arg);

struct kube_reflect_opts {
	const char *path;		/* collection: "/api/v1/pods" */
	const char *label_selector;
	const char *field_selector;
	int page_size;			/* 0: KUBE_PAGE_SIZE */
	int watch_timeout_s;		/* 0: random in [300, 600) each */
	int backoff_ms;			/* first retry delay; 0: 500 */
	int backoff_max_ms;		/* 0: 30000 */
	kube_event_fn fn;
	void *arg;
	kube_stop_fn stop;		/* NULL: run until fn says stop */
	void *stop_arg;
	int stop_poll_ms;		/* 0: 250 */
};

/* List (RESET, ADDED..., SYNCED), then watch from the list's
 * resourceVersion, forever: after a stream ends or drops, watch again from
 * the last resourceVersion seen (bookmarks included) so no event is lost
 * or repeated; on 410 Gone list again (RESET with code 410).  Failures
 * are reported as RETRY events and retried after a delay doubling from
 * backoff_ms up to backoff_max_ms, with jitter (each delay in [d/2, d]),
 * reset by progress.  Returns 0 when stop() said so, fn's non-zero value,
 * or -EINVAL for bad options; never gives up on its own. */
int kube_reflect(struct kube_client *kc, const struct kube_reflect_opts *o);

#endif
