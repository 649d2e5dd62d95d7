/*
 * libmnl API tests over canned netlink blobs.  Built twice: against lib/mnl
 * (musl) and against Debian's libmnl (asan/glibc), so passing in both builds
 * shows the two agree.  test_digest folds thousands of pseudo-random
 * messages through both parsers and compares with a digest recorded from
 * the real libmnl 1.0.4.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "test.h"

#define ALIGNED __attribute__((aligned(8)))

static void test_header(void)
{
	char buf[64] ALIGNED;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	memset(buf, 0x5a, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	CHECK_INT(nlh->nlmsg_len, 16);
	CHECK_INT(nlh->nlmsg_type, 0);
	CHECK_INT(nlh->nlmsg_seq, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	CHECK_INT(nlh->nlmsg_len, 32);
	CHECK_INT(ifm->ifi_index, 0);
	CHECK((char *)ifm == buf + 16);
	CHECK(mnl_nlmsg_get_payload(nlh) == (void *)(buf + 16));
	CHECK(mnl_nlmsg_get_payload_offset(nlh, 3) == (void *)(buf + 20));
	CHECK(mnl_nlmsg_get_payload_tail(nlh) == (void *)(buf + 32));
	CHECK_INT(mnl_nlmsg_get_payload_len(nlh), 16);
	CHECK_INT(mnl_nlmsg_size(5), 21);
	CHECK_INT(MNL_NLMSG_HDRLEN, 16);
	CHECK_INT(MNL_ATTR_HDRLEN, 4);
	CHECK_INT(MNL_ALIGN(5), 8);
	mnl_nlmsg_put_extra_header(nlh, 5);	/* rounded up */
	CHECK_INT(nlh->nlmsg_len, 40);
}

/* The exact bytes libmnl writes (little-endian host). */
static const unsigned char attrs_blob[] = {
	0x30, 0, 0, 0, 0x10, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
	5, 0, 1, 0, 0x7f, 0, 0, 0,		/* u8 */
	6, 0, 2, 0, 0x34, 0x12, 0, 0,		/* u16 */
	8, 0, 3, 0, 0x78, 0x56, 0x34, 0x12,	/* u32 */
	8, 0, 4, 0, 'e', 't', 'h', 0,		/* strz "eth" */
};

static void test_put(void)
{
	char buf[128] ALIGNED;
	struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));	/* padding bytes are not specified */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
			   NLM_F_EXCL;
	nlh->nlmsg_seq = 1;
	mnl_attr_put_u8(nlh, 1, 0x7f);
	mnl_attr_put_u16(nlh, 2, 0x1234);
	mnl_attr_put_u32(nlh, 3, 0x12345678);
	mnl_attr_put_strz(nlh, 4, "eth");
	CHECK_INT(nlh->nlmsg_len, sizeof(attrs_blob));
	CHECK(!memcmp(buf, attrs_blob, sizeof(attrs_blob)));
	mnl_attr_put_str(nlh, 5, "abc");	/* no NUL: len 7 */
	CHECK_INT(((struct nlattr *)(buf + 48))->nla_len, 7);
	CHECK_INT(nlh->nlmsg_len, 56);
	mnl_attr_put_u64(nlh, 6, 0x1122334455667788ULL);
	CHECK_INT(nlh->nlmsg_len, 68);
	mnl_attr_put(nlh, 7, 0, NULL);
	CHECK_INT(nlh->nlmsg_len, 72);
}

static void test_put_check(void)
{
	char buf[64] ALIGNED;
	struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	CHECK(mnl_attr_put_u32_check(nlh, 24, 1, 7));	/* exactly fits */
	CHECK_INT(nlh->nlmsg_len, 24);
	CHECK(!mnl_attr_put_u8_check(nlh, 27, 2, 1));	/* needs 8 */
	CHECK_INT(nlh->nlmsg_len, 24);			/* untouched */
	CHECK(mnl_attr_put_u8_check(nlh, 32, 2, 1));
	CHECK(!mnl_attr_put_strz_check(nlh, 40, 3, "12345"));
	CHECK(mnl_attr_put_str_check(nlh, 44, 3, "12345"));
	CHECK_INT(nlh->nlmsg_len, 44);
	CHECK(!mnl_attr_put_u64_check(nlh, 55, 4, 1));
	CHECK(mnl_attr_put_u64_check(nlh, 56, 4, 1));
	CHECK(!mnl_attr_put_u16_check(nlh, 59, 5, 1));
	CHECK(!mnl_attr_put_check(nlh, 63, 5, 3, "abc"));
	CHECK(!mnl_attr_nest_start_check(nlh, 59, 6));
	CHECK(mnl_attr_nest_start_check(nlh, 60, 6) != NULL);
	CHECK_INT(nlh->nlmsg_len, 60);
}

