/* nftables batch builder over nfnetlink (libmnl API). See nft.h. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"
#include "nft_int.h"

#define ACK_WAIT_MS 5000
#define RCVBUF_PER_MSG 1024

int nft_open(struct nft_sock *s)
{
	int one = 1, err;

	memset(s, 0, sizeof(*s));
	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl)
		return -errno;
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* best effort: older kernels lack them */
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = 1;
	return 0;
fail:
	err = -errno;
	mnl_socket_close(s->nl);
	s->nl = NULL;
	return err;
}

void nft_close(struct nft_sock *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	s->nl = NULL;
}

/* Every message of a received buffer fits it. libmnl's mnl_nlmsg_ok()
 * compares nlmsg_len as a signed int, so a huge one would pass there. */
int nft_msgs_ok(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh;
	size_t off = 0;

	while (len - off >= sizeof(*nlh)) {
		nlh = (const void *)((const char *)buf + off);
		/* libmnl walks attributes up to the ALIGNED end: the
		 * padding must be inside the buffer too */
		if (nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > len - off ||
		    NLMSG_ALIGN((size_t)nlh->nlmsg_len) > len - off)
			return 0;
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return 1;
}

/* --- building ----------------------------------------------------------- */

size_t nft_room(const struct nft_batch *b)
{
	return b->size - b->len;
}

void nft_fail(struct nft_batch *b, int err)
{
	if (!b->err)
		b->err = err;
}

struct nlmsghdr *nft_msg_start(struct nft_batch *b, uint16_t type,
			       int family, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (b->err)
		return NULL;
	if (b->cur) {
		nft_fail(b, -EINVAL);	/* previous message still open */
		return NULL;
	}
	if (nft_room(b) < mnl_nlmsg_size(sizeof(*nfg))) {
		nft_fail(b, -EMSGSIZE);
		return NULL;
	}
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	b->cur = nlh;
	b->depth = 0;
	return nlh;
}

struct nlmsghdr *nft_msg(struct nft_batch *b, int msg, int family,
			 uint16_t flags)
{
	return nft_msg_start(b, NFNL_SUBSYS_NFTABLES << 8 | msg, family,
			     flags | NLM_F_ACK);
}

void nft_msg_end(struct nft_batch *b)
{
	if (b->err)
		return;
	if (!b->cur || b->depth) {
		nft_fail(b, -EINVAL);
		return;
	}
	b->len += NLMSG_ALIGN(b->cur->nlmsg_len);
	b->cur = NULL;
	b->nmsg++;
}

void nft_put(struct nft_batch *b, uint16_t type, const void *data,
	     size_t len)
{
	if (b->err)
		return;
	if (!b->cur) {
		nft_fail(b, -EINVAL);
		return;
	}
	if (len > UINT16_MAX - MNL_ATTR_HDRLEN ||
	    !mnl_attr_put_check(b->cur, nft_room(b), type, len, data))
		nft_fail(b, -EMSGSIZE);
}

void nft_put_u32(struct nft_batch *b, uint16_t type, uint32_t v)
{
	v = htonl(v);
	nft_put(b, type, &v, sizeof(v));
}

void nft_put_name(struct nft_batch *b, uint16_t type, const char *s)
{
	size_t n;

	if (!s) {
		nft_fail(b, -EINVAL);
		return;
	}
	n = strnlen(s, NFT_NAME_MAXLEN);
	if (n == 0 || n >= NFT_NAME_MAXLEN) {
		nft_fail(b, n ? -ENAMETOOLONG : -EINVAL);
		return;
	}
	nft_put(b, type, s, n + 1);
}

void nft_nest_start(struct nft_batch *b, uint16_t type)
{
	struct nlattr *a;

	if (b->err)
		return;
	if (!b->cur || b->depth == NFT_BATCH_NEST_MAX) {
		nft_fail(b, -EINVAL);
		return;
	}
	a = mnl_attr_nest_start_check(b->cur, nft_room(b), type);
	if (!a) {
		nft_fail(b, -EMSGSIZE);
		return;
	}
	b->nest[b->depth++] = a;
}

void nft_nest_end(struct nft_batch *b)
{
	struct nlattr *a;

	if (b->err)
		return;
	if (!b->depth) {
		nft_fail(b, -EINVAL);
		return;
	}
	a = b->nest[--b->depth];
	if ((char *)mnl_nlmsg_get_payload_tail(b->cur) - (char *)a >
	    UINT16_MAX) {
		nft_fail(b, -EMSGSIZE);
		return;
	}
	mnl_attr_nest_end(b->cur, a);
}

void nft_put_data(struct nft_batch *b, uint16_t type, const void *data,
		  size_t len)
{
	nft_nest_start(b, type);
	nft_put(b, NFTA_DATA_VALUE, data, len);
	nft_nest_end(b);
}

void nft_put_verdict(struct nft_batch *b, uint16_t type, int code,
		     const char *chain)
{
	if ((code == NFT_JUMP || code == NFT_GOTO) != (chain != NULL)) {
		nft_fail(b, -EINVAL);
		return;
	}
	nft_nest_start(b, type);
	nft_nest_start(b, NFTA_DATA_VERDICT);
	nft_put_u32(b, NFTA_VERDICT_CODE, (uint32_t)code);
	if (chain)
		nft_put_name(b, NFTA_VERDICT_CHAIN, chain);
	nft_nest_end(b);
	nft_nest_end(b);
}

void nft_batch_init(struct nft_batch *b, void *buf, size_t size)
{
	struct nlmsghdr *nlh;

	memset(b, 0, sizeof(*b));
	b->buf = buf;
	/* keep room for BATCH_END */
	if (!buf || size < 256) {
		b->err = -EINVAL;
		return;
	}
	/* Debian's libmnl 1.0.4 leaves attribute padding as it was: zero
	 * it all, so no stale heap or stack bytes reach the kernel. */
	memset(buf, 0, size);
	b->size = size - mnl_nlmsg_size(sizeof(struct nfgenmsg));
	nlh = nft_msg_start(b, NFNL_MSG_BATCH_BEGIN, AF_UNSPEC, 0);
	((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->res_id =
		htons(NFNL_SUBSYS_NFTABLES);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->cur = NULL;
}

void nft_batch_genid(struct nft_batch *b, uint32_t genid)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)b->buf;

	if (b->err)
		return;
	if (b->nmsg || b->cur) {
		nft_fail(b, -EINVAL);
		return;
	}
	b->cur = nlh;
	b->len -= NLMSG_ALIGN(nlh->nlmsg_len);
	nft_put_u32(b, NFNL_BATCH_GENID, genid);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->cur = NULL;
}

/* --- tables, chains, rules ---------------------------------------------- */

void nft_named(struct nft_batch *b, int msg, int family, uint16_t flags,
	       uint16_t tattr, const char *table, uint16_t nattr,
	       const char *name)
{
	nft_msg(b, msg, family, flags);
	nft_put_name(b, tattr, table);
	if (name)
		nft_put_name(b, nattr, name);
	nft_msg_end(b);
}

void nft_table_add(struct nft_batch *b, int family, const char *table)
{
	nft_named(b, NFT_MSG_NEWTABLE, family, NLM_F_CREATE, NFTA_TABLE_NAME,
	      table, 0, NULL);
}

void nft_table_del(struct nft_batch *b, int family, const char *table)
{
	nft_named(b, NFT_MSG_DELTABLE, family, 0, NFTA_TABLE_NAME, table, 0,
	      NULL);
}

void nft_table_del_if_empty(struct nft_batch *b, int family,
			    const char *table)
{
	nft_named(b, NFT_MSG_DELTABLE, family, NLM_F_NONREC, NFTA_TABLE_NAME,
	      table, 0, NULL);
}

int nft_table_destroy(struct nft_sock *s, int family, const char *table,
		      struct nft_err *e)
{
	char buf[1024];
	struct nft_batch b;

	nft_batch_init(&b, buf, sizeof(buf));
	nft_table_add(&b, family, table);
	nft_table_del(&b, family, table);
	return nft_batch_send(s, &b, e);
}

void nft_table_flush(struct nft_batch *b, int family, const char *table)
{
	nft_named(b, NFT_MSG_DELRULE, family, 0, NFTA_RULE_TABLE, table, 0,
	      NULL);
}

void nft_chain_add(struct nft_batch *b, int family, const char *table,
		   const char *chain, const struct nft_hook *hook)
{
	nft_msg(b, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE);
	nft_put_name(b, NFTA_CHAIN_TABLE, table);
	nft_put_name(b, NFTA_CHAIN_NAME, chain);
	if (hook) {
		nft_nest_start(b, NFTA_CHAIN_HOOK);
		nft_put_u32(b, NFTA_HOOK_HOOKNUM, (uint32_t)hook->hooknum);
		nft_put_u32(b, NFTA_HOOK_PRIORITY, (uint32_t)hook->prio);
		nft_nest_end(b);
		nft_put_u32(b, NFTA_CHAIN_POLICY,
			    hook->drop ? NF_DROP : NF_ACCEPT);
		nft_put_name(b, NFTA_CHAIN_TYPE,
			     hook->type ? hook->type : "filter");
	}
	nft_msg_end(b);
}

void nft_chain_flush(struct nft_batch *b, int family, const char *table,
		     const char *chain)
{
	nft_named(b, NFT_MSG_DELRULE, family, 0, NFTA_RULE_TABLE, table,
	      NFTA_RULE_CHAIN, chain);
}

void nft_chain_del(struct nft_batch *b, int family, const char *table,
		   const char *chain)
{
	nft_named(b, NFT_MSG_DELCHAIN, family, 0, NFTA_CHAIN_TABLE, table,
	      NFTA_CHAIN_NAME, chain);
}

void nft_rule_begin(struct nft_batch *b, int family, const char *table,
		    const char *chain)
{
	nft_msg(b, NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND);
	nft_put_name(b, NFTA_RULE_TABLE, table);
	nft_put_name(b, NFTA_RULE_CHAIN, chain);
	nft_nest_start(b, NFTA_RULE_EXPRESSIONS);
	b->family = family;
	b->deps = 0;
}

void nft_rule_end(struct nft_batch *b)
{
	nft_nest_end(b);
	nft_msg_end(b);
}

void nft_rule_del(struct nft_batch *b, int family, const char *table,
		  const char *chain, uint64_t handle)
{
	uint64_t h = htobe64(handle);

	nft_msg(b, NFT_MSG_DELRULE, family, 0);
	nft_put_name(b, NFTA_RULE_TABLE, table);
	nft_put_name(b, NFTA_RULE_CHAIN, chain);
	nft_put(b, NFTA_RULE_HANDLE, &h, sizeof(h));
	nft_msg_end(b);
}

/* --- sending: one sendmsg, one ACK per message -------------------------- */

static const char *const msg_names[] = {
	[NFT_MSG_NEWTABLE] = "NEWTABLE", [NFT_MSG_DELTABLE] = "DELTABLE",
	[NFT_MSG_NEWCHAIN] = "NEWCHAIN", [NFT_MSG_DELCHAIN] = "DELCHAIN",
	[NFT_MSG_NEWRULE] = "NEWRULE", [NFT_MSG_DELRULE] = "DELRULE",
	[NFT_MSG_NEWSET] = "NEWSET", [NFT_MSG_DELSET] = "DELSET",
	[NFT_MSG_NEWSETELEM] = "NEWSETELEM",
	[NFT_MSG_DELSETELEM] = "DELSETELEM",
};

const char *nft_family_name(int family)
{
	switch (family) {
	case NFPROTO_INET: return "inet";
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_IPV6: return "ip6";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_NETDEV: return "netdev";
	}
	return "?";
}

struct acks {
	uint32_t seq0;		/* BEGIN's sequence number */
	int nmsg;
	int got;
	const struct nft_batch *b;
	struct nft_err *e;
	uint32_t offs;		/* extack NLMSGERR_ATTR_OFFS, 0 = none */
};

static int extack_cb(const struct nlattr *attr, void *data)
{
	struct acks *a = data;

	switch (mnl_attr_get_type(attr)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(a->e->msg, sizeof(a->e->msg), "%s",
				 mnl_attr_get_str(attr));
		break;
	case NLMSGERR_ATTR_OFFS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			a->offs = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static void extack(const struct nlmsghdr *nlh, struct acks *a)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (nlh->nlmsg_flags & NLM_F_CAPPED)
		off = sizeof(*err);
	else
		off = sizeof(err->error) + NLMSG_ALIGN(err->msg.nlmsg_len);
	if (off >= plen || err->msg.nlmsg_len < sizeof(err->msg))
		return;
	mnl_attr_parse_payload((const char *)err + off, plen - off,
			       extack_cb, a);
}

/* The batch's message number idx (0 = first after BEGIN), or NULL. */
static const struct nlmsghdr *batch_msg(const struct nft_batch *b, int idx)
{
	const struct nlmsghdr *nlh = (const void *)b->buf;
	int len = (int)b->len, i;

	if (idx < 0)
		return NULL;
	nlh = mnl_nlmsg_next(nlh, &len);
	for (i = 0; mnl_nlmsg_ok(nlh, len); i++) {
		if (i == idx)
			return nlh;
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	return NULL;
}

static int names_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t t = mnl_attr_get_type(attr);

	if (t <= 3 && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		tb[t] = attr;
	return MNL_CB_OK;
}

/* Printable string attribute at the kernel's bad-attribute offset. */
static const char *bad_attr(const struct nlmsghdr *nlh, uint32_t offs)
{
	const struct nlattr *attr = (const void *)((const char *)nlh + offs);
	const char *s;
	size_t n;

	if (offs % 4 || offs < mnl_nlmsg_size(sizeof(struct nfgenmsg)) ||
	    offs + sizeof(*attr) > nlh->nlmsg_len ||
	    offs + attr->nla_len > nlh->nlmsg_len ||
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return NULL;
	s = mnl_attr_get_str(attr);
	for (n = 0; s[n]; n++)
		if (s[n] < 0x20 || s[n] > 0x7e)
			return NULL;
	return n ? s : NULL;
}

static void describe(struct acks *a, int idx)
{
	const struct nlmsghdr *nlh = batch_msg(a->b, idx);
	const struct nlattr *tb[4] = { NULL };
	const struct nfgenmsg *nfg;
	const char *obj, *bad;
	uint16_t t;

	if (!nlh)
		return;
	t = nlh->nlmsg_type & 0xff;
	a->e->type = t;
	nfg = mnl_nlmsg_get_payload(nlh);
	mnl_attr_parse(nlh, sizeof(*nfg), names_cb, tb);
	obj = (t == NFT_MSG_NEWCHAIN || t == NFT_MSG_DELCHAIN) ?
	      (tb[3] ? mnl_attr_get_str(tb[3]) : NULL) :
	      (tb[2] ? mnl_attr_get_str(tb[2]) : NULL);
	snprintf(a->e->what, sizeof(a->e->what), "%s %s %s%s%s",
		 t < MNL_ARRAY_SIZE(msg_names) && msg_names[t] ?
		 msg_names[t] : "MSG", nft_family_name(nfg->nfgen_family),
		 tb[1] ? mnl_attr_get_str(tb[1]) : "", obj ? "/" : "",
		 obj ? obj : "");
	bad = a->offs ? bad_attr(nlh, a->offs) : NULL;
	if (bad && !a->e->msg[0])
		snprintf(a->e->msg, sizeof(a->e->msg), "at \"%s\"", bad);
}

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	struct acks *a = data;
	const struct nlmsgerr *err;
	int idx;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	err = mnl_nlmsg_get_payload(nlh);
	idx = (int)(nlh->nlmsg_seq - a->seq0) - 1;
	if (idx < -1 || idx > a->nmsg)
		return MNL_CB_OK;	/* not ours: a stale reply */
	if (idx >= 0 && idx < a->nmsg)
		a->got++;
	if (err->error == 0 || a->e->err)
		return MNL_CB_OK;
	a->e->err = err->error < 0 && err->error > -4096 ? err->error : -EIO;
	a->e->index = idx < a->nmsg ? idx : -1;
	a->offs = 0;
	extack(nlh, a);
	describe(a, a->e->index);
	return MNL_CB_OK;
}

static int acks_collect(struct nft_sock *s, struct acks *a)
{
	char buf[16384];
	struct pollfd p = { mnl_socket_get_fd(s->nl), POLLIN, 0 };
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { NULL };
	ssize_t n;
	int ret;

	ctl[NLMSG_ERROR] = ack_cb;
	/* nfnetlink handles the batch inside sendmsg: by now every reply
	 * is queued; after an error the rest may never come. */
	while (a->got < a->nmsg) {
		ret = poll(&p, 1, a->e->err ? 0 : ACK_WAIT_MS);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return a->e->err ? 0 : -ETIMEDOUT;
		n = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if (!nft_msgs_ok(buf, n))
			return -EBADMSG;
		if (mnl_cb_run2(buf, n, 0, s->portid, NULL, a, ctl,
				MNL_ARRAY_SIZE(ctl)) < 0)
			return -errno;
	}
	return 0;
}

static void sock_bufs(struct nft_sock *s, size_t len, int nmsg)
{
	int fd = mnl_socket_get_fd(s->nl), cur = 0, want;
	socklen_t sl = sizeof(cur);

	want = (int)len + 4096;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl) == 0 &&
	    cur / 2 < want &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	want = nmsg * RCVBUF_PER_MSG + 65536;
	sl = sizeof(cur);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &sl) == 0 &&
	    cur / 2 < want &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
}

/* Append BATCH_END past b->len and number every message from s->seq. */
static size_t batch_close(struct nft_sock *s, struct nft_batch *b,
			  uint32_t *seq0)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf + b->len);
	struct nfgenmsg *nfg;
	size_t total;
	int len;

	nlh->nlmsg_type = NFNL_MSG_BATCH_END;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	total = b->len + NLMSG_ALIGN(nlh->nlmsg_len);
	*seq0 = s->seq;
	len = (int)total;
	for (nlh = (void *)b->buf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		nlh->nlmsg_seq = s->seq++;
		nlh->nlmsg_pid = 0;
	}
	return total;
}

