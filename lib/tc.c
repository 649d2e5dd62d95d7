/* Traffic control objects over rtnetlink (see tc.h): the psched clock,
 * tbf, ingress, u32 + mirred, and their read-back.  The per-pod setup
 * built from them is in tc_bw.c. */
#include "tc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "nl.h"

#define USEC_PER_SEC	1000000ULL
#define DUMP_TRIES	10
/* Filters go on ffff:fff2, the ingress block of an ingress qdisc and of
 * a clsact one alike (another tool's clsact is shared, not fought). */
#define FILTER_PARENT	TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* "t2us us2t clock_res ..." in hex: tick_in_usec = t2us / us2t *
 * clock_res / 1e6, with iproute2's hack for clock_res == 1e9. */
int tc_clock_parse(struct tc_clock *c, const char *text)
{
	unsigned int t2us, us2t, res;
	uint64_t g;

	if (sscanf(text, "%08x%08x%08x", &t2us, &us2t, &res) != 3 || !t2us ||
	    !us2t || !res)
		return -EINVAL;
	if (res == 1000000000)
		t2us = us2t;
	c->mul = (uint64_t)t2us * res;
	c->div = (uint64_t)us2t * USEC_PER_SEC;
	g = gcd(c->mul, c->div);
	c->mul /= g;
	c->div /= g;
	return 0;
}

