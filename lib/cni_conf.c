/* CNI network configuration: common keys, runtimeConfig, args, dns,
 * prevResult, GC attachments; conflists for tools and tests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni.h"

/* A json_err as a CNI error: code 7 unless out of memory. */
static int jerr(struct cni_error *e, int rc, const struct json_err *je)
{
	return cni_errf(e, rc == -ENOMEM ? CNI_ERR_PLUGIN : CNI_ERR_CONFIG,
			"%s", je->msg);
}

static const char *path_join(char *buf, size_t n, const char *a,
			     const char *b)
{
	snprintf(buf, n, "%s%s%s", a ? a : "", a && *a ? "." : "", b);
	return buf;
}

int cni_mac_parse(const char *s, uint8_t mac[6])
{
	int i, hi, lo;
	char sep = 0;

	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++, s += 3) {
		hi = s[0] >= '0' && s[0] <= '9' ? s[0] - '0' :
		     (s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'f' ?
		     (s[0] | 0x20) - 'a' + 10 : -1;
		lo = s[1] >= '0' && s[1] <= '9' ? s[1] - '0' :
		     (s[1] | 0x20) >= 'a' && (s[1] | 0x20) <= 'f' ?
		     (s[1] | 0x20) - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < 5) {
			if (!sep && (s[2] == ':' || s[2] == '-'))
				sep = s[2];
			if (s[2] != sep)
				return -EINVAL;
		}
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Optional string member 'key' of obj, validated as a MAC. */
static int get_mac(const struct json_doc *d, int obj, const char *parent,
		   const char *key, const char **out, struct cni_error *e)
{
	struct json_err je;
	char what[96];
	uint8_t mac[6];
	int rc;

	path_join(what, sizeof(what), parent, key);
	rc = json_as_str(d, json_find(d, obj, key), what, out, NULL, &je);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return jerr(e, rc, &je);
	if (cni_mac_parse(*out, mac) < 0)
		return cni_errf(e, CNI_ERR_CONFIG, "%s: invalid MAC \"%.32s\"",
				what, *out);
	return 0;
}

/* Optional array member 'key' of obj: strings "ip" or "ip/prefix". */
static int get_ips(const struct json_doc *d, int obj, const char *parent,
		   const char *key, struct arena *a, struct ipnet **out,
		   int *n, struct cni_error *e)
{
	struct json_err je;
	const char *s;
	char what[96];
	int arr, i, rc;

	path_join(what, sizeof(what), parent, key);
	arr = json_find(d, obj, key);
	if (arr < 0 || json_typeof(d, arr) == JSON_NULL)
		return 0;
	if ((rc = json_expect(d, arr, what, JSON_ARRAY, &je)) < 0)
		return jerr(e, rc, &je);
	*out = arena_alloc(a, sizeof(**out) * (size_t)(json_len(d, arr) + 1));
	if (!*out)
		return cni_errf(e, CNI_ERR_PLUGIN, "out of memory");
	json_for_each(d, arr, i) {
		struct ipnet *ip = &(*out)[*n];

		if ((rc = json_as_str(d, i, what, &s, NULL, &je)) < 0)
			return jerr(e, rc, &je);
		if (strchr(s, '/') ? ipnet_parse(s, ip) < 0 :
		    ip_parse(s, &ip->ip) < 0)
			return cni_errf(e, CNI_ERR_CONFIG,
					"%s: invalid IP \"%.64s\"", what, s);
		if (!strchr(s, '/'))
			ip->prefix = ip_bits(ip->ip.family);
		(*n)++;
	}
	return 0;
}

int cni_bandwidth_parse(const struct json_doc *d, int obj, const char *what,
			struct cni_bandwidth *bw, struct cni_error *e)
{
	static const char *const keys[] = {
		"ingressRate", "ingressBurst", "egressRate", "egressBurst",
	};
	uint64_t *vals[] = {
		&bw->ingress_rate, &bw->ingress_burst, &bw->egress_rate,
		&bw->egress_burst,
	};
	struct json_err je;
	char path[96];
	int i, rc;

	memset(bw, 0, sizeof(*bw));
	if (obj < 0 || json_typeof(d, obj) == JSON_NULL)
		return 0;
	if ((rc = json_expect(d, obj, what, JSON_OBJECT, &je)) < 0)
		return jerr(e, rc, &je);
	bw->set = 1;
	for (i = 0; i < 4; i++) {
		path_join(path, sizeof(path), what, keys[i]);
		rc = json_as_u64(d, json_find(d, obj, keys[i]), path, vals[i],
				 &je);
		if (rc < 0 && rc != -ENOENT)
			return jerr(e, rc, &je);
	}
	return 0;
}

int cni_strv_add(struct arena *a, const char ***v, int *n, const char *s)
{
	const char **nv;

	if (*n == 0 || (*n >= 4 && !(*n & (*n - 1)))) {
		nv = arena_alloc(a, sizeof(*nv) * (size_t)(*n ? *n * 2 : 4));
		if (!nv)
			return -ENOMEM;
		if (*n)
			memcpy(nv, *v, sizeof(*nv) * (size_t)*n);
		*v = nv;
	}
	(*v)[(*n)++] = s;
	return 0;
}

static int get_strv(const struct json_doc *d, int obj, const char *parent,
		    const char *key, struct arena *a, const char ***v, int *n,
		    struct cni_error *e)
{
	struct json_err je;
	const char *s;
	char what[96];
	int arr, i, rc;

	path_join(what, sizeof(what), parent, key);
	arr = json_find(d, obj, key);
	if (arr < 0 || json_typeof(d, arr) == JSON_NULL)
		return 0;
	if ((rc = json_expect(d, arr, what, JSON_ARRAY, &je)) < 0)
		return jerr(e, rc, &je);
	json_for_each(d, arr, i) {
		if ((rc = json_as_str(d, i, what, &s, NULL, &je)) < 0)
			return jerr(e, rc, &je);
		if (cni_strv_add(a, v, n, s) < 0)
			return cni_errf(e, CNI_ERR_PLUGIN, "out of memory");
	}
	return 0;
}

int cni_dns_parse(const struct json_doc *d, int obj, const char *what,
		  struct arena *a, struct cni_dns *dns, struct cni_error *e)
{
	struct json_err je;
	char path[96];
	int rc;

	memset(dns, 0, sizeof(*dns));
	if (obj < 0 || json_typeof(d, obj) == JSON_NULL)
		return 0;
	if ((rc = json_expect(d, obj, what, JSON_OBJECT, &je)) < 0)
		return jerr(e, rc, &je);
	path_join(path, sizeof(path), what, "domain");
	rc = json_as_str(d, json_find(d, obj, "domain"), path, &dns->domain,
			 NULL, &je);
	if (rc < 0 && rc != -ENOENT)
		return jerr(e, rc, &je);
	if (get_strv(d, obj, what, "nameservers", a, &dns->nameservers,
		     &dns->n_nameservers, e) < 0 ||
	    get_strv(d, obj, what, "search", a, &dns->search, &dns->n_search,
		     e) < 0 ||
	    get_strv(d, obj, what, "options", a, &dns->options,
		     &dns->n_options, e) < 0)
		return -EINVAL;
	return 0;
}

static int get_attachments(struct cni_conf *c, struct arena *a,
			   struct cni_error *e)
{
	const char *key = "cni.dev/valid-attachments";
	struct json_doc *d = &c->doc;
	struct cni_attachment *at;
	struct json_err je;
	char what[96];
	int arr, i, rc;

	arr = json_find(d, 0, key);
	if (arr < 0 || json_typeof(d, arr) == JSON_NULL)
		arr = json_find(d, 0, key = "cni.dev/attachments");
	if (arr < 0 || json_typeof(d, arr) == JSON_NULL)
		return 0;
	if ((rc = json_expect(d, arr, key, JSON_ARRAY, &je)) < 0)
		return jerr(e, rc, &je);
	c->has_attachments = 1;
	c->attachments = arena_alloc(a, sizeof(*at) *
				     (size_t)(json_len(d, arr) + 1));
	if (!c->attachments)
		return cni_errf(e, CNI_ERR_PLUGIN, "out of memory");
	json_for_each(d, arr, i) {
		at = &c->attachments[c->n_attachments];
		snprintf(what, sizeof(what), "%s[%d]", key, c->n_attachments);
		if ((rc = json_expect(d, i, what, JSON_OBJECT, &je)) < 0)
			return jerr(e, rc, &je);
		rc = json_get_str(d, i, "containerID", &at->containerid, &je);
		if (rc < 0)
			return cni_errf(e, CNI_ERR_CONFIG, "%s.%s", what, je.msg);
		rc = json_get_str(d, i, "ifname", &at->ifname, &je);
		if (rc < 0)
			return cni_errf(e, CNI_ERR_CONFIG, "%s.%s", what, je.msg);
		c->n_attachments++;
	}
	return 0;
}

int cni_attachment_valid(const struct cni_conf *c, const char *containerid,
			 const char *ifname)
{
	int i;

	for (i = 0; i < c->n_attachments; i++)
		if (!strcmp(c->attachments[i].containerid, containerid) &&
		    !strcmp(c->attachments[i].ifname, ifname))
			return 1;
	return 0;
}

/* cniVersion, GC/STATUS gate, name, type. */
static int conf_common(struct cni_conf *c, enum cni_cmd cmd,
		       struct cni_error *e)
{
	struct json_err je;
	int rc;

	rc = json_get_str(&c->doc, 0, "cniVersion", &c->cni_version, &je);
	if (rc < 0 && rc != -ENOENT)
		return jerr(e, rc, &je);
	if (cni_version_check(c->cni_version, e) < 0)
		return -EINVAL;
	if ((cmd == CNI_CMD_GC || cmd == CNI_CMD_STATUS) &&
	    cni_version_cmp(c->cni_version, "1.1.0") < 0)
		return cni_errf(e, CNI_ERR_VERSION,
				"config version does not allow %s",
				cni_cmd_name(cmd));
	rc = json_get_str(&c->doc, 0, "name", &c->name, &je);
	if (rc == -ENOENT || (c->name && !*c->name))
		return cni_errf(e, CNI_ERR_CONFIG, "missing network name");
	if (rc < 0)
		return jerr(e, rc, &je);
	if (cni_netname_check(c->name) < 0) {
		cni_errf(e, CNI_ERR_CONFIG,
			 "invalid characters found in network name");
		return cni_err_details(e, "%.200s", c->name);
	}
	rc = json_get_str(&c->doc, 0, "type", &c->type, &je);
	if (rc == -ENOENT || (c->type && !*c->type))
		return cni_errf(e, CNI_ERR_CONFIG, "missing network type");
	if (rc < 0)
		return jerr(e, rc, &je);
	return 0;
}

/* runtimeConfig, args.cni, dns. */
static int conf_runtime(struct cni_conf *c, struct arena *a,
			struct cni_error *e)
{
	const struct json_doc *d = &c->doc;
	struct json_err je;
	int rc, args, acni;

	c->runtime_config = json_find(d, 0, "runtimeConfig");
	if (json_typeof(d, c->runtime_config) == JSON_NULL)
		c->runtime_config = -1;
	rc = json_expect(d, c->runtime_config, "runtimeConfig", JSON_OBJECT,
			 &je);
	if (rc < 0 && rc != -ENOENT)
		return jerr(e, rc, &je);
	if (c->runtime_config >= 0 &&
	    (cni_bandwidth_parse(d, json_find(d, c->runtime_config,
					      "bandwidth"),
				 "runtimeConfig.bandwidth", &c->bandwidth,
				 e) < 0 ||
	     get_ips(d, c->runtime_config, "runtimeConfig", "ips", a,
		     &c->rc_ips, &c->n_rc_ips, e) < 0 ||
	     get_mac(d, c->runtime_config, "runtimeConfig", "mac", &c->rc_mac,
		     e) < 0))
		return -EINVAL;
	args = json_find(d, 0, "args");
	if ((rc = json_expect(d, args, "args", JSON_OBJECT, &je)) < 0 &&
	    rc != -ENOENT)
		return jerr(e, rc, &je);
	acni = json_find(d, args, "cni");
	if ((rc = json_expect(d, acni, "args.cni", JSON_OBJECT, &je)) < 0 &&
	    rc != -ENOENT)
		return jerr(e, rc, &je);
	if (rc == 0 &&
	    (get_ips(d, acni, "args.cni", "ips", a, &c->args_ips,
		     &c->n_args_ips, e) < 0 ||
	     get_mac(d, acni, "args.cni", "mac", &c->args_mac, e) < 0))
		return -EINVAL;
	return cni_dns_parse(d, json_find(d, 0, "dns"), "dns", a, &c->dns, e);
}

int cni_conf_parse(struct cni_conf *c, struct arena *a, const char *text,
		   size_t len, enum cni_cmd cmd, struct cni_error *e)
{
	struct json_err je;
	int rc;

	memset(c, 0, sizeof(*c));
	c->runtime_config = c->prev = -1;
	rc = json_parse(&c->doc, a, text, len, NULL, &je);
	if (rc < 0)
		return cni_errf(e, rc == -ENOMEM ? CNI_ERR_PLUGIN :
				CNI_ERR_DECODE,
				"error parsing network config: %s", je.msg);
	if (json_typeof(&c->doc, 0) != JSON_OBJECT)
		return cni_errf(e, CNI_ERR_DECODE,
				"error parsing network config: expected an "
				"object, got %s",
				json_type_name(json_typeof(&c->doc, 0)));
	if (conf_common(c, cmd, e) < 0 || conf_runtime(c, a, e) < 0)
		return -EINVAL;
	c->prev = json_find(&c->doc, 0, "prevResult");
	if (json_typeof(&c->doc, c->prev) == JSON_NULL)
		c->prev = -1;
	if (c->prev >= 0) {
		if (cni_result_parse(&c->prev_result, &c->doc, c->prev, a,
				     e) < 0)
			return -EINVAL;
		c->prev_raw = json_raw(&c->doc, c->prev, &c->prev_raw_len);
	}
	if (cmd == CNI_CMD_GC && get_attachments(c, a, e) < 0)
		return -EINVAL;
	return 0;
}

/* ---- conflists ---------------------------------------------------------- */

static int conflist_version(struct cni_conflist *l, struct cni_error *e)
{
	struct json_doc *d = &l->doc;
	struct json_err je;
	const char *v;
	int arr, i, rc;

	rc = json_get_arr(d, 0, "cniVersions", &arr, &je);
	if (rc < 0 && rc != -ENOENT)
		return jerr(e, rc, &je);
	if (rc == 0) {
		json_for_each(d, arr, i) {
			if ((rc = json_as_str(d, i, "cniVersions", &v, NULL,
					      &je)) < 0)
				return jerr(e, rc, &je);
			if (cni_version_supported(v) &&
			    (!l->cni_version ||
			     cni_version_cmp(v, l->cni_version) > 0))
				l->cni_version = v;
		}
	}
	if (!l->cni_version) {
		rc = json_get_str(d, 0, "cniVersion", &l->cni_version, &je);
		if (rc < 0 && rc != -ENOENT)
			return jerr(e, rc, &je);
	}
	return cni_version_check(l->cni_version, e);
}

int cni_conflist_parse(struct cni_conflist *l, struct arena *a,
		       const char *text, size_t len, struct cni_error *e)
{
	struct json_doc *d = &l->doc;
	struct json_err je;
	int rc, i;

	memset(l, 0, sizeof(*l));
	l->plugins = -1;
	if ((rc = json_parse(d, a, text, len, NULL, &je)) < 0)
		return cni_errf(e, CNI_ERR_DECODE, "error parsing conflist: %s",
				je.msg);
	if ((rc = json_expect(d, 0, "conflist", JSON_OBJECT, &je)) < 0)
		return cni_errf(e, CNI_ERR_DECODE, "%s", je.msg);
	if (conflist_version(l, e) < 0)
		return -EINVAL;
	rc = json_get_str(d, 0, "name", &l->name, &je);
	if (rc < 0)
		return jerr(e, rc, &je);
	if (cni_netname_check(l->name) < 0)
		return cni_errf(e, CNI_ERR_CONFIG,
				"invalid characters found in network name");
	if (((rc = json_get_bool(d, 0, "disableCheck", &l->disable_check,
				 &je)) < 0 && rc != -ENOENT) ||
	    ((rc = json_get_bool(d, 0, "disableGC", &l->disable_gc,
				 &je)) < 0 && rc != -ENOENT) ||
	    (rc = json_get_arr(d, 0, "plugins", &l->plugins, &je)) < 0)
		return jerr(e, rc, &je);
	json_for_each(d, l->plugins, i) {
		const char *t;

		if ((rc = json_expect(d, i, "plugins[]", JSON_OBJECT, &je)) < 0 ||
		    (rc = json_get_str(d, i, "type", &t, &je)) < 0)
			return cni_errf(e, CNI_ERR_CONFIG, "plugins[%d]: %s",
					l->n_plugins, je.msg);
		l->n_plugins++;
	}
	if (!l->n_plugins)
		return cni_errf(e, CNI_ERR_CONFIG, "plugins: empty");
	return 0;
}

int cni_conflist_plugin(const struct cni_conflist *l, int n,
			const char *runtime_config, const char *prev_raw,
			struct json_w *w)
{
	const struct json_doc *d = &l->doc;
	int p = json_at(d, l->plugins, n), k;

	if (p < 0)
		return -ENOENT;
	json_w_obj_begin(w);
	json_w_kstr(w, "cniVersion", l->cni_version);
	json_w_kstr(w, "name", l->name);
	json_for_each(d, p, k) {
		const char *key;
		size_t kn;

		if (json_key_eq(d, k, "cniVersion") ||
		    json_key_eq(d, k, "name") ||
		    (prev_raw && json_key_eq(d, k, "prevResult")) ||
		    (runtime_config && json_key_eq(d, k, "runtimeConfig")))
			continue;
		if (json_as_str(d, k, NULL, &key, &kn, NULL) < 0)
			return -ENOMEM;
		json_w_keyn(w, key, kn);
		json_w_value(w, d, k + 1);
	}
	if (runtime_config)
		json_w_kraw(w, "runtimeConfig", runtime_config,
			    strlen(runtime_config));
	if (prev_raw)
		json_w_kraw(w, "prevResult", prev_raw, strlen(prev_raw));
	json_w_obj_end(w);
	return w->err;
}
