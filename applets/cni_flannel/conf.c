/* cni-flannel: configuration (stdin + subnet file), netns and handles. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni_flannel.h"
#include "log.h"

/* Optional typed members: absent leaves *out alone, a wrong type is a
 * config error naming "prefix.key". */
static int opt_bool(struct fl *f, int obj, const char *prefix,
		    const char *key, int *out)
{
	struct json_err je;
	int r = json_get_bool(&f->c.cni.doc, obj, key, out, &je);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "%s%s", prefix, je.msg);
	return 0;
}

static int opt_str(struct fl *f, int obj, const char *prefix,
		   const char *key, const char **out)
{
	struct json_err je;
	int r = json_get_str(&f->c.cni.doc, obj, key, out, &je);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "%s%s", prefix, je.msg);
	if (!**out)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "%s%s: empty", prefix,
				key);
	return 0;
}

static int opt_obj(struct fl *f, int obj, const char *key, int *out)
{
	struct json_err je;
	int r = json_get_obj(&f->c.cni.doc, obj, key, out, &je);

	*out = r == 0 && json_typeof(&f->c.cni.doc, *out) == JSON_OBJECT ?
	       *out : -1;
	if (r == -ENOENT)
		return 0;
	if (r < 0 || *out < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG,
				"%s: expected object", key);
	return 0;
}

static int parse_delegate(struct fl *f, int d)
{
	const char *type = NULL, *p = "delegate.", *why;
	struct json_err je;
	int64_t mtu;
	int r, gw_set = -1;

	if (json_find(&f->c.cni.doc, d, "name") >= 0 ||
	    json_find(&f->c.cni.doc, d, "ipam") >= 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "'delegate' dictionary, "
				"if present, may not contain 'name' or 'ipam' "
				"keys");
	if (opt_str(f, d, p, "type", &type) < 0 ||
	    opt_str(f, d, p, "bridge", &f->c.bridge) < 0 ||
	    opt_bool(f, d, p, "isGateway", &gw_set) < 0 ||
	    opt_bool(f, d, p, "isDefaultGateway", &f->c.is_default_gw) < 0 ||
	    opt_bool(f, d, p, "hairpinMode", &f->c.hairpin) < 0 ||
	    opt_bool(f, d, p, "promiscMode", &f->c.promisc) < 0 ||
	    opt_bool(f, d, p, "forceAddress", &f->c.force_addr) < 0 ||
	    opt_bool(f, d, p, "ipMasq", &f->c.ipmasq) < 0)
		return -EINVAL;
	if (type && strcmp(type, "bridge"))
		return cni_errf(&f->e, CNI_ERR_UNSUPPORTED_FIELD,
				"delegate.type \"%s\": only the bridge "
				"delegate is built in (remove the key)", type);
	if (gw_set >= 0)
		f->c.is_gw = gw_set;
	r = json_get_int(&f->c.cni.doc, d, "mtu", 68, 65535, &mtu, &je);
	if (r == 0)
		f->c.mtu = (unsigned int)mtu;
	else if (r != -ENOENT)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "delegate.%s "
				"(68 to 65535)", je.msg);
	if (cni_ifname_check(f->c.bridge, &why) < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "delegate.bridge \"%s\""
				": not a valid interface name", f->c.bridge);
	if (f->c.hairpin && f->c.promisc)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "cannot set hairpin "
				"mode and promiscuous mode at the same time");
	if (f->c.is_default_gw)
		f->c.is_gw = 1;
	return 0;
}

static int add_route(struct fl *f, const struct ipnet *dst,
		     const struct ipaddr *gw)
{
	if (f->c.nroutes >= FL_MAX_ROUTES)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "more than %d routes",
				FL_MAX_ROUTES);
	f->c.routes[f->c.nroutes].dst = *dst;
	if (gw)
		f->c.routes[f->c.nroutes].gw = *gw;
	f->c.nroutes++;
	return 0;
}

