/* cni-terway: configuration, the pod's netns and the netlink handles. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni_terway.h"
#include "log.h"
#include "netns.h"
#include "tc.h"

/* Optional string: absent leaves *out alone; wrong type or "" is code 7. */
static int opt_str(struct tw *t, int obj, const char *prefix,
		   const char *key, const char **out)
{
	struct json_err je;
	int r = json_get_str(&t->c.cni.doc, obj, key, out, &je);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "%s%s", prefix, je.msg);
	if (!**out)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "%s%s: empty", prefix,
				key);
	return 0;
}

static int opt_int(struct tw *t, const char *key, int64_t min, int64_t max,
		   int64_t *out)
{
	struct json_err je;
	int r = json_get_int(&t->c.cni.doc, 0, key, min, max, out, &je);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "%s (%lld to %lld)",
				je.msg, (long long)min, (long long)max);
	return 0;
}

/* vethPrefix (Terway v1) or veth_prefix (Terway now): the name is the
 * prefix and 15 - strlen(prefix) hex digits of the hash, at least 4. */
static int parse_prefix(struct tw *t)
{
	const char *why;
	char name[NL_IFNAMSIZ];

	t->c.prefix = TW_DEFAULT_PREFIX;
	if (opt_str(t, 0, "", "veth_prefix", &t->c.prefix) < 0 ||
	    opt_str(t, 0, "", "vethPrefix", &t->c.prefix) < 0)
		return -EINVAL;
	if (strlen(t->c.prefix) > 11)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "vethPrefix \"%s\": "
				"longer than 11 characters", t->c.prefix);
	snprintf(name, sizeof(name), "%s0000", t->c.prefix);
	if (cni_ifname_check(name, &why) < 0)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "vethPrefix \"%s\": %s",
				t->c.prefix, why);
	return 0;
}

static int parse_host_stack(struct tw *t)
{
	const struct json_doc *d = &t->c.cni.doc;
	const char *s;
	int arr = json_find(d, 0, "host_stack_cidrs"), i;

	if (arr < 0 || json_typeof(d, arr) == JSON_NULL)
		return 0;
	if (json_typeof(d, arr) != JSON_ARRAY)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "host_stack_cidrs: "
				"expected array of CIDRs");
	json_for_each(d, arr, i) {
		struct ipnet *n = &t->c.host_stack[t->c.nhost_stack];

		if (t->c.nhost_stack >= TW_MAX_CIDRS)
			return cni_errf(&t->e, CNI_ERR_CONFIG, "host_stack_"
					"cidrs: more than %d", TW_MAX_CIDRS);
		if (json_as_str(d, i, "host_stack_cidrs", &s, NULL, NULL) < 0 ||
		    ipnet_parse(s, n) < 0 || n->ip.family != AF_INET)
			return cni_errf(&t->e, CNI_ERR_CONFIG, "host_stack_"
					"cidrs: expected IPv4 CIDRs");
		ipnet_mask(n);
		t->c.nhost_stack++;
	}
	return 0;
}

static int parse_ipam(struct tw *t)
{
	const char *type = NULL;
	struct json_err je;
	int ipam, r;

	r = json_get_obj(&t->c.cni.doc, 0, "ipam", &ipam, &je);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || json_typeof(&t->c.cni.doc, ipam) != JSON_OBJECT)
		return cni_errf(&t->e, CNI_ERR_CONFIG, "ipam: expected object");
	if (opt_str(t, ipam, "ipam.", "type", &type) < 0 ||
	    opt_str(t, ipam, "ipam.", "dataDir", &t->c.ipam_dir) < 0)
		return -EINVAL;
	if (type && strcmp(type, "host-local"))
		return cni_errf(&t->e, CNI_ERR_UNSUPPORTED_FIELD, "ipam.type "
				"\"%s\": vpc mode uses the built-in host-local "
				"store (remove the key)", type);
	return 0;
}

/* runtimeConfig.bandwidth (the capability), as the bandwidth plugin
 * checks it; whether the kernel can hold it is checked with the agent's
 * numbers merged in (veth.c). */
