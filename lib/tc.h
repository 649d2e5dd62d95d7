/*
 * Traffic control over rtnetlink, on a lib/nl.h handle: the tbf, ingress
 * and u32 + mirred objects of per-pod bandwidth limits, and one pod's
 * setup, check and teardown built from them (the upstream bandwidth
 * plugin's layout):
 *
 *	pod ingress: tbf 1: at the root of the host-side veth
 *	pod egress:  ingress qdisc ffff: on the host veth, a u32 match-all
 *		     filter (prio 1, all protocols) whose action mirred
 *		     redirects to an ifb owned by the attachment, tbf 1: on
 *		     the ifb
 *
 *	struct bw_limits bw = { 10000000, 0, 50000000, 0 };
 *	char ifb[16], err[TC_ERRLEN];
 *	tc_ifb_name(netname, containerid, ifname, ifb);
 *	if (tc_bw_setup(&nl, &bw, host_ifindex, ifb, 1500, err,
 *			sizeof(err)) < 0) ... err says what and why
 *
 * Functions return 0 (or a count, an ifindex) or -errno; the kernel's
 * extack text of a failed request stays in nl->ext.
 */
#ifndef VPCNET_TC_H
#define VPCNET_TC_H

#include <stddef.h>
#include <stdint.h>

#include "bw.h"

struct nl;

#define TC_ERRLEN	320	/* room for tc_bw_* messages with extack */
#define TC_TBF_HANDLE	0x00010000U	/* 1: */
#define TC_INGRESS	0xffff0000U	/* ffff: */
#define TC_REDIR_PRIO	1

/* The packet scheduler clock as iproute2's tc_core_init reads
 * /proc/net/psched: ticks per microsecond = mul / div. */
struct tc_clock {
	uint64_t mul, div;
};

/* Reads /proc/net/psched.  Without it (no /proc mounted) it keeps the
 * values every kernel since 2.6.31 reports (64 ns ticks) and returns the
 * error. */
int tc_clock_init(struct tc_clock *c);
int tc_clock_parse(struct tc_clock *c, const char *text);
/* Ticks to send size bytes at rate bytes/s, as iproute2's
 * tc_calc_xmittime (truncating); UINT32_MAX when it does not fit. */
uint32_t tc_xmittime(const struct tc_clock *c, uint64_t rate, uint32_t size);
/* Bytes sent in ticks at rate (tc_calc_xmitsize), saturating. */
uint32_t tc_xmitsize(const struct tc_clock *c, uint64_t rate, uint32_t ticks);
/* iproute2's tc_calc_rtable for an Ethernet link with mtu 0 (2047):
 * rtab[i] = ticks for (i + 1) << cell_log bytes; returns cell_log. */
int tc_calc_rtable(const struct tc_clock *c, uint64_t rate,
		   uint32_t rtab[256]);

/* 0 when the kernel can hold t: rate and burst > 0, the burst's time at
 * rate within u32 ticks.  Else -ERANGE and why. */
int tc_tbf_valid(const struct tc_clock *c, const struct bw_tbf *t,
		 const char **why);

/* tbf 1: at the root of a link (TCA_TBF_PARMS, _RTAB, _BURST, and _RATE64
 * for rates >= 2^32 bytes/s).  add: -EEXIST if the root is 1: already;
 * replace: creates it or changes it in place. */
int tc_tbf_add(struct nl *nl, const struct tc_clock *c, int ifindex,
	       const struct bw_tbf *t);
int tc_tbf_replace(struct nl *nl, const struct tc_clock *c, int ifindex,
		   const struct bw_tbf *t);
int tc_tbf_del(struct nl *nl, int ifindex);
/* The link's root tbf as the kernel reports it, burst computed back from
 * the buffer ticks (stored in *buffer when not NULL).  -ENOENT when the
 * root qdisc is not a tbf 1:. */
int tc_tbf_get(struct nl *nl, const struct tc_clock *c, int ifindex,
	       struct bw_tbf *out, uint32_t *buffer);

/* The ingress qdisc ffff:.  add: -EEXIST when there is one; get: 0 or
 * -ENOENT. */
int tc_ingress_add(struct nl *nl, int ifindex);
int tc_ingress_del(struct nl *nl, int ifindex);
int tc_ingress_get(struct nl *nl, int ifindex);

/* On ffff: of ifindex: u32, prio TC_REDIR_PRIO, protocol all, match-all
 * key, classid 1:1, action mirred egress redirect (stolen) to ifindex to.
 * del removes every filter at that prio. */
int tc_redirect_add(struct nl *nl, int ifindex, int to);
int tc_redirect_del(struct nl *nl, int ifindex);
/* Walks the filters on ffff: of ifindex: returns how many messages the
 * kernel listed (0: no filter; one u32 filter lists 3) and stores in *to
 * the target of a u32 mirred egress redirect at prio TC_REDIR_PRIO: its
 * ifindex, 0 when that device is gone, -1 when there is no such filter.
 * -ENOENT without an ingress (or clsact) qdisc. */
int tc_redirect_get(struct nl *nl, int ifindex, int *to);

/* The ifb of an attachment: "bwp" + 12 hex digits of a 64-bit FNV-1a
 * hash of netname, containerid and ifname (NUL-separated). */
void tc_ifb_name(const char *netname, const char *containerid,
		 const char *ifname, char out[16]);

/* One pod's limits, from CNI numbers (bits/s and bits, see bw_tbf for the
 * burst; rate 0: that direction is left alone) on the host veth host.
 * setup checks both directions before it touches anything, makes the ifb
 * (MTU mtu, up) only for egress, is safe to run again, and undoes what it
 * did when a step fails.  An ingress qdisc somebody else made is shared.
 * err gets "what: why". */
int tc_bw_setup(struct nl *nl, const struct bw_limits *bw, int host,
		const char *ifb, unsigned int mtu, char *err, size_t errlen);
/* 0 when the live state matches bw, else -EINVAL (or the lookup's error)
 * and err says what differs. */
int tc_bw_check(struct nl *nl, const struct bw_limits *bw, int host,
		const char *ifb, unsigned int mtu, char *err, size_t errlen);
/* When host > 0 and still there, deletes our filter, the root tbf 1: and
 * the ingress qdisc if no filter is left on it (never a clsact); then the
 * ifb (none is fine; a device of another kind by that name is left
 * alone).  Idempotent. */
int tc_bw_teardown(struct nl *nl, int host, const char *ifb);

#endif