static int parse_ipam_routes(struct fl *f, int arr)
{
	const struct json_doc *d = &f->c.cni.doc;
	const char *dst, *gw;
	struct ipnet n;
	struct ipaddr g;
	int i;

	if (json_typeof(d, arr) != JSON_ARRAY)
		return cni_errf(&f->e, CNI_ERR_CONFIG,
				"ipam.routes: expected array");
	json_for_each(d, arr, i) {
		dst = gw = NULL;
		if (json_typeof(d, i) != JSON_OBJECT ||
		    opt_str(f, i, "ipam.routes.", "dst", &dst) < 0 ||
		    opt_str(f, i, "ipam.routes.", "gw", &gw) < 0)
			return cni_errf(&f->e, CNI_ERR_CONFIG, "ipam.routes: "
					"expected [{\"dst\": CIDR, \"gw\": IP}]");
		if (!dst || ipnet_parse(dst, &n) < 0)
			return cni_errf(&f->e, CNI_ERR_CONFIG, "ipam.routes: "
					"bad dst \"%s\"", dst ? dst : "");
		if (gw && (ip_parse(gw, &g) < 0 || g.family != n.ip.family))
			return cni_errf(&f->e, CNI_ERR_CONFIG, "ipam.routes: "
					"bad gw \"%s\"", gw);
		ipnet_mask(&n);
		if (add_route(f, &n, gw ? &g : NULL) < 0)
			return -EINVAL;
	}
	f->c.user_routes = f->c.nroutes;
	return 0;
}

static int parse_ipam(struct fl *f, int ipam)
{
	const char *type = NULL;
	int routes = json_find(&f->c.cni.doc, ipam, "routes");

	if (opt_str(f, ipam, "ipam.", "type", &type) < 0 ||
	    opt_str(f, ipam, "ipam.", "dataDir", &f->c.ipam_dir) < 0)
		return -EINVAL;
	if (type && strcmp(type, "host-local"))
		return cni_errf(&f->e, CNI_ERR_UNSUPPORTED_FIELD,
				"ipam.type \"%s\": only host-local is built in "
				"(remove the key)", type);
	if (routes >= 0 && json_typeof(&f->c.cni.doc, routes) != JSON_NULL)
		return parse_ipam_routes(f, routes);
	return 0;
}

/* Top-level bandwidth keys (as the bandwidth plugin) win over
 * runtimeConfig.bandwidth (the capability). */
static int parse_bandwidth(struct fl *f)
{
	static const char *const keys[] = { "ingressRate", "ingressBurst",
		"egressRate", "egressBurst" };
	struct cni_bandwidth top = { 0 };
	struct bw_limits t = { 0 }, rc = { 0 };
	const struct cni_bandwidth *b = &f->c.cni.bandwidth;
	const char *why;
	unsigned int i;
	int have_top = 0;

	for (i = 0; i < 4; i++)
		if (json_find(&f->c.cni.doc, 0, keys[i]) >= 0)
			have_top = 1;
	if (have_top && cni_bandwidth_parse(&f->c.cni.doc, 0, "", &top,
					    &f->e) < 0)
		return -EINVAL;
	t = (struct bw_limits){ top.ingress_rate, top.ingress_burst,
				top.egress_rate, top.egress_burst };
	rc = (struct bw_limits){ b->ingress_rate, b->ingress_burst,
				 b->egress_rate, b->egress_burst };
	if (bw_cni_resolve(&t, have_top, &rc, b->set, &f->c.bw, &why) < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "bandwidth: %s", why);
	return 0;
}

/* One direction's tbf, checked against what the kernel can hold. */
static int bw_dir_check(const struct tc_clock *clk, uint64_t rate,
			uint64_t burst, unsigned int mtu, const char **why)
{
	struct bw_tbf t;

	if (!rate)
		return 0;
	if (bw_tbf(rate, burst, mtu, &t, why) < 0 ||
	    tc_tbf_valid(clk, &t, why) < 0)
		return -ERANGE;
	return 0;
}

/* Reject limits the kernel cannot represent before touching anything. */
static int check_bandwidth(struct fl *f)
{
	const struct bw_limits *b = &f->c.bw;
	unsigned int mtu = f->c.mtu ? f->c.mtu : 1500;
	struct tc_clock clk;
	const char *why;

	tc_clock_init(&clk);	/* keeps the usual clock without /proc */
	if (bw_dir_check(&clk, b->ingress_rate, b->ingress_burst, mtu,
			 &why) < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "ingress bandwidth "
				"%llu bit/s: %s",
				(unsigned long long)b->ingress_rate, why);
	if (bw_dir_check(&clk, b->egress_rate, b->egress_burst, mtu,
			 &why) < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "egress bandwidth "
				"%llu bit/s: %s",
				(unsigned long long)b->egress_rate, why);
	return 0;
}

/* DEL removes whatever limits the attachment has, whatever the config
 * says now: a bad bandwidth value must not keep it from cleaning up. */
