/* CNI results (build, parse prevResult, print per version), the error and
 * VERSION outputs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cni.h"

/* Grow an arena array of n elements of size sz when n is 0 or a power of
 * two >= 4; returns the (maybe moved) array or NULL. */
static void *grow(struct arena *a, void *v, int n, size_t sz)
{
	void *nv;

	if (n && (n < 4 || (n & (n - 1))))
		return v;
	if (n > INT_MAX / 4)
		return NULL;
	nv = arena_alloc(a, sz * (size_t)(n ? n * 2 : 4));
	if (nv && n)
		memcpy(nv, v, sz * (size_t)n);
	return nv;
}

struct cni_iface *cni_result_add_iface(struct cni_result *r, struct arena *a)
{
	struct cni_iface *v = grow(a, r->ifaces, r->n_ifaces, sizeof(*v));

	if (!v)
		return NULL;
	r->ifaces = v;
	v = &r->ifaces[r->n_ifaces++];
	memset(v, 0, sizeof(*v));
	return v;
}

struct cni_ip *cni_result_add_ip(struct cni_result *r, struct arena *a)
{
	struct cni_ip *v = grow(a, r->ips, r->n_ips, sizeof(*v));

	if (!v)
		return NULL;
	r->ips = v;
	v = &r->ips[r->n_ips++];
	memset(v, 0, sizeof(*v));
	v->iface = -1;
	return v;
}

struct cni_route *cni_result_add_route(struct cni_result *r,
				       struct arena *a)
{
	struct cni_route *v = grow(a, r->routes, r->n_routes, sizeof(*v));

	if (!v)
		return NULL;
	r->routes = v;
	v = &r->routes[r->n_routes++];
	memset(v, 0, sizeof(*v));
	v->mtu = v->advmss = v->priority = v->table = v->scope = -1;
	return v;
}

/* ---- parse ---------------------------------------------------------------- */

static int perr(struct cni_error *e, int rc, const struct json_err *je)
{
	return cni_errf(e, rc == -ENOMEM ? CNI_ERR_PLUGIN : CNI_ERR_CONFIG,
			"prevResult.%s", je->msg);
}

/* Optional string member; -ENOENT is not an error. */
static int opt_str(const struct json_doc *d, int obj, const char *key,
		   const char *what, const char **out, struct json_err *je)
{
	int rc = json_as_str(d, json_find(d, obj, key), what, out, NULL, je);

	return rc == -ENOENT ? 0 : rc;
}

static int opt_int(const struct json_doc *d, int obj, const char *key,
		   const char *what, int min, int *out, struct json_err *je)
{
	int64_t v;
	int rc = json_as_int(d, json_find(d, obj, key), what, min, INT_MAX,
			     &v, je);

	if (rc == 0)
		*out = (int)v;
	return rc == -ENOENT ? 0 : rc;
}

static int parse_ifaces(struct cni_result *r, const struct json_doc *d,
			int arr, struct arena *a, struct json_err *je)
{
	struct cni_iface *f;
	int i, rc;

	json_for_each(d, arr, i) {
		if ((rc = json_expect(d, i, "interfaces[]", JSON_OBJECT, je)))
			return rc;
		if (!(f = cni_result_add_iface(r, a)))
			return -ENOMEM;
		if ((rc = opt_str(d, i, "name", "interfaces[].name", &f->name,
				  je)) ||
		    (rc = opt_str(d, i, "mac", "interfaces[].mac", &f->mac,
				  je)) ||
		    (rc = opt_str(d, i, "sandbox", "interfaces[].sandbox",
				  &f->sandbox, je)) ||
		    (rc = opt_str(d, i, "socketPath", "interfaces[].socketPath",
				  &f->socket_path, je)) ||
		    (rc = opt_str(d, i, "pciID", "interfaces[].pciID",
				  &f->pci_id, je)) ||
		    (rc = opt_int(d, i, "mtu", "interfaces[].mtu", 0, &f->mtu,
				  je)))
			return rc;
		if (!f->name)
			f->name = "";
	}
	return 0;
}

/* A string member parsed as an IP (cidr=0) or a prefix (cidr=1). */
static int get_addr(const struct json_doc *d, int obj, const char *key,
		    const char *what, int cidr, struct ipnet *out,
		    struct json_err *je)
{
	const char *s;
	int rc = json_as_str(d, json_find(d, obj, key), what, &s, NULL, je);

	if (rc == -ENOENT && !cidr)
		return 0;
	if (rc == -ENOENT)	/* required, and not the array's absence */
		return -EINVAL;
	if (rc < 0)
		return rc;
	if (cidr ? ipnet_parse(s, out) < 0 : ip_parse(s, &out->ip) < 0) {
		snprintf(je->msg, sizeof(je->msg), "%s: invalid %s \"%.64s\"",
			 what, cidr ? "CIDR" : "IP", s);
		return -EINVAL;
	}
	return 0;
}

