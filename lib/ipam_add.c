/* ipam ADD: round-robin allocation as upstream host-local (see ipam.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipam.h"
#include "fs.h"
#include "ipam_int.h"

#define LAST_PREFIX "last_reserved_ip."
#define MAX_REQUESTED 64

/* --- ADD ----------------------------------------------------------------- */

struct slot {
	struct ipaddr ip;
	int status;
};

struct addctx {
	const struct ipam_request *req;
	char cid[IPAM_CID_MAX];
	struct slot *slots;
	size_t n, cap;
	struct ipam_iplist mine;    /* addresses (cid, ifname) already holds */
	struct ipam_iplist created; /* by this call, for rollback */
	unsigned char used[MAX_REQUESTED];
};

static int slot_cmp(const void *a, const void *b)
{
	return ip_cmp(&((const struct slot *)a)->ip,
		      &((const struct slot *)b)->ip);
}

static int add_scan_cb(struct ipam *h, const struct ipam_lease *l, void *arg)
{
	struct addctx *c = arg;
	struct slot *v;
	int rc;

	if (ipam_is_mine(l, c->cid, c->req->ifname, 0) ||
	    ipam_is_mine(l, c->cid, c->req->ifname, 1)) {
		rc = ipam_iplist_push(h, &c->mine, &l->ip);
		if (rc < 0)
			return rc;
	}
	if (c->n == c->cap) {
		v = realloc(c->slots, (c->cap ? c->cap * 2 : 64) * sizeof(*v));
		if (!v)
			return ipam_seterr(h, -ENOMEM, "out of memory");
		c->slots = v;
		c->cap = c->cap ? c->cap * 2 : 64;
	}
	c->slots[c->n].ip = l->ip;
	c->slots[c->n++].status = l->status;
	return 0;
}

static const struct slot *slot_find(const struct addctx *c,
				    const struct ipaddr *ip)
{
	struct slot key = {.ip = *ip};

	if (!c->n)
		return NULL;
	return bsearch(&key, c->slots, c->n, sizeof(key), slot_cmp);
}

/* Taken unless absent, empty or corrupt. */
static int slot_taken(const struct slot *s)
{
	return s && s->status != IPAM_LEASE_EMPTY &&
	       s->status != IPAM_LEASE_CORRUPT;
}

/* Write a small file completely: 0 or -errno. */
static int put_file(int dirfd, const char *name, int flags, mode_t mode,
		    const char *buf, size_t len)
{
	int fd, rc;

	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, mode);
	if (fd < 0)
		return -errno;
	rc = fs_write_all(fd, buf, len);
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* 1 = reserved, 0 = someone else has it, <0 = error. */
static int reserve(struct ipam *h, struct addctx *c, const struct ipaddr *ip,
		   const struct slot *s)
{
	char name[IP_STRLEN], buf[IPAM_CID_MAX + IPAM_IFNAME_MAX + 2];
	int n, rc;

	ipam_ip_fmt(ip, name);
	if (s) {
		ipam_notice(h, "replacing %s lease file %s/%s",
			    ipam_status_name(s->status), h->dir, name);
		if (unlinkat(h->dirfd, name, 0) < 0 && errno != ENOENT)
			return ipam_seterr(h, -errno, "remove %s/%s: %s",
					   h->dir, name, strerror(errno));
	}
	n = snprintf(buf, sizeof(buf), "%s\r\n%s", c->cid, c->req->ifname);
	rc = put_file(h->dirfd, name, O_EXCL, 0600, buf, (size_t)n);
	if (rc == -EEXIST)
		return 0;
	if (rc == 0)
		rc = ipam_iplist_push(h, &c->created, ip);
	else
		ipam_seterr(h, rc, "write %s/%s: %s", h->dir, name,
			    strerror(-rc));
	if (rc < 0) {
		unlinkat(h->dirfd, name, 0);
		return rc;
	}
	return 1;
}

