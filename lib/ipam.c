/* ipam store: host-local's on-disk layout (see ipam.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipam.h"
#include "ipam_int.h"

int ipam_seterr(struct ipam *h, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
	return rc;
}

void ipam_notice(struct ipam *h, const char *fmt, ...)
{
	char msg[IPAM_ERRLEN + PATH_MAX];
	va_list ap;

	if (!h->notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->notice(h->notice_arg, msg);
}

/* --- lease file contents ------------------------------------------------ */

int ipam_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int copy_part(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t i;

	if (!n || n >= dstlen)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

int ipam_lease_parse(const char *buf, size_t len, char *cid, size_t cidlen,
		     char *ifname, size_t iflen)
{
	const char *nl;
	size_t n;

	cid[0] = 0;
	ifname[0] = 0;
	if (len > IPAM_LEASE_FILE_MAX)
		return IPAM_LEASE_CORRUPT;
	while (len && ipam_is_space(*buf)) {
		buf++;
		len--;
	}
	while (len && ipam_is_space(buf[len - 1]))
		len--;
	if (!len)
		return IPAM_LEASE_EMPTY;
	nl = memchr(buf, '\n', len);
	if (!nl) {
		if (copy_part(cid, cidlen, buf, len) < 0)
			return IPAM_LEASE_CORRUPT;
		return IPAM_LEASE_LEGACY;
	}
	n = (size_t)(nl - buf);
	if (n && buf[n - 1] == '\r')
		n--;
	if (copy_part(cid, cidlen, buf, n) < 0 ||
	    copy_part(ifname, iflen, nl + 1, len - (size_t)(nl + 1 - buf)) <
		0) {
		cid[0] = ifname[0] = 0;
		return IPAM_LEASE_CORRUPT;
	}
	return IPAM_LEASE_OK;
}

const char *ipam_status_name(int st)
{
	switch (st) {
	case IPAM_LEASE_EMPTY:
		return "empty";
	case IPAM_LEASE_CORRUPT:
		return "corrupt";
	case IPAM_LEASE_UNREADABLE:
		return "unreadable";
	}
	return "ok";
}

int ipam_read_small(int dirfd, const char *name, char *buf, size_t max,
		    size_t *len)
{
	struct stat st;
	ssize_t r;
	int fd, rc = 0;

	*len = 0;
	fd =
	    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	while (*len < max) {
		r = read(fd, buf + *len, max - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (!r)
			break;
		*len += (size_t)r;
	}
out:
	close(fd);
	return rc;
}

static void read_lease(struct ipam *h, const char *name, struct ipam_lease *l)
{
	char buf[IPAM_LEASE_FILE_MAX + 1];
	size_t len;
	int rc;

	rc = ipam_read_small(h->dirfd, name, buf, sizeof(buf), &len);
	if (rc == -ENOENT) {
		l->status = -1; /* vanished: skip */
		return;
	}
	if (rc < 0) {
		l->cid[0] = l->ifname[0] = 0;
		l->status = IPAM_LEASE_UNREADABLE;
	} else {
		l->status = ipam_lease_parse(buf, len, l->cid, sizeof(l->cid),
					     l->ifname, sizeof(l->ifname));
	}
	if (l->status == IPAM_LEASE_OK || l->status == IPAM_LEASE_LEGACY)
		return;
	h->ncorrupt++;
	ipam_notice(h, "lease file %s/%s is %s: %s", h->dir, name,
		    ipam_status_name(l->status),
		    l->status == IPAM_LEASE_UNREADABLE ? "kept as taken"
						       : "treated as free");
}

/* --- directory walk ------------------------------------------------------ */

/* Only names that are an address in Go's canonical text count: those are
 * the names upstream host-local looks up. */
static int lease_name(const char *name, struct ipaddr *ip)
{
	char buf[IP_STRLEN];

	if (name[0] == '.' || strlen(name) >= IP_STRLEN)
		return 0;
	if (ip_parse(name, ip) < 0)
		return 0;
	return !strcmp(ipam_ip_fmt(ip, buf), name);
}

int ipam_walk(struct ipam *h, ipam_walk_fn fn, void *arg)
{
	struct ipam_lease *l;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	h->ncorrupt = 0;
	l = malloc(sizeof(*l));
	if (!l)
		return ipam_seterr(h, -ENOMEM, "out of memory");
	fd = openat(h->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		rc = ipam_seterr(h, -errno, "open %s: %s", h->dir,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
		free(l);
		return rc;
	}
	while ((errno = 0, de = readdir(d))) {
		if (de->d_type == DT_DIR || !lease_name(de->d_name, &l->ip))
			continue;
		l->prefix = 0;
		l->set = -1;
		memset(&l->gateway, 0, sizeof(l->gateway));
		read_lease(h, de->d_name, l);
		if (l->status < 0)
			continue;
		rc = fn(h, l, arg);
		if (rc)
			break;
	}
	if (!de && errno)
		rc = ipam_seterr(h, -errno, "readdir %s: %s", h->dir,
				 strerror(errno));
	closedir(d);
	free(l);
	return rc;
}

/* --- open, lock ---------------------------------------------------------- */

static int mkdir_p(char *path, mode_t mode)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int bad_network(const char *n)
{
	return !n || !*n || strchr(n, '/') || !strcmp(n, ".") ||
	       !strcmp(n, "..") || strlen(n) > NAME_MAX;
}

int ipam_open(struct ipam *h, const char *data_dir, const char *network)
{
	char path[PATH_MAX];
	int rc;

	memset(h, 0, sizeof(*h));
	h->dirfd = h->lockfd = -1;
	if (!data_dir || !*data_dir)
		data_dir = IPAM_DEFAULT_DATA_DIR;
	if (bad_network(network))
		return ipam_seterr(h, -EINVAL, "invalid network name \"%.64s\"",
				   network ? network : "");
	if ((size_t)snprintf(h->dir, sizeof(h->dir), "%s/%s", data_dir,
			     network) >= sizeof(h->dir))
		return ipam_seterr(h, -ENAMETOOLONG, "dataDir too long");
	strcpy(path, h->dir);
	rc = mkdir_p(path, 0755);
	if (rc < 0)
		return ipam_seterr(h, rc, "mkdir %s: %s", h->dir,
				   strerror(-rc));
	h->dirfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->dirfd < 0)
		return ipam_seterr(h, -errno, "open %s: %s", h->dir,
				   strerror(errno));
	h->lockfd =
	    openat(h->dirfd, "lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (h->lockfd < 0) {
		rc = ipam_seterr(h, -errno, "open %s/lock: %s", h->dir,
				 strerror(errno));
		ipam_close(h);
		return rc;
	}
	return 0;
}

void ipam_close(struct ipam *h)
{
	if (h->lockfd >= 0)
		close(h->lockfd);
	if (h->dirfd >= 0)
		close(h->dirfd);
	h->lockfd = h->dirfd = -1;
}

int ipam_lock(struct ipam *h)
{
	while (flock(h->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return ipam_seterr(h, -errno, "flock %s/lock: %s",
					   h->dir, strerror(errno));
	}
	return 0;
}

void ipam_unlock(struct ipam *h)
{
	flock(h->lockfd, LOCK_UN);
}

/* --- small growable array of addresses ----------------------------------- */

int ipam_iplist_push(struct ipam *h, struct ipam_iplist *l,
		     const struct ipaddr *a)
{
	struct ipaddr *v;

	if (l->n == l->cap) {
		v = realloc(l->v, (l->cap ? l->cap * 2 : 16) * sizeof(*v));
		if (!v)
			return ipam_seterr(h, -ENOMEM, "out of memory");
		l->v = v;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	l->v[l->n++] = *a;
	return 0;
}

static int remove_lease(struct ipam *h, const struct ipaddr *a)
{
	char name[IP_STRLEN];

	if (unlinkat(h->dirfd, ipam_ip_fmt(a, name), 0) < 0 && errno != ENOENT)
		return ipam_seterr(h, -errno, "remove %s/%s: %s", h->dir, name,
				   strerror(errno));
	return 0;
}

static int valid_id(const char *s, size_t max, int allow_space)
{
	size_t n = strlen(s);

	if (!n || n >= max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (!allow_space && *s == ' '))
			return 0;
	return 1;
}

int ipam_is_mine(const struct ipam_lease *l, const char *cid,
		 const char *ifname, int legacy)
{
	if (strcmp(l->cid, cid))
		return 0;
	if (l->status == IPAM_LEASE_OK)
		return !legacy && !strcmp(l->ifname, ifname);
	return legacy && l->status == IPAM_LEASE_LEGACY;
}

/* --- DEL, find, list, GC ------------------------------------------------- */

struct delctx {
	char cid[IPAM_CID_MAX];
	const char *ifname;
	struct ipam_iplist exact, legacy;
	struct ipam_lease *out;
	int max, n;
};

static int del_cb(struct ipam *h, const struct ipam_lease *l, void *arg)
{
	struct delctx *c = arg;

	if (ipam_is_mine(l, c->cid, c->ifname, 0))
		return ipam_iplist_push(h, &c->exact, &l->ip);
	if (ipam_is_mine(l, c->cid, c->ifname, 1))
		return ipam_iplist_push(h, &c->legacy, &l->ip);
	return 0;
}

/* The container id as upstream stores and matches it: white space trimmed. */
int ipam_get_ids(struct ipam *h, const char *cid, const char *ifname,
		 char out[IPAM_CID_MAX])
{
	size_t n;

	while (cid && ipam_is_space(*cid))
		cid++;
	n = cid ? strlen(cid) : 0;
	while (n && ipam_is_space(cid[n - 1]))
		n--;
	if (!n || n >= IPAM_CID_MAX)
		return ipam_seterr(h, -EINVAL, "invalid container id");
	memcpy(out, cid, n);
	out[n] = 0;
	if (!valid_id(out, IPAM_CID_MAX, 1))
		return ipam_seterr(h, -EINVAL, "invalid container id");
	if (!ifname || !valid_id(ifname, IPAM_IFNAME_MAX, 0) ||
	    strchr(ifname, '/'))
		return ipam_seterr(h, -EINVAL, "invalid interface name");
	return 0;
}

int ipam_del(struct ipam *h, const char *cid, const char *ifname,
	     struct ipaddr *released, int max)
{
	struct delctx *c;
	struct ipam_iplist *l;
	size_t i;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return ipam_seterr(h, -ENOMEM, "out of memory");
	c->ifname = ifname;
	rc = ipam_get_ids(h, cid, ifname, c->cid);
	if (rc < 0 || (rc = ipam_lock(h)) < 0) {
		free(c);
		return rc;
	}
	rc = ipam_walk(h, del_cb, c);
	if (rc < 0)
		goto out;
	l = c->exact.n ? &c->exact : &c->legacy;
	for (i = 0; i < l->n; i++) {
		rc = remove_lease(h, &l->v[i]);
		if (rc < 0)
			goto out;
		if (released && (int)i < max)
			released[i] = l->v[i];
	}
	rc = (int)l->n;
out:
	ipam_unlock(h);
	free(c->exact.v);
	free(c->legacy.v);
	free(c);
	return rc;
}

static int find_cb(struct ipam *h, const struct ipam_lease *l, void *arg)
{
	struct delctx *c = arg;

	if (!ipam_is_mine(l, c->cid, c->ifname, 0) &&
	    !ipam_is_mine(l, c->cid, c->ifname, 1))
		return 0;
	if (c->n < c->max)
		c->out[c->n] = *l;
	c->n++;
	return 0;
}

int ipam_find(struct ipam *h, const char *cid, const char *ifname,
	      struct ipam_lease *out, int max)
{
	struct delctx *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return ipam_seterr(h, -ENOMEM, "out of memory");
	c->ifname = ifname;
	c->out = out;
	c->max = out ? max : 0;
	rc = ipam_get_ids(h, cid, ifname, c->cid);
	if (rc >= 0 && (rc = ipam_lock(h)) >= 0) {
		rc = ipam_walk(h, find_cb, c);
		ipam_unlock(h);
		if (rc >= 0)
			rc = c->n;
	}
	free(c);
	return rc;
}

struct listctx {
	int (*fn)(void *arg, const struct ipam_lease *l);
	void *arg;
};

static int list_cb(struct ipam *h, const struct ipam_lease *l, void *arg)
{
	struct listctx *c = arg;

	return c->fn(c->arg, l);
}

int ipam_list(struct ipam *h, int (*fn)(void *arg, const struct ipam_lease *l),
	      void *arg)
{
	struct listctx c = {fn, arg};
	int rc;

	rc = ipam_lock(h);
	if (rc < 0)
		return rc;
	rc = ipam_walk(h, list_cb, &c);
	ipam_unlock(h);
	return rc;
}

struct gcctx {
	const struct ipam_attachment *valid;
	int nvalid;
	struct ipam_iplist doomed;
};

static int gc_keep(const struct gcctx *c, const struct ipam_lease *l)
{
	int i;

	if (l->status == IPAM_LEASE_UNREADABLE)
		return 1;
	if (l->status != IPAM_LEASE_OK && l->status != IPAM_LEASE_LEGACY)
		return 0;
	for (i = 0; i < c->nvalid; i++) {
		if (!c->valid[i].cid || strcmp(c->valid[i].cid, l->cid))
			continue;
		if (l->status == IPAM_LEASE_LEGACY ||
		    (c->valid[i].ifname &&
		     !strcmp(c->valid[i].ifname, l->ifname)))
			return 1;
	}
	return 0;
}

static int gc_cb(struct ipam *h, const struct ipam_lease *l, void *arg)
{
	struct gcctx *c = arg;
	char ip[IP_STRLEN];

	if (gc_keep(c, l))
		return 0;
	ipam_notice(h, "gc: releasing %s held by %s/%s",
		    ipam_ip_fmt(&l->ip, ip), l->cid[0] ? l->cid : "-",
		    l->ifname[0] ? l->ifname : "-");
	return ipam_iplist_push(h, &c->doomed, &l->ip);
}

int ipam_gc(struct ipam *h, const struct ipam_attachment *valid, int nvalid)
{
	struct gcctx c = {valid, nvalid, {0}};
	size_t i;
	int rc;

	rc = ipam_lock(h);
	if (rc < 0)
		return rc;
	rc = ipam_walk(h, gc_cb, &c);
	for (i = 0; !rc && i < c.doomed.n; i++)
		rc = remove_lease(h, &c.doomed.v[i]);
	if (!rc)
		rc = (int)c.doomed.n;
	ipam_unlock(h);
	free(c.doomed.v);
	return rc;
}
