/* rtnetlink handle: sockets, request building, ACKs, dumps, errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/rtnetlink.h>

#include "netns.h"
#include "nl.h"

static struct mnl_socket *open_socket(unsigned int *portid)
{
	struct mnl_socket *sk;
	int one = 1, e;

	sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sk)
		return NULL;
	if (mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* errors without the request echoed, and with the kernel's text;
	 * kernels without them (< 4.3, < 4.12) still work */
	mnl_socket_setsockopt(sk, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(sk, NETLINK_EXT_ACK, &one, sizeof(one));
	if (portid)
		*portid = mnl_socket_get_portid(sk);
	return sk;
fail:
	e = errno;
	mnl_socket_close(sk);
	errno = e;
	return NULL;
}

static int open_here(struct nl *nl)
{
	int e;

	nl->sk = open_socket(&nl->portid);
	if (!nl->sk)
		return -errno;
	nl->ev = open_socket(NULL);
	if (!nl->ev) {
		e = -errno;
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return e;
	}
	return 0;
}

int nl_open_netns(struct nl *nl, int nsfd)
{
	int saved, e, e2;

	nl->sk = nl->ev = NULL;
	nl->seq = (unsigned int)time(NULL);
	nl->trunc = false;
	nl->ext[0] = 0;
	if (nsfd < 0)
		return open_here(nl);
	e = netns_enter(nsfd, &saved);
	if (e < 0)
		return e;
	e = open_here(nl);
	e2 = netns_leave(saved);
	if (e2 < 0) {
		nl_close(nl);
		return e2;
	}
	return e;
}

int nl_open(struct nl *nl)
{
	return nl_open_netns(nl, -1);
}

void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	if (nl->ev)
		mnl_socket_close(nl->ev);
	nl->sk = nl->ev = NULL;
}

/* --- building requests --------------------------------------------------- */

struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->req);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nl->trunc = false;
	return nlh;
}

void *nl_msg_extra(struct nl *nl, size_t size)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->req;

	if (nlh->nlmsg_len + MNL_ALIGN(size) > sizeof(nl->req)) {
		nl->trunc = true;
		return NULL;
	}
	return mnl_nlmsg_put_extra_header(nlh, size);
}

void nl_put(struct nl *nl, uint16_t type, size_t len, const void *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->req;

	if (len > UINT16_MAX - MNL_ATTR_HDRLEN ||
	    !mnl_attr_put_check(nlh, sizeof(nl->req), type, len, data))
		nl->trunc = true;
}

void nl_put_u8(struct nl *nl, uint16_t type, uint8_t v)
{
	nl_put(nl, type, sizeof(v), &v);
}

void nl_put_u16(struct nl *nl, uint16_t type, uint16_t v)
{
	nl_put(nl, type, sizeof(v), &v);
}

void nl_put_u32(struct nl *nl, uint16_t type, uint32_t v)
{
	nl_put(nl, type, sizeof(v), &v);
}

void nl_put_strz(struct nl *nl, uint16_t type, const char *s)
{
	nl_put(nl, type, strlen(s) + 1, s);
}

void nl_put_ip(struct nl *nl, uint16_t type, const struct ipaddr *a)
{
	nl_put(nl, type, ip_len(a), a->b);
}

struct nlattr *nl_nest(struct nl *nl, uint16_t type)
{
	struct nlattr *n;

	n = mnl_attr_nest_start_check((struct nlmsghdr *)nl->req,
				      sizeof(nl->req), type);
	if (!n)
		nl->trunc = true;
	return n;
}

void nl_nest_end(struct nl *nl, struct nlattr *nest)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->req;
	size_t len;

	if (!nest)
		return;
	len = (char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)nest;
	if (len > UINT16_MAX)
		nl->trunc = true;
	else
		mnl_attr_nest_end(nlh, nest);
}

/* --- errors ------------------------------------------------------------- */

static int ext_cb(const struct nlattr *a, void *data)
{
	struct nl_text *t = data;
	size_t n;

	if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG ||
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	n = strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
	if (n >= t->len)
		n = t->len - 1;
	memcpy(t->buf, mnl_attr_get_str(a), n);
	t->buf[n] = 0;
	return MNL_CB_OK;
}