static int parse_ips(struct cni_result *r, const struct json_doc *d,
		     int arr, struct arena *a, struct json_err *je)
{
	struct cni_ip *ip;
	struct ipnet gw;
	int i, rc;

	json_for_each(d, arr, i) {
		if ((rc = json_expect(d, i, "ips[]", JSON_OBJECT, je)))
			return rc;
		if (!(ip = cni_result_add_ip(r, a)))
			return -ENOMEM;
		memset(&gw, 0, sizeof(gw));
		if ((rc = get_addr(d, i, "address", "ips[].address", 1,
				   &ip->address, je)) ||
		    (rc = get_addr(d, i, "gateway", "ips[].gateway", 0, &gw,
				   je)) ||
		    (rc = opt_int(d, i, "interface", "ips[].interface", 0,
				  &ip->iface, je)))
			return rc;
		ip->gateway = gw.ip;
	}
	return 0;
}

static int parse_routes(struct cni_result *r, const struct json_doc *d,
			int arr, struct arena *a, struct json_err *je)
{
	struct cni_route *rt;
	struct ipnet gw;
	int i, rc;

	json_for_each(d, arr, i) {
		if ((rc = json_expect(d, i, "routes[]", JSON_OBJECT, je)))
			return rc;
		if (!(rt = cni_result_add_route(r, a)))
			return -ENOMEM;
		memset(&gw, 0, sizeof(gw));
		if ((rc = get_addr(d, i, "dst", "routes[].dst", 1, &rt->dst,
				   je)) ||
		    (rc = get_addr(d, i, "gw", "routes[].gw", 0, &gw, je)) ||
		    (rc = opt_int(d, i, "mtu", "routes[].mtu", 0, &rt->mtu,
				  je)) ||
		    (rc = opt_int(d, i, "advmss", "routes[].advmss", 0,
				  &rt->advmss, je)) ||
		    (rc = opt_int(d, i, "priority", "routes[].priority", 0,
				  &rt->priority, je)) ||
		    (rc = opt_int(d, i, "table", "routes[].table", 0,
				  &rt->table, je)) ||
		    (rc = opt_int(d, i, "scope", "routes[].scope", 0,
				  &rt->scope, je)))
			return rc;
		rt->gw = gw.ip;
	}
	return 0;
}

int cni_result_parse(struct cni_result *r, const struct json_doc *d, int i,
		     struct arena *a, struct cni_error *e)
{
	static const char *const keys[] = { "interfaces", "ips", "routes" };
	int (*const fns[])(struct cni_result *, const struct json_doc *, int,
			   struct arena *, struct json_err *) = {
		parse_ifaces, parse_ips, parse_routes,
	};
	struct json_err je;
	int k, arr, rc;

	memset(r, 0, sizeof(*r));
	if ((rc = json_expect(d, i, "prevResult", JSON_OBJECT, &je)) < 0)
		return cni_errf(e, CNI_ERR_CONFIG, "%s", je.msg);
	for (k = 0; k < 3; k++) {
		rc = json_get_arr(d, i, keys[k], &arr, &je);
		if (rc == 0)
			rc = fns[k](r, d, arr, a, &je);
		if (rc == -ENOMEM)
			return cni_errf(e, CNI_ERR_PLUGIN, "out of memory");
		if (rc < 0 && rc != -ENOENT)
			return perr(e, rc, &je);
	}
	return cni_dns_parse(d, json_find(d, i, "dns"), "prevResult.dns", a,
			     &r->dns, e);
}

/* ---- write ---------------------------------------------------------------- */

static void w_strv(struct json_w *w, const char *key, const char **v, int n)
{
	int i;

	if (!n)
		return;
	json_w_key(w, key);
	json_w_arr_begin(w);
	for (i = 0; i < n; i++)
		json_w_str(w, v[i]);
	json_w_arr_end(w);
}

static void w_dns(struct json_w *w, const struct cni_dns *dns)
{
	json_w_key(w, "dns");
	json_w_obj_begin(w);
	w_strv(w, "nameservers", dns->nameservers, dns->n_nameservers);
	if (dns->domain)
		json_w_kstr(w, "domain", dns->domain);
	w_strv(w, "search", dns->search, dns->n_search);
	w_strv(w, "options", dns->options, dns->n_options);
	json_w_obj_end(w);
}

static void w_iface(struct json_w *w, const struct cni_iface *f, int v11)
{
	json_w_obj_begin(w);
	json_w_kstr(w, "name", f->name ? f->name : "");
	if (f->mac && *f->mac)
		json_w_kstr(w, "mac", f->mac);
	if (v11 && f->mtu > 0)
		json_w_ki64(w, "mtu", f->mtu);
	if (f->sandbox && *f->sandbox)
		json_w_kstr(w, "sandbox", f->sandbox);
	if (v11 && f->socket_path && *f->socket_path)
		json_w_kstr(w, "socketPath", f->socket_path);
	if (v11 && f->pci_id && *f->pci_id)
		json_w_kstr(w, "pciID", f->pci_id);
	json_w_obj_end(w);
}