struct seen {
	int n;
	uint16_t type[16];
	uint32_t val[16];
};

static int collect_cb(const struct nlattr *a, void *data)
{
	struct seen *s = data;

	if (s->n >= 16)
		return MNL_CB_ERROR;
	s->type[s->n] = mnl_attr_get_type(a);
	s->val[s->n] = mnl_attr_get_payload_len(a) >= 4 ?
		       mnl_attr_get_u32(a) : mnl_attr_get_payload_len(a);
	s->n++;
	return s->n == 3 && s->type[0] == 99 ? MNL_CB_STOP : MNL_CB_OK;
}

static void test_nest(void)
{
	char buf[128] ALIGNED;
	struct nlmsghdr *nlh;
	struct nlattr *nest, *inner, *a, *attr;
	struct seen s = { 0 };
	int n = 0;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_u32(nlh, IFLA_MTU, 1450);
	nest = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	CHECK_INT(nest->nla_type, IFLA_LINKINFO | NLA_F_NESTED);
	CHECK_INT(mnl_attr_get_type(nest), IFLA_LINKINFO);
	mnl_attr_put_str(nlh, IFLA_INFO_KIND, "veth");
	inner = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, 1, 11);
	mnl_attr_nest_end(nlh, inner);
	CHECK_INT(inner->nla_len, 12);
	inner = mnl_attr_nest_start(nlh, 9);		/* cancelled */
	mnl_attr_put_u32(nlh, 1, 12);
	mnl_attr_nest_cancel(nlh, inner);
	mnl_attr_nest_end(nlh, nest);
	CHECK_INT(nest->nla_len, 4 + 8 + 12);
	CHECK_INT(nlh->nlmsg_len, 16 + 16 + 8 + 24);
	CHECK_INT(mnl_attr_parse(nlh, sizeof(struct ifinfomsg), collect_cb,
				 &s), MNL_CB_OK);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.type[0], IFLA_MTU);
	CHECK_INT(s.val[0], 1450);
	CHECK_INT(s.type[1], IFLA_LINKINFO);
	CHECK_INT(mnl_attr_validate(nest, MNL_TYPE_NESTED), 0);
	memset(&s, 0, sizeof(s));
	CHECK_INT(mnl_attr_parse_nested(nest, collect_cb, &s), MNL_CB_OK);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.type[0], IFLA_INFO_KIND);
	CHECK_INT(s.type[1], IFLA_INFO_DATA);
	mnl_attr_for_each_nested(a, nest)
		n++;
	CHECK_INT(n, 2);
	n = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		n++;
	CHECK_INT(n, 2);
	n = 0;
	/* as in libmnl, this macro's iterator is always named attr */
	mnl_attr_for_each_payload(mnl_attr_get_payload(nest),
				  mnl_attr_get_payload_len(nest))
		n += attr != NULL;
	CHECK_INT(n, 2);
}

/* An attribute with payload `len` bytes of `fill` at a fixed place. */
static struct nlattr *mkattr(char *buf, uint16_t type, uint16_t len, int fill)
{
	struct nlattr *a = (struct nlattr *)buf;

	memset(buf, fill, 4 + len);
	a->nla_type = type;
	a->nla_len = MNL_ATTR_HDRLEN + len;
	return a;
}

#define CHECK_VALID(r, e, want, werr) do {				\
	errno = 0;							\
	r = (e);							\
	CHECK_INT(r, want);						\
	if (want < 0)							\
		CHECK_INT(errno, werr);					\
} while (0)

