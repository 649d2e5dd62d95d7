/* The worker's pool jobs: carry out one step of plan.c at a time (assign
 * IPs in a batch, create and attach an ENI, unassign idle IPs, delete an
 * emptied ENI), exclusive ENIs for pods, and ENIs to delete.  A failure
 * is recorded in pool.grow_err (the waiting allocs fail with it, code 11)
 * and growth backs off: a full vSwitch is left alone for a minute, the
 * quota is never retried blindly. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "sock.h"
#include "worker.h"

#define BACKOFF_FIRST_MS	1000
#define BACKOFF_MAX_MS		30000
#define SHRINK_RETRY_MS		30000
#define MAX_PLAN_ENI		64

static void grow_failed(struct ea_worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void grow_failed(struct ea_worker *w, const char *fmt, ...)
{
	struct ea_pool *p = &w->ag->pool;
	va_list ap;

	w->grow_backoff_ms = w->grow_backoff_ms ? w->grow_backoff_ms * 2 :
		BACKOFF_FIRST_MS;
	if (w->grow_backoff_ms > BACKOFF_MAX_MS)
		w->grow_backoff_ms = BACKOFF_MAX_MS;
	ea_lock(w->ag);
	va_start(ap, fmt);
	vsnprintf(p->grow_err, sizeof(p->grow_err), fmt, ap);
	va_end(ap);
	p->grow_err_gen++;
	p->grow_retry_ms = sock_now_ms() + w->grow_backoff_ms;
	log_warn("pool: %s (next try in %lld ms)", p->grow_err,
		 (long long)w->grow_backoff_ms);
	ea_unlock(w->ag);
	ea_wake_main(w->ag);
}

static void grow_ok(struct ea_worker *w)
{
	w->grow_backoff_ms = 0;
	ea_lock(w->ag);
	w->ag->pool.grow_err[0] = '\0';
	w->ag->pool.grow_retry_ms = 0;
	ea_unlock(w->ag);
	ea_wake_main(w->ag);
}

static int vsw_index(struct ea_worker *w, const char *id)
{
	int i;

	for (i = 0; i < w->nvsw; i++)
		if (!strcmp(w->vsw[i].id, id))
			return i;
	return -1;
}

static void block_vsw(struct ea_worker *w, const char *id)
{
	int i = vsw_index(w, id);

	if (i >= 0)
		w->vsw_block_until[i] = sock_now_ms() + EA_VSW_BLOCK_MS;
	log_warn("vSwitch %s has no free IP: not used for %d s", id,
		 EA_VSW_BLOCK_MS / 1000);
}

static int vsw_blocked(struct ea_worker *w, const char *id)
{
	int i = vsw_index(w, id);

	return i >= 0 && sock_now_ms() < w->vsw_block_until[i];
}

static void api_msg(struct ea_worker *w, const char *what, char *err,
		    size_t errlen)
{
	snprintf(err, errlen, "%s: %.100s%s%.300s", what, w->c.e.code,
		 w->c.e.code[0] ? ": " : "", w->c.e.message);
}

/* The vSwitch for a new ENI, free counts refreshed: index or -1. */
static int pick_vsw(struct ea_worker *w, int need, char *err, size_t errlen)
{
	int i;

	if (ea_describe_vswitches(&w->c, w->vsw, w->nvsw) < 0)
		log_warn("DescribeVSwitches: %s %s", w->c.e.code,
			 w->c.e.message);
	for (i = 0; i < w->nvsw; i++)
		w->vsw[i].blocked = vsw_blocked(w, w->vsw[i].id);
	i = ea_pick_vswitch(w->vsw, w->nvsw, w->ag->conf.vsw_policy, need);
	if (i < 0)
		snprintf(err, errlen, "no free IP in the vSwitches of zone "
			 "%.64s (%.64s%s)", w->ag->inst.zone, w->vsw[0].id,
			 w->nvsw > 1 ? ", ..." : "");
	return i;
}

/* Create, attach and prepare an ENI with n IPs: 0 with *out filled. */
static int new_eni(struct ea_worker *w, int n, int exclusive,
		   struct ea_eni *out, char *err, size_t errlen)
{
	struct ea_ceni ce;
	int i, tries, rc = -ENOSPC;