int tc_clock_init(struct tc_clock *c)
{
	char buf[128];
	ssize_t n;
	int fd, r;

	tc_clock_parse(c, "000003e8 00000040 000f4240 3b9aca00");
	fd = open("/proc/net/psched", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	return tc_clock_parse(c, buf);
}

uint32_t tc_xmittime(const struct tc_clock *c, uint64_t rate, uint32_t size)
{
	uint64_t us, t;

	if (!rate)
		return UINT32_MAX;
	us = size * USEC_PER_SEC / rate;
	if (__builtin_mul_overflow(us, c->mul, &t))
		return UINT32_MAX;
	t /= c->div;
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

uint32_t tc_xmitsize(const struct tc_clock *c, uint64_t rate, uint32_t ticks)
{
	uint64_t us = (uint64_t)ticks * c->div / c->mul, b;

	if (__builtin_mul_overflow(rate, us, &b))
		return UINT32_MAX;
	b /= USEC_PER_SEC;
	return b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

int tc_calc_rtable(const struct tc_clock *c, uint64_t rate,
		   uint32_t rtab[256])
{
	uint32_t bps = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
	int cell_log = 0, i;

	while ((2047U >> cell_log) > 255)
		cell_log++;
	for (i = 0; i < 256; i++)
		rtab[i] = tc_xmittime(c, bps, (uint32_t)(i + 1) << cell_log);
	return cell_log;
}

int tc_tbf_valid(const struct tc_clock *c, const struct bw_tbf *t,
		 const char **why)
{
	const char *w = NULL;

	if (!t->rate)
		w = "tbf rate is 0";
	else if (!t->burst || !t->limit)
		w = "tbf burst and limit must be > 0";
	else if (tc_xmittime(c, t->rate, t->burst) >= UINT32_MAX - 64)
		w = "tbf burst lasts too long at this rate for the kernel's "
		    "u32 ticks";
	if (w && why)
		*why = w;
	return w ? -ERANGE : 0;
}

/* --- requests ----------------------------------------------------------- */

static struct tcmsg *tc_msg(struct nl *nl, uint16_t type, uint16_t flags,
			    int ifindex, uint32_t handle, uint32_t parent)
{
	struct tcmsg *tcm;

	nl_msg(nl, type, flags);
	tcm = nl_msg_extra(nl, sizeof(*tcm));
	if (tcm) {
		tcm->tcm_family = AF_UNSPEC;
		tcm->tcm_ifindex = ifindex;
		tcm->tcm_handle = handle;
		tcm->tcm_parent = parent;
	}
	return tcm;
}

static void tbf_qopt(const struct tc_clock *c, const struct bw_tbf *t,
		     struct tc_tbf_qopt *q, uint32_t rtab[256])
{
	memset(q, 0, sizeof(*q));
	q->rate.rate = t->rate > UINT32_MAX ? UINT32_MAX : (uint32_t)t->rate;
	q->rate.cell_log = tc_calc_rtable(c, t->rate, rtab);
	q->rate.cell_align = -1;
	q->rate.linklayer = TC_LINKLAYER_ETHERNET;
	q->limit = t->limit;
	q->buffer = tc_xmittime(c, t->rate, t->burst);
}

static int tbf_send(struct nl *nl, const struct tc_clock *c, int ifindex,
		    const struct bw_tbf *t, uint16_t flags)
{
	struct tc_tbf_qopt q;
	uint32_t rtab[256];
	struct nlattr *opt;
	int r;

	r = tc_tbf_valid(c, t, NULL);
	if (r < 0)
		return r;
	tbf_qopt(c, t, &q, rtab);
	tc_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | flags, ifindex,
	       TC_TBF_HANDLE, TC_H_ROOT);
	nl_put_strz(nl, TCA_KIND, "tbf");
	opt = nl_nest(nl, TCA_OPTIONS);
	nl_put(nl, TCA_TBF_PARMS, sizeof(q), &q);
	nl_put_u32(nl, TCA_TBF_BURST, t->burst);
	if (t->rate > UINT32_MAX)
		nl_put(nl, TCA_TBF_RATE64, sizeof(t->rate), &t->rate);
	nl_put(nl, TCA_TBF_RTAB, sizeof(rtab), rtab);
	nl_nest_end(nl, opt);
	return nl_talk(nl, NULL, NULL);
}

int tc_tbf_add(struct nl *nl, const struct tc_clock *c, int ifindex,
	       const struct bw_tbf *t)
{
	return tbf_send(nl, c, ifindex, t, NLM_F_EXCL);
}

int tc_tbf_replace(struct nl *nl, const struct tc_clock *c, int ifindex,
		   const struct bw_tbf *t)
{
	return tbf_send(nl, c, ifindex, t, NLM_F_REPLACE);
}

int tc_tbf_del(struct nl *nl, int ifindex)
{
	tc_msg(nl, RTM_DELQDISC, 0, ifindex, TC_TBF_HANDLE, TC_H_ROOT);
	nl_put_strz(nl, TCA_KIND, "tbf");	/* not another kind's 1: */
	return nl_talk(nl, NULL, NULL);
}

int tc_ingress_add(struct nl *nl, int ifindex)
{
	tc_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
	       TC_INGRESS, TC_H_INGRESS);
	nl_put_strz(nl, TCA_KIND, "ingress");
	return nl_talk(nl, NULL, NULL);
}

int tc_ingress_del(struct nl *nl, int ifindex)
{
	tc_msg(nl, RTM_DELQDISC, 0, ifindex, TC_INGRESS, TC_H_INGRESS);
	nl_put_strz(nl, TCA_KIND, "ingress");	/* never a clsact */
	return nl_talk(nl, NULL, NULL);
}

/* A selector with one key, mask 0 value 0: every packet. */
static void u32_matchall(struct nl *nl)
{
	unsigned char buf[sizeof(struct tc_u32_sel) +
			  sizeof(struct tc_u32_key)];
	struct tc_u32_sel sel;

	memset(&sel, 0, sizeof(sel));
	sel.flags = TC_U32_TERMINAL;
	sel.nkeys = 1;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &sel, sizeof(sel));
	nl_put(nl, TCA_U32_SEL, sizeof(buf), buf);
}

int tc_redirect_add(struct nl *nl, int ifindex, int to)
{
	struct nlattr *opt, *acts, *act, *aopt;
	struct tc_mirred m;
	struct tcmsg *tcm;

	memset(&m, 0, sizeof(m));
	m.action = TC_ACT_STOLEN;
	m.eaction = TCA_EGRESS_REDIR;
	m.ifindex = to;
	tcm = tc_msg(nl, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex,
		     0, FILTER_PARENT);
	if (tcm)
		tcm->tcm_info = TC_H_MAKE(TC_REDIR_PRIO << 16,
					  htons(ETH_P_ALL));
	nl_put_strz(nl, TCA_KIND, "u32");
	opt = nl_nest(nl, TCA_OPTIONS);
	nl_put_u32(nl, TCA_U32_CLASSID, TC_H_MAKE(1U << 16, 1));
	u32_matchall(nl);
	acts = nl_nest(nl, TCA_U32_ACT);
	act = nl_nest(nl, 1);
	nl_put_strz(nl, TCA_ACT_KIND, "mirred");
	aopt = nl_nest(nl, TCA_ACT_OPTIONS);
	nl_put(nl, TCA_MIRRED_PARMS, sizeof(m), &m);
	nl_nest_end(nl, aopt);
	nl_nest_end(nl, act);
	nl_nest_end(nl, acts);
	nl_nest_end(nl, opt);
	return nl_talk(nl, NULL, NULL);
}

