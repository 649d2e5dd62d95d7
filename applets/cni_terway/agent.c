/* cni-terway: the calls to eni-agent (lib/eniproto.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni_terway.h"
#include "log.h"

static void req_fill(struct tw *t, struct eniproto_req *q,
		     enum eniproto_op op)
{
	const char *uid = cni_args_get(&t->args, "K8S_POD_UID");

	memset(q, 0, sizeof(*q));
	q->op = op;
	snprintf(q->container_id, sizeof(q->container_id), "%s", t->s.cid);
	snprintf(q->ifname, sizeof(q->ifname), "%s", t->s.ifname);
	snprintf(q->ns, sizeof(q->ns), "%s", t->s.k8s_ns);
	snprintf(q->name, sizeof(q->name), "%s", t->s.k8s_name);
	if (op != ENIPROTO_OP_ALLOC)
		return;
	snprintf(q->netns, sizeof(q->netns), "%s", t->s.netns);
	if (uid && strlen(uid) < sizeof(q->pod_uid))
		strcpy(q->pod_uid, uid);
}

static int min_ms(int a, int b)
{
	return a < b ? a : b;
}

/* What an answer must hold for this plugin (IPv4 for now). */
static int alloc_usable(struct tw *t)
{
	const struct eniproto_resp *r = &t->r;
	int fam = r->mode == ENIPROTO_MODE_VPC ? r->pod_cidr.ip.family :
		  r->ip.ip.family;

	if (fam != AF_INET)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "eni-agent gave an "
				"IPv6 %s allocation: only IPv4 is supported",
				eniproto_mode_name(r->mode));
	if (r->service_cidr.ip.family && r->service_cidr.ip.family != AF_INET)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "eni-agent gave an "
				"IPv6 serviceCIDR: only IPv4 is supported");
	return 0;
}

int tw_alloc(struct tw *t)
{
	struct eniproto_req q;
	char err[ENIPROTO_ERRLEN], ip[IPNET_STRLEN];
	int r;

	req_fill(t, &q, ENIPROTO_OP_ALLOC);
	r = eniproto_call(t->c.socket, t->c.timeout_ms, &q, &t->r, err);
	if (r == -EPROTO || r == -EPROTONOSUPPORT || r == -EINVAL)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "eni-agent alloc: %s",
				err);
	if (r == -ETIMEDOUT) {
		cni_errf(&t->e, CNI_ERR_TRY_AGAIN, "eni-agent did not answer "
			 "within %d ms (timeoutMs)", t->c.timeout_ms);
		return -ETIMEDOUT;
	}
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_TRY_AGAIN, "eni-agent not "
				"reachable: %s", err);
	if (!t->r.ok)
		return cni_errf(&t->e, t->r.code, "eni-agent: %s",
				t->r.msg[0] ? t->r.msg : "alloc failed");
	if (alloc_usable(t) < 0)
		return -EINVAL;
	log_info("alloc %s/%s: mode %s %s", t->s.cid, t->s.ifname,
		 eniproto_mode_name(t->r.mode),
		 ipnet_fmt(t->r.mode == ENIPROTO_MODE_VPC ? &t->r.pod_cidr :
			   &t->r.ip, ip));
	return 0;
}

int tw_release(struct tw *t)
{
	struct eniproto_resp a;
	struct eniproto_req q;
	char err[ENIPROTO_ERRLEN];
	int r;

	if (t->agent_down) {	/* GC: one timeout per run, not one each */
		log_warn("release %s/%s: kept for a later DEL or GC",
			 t->s.cid, t->s.ifname);
		return -1;
	}
	req_fill(t, &q, ENIPROTO_OP_RELEASE);
	r = eniproto_call(t->c.socket, min_ms(t->c.timeout_ms, TW_RELEASE_MS),
			  &q, &a, err);
	if (r < 0) {
		log_warn("release %s/%s: eni-agent not reachable (%s): kept "
			 "for a later DEL or GC", t->s.cid, t->s.ifname, err);
		t->agent_down = 1;
		return -1;
	}
	if (!a.ok && a.code == CNI_ERR_TRY_AGAIN) {
		log_warn("release %s/%s: eni-agent: %s: kept for a later DEL "
			 "or GC", t->s.cid, t->s.ifname, a.msg);
		return -1;
	}
	if (!a.ok)
		log_warn("release %s/%s: eni-agent refused (code %d): %s",
			 t->s.cid, t->s.ifname, a.code, a.msg);
	return 0;
}

int tw_info(struct tw *t)
{
	struct eniproto_req q = { .op = ENIPROTO_OP_INFO };
	struct eniproto_resp a;
	char err[ENIPROTO_ERRLEN];
	int r;

	r = eniproto_call(t->c.socket, min_ms(t->c.timeout_ms, TW_INFO_MS),
			  &q, &a, err);
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_NOT_AVAILABLE, "eni-agent not "
				"reachable: %s", err);
	if (!a.ok)
		return cni_errf(&t->e, CNI_ERR_NOT_AVAILABLE, "eni-agent: %s",
				a.msg);
	log_debug("eni-agent %s: mode %s, pool idle %llu in use %llu",
		  a.version, eniproto_mode_name(a.mode) ?
		  eniproto_mode_name(a.mode) : "-",
		  (unsigned long long)a.pool.idle,
		  (unsigned long long)a.pool.inuse);
	return 0;
}