static void test_validate(void)
{
	char buf[64] ALIGNED;
	struct nlattr *a;
	int r;

	a = mkattr(buf, 1, 4, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_U32), 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_U64), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_U16), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_BINARY), 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_UNSPEC), 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_MAX), -1, EINVAL);
	CHECK_VALID(r, mnl_attr_validate2(a, MNL_TYPE_BINARY, 4), 0, 0);
	CHECK_VALID(r, mnl_attr_validate2(a, MNL_TYPE_BINARY, 6), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate2(a, MNL_TYPE_BINARY, 2), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate2(a, MNL_TYPE_MAX, 2), -1, EINVAL);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_NUL_STRING), 0, 0);
	a = mkattr(buf, 1, 3, 'x');
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_NUL_STRING), -1, EINVAL);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_STRING), 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_FLAG), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_NESTED), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_U8), -1, ERANGE);
	a = mkattr(buf, 1, 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_FLAG), 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_NESTED), 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_STRING), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_NUL_STRING), -1, ERANGE);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_U8), -1, ERANGE);
	a = mkattr(buf, 1, 8, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_MSECS), 0, 0);
	CHECK_VALID(r, mnl_attr_validate(a, MNL_TYPE_NESTED), 0, 0);
	a = mkattr(buf, 7 | NLA_F_NESTED, 0, 0);
	CHECK_INT(mnl_attr_get_type(a), 7);
	CHECK_VALID(r, mnl_attr_type_valid(a, 7), 1, 0);
	CHECK_VALID(r, mnl_attr_type_valid(a, 6), -1, EOPNOTSUPP);
}

static void test_attr_bounds(void)
{
	char buf[64] ALIGNED;
	struct nlattr *a;
	struct seen s = { 0 };

	a = mkattr(buf, 1, 4, 0);
	CHECK(mnl_attr_ok(a, 8));
	CHECK(!mnl_attr_ok(a, 7));		/* runs past the end */
	CHECK(!mnl_attr_ok(a, 3));
	CHECK(!mnl_attr_ok(a, -4));
	a->nla_len = 3;				/* shorter than a header */
	CHECK(!mnl_attr_ok(a, 64));
	a->nla_len = 5;
	CHECK(mnl_attr_next(a) == (struct nlattr *)(buf + 8));
	/* two attributes, the second truncated: only the first is seen */
	a = mkattr(buf, 3, 4, 1);
	a = mkattr(buf + 8, 4, 8, 2);
	CHECK_INT(mnl_attr_parse_payload(buf, 14, collect_cb, &s), MNL_CB_OK);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.val[0], 0x01010101);
	memset(&s, 0, sizeof(s));
	CHECK_INT(mnl_attr_parse_payload(buf, 0, collect_cb, &s), MNL_CB_OK);
	CHECK_INT(s.n, 0);
	/* a callback returning STOP ends the walk with STOP */
	memset(&s, 0, sizeof(s));
	mkattr(buf, 99, 0, 0);
	mkattr(buf + 4, 99, 0, 0);
	mkattr(buf + 8, 99, 0, 0);
	mkattr(buf + 12, 99, 0, 0);
	CHECK_INT(mnl_attr_parse_payload(buf, 16, collect_cb, &s), MNL_CB_STOP);
	CHECK_INT(s.n, 3);
}

static void test_getters(void)
{
	char buf[64] ALIGNED;
	struct nlattr *a;

	a = mkattr(buf, 1, 8, 0);
	memcpy(buf + 4, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);
	CHECK_INT(mnl_attr_get_u8(a), 0x88);
	CHECK_INT(mnl_attr_get_u16(a), 0x7788);
	CHECK_INT(mnl_attr_get_u32(a), 0x55667788);
	CHECK(mnl_attr_get_u64(a) == 0x1122334455667788ULL);
	CHECK_INT(mnl_attr_get_len(a), 12);
	CHECK_INT(mnl_attr_get_payload_len(a), 8);
	CHECK(mnl_attr_get_payload(a) == (void *)(buf + 4));
	CHECK(mnl_attr_get_str(a) == buf + 4);
}

