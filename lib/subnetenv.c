/* flannel subnet.env reader and writer (see subnetenv.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipam.h"
#include "fs.h"
#include "subnetenv.h"

#define VALUE_MAX 1024

enum { K_NETWORK, K_SUBNET, K_NETWORK6, K_SUBNET6, K_MTU, K_IPMASQ, K_N };

static const char *const keys[K_N] = {
    "FLANNEL_NETWORK",	   "FLANNEL_SUBNET", "FLANNEL_IPV6_NETWORK",
    "FLANNEL_IPV6_SUBNET", "FLANNEL_MTU",    "FLANNEL_IPMASQ",
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trim [*s, *s + *n) of blanks and one pair of matching quotes. */
static void trim(const char **s, size_t *n)
{
	while (*n && blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && blank((*s)[*n - 1]))
		(*n)--;
	if (*n >= 2 && ((*s)[0] == '"' || (*s)[0] == '\'') &&
	    (*s)[*n - 1] == (*s)[0]) {
		(*s)++;
		*n -= 2;
	}
}

static int family_ok(const struct ipnet *n, int key)
{
	int want = key == K_NETWORK || key == K_SUBNET ? AF_INET : AF_INET6;

	return n->ip.family == want;
}

static int parse_cidr(const char *v, int key, struct ipnet *n, char *err,
		      size_t errlen)
{
	if (ipnet_parse(v, n) < 0)
		return fail(err, errlen, -EINVAL, "bad CIDR in %s: \"%.64s\"",
			    keys[key], v);
	if (!family_ok(n, key))
		return fail(err, errlen, -EINVAL,
			    "%s: %.64s is not an %s "
			    "CIDR",
			    keys[key], v,
			    key == K_NETWORK || key == K_SUBNET ? "IPv4"
								: "IPv6");
	return 0;
}

static int add_network(const char *t, size_t tn, int key, struct ipnet *nets,
		       int *count, char *err, size_t errlen)
{
	char v[IPNET_STRLEN + 1];
	struct ipnet n;
	int i, rc;

	trim(&t, &tn);
	if (tn >= sizeof(v))
		return fail(err, errlen, -EINVAL, "bad CIDR in %s: \"%.64s\"",
			    keys[key], t);
	memcpy(v, t, tn);
	v[tn] = 0;
	rc = parse_cidr(v, key, &n, err, errlen);
	if (rc < 0)
		return rc;
	ipnet_mask(&n);
	for (i = 0; i < *count; i++)
		if (nets[i].prefix == n.prefix && ip_equal(&nets[i].ip, &n.ip))
			return 0;
	if (*count == SUBNETENV_MAX_NETS)
		return fail(err, errlen, -EINVAL,
			    "too many networks in %s (max %d)", keys[key],
			    SUBNETENV_MAX_NETS);
	nets[(*count)++] = n;
	return 0;
}

/* Comma-separated, every piece a CIDR (as upstream: no empty pieces). */
static int parse_networks(const char *v, int key, struct ipnet *nets,
			  int *count, char *err, size_t errlen)
{
	const char *comma;
	int rc;

	*count = 0;
	for (;;) {
		comma = strchr(v, ',');
		rc = add_network(v, comma ? (size_t)(comma - v) : strlen(v),
				 key, nets, count, err, errlen);
		if (rc < 0 || !comma)
			return rc;
		v = comma + 1;
	}
}

static int parse_uint32(const char *v, unsigned int *out)
{
	unsigned long long x = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		x = x * 10 + (unsigned)(*v - '0');
		if (x > 0xffffffffULL)
			return -1;
	}
	*out = (unsigned int)x;
	return 0;
}