	for (tries = 0; tries < w->nvsw + 1; tries++) {
		i = pick_vsw(w, n, err, errlen);
		if (i < 0)
			return -ENOSPC;
		if (w->vsw[i].free > 0 && w->vsw[i].free < n)
			n = (int)w->vsw[i].free;
		rc = ea_create_eni(&w->c, w->vsw[i].id, n - 1, exclusive, &ce);
		if (rc == 0)
			break;
		api_msg(w, "CreateNetworkInterface", err, errlen);
		if (!ea_err_vsw_full(w->c.e.code))
			return rc;
		block_vsw(w, w->vsw[i].id);
	}
	if (rc < 0)
		return rc;
	ea_lock(w->ag);
	w->ag->m.enis_created++;
	ea_unlock(w->ag);
	rc = ea_attach_eni(&w->c, ce.id, w->ag->conf.attach_timeout_ms, &ce);
	if (rc < 0) {
		api_msg(w, "AttachNetworkInterface", err, errlen);
		if (!strcmp(w->c.e.code, "EniPerInstanceLimitExceeded")) {
			ea_lock(w->ag);
			w->ag->pool.eni_quota = ea_pool_attached(&w->ag->pool);
			ea_unlock(w->ag);
			log_warn("ENI quota: the cloud says %d ENIs is all",
				 ea_pool_attached(&w->ag->pool));
		}
		if (rc != -ETIMEDOUT)	/* else: the next sync sorts it out */
			ea_detach_delete_eni(&w->c, ce.id,
					     w->ag->conf.attach_timeout_ms);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", ce.id);
	snprintf(out->mac, sizeof(out->mac), "%s", ce.mac);
	snprintf(out->vsw, sizeof(out->vsw), "%s", ce.vsw);
	out->exclusive = exclusive;
	ea_eni_ip_add(out, ce.primary, 1, sock_now_ms());
	for (i = 0; i < ce.nips; i++)
		ea_eni_ip_add(out, ce.ip[i], 0, sock_now_ms());
	rc = ea_prepare_eni(w, out, 1, err, errlen);
	out->state = rc == 0 ? EA_ENI_READY : EA_ENI_LINK;
	if (rc < 0)
		log_warn("ENI %s: %s", ce.id, err);
	log_info("ENI %s (%s) created in %s: %d IPs, table %u%s", ce.id,
		 ce.mac, ce.vsw, out->nips, out->table,
		 exclusive ? ", exclusive" : "");
	return 0;
}

static int do_create(struct ea_worker *w, int n)
{
	struct ea_eni tmp, *e;
	char err[EA_MSG_MAX];

	if (new_eni(w, n, 0, &tmp, err, sizeof(err)) < 0) {
		grow_failed(w, "%s", err);
		return -1;
	}
	ea_lock(w->ag);
	e = ea_eni_add(&w->ag->pool, tmp.id);
	if (e) {
		tmp.cap = e->cap;
		*e = tmp;
	}
	ea_unlock(w->ag);
	grow_ok(w);
	return 1;
}

static int do_assign(struct ea_worker *w, const char *id, int n)
{
	struct in_addr ips[10];
	struct ea_eni *e;
	int got = 0, i, rc;

	rc = ea_assign_ips(&w->c, id, n > 10 ? 10 : n, ips, &got);
	ea_lock(w->ag);
	e = ea_eni_find(&w->ag->pool, id);
	if (rc == 0 && e)
		for (i = 0; i < got; i++)
			ea_eni_ip_add(e, ips[i], 0, sock_now_ms());
	if (rc < 0 && e &&
	    !strcmp(w->c.e.code, "InvalidOperation.Ipv4CountExceeded"))
		e->cap = e->nips;	/* the cloud knows better */
	ea_unlock(w->ag);
	if (rc == 0) {
		log_info("pool: %d IPs assigned to ENI %s", got, id);
		grow_ok(w);
		return 1;
	}
	if (!strcmp(w->c.e.code, "InvalidOperation.Ipv4CountExceeded"))
		return 1;
	if (e && ea_err_vsw_full(w->c.e.code))
		block_vsw(w, e->vsw);
	grow_failed(w, "AssignPrivateIpAddresses %s: %s%s%s", id,
		    w->c.e.code, w->c.e.code[0] ? ": " : "", w->c.e.message);
	return -1;
}

static int do_unassign(struct ea_worker *w, const char *id,
		       struct in_addr *ips, int n)
{
	struct ea_eni *e;
	int rc, i;