static void test_batch(void)
{
	char buf[128] ALIGNED;
	struct mnl_nlmsg_batch *b;
	struct nlmsghdr *nlh;
	int i;

	memset(buf, 0, sizeof(buf));
	b = mnl_nlmsg_batch_start(buf, 64);	/* room for one more past 64 */
	CHECK(b != NULL);
	if (!b)
		return;
	CHECK(mnl_nlmsg_batch_is_empty(b));
	CHECK(mnl_nlmsg_batch_head(b) == (void *)buf);
	for (i = 0; i < 3; i++) {
		nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
		nlh->nlmsg_seq = i + 1;
		mnl_attr_put_u32(nlh, 1, i);
		CHECK_INT(mnl_nlmsg_batch_next(b), i < 2);
	}
	CHECK_INT(mnl_nlmsg_batch_size(b), 48);
	CHECK(!mnl_nlmsg_batch_is_empty(b));
	CHECK(mnl_nlmsg_batch_current(b) == (void *)(buf + 48));
	mnl_nlmsg_batch_reset(b); /* the third message moves to the head */
	CHECK_INT(mnl_nlmsg_batch_size(b), 24);
	CHECK_INT(((struct nlmsghdr *)buf)->nlmsg_seq, 3);
	CHECK(mnl_nlmsg_batch_current(b) == (void *)(buf + 24));
	nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	CHECK(mnl_nlmsg_batch_next(b));
	CHECK_INT(mnl_nlmsg_batch_size(b), 40);
	mnl_nlmsg_batch_reset(b);
	CHECK(mnl_nlmsg_batch_is_empty(b));
	CHECK(mnl_nlmsg_batch_current(b) == (void *)buf);
	mnl_nlmsg_batch_stop(b);
}

/* Appends a message with `plen` zeroed payload bytes at buf + *off. */
static struct nlmsghdr *msg(char *buf, size_t *off, uint16_t type,
			    uint16_t flags, uint32_t seq, uint32_t pid,
			    size_t plen)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(buf + *off);

	memset(nlh, 0, MNL_ALIGN(16 + plen));
	nlh->nlmsg_len = 16 + plen;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	*off += MNL_ALIGN(16 + plen);
	return nlh;
}

