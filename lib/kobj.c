/* Namespaces, Pods and Lists of Kubernetes objects. See kobj.h;
 * NetworkPolicy is in kobj_np.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kobj.h"
#include "kobj_int.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

int kobj_err(struct json_err *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (e && rc != -ENOMEM) {
		e->offset = -1;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	} else if (e) {
		snprintf(e->msg, sizeof(e->msg), "out of memory");
	}
	return rc;
}

int kobj_err_nest(struct json_err *e, int rc, const char *what)
{
	char tmp[sizeof(e->msg)];

	if (e && rc != -ENOMEM) {
		memcpy(tmp, e->msg, sizeof(tmp));
		tmp[sizeof(tmp) - 1] = 0;
		snprintf(e->msg, sizeof(e->msg), "%.40s: %.150s", what, tmp);
	}
	return rc;
}

const char *kobj_proto_name(uint8_t proto)
{
	switch (proto) {
	case KOBJ_TCP: return "TCP";
	case KOBJ_UDP: return "UDP";
	case KOBJ_SCTP: return "SCTP";
	}
	return "?";
}

int kobj_proto_parse(const char *s, uint8_t *proto)
{
	if (!strcmp(s, "TCP"))
		*proto = KOBJ_TCP;
	else if (!strcmp(s, "UDP"))
		*proto = KOBJ_UDP;
	else if (!strcmp(s, "SCTP"))
		*proto = KOBJ_SCTP;
	else
		return -EINVAL;
	return 0;
}

/* IANA_SVC_NAME: <= 15 of [a-z0-9-], a letter somewhere, no '-' at
 * either end, no "--". */
int kobj_port_name_valid(const char *name)
{
	size_t n, i;
	int letter = 0;

	if (!name)
		return 0;
	n = strlen(name);
	if (n == 0 || n > KOBJ_PORT_NAME_MAX || name[0] == '-' ||
	    name[n - 1] == '-' || strstr(name, "--"))
		return 0;
	for (i = 0; i < n; i++) {
		if (name[i] >= 'a' && name[i] <= 'z')
			letter = 1;
		else if (!(name[i] >= '0' && name[i] <= '9') && name[i] != '-')
			return 0;
	}
	return letter;
}

static int meta_str(const struct json_doc *d, int meta, const char *key,
		    const char **out, struct json_err *e)
{
	int rc = json_get_str(d, meta, key, out, e);

	return rc == -EINVAL ? kobj_err_nest(e, rc, "metadata") : rc;
}

int kobj_meta(const struct json_doc *d, int obj, struct arena *a,
	      const char **name, const char **ns,
	      struct selector_labels *labels, struct json_err *e)
{
	int meta = -1, rc;

	if ((rc = json_expect(d, obj, "object", JSON_OBJECT, e)) < 0)
		return rc;
	rc = json_get_obj(d, obj, "metadata", &meta, e);
	if (rc < 0)
		return rc == -ENOENT ? kobj_err(e, -EINVAL,
						"metadata: required") : rc;
	rc = meta_str(d, meta, "name", name, e);
	if (rc == -ENOENT)
		return kobj_err(e, -EINVAL, "metadata.name: required");
	if (rc < 0)
		return rc;
	if (ns) {
		*ns = "default";
		rc = meta_str(d, meta, "namespace", ns, e);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (!selector_dns_label(*ns))
			return kobj_err(e, -EINVAL, "metadata.namespace: "
					"invalid name \"%.64s\"", *ns);
	}
	if (!labels)
		return 0;
	rc = selector_parse_labels(d, json_find(d, meta, "labels"), a,
				   labels, e);
	return rc < 0 ? kobj_err_nest(e, rc, "metadata") : 0;
}

int kobj_parse_ns(const struct json_doc *d, int obj, struct arena *a,
		  struct kobj_ns *out, struct json_err *e)
{
	struct selector_labels *l = &out->labels;
	struct selector_label *v;
	int rc, i;

