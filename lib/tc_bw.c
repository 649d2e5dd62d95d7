/* One pod's bandwidth limits over the tc objects of tc.c (see tc.h):
 * the attachment's ifb name, setup, check and teardown. */
#include "tc.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"

void tc_ifb_name(const char *netname, const char *containerid,
		 const char *ifname, char out[16])
{
	static const char hex[] = "0123456789abcdef";
	const char *part[3] = { netname, containerid, ifname };
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a 64 */
	const char *p;
	int i;

	for (i = 0; i < 3; i++) {
		for (p = part[i] ? part[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		h *= 0x100000001b3ULL;		/* the NUL between parts */
	}
	memcpy(out, "bwp", 3);
	for (i = 0; i < 12; i++)
		out[3 + i] = hex[(h >> (60 - 4 * i)) & 15];
	out[15] = '\0';
}

/* err = "what: strerror(-r)[: extack]"; returns r. */
static int __attribute__((format(printf, 5, 6)))
say(struct nl *nl, int r, char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !len)
		return r;
	va_start(ap, fmt);
	n = vsnprintf(err, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		snprintf(err + n, len - n, ": %s%s%s", strerror(-r),
			 nl && nl->ext[0] ? ": " : "", nl ? nl->ext : "");
	return r;
}

/* err = the message; returns -EINVAL (a check that found a difference). */
static int __attribute__((format(printf, 3, 4)))
differs(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

struct plan {
	struct tc_clock clock;
	struct bw_tbf in, eg;		/* rate 0: not shaped */
};

/* Both directions' tbf, checked against what the kernel can hold. */
static int plan(const struct bw_limits *bw, unsigned int mtu, struct plan *p,
		char *err, size_t len)
{
	const char *why = "";

	memset(p, 0, sizeof(*p));
	tc_clock_init(&p->clock);	/* keeps the defaults on error */
	if (bw->ingress_rate &&
	    (bw_tbf(bw->ingress_rate, bw->ingress_burst, mtu, &p->in,
		    &why) < 0 ||
	     tc_tbf_valid(&p->clock, &p->in, &why) < 0))
		return say(NULL, -ERANGE, err, len, "ingress rate %llu bit/s"
			   " (%s)", (unsigned long long)bw->ingress_rate, why);
	if (bw->egress_rate &&
	    (bw_tbf(bw->egress_rate, bw->egress_burst, mtu, &p->eg,
		    &why) < 0 ||
	     tc_tbf_valid(&p->clock, &p->eg, &why) < 0))
		return say(NULL, -ERANGE, err, len, "egress rate %llu bit/s"
			   " (%s)", (unsigned long long)bw->egress_rate, why);
	return 0;
}

/* The attachment's ifb, up, with this MTU: its ifindex. */
static int ifb_make(struct nl *nl, const char *name, unsigned int mtu)
{
	struct nl_link l;
	int r;

	r = nl_ifb_add(nl, name);
	if (r < 0 && r != -EEXIST)
		return r;
	r = nl_link_get(nl, name, &l);
	if (r < 0)
		return r;
	if (strcmp(l.kind, "ifb"))
		return -EEXIST;
	if (mtu && l.mtu != mtu && (r = nl_link_set_mtu(nl, l.index, mtu)) < 0)
		return r;
	if (!(l.flags & IFF_UP) && (r = nl_link_set_up(nl, l.index, 1)) < 0)
		return r;
	return l.index;
}

static int egress_setup(struct nl *nl, const struct plan *p, int host,
			const char *ifb, unsigned int mtu, char *err,
			size_t len)
{
	int ifi, to, r;

	ifi = ifb_make(nl, ifb, mtu);
	if (ifi == -EEXIST)
		return say(NULL, ifi, err, len, "ifb %s: the name belongs to "
			   "a device that is not an ifb", ifb);
	if (ifi < 0)
		return say(nl, ifi, err, len, "RTM_NEWLINK ifb %s", ifb);
	r = tc_tbf_replace(nl, &p->clock, ifi, &p->eg);
	if (r < 0)
		return say(nl, r, err, len, "RTM_NEWQDISC tbf on %s", ifb);
	r = tc_ingress_add(nl, host);
	if (r < 0 && r != -EEXIST)
		return say(nl, r, err, len, "RTM_NEWQDISC ingress on #%d",
			   host);
	r = tc_redirect_get(nl, host, &to);
	if (r >= 0 && to >= 0 && to != ifi)
		r = tc_redirect_del(nl, host);	/* a stale one of ours */
	if (r >= 0 && to != ifi)
		r = tc_redirect_add(nl, host, ifi);
	if (r < 0)
		return say(nl, r, err, len, "RTM_NEWTFILTER u32 mirred on #%d "
			   "to %s", host, ifb);
	return 0;
}

int tc_bw_setup(struct nl *nl, const struct bw_limits *bw, int host,
		const char *ifb, unsigned int mtu, char *err, size_t errlen)
{
	struct plan p;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = plan(bw, mtu, &p, err, errlen);
	if (r < 0)
		return r;
	if (p.in.rate) {
		r = tc_tbf_replace(nl, &p.clock, host, &p.in);
		if (r < 0) {
			say(nl, r, err, errlen, "RTM_NEWQDISC tbf on #%d",
			    host);
			goto fail;
		}
	}
	if (p.eg.rate) {
		r = egress_setup(nl, &p, host, ifb, mtu, err, errlen);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	tc_bw_teardown(nl, host, p.eg.rate ? ifb : NULL);
	return r;
}

static int tbf_check(struct nl *nl, const struct tc_clock *c, int ifindex,
		     const struct bw_tbf *want, const char *what, char *err,
		     size_t len)
{
	struct bw_tbf got;
	uint32_t ticks, wt, tol;
	int r;

	r = tc_tbf_get(nl, c, ifindex, &got, &ticks);
	if (r == -ENOENT)
		return differs(err, len, "%s: no tbf 1: at the root of #%d",
			       what, ifindex);
	if (r < 0)
		return say(nl, r, err, len, "RTM_GETQDISC #%d", ifindex);
	wt = tc_xmittime(c, want->rate, want->burst);
	tol = wt / 100 + 2;	/* the kernel keeps ns, reports ticks */
	if (got.rate != want->rate)
		return differs(err, len, "%s: tbf rate on #%d is %llu bytes/s,"
			       " want %llu", what, ifindex,
			       (unsigned long long)got.rate,
			       (unsigned long long)want->rate);
	if (got.limit != want->limit || ticks + tol < wt || ticks > wt + tol)
		return differs(err, len, "%s: tbf on #%d has burst %u limit "
			       "%u bytes, want burst %u limit %u", what,
			       ifindex, got.burst, got.limit, want->burst,
			       want->limit);
	return 0;
}

int tc_bw_check(struct nl *nl, const struct bw_limits *bw, int host,
		const char *ifb, unsigned int mtu, char *err, size_t errlen)
{
	struct plan p;
	int ifi, to, r;

	r = plan(bw, mtu, &p, err, errlen);
	if (r < 0)
		return r;
	if (p.in.rate) {
		r = tbf_check(nl, &p.clock, host, &p.in, "ingress", err,
			      errlen);
		if (r < 0)
			return r;
	}
	if (!p.eg.rate)
		return 0;
	ifi = nl_link_index(nl, ifb);
	if (ifi < 0)
		return say(nl, ifi, err, errlen, "egress: ifb %s", ifb);
	r = tbf_check(nl, &p.clock, ifi, &p.eg, "egress", err, errlen);
	if (r < 0)
		return r;
	r = tc_redirect_get(nl, host, &to);
	if (r == -ENOENT)
		return differs(err, errlen, "egress: no ingress qdisc on #%d",
			       host);
	if (r < 0)
		return say(nl, r, err, errlen, "RTM_GETTFILTER #%d", host);
	if (to != ifi)
		return differs(err, errlen, "egress: no u32 mirred redirect "
			       "from #%d to %s (#%d)", host, ifb, ifi);
	return 0;
}

static bool gone(int r)
{
	return r == -ENOENT || r == -ENODEV || r == -EINVAL;
}

/* Deletes the ifb called name; 0 when there is none, or when that name
 * belongs to a device of another kind (left alone). */
static int ifb_del(struct nl *nl, const char *name)
{
	struct nl_link l;
	int r;

	r = nl_link_get(nl, name, &l);
	if (r == 0 && strcmp(l.kind, "ifb"))
		return 0;
	if (r == 0)
		r = nl_link_del(nl, l.index);
	return r == -ENODEV ? 0 : r;
}

int tc_bw_teardown(struct nl *nl, int host, const char *ifb)
{
	int r = 0, first = 0, to = -1;

	if (host > 0)			/* first stop redirecting to the ifb */
		r = tc_redirect_get(nl, host, &to);
	if (r > 0 && to >= 0) {
		r = tc_redirect_del(nl, host);
		if (r >= 0)
			r = tc_redirect_get(nl, host, &to);
	}
	if (host > 0 && r == 0)
		r = tc_ingress_del(nl, host);
	if (r < 0 && !gone(r))
		first = r;
	if (host > 0) {
		r = tc_tbf_del(nl, host);
		if (r < 0 && !gone(r) && !first)
			first = r;
	}
	if (ifb)		/* ours only: never another kind's device */
		r = ifb_del(nl, ifb);
	if (ifb && r < 0 && !first)
		first = r;
	return first;
}
