/*
 * rtnetlink verbs used by the applets, over libmnl's API, in the iproute2
 * mnl_utils idiom: sockets with NETLINK_CAP_ACK and NETLINK_EXT_ACK, every
 * write asks for an ACK, an NLMSG_ERROR becomes -errno and its extack text
 * stays in nl->ext, interrupted dumps are retried.
 *
 *	struct nl nl;	(about 37 KiB: static, heap or a roomy stack)
 *	if (nl_open_netns(&nl, nsfd) < 0) ...
 *	r = nl_bridge_add(&nl, "cni0", 1450);
 *	if (r < 0 && r != -EEXIST) fail("RTM_NEWLINK cni0", r, nl.ext);
 *	nl_close(&nl);
 *
 * Every function returns 0 (or a count, an index) on success and -errno
 * on failure.  Index arguments are ifindexes in the handle's netns.  A
 * handle is not thread-safe; callbacks must not use their own handle.
 */
#ifndef VPCNET_NL_H
#define VPCNET_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#include "ip.h"

#define NL_IFNAMSIZ	16		/* IFNAMSIZ, with the NUL */
#define NL_KINDSIZ	16
#define NL_MACLEN	6
#define NL_MACSTRLEN	18		/* "aa:bb:cc:dd:ee:ff" */
#define NL_EXTLEN	256
#define NL_REQSIZE	4096
#define NL_BUFSIZE	32768 /* replies: the kernel's largest dump skb */
#define NL_DUMP_TRIES	10		/* NLM_F_DUMP_INTR retries */

struct nl {
	struct mnl_socket *sk;		/* requests and their replies */
	struct mnl_socket *ev;		/* RTNLGRP_LINK events, while waiting */
	unsigned int seq;
	unsigned int portid;
	bool trunc;			/* a put did not fit: send -EMSGSIZE */
	char ext[NL_EXTLEN]; /* extack text of the last reply, or "" */
	uint32_t req[NL_REQSIZE / 4];	/* the request being built */
	uint32_t buf[NL_BUFSIZE / 4];	/* replies */
};

/* Handles.  nl_open_netns creates the sockets inside nsfd (-1: the current
 * netns); they keep talking to that netns after the thread leaves it. */
int nl_open(struct nl *nl);
int nl_open_netns(struct nl *nl, int nsfd);
void nl_close(struct nl *nl);

/* Links. */
struct nl_link {
	int index;
	char name[NL_IFNAMSIZ];
	char kind[NL_KINDSIZ];		/* "veth", "bridge", ...; "" if none */
	char slave_kind[NL_KINDSIZ];	/* "bridge" on a bridge port, or "" */
	unsigned int flags; /* IFF_UP, IFF_LOWER_UP, IFF_PROMISC... */
	unsigned int mtu;
	unsigned int txqlen;
	uint8_t mac[NL_MACLEN];
	int mac_len;			/* 6 for Ethernet; 0 if none */
	int operstate;			/* IF_OPER_*; IF_OPER_UP is 6 */
	int master;			/* master's ifindex, 0 if none */
	int link;			/* IFLA_LINK (veth peer), 0 if none */
	int link_netnsid;		/* netnsid of link's netns, -1: same */
	int hairpin;			/* bridge port: 0 or 1; -1 if not one */
};

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out);
int nl_link_get_index(struct nl *nl, int index, struct nl_link *out);
int nl_link_index(struct nl *nl, const char *name);	/* > 0; -ENODEV */
/* Stores up to max links, returns how many there are. */
int nl_link_list(struct nl *nl, struct nl_link *out, int max);

struct nl_veth {
	const char *name;		/* this end, in the handle's netns */
	const char *peer;		/* the other end */
	int peer_netns;			/* fd of the peer's netns, -1: same */
	unsigned int mtu;		/* both ends; 0: kernel default */
	const uint8_t *mac;		/* NL_MACLEN bytes, NULL: random */
	const uint8_t *peer_mac;	/* NULL: random */
};

/* Creation is exclusive: an existing name gives -EEXIST. */
int nl_veth_add(struct nl *nl, const struct nl_veth *v);
int nl_bridge_add(struct nl *nl, const char *name, unsigned int mtu);
int nl_ifb_add(struct nl *nl, const char *name);

struct nl_vxlan {
	const char *name;
	uint32_t vni;
	int link;			/* underlay ifindex, 0: none */
	struct ipaddr local;		/* source address, family 0: none */
	uint16_t port;			/* UDP port (host order), 0: kernel's
					 * default (8472) */
	unsigned int mtu;		/* 0: kernel default */
	bool learning;			/* false (as flannel) */
};