	memset(out, 0, sizeof(*out));
	rc = kobj_meta(d, obj, a, &out->name, NULL, l, e);
	if (rc < 0)
		return rc;
	if (!selector_dns_label(out->name))
		return kobj_err(e, -EINVAL, "metadata.name: invalid "
				"namespace name \"%.64s\"", out->name);
	/* the API server keeps this label equal to the name */
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, NS_NAME_LABEL)) {
			l->v[i].value = out->name;
			return 0;
		}
	v = arena_alloc(a, (l->n + 1) * sizeof(*v));
	if (!v)
		return kobj_err(e, -ENOMEM, "out of memory");
	if (l->n)
		memcpy(v, l->v, l->n * sizeof(*v));
	v[l->n].key = NS_NAME_LABEL;
	v[l->n].value = out->name;
	l->v = v;
	l->n++;
	return 0;
}

static int parse_cport(const struct json_doc *d, int obj,
		       struct kobj_port *p, struct json_err *e)
{
	const char *proto = "TCP";
	int64_t v;
	int rc;

	if ((rc = json_expect(d, obj, "port", JSON_OBJECT, e)) < 0)
		return rc;
	rc = json_get_int(d, obj, "containerPort", 1, 65535, &v, e);
	if (rc < 0)
		return rc == -ENOENT ? kobj_err(e, -EINVAL,
						"containerPort: required") : rc;
	p->port = (uint16_t)v;
	rc = json_get_str(d, obj, "name", &p->name, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (p->name && !kobj_port_name_valid(p->name))
		return kobj_err(e, -EINVAL, "name: invalid port name \"%.32s\"",
				p->name);
	rc = json_get_str(d, obj, "protocol", &proto, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (kobj_proto_parse(proto, &p->proto) < 0)
		return kobj_err(e, -EINVAL, "protocol: unsupported value "
				"\"%.16s\"", proto);
	return 0;
}

static int count_ports(const struct json_doc *d, int ctrs)
{
	int c, ports, n = 0;

	json_for_each(d, ctrs, c) {
		ports = json_find(d, c, "ports");
		if (json_typeof(d, ports) == JSON_ARRAY)
			n += json_len(d, ports);
	}
	return n;
}

static int parse_containers(const struct json_doc *d, int spec,
			    struct arena *a, struct kobj_pod *out,
			    struct json_err *e)
{
	int ctrs = -1, ports, c, i, ci = 0, pi, rc;
	char where[64];

	rc = json_get_arr(d, spec, "containers", &ctrs, e);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return kobj_err_nest(e, rc, "spec");
	out->ports = arena_alloc(a, (count_ports(d, ctrs) + 1) *
				 sizeof(*out->ports));
	if (!out->ports)
		return -ENOMEM;
	json_for_each(d, ctrs, c) {
		snprintf(where, sizeof(where), "spec.containers[%d]", ci++);
		if ((rc = json_expect(d, c, "container", JSON_OBJECT, e)) < 0)
			return kobj_err_nest(e, rc, where);
		ports = -1;
		rc = json_get_arr(d, c, "ports", &ports, e);
		if (rc < 0 && rc != -ENOENT)
			return kobj_err_nest(e, rc, where);
		pi = 0;
		json_for_each(d, ports, i) {
			rc = parse_cport(d, i, &out->ports[out->nports], e);
			snprintf(where, sizeof(where),
				 "spec.containers[%d].ports[%d]", ci - 1, pi++);
			if (rc < 0)
				return kobj_err_nest(e, rc, where);
			out->nports++;
		}
	}
	return 0;
}

static int add_ip(struct kobj_pod *out, const char *s, const char *where,
		  struct json_err *e)
{
	struct ipaddr ip;
	int i;

	if (ip_parse(s, &ip) < 0)
		return kobj_err(e, -EINVAL, "%s: invalid IP address \"%.64s\"",
				where, s);
	for (i = 0; i < out->nips; i++)
		if (ip_equal(&out->ips[i], &ip))
			return 0;
	if (out->nips >= KOBJ_MAX_POD_IPS)
		return kobj_err(e, -EINVAL, "%s: too many addresses", where);
	out->ips[out->nips++] = ip;
	return 0;
}

static int parse_status(const struct json_doc *d, int status,
			struct kobj_pod *out, struct json_err *e)
{
	const char *phase = NULL, *s;
	char where[48];
	int ips = -1, i, n = 0, rc;

	rc = json_get_str(d, status, "phase", &phase, e);
	if (rc < 0 && rc != -ENOENT)
		return kobj_err_nest(e, rc, "status");
	out->terminal = phase && (!strcmp(phase, "Succeeded") ||
				  !strcmp(phase, "Failed"));
	rc = json_get_arr(d, status, "podIPs", &ips, e);
	if (rc < 0 && rc != -ENOENT)
		return kobj_err_nest(e, rc, "status");
	json_for_each(d, ips, i) {
		snprintf(where, sizeof(where), "status.podIPs[%d].ip", n++);
		rc = json_get_str(d, i, "ip", &s, e);
		if (rc < 0)
			return kobj_err(e, rc == -ENOENT ? -EINVAL : rc,
					"%s: required string", where);
		if ((rc = add_ip(out, s, where, e)) < 0)
			return rc;
	}
	rc = json_get_str(d, status, "podIP", &s, e);
	if (rc < 0 && rc != -ENOENT)
		return kobj_err_nest(e, rc, "status");
	if (rc == 0 && s[0])
		return add_ip(out, s, "status.podIP", e);
	return 0;
}

int kobj_parse_pod(const struct json_doc *d, int obj, struct arena *a,
		   struct kobj_pod *out, struct json_err *e)
{
	int spec = -1, status = -1, rc;

	memset(out, 0, sizeof(*out));
	rc = kobj_meta(d, obj, a, &out->name, &out->ns, &out->labels, e);
	if (rc < 0)
		return rc;
	if (!selector_dns_subdomain(out->name))
		return kobj_err(e, -EINVAL, "metadata.name: invalid pod name "
				"\"%.64s\"", out->name);
	out->ips = arena_alloc(a, KOBJ_MAX_POD_IPS * sizeof(*out->ips));
	if (!out->ips)
		return -ENOMEM;
	rc = json_get_obj(d, obj, "spec", &spec, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (spec >= 0) {
		rc = json_get_str(d, spec, "nodeName", &out->node, e);
		if (rc < 0 && rc != -ENOENT)
			return kobj_err_nest(e, rc, "spec");
		rc = json_get_bool(d, spec, "hostNetwork", &out->host_network,
				   e);
		if (rc < 0 && rc != -ENOENT)
			return kobj_err_nest(e, rc, "spec");
		if ((rc = parse_containers(d, spec, a, out, e)) < 0)
			return rc;
	}
	rc = json_get_obj(d, obj, "status", &status, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	return status >= 0 ? parse_status(d, status, out, e) : 0;
}

enum kobj_kind kobj_kind_of(const struct json_doc *d, int obj,
			    enum kobj_kind deflt)
{
	const char *kind;

	if (json_get_str(d, obj, "kind", &kind, NULL) < 0)
		return deflt;
	if (!strcmp(kind, "Namespace"))
		return KOBJ_NAMESPACE;
	if (!strcmp(kind, "Pod"))
		return KOBJ_POD;
	if (!strcmp(kind, "NetworkPolicy"))
		return KOBJ_NETPOL;
	return KOBJ_NONE;
}

static const char *const kind_names[] = {
	[KOBJ_NONE] = "object", [KOBJ_NAMESPACE] = "Namespace",
	[KOBJ_POD] = "Pod", [KOBJ_NETPOL] = "NetworkPolicy",
};

/* "Pod ns/name: msg", with whatever of the name could be read. */
static int problem(struct arena *a, struct kobj_list *l,
		   const struct json_doc *d, int obj, enum kobj_kind k,
		   const char *msg)
{
	const char *name = "?", *ns = NULL, *p;
	int meta = json_find(d, obj, "metadata");

	json_get_str(d, meta, "name", &name, NULL);
	json_get_str(d, meta, "namespace", &ns, NULL);
	p = arena_printf(a, "%s %.64s%s%.253s: %s", kind_names[k],
			 ns ? ns : "", ns ? "/" : "", name, msg);
	if (!p)
		return -ENOMEM;
	l->problems[l->nproblems++] = p;
	return 0;
}

static int add_item(struct arena *a, struct kobj_list *l,
		    const struct json_doc *d, int obj, enum kobj_kind deflt)
{
	enum kobj_kind k = kobj_kind_of(d, obj, deflt);
	struct json_err e;
	int rc;

	memset(&e, 0, sizeof(e));
	l->nitems++;
	if (json_typeof(d, obj) != JSON_OBJECT)
		return problem(a, l, d, obj, KOBJ_NONE, "not an object");
	switch (k) {
	case KOBJ_NAMESPACE:
		rc = kobj_parse_ns(d, obj, a, &l->ns[l->nns], &e);
		l->nns += rc == 0;
		break;
	case KOBJ_POD:
		rc = kobj_parse_pod(d, obj, a, &l->pods[l->npods], &e);
		l->npods += rc == 0;
		break;
	case KOBJ_NETPOL:
		rc = kobj_parse_np(d, obj, a, &l->nps[l->nnps], &e);
		l->nnps += rc == 0;
		break;
	default:
		l->nignored++;
		return 0;
	}
	if (rc == -ENOMEM)
		return rc;
	return rc < 0 ? problem(a, l, d, obj, k, e.msg) : 0;
}

static enum kobj_kind list_kind(const char *kind)
{
	if (!strcmp(kind, "NamespaceList"))
		return KOBJ_NAMESPACE;
	if (!strcmp(kind, "PodList"))
		return KOBJ_POD;
	if (!strcmp(kind, "NetworkPolicyList"))
		return KOBJ_NETPOL;
	return KOBJ_NONE;
}

static int alloc_list(struct arena *a, struct kobj_list *l, int n)
{
	l->ns = arena_alloc(a, (n + 1) * sizeof(*l->ns));
	l->pods = arena_alloc(a, (n + 1) * sizeof(*l->pods));
	l->nps = arena_alloc(a, (n + 1) * sizeof(*l->nps));
	l->problems = arena_alloc(a, (n + 1) * sizeof(*l->problems));
	return l->ns && l->pods && l->nps && l->problems ? 0 : -ENOMEM;
}

int kobj_parse_list(struct arena *a, const char *text, size_t len,
		    struct kobj_list *out, struct json_err *e)
{
	struct json_limits lim = { 256u << 20, 1 << 26, 64 };
	struct json_doc *d;
	enum kobj_kind deflt = KOBJ_NONE;
	const char *kind = "";
	int items = -1, i, rc;

	memset(out, 0, sizeof(*out));
	d = arena_alloc(a, sizeof(*d));
	if (!d)
		return kobj_err(e, -ENOMEM, "out of memory");
	if ((rc = json_parse(d, a, text, len, &lim, e)) < 0)
		return rc;
	if (json_typeof(d, 0) != JSON_OBJECT)
		return kobj_err(e, -EINVAL, "not a JSON object");
	json_get_str(d, 0, "kind", &kind, NULL);
	rc = json_get_arr(d, 0, "items", &items, e);
	if (rc == -ENOENT && kobj_kind_of(d, 0, KOBJ_NONE) != KOBJ_NONE) {
		if ((rc = alloc_list(a, out, 1)) < 0)
			return kobj_err(e, rc, "out of memory");
		return add_item(a, out, d, 0, KOBJ_NONE);
	}
	if (rc < 0)
		return kobj_err(e, -EINVAL, "%.32s: no items (want a List, "
				"a Namespace, a Pod or a NetworkPolicy)",
				kind[0] ? kind : "object");
	deflt = list_kind(kind);
	if ((rc = alloc_list(a, out, json_len(d, items))) < 0)
		return kobj_err(e, rc, "out of memory");
	json_for_each(d, items, i)
		if ((rc = add_item(a, out, d, i, deflt)) < 0)
			return kobj_err(e, rc, "out of memory");
	return 0;
}