static size_t err_msg(char *buf, size_t off, int error, uint32_t seq)
{
	struct nlmsghdr *nlh;

	nlh = msg(buf, &off, NLMSG_ERROR, 0, seq, 42, sizeof(struct nlmsgerr));
	((struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error = error;
	return off;
}

struct calls {
	int n;
	int ret;	/* what the data callback returns */
	uint16_t last;
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct calls *c = data;

	c->n++;
	c->last = nlh->nlmsg_type;
	return c->ret;
}

#define RUN_CB(want, werr, len, seq, pid) do {				\
	int r_;								\
	errno = 12345;							\
	r_ = mnl_cb_run(buf, len, seq, pid, data_cb, &c);		\
	CHECK_INT(r_, want);						\
	CHECK_INT(errno, werr);						\
} while (0)

static void test_cb_ack_error(void)
{
	char buf[256] ALIGNED;
	struct calls c = { 0, MNL_CB_OK, 0 };
	size_t off = 0, n;

	msg(buf, &off, RTM_NEWLINK, 0, 7, 42, 16);
	n = err_msg(buf, off, 0, 7);			/* reply + ACK */
	RUN_CB(MNL_CB_STOP, 0, n, 7, 42);
	CHECK_INT(c.n, 1);
	n = err_msg(buf, 0, -EEXIST, 7);
	RUN_CB(MNL_CB_ERROR, EEXIST, n, 7, 42);
	n = err_msg(buf, 0, ENODEV, 7);			/* either sign */
	RUN_CB(MNL_CB_ERROR, ENODEV, n, 7, 42);
	off = 0;
	msg(buf, &off, NLMSG_ERROR, 0, 7, 42, 4);	/* too short */
	RUN_CB(MNL_CB_ERROR, EBADMSG, off, 7, 42);
	/* error with extack TLVs after it: the TLVs change nothing */
	off = 0;
	msg(buf, &off, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 7, 42,
	    sizeof(struct nlmsgerr) + 12);
	((struct nlmsgerr *)(buf + 16))->error = -EINVAL;
	*(struct nlattr *)(buf + 36) = (struct nlattr){ 9, NLMSGERR_ATTR_MSG };
	memcpy(buf + 40, "bad\0", 4);
	RUN_CB(MNL_CB_ERROR, EINVAL, off, 7, 42);
	/* the ACK stops the run: a message after it is not looked at */
	c.n = 0;
	n = err_msg(buf, 0, 0, 7);
	off = n;
	msg(buf, &off, RTM_NEWLINK, 0, 7, 42, 0);
	RUN_CB(MNL_CB_STOP, 0, off, 7, 42);
	CHECK_INT(c.n, 0);
}

static void test_cb_checks(void)
{
	char buf[256] ALIGNED;
	struct calls c = { 0, MNL_CB_OK, 0 };
	size_t off = 0;

	msg(buf, &off, RTM_NEWADDR, 0, 7, 42, 8);
	RUN_CB(MNL_CB_OK, 12345, off, 7, 42);
	RUN_CB(MNL_CB_ERROR, EPROTO, off, 8, 42);	/* other seq */
	RUN_CB(MNL_CB_ERROR, ESRCH, off, 7, 43);	/* other portid */
	RUN_CB(MNL_CB_ERROR, ESRCH, off, 8, 43);	/* portid first */
	RUN_CB(MNL_CB_OK, 12345, off, 0, 0);		/* 0: no check */
	off = 0;
	msg(buf, &off, RTM_NEWADDR, 0, 0, 0, 8);	/* notification */
	RUN_CB(MNL_CB_OK, 12345, off, 8, 43);
	c.n = 0;
	off = 0;
	msg(buf, &off, RTM_NEWADDR, NLM_F_MULTI, 7, 42, 8);
	msg(buf, &off, RTM_NEWADDR, NLM_F_MULTI | NLM_F_DUMP_INTR, 7, 42, 8);
	msg(buf, &off, NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, 7, 42, 4);
	RUN_CB(MNL_CB_ERROR, EINTR, off, 7, 42);
	CHECK_INT(c.n, 1);		/* the interrupted one is not passed */
	off = 0;
	msg(buf, &off, NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, 7, 42, 4);
	RUN_CB(MNL_CB_ERROR, EINTR, off, 7, 42);
}

static void test_cb_dump(void)
{
	char buf[256] ALIGNED;
	struct calls c = { 0, MNL_CB_OK, 0 };
	size_t off = 0, full;
	int i;

	for (i = 0; i < 3; i++)
		msg(buf, &off, RTM_NEWROUTE, NLM_F_MULTI, 7, 42, 12);
	msg(buf, &off, NLMSG_NOOP, 0, 7, 42, 0);
	msg(buf, &off, NLMSG_OVERRUN, 0, 7, 42, 0);
	msg(buf, &off, 5, 0, 7, 42, 0);		/* reserved control type */
	full = off;
	RUN_CB(MNL_CB_OK, 12345, off, 7, 42);	/* no DONE yet: read more */
	CHECK_INT(c.n, 3);
	msg(buf, &off, NLMSG_DONE, NLM_F_MULTI, 7, 42, 4);
	msg(buf, &off, RTM_NEWROUTE, 0, 7, 42, 0);	/* after DONE */
	c.n = 0;
	RUN_CB(MNL_CB_STOP, 12345, off, 7, 42);
	CHECK_INT(c.n, 3);
	c.n = 0;
	c.ret = MNL_CB_STOP;
	RUN_CB(MNL_CB_STOP, 12345, off, 7, 42);
	CHECK_INT(c.n, 1);
	c.n = 0;
	c.ret = MNL_CB_ERROR;
	RUN_CB(MNL_CB_ERROR, 12345, off, 7, 42);
	CHECK_INT(c.n, 1);
	c.n = 0;
	c.ret = 7; /* > OK counts as OK; the last one is returned */
	RUN_CB(7, 12345, 28 * 3, 7, 42);
	CHECK_INT(c.n, 3);
	RUN_CB(MNL_CB_OK, 12345, full, 7, 42);	/* the NOOP handler's */
	/* a truncated last message is ignored, not an error */
	c.n = 0;
	c.ret = MNL_CB_OK;
	RUN_CB(MNL_CB_OK, 12345, 28 * 3 - 1, 7, 42);
	CHECK_INT(c.n, 2);
	RUN_CB(MNL_CB_OK, 12345, 0, 7, 42);
	RUN_CB(MNL_CB_OK, 12345, 15, 7, 42);
	((struct nlmsghdr *)buf)->nlmsg_len = 8;	/* bogus length */
	c.n = 0;
	RUN_CB(MNL_CB_OK, 12345, full, 7, 42);
	CHECK_INT(c.n, 0);
	errno = 0;
	CHECK_INT(mnl_cb_run(buf + 28, 28, 7, 42, NULL, NULL), MNL_CB_OK);
}

static int ctl_err(const struct nlmsghdr *nlh, void *data)
{
	struct calls *c = data;

	c->n += 100;
	return MNL_CB_OK;
}

static void test_cb_ctl(void)
{
	char buf[256] ALIGNED;
	struct calls c = { 0, MNL_CB_OK, 0 };
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { 0 };
	size_t off;
	int r;

	ctl[NLMSG_ERROR] = ctl_err;
	off = err_msg(buf, 0, -EPERM, 7);
	msg(buf, &off, NLMSG_DONE, 0, 7, 42, 4);
	msg(buf, &off, RTM_NEWLINK, 0, 7, 42, 0);
	/* a slot below the array length that is NULL skips the message:
	 * here even NLMSG_DONE does not stop the run */
	r = mnl_cb_run2(buf, off, 7, 42, data_cb, &c, ctl, NLMSG_MIN_TYPE);
	CHECK_INT(r, MNL_CB_OK);
	CHECK_INT(c.n, 101);
	/* types at or past the array length get the default handlers */
	c.n = 0;
	r = mnl_cb_run2(buf, off, 7, 42, data_cb, &c, ctl, NLMSG_ERROR + 1);
	CHECK_INT(r, MNL_CB_STOP);
	CHECK_INT(c.n, 100);
	/* NULL array with a length: control messages are all skipped */
	c.n = 0;
	r = mnl_cb_run2(buf, off, 7, 42, data_cb, &c, NULL, NLMSG_MIN_TYPE);
	CHECK_INT(r, MNL_CB_OK);
	CHECK_INT(c.n, 1);
	/* no array: the defaults (the error is reported) */
	c.n = 0;
	errno = 0;
	r = mnl_cb_run2(buf, off, 7, 42, data_cb, &c, NULL, 0);
	CHECK_INT(r, MNL_CB_ERROR);
	CHECK_INT(errno, EPERM);
	CHECK_INT(c.n, 0);
}

static int link_name_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			strncpy(data, mnl_attr_get_str(a), 15);
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *getlink(char *buf, int index, unsigned int seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = index;
	return nlh;
}

/* Talks to the kernel: reads loopback (index 1) and a missing index. */
static void test_socket(void)
{
	static char buf[16384] ALIGNED;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	char name[16] = "";
	unsigned int portid;
	int one = 1, val = 0, r;
	socklen_t len = sizeof(val);
	ssize_t n;

	errno = 0;
	CHECK(mnl_socket_open(9999) == NULL);
	CHECK(errno != 0);
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	CHECK(nl != NULL);
	if (!nl)
		return;
	CHECK(mnl_socket_get_fd(nl) >= 0);
	CHECK_INT(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	portid = mnl_socket_get_portid(nl);
	CHECK(portid != 0);
	CHECK_INT(mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, 4), 0);
	CHECK_INT(mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, 4), 0);
	CHECK_INT(mnl_socket_getsockopt(nl, NETLINK_CAP_ACK, &val, &len), 0);
	CHECK_INT(val, 1);
	nlh = getlink(buf, 1, 100);
	CHECK_INT(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), nlh->nlmsg_len);
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		r = n < 0 ? -1 : mnl_cb_run(buf, n, 100, portid, link_name_cb,
					     name);
	} while (r == MNL_CB_OK);
	CHECK_INT(r, MNL_CB_STOP);
	CHECK_STR(name, "lo");
	nlh = getlink(buf, 0x7ffffff0, 101);
	mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	errno = 0;
	CHECK_INT(mnl_cb_run(buf, n, 101, portid, NULL, NULL), MNL_CB_ERROR);
	CHECK_INT(errno, ENODEV);
	/* a datagram larger than the buffer: ENOSPC, and it is gone */
	nlh = getlink(buf, 1, 102);
	mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	errno = 0;
	CHECK_INT(mnl_socket_recvfrom(nl, buf, 32), -1);
	CHECK_INT(errno, ENOSPC);
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));	/* the ACK */
	CHECK_INT(mnl_cb_run(buf, n, 102, portid, NULL, NULL), MNL_CB_STOP);
	CHECK_INT(mnl_socket_close(nl), 0);
	nl = mnl_socket_fdopen(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	CHECK(nl != NULL);
	if (nl)
		mnl_socket_close(nl);
	CHECK(mnl_socket_fdopen(-1) == NULL);
}