int nl_vxlan_add(struct nl *nl, const struct nl_vxlan *v);
int nl_link_del(struct nl *nl, int index);
int nl_link_del_name(struct nl *nl, const char *name);

int nl_link_set_up(struct nl *nl, int index, bool up);
int nl_link_set_mtu(struct nl *nl, int index, unsigned int mtu);
int nl_link_set_master(struct nl *nl, int index, int master); /* 0: none */
int nl_link_set_netns(struct nl *nl, int index, int nsfd);
int nl_link_set_name(struct nl *nl, int index, const char *name);
int nl_link_set_mac(struct nl *nl, int index, const uint8_t *mac);
int nl_link_set_promisc(struct nl *nl, int index, bool on);
int nl_link_set_txqlen(struct nl *nl, int index, unsigned int txqlen);
/* IFLA_BRPORT_MODE of a bridge port; read it back in nl_link.hairpin. */
int nl_bridge_port_set_hairpin(struct nl *nl, int index, bool on);

/* Waits until the link is admin up and running (operstate up, or carrier
 * when the driver reports no operstate), by RTNLGRP_LINK events, at most
 * timeout_ms.  0, -ETIMEDOUT, -ENODEV (deleted meanwhile). */
int nl_link_wait_up(struct nl *nl, int index, int timeout_ms);

/* Addresses. */
struct nl_addr {
	int index;
	struct ipnet addr;		/* the local address and its prefix */
	unsigned int flags;		/* IFA_F_* */
	int scope;			/* RT_SCOPE_* */
};

/* flags: IFA_F_NODAD, IFA_F_NOPREFIXROUTE...; IPv4 gets the broadcast
 * address when the prefix is shorter than /31.  Exclusive (-EEXIST). */
int nl_addr_add(struct nl *nl, int index, const struct ipnet *a,
		unsigned int flags);
/* -EADDRNOTAVAIL when absent */
int nl_addr_del(struct nl *nl, int index, const struct ipnet *a);
/* index 0 / family 0: any.  Stores up to max, returns how many match. */
int nl_addr_list(struct nl *nl, int index, int family, struct nl_addr *out,
		 int max);

/* Routes.  Zero fields take the defaults named. */
struct nl_route {
	struct ipnet dst;		/* family required; prefix 0: default */
	struct ipaddr gw;		/* family 0: no gateway */
	struct ipaddr src;		/* RTA_PREFSRC; family 0: none */
	int oif;			/* 0: none */
	unsigned int table;		/* 0: main (list: any) */
	unsigned int metric;		/* RTA_PRIORITY, 0: none */
	unsigned int flags;		/* RTNH_F_ONLINK */
	int scope;			/* RT_SCOPE_*: 0 universe (del: any) */
	int protocol;			/* RTPROT_*: 0 boot (del: any) */
	int type;			/* RTN_*: 0 unicast (del: any) */
};

int nl_route_add(struct nl *nl, const struct nl_route *r);   /* -EEXIST */
int nl_route_replace(struct nl *nl, const struct nl_route *r);
int nl_route_del(struct nl *nl, const struct nl_route *r);   /* -ESRCH */
/* family 0 / table 0: any.  Stores up to max, returns how many match. */
int nl_route_list(struct nl *nl, int family, unsigned int table,
		  struct nl_route *out, int max);

/* Policy routing rules. */
struct nl_rule {
	int family;			/* AF_INET or AF_INET6 */
	unsigned int priority;		/* 0: kernel picks (del: any) */
	struct ipnet src, dst;		/* family 0: any */
	char iif[NL_IFNAMSIZ];		/* "": any */
	char oif[NL_IFNAMSIZ];
	unsigned int table;		/* 0: main (del: any) */
	uint32_t fwmark, fwmask;	/* both 0: no fwmark match */
	int action;			/* FR_ACT_*: 0 to table */
};

int nl_rule_add(struct nl *nl, const struct nl_rule *r);     /* -EEXIST */
int nl_rule_del(struct nl *nl, const struct nl_rule *r);     /* -ENOENT */
int nl_rule_list(struct nl *nl, int family, struct nl_rule *out, int max);

/* Neighbours. */
struct nl_neigh {
	int index;
	struct ipaddr ip;
	uint8_t mac[NL_MACLEN];
	int mac_len;			/* 0 if unresolved */
	int state;			/* NUD_* */
	int flags;			/* NTF_* */
};