int nft_batch_send(struct nft_sock *s, struct nft_batch *b,
		   struct nft_err *e)
{
	struct nft_err local;
	struct acks a;
	size_t total;
	ssize_t n;
	int err;

	if (!e)
		e = &local;
	memset(e, 0, sizeof(*e));
	e->index = -1;
	if (!b->err && (b->cur || b->depth))
		b->err = -EINVAL;	/* a rule or element list left open */
	if (b->err)
		return e->err = b->err;
	if (!b->nmsg)
		return 0;
	memset(&a, 0, sizeof(a));
	a.nmsg = b->nmsg;
	a.b = b;
	a.e = e;
	total = batch_close(s, b, &a.seq0);
	sock_bufs(s, total, b->nmsg);
	n = mnl_socket_sendto(s->nl, b->buf, total);
	if (n < 0)
		return e->err = -errno;
	if ((size_t)n != total)
		return e->err = -EIO;
	err = acks_collect(s, &a);
	if (err && !e->err)
		e->err = err;
	return e->err;
}

const char *nft_err_fmt(const struct nft_err *e, char *buf, size_t size)
{
	snprintf(buf, size, "%s: %s%s%s%s", e->what[0] ? e->what : "nftables",
		 strerror(e->err < 0 ? -e->err : e->err),
		 e->msg[0] ? " (" : "", e->msg, e->msg[0] ? ")" : "");
	return buf;
}