static int write_last(struct ipam *h, int set, const struct ipaddr *ip)
{
	char name[32], txt[IP_STRLEN];
	size_t len;
	ssize_t n = 0;
	int fd, rc = 0;

	snprintf(name, sizeof(name), LAST_PREFIX "%d", set);
	len = strlen(ipam_ip_fmt(ip, txt));
	/* only a round-robin hint, rewritten in place as upstream does: no
	 * rename (ext4 flushes a file renamed over another) and no O_TRUNC
	 * (frees the block); read_last takes an empty or torn one as absent */
	fd = openat(h->dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0644);
	if (fd < 0)
		rc = -errno;
	else if ((n = pwrite(fd, txt, len, 0)) != (ssize_t)len)
		rc = n < 0 ? -errno : -ENOSPC; /* short: out of space */
	else if (ftruncate(fd, (off_t)len) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (rc < 0)
		return ipam_seterr(h, rc, "write %s/%s: %s", h->dir, name,
				   strerror(-rc));
	return 0;
}

static void read_last(struct ipam *h, int set, struct ipaddr *ip)
{
	char name[32], buf[IP_STRLEN + 16], *p;
	size_t len;

	memset(ip, 0, sizeof(*ip));
	snprintf(name, sizeof(name), LAST_PREFIX "%d", set);
	if (ipam_read_small(h->dirfd, name, buf, sizeof(buf) - 1, &len) < 0)
		return;
	buf[len] = 0;
	for (p = buf; ipam_is_space(*p); p++)
		;
	while (len && ipam_is_space(buf[len - 1]))
		buf[--len] = 0;
	if (ip_parse(p, ip) < 0)
		memset(ip, 0, sizeof(*ip));
}

/* Upstream's RangeIter: round-robin from last_reserved_ip + 1 (or the
 * first range's start), range by range, wrapping, until back at the
 * first address tried. */
struct iter {
	const struct ipam_rangeset *s;
	int ri;
	struct ipaddr cur, first; /* family 0 = not yet */
};

static void iter_init(struct iter *it, const struct ipam_rangeset *s,
		      const struct ipaddr *last)
{
	memset(it, 0, sizeof(*it));
	it->s = s;
	if (last->family && (it->ri = ipam_rangeset_find(s, last)) >= 0) {
		it->cur = *last;
		return;
	}
	it->ri = 0;
	it->first = s->r[0].start;
}

static int excluded(const struct ipam_range *r, const struct ipaddr *a)
{
	struct ipaddr x;

	if (ip_equal(a, &r->gateway))
		return 1;
	ipnet_network(&r->subnet, &x);
	if (ip_equal(a, &x))
		return 1;
	ipnet_last(&r->subnet, &x);
	return a->family == AF_INET && ip_equal(a, &x);
}

static int iter_next(struct iter *it, struct ipaddr *out)
{
	const struct ipam_range *r;

	for (;;) {
		r = &it->s->r[it->ri];
		if (!it->cur.family) {
			it->cur = it->first = r->start;
		} else {
			if (ip_equal(&it->cur, &r->end)) {
				it->ri = (it->ri + 1) % it->s->n;
				r = &it->s->r[it->ri];
				it->cur = r->start;
			} else {
				ip_add(&it->cur, 1);
			}
			if (!it->first.family)
				it->first = it->cur;
			else if (ip_equal(&it->cur, &it->first))
				return 0;
		}
		if (!excluded(r, &it->cur)) {
			*out = it->cur;
			return 1;
		}
	}
}

static int check_dup(struct ipam *h, const struct addctx *c,
		     const struct ipam_rangeset *s)
{
	char ip[IP_STRLEN];
	size_t i;

	for (i = 0; i < c->mine.n; i++)
		if (ipam_rangeset_find(s, &c->mine.v[i]) >= 0)
			return ipam_seterr(h, -EEXIST,
					   "%s has been allocated "
					   "to %s, duplicate allocation is "
					   "not allowed",
					   ipam_ip_fmt(&c->mine.v[i], ip),
					   c->cid);
	return 0;
}

/* The first requested address not yet used that s holds, or -1. */
static int pick_requested(struct addctx *c, const struct ipam_rangeset *s)
{
	int k;

	for (k = 0; k < c->req->nrequested; k++) {
		if (c->used[k] ||
		    ipam_rangeset_find(s, &c->req->requested[k]) < 0)
			continue;
		c->used[k] = 1;
		return k;
	}
	return -1;
}

static int take_requested(struct ipam *h, struct addctx *c,
			  const struct ipam_rangeset *s,
			  const struct ipaddr *ip)
{
	const struct ipam_range *r = &s->r[ipam_rangeset_find(s, ip)];
	char txt[IP_STRLEN], set[IPAM_ERRLEN / 2];
	const struct slot *sl;
	int rc;

	ipam_ip_fmt(ip, txt);
	if (ip_equal(ip, &r->gateway))
		return ipam_seterr(h, -EINVAL,
				   "requested ip %s is subnet's gateway", txt);
	if (excluded(r, ip))
		return ipam_seterr(h, -EINVAL,
				   "requested ip %s is the "
				   "network or broadcast address",
				   txt);
	sl = slot_find(c, ip);
	rc = slot_taken(sl) ? 0 : reserve(h, c, ip, sl);
	if (rc == 0)
		rc = ipam_seterr(h, -EADDRINUSE,
				 "requested IP address %s is "
				 "not available in range set %s",
				 txt, ipam_rangeset_fmt(s, set, sizeof(set)));
	return rc < 0 ? rc : 0;
}

static int take_next(struct ipam *h, struct addctx *c, int i, struct ipaddr *ip)
{
	const struct ipam_rangeset *s = &c->req->sets[i];
	char set[IPAM_ERRLEN / 2];
	const struct slot *sl;
	struct ipaddr last;
	struct iter it;
	int rc;

	read_last(h, i, &last);
	iter_init(&it, s, &last);
	while (iter_next(&it, ip)) {
		sl = slot_find(c, ip);
		if (slot_taken(sl))
			continue;
		rc = reserve(h, c, ip, sl);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return ipam_seterr(h, -EADDRNOTAVAIL,
			   "no IP addresses available in range "
			   "set: %s",
			   ipam_rangeset_fmt(s, set, sizeof(set)));
}

static int add_one(struct ipam *h, struct addctx *c, int i,
		   struct ipam_lease *out)
{
	const struct ipam_rangeset *s = &c->req->sets[i];
	const struct ipam_range *r;
	struct ipaddr ip;
	int k, rc;

	rc = check_dup(h, c, s);
	if (rc < 0)
		return rc;
	k = pick_requested(c, s);
	if (k >= 0) {
		ip = c->req->requested[k];
		rc = take_requested(h, c, s, &ip);
	} else {
		rc = take_next(h, c, i, &ip);
	}
	if (rc < 0 || (rc = write_last(h, i, &ip)) < 0)
		return rc;
	r = &s->r[ipam_rangeset_find(s, &ip)];
	memset(out, 0, sizeof(*out));
	out->ip = ip;
	out->prefix = r->subnet.prefix;
	out->gateway = r->gateway;
	out->set = i;
	snprintf(out->cid, sizeof(out->cid), "%s", c->cid);
	snprintf(out->ifname, sizeof(out->ifname), "%s", c->req->ifname);
	out->status = IPAM_LEASE_OK;
	return 0;
}

static int check_request(struct ipam *h, const struct ipam_request *req)
{
	int i;

	if (req->nsets <= 0 || req->nsets > IPAM_MAX_SETS || !req->sets)
		return ipam_seterr(h, -EINVAL, "no IP ranges specified");
	for (i = 0; i < req->nsets; i++)
		if (req->sets[i].n <= 0 || req->sets[i].n > IPAM_MAX_RANGES ||
		    !req->sets[i].r[0].start.family)
			return ipam_seterr(h, -EINVAL,
					   "range set %d is empty "
					   "or not canonical",
					   i);
	if (req->nrequested < 0 || req->nrequested > MAX_REQUESTED ||
	    (req->nrequested && !req->requested))
		return ipam_seterr(h, -EINVAL, "too many requested IPs");
	return 0;
}

/* Requested addresses no range set took: -EINVAL naming them. */
static int check_leftover(struct ipam *h, const struct addctx *c)
{
	char msg[IPAM_ERRLEN], ip[IP_STRLEN];
	size_t n;
	int k, left = 0;

	n = (size_t)snprintf(msg, sizeof(msg),
			     "failed to allocate all requested IPs:");
	for (k = 0; k < c->req->nrequested; k++) {
		if (c->used[k])
			continue;
		left++;
		if (n < sizeof(msg))
			n += (size_t)snprintf(
			    msg + n, sizeof(msg) - n, " %s",
			    ipam_ip_fmt(&c->req->requested[k], ip));
	}
	return left ? ipam_seterr(h, -EINVAL, "%s", msg) : 0;
}

static void rollback(struct ipam *h, struct addctx *c)
{
	char name[IP_STRLEN];
	size_t i;

	for (i = 0; i < c->created.n; i++)
		unlinkat(h->dirfd, ipam_ip_fmt(&c->created.v[i], name), 0);
}

static int add_locked(struct ipam *h, struct addctx *c, struct ipam_lease out[])
{
	char msg[IPAM_ERRLEN];
	int i, rc;

	rc = ipam_walk(h, add_scan_cb, c);
	if (rc < 0)
		return rc;
	if (c->n > 1)
		qsort(c->slots, c->n, sizeof(*c->slots), slot_cmp);
	for (i = 0; i < c->req->nsets; i++) {
		rc = add_one(h, c, i, &out[i]);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "%s", h->err);
			return ipam_seterr(h, rc,
					   "failed to allocate for "
					   "range %d: %s",
					   i, msg);
		}
	}
	return check_leftover(h, c);
}

int ipam_add(struct ipam *h, const struct ipam_request *req,
	     struct ipam_lease out[])
{
	struct addctx *c;
	int rc;

	h->err[0] = 0;
	rc = check_request(h, req);
	if (rc < 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ipam_seterr(h, -ENOMEM, "out of memory");
	c->req = req;
	rc = ipam_get_ids(h, req->cid, req->ifname, c->cid);
	if (rc < 0 || (rc = ipam_lock(h)) < 0)
		goto out;
	rc = add_locked(h, c, out);
	if (rc < 0)
		rollback(h, c);
	ipam_unlock(h);
out:
	free(c->slots);
	free(c->mine.v);
	free(c->created.v);
	free(c);
	return rc;
}