/* A permanent entry, replacing any entry for ip on the link. */
int nl_neigh_add(struct nl *nl, int index, const struct ipaddr *ip,
		 const uint8_t *mac);
int nl_neigh_del(struct nl *nl, int index, const struct ipaddr *ip);
int nl_neigh_list(struct nl *nl, int index, int family, struct nl_neigh *out,
		  int max);

/* sysctl in the current netns: key like "net/ipv4/ip_forward".  get
 * strips the trailing newline. */
int nl_sysctl_set(const char *key, const char *val);
int nl_sysctl_get(const char *key, char *buf, size_t len);

/* MAC text. */
int nl_mac_parse(const char *s, uint8_t mac[NL_MACLEN]);
const char *nl_mac_fmt(const uint8_t *mac, char buf[NL_MACSTRLEN]);

/* Parsers of one reply message (also fuzzed): 0 or -EBADMSG.  Every
 * attribute is checked for type and length before it is used. */
int nl_link_parse(const struct nlmsghdr *nlh, struct nl_link *out);
int nl_addr_parse(const struct nlmsghdr *nlh, struct nl_addr *out);
int nl_route_parse(const struct nlmsghdr *nlh, struct nl_route *out);
int nl_rule_parse(const struct nlmsghdr *nlh, struct nl_rule *out);
int nl_neigh_parse(const struct nlmsghdr *nlh, struct nl_neigh *out);
/* NLMSG_ERROR or NLMSG_DONE: its error as -errno (0 for an ACK) and the
 * extack text, if any, into ext. */
int nl_error_parse(const struct nlmsghdr *nlh, char *ext, size_t extlen);

/*
 * Building blocks for other rtnetlink modules (tc, ...).  nl_msg starts a
 * request in nl->req; the nl_put* helpers append to it and remember when
 * one did not fit (then the send fails with -EMSGSIZE).  nl_talk sends it
 * with NLM_F_ACK, passes each reply to cb (may be NULL) and returns at the
 * ACK.  nl_dump sends it with NLM_F_DUMP and passes each message to cb; it
 * returns -EINTR when the kernel flagged the dump inconsistent: reset what
 * cb gathered and call nl_dump again (the request is kept).
 */
struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags);
void *nl_msg_extra(struct nl *nl, size_t size);
void nl_put(struct nl *nl, uint16_t type, size_t len, const void *data);
void nl_put_u8(struct nl *nl, uint16_t type, uint8_t v);
void nl_put_u16(struct nl *nl, uint16_t type, uint16_t v);
void nl_put_u32(struct nl *nl, uint16_t type, uint32_t v);
void nl_put_strz(struct nl *nl, uint16_t type, const char *s);
void nl_put_ip(struct nl *nl, uint16_t type, const struct ipaddr *a);
struct nlattr *nl_nest(struct nl *nl, uint16_t type);
void nl_nest_end(struct nl *nl, struct nlattr *nest);
int nl_talk(struct nl *nl, mnl_cb_t cb, void *data);
int nl_dump(struct nl *nl, mnl_cb_t cb, void *data);

/* Length of the prefix of buf made of whole messages: what mnl_cb_run may
 * be given (libmnl 1.0.4 walks off the buffer on an nlmsg_len >= 2^31). */
size_t nl_stream_len(const void *buf, size_t len);

/* Internals shared by nl.c, nl_link.c and nl_route.c. */
struct nl_text {
	char *buf;
	size_t len;
};

struct nl_list {
	void *out;			/* array of max entries of size */
	int max;
	int n;				/* matches seen */
	int index;			/* filters: 0 = any */
	int family;
	unsigned int table;
	size_t size;
	/* 0, -EAFNOSUPPORT (skipped) or an error that ends the dump */
	int (*parse)(const struct nlmsghdr *nlh, void *entry);
	bool (*keep)(const struct nl_list *l, const void *entry);
};

/* Dumps the request in nl->req (retried while interrupted), parsing each
 * message into the next slot of l->out; returns l->n. */
int nl_list(struct nl *nl, struct nl_list *l);

/* Checked attribute getters: MNL_CB_OK, or MNL_CB_ERROR when the type or
 * length is wrong (a string must fit size with its NUL). */
int nl_attr_str(const struct nlattr *a, char *dst, size_t size);
int nl_attr_u32(const struct nlattr *a, unsigned int *v);
int nl_attr_ip(const struct nlattr *a, int family, struct ipaddr *out);

#endif