int nl_error_parse(const struct nlmsghdr *nlh, char *ext, size_t extlen)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off, echo;
	struct nl_text t = { ext, extlen };
	int e;

	if (extlen)
		ext[0] = 0;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (plen < sizeof(int))
			return 0;
		memcpy(&e, err, sizeof(e));
		off = sizeof(int);
	} else {
		if (plen < sizeof(*err))
			return -EBADMSG;
		e = err->error;
		off = sizeof(*err);
		/* uncapped, the whole request is echoed before the TLVs */
		echo = err->msg.nlmsg_len;
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    echo >= MNL_NLMSG_HDRLEN)
			off += echo - MNL_NLMSG_HDRLEN;
	}
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && extlen && off < plen)
		mnl_attr_parse(nlh, off, ext_cb, &t);
	if (nlh->nlmsg_type == NLMSG_DONE)
		return e < 0 && e != INT32_MIN ? e : 0;
	if (e == INT32_MIN)
		return -EBADMSG;
	return e > 0 ? -e : e;	/* some subsystems send it positive */
}

/* --- talking ------------------------------------------------------------ */

size_t nl_stream_len(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh;
	size_t off = 0;

	while (len - off >= sizeof(*nlh)) {
		nlh = (const struct nlmsghdr *)((const char *)buf + off);
		/* libmnl parses attributes up to the ALIGNED end */
		if (nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > len - off ||
		    MNL_ALIGN((size_t)nlh->nlmsg_len) > len - off)
			return off;
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	return len;
}

struct talk {
	struct nl *nl;
	mnl_cb_t cb;
	void *data;
	bool end;		/* the reply's last message was seen */
	int err;		/* its error */
};

static int talk_data(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

/* NLMSG_ERROR (an ACK or an error) and NLMSG_DONE (a dump's end, with an
 * error when the dump failed midway) both end a reply. */
static int talk_end(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	t->end = true;
	t->err = nl_error_parse(nlh, t->nl->ext, sizeof(t->nl->ext));
	if (t->err < 0) {
		errno = -t->err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static ssize_t recv_some(struct nl *nl)
{
	ssize_t n;

	do
		n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (ssize_t)nl_stream_len(nl->buf, n);
}

/* Whether buf holds the end (NLMSG_ERROR/DONE) of the reply to seq. */
static bool has_end(const void *buf, size_t len, unsigned int seq)
{
	const struct nlmsghdr *nlh = buf;
	int left = len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_seq == seq &&
		    (nlh->nlmsg_type == NLMSG_ERROR ||
		     nlh->nlmsg_type == NLMSG_DONE))
			return true;
	return false;
}

/* After a reply was abandoned midway: read and drop the rest of it, so
 * the next request does not see it. */
static void drain(struct nl *nl, size_t len, unsigned int seq)
{
	ssize_t n = len;

	while (!has_end(nl->buf, n, seq)) {
		n = recv_some(nl);
		if (n < 0)
			return;
	}
}

static int send_req(struct nl *nl)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->req;

	nl->ext[0] = 0;
	if (nl->trunc)
		return -EMSGSIZE;
	if (!nl->sk)
		return -EBADF;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static int run(struct nl *nl, mnl_cb_t cb, void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = talk_end,
		[NLMSG_DONE] = talk_end,
	};
	struct talk t = { nl, cb, data, false, 0 };
	ssize_t n;
	int r, e;

	e = send_req(nl);
	if (e < 0)
		return e;
	do {
		n = recv_some(nl);
		if (n < 0)
			return n;
		errno = 0;
		r = mnl_cb_run2(nl->buf, n, nl->seq, nl->portid, talk_data,
				&t, ctl, MNL_ARRAY_SIZE(ctl));
	} while (r == MNL_CB_OK);
	if (r == MNL_CB_STOP && t.end)
		return 0;
	e = t.end ? t.err : r == MNL_CB_STOP ? 0 : errno ? -errno : -EIO;
	if (!t.end)
		drain(nl, n, nl->seq);
	return e;
}

int nl_talk(struct nl *nl, mnl_cb_t cb, void *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->req;

	nlh->nlmsg_flags |= NLM_F_ACK;
	return run(nl, cb, data);
}

int nl_dump(struct nl *nl, mnl_cb_t cb, void *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)nl->req;

	nlh->nlmsg_flags |= NLM_F_DUMP;
	return run(nl, cb, data);
}

union nl_entry {
	struct nl_link link;
	struct nl_addr addr;
	struct nl_route route;
	struct nl_rule rule;
	struct nl_neigh neigh;
};

/* Entries past max are parsed into scratch space, then only counted. */
static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_list *l = data;
	union nl_entry scratch;
	void *entry = &scratch;
	int e;

	if (l->n < l->max)
		entry = (char *)l->out + (size_t)l->n * l->size;
	e = l->parse(nlh, entry);
	if (e == -EAFNOSUPPORT)
		return MNL_CB_OK;
	if (e < 0) {
		errno = -e;
		return MNL_CB_ERROR;
	}
	if (!l->keep || l->keep(l, entry))
		l->n++;
	return MNL_CB_OK;
}