static int set_value(struct subnetenv *se, int key, char *v, char *err,
		     size_t errlen)
{
	struct ipnet *addr =
	    key == K_SUBNET ? &se->subnet_addr : &se->subnet6_addr;
	struct ipnet *net = key == K_SUBNET ? &se->subnet : &se->subnet6;
	int rc;

	switch (key) {
	case K_NETWORK:
		return parse_networks(v, key, se->networks, &se->nnetworks, err,
				      errlen);
	case K_NETWORK6:
		return parse_networks(v, key, se->networks6, &se->nnetworks6,
				      err, errlen);
	case K_SUBNET:
	case K_SUBNET6:
		rc = parse_cidr(v, key, addr, err, errlen);
		if (rc < 0)
			return rc;
		*net = *addr;
		ipnet_mask(net);
		return 0;
	case K_MTU:
		if (parse_uint32(v, &se->mtu) < 0)
			return fail(err, errlen, -EINVAL,
				    "bad FLANNEL_MTU: "
				    "\"%.32s\"",
				    v);
		return 0;
	}
	se->ipmasq = !strcmp(v, "true");
	return 0;
}

static int find_key(const char *k, size_t n)
{
	int i;

	if (n > 7 && !memcmp(k, "export", 6) && blank(k[6])) {
		k += 7;
		n -= 7;
		trim(&k, &n);
	}
	for (i = 0; i < K_N; i++)
		if (strlen(keys[i]) == n && !memcmp(keys[i], k, n))
			return i;
	return -1;
}

/* One line (no '\n'); *seen gets the bit of the key it set. */
static int parse_line(struct subnetenv *se, const char *s, size_t n,
		      unsigned *seen, char *err, size_t errlen)
{
	char v[VALUE_MAX];
	const char *eq, *val, *k;
	size_t vn, kn;
	int key;

	trim(&s, &n);
	if (!n || s[0] == '#')
		return 0;
	eq = memchr(s, '=', n);
	k = s;
	kn = eq ? (size_t)(eq - s) : n;
	trim(&k, &kn);
	key = find_key(k, kn);
	if (key < 0)
		return 0;
	if (!eq)
		return fail(err, errlen, -EINVAL, "%s has no value", keys[key]);
	val = eq + 1;
	vn = n - (size_t)(val - s);
	trim(&val, &vn);
	if (vn >= sizeof(v) || memchr(val, 0, vn))
		return fail(err, errlen, -EINVAL, "bad value for %s",
			    keys[key]);
	memcpy(v, val, vn);
	v[vn] = 0;
	*seen |= 1u << key;
	return set_value(se, key, v, err, errlen);
}

static int check_inside(const struct ipnet *sn, const struct ipnet *nets,
			int count)
{
	int i;

	if (!sn->ip.family || !count)
		return 1;
	for (i = 0; i < count; i++)
		if (nets[i].prefix <= sn->prefix &&
		    ipnet_contains(&nets[i], &sn->ip))
			return 1;
	return 0;
}

static int check_complete(const struct subnetenv *se, unsigned seen, char *err,
			  size_t errlen)
{
	char buf[IPNET_STRLEN];

	if (!(seen & (1u << K_NETWORK | 1u << K_NETWORK6)))
		return fail(err, errlen, -EINVAL,
			    "FLANNEL_NETWORK is missing "
			    "(and FLANNEL_IPV6_NETWORK too)");
	if (!(seen & (1u << K_SUBNET | 1u << K_SUBNET6)))
		return fail(err, errlen, -EINVAL,
			    "FLANNEL_SUBNET is missing "
			    "(and FLANNEL_IPV6_SUBNET too)");
	if (!(seen & 1u << K_MTU))
		return fail(err, errlen, -EINVAL, "FLANNEL_MTU is missing");
	if (!(seen & 1u << K_IPMASQ))
		return fail(err, errlen, -EINVAL, "FLANNEL_IPMASQ is missing");
	if (!check_inside(&se->subnet_addr, se->networks, se->nnetworks))
		return fail(err, errlen, -EINVAL,
			    "FLANNEL_SUBNET %s is "
			    "outside FLANNEL_NETWORK",
			    ipnet_fmt(&se->subnet_addr, buf));
	if (!check_inside(&se->subnet6_addr, se->networks6, se->nnetworks6))
		return fail(err, errlen, -EINVAL,
			    "FLANNEL_IPV6_SUBNET %s is "
			    "outside FLANNEL_IPV6_NETWORK",
			    ipnet_fmt(&se->subnet6_addr, buf));
	return 0;
}

