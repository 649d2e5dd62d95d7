/* libFuzzer: the Kubernetes watch stream as kube_watch() reads it
 * (kube_watch_read: event framing, JSON parsing, ERROR events, dispatch),
 * fed from the input in pieces as a socket would (see kube_fuzz.h; option
 * bit 2: a 12-byte resourceVersion buffer).  Every event handed out must
 * be a well-formed object with a resourceVersion that fits, rv must end
 * as the last event's (where the next watch resumes), and the
 * outcome (events, their text, rv, return value, error message) must not
 * depend on where the pieces were cut. */
#include "kube_fuzz.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct wrun {
	struct kf_log log;
	const struct kf_opts *o;
	size_t rvlen;
	char last[KUBE_RV_MAX];
};

static int on_event(void *arg, const struct kube_event *ev)
{
	struct wrun *w = arg;

	if (ev->type < KUBE_EV_ADDED || ev->type > KUBE_EV_BOOKMARK)
		abort();
	kf_check_object(ev);
	if (!ev->rv[0] || strlen(ev->rv) >= w->rvlen)
		abort();
	kf_log_event(&w->log, ev);
	memcpy(w->last, ev->rv, strlen(ev->rv) + 1);
	if (w->o->stop_after && w->log.events >= w->o->stop_after)
		return KF_STOP_RC;
	return 0;
}

static void run(struct wrun *w, const struct kf_opts *o, int split)
{
	struct kube_client *kc = kf_client();
	char rv[KUBE_RV_MAX] = "", *p;
	struct kube_body b;
	struct kf_src s;
	int rc;

	memset(w, 0, sizeof(*w));
	w->o = o;
	w->rvlen = o->bit2 ? 12 : sizeof(rv);
	kf_src_init(&s, o, split);
	kf_body(&b, kc, o, &s);
	rc = kube_watch_read(kc, &b, rv, w->rvlen, on_event, w);
	kube_body_free(&b);
	if (rc < 0 && rc != -EBADMSG && rc != -ESTALE && rc != -EREMOTEIO &&
	    rc != -EMSGSIZE)
		abort();
	if (rc > 0 && rc != KF_STOP_RC)
		abort();
	if ((rc < 0) != (kc->err[0] != '\0'))
		abort();
	if ((rc == -ESTALE) != (kc->status == 410))
		abort();
	p = memchr(rv, '\0', w->rvlen);
	if (!p || strcmp(rv, w->last))
		abort();
	w->log.rc = rc;
	w->log.hash = kf_hash(w->log.hash, rv, strlen(rv));
	snprintf(w->log.err, sizeof(w->log.err), "%s", kc->err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wrun whole, split;
	struct kf_opts o;

	if (kf_opts(&o, data, size) < 0)
		return 0;
	run(&whole, &o, 0);
	run(&split, &o, 1);
	if (!kf_same(&whole.log, &split.log))
		abort();
	return 0;
}