static int bandwidth_ok(struct fl *f, int r)
{
	if (r == 0 || f->env.cmd != CNI_CMD_DEL)
		return r;
	log_warn("DEL ignores the bandwidth config: %s", f->e.msg);
	memset(&f->c.bw, 0, sizeof(f->c.bw));
	f->e.code = 0;
	return 0;
}

static int load_subnet(struct fl *f)
{
	char err[SUBNETENV_ERRLEN];
	int r, i;

	r = subnetenv_load(f->c.subnet_file, &f->c.se, err, sizeof(err));
	if (r < 0) {
		int code = r == -ENOENT || r == -EACCES ? CNI_ERR_TRY_AGAIN :
			   CNI_ERR_CONFIG;

		if (f->env.cmd == CNI_CMD_STATUS)
			code = CNI_ERR_NOT_AVAILABLE;
		return cni_errf(&f->e, code, "%s%s", err, r == -ENOENT ?
				" (is flanneld or eni-agent running?)" : "");
	}
	f->c.have_se = 1;
	for (i = 0; i < f->c.se.nnetworks; i++)
		if (add_route(f, &f->c.se.networks[i], NULL) < 0)
			return -EINVAL;
	for (i = 0; i < f->c.se.nnetworks6; i++)
		if (add_route(f, &f->c.se.networks6[i], NULL) < 0)
			return -EINVAL;
	return 0;
}

static int parse_keys(struct fl *f)
{
	int del = -1, ipam = -1;

	f->c.subnet_file = SUBNETENV_DEFAULT_PATH;
	f->c.data_dir = FL_DEFAULT_DATA_DIR;
	f->c.bridge = FL_DEFAULT_BRIDGE;
	f->c.is_gw = 1;
	f->c.ipmasq = -1;
	if (opt_str(f, 0, "", "subnetFile", &f->c.subnet_file) < 0 ||
	    opt_str(f, 0, "", "dataDir", &f->c.data_dir) < 0 ||
	    opt_obj(f, 0, "delegate", &del) < 0 ||
	    opt_obj(f, 0, "ipam", &ipam) < 0)
		return -EINVAL;
	if (del >= 0 && parse_delegate(f, del) < 0)
		return -EINVAL;
	if (ipam >= 0 && parse_ipam(f, ipam) < 0)
		return -EINVAL;
	return bandwidth_ok(f, parse_bandwidth(f));
}

/* The node subnet(s) as host-local range sets. */
static int make_ranges(struct fl *f)
{
	const struct ipnet *sn[2] = { &f->c.se.subnet, &f->c.se.subnet6 };
	char buf[IPNET_STRLEN], err[IPAM_ERRLEN];
	int i;

	f->nsets = 0;
	for (i = 0; i < 2; i++) {
		struct ipam_rangeset *s = &f->sets[f->nsets];

		if (!sn[i]->ip.family)
			continue;
		memset(s, 0, sizeof(*s));
		if (ipam_range_parse(&s->r[0], ipnet_fmt(sn[i], buf), NULL,
				     NULL, NULL, err, sizeof(err)) < 0)
			return cni_errf(&f->e, CNI_ERR_CONFIG, "%s", err);
		s->n = 1;
		f->nsets++;
	}
	if (ipam_canon(f->sets, f->nsets, err, sizeof(err)) < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "%s", err);
	return 0;
}

int fl_conf_load(struct fl *f)
{
	enum cni_cmd cmd = f->env.cmd;
	char *in;
	size_t n;

	if (cni_read_stdin(0, &f->a, CNI_STDIN_MAX, &in, &n, &f->e) < 0 ||
	    cni_conf_parse(&f->c.cni, &f->a, in, n, cmd, &f->e) < 0 ||
	    parse_keys(f) < 0)
		return -EINVAL;
	if (cmd == CNI_CMD_GC)
		return 0;
	if (load_subnet(f) < 0) {
		if (cmd != CNI_CMD_DEL)
			return -EINVAL;
		log_info("DEL without subnet file: %s", f->e.msg);
		f->e.code = 0;
	}
	if (f->c.ipmasq < 0)
		f->c.ipmasq = f->c.have_se ? !f->c.se.ipmasq : 0;
	if (!f->c.mtu && f->c.have_se)
		f->c.mtu = f->c.se.mtu;
	if (f->c.mtu && (f->c.mtu < 68 || f->c.mtu > 65535))
		return cni_errf(&f->e, CNI_ERR_CONFIG, "FLANNEL_MTU %u: out "
				"of range (68 to 65535)", f->c.mtu);
	if (f->c.have_se && make_ranges(f) < 0)
		return -EINVAL;
	if (bandwidth_ok(f, check_bandwidth(f)) < 0)
		return -EINVAL;
	if (f->env.ifname)
		fl_veth_name(f->env.containerid, f->env.ifname, f->host_veth);
	if (f->env.ifname)
		tc_ifb_name(f->c.cni.name, f->env.containerid, f->env.ifname,
			    f->ifb);
	return 0;
}