int nl_list(struct nl *nl, struct nl_list *l)
{
	int r, tries = 0;

	if (l->max < 0 || l->size > sizeof(union nl_entry))
		return -EINVAL;
	do {
		l->n = 0;
		r = nl_dump(nl, list_cb, l);
	} while (r == -EINTR && ++tries < NL_DUMP_TRIES);
	return r < 0 ? r : l->n;
}

/* --- attribute getters for the parsers ----------------------------------- */

int nl_attr_str(const struct nlattr *a, char *dst, size_t size)
{
	size_t n;

	if (mnl_attr_validate(a, MNL_TYPE_STRING) < 0)
		return MNL_CB_ERROR;
	n = strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
	if (n >= size)
		return MNL_CB_ERROR;
	memcpy(dst, mnl_attr_get_str(a), n);
	dst[n] = 0;
	return MNL_CB_OK;
}

int nl_attr_u32(const struct nlattr *a, unsigned int *v)
{
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	*v = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

int nl_attr_ip(const struct nlattr *a, int family, struct ipaddr *out)
{
	struct ipaddr ip = { .family = family };
	int len = ip_len(&ip);

	if (!len || mnl_attr_validate2(a, MNL_TYPE_BINARY, len) < 0)
		return MNL_CB_ERROR;
	memcpy(ip.b, mnl_attr_get_payload(a), len);
	*out = ip;
	return MNL_CB_OK;
}

/* --- sysctl and MAC text -------------------------------------------------- */

/* key: components under /proc/sys, none empty, "." or "..". */
static int sysctl_path(const char *key, char *path, size_t len)
{
	const char *p = key;
	size_t n;

	for (;;) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (!p[n])
			break;
		p += n + 1;
	}
	n = snprintf(path, len, "/proc/sys/%s", key);
	return n >= len ? -ENAMETOOLONG : 0;
}

int nl_sysctl_set(const char *key, const char *val)
{
	char path[256];
	size_t len = strlen(val);
	int fd, e;
	ssize_t n;

	e = sysctl_path(key, path, sizeof(path));
	if (e < 0)
		return e;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	e = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	if (close(fd) < 0 && !e)
		e = -errno;
	return e;
}

int nl_sysctl_get(const char *key, char *buf, size_t len)
{
	char path[256];
	int fd, e;
	ssize_t n;

	if (!len)
		return -EINVAL;
	e = sysctl_path(key, path, sizeof(path));
	if (e < 0)
		return e;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	e = n < 0 ? -errno : 0;
	close(fd);
	if (e < 0)
		return e;
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nl_mac_parse(const char *s, uint8_t mac[NL_MACLEN])
{
	uint8_t m[NL_MACLEN];
	int i, hi, lo;

	for (i = 0; i < NL_MACLEN; i++, s += 3) {
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0 || s[2] != (i == NL_MACLEN - 1 ? 0 : ':'))
			return -EINVAL;
		m[i] = hi << 4 | lo;
	}
	memcpy(mac, m, NL_MACLEN);
	return 0;
}

const char *nl_mac_fmt(const uint8_t *mac, char buf[NL_MACSTRLEN])
{
	snprintf(buf, NL_MACSTRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}