int subnetenv_parse(const char *buf, size_t len, struct subnetenv *out,
		    char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len, *nl;
	unsigned seen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > SUBNETENV_MAX_SIZE)
		return fail(err, errlen, -EFBIG, "larger than %d bytes",
			    SUBNETENV_MAX_SIZE);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		rc = parse_line(out, p, (size_t)(nl - p), &seen, err, errlen);
		if (rc < 0) {
			memset(out, 0, sizeof(*out));
			return rc;
		}
		p = nl + 1;
	}
	rc = check_complete(out, seen, err, errlen);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int subnetenv_load(const char *path, struct subnetenv *out, char *err,
		   size_t errlen)
{
	char *buf, msg[SUBNETENV_ERRLEN];
	size_t len = 0;
	ssize_t r;
	int fd, rc = 0;

	memset(out, 0, sizeof(*out));
	if (!path || !*path)
		path = SUBNETENV_DEFAULT_PATH;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, -errno, "open %s: %s", path,
			    strerror(errno));
	buf = malloc(SUBNETENV_MAX_SIZE + 1);
	if (!buf) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "%s: out of memory", path);
	}
	while (len <= SUBNETENV_MAX_SIZE) {
		r = read(fd, buf + len, SUBNETENV_MAX_SIZE + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail(err, errlen, -errno, "read %s: %s", path,
				  strerror(errno));
			goto out;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	rc = subnetenv_parse(buf, len, out, msg, sizeof(msg));
	if (rc < 0)
		fail(err, errlen, rc, "%s: %s", path, msg);
out:
	free(buf);
	close(fd);
	return rc;
}

static int put(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + *n, *n < len ? len - *n : 0, fmt, ap);
	va_end(ap);
	*n += (size_t)r;
	return *n < len ? 0 : -ENOSPC;
}

static int put_family(char *buf, size_t len, size_t *n, int v6,
		      const struct ipnet *nets, int count,
		      const struct ipnet *sn, const struct ipnet *addr)
{
	char ip[IP_STRLEN];
	struct ipaddr a;
	int i;

	put(buf, len, n, "FLANNEL_%sNETWORK=", v6 ? "IPV6_" : "");
	for (i = 0; i < count; i++)
		put(buf, len, n, "%s%s/%d", i ? "," : "",
		    ipam_ip_fmt(&nets[i].ip, ip), nets[i].prefix);
	if (addr->ip.family) {
		a = addr->ip;
	} else {
		ipnet_network(sn, &a);
		ip_add(&a, 1);
	}
	return put(buf, len, n, "\nFLANNEL_%sSUBNET=%s/%d\n", v6 ? "IPV6_" : "",
		   ipam_ip_fmt(&a, ip), sn->prefix);
}

int subnetenv_format(const struct subnetenv *se, char *buf, size_t len)
{
	size_t n = 0;

	if (se->subnet.ip.family)
		put_family(buf, len, &n, 0, se->networks, se->nnetworks,
			   &se->subnet, &se->subnet_addr);
	if (se->subnet6.ip.family)
		put_family(buf, len, &n, 1, se->networks6, se->nnetworks6,
			   &se->subnet6, &se->subnet6_addr);
	if (put(buf, len, &n, "FLANNEL_MTU=%u\nFLANNEL_IPMASQ=%s\n", se->mtu,
		se->ipmasq ? "true" : "false") < 0)
		return -ENOSPC;
	return (int)n;
}

int subnetenv_write(const char *path, const struct subnetenv *se, char *err,
		    size_t errlen)
{
	char buf[4096];
	int n, rc;

	if (!path || !*path)
		path = SUBNETENV_DEFAULT_PATH;
	n = subnetenv_format(se, buf, sizeof(buf));
	if (n < 0)
		return fail(err, errlen, n, "%s: too many networks", path);
	rc = fs_mkdir_parents(path, 0755);
	if (rc == 0)
		rc = fs_write_atomic(path, buf, (size_t)n, 0644);
	if (rc < 0)
		return fail(err, errlen, rc, "write %s: %s", path,
			    strerror(-rc));
	return 0;
}
