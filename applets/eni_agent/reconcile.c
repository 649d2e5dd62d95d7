/* Reconcile the pool with the cloud, at start and every pool sync
 * period: every ENI tagged for this instance is listed
 * (DescribeNetworkInterfaces by tag); attached ones are adopted (their
 * link configured, their IPs taken over), Available ones are leaks (a
 * crash between create and attach, a failed attach) and are deleted.
 * Then the allocations are matched with the IPs: an allocation whose IP
 * is on no ENI any more is dropped, an IP marked in use that no
 * allocation holds is idle again. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sock.h"
#include "worker.h"

static int collect(void *arg, const struct ea_ceni *e)
{
	struct ea_worker *w = arg;
	struct ea_ceni *p;

	if (w->nscan == w->cscan) {
		p = realloc(w->scan, (size_t)(w->cscan ? w->cscan * 2 : 16) *
			    sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->scan = p;
		w->cscan = w->cscan ? w->cscan * 2 : 16;
	}
	w->scan[w->nscan++] = *e;
	return 0;
}

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int ea_prepare_eni(struct ea_worker *w, struct ea_eni *e, int wait,
		   char *err, size_t errlen)
{
	const struct ea_conf *conf = &w->ag->conf;
	int64_t end = sock_now_ms() + (wait ? conf->link_timeout_ms : 0);
	struct nl_link lk;
	int rc;

	/* metadata may lag behind the attach (terway PR #676) */
	while ((rc = ea_vsw_net(w, e->vsw, e->mac, &e->cidr, &e->gw, err,
				errlen)) == -ENOENT && sock_now_ms() < end)
		nap(200);
	if (rc < 0)
		return rc;
	if (!w->have_links) {
		snprintf(err, errlen, "no netlink socket");
		return -ENOTCONN;
	}
	rc = ea_link_by_mac(&w->links, e->mac, wait ? conf->link_timeout_ms :
			    0, &lk);
	if (rc < 0 && e->exclusive && !wait)
		return 0;	/* in its pod's netns by now */
	if (rc < 0) {
		snprintf(err, errlen, "no link with MAC %s%s: %s", e->mac,
			 wait ? " appeared" : "", strerror(-rc));
		return rc;
	}
	e->ifindex = lk.index;
	if (e->exclusive)	/* cni-terway moves it into the pod */
		return 0;
	rc = ea_link_setup(&w->links, &lk, conf->mtu, &e->cidr, &e->gw, err,
			   errlen);
	if (rc == 0)
		e->table = EA_TABLE_BASE + (unsigned int)lk.index;
	return rc;
}

static void fill_eni(struct ea_eni *e, const struct ea_ceni *ce,
		     int64_t now)
{
	int j;

	snprintf(e->mac, sizeof(e->mac), "%s", ce->mac);
	snprintf(e->vsw, sizeof(e->vsw), "%s", ce->vsw);
	e->exclusive = ce->exclusive;
	ea_eni_ip_add(e, ce->primary, 1, now);
	for (j = 0; j < ce->nips; j++)
		ea_eni_ip_add(e, ce->ip[j], 0, now);
}

/* IP lists of a known ENI: cloud wins, except for IPs a pod holds. */
static void sync_ips(struct agent *ag, struct ea_eni *e,
		     const struct ea_ceni *ce, int64_t now)
{
	int j, k, found;

	for (j = e->nips - 1; j >= 0; j--) {
		found = e->ip[j].addr.s_addr == ce->primary.s_addr;
		for (k = 0; k < ce->nips && !found; k++)
			found = e->ip[j].addr.s_addr == ce->ip[k].s_addr;
		if (found || e->ip[j].state == EA_IP_RELEASING)
			continue;
		if (ea_alloc_by_ip(&ag->pool, e->ip[j].addr)) {
			log_warn("ENI %s: IP %s of a pod is no longer "
				 "assigned in the cloud", e->id,
				 inet_ntoa(e->ip[j].addr));
			continue;
		}
		e->ip[j] = e->ip[--e->nips];
	}
	fill_eni(e, ce, now);
}

/* Configure what is new (no lock held), then merge. */
static int adopt(struct ea_worker *w, const struct ea_ceni *ce, int64_t now)
{
	struct agent *ag = w->ag;
	struct ea_eni tmp, *e;
	char err[EA_MSG_MAX];
	int state, rc;

	ea_lock(ag);
	e = ea_eni_find(&ag->pool, ce->id);
	state = e ? e->state : -1;
	if (e)
		e->seen = 1;
	if (e && state != EA_ENI_LINK) {
		if (state != EA_ENI_DELETING)
			sync_ips(ag, e, ce, now);
		ea_unlock(ag);
		return 0;
	}
	ea_unlock(ag);
	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.id, sizeof(tmp.id), "%s", ce->id);
	fill_eni(&tmp, ce, now);
	rc = ea_prepare_eni(w, &tmp, !e && !tmp.exclusive, err, sizeof(err));
	tmp.state = rc == 0 ? EA_ENI_READY : EA_ENI_LINK;
	if (tmp.state == EA_ENI_LINK)
		log_warn("ENI %s (%s): %s", ce->id, ce->mac, err);
	else if (!e)
		log_info("ENI %s (%s) adopted: %d IPs, table %u%s", ce->id,
			 ce->mac, tmp.nips, tmp.table, tmp.exclusive ?
			 ", exclusive" : "");
	ea_lock(ag);
	e = ea_eni_find(&ag->pool, ce->id);
	if (!e && (e = ea_eni_add(&ag->pool, ce->id)) != NULL) {
		tmp.cap = e->cap;
		*e = tmp;
	} else if (e) {		/* configured now, or not yet */
		e->cidr = tmp.cidr;
		e->gw = tmp.gw;
		e->ifindex = tmp.ifindex;
		e->table = tmp.table;
		e->exclusive = tmp.exclusive;
		if (e->state == EA_ENI_LINK)
			e->state = tmp.state;
	}
	if (e) {
		e->seen = 1;
		sync_ips(ag, e, ce, now);
	}
	ea_unlock(ag);
	return 0;
}

