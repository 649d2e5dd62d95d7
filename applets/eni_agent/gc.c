/* Garbage collection on the main thread (agent.mu held), from the pod
 * list: allocations whose pod is gone (deleted, finished, or replaced by
 * a pod of the same name) are released after the grace period; exclusive
 * ENIs no pod holds are handed to the worker for deletion.  After a
 * restart, IPs that running pods hold without a record (a lost state
 * file) are reserved for them before any IP is handed out. */
#include <arpa/inet.h>
#include <string.h>

#include "agent.h"

void ea_release_alloc(struct agent *ag, struct ea_alloc *a, int64_t now)
{
	struct ea_pool *p = &ag->pool;
	struct ea_eni *e = NULL;
	struct ea_ip *ip;

	if (a->mode == EA_MODE_ENI) {
		e = ea_eni_find(p, a->eni);
		if (e) {
			e->state = EA_ENI_DELETING;
			ea_kick_worker(ag);
		}
	} else if ((ip = ea_ip_find(p, a->ip, &e)) != NULL) {
		ip->state = EA_IP_IDLE;
		ip->since_ms = now;
		ea_kick_worker(ag);
	}
	ea_alloc_remove(p, a);
	p->dirty = 1;
}

static int pod_holds(const struct ea_pod *pod, const struct ea_alloc *a)
{
	if (!pod || pod->terminal)
		return 0;
	return !a->uid[0] || !pod->uid[0] || !strcmp(a->uid, pod->uid);
}

static void gc_allocs(struct agent *ag, int64_t now)
{
	struct ea_pool *p = &ag->pool;
	struct ea_alloc *a;
	int i;

	for (i = 0; i < p->nalloc; i++) {
		a = &p->alloc[i];
		if (pod_holds(ea_pod_find(&ag->pods, a->ns, a->name), a)) {
			a->gone_ms = 0;
			continue;
		}
		if (!a->gone_ms) {
			a->gone_ms = now ? now : 1;
			continue;
		}
		if (now - a->gone_ms < ag->conf.gc_grace_ms)
			continue;
		log_info("gc: pod %s/%s is gone: releasing %s %s "
			 "(container %.12s)", a->ns, a->name,
			 a->mode == EA_MODE_ENI ? "ENI" : "IP",
			 a->mode == EA_MODE_ENI ? a->eni : inet_ntoa(a->ip),
			 a->cid[0] ? a->cid : "-");
		ea_release_alloc(ag, a, now);
		ag->m.gc_pod_ips++;
		i--;		/* the last entry moved into slot i */
	}
}

static int eni_held(struct ea_pool *p, const struct ea_eni *e)
{
	int i;

	for (i = 0; i < p->nalloc; i++)
		if (p->alloc[i].mode == EA_MODE_ENI &&
		    !strcmp(p->alloc[i].eni, e->id))
			return 1;
	return 0;
}

static void gc_exclusive(struct agent *ag, int64_t now)
{
	struct ea_pool *p = &ag->pool;
	struct ea_eni *e;
	int i;

	for (i = 0; i < p->neni; i++) {
		e = &p->eni[i];
		if (!e->exclusive || e->state == EA_ENI_DELETING)
			continue;
		if (eni_held(p, e)) {
			e->orphan_ms = 0;
		} else if (!e->orphan_ms) {
			e->orphan_ms = now ? now : 1;
		} else if (now - e->orphan_ms >= ag->conf.gc_grace_ms) {
			log_info("gc: exclusive ENI %s is held by no pod: "
				 "deleting it", e->id);
			e->state = EA_ENI_DELETING;
			ea_kick_worker(ag);
		}
	}
}

void ea_gc_pods(struct agent *ag, int64_t now)
{
	if (!ag->ready || !ag->pods.synced || !ag->pods_reserved)
		return;
	gc_allocs(ag, now);
	gc_exclusive(ag, now);
	if (ag->pool.dirty)
		ea_save(ag);
}

static void reserve(struct agent *ag, const struct ea_pod *pod,
		    struct ea_ip *ip, const struct ea_eni *e)
{
	struct ea_alloc *a = ea_alloc_add(&ag->pool);

	if (!a)
		return;
	snprintf(a->ns, sizeof(a->ns), "%s", pod->ns);
	snprintf(a->name, sizeof(a->name), "%s", pod->name);
	snprintf(a->uid, sizeof(a->uid), "%s", pod->uid);
	snprintf(a->eni, sizeof(a->eni), "%s", e->id);
	a->mode = e->exclusive ? EA_MODE_ENI : EA_MODE_ENIIP;
	a->ip = ip->addr;
	a->created = (int64_t)time(NULL);
	ip->state = EA_IP_INUSE;
	ag->pool.dirty = 1;
	log_warn("pod %s/%s holds %s of ENI %s without a record: reserved "
		 "for it", pod->ns, pod->name, inet_ntoa(ip->addr), e->id);
}

void ea_reserve_pod_ips(struct agent *ag)
{
	struct ea_pod *pod;
	struct ea_eni *e;
	struct ea_ip *ip;
	int i;

	if (ag->pods_reserved || !ag->ready || !ag->pods.synced)
		return;
	for (i = 0; i < ag->pods.n; i++) {
		pod = &ag->pods.pod[i];
		if (pod->host_network || pod->terminal || !pod->ip.s_addr)
			continue;
		ip = ea_ip_find(&ag->pool, pod->ip, &e);
		if (!ip || ea_alloc_by_ip(&ag->pool, pod->ip))
			continue;
		reserve(ag, pod, ip, e);
	}
	ag->pods_reserved = 1;
	if (ag->pool.dirty)
		ea_save(ag);
	ea_kick_worker(ag);
}