/*
 * Differential digest: pseudo-random message streams (mostly well formed,
 * some lengths broken; no byte >= 0x80 where a length could be read, since
 * libmnl 1.0.4 walks off the buffer on an nlmsg_len >= 2^31) run through
 * mnl_cb_run2 with attribute parsing and validation of every attribute;
 * every return value, errno and value read is folded into one FNV-1a
 * hash, compared with the one the real libmnl 1.0.4 gives.
 */
struct dg {
	uint64_t h;
	uint32_t rnd;
	int depth;
};

static void mix(struct dg *d, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		d->h = (d->h ^ (v & 0xff)) * 0x100000001b3ULL;
}

static uint32_t rnd(struct dg *d)
{
	d->rnd ^= d->rnd << 13;
	d->rnd ^= d->rnd >> 17;
	d->rnd ^= d->rnd << 5;
	return d->rnd;
}

static void dg_value(struct dg *d, const struct nlattr *a, int t)
{
	const unsigned char *p = mnl_attr_get_payload(a);
	int i;

	switch (t) {
	case MNL_TYPE_U8:
		mix(d, mnl_attr_get_u8(a));
		break;
	case MNL_TYPE_U16:
		mix(d, mnl_attr_get_u16(a));
		break;
	case MNL_TYPE_U32:
		mix(d, mnl_attr_get_u32(a));
		break;
	case MNL_TYPE_U64:
	case MNL_TYPE_MSECS:
		mix(d, mnl_attr_get_u64(a));
		break;
	default:
		for (i = 0; i < mnl_attr_get_payload_len(a); i++)
			mix(d, p[i]);
	}
}