int tc_redirect_del(struct nl *nl, int ifindex)
{
	struct tcmsg *tcm;

	tcm = tc_msg(nl, RTM_DELTFILTER, 0, ifindex, 0, FILTER_PARENT);
	if (tcm)
		tcm->tcm_info = TC_H_MAKE(TC_REDIR_PRIO << 16,
					  htons(ETH_P_ALL));
	return nl_talk(nl, NULL, NULL);
}

/* --- read-back ---------------------------------------------------------- */

struct tb {
	const struct nlattr **a;
	unsigned int max;
};

static int tb_cb(const struct nlattr *attr, void *data)
{
	const struct tb *t = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type <= t->max)
		t->a[type] = attr;
	return MNL_CB_OK;
}

static int tb_nested(const struct nlattr *nest, const struct nlattr **a,
		     unsigned int max)
{
	struct tb t = { a, max };

	memset(a, 0, (max + 1) * sizeof(*a));
	if (!nest || mnl_attr_parse_nested(nest, tb_cb, &t) < 0)
		return -EBADMSG;
	return 0;
}

/* The tcmsg of a reply of this type, its attributes in tb; NULL if the
 * message is something else or malformed. */
static const struct tcmsg *tc_parse(const struct nlmsghdr *nlh, uint16_t type,
				    const struct nlattr *tb[TCA_MAX + 1])
{
	struct tb t = { tb, TCA_MAX };

	memset(tb, 0, (TCA_MAX + 1) * sizeof(*tb));
	if (nlh->nlmsg_type != type ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct tcmsg) ||
	    mnl_attr_parse(nlh, sizeof(struct tcmsg), tb_cb, &t) < 0)
		return NULL;
	return mnl_nlmsg_get_payload(nlh);
}

static bool attr_is(const struct nlattr *a, const char *s)
{
	size_t n = strlen(s) + 1;

	return a && mnl_attr_get_payload_len(a) == n &&
	       !memcmp(mnl_attr_get_payload(a), s, n);
}

/* Copies the first len bytes of an attribute's payload, if it has them. */
static bool attr_get(const struct nlattr *a, void *out, size_t len)
{
	if (!a || mnl_attr_get_payload_len(a) < len)
		return false;
	memcpy(out, mnl_attr_get_payload(a), len);
	return true;
}

struct qwalk {
	int ifindex;
	uint32_t parent, handle;
	const char *kind, *kind2;	/* kind2: also accepted, or NULL */
	int found;			/* 1, 0, or -EBADMSG */
	struct tc_tbf_qopt qopt;
	uint64_t rate64;
};

static void qwalk_tbf(struct qwalk *w, const struct nlattr *opts)
{
	const struct nlattr *tb[TCA_TBF_MAX + 1];

	if (tb_nested(opts, tb, TCA_TBF_MAX) < 0 ||
	    !attr_get(tb[TCA_TBF_PARMS], &w->qopt, sizeof(w->qopt))) {
		w->found = -EBADMSG;
		return;
	}
	w->rate64 = w->qopt.rate.rate;
	if (tb[TCA_TBF_RATE64] &&
	    !attr_get(tb[TCA_TBF_RATE64], &w->rate64, sizeof(w->rate64)))
		w->found = -EBADMSG;
}

static int qwalk_cb(const struct nlmsghdr *nlh, void *data)
{
	struct qwalk *w = data;
	const struct nlattr *tb[TCA_MAX + 1];
	const struct tcmsg *tcm = tc_parse(nlh, RTM_NEWQDISC, tb);

	if (!tcm || tcm->tcm_ifindex != w->ifindex ||
	    tcm->tcm_parent != w->parent || tcm->tcm_handle != w->handle)
		return MNL_CB_OK;
	if (!attr_is(tb[TCA_KIND], w->kind) &&
	    !(w->kind2 && attr_is(tb[TCA_KIND], w->kind2)))
		return MNL_CB_OK;
	w->found = 1;
	if (!strcmp(w->kind, "tbf"))
		qwalk_tbf(w, tb[TCA_OPTIONS]);
	return MNL_CB_OK;
}