void fl_open_netns(struct fl *f, int required)
{
	int fd;

	if (!f->env.netns || !*f->env.netns) {
		if (!required)
			return;
		cni_errf(&f->e, CNI_ERR_ENV, "CNI_NETNS is required");
		fl_die(f);
	}
	fd = netns_open(f->env.netns);
	if (fd >= 0) {
		f->nsfd = fd;
		return;
	}
	/* DEL: a netns already gone (or a stale mount point) is fine */
	if (!required && (fd == -ENOENT || fd == -EINVAL))
		return;
	cni_errf(&f->e, CNI_ERR_ENV, "CNI_NETNS %s: %s", f->env.netns,
		 fd == -EINVAL ? "not a network namespace" : strerror(-fd));
	fl_die(f);
}

void fl_open_nl(struct fl *f)
{
	f->host = calloc(1, sizeof(*f->host));
	if (!f->host || nl_open(f->host) < 0)
		goto fail;
	if (f->nsfd >= 0) {
		f->pod = calloc(1, sizeof(*f->pod));
		if (!f->pod || nl_open_netns(f->pod, f->nsfd) < 0) {
			free(f->pod);
			f->pod = NULL;
			goto fail;
		}
	}
	return;
fail:
	cni_errf(&f->e, CNI_ERR_PLUGIN, "netlink socket: %s", strerror(errno));
	fl_die(f);
}

void fl_close(struct fl *f)
{
	if (f->pod)
		nl_close(f->pod);
	if (f->host)
		nl_close(f->host);
	free(f->pod);
	free(f->host);
	f->pod = f->host = NULL;
	if (f->nsfd >= 0)
		close(f->nsfd);
	f->nsfd = -1;
	arena_free_all(&f->a);
}

static void ipam_notice(void *arg, const char *msg)
{
	log_warn("ipam: %s", msg);
}

int fl_ipam_open(struct fl *f, struct ipam *h)
{
	int r;

	memset(h, 0, sizeof(*h));
	r = ipam_open(h, f->c.ipam_dir, f->c.cni.name);
	if (r < 0)
		return cni_errf(&f->e, CNI_ERR_IO, "lease store: %s", h->err);
	h->notice = ipam_notice;
	return 0;
}

/* Requested addresses: CNI_ARGS IP=a,b, runtimeConfig.ips, args.cni.ips */
static int requested(struct fl *f, struct ipaddr *out, int max)
{
	const char *ip = cni_args_get(&f->args, "IP");
	int n = 0, i;

	while (ip && *ip && n < max) {
		char buf[IP_STRLEN];
		size_t len = strcspn(ip, ",");

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, ip, len);
		buf[len] = 0;
		if (ip_parse(buf, &out[n]) < 0)
			return cni_errf(&f->e, CNI_ERR_ENV, "CNI_ARGS IP=%s: "
					"not an IP address", buf);
		n++;
		ip += len + (ip[len] == ',');
	}
	for (i = 0; i < f->c.cni.n_rc_ips && n < max; i++)
		out[n++] = f->c.cni.rc_ips[i].ip;
	for (i = 0; i < f->c.cni.n_args_ips && n < max; i++)
		out[n++] = f->c.cni.args_ips[i].ip;
	return n;
}

int fl_ipam_add(struct fl *f, struct ipam *h)
{
	struct ipaddr req[16];
	struct ipam_request r = { 0 };
	int n, err;

	n = requested(f, req, 16);
	if (n < 0)
		return n;
	r.cid = f->env.containerid;
	r.ifname = f->env.ifname;
	r.sets = f->sets;
	r.nsets = f->nsets;
	r.requested = req;
	r.nrequested = n;
	err = ipam_add(h, &r, f->lease);
	if (err < 0)
		return cni_errf(&f->e, cni_ipam_code(err), "%s", h->err);
	f->nlease = f->nsets;
	return 0;
}