	rc = ea_unassign_ips(&w->c, id, ips, n);
	ea_lock(w->ag);
	e = ea_eni_find(&w->ag->pool, id);
	for (i = 0; e && i < n; i++) {
		if (rc == 0) {
			ea_eni_ip_remove(e, ips[i]);
		} else {
			struct ea_ip *ip = ea_ip_find(&w->ag->pool, ips[i],
						      NULL);
			if (ip)
				ip->state = EA_IP_IDLE;
		}
	}
	if (rc == 0)
		w->ag->m.ips_returned += (unsigned long)n;
	ea_unlock(w->ag);
	if (rc == 0) {
		log_info("pool: %d idle IPs of ENI %s given back", n, id);
		return 1;
	}
	log_warn("UnassignPrivateIpAddresses %s: %s %s", id, w->c.e.code,
		 w->c.e.message);
	w->shrink_retry_ms = sock_now_ms() + SHRINK_RETRY_MS;
	return -1;
}

/* Idle secondary IPs of ENI e marked releasing (mu held). */
static int take_idle(struct ea_eni *e, int n, struct in_addr *out)
{
	int j, k = 0;

	for (j = 0; j < e->nips && k < n; j++)
		if (e->ip[j].state == EA_IP_IDLE && !e->ip[j].primary) {
			e->ip[j].state = EA_IP_RELEASING;
			out[k++] = e->ip[j].addr;
		}
	return k;
}

/* Pods wait and nothing can grow: the quota is used up (msg), or every
 * vSwitch is exhausted.  The waiting allocs fail with the reason, and
 * new ones until a vSwitch may be tried again. */
static void no_room(struct ea_worker *w, const char *msg)
{
	struct ea_pool *p = &w->ag->pool;
	int64_t until = 0;
	int i;

	for (i = 0; i < w->nvsw; i++)
		if (!until || w->vsw_block_until[i] < until)
			until = w->vsw_block_until[i];
	ea_lock(w->ag);
	if (msg)
		snprintf(p->grow_err, sizeof(p->grow_err), "%s", msg);
	else
		snprintf(p->grow_err, sizeof(p->grow_err), "no free IP: the "
			 "ENIs are full and the vSwitches of zone %.64s "
			 "(%.64s%s) have no free IP; next try in %lld s",
			 w->ag->inst.zone, w->vsw[0].id, w->nvsw > 1 ?
			 ", ..." : "",
			 (long long)(until - sock_now_ms()) / 1000);
	p->grow_err_gen++;
	if (!msg)
		p->grow_retry_ms = until;
	ea_unlock(w->ag);
	ea_wake_main(w->ag);
}

/* The plan under the lock; what the step needs is copied out. */
static void plan(struct ea_worker *w, struct ea_plan *pl, char *id,
		 struct in_addr *ips, int *n)
{
	struct ea_pool *p = &w->ag->pool;
	struct ea_plan_eni pe[MAX_PLAN_ENI];
	struct ea_plan_in in;
	int map[MAX_PLAN_ENI], i;
	struct ea_eni *e;