static int qwalk(struct nl *nl, struct qwalk *w)
{
	int r, tries = 0;

	tc_msg(nl, RTM_GETQDISC, 0, w->ifindex, 0, 0);
	do {
		w->found = 0;
		r = nl_dump(nl, qwalk_cb, w);
	} while (r == -EINTR && ++tries < DUMP_TRIES);
	if (r < 0)
		return r;
	return w->found < 0 ? w->found : w->found ? 0 : -ENOENT;
}

int tc_tbf_get(struct nl *nl, const struct tc_clock *c, int ifindex,
	       struct bw_tbf *out, uint32_t *buffer)
{
	struct qwalk w = { .ifindex = ifindex, .parent = TC_H_ROOT,
			   .handle = TC_TBF_HANDLE, .kind = "tbf" };
	int r;

	memset(out, 0, sizeof(*out));
	r = qwalk(nl, &w);
	if (r < 0)
		return r;
	out->rate = w.rate64;
	out->limit = w.qopt.limit;
	out->burst = tc_xmitsize(c, w.rate64, w.qopt.buffer);
	if (buffer)
		*buffer = w.qopt.buffer;
	return 0;
}

int tc_ingress_get(struct nl *nl, int ifindex)
{
	struct qwalk w = { .ifindex = ifindex, .parent = TC_H_INGRESS,
			   .handle = TC_INGRESS, .kind = "ingress",
			   .kind2 = "clsact" };

	return qwalk(nl, &w);
}

struct fwalk {
	int count;
	int to;
};

static void fwalk_mirred(struct fwalk *w, const struct nlattr *acts)
{
	const struct nlattr *tb[TCA_ACT_MAX_PRIO + 1], *a[TCA_ACT_MAX + 1];
	const struct nlattr *m[TCA_MIRRED_MAX + 1];
	struct tc_mirred p;
	int i;

	if (tb_nested(acts, tb, TCA_ACT_MAX_PRIO) < 0)
		return;
	for (i = 1; i <= TCA_ACT_MAX_PRIO; i++) {
		if (!tb[i] || tb_nested(tb[i], a, TCA_ACT_MAX) < 0 ||
		    !attr_is(a[TCA_ACT_KIND], "mirred") ||
		    tb_nested(a[TCA_ACT_OPTIONS], m, TCA_MIRRED_MAX) < 0 ||
		    !attr_get(m[TCA_MIRRED_PARMS], &p, sizeof(p)))
			continue;
		if (p.eaction == TCA_EGRESS_REDIR)
			w->to = p.ifindex;	/* 0 once the device is gone */
	}
}

static int fwalk_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fwalk *w = data;
	const struct nlattr *tb[TCA_MAX + 1], *u[TCA_U32_MAX + 1];
	const struct tcmsg *tcm = tc_parse(nlh, RTM_NEWTFILTER, tb);

	if (!tcm)
		return MNL_CB_OK;
	w->count++;
	if (TC_H_MAJ(tcm->tcm_info) >> 16 != TC_REDIR_PRIO ||
	    ntohs(TC_H_MIN(tcm->tcm_info)) != ETH_P_ALL ||
	    !attr_is(tb[TCA_KIND], "u32") ||
	    tb_nested(tb[TCA_OPTIONS], u, TCA_U32_MAX) < 0 ||
	    !u[TCA_U32_ACT])
		return MNL_CB_OK;
	fwalk_mirred(w, u[TCA_U32_ACT]);
	return MNL_CB_OK;
}

int tc_redirect_get(struct nl *nl, int ifindex, int *to)
{
	struct fwalk w;
	int r, tries = 0;

	*to = -1;
	r = tc_ingress_get(nl, ifindex);
	if (r < 0)
		return r;
	tc_msg(nl, RTM_GETTFILTER, 0, ifindex, 0, FILTER_PARENT);
	do {
		w.count = 0;
		w.to = -1;
		r = nl_dump(nl, fwalk_cb, &w);
	} while (r == -EINTR && ++tries < DUMP_TRIES);
	if (r < 0)
		return r;
	*to = w.to;
	return w.count;
}
