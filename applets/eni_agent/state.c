/* The pool in memory: ENIs with their IPs, the allocations, and the
 * exclusive-ENI requests.  Callers hold agent.mu.  Arrays grow by
 * doubling; removal moves the last entry into the hole (no order kept,
 * so never keep a pointer across a removal). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "agent.h"

static int grow_arr(void **arr, int *cap, int n, size_t size)
{
	void *p;
	int ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, (size_t)ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void ea_pool_free(struct ea_pool *p)
{
	free(p->eni);
	free(p->alloc);
	free(p->req);
	p->eni = NULL;
	p->alloc = NULL;
	p->req = NULL;
	p->neni = p->ceni = p->nalloc = p->calloc = p->nreq = p->creq = 0;
}

struct ea_eni *ea_eni_find(struct ea_pool *p, const char *id)
{
	int i;

	for (i = 0; i < p->neni; i++)
		if (!strcmp(p->eni[i].id, id))
			return &p->eni[i];
	return NULL;
}

struct ea_eni *ea_eni_add(struct ea_pool *p, const char *id)
{
	struct ea_eni *e;

	if (grow_arr((void **)&p->eni, &p->ceni, p->neni, sizeof(*p->eni)) < 0)
		return NULL;
	e = &p->eni[p->neni++];
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->cap = p->ips_per_eni > 0 && p->ips_per_eni <= EA_MAX_ENI_IPS ?
		p->ips_per_eni : EA_MAX_ENI_IPS;
	return e;
}

void ea_eni_remove(struct ea_pool *p, struct ea_eni *e)
{
	int i = (int)(e - p->eni);

	if (i < 0 || i >= p->neni)
		return;
	if (i != p->neni - 1)
		p->eni[i] = p->eni[p->neni - 1];
	p->neni--;
}

struct ea_ip *ea_ip_find(struct ea_pool *p, struct in_addr a,
			 struct ea_eni **eni)
{
	int i, j;

	for (i = 0; i < p->neni; i++)
		for (j = 0; j < p->eni[i].nips; j++)
			if (p->eni[i].ip[j].addr.s_addr == a.s_addr) {
				if (eni)
					*eni = &p->eni[i];
				return &p->eni[i].ip[j];
			}
	return NULL;
}

struct ea_ip *ea_eni_ip_add(struct ea_eni *e, struct in_addr a, int primary,
			    int64_t now)
{
	struct ea_ip *ip;
	int j;

	for (j = 0; j < e->nips; j++)
		if (e->ip[j].addr.s_addr == a.s_addr)
			return &e->ip[j];
	if (e->nips == EA_MAX_ENI_IPS)
		return NULL;
	ip = &e->ip[e->nips++];
	memset(ip, 0, sizeof(*ip));
	ip->addr = a;
	ip->primary = primary != 0;
	ip->state = EA_IP_IDLE;
	ip->since_ms = now;
	return ip;
}

void ea_eni_ip_remove(struct ea_eni *e, struct in_addr a)
{
	int j;

	for (j = 0; j < e->nips; j++)
		if (e->ip[j].addr.s_addr == a.s_addr) {
			e->ip[j] = e->ip[--e->nips];
			return;
		}
}

struct ea_alloc *ea_alloc_find(struct ea_pool *p, const char *cid,
			       const char *ifname)
{
	int i;

	for (i = 0; i < p->nalloc; i++)
		if (p->alloc[i].cid[0] && !strcmp(p->alloc[i].cid, cid) &&
		    !strcmp(p->alloc[i].ifname, ifname))
			return &p->alloc[i];
	return NULL;
}

struct ea_alloc *ea_alloc_by_ip(struct ea_pool *p, struct in_addr a)
{
	int i;

	for (i = 0; i < p->nalloc; i++)
		if (p->alloc[i].mode != EA_MODE_VPC &&
		    p->alloc[i].ip.s_addr == a.s_addr)
			return &p->alloc[i];
	return NULL;
}

struct ea_alloc *ea_alloc_reserved(struct ea_pool *p, const char *ns,
				   const char *name)
{
	int i;

	for (i = 0; i < p->nalloc; i++)
		if (!p->alloc[i].cid[0] && !strcmp(p->alloc[i].ns, ns) &&
		    !strcmp(p->alloc[i].name, name))
			return &p->alloc[i];
	return NULL;
}

struct ea_alloc *ea_alloc_add(struct ea_pool *p)
{
	struct ea_alloc *a;

	if (grow_arr((void **)&p->alloc, &p->calloc, p->nalloc,
		 sizeof(*p->alloc)) < 0)
		return NULL;
	a = &p->alloc[p->nalloc++];
	memset(a, 0, sizeof(*a));
	return a;
}

void ea_alloc_remove(struct ea_pool *p, struct ea_alloc *a)
{
	int i = (int)(a - p->alloc);

	if (i < 0 || i >= p->nalloc)
		return;
	if (i != p->nalloc - 1)
		p->alloc[i] = p->alloc[p->nalloc - 1];
	p->nalloc--;
}

/* Idle IP of a ready shared ENI: the fullest ENI first (keeps others
 * emptiable), the longest idle IP of it (a released IP rests). */
