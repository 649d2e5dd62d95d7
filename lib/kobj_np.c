/* networking.k8s.io/v1 NetworkPolicy: parse, default and validate as the
 * API server does (pkg/apis/networking/validation). See kobj.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kobj.h"
#include "kobj_int.h"

static const char *const dir_rules[] = { "ingress", "egress" };
static const char *const dir_peers[] = { "from", "to" };

static int parse_except(const struct json_doc *d, int arr, struct arena *a,
			struct kobj_ipblock *b, struct json_err *e)
{
	struct ipnet *x;
	const char *s;
	int i, rc;

	b->except = arena_alloc(a, (json_len(d, arr) + 1) * sizeof(*x));
	if (!b->except)
		return -ENOMEM;
	json_for_each(d, arr, i) {
		x = &b->except[b->nexcept];
		if ((rc = json_as_str(d, i, "except", &s, NULL, e)) < 0)
			return kobj_err_nest(e, rc, "ipBlock");
		if (ipnet_parse(s, x) < 0)
			return kobj_err(e, -EINVAL, "ipBlock.except[%d]: "
					"invalid CIDR \"%.64s\"", b->nexcept,
					s);
		ipnet_mask(x);
		if (!ipnet_contains(&b->cidr, &x->ip) ||
		    b->cidr.prefix >= x->prefix)
			return kobj_err(e, -EINVAL, "ipBlock.except[%d]: "
					"must be a strict subset of cidr",
					b->nexcept);
		b->nexcept++;
	}
	return 0;
}

static int parse_ipblock(const struct json_doc *d, int obj, struct arena *a,
			 const struct kobj_ipblock **out, struct json_err *e)
{
	struct kobj_ipblock *b;
	const char *s;
	int arr = -1, rc;

	if ((rc = json_expect(d, obj, "ipBlock", JSON_OBJECT, e)) < 0)
		return rc;
	b = arena_alloc(a, sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = json_get_str(d, obj, "cidr", &s, e);
	if (rc < 0)
		return rc == -ENOENT ? kobj_err(e, -EINVAL,
				"ipBlock.cidr: required") :
			kobj_err_nest(e, rc, "ipBlock");
	if (ipnet_parse(s, &b->cidr) < 0)
		return kobj_err(e, -EINVAL, "ipBlock.cidr: invalid CIDR "
				"\"%.64s\"", s);
	ipnet_mask(&b->cidr);
	rc = json_get_arr(d, obj, "except", &arr, e);
	if (rc < 0 && rc != -ENOENT)
		return kobj_err_nest(e, rc, "ipBlock");
	if (arr >= 0 && (rc = parse_except(d, arr, a, b, e)) < 0)
		return rc;
	*out = b;
	return 0;
}

static int parse_sel(const struct json_doc *d, int obj, const char *key,
		     struct arena *a, const struct selector **out,
		     struct json_err *e)
{
	struct selector *s;
	int tok = json_find(d, obj, key), rc;

	if (tok < 0 || json_typeof(d, tok) == JSON_NULL)
		return 0;
	s = arena_alloc(a, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if ((rc = selector_parse(d, tok, a, s, e)) < 0)
		return kobj_err_nest(e, rc, key);
	*out = s;
	return 0;
}

static int parse_peer(const struct json_doc *d, int obj, struct arena *a,
		      struct kobj_peer *p, struct json_err *e)
{
	int tok, rc;

	if ((rc = json_expect(d, obj, "peer", JSON_OBJECT, e)) < 0)
		return rc;
	if ((rc = parse_sel(d, obj, "podSelector", a, &p->pods, e)) < 0 ||
	    (rc = parse_sel(d, obj, "namespaceSelector", a, &p->nss, e)) < 0)
		return rc;
	tok = json_find(d, obj, "ipBlock");
	if (tok >= 0 && json_typeof(d, tok) != JSON_NULL &&
	    (rc = parse_ipblock(d, tok, a, &p->block, e)) < 0)
		return rc;
	if (!p->pods && !p->nss && !p->block)
		return kobj_err(e, -EINVAL, "must specify a peer");
	if (p->block && (p->pods || p->nss))
		return kobj_err(e, -EINVAL, "may not specify both ipBlock "
				"and another peer");
	return 0;
}

static int port_value(const struct json_doc *d, int tok,
		      struct kobj_np_port *p, struct json_err *e)
{
	int64_t v;
	int rc;

	switch (json_typeof(d, tok)) {
	case JSON_NONE:
	case JSON_NULL:
		return 0;
	case JSON_STRING:
		if ((rc = json_as_str(d, tok, "port", &p->name, NULL, e)) < 0)
			return rc;
		if (!kobj_port_name_valid(p->name))
			return kobj_err(e, -EINVAL, "port: invalid port name "
					"\"%.32s\"", p->name);
		return 0;
	default:
		rc = json_as_int(d, tok, "port", 1, 65535, &v, e);
		if (rc < 0)
			return kobj_err(e, rc, "port: must be an integer "
					"between 1 and 65535, or a name");
		p->port = p->end = (uint16_t)v;
		return 0;
	}
}

static int parse_port(const struct json_doc *d, int obj,
		      struct kobj_np_port *p, struct json_err *e)
{
	const char *proto = "TCP";
	int64_t v;
	int rc;

	if ((rc = json_expect(d, obj, "port", JSON_OBJECT, e)) < 0)
		return rc;
	rc = json_get_str(d, obj, "protocol", &proto, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (kobj_proto_parse(proto, &p->proto) < 0)
		return kobj_err(e, -EINVAL, "protocol: unsupported value "
				"\"%.16s\"", proto);
	if ((rc = port_value(d, json_find(d, obj, "port"), p, e)) < 0)
		return rc;
	rc = json_get_int(d, obj, "endPort", 1, 65535, &v, e);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return kobj_err(e, rc, "endPort: must be an integer between "
				"1 and 65535");
	if (p->name)
		return kobj_err(e, -EINVAL, "endPort: may not be specified "
				"when port is non-numeric");
	if (!p->port)
		return kobj_err(e, -EINVAL, "endPort: may not be specified "
				"when port is not specified");
	if (v < p->port)
		return kobj_err(e, -EINVAL, "endPort: must be greater than or "
				"equal to port");
	p->end = (uint16_t)v;
	return 0;
}

static int parse_rule(const struct json_doc *d, int obj, struct arena *a,
		      int dir, struct kobj_np_rule *r, struct json_err *e)
{
	int peers = -1, ports = -1, i, rc;
	char where[40];

	if ((rc = json_expect(d, obj, "rule", JSON_OBJECT, e)) < 0)
		return rc;
	rc = json_get_arr(d, obj, dir_peers[dir], &peers, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = json_get_arr(d, obj, "ports", &ports, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	r->peers = arena_alloc(a, (json_len(d, peers) + 1) *
			       sizeof(*r->peers));
	r->ports = arena_alloc(a, (json_len(d, ports) + 1) *
			       sizeof(*r->ports));
	if (!r->peers || !r->ports)
		return -ENOMEM;
	json_for_each(d, peers, i) {
		snprintf(where, sizeof(where), "%s[%d]", dir_peers[dir],
			 r->npeers);
		if ((rc = parse_peer(d, i, a, &r->peers[r->npeers], e)) < 0)
			return kobj_err_nest(e, rc, where);
		r->npeers++;
	}
	json_for_each(d, ports, i) {
		snprintf(where, sizeof(where), "ports[%d]", r->nports);
		if ((rc = parse_port(d, i, &r->ports[r->nports], e)) < 0)
			return kobj_err_nest(e, rc, where);
		r->nports++;
	}
	return 0;
}

static int parse_rules(const struct json_doc *d, int spec, struct arena *a,
		       int dir, struct kobj_np *np, struct json_err *e)
{
	int arr = -1, i, rc;
	char where[40];

	rc = json_get_arr(d, spec, dir_rules[dir], &arr, e);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return kobj_err_nest(e, rc, "spec");
	np->rules[dir] = arena_alloc(a, (json_len(d, arr) + 1) *
				     sizeof(struct kobj_np_rule));
	if (!np->rules[dir])
		return -ENOMEM;
	json_for_each(d, arr, i) {
		snprintf(where, sizeof(where), "spec.%s[%d]", dir_rules[dir],
			 np->nrules[dir]);
		rc = parse_rule(d, i, a, dir, &np->rules[dir][np->nrules[dir]],
				e);
		if (rc < 0)
			return kobj_err_nest(e, rc, where);
		np->nrules[dir]++;
	}
	return 0;
}

static int parse_types(const struct json_doc *d, int spec, struct kobj_np *np,
		       struct json_err *e)
{
	const char *s;
	int arr = -1, i, n = 0, rc;

	rc = json_get_arr(d, spec, "policyTypes", &arr, e);
	if (rc < 0 && rc != -ENOENT)
		return kobj_err_nest(e, rc, "spec");
	json_for_each(d, arr, i) {
		if ((rc = json_as_str(d, i, "policyTypes", &s, NULL, e)) < 0)
			return kobj_err_nest(e, rc, "spec");
		if (!strcmp(s, "Ingress"))
			np->types |= KOBJ_TYPE_INGRESS;
		else if (!strcmp(s, "Egress"))
			np->types |= KOBJ_TYPE_EGRESS;
		else
			return kobj_err(e, -EINVAL, "spec.policyTypes[%d]: "
					"unsupported value \"%.16s\"", n, s);
		n++;
	}
	if (n > 2)
		return kobj_err(e, -EINVAL, "spec.policyTypes: may not "
				"specify more than two policyTypes");
	if (n == 0) {	/* SetDefaults_NetworkPolicySpec */
		np->types = KOBJ_TYPE_INGRESS;
		if (np->nrules[KOBJ_EGRESS])
			np->types |= KOBJ_TYPE_EGRESS;
	}
	return 0;
}

int kobj_parse_np(const struct json_doc *d, int obj, struct arena *a,
		  struct kobj_np *out, struct json_err *e)
{
	int spec = -1, rc;

	memset(out, 0, sizeof(*out));
	rc = kobj_meta(d, obj, a, &out->name, &out->ns, NULL, e);
	if (rc < 0)
		return rc;
	if (!selector_dns_subdomain(out->name))
		return kobj_err(e, -EINVAL, "metadata.name: invalid name "
				"\"%.64s\"", out->name);
	rc = json_get_obj(d, obj, "spec", &spec, e);
	if (rc < 0)
		return rc == -ENOENT ? kobj_err(e, -EINVAL,
						"spec: required") : rc;
	rc = selector_parse(d, json_find(d, spec, "podSelector"), a,
			    &out->pod_sel, e);
	if (rc < 0)
		return kobj_err_nest(e, rc, "spec.podSelector");
	if ((rc = parse_rules(d, spec, a, KOBJ_INGRESS, out, e)) < 0 ||
	    (rc = parse_rules(d, spec, a, KOBJ_EGRESS, out, e)) < 0)
		return rc;
	return parse_types(d, spec, out, e);
}
