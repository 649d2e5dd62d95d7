/* The CNI requests (protocol v1, lib/eniproto): alloc, release, info.
 * Runs on the main thread with agent.mu held and never blocks: an alloc
 * that needs the cloud (no idle IP, an exclusive ENI) waits for the
 * worker and is tried again on each wake-up, until its deadline.
 * An allocation is written to the state file before it is answered. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nl.h"
#include "server.h"
#include "sock.h"

#define ERR_BAD_REQUEST	100
#define ERR_INTERNAL	101

static void put_out(struct ea_conn *c, const char *buf, int n)
{
	free(c->out);
	c->out = malloc(n > 0 ? (size_t)n + 1 : 1);
	c->outlen = c->out && n > 0 ? (size_t)n : 0;
	c->outoff = 0;
	if (c->outlen)
		memcpy(c->out, buf, (size_t)n);
	if (c->out)
		c->out[c->outlen] = '\0';
}

static void answer(struct ea_conn *c, const struct eniproto_resp *r)
{
	char buf[2048];
	int n;

	c->ans_ok = r->ok;
	c->ans_mode = r->mode == ENIPROTO_MODE_ENI ? EA_MODE_ENI :
		r->mode == ENIPROTO_MODE_VPC ? EA_MODE_VPC : EA_MODE_ENIIP;
	n = eniproto_resp_encode(r, c->req.op, buf, sizeof(buf));
	if (n < 0)
		n = snprintf(buf, sizeof(buf), "{\"v\":1,\"ok\":false,\"code\":"
			     "%d,\"msg\":\"cannot encode the answer\"}\n",
			     ERR_INTERNAL);
	put_out(c, buf, n);
}

void ea_answer_error(struct ea_conn *c, int code, const char *fmt, ...)
{
	struct eniproto_resp r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.code = code;
	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	answer(c, &r);
}

static struct ipnet v4net(struct in_addr a, int prefix)
{
	struct ipnet n;

	memset(&n, 0, sizeof(n));
	n.ip.family = AF_INET;
	n.ip.v4 = a;
	n.prefix = prefix;
	return n;
}

/* The answer for an allocation. */
static void answer_alloc(struct agent *ag, struct ea_conn *c,
			 const struct ea_alloc *a, const struct ea_pod *pod)
{
	struct eniproto_resp r;
	struct ea_eni *e = ea_eni_find(&ag->pool, a->eni);

	memset(&r, 0, sizeof(r));
	r.ok = 1;
	r.mode = a->mode == EA_MODE_ENI ? ENIPROTO_MODE_ENI :
		ENIPROTO_MODE_ENIIP;
	if (!e) {
		ea_answer_error(c, 11, "ENI %s of this allocation is gone",
				a->eni);
		return;
	}
	r.ip = v4net(a->ip, e->cidr.prefix);
	r.gateway = e->gw;
	snprintf(r.eni.id, sizeof(r.eni.id), "%s", e->id);
	r.eni.has_mac = nl_mac_parse(e->mac, r.eni.mac) == 0;
	r.eni.primary_ip.family = AF_INET;
	r.eni.primary_ip.v4 = ea_eni_primary(e);
	if (a->mode == EA_MODE_ENIIP)
		r.table = e->table;
	r.service_cidr = ag->conf.service_cidr;
	if (pod) {
		r.ingress = pod->ingress;
		r.egress = pod->egress;
	}
	answer(c, &r);
}

static void answer_vpc(struct agent *ag, struct ea_conn *c,
		       const struct ea_pod *pod)
{
	struct eniproto_resp r;

	memset(&r, 0, sizeof(r));
	r.ok = 1;
	r.mode = ENIPROTO_MODE_VPC;
	r.pod_cidr = ag->pod_cidr;
	ipnet_mask(&r.pod_cidr);
	r.service_cidr = ag->conf.service_cidr;
	r.ingress = pod->ingress;
	r.egress = pod->egress;
	answer(c, &r);
}