static int dg_attr(const struct nlattr *a, void *data)
{
	struct dg *d = data;
	int t = mnl_attr_get_type(a) % (MNL_TYPE_MAX + 1), r;

	mix(d, a->nla_type);
	mix(d, mnl_attr_get_len(a));
	errno = 0;
	r = mnl_attr_validate(a, t);
	mix(d, r);
	mix(d, errno);
	if (r == 0 && t == MNL_TYPE_NESTED && d->depth < 3) {
		d->depth++;
		mix(d, mnl_attr_parse_nested(a, dg_attr, d));
		d->depth--;
	} else if (r == 0) {
		dg_value(d, a, t);
	}
	errno = 0;
	mix(d, mnl_attr_validate2(a, t, mnl_attr_get_type(a) % 9));
	mix(d, errno);
	mix(d, mnl_attr_type_valid(a, 20));
	if ((a->nla_type & 0x3f) == 0x3f)
		return MNL_CB_ERROR;
	return (a->nla_type & 0x3f) == 0x3e ? MNL_CB_STOP : MNL_CB_OK;
}

static int dg_data(const struct nlmsghdr *nlh, void *data)
{
	struct dg *d = data;
	int r;

	mix(d, nlh->nlmsg_type);
	mix(d, nlh->nlmsg_len);
	r = mnl_attr_parse(nlh, (nlh->nlmsg_type & 3) * 4, dg_attr, d);
	mix(d, r);
	if ((nlh->nlmsg_seq & 1) && r <= MNL_CB_STOP)
		return r;
	return MNL_CB_OK;
}