struct ea_ip *ea_pool_take(struct ea_pool *p, struct ea_eni **eni)
{
	struct ea_ip *best = NULL;
	int i, j, inuse, best_inuse = -1;

	for (i = 0; i < p->neni; i++) {
		struct ea_eni *e = &p->eni[i];

		if (e->exclusive || e->state != EA_ENI_READY)
			continue;
		for (inuse = 0, j = 0; j < e->nips; j++)
			inuse += e->ip[j].state == EA_IP_INUSE;
		for (j = 0; j < e->nips; j++) {
			struct ea_ip *ip = &e->ip[j];

			if (ip->state != EA_IP_IDLE)
				continue;
			if (!best || inuse > best_inuse ||
			    (inuse == best_inuse &&
			     ip->since_ms < best->since_ms)) {
				best = ip;
				best_inuse = inuse;
				*eni = e;
			}
		}
	}
	return best;
}

void ea_pool_count(const struct ea_pool *p, struct ea_pool_count *c)
{
	int i, j;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < p->neni; i++) {
		const struct ea_eni *e = &p->eni[i];

		if (e->exclusive) {
			c->exclusive++;
			continue;
		}
		c->enis++;
		for (j = 0; j < e->nips; j++) {
			c->total++;
			if (e->ip[j].state == EA_IP_INUSE)
				c->inuse++;
			else if (e->ip[j].state == EA_IP_RELEASING)
				c->releasing++;
			else if (e->state == EA_ENI_READY)
				c->idle++;
		}
	}
}

int ea_pool_attached(const struct ea_pool *p)
{
	return p->neni + 1;
}

void ea_pool_plan_in(const struct ea_pool *p, struct ea_plan_eni *out,
		     int *map, struct ea_plan_in *in)
{
	struct ea_pool_count c;
	int i, j, n = 0;

	ea_pool_count(p, &c);
	for (i = 0; i < p->neni; i++) {
		const struct ea_eni *e = &p->eni[i];
		struct ea_plan_eni *o = &out[n];

		if (e->exclusive || e->state == EA_ENI_DELETING)
			continue;
		memset(o, 0, sizeof(*o));
		o->nips = e->nips;
		o->cap = e->cap;
		o->usable = e->state == EA_ENI_READY;
		for (j = 0; j < e->nips; j++) {
			if (e->ip[j].state != EA_IP_IDLE)
				o->inuse++;
			else if (e->ip[j].primary)
				o->primary_idle = 1;
			else
				o->idle_secondary++;
		}
		map[n++] = i;
	}
	memset(in, 0, sizeof(*in));
	in->eni = out;
	in->neni = n;
	in->idle = c.idle;
	in->pending = p->pending;
	in->min = p->min;
	in->max = p->max;
	in->attached = ea_pool_attached(p);
	in->eni_quota = p->eni_quota;
	in->ips_per_eni = p->ips_per_eni;
	in->can_create = 1;
}

struct ea_eni_req *ea_req_find(struct ea_pool *p, const char *cid,
			       const char *ifname)
{
	int i;

	for (i = 0; i < p->nreq; i++)
		if (!strcmp(p->req[i].cid, cid) &&
		    !strcmp(p->req[i].ifname, ifname))
			return &p->req[i];
	return NULL;
}

struct ea_eni_req *ea_req_add(struct ea_pool *p)
{
	struct ea_eni_req *r;

	if (grow_arr((void **)&p->req, &p->creq, p->nreq, sizeof(*p->req)) < 0)
		return NULL;
	r = &p->req[p->nreq++];
	memset(r, 0, sizeof(*r));
	return r;
}

void ea_req_remove(struct ea_pool *p, struct ea_eni_req *r)
{
	int i = (int)(r - p->req);

	if (i < 0 || i >= p->nreq)
		return;
	if (i != p->nreq - 1)
		p->req[i] = p->req[p->nreq - 1];
	p->nreq--;
}

struct in_addr ea_eni_primary(const struct ea_eni *e)
{
	struct in_addr none = { 0 };
	int j;

	for (j = 0; j < e->nips; j++)
		if (e->ip[j].primary)
			return e->ip[j].addr;
	return none;
}

int ea_pool_full(struct agent *ag, char *msg, size_t len)
{
	struct ea_pool *p = &ag->pool;
	struct ea_plan_eni pe[64];
	struct ea_plan_in in;
	struct ea_plan plan;
	struct ea_pool_count c;
	int map[64];

	if (!p->quota_known || p->neni > 64)
		return 0;
	ea_pool_plan_in(p, pe, map, &in);
	in.pending = p->pending + 1;
	in.min = 0;
	ea_plan_step(&in, &plan);
	if (plan.op != EA_PLAN_FULL)
		return 0;
	ea_pool_count(p, &c);
	snprintf(msg, len, "no free IP: %d of %d pod IPs in use, the ENI "
		 "quota of %s is used up (%d ENIs x %d IPs, %d exclusive)",
		 c.inuse, c.total, ag->inst.type, p->eni_quota, p->ips_per_eni,
		 c.exclusive);
	return 1;
}