static int wait_for(struct ea_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int wait_for(struct ea_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return 0;
}

static int saved(struct agent *ag, struct ea_conn *c)
{
	if (ea_save(ag) == 0)
		return 1;
	ea_answer_error(c, ERR_INTERNAL, "cannot write the state file under "
			"%s (see the agent's log)", ag->conf.state_dir);
	return 0;
}

static void fill_alloc(struct ea_alloc *a, const struct eniproto_req *q,
		       const struct ea_pod *pod, enum ea_mode mode)
{
	snprintf(a->cid, sizeof(a->cid), "%s", q->container_id);
	snprintf(a->ifname, sizeof(a->ifname), "%s", q->ifname);
	snprintf(a->ns, sizeof(a->ns), "%s", q->ns);
	snprintf(a->name, sizeof(a->name), "%s", q->name);
	snprintf(a->uid, sizeof(a->uid), "%s", q->pod_uid[0] ? q->pod_uid :
		 pod->uid);
	a->mode = mode;
	a->created = (int64_t)time(NULL);
	a->gone_ms = 0;
}

/* An idle IP for the pod, or why not (0: wait). */
static int alloc_ip(struct agent *ag, struct ea_conn *c,
		    const struct ea_pod *pod, int64_t now)
{
	struct ea_pool *p = &ag->pool;
	struct ea_alloc *a = ea_alloc_reserved(p, c->req.ns, c->req.name);
	struct ea_eni *e;
	struct ea_ip *ip = NULL;
	char msg[EA_MSG_MAX];

	if (a && a->mode == EA_MODE_ENIIP) {	/* held before a restart */
		fill_alloc(a, &c->req, pod, EA_MODE_ENIIP);
		p->dirty = 1;
	} else if ((ip = ea_pool_take(p, &e))) {
		a = ea_alloc_add(p);
		if (!a) {
			ea_answer_error(c, ERR_INTERNAL, "out of memory");
			return 1;
		}
		fill_alloc(a, &c->req, pod, EA_MODE_ENIIP);
		a->ip = ip->addr;
		snprintf(a->eni, sizeof(a->eni), "%s", e->id);
		ip->state = EA_IP_INUSE;
		ip->since_ms = now;
		p->dirty = 1;
	} else if (ea_pool_full(ag, msg, sizeof(msg))) {
		ea_answer_error(c, 11, "%s", msg);
		return 1;
	} else if (p->grow_err[0] &&
		   (now < p->grow_retry_ms ||
		    (c->want_ip && c->gen != p->grow_err_gen))) {
		ea_answer_error(c, 11, "%s", p->grow_err);
		return 1;
	} else {
		if (!c->want_ip) {
			c->want_ip = 1;
			c->gen = p->grow_err_gen;
			p->pending++;
			ea_kick_worker(ag);
		}
		return wait_for(c, "no idle IP yet: the pool is growing");
	}
	if (!saved(ag, c)) {	/* not handed out: undo a new one */
		if (ip) {
			ip->state = EA_IP_IDLE;
			ea_alloc_remove(p, a);
		}
		return 1;
	}
	log_info("alloc %s/%s container=%.12s ip=%s eni=%s", a->ns, a->name,
		 a->cid, inet_ntoa(a->ip), a->eni);
	answer_alloc(ag, c, a, pod);
	return 1;
}

/* The pod's own ENI: asked from the worker, answered when it is there. */
static int alloc_eni(struct agent *ag, struct ea_conn *c,
		     const struct ea_pod *pod, int64_t now)
{
	struct ea_pool *p = &ag->pool;
	struct ea_eni_req *r = ea_req_find(p, c->req.container_id,
					   c->req.ifname);
	struct ea_alloc *a = ea_alloc_reserved(p, c->req.ns, c->req.name);

	if (a && a->mode == EA_MODE_ENI) {	/* held before a restart */
		fill_alloc(a, &c->req, pod, EA_MODE_ENI);
		p->dirty = 1;
		if (saved(ag, c))
			answer_alloc(ag, c, a, pod);
		return 1;
	}
	if (r && r->state == EA_REQ_FAILED) {
		ea_answer_error(c, 11, "%s", r->msg);
		ea_req_remove(p, r);
		return 1;
	}
	if (r)
		return wait_for(c, "creating and attaching an exclusive ENI");
	if (ea_pool_attached(p) >= p->eni_quota) {
		ea_answer_error(c, 11, "no ENI left for an exclusive ENI: all "
				"%d ENIs of %s are attached", p->eni_quota,
				ag->inst.type);
		return 1;
	}
	r = ea_req_add(p);
	if (!r) {
		ea_answer_error(c, ERR_INTERNAL, "out of memory");
		return 1;
	}
	snprintf(r->cid, sizeof(r->cid), "%s", c->req.container_id);
	snprintf(r->ifname, sizeof(r->ifname), "%s", c->req.ifname);
	snprintf(r->ns, sizeof(r->ns), "%s", c->req.ns);
	snprintf(r->name, sizeof(r->name), "%s", c->req.name);
	snprintf(r->uid, sizeof(r->uid), "%s", c->req.pod_uid[0] ?
		 c->req.pod_uid : pod->uid);
	r->deadline_ms = now + ag->conf.attach_timeout_ms * 2;
	log_info("alloc %s/%s container=%.12s: creating an exclusive ENI",
		 r->ns, r->name, r->cid);
	ea_kick_worker(ag);
	return wait_for(c, "creating and attaching an exclusive ENI");
}

/* Ready to hand out addresses?  0 with c->why when not. */
static int can_alloc(struct agent *ag, struct ea_conn *c)
{
	if (!ag->ready)
		return wait_for(c, "the agent is starting: %s", ag->status);
	if (!ag->pods.synced)
		return wait_for(c, "no pod list from Kubernetes yet%s%s",
				ag->pods.err[0] ? ": " : "", ag->pods.err);
	if (!ag->pods_reserved)
		return wait_for(c, "reconciling with the pods");
	return 1;
}

static int do_alloc(struct agent *ag, struct ea_conn *c, int64_t now)
{
	struct ea_alloc *a;
	struct ea_pod *pod;

	if (!can_alloc(ag, c))
		return 0;
	pod = ea_pod_find(&ag->pods, c->req.ns, c->req.name);
	a = ea_alloc_find(&ag->pool, c->req.container_id, c->req.ifname);
	if (a) {
		answer_alloc(ag, c, a, pod);
		return 1;
	}
	if (!pod) {
		if (now - c->started_ms < ag->conf.pod_wait_ms)
			return wait_for(c, "pod %s/%s is not known yet",
					c->req.ns, c->req.name);
		ea_answer_error(c, 3, "pod %s/%s is not on node %s",
				c->req.ns, c->req.name, ag->conf.node);
		return 1;
	}
	if (pod->bw_err[0]) {
		ea_answer_error(c, 7, "pod %s/%s: %s", pod->ns, pod->name,
				pod->bw_err);
		return 1;
	}
	if (pod->eni)
		return alloc_eni(ag, c, pod, now);
	if (ag->conf.mode == EA_MODE_VPC) {
		if (!ag->pod_cidr.ip.family)
			return wait_for(c, "node %s has no podCIDR yet",
					ag->conf.node);
		answer_vpc(ag, c, pod);
		return 1;
	}
	return alloc_ip(ag, c, pod, now);
}

static void do_release(struct agent *ag, struct ea_conn *c, int64_t now)
{
	struct eniproto_resp r = { .ok = 1 };
	struct ea_eni_req *q;
	struct ea_alloc *a;

	q = ea_req_find(&ag->pool, c->req.container_id, c->req.ifname);
	if (q && q->state == EA_REQ_TAKEN) {
		q->cancel = 1;	/* the worker deletes the ENI it makes */
	} else if (q) {
		if (q->state == EA_REQ_WAIT)
			log_info("release %s/%s container=%.12s: exclusive "
				 "ENI request dropped", q->ns, q->name, q->cid);
		ea_req_remove(&ag->pool, q);
	}
	a = ea_alloc_find(&ag->pool, c->req.container_id, c->req.ifname);
	if (a) {
		log_info("release %s/%s container=%.12s ip=%s", a->ns, a->name,
			 a->cid, inet_ntoa(a->ip));
		ea_release_alloc(ag, a, now);
		if (ea_save(ag) < 0) {
			ea_answer_error(c, ERR_INTERNAL, "cannot write the "
					"state file under %s",
					ag->conf.state_dir);
			return;
		}
	}
	ag->m.releases++;
	answer(c, &r);
}

static void do_info(struct agent *ag, struct ea_conn *c)
{
	struct eniproto_resp r;
	struct ea_pool_count n;

	memset(&r, 0, sizeof(r));
	ea_pool_count(&ag->pool, &n);
	r.ok = 1;
	r.mode = ag->conf.mode == EA_MODE_VPC ? ENIPROTO_MODE_VPC :
		ENIPROTO_MODE_ENIIP;
	snprintf(r.version, sizeof(r.version), "%s", VPCNET_VERSION);
	r.pool.idle = (uint64_t)n.idle;
	r.pool.inuse = (uint64_t)n.inuse;
	r.pool.enis = (uint64_t)n.enis;
	r.pool.min = (uint64_t)ag->pool.min;
	r.pool.max = (uint64_t)ag->pool.max;
	answer(c, &r);
}

/* Errors count under the mode of the pod when known, else eniip. */
static void count_alloc(struct agent *ag, struct ea_conn *c, int64_t now)
{
	int mode = c->ans_mode;

	if (c->ans_ok) {
		ag->m.alloc_ok[mode]++;
		ag->m.alloc_seconds += (double)(now - c->started_ms) / 1000;
	} else {
		ag->m.alloc_fail[mode]++;
	}
}

int ea_handle(struct agent *ag, struct ea_conn *c, int64_t now)
{
	int done = 1;

	switch (c->req.op) {
	case ENIPROTO_OP_ALLOC:
		done = do_alloc(ag, c, now);
		if (done)
			count_alloc(ag, c, now);
		break;
	case ENIPROTO_OP_RELEASE:
		do_release(ag, c, now);
		break;
	case ENIPROTO_OP_INFO:
		do_info(ag, c);
		break;
	default:
		ea_answer_error(c, ERR_BAD_REQUEST, "unknown op");
	}
	if (done && c->want_ip) {
		c->want_ip = 0;
		ag->pool.pending--;
	}
	return done;
}

void ea_handle_timeout(struct agent *ag, struct ea_conn *c)
{
	ea_answer_error(c, 11, "timed out after %d ms: %s",
			ag->conf.alloc_timeout_ms, c->why);
	if (c->req.op == ENIPROTO_OP_ALLOC)
		count_alloc(ag, c, sock_now_ms());
	if (c->want_ip) {
		c->want_ip = 0;
		ag->pool.pending--;
	}
}