static int parse_bandwidth(struct tw *t)
{
	const struct cni_bandwidth *b = &t->c.cni.bandwidth;
	struct bw_limits none = { 0 }, rc = { b->ingress_rate,
		b->ingress_burst, b->egress_rate, b->egress_burst };
	const char *why;

	if (bw_cni_resolve(&none, 0, &rc, b->set, &t->c.bw, &why) == 0)
		return 0;
	if (t->env.cmd == CNI_CMD_DEL || t->env.cmd == CNI_CMD_GC) {
		log_warn("%s ignores the bandwidth config: %s",
			 cni_cmd_name(t->env.cmd), why);
		memset(&t->c.bw, 0, sizeof(t->c.bw));
		return 0;
	}
	return cni_errf(&t->e, CNI_ERR_CONFIG, "bandwidth: %s", why);
}

static int parse_keys(struct tw *t)
{
	int64_t mtu = TW_DEFAULT_MTU, tmo = ENIPROTO_TIMEOUT_MS;

	t->c.socket = ENIPROTO_SOCKET;
	t->c.data_dir = TW_DEFAULT_DATA_DIR;
	if (opt_str(t, 0, "", "socket", &t->c.socket) < 0 ||
	    opt_str(t, 0, "", "dataDir", &t->c.data_dir) < 0 ||
	    opt_int(t, "mtu", 68, 65535, &mtu) < 0 ||
	    opt_int(t, "timeoutMs", 100, 600000, &tmo) < 0 ||
	    parse_prefix(t) < 0 || parse_host_stack(t) < 0 ||
	    parse_ipam(t) < 0 || parse_bandwidth(t) < 0)
		return -EINVAL;
	t->c.mtu = (unsigned int)mtu;
	t->c.timeout_ms = (int)tmo;
	if (t->c.socket[0] != '/')
		return cni_errf(&t->e, CNI_ERR_CONFIG, "socket \"%s\": not an "
				"absolute path", t->c.socket);
	return 0;
}

int tw_conf_load(struct tw *t)
{
	char *in;
	size_t n;

	if (cni_read_stdin(0, &t->a, CNI_STDIN_MAX, &in, &n, &t->e) < 0 ||
	    cni_conf_parse(&t->c.cni, &t->a, in, n, t->env.cmd, &t->e) < 0 ||
	    parse_keys(t) < 0)
		return -EINVAL;
	return 0;
}

void tw_open_pod(struct tw *t, const char *netns, int required)
{
	int fd;

	if (!netns || !*netns) {
		if (!required)
			return;
		cni_errf(&t->e, CNI_ERR_ENV, "CNI_NETNS is required");
		tw_die(t);
	}
	fd = netns_open(netns);
	if (fd < 0) {
		/* DEL, GC: a netns already gone (or a stale mount) is fine */
		if (!required && (fd == -ENOENT || fd == -EINVAL))
			return;
		cni_errf(&t->e, CNI_ERR_ENV, "CNI_NETNS %s: %s", netns,
			 fd == -EINVAL ? "not a network namespace" :
			 strerror(-fd));
		tw_die(t);
	}
	t->nsfd = fd;
	t->pod = calloc(1, sizeof(*t->pod));
	if (!t->pod || nl_open_netns(t->pod, fd) < 0) {
		cni_errf(&t->e, CNI_ERR_PLUGIN, "netlink socket in %s: %s",
			 netns, strerror(errno));
		tw_die(t);
	}
}

void tw_close_pod(struct tw *t)
{
	if (t->pod) {
		nl_close(t->pod);
		free(t->pod);
		t->pod = NULL;
	}
	if (t->nsfd >= 0)
		close(t->nsfd);
	t->nsfd = -1;
}

void tw_open_host(struct tw *t)
{
	t->host = calloc(1, sizeof(*t->host));
	if (!t->host || nl_open(t->host) < 0) {
		cni_errf(&t->e, CNI_ERR_PLUGIN, "netlink socket: %s",
			 strerror(errno));
		tw_die(t);
	}
}

void tw_close(struct tw *t)
{
	tw_close_pod(t);
	if (t->host) {
		nl_close(t->host);
		free(t->host);
		t->host = NULL;
	}
	arena_free_all(&t->a);
}

static void ipam_notice(void *arg, const char *msg)
{
	log_warn("ipam: %s", msg);
}

/* The vpc mode lease store: the state's directory, else the config's. */
int tw_ipam_open(struct tw *t, struct ipam *h)
{
	const char *dir = t->s.ipam_dir[0] ? t->s.ipam_dir : t->c.ipam_dir;

	memset(h, 0, sizeof(*h));
	if (ipam_open(h, dir, t->c.cni.name) < 0)
		return cni_errf(&t->e, CNI_ERR_IO, "lease store: %s", h->err);
	h->notice = ipam_notice;
	return 0;
}