static void w_ip(struct json_w *w, const struct cni_ip *ip, int old)
{
	char buf[IPNET_STRLEN];

	json_w_obj_begin(w);
	if (old)
		json_w_kstr(w, "version",
			    ip->address.ip.family == AF_INET6 ? "6" : "4");
	if (ip->iface >= 0)
		json_w_ki64(w, "interface", ip->iface);
	json_w_kstr(w, "address", ipnet_fmt(&ip->address, buf));
	if (ip->gateway.family)
		json_w_kstr(w, "gateway", ip_fmt(&ip->gateway, buf));
	json_w_obj_end(w);
}

static void w_route(struct json_w *w, const struct cni_route *rt, int v11)
{
	char buf[IPNET_STRLEN];

	json_w_obj_begin(w);
	json_w_kstr(w, "dst", ipnet_fmt(&rt->dst, buf));
	if (rt->gw.family)
		json_w_kstr(w, "gw", ip_fmt(&rt->gw, buf));
	if (v11) {
		if (rt->mtu > 0)
			json_w_ki64(w, "mtu", rt->mtu);
		if (rt->advmss > 0)
			json_w_ki64(w, "advmss", rt->advmss);
		if (rt->priority > 0)
			json_w_ki64(w, "priority", rt->priority);
		if (rt->table >= 0)
			json_w_ki64(w, "table", rt->table);
		if (rt->scope >= 0)
			json_w_ki64(w, "scope", rt->scope);
	}
	json_w_obj_end(w);
}

void cni_result_write(struct json_w *w, const struct cni_result *r,
		      const char *version)
{
	int old = cni_version_cmp(version, "1.0.0") < 0;
	int v11 = cni_version_cmp(version, "1.1.0") >= 0;
	int i;

	json_w_obj_begin(w);
	json_w_kstr(w, "cniVersion", version);
	if (r->n_ifaces) {
		json_w_key(w, "interfaces");
		json_w_arr_begin(w);
		for (i = 0; i < r->n_ifaces; i++)
			w_iface(w, &r->ifaces[i], v11);
		json_w_arr_end(w);
	}
	if (r->n_ips) {
		json_w_key(w, "ips");
		json_w_arr_begin(w);
		for (i = 0; i < r->n_ips; i++)
			w_ip(w, &r->ips[i], old);
		json_w_arr_end(w);
	}
	if (r->n_routes) {
		json_w_key(w, "routes");
		json_w_arr_begin(w);
		for (i = 0; i < r->n_routes; i++)
			w_route(w, &r->routes[i], v11);
		json_w_arr_end(w);
	}
	w_dns(w, &r->dns);
	json_w_obj_end(w);
}

/* Finish w and write it to f with a newline. */
static int w_emit(struct json_w *w, FILE *f)
{
	const char *s;
	size_t n;
	int rc = json_w_finish(w, &s, &n);

	if (rc == 0 && (fwrite(s, 1, n, f) != n || fputc('\n', f) == EOF ||
			fflush(f) == EOF))
		rc = -EIO;
	json_w_free(w);
	return rc;
}

int cni_result_print(FILE *f, const struct cni_result *r,
		     const char *version)
{
	struct json_w w;

	json_w_init(&w, NULL, 4);
	cni_result_write(&w, r, version);
	return w_emit(&w, f);
}

void cni_error_print(FILE *f, const char *version, const struct cni_error *e)
{
	struct json_w w;

	json_w_init(&w, NULL, 4);
	json_w_obj_begin(&w);
	json_w_kstr(&w, "cniVersion", version ? version : CNI_VERSION_LATEST);
	json_w_ki64(&w, "code", e->code);
	json_w_kstr(&w, "msg", e->msg);
	if (e->details[0])
		json_w_kstr(&w, "details", e->details);
	json_w_obj_end(&w);
	if (w_emit(&w, f) < 0) {	/* out of memory: still say something */
		fprintf(f, "{\"code\": %d, \"msg\": \"out of memory\"}\n",
			e->code);
		fflush(f);
	}
}

void cni_version_print(FILE *f, const char *input_version)
{
	struct json_w w;
	int i;

	json_w_init(&w, NULL, 0);
	json_w_obj_begin(&w);
	json_w_kstr(&w, "cniVersion", input_version && *input_version ?
		    input_version : CNI_VERSION_LATEST);
	json_w_key(&w, "supportedVersions");
	json_w_arr_begin(&w);
	for (i = 0; cni_versions[i]; i++)
		json_w_str(&w, cni_versions[i]);
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	w_emit(&w, f);
}
