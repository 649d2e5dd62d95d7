/* Kubernetes objects NetworkPolicy enforcement needs: Namespace, Pod and
 * networking.k8s.io/v1 NetworkPolicy, parsed from their JSON (a List as
 * `kubectl get namespaces,pods,networkpolicies -A -o json` prints it, or
 * one object at a time, as a watch delivers them).
 *
 *	struct kobj_list l;
 *	kobj_parse_list(arena, text, len, &l, &err);
 *	for (i = 0; i < l.nproblems; i++) warn("%s", l.problems[i]);
 *
 * Everything lives in the arena. NetworkPolicies are validated as the API
 * server validates them (networking/validation): one the API would reject
 * is skipped whole, never half used. Invalid items of a List are skipped
 * and described in problems ("NetworkPolicy x/p: spec.ingress[0].ports[0]
 * .endPort: must be greater than or equal to port"); the rest is kept.
 */
#ifndef VPCNET_KOBJ_H
#define VPCNET_KOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ip.h"
#include "json.h"
#include "selector.h"

#define KOBJ_MAX_POD_IPS 8
#define KOBJ_PORT_NAME_MAX 15	/* IANA_SVC_NAME */

/* IP protocol numbers */
#define KOBJ_TCP 6
#define KOBJ_UDP 17
#define KOBJ_SCTP 132

enum kobj_dir { KOBJ_INGRESS, KOBJ_EGRESS };
#define KOBJ_TYPE_INGRESS (1 << KOBJ_INGRESS)
#define KOBJ_TYPE_EGRESS (1 << KOBJ_EGRESS)

enum kobj_kind { KOBJ_NONE, KOBJ_NAMESPACE, KOBJ_POD, KOBJ_NETPOL };

struct kobj_ns {
	const char *name;
	struct selector_labels labels;	/* + the metadata.name label */
};

struct kobj_port {		/* a containerPort */
	const char *name;	/* NULL if unnamed */
	uint16_t port;
	uint8_t proto;
};

struct kobj_pod {
	const char *ns, *name;
	const char *node;	/* spec.nodeName, NULL if unscheduled */
	struct selector_labels labels;
	int host_network;
	int terminal;		/* phase Succeeded or Failed */
	struct ipaddr *ips;	/* status.podIPs, else status.podIP */
	int nips;
	struct kobj_port *ports;	/* spec.containers[].ports[] */
	int nports;
};

struct kobj_ipblock {
	struct ipnet cidr;	/* host bits cleared */
	struct ipnet *except;	/* each strictly inside cidr */
	int nexcept;
};

/* One peer: selectors (either or both) or an ipBlock. */
struct kobj_peer {
	const struct selector *pods;	/* NULL: absent */
	const struct selector *nss;	/* NULL: absent */
	const struct kobj_ipblock *block;	/* NULL: absent */
};

struct kobj_np_port {
	uint8_t proto;		/* TCP when not given */
	const char *name;	/* a named port, or NULL */
	uint16_t port, end;	/* [port, end]; 0, 0: every port */
};

struct kobj_np_rule {
	struct kobj_peer *peers;	/* none: every peer */
	int npeers;
	struct kobj_np_port *ports;	/* none: every port and protocol */
	int nports;
};

struct kobj_np {
	const char *ns, *name;
	struct selector pod_sel;
	int types;		/* KOBJ_TYPE_*, defaulted as the API does */
	struct kobj_np_rule *rules[2];	/* [KOBJ_INGRESS], [KOBJ_EGRESS]*/
	int nrules[2];
};

struct kobj_list {
	struct kobj_ns *ns;
	int nns;
	struct kobj_pod *pods;
	int npods;
	struct kobj_np *nps;
	int nnps;
	const char **problems;	/* skipped items, one line each */
	int nproblems;
	int nitems;		/* items in the List */
	int nignored;		/* items of other kinds */
};

/* Single objects at token obj. On -EINVAL, e->msg names the field. */
int kobj_parse_ns(const struct json_doc *d, int obj, struct arena *a,
		  struct kobj_ns *out, struct json_err *e);
int kobj_parse_pod(const struct json_doc *d, int obj, struct arena *a,
		   struct kobj_pod *out, struct json_err *e);
int kobj_parse_np(const struct json_doc *d, int obj, struct arena *a,
		  struct kobj_np *out, struct json_err *e);

/* The kind of object obj ("Namespace", "Pod", "NetworkPolicy"; or
 * deflt when it has no kind, as items of a typed list). */
enum kobj_kind kobj_kind_of(const struct json_doc *d, int obj,
			    enum kobj_kind deflt);

/* A List, a NamespaceList/PodList/NetworkPolicyList, or one object.
 * < 0 only when the text as a whole is unusable (bad JSON, no items):
 * e->msg says why. */
int kobj_parse_list(struct arena *a, const char *text, size_t len,
		    struct kobj_list *out, struct json_err *e);

const char *kobj_proto_name(uint8_t proto);	/* "TCP", "UDP", "SCTP" */
int kobj_port_name_valid(const char *name);	/* IANA_SVC_NAME */

#endif