static int dg_ctl(const struct nlmsghdr *nlh, void *data)
{
	struct dg *d = data;

	mix(d, 0xc0 + nlh->nlmsg_type);
	return nlh->nlmsg_len & 4 ? MNL_CB_OK : MNL_CB_STOP;
}

/* Random attributes in [p, p + room); returns bytes used (aligned). */
static size_t dg_attrs(struct dg *d, char *p, size_t room, int depth)
{
	size_t off = 0, len;
	struct nlattr *a;

	while (off + 4 <= room && rnd(d) % 6) {
		a = (struct nlattr *)(p + off);
		len = rnd(d) % 20;
		if (off + 4 + MNL_ALIGN(len) > room)
			break;
		a->nla_type = rnd(d) % 72;
		if (depth < 2 && rnd(d) % 4 == 0) {
			a->nla_type = MNL_TYPE_NESTED | (rnd(d) % 2) << 14;
			len = dg_attrs(d, p + off + 4, room - off - 4,
				       depth + 1);
		} else {
			memset(p + off + 4, rnd(d) % 3 ? 0 : rnd(d) % 0x80,
			       len);
		}
		a->nla_len = 4 + len;
		if (rnd(d) % 16 == 0)
			a->nla_len = rnd(d) % 48;
		off += MNL_ALIGN(4 + len);
	}
	return off;
}

static size_t dg_stream(struct dg *d, char *buf, size_t size)
{
	static const uint16_t types[] = { 0, 1, 2, 3, 4, 9, 16, 20, 100 };
	struct nlmsghdr *nlh;
	size_t off = 0, len;

	while (off + 16 <= size && rnd(d) % 5) {
		nlh = (struct nlmsghdr *)(buf + off);
		nlh->nlmsg_type = types[rnd(d) % 9];
		nlh->nlmsg_flags = rnd(d) & 0x7fff &
				   (rnd(d) % 8 ? ~NLM_F_DUMP_INTR : ~0);
		nlh->nlmsg_seq = rnd(d) % 3;
		nlh->nlmsg_pid = rnd(d) % 4 ? 5 : rnd(d) % 3 + 4;
		len = dg_attrs(d, buf + off + 16, size - off - 16, 0);
		nlh->nlmsg_len = 16 + len;
		if (rnd(d) % 20 == 0)
			nlh->nlmsg_len = rnd(d) % 96;
		off += 16 + len;
	}
	return off;
}

#define DIGEST 0x4d8053dc5c8259b3ULL

static void test_digest(void)
{
	static char buf[1024] ALIGNED;
	struct dg d = { 0xcbf29ce484222325ULL, 2463534242U, 0 };
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { 0 };
	size_t len;
	int i, r;

	ctl[NLMSG_ERROR] = dg_ctl;
	ctl[NLMSG_DONE] = dg_ctl;
	for (i = 0; i < 20000; i++) {
		memset(buf, 0, sizeof(buf));
		len = dg_stream(&d, buf, rnd(&d) % sizeof(buf));
		if (rnd(&d) % 8 == 0)
			len -= len ? rnd(&d) % len : 0;
		errno = 0;
		if (i % 3 == 0)
			r = mnl_cb_run(buf, len, rnd(&d) % 2, 5, dg_data, &d);
		else
			r = mnl_cb_run2(buf, len, 1, rnd(&d) % 2 ? 5 : 0,
					dg_data, &d, ctl, i % 3 == 1 ?
					NLMSG_MIN_TYPE : NLMSG_DONE);
		mix(&d, r);
		mix(&d, errno);
	}
	if (d.h != DIGEST)
		fprintf(stderr, "digest %#llx\n", (unsigned long long)d.h);
	CHECK(d.h == DIGEST);
}

int main(void)
{
	RUN(test_header);
	RUN(test_put);
	RUN(test_put_check);
	RUN(test_nest);
	RUN(test_validate);
	RUN(test_attr_bounds);
	RUN(test_getters);
	RUN(test_batch);
	RUN(test_cb_ack_error);
	RUN(test_cb_checks);
	RUN(test_cb_dump);
	RUN(test_cb_ctl);
	RUN(test_socket);
	RUN(test_digest);
	return test_done();
}