	pl->op = EA_PLAN_NONE;
	if (!p->quota_known || p->neni > MAX_PLAN_ENI)
		return;
	ea_pool_plan_in(p, pe, map, &in);
	in.batch = w->ag->conf.batch;
	for (i = 0; i < in.neni; i++)
		if (vsw_blocked(w, p->eni[map[i]].vsw))
			pe[i].usable = 0;
	for (in.can_create = 0, i = 0; i < w->nvsw; i++)
		in.can_create |= !vsw_blocked(w, w->vsw[i].id);
	ea_plan_step(&in, pl);
	if (pl->op == EA_PLAN_NONE || pl->op == EA_PLAN_FULL ||
	    pl->op == EA_PLAN_CREATE)
		return;
	e = &p->eni[map[pl->eni]];
	snprintf(id, EA_ID_MAX, "%s", e->id);
	if (pl->op == EA_PLAN_UNASSIGN)
		*n = take_idle(e, pl->count > 10 ? 10 : pl->count, ips);
	else if (pl->op == EA_PLAN_DELETE_ENI)
		e->state = EA_ENI_DELETING;
}

int ea_pool_work(struct ea_worker *w)
{
	struct ea_plan pl;
	struct in_addr ips[10];
	char id[EA_ID_MAX], msg[EA_MSG_MAX];
	int64_t now = sock_now_ms();
	int n = 0, grow_wait, full;

	ea_lock(w->ag);
	grow_wait = now < w->ag->pool.grow_retry_ms;
	plan(w, &pl, id, ips, &n);
	full = pl.op == EA_PLAN_FULL && w->ag->pool.pending &&
		ea_pool_full(w->ag, msg, sizeof(msg));
	ea_unlock(w->ag);
	if (pl.op != EA_PLAN_NONE)
		log_debug("pool: plan %s count %d", ea_plan_op_name(pl.op),
			  pl.count);
	switch (pl.op) {
	case EA_PLAN_ASSIGN:
		return grow_wait ? 0 : do_assign(w, id, pl.count);
	case EA_PLAN_CREATE:
		return grow_wait ? 0 : do_create(w, pl.count);
	case EA_PLAN_UNASSIGN:
		if (now < w->shrink_retry_ms || !n) {
			ea_lock(w->ag);	/* not now: back to idle */
			while (n--)
				ea_ip_find(&w->ag->pool, ips[n], NULL)->state =
					EA_IP_IDLE;
			ea_unlock(w->ag);
			return 0;
		}
		return do_unassign(w, id, ips, n);
	case EA_PLAN_DELETE_ENI:
		return ea_delete_work(w);
	case EA_PLAN_FULL:
		no_room(w, full ? msg : NULL);
		return 0;
	default:
		return 0;
	}
}

int ea_delete_work(struct ea_worker *w)
{
	char id[EA_ID_MAX] = "";
	struct ea_eni *e;
	int i, rc;

	ea_lock(w->ag);
	for (i = 0; i < w->ag->pool.neni && !id[0]; i++)
		if (w->ag->pool.eni[i].state == EA_ENI_DELETING)
			snprintf(id, sizeof(id), "%s", w->ag->pool.eni[i].id);
	ea_unlock(w->ag);
	if (!id[0])
		return 0;
	rc = ea_detach_delete_eni(&w->c, id, w->ag->conf.attach_timeout_ms);
	if (rc < 0) {
		log_warn("delete ENI %s: %s %s", id, w->c.e.code,
			 w->c.e.message);
		return -1;
	}
	log_info("ENI %s detached and deleted", id);
	ea_lock(w->ag);
	e = ea_eni_find(&w->ag->pool, id);
	if (e)
		ea_eni_remove(&w->ag->pool, e);
	w->ag->m.enis_deleted++;
	ea_unlock(w->ag);
	ea_wake_main(w->ag);
	return 1;
}

/* The pod's ENI is attached: record it (mu held). */
static void exclusive_done(struct agent *ag, struct ea_eni *tmp,
			   const struct ea_eni_req *r)
{
	struct ea_eni *e = ea_eni_add(&ag->pool, tmp->id);
	struct ea_alloc *a;

	if (!e)
		return;
	tmp->cap = e->cap;
	*e = *tmp;
	if (r->cancel) {
		e->state = EA_ENI_DELETING;
		return;
	}
	e->ip[0].state = EA_IP_INUSE;
	a = ea_alloc_add(&ag->pool);
	if (!a)
		return;
	snprintf(a->cid, sizeof(a->cid), "%s", r->cid);
	snprintf(a->ifname, sizeof(a->ifname), "%s", r->ifname);
	snprintf(a->ns, sizeof(a->ns), "%s", r->ns);
	snprintf(a->name, sizeof(a->name), "%s", r->name);
	snprintf(a->uid, sizeof(a->uid), "%s", r->uid);
	a->mode = EA_MODE_ENI;
	a->ip = e->ip[0].addr;
	snprintf(a->eni, sizeof(a->eni), "%s", e->id);
	a->created = (int64_t)time(NULL);
	ag->pool.dirty = 1;
	ea_save(ag);
}

int ea_exclusive_work(struct ea_worker *w)
{
	struct ea_eni_req r, *q;
	struct ea_eni tmp;
	char err[EA_MSG_MAX];
	int i, found = 0, rc;

	ea_lock(w->ag);
	for (i = 0; i < w->ag->pool.nreq && !found; i++)
		if (w->ag->pool.req[i].state == EA_REQ_WAIT) {
			w->ag->pool.req[i].state = EA_REQ_TAKEN;
			r = w->ag->pool.req[i];
			found = 1;
		}
	ea_unlock(w->ag);
	if (!found)
		return 0;
	rc = new_eni(w, 1, 1, &tmp, err, sizeof(err));
	ea_lock(w->ag);
	q = ea_req_find(&w->ag->pool, r.cid, r.ifname);
	if (rc == 0) {
		r.cancel = q ? q->cancel : 1;
		exclusive_done(w->ag, &tmp, &r);
		if (q)
			ea_req_remove(&w->ag->pool, q);
	} else if (q) {
		q->state = EA_REQ_FAILED;
		snprintf(q->msg, sizeof(q->msg), "exclusive ENI for "
			 "%.64s/%.100s: %.280s", r.ns, r.name, err);
	}
	ea_unlock(w->ag);
	if (rc < 0)
		log_warn("alloc %s/%s container=%.12s: exclusive ENI: %s",
			 r.ns, r.name, r.cid, err);
	else
		log_info("alloc %s/%s container=%.12s: exclusive ENI %s%s",
			 r.ns, r.name, r.cid, tmp.id, r.cancel ? ", released "
			 "meanwhile: deleting it" : "");
	ea_wake_main(w->ag);
	return 1;
}