/* An ENI caught in the middle (we stopped during its attach or detach):
 * wait for the end of it, bounded. */
static void settle(struct ea_worker *w, struct ea_ceni *ce, const char *want)
{
	struct ea_ceni now;

	if (ea_wait_eni(&w->c, ce->id, want, w->ag->conf.attach_timeout_ms,
			&now) == 0)
		*ce = now;
	else
		log_warn("ENI %s: still %s", ce->id, ce->status);
}

static void delete_leak(struct ea_worker *w, const struct ea_ceni *ce)
{
	log_info("gc: ENI %s is ours but not attached (%s): deleting it",
		 ce->id, ce->status);
	if (ea_detach_delete_eni(&w->c, ce->id,
				 w->ag->conf.attach_timeout_ms) < 0) {
		log_warn("gc: delete ENI %s: %s %s", ce->id, w->c.e.code,
			 w->c.e.message);
		return;
	}
	ea_lock(w->ag);
	w->ag->m.gc_enis++;
	w->ag->m.enis_deleted++;
	ea_unlock(w->ag);
}

/* Allocations vs IPs (mu held). */
static void match_allocs(struct agent *ag)
{
	struct ea_pool *p = &ag->pool;
	struct ea_alloc *a;
	struct ea_eni *e;
	struct ea_ip *ip;
	int i, j;

	for (i = 0; i < p->neni; i++)
		for (j = 0; j < p->eni[i].nips; j++)
			if (p->eni[i].ip[j].state == EA_IP_INUSE &&
			    !p->eni[i].exclusive &&
			    !ea_alloc_by_ip(p, p->eni[i].ip[j].addr))
				p->eni[i].ip[j].state = EA_IP_IDLE;
	for (i = p->nalloc - 1; i >= 0; i--) {
		a = &p->alloc[i];
		ip = ea_ip_find(p, a->ip, &e);
		if (ip && !strcmp(e->id, a->eni) &&
		    (a->mode == EA_MODE_ENI) == (e->exclusive != 0)) {
			ip->state = EA_IP_INUSE;
			continue;
		}
		log_warn("dropping the allocation of pod %s/%s (container "
			 "%.12s): %s %s is not on ENI %s any more", a->ns,
			 a->name, a->cid, a->mode == EA_MODE_ENI ? "ENI IP" :
			 "IP", inet_ntoa(a->ip), a->eni);
		ea_alloc_remove(p, a);
		p->dirty = 1;
	}
}

/* ENIs of the pool the cloud no longer lists as ours and attached. */
static void forget_unseen(struct agent *ag)
{
	struct ea_pool *p = &ag->pool;
	int i;

	for (i = p->neni - 1; i >= 0; i--)
		if (!p->eni[i].seen) {
			log_warn("ENI %s is gone from the instance",
				 p->eni[i].id);
			ea_eni_remove(p, &p->eni[i]);
		}
}

int ea_reconcile(struct ea_worker *w, char *err, size_t errlen)
{
	struct agent *ag = w->ag;
	struct aliyun_param f[] = { { "Tag.1.Key", EA_TAG_INSTANCE },
				    { "Tag.1.Value", ag->inst.id } };
	int64_t now = sock_now_ms();
	int i, rc;

	w->nscan = 0;
	rc = ea_describe_enis(&w->c, f, 2, collect, w);
	if (rc < 0) {
		snprintf(err, errlen, "DescribeNetworkInterfaces: %s %s",
			 w->c.e.code, w->c.e.message);
		return rc;
	}
	ea_lock(ag);
	for (i = 0; i < ag->pool.neni; i++)
		ag->pool.eni[i].seen = ag->pool.eni[i].state == EA_ENI_DELETING;
	ea_unlock(ag);
	for (i = 0; i < w->nscan; i++) {
		const struct ea_ceni *ce = &w->scan[i];

		if (!ce->ours || strcmp(ce->tag_instance, ag->inst.id))
			continue;
		if (!strcmp(ce->status, "Attaching") &&
		    !strcmp(ce->instance, ag->inst.id))
			settle(w, &w->scan[i], "InUse");
		else if (!strcmp(ce->status, "Detaching"))
			settle(w, &w->scan[i], "Available");
		if (!strcmp(ce->status, "InUse") &&
		    !strcmp(ce->instance, ag->inst.id))
			adopt(w, ce, now);
		else if (!strcmp(ce->status, "Available"))
			delete_leak(w, ce);
	}
	ea_lock(ag);
	forget_unseen(ag);
	match_allocs(ag);
	if (ag->pool.dirty)
		ea_save(ag);
	ea_unlock(ag);
	return 0;
}
