/*
 * Arbitrary bytes as a stream of rtnetlink replies, walked by mnl_cb_run2
 * the way lib/nl.c walks what it receives: data messages go through the
 * nl_*_parse functions, control messages through nl_error_parse.
 */
#include <stdint.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int data_cb(const struct nlmsghdr *nlh, void *arg)
{
	union {
		struct nl_link link;
		struct nl_addr addr;
		struct nl_route route;
		struct nl_rule rule;
		struct nl_neigh neigh;
	} u;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		nl_link_parse(nlh, &u.link);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		nl_addr_parse(nlh, &u.addr);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		nl_route_parse(nlh, &u.route);
		break;
	case RTM_NEWRULE:
	case RTM_DELRULE:
		nl_rule_parse(nlh, &u.rule);
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		nl_neigh_parse(nlh, &u.neigh);
		break;
	}
	return MNL_CB_OK;
}

static int ctl_cb(const struct nlmsghdr *nlh, void *arg)
{
	char ext[NL_EXTLEN];

	nl_error_parse(nlh, ext, sizeof(ext));
	if (strlen(ext) >= sizeof(ext))
		__builtin_trap();
	return MNL_CB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t buf[NL_BUFSIZE / 4];
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = ctl_cb,
		[NLMSG_DONE] = ctl_cb,
	};

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);	/* replies arrive 4-byte aligned */
	mnl_cb_run2(buf, nl_stream_len(buf, size), 0, 0, data_cb, NULL, ctl,
		    MNL_ARRAY_SIZE(ctl));
	return 0;
}
