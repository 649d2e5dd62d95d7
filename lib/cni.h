/* The CNI contract shared by cni-flannel and cni-terway (spec 0.3.0-1.1.0):
 * CNI_* environment, CNI_ARGS, stdin config, cniVersion negotiation,
 * runtimeConfig, prevResult, GC attachments, and the result, VERSION and
 * error JSON. lib/ code: nothing here prints except to the FILE * it is
 * given, nothing exits. Functions returning int give 0 or -errno and, when
 * they take a struct cni_error, fill it with the spec code and message.
 *
 *	struct arena a; struct cni_env env; struct cni_conf conf;
 *	struct cni_error e; char *in; size_t n;
 *
 *	if (cni_env_read(&env, NULL, &e) < 0 ||
 *	    cni_read_stdin(0, &a, CNI_STDIN_MAX, &in, &n, &e) < 0 ||
 *	    cni_conf_parse(&conf, &a, in, n, env.cmd, &e) < 0) {
 *		cni_error_print(stdout, conf.cni_version, &e);
 *		exit(1);
 *	}
 */
#ifndef VPCNET_CNI_H
#define VPCNET_CNI_H

#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "ip.h"
#include "json.h"

/* ---- errors ------------------------------------------------------------ */

enum cni_code {
	CNI_ERR_VERSION = 1,		/* incompatible CNI version */
	CNI_ERR_UNSUPPORTED_FIELD = 2,	/* msg names key and value */
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_ENV = 4,		/* invalid env vars; msg names them */
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,		/* stdin is not JSON */
	CNI_ERR_CONFIG = 7,		/* invalid network config */
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,	/* STATUS */
	CNI_ERR_LIMITED = 51,		/* STATUS: existing pods degraded */
	CNI_ERR_PLUGIN = 100,		/* ours: generic plugin failure */
};

struct cni_error {
	int code;
	char msg[256];
	char details[512];	/* "" = omitted */
};

/* Set code and message (details cleared); returns -EINVAL for chaining:
 *	return cni_errf(e, CNI_ERR_CONFIG, "mtu %d too small", mtu); */
int cni_errf(struct cni_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cni_err_details(struct cni_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The code for an IP address management error (lib/ipam's -errno): an
 * exhausted pool (-EADDRNOTAVAIL) is "try again later", a store that
 * cannot be written (full, read-only, no access) an I/O error, a bad
 * request a config error, anything else a plugin failure. */
int cni_ipam_code(int err);
/* {"cniVersion","code","msg"[,"details"]} indented like libcni, then '\n'.
 * version NULL -> CNI_VERSION_LATEST. Does not exit. */
void cni_error_print(FILE *f, const char *version, const struct cni_error *e);

/* ---- versions and commands --------------------------------------------- */

#define CNI_VERSION_LATEST "1.1.0"
/* "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL */
extern const char *const cni_versions[];

int cni_version_supported(const char *v);	/* 1 if in cni_versions */
/* Semver compare of "X.Y.Z"; unparsable sorts lowest. <0, 0, >0. */
int cni_version_cmp(const char *a, const char *b);
/* 0, or CNI_ERR_VERSION with libcni's wording:
 * "incompatible CNI versions" / config is "0.2.0", plugin supports [...] */
int cni_version_check(const char *v, struct cni_error *e);
/* {"cniVersion": <input or latest>, "supportedVersions": [...]}\n */
void cni_version_print(FILE *f, const char *input_version);
/* cniVersion of a JSON document (arena string), or NULL. */
const char *cni_version_sniff(struct arena *a, const char *text, size_t len);

enum cni_cmd {
	CNI_CMD_NONE, CNI_CMD_ADD, CNI_CMD_DEL, CNI_CMD_CHECK, CNI_CMD_GC,
	CNI_CMD_STATUS, CNI_CMD_VERSION,
};
enum cni_cmd cni_cmd_parse(const char *s);	/* exact, upper case */
const char *cni_cmd_name(enum cni_cmd c);

/* ---- environment ------------------------------------------------------- */

struct cni_env {
	enum cni_cmd cmd;
	const char *command;	/* CNI_COMMAND as given */
	const char *containerid;	/* NULL when unset or empty */
	const char *netns;
	const char *ifname;
	const char *args;	/* CNI_ARGS, raw */
	const char *path;	/* CNI_PATH, raw ':'-separated */
};

/* Read CNI_* from envp (NULL = environ) and check them per verb, as libcni's
 * skel does: ADD, CHECK need CONTAINERID, NETNS, IFNAME, PATH; DEL the same
 * but NETNS optional; GC needs PATH; STATUS and VERSION only COMMAND.
 * Missing ones are listed together: "required env variables [CNI_NETNS,
 * CNI_IFNAME] missing". CONTAINERID and IFNAME are validated when set.
 * Code 4 on any failure. */
int cni_env_read(struct cni_env *env, char *const *envp,
		 struct cni_error *e);
/* ^[A-Za-z0-9][A-Za-z0-9_.-]*$, at most 255 bytes: 0 or -EINVAL. */
int cni_containerid_check(const char *id);
/* libcni utils.ValidateNetworkName: same pattern as the container ID. */
int cni_netname_check(const char *name);
/* libcni utils.ValidateInterfaceName: non-empty, < 16 bytes, not "." or
 * "..", no '/', ':' or (Unicode) whitespace. 0, or -EINVAL and *why. */
int cni_ifname_check(const char *name, const char **why);

/* ---- CNI_ARGS ---------------------------------------------------------- */

/* Keys Kubernetes runtimes send (containerd, cri-o): */
#define CNI_ARGS_K8S "K8S_POD_NAMESPACE", "K8S_POD_NAME", \
	"K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"

struct cni_kv {
	const char *key, *val;
};

struct cni_args {
	struct cni_kv *kv;	/* every pair, in order (arena) */
	int n;
	int ignore_unknown;
};

/* libcni types.LoadArgs: "K=V;K=V"; "" is no args. A pair without exactly
 * one '=' (including an empty pair from ";;" or a trailing ';') is an
 * error; keys not in 'known' (NULL-terminated; NULL = accept all; the key
 * IgnoreUnknown is always known) are an error unless IgnoreUnknown is
 * 1/true (any case). Code 4. */
int cni_args_parse(struct cni_args *out, struct arena *a, const char *s,
		   const char *const *known, struct cni_error *e);
/* Value of the last pair with this key, or NULL. */
const char *cni_args_get(const struct cni_args *args, const char *key);

/* ---- stdin and network configuration ---------------------------------- */

#define CNI_STDIN_MAX (1u << 20)

/* Read fd to EOF into an arena buffer (NUL-terminated), at most max bytes:
 * code 5 on a read error, code 6 when larger than max. */
int cni_read_stdin(int fd, struct arena *a, size_t max, char **out,
		   size_t *len, struct cni_error *e);

struct cni_bandwidth {
	int set;		/* the object was present */
	uint64_t ingress_rate, ingress_burst;	/* bits/s, bits */
	uint64_t egress_rate, egress_burst;
};

struct cni_attachment {
	const char *containerid, *ifname;
};

struct cni_dns {
	const char **nameservers;
	int n_nameservers;
	const char *domain;	/* NULL = none */
	const char **search;
	int n_search;
	const char **options;
	int n_options;
};

struct cni_iface {
	const char *name;
	const char *mac;	/* NULL = omitted */
	const char *sandbox;	/* NULL = host side */
	int mtu;		/* 0 = omitted; printed for >= 1.1.0 only */
	const char *socket_path, *pci_id;	/* 1.1.0 only; NULL = omit */
};

struct cni_ip {
	struct ipnet address;	/* as assigned: host bits set */
	struct ipaddr gateway;	/* family 0 = none */
	int iface;		/* index into ifaces, -1 = none */
};

struct cni_route {
	struct ipnet dst;
	struct ipaddr gw;	/* family 0 = none */
	int mtu, advmss, priority, table, scope;	/* -1 = unset; 1.1.0 */
};

struct cni_result {
	struct cni_iface *ifaces;
	int n_ifaces;
	struct cni_ip *ips;
	int n_ips;
	struct cni_route *routes;
	int n_routes;
	struct cni_dns dns;
};

struct cni_conf {
	struct json_doc doc;	/* stdin; plugin keys: json_get_*(&doc, 0, ..) */
	const char *cni_version;	/* set as soon as read, even on error */
	const char *name, *type;
	/* runtimeConfig (index -1 when absent) */
	int runtime_config;
	struct cni_bandwidth bandwidth;	/* runtimeConfig.bandwidth */
	struct ipnet *rc_ips;	/* runtimeConfig.ips; no "/": full prefix */
	int n_rc_ips;
	const char *rc_mac;	/* runtimeConfig.mac, validated */
	/* args.cni */
	struct ipnet *args_ips;	/* args.cni.ips */
	int n_args_ips;
	const char *args_mac;	/* args.cni.mac, validated */
	/* dns (well-known key) */
	struct cni_dns dns;
	/* prevResult: parsed, plus its exact source text for copying */
	int prev;		/* token index or -1 */
	struct cni_result prev_result;
	const char *prev_raw;
	size_t prev_raw_len;
	/* GC: cni.dev/valid-attachments, else cni.dev/attachments */
	int has_attachments;
	struct cni_attachment *attachments;
	int n_attachments;
};

/* Parse one plugin's config. Checks, in this order, with these codes:
 * not JSON or not an object 6; cniVersion not a string 7, missing (= 0.1.0)
 * or unsupported 1; GC or STATUS with cniVersion < 1.1.0 1; name missing
 * or invalid 7; type missing 7; a wrong type or bad value in runtimeConfig
 * (bandwidth, ips, mac), args.cni (ips, mac), dns, prevResult or the GC
 * attachments 7 (msg names the key, e.g. "runtimeConfig.bandwidth.
 * ingressRate: expected unsigned integer, got string"). Attachments are
 * read for GC only. Unknown keys are left for the plugin. */
int cni_conf_parse(struct cni_conf *c, struct arena *a, const char *text,
		   size_t len, enum cni_cmd cmd, struct cni_error *e);
/* GC: 1 if (containerid, ifname) is listed as valid. */
int cni_attachment_valid(const struct cni_conf *c, const char *containerid,
			 const char *ifname);
/* Bandwidth keys {ingressRate, ingressBurst, egressRate, egressBurst} of
 * object obj (bandwidth plugin's top level or runtimeConfig.bandwidth). */
int cni_bandwidth_parse(const struct json_doc *d, int obj, const char *what,
			struct cni_bandwidth *bw, struct cni_error *e);
/* {nameservers, domain, search, options} */
int cni_dns_parse(const struct json_doc *d, int obj, const char *what,
		  struct arena *a, struct cni_dns *dns, struct cni_error *e);
/* "aa:bb:cc:dd:ee:ff" (or '-'): 0 or -EINVAL. */
int cni_mac_parse(const char *s, uint8_t mac[6]);

/* A conflist (what runtimes read from /etc/cni/net.d): for tools and
 * tests. cniVersion: the highest supported of cniVersions, else
 * cniVersion. */
struct cni_conflist {
	struct json_doc doc;
	const char *name, *cni_version;
	int plugins;		/* array token */
	int n_plugins;
	int disable_check, disable_gc;
};
int cni_conflist_parse(struct cni_conflist *l, struct arena *a,
		       const char *text, size_t len, struct cni_error *e);
/* The stdin config for plugin n: its object plus name, cniVersion and (if
 * prev_raw) prevResult, and (if runtime_config) runtimeConfig, injected. */
int cni_conflist_plugin(const struct cni_conflist *l, int n,
			const char *runtime_config, const char *prev_raw,
			struct json_w *w);

/* ---- results ----------------------------------------------------------- */

/* Append a zeroed entry (arena grown); ip->iface = -1, route options -1. */
struct cni_iface *cni_result_add_iface(struct cni_result *r,
				       struct arena *a);
struct cni_ip *cni_result_add_ip(struct cni_result *r, struct arena *a);
struct cni_route *cni_result_add_route(struct cni_result *r,
				       struct arena *a);
int cni_strv_add(struct arena *a, const char ***v, int *n, const char *s);

/* prevResult (any of 0.3.0-1.1.0 shapes) at token i. Code 7. */
int cni_result_parse(struct cni_result *r, const struct json_doc *d, int i,
		     struct arena *a, struct cni_error *e);
/* The result in the shape of 'version': 0.3.x/0.4.0 ips[] carry "version"
 * and interfaces no mtu; 1.0.0 no "version"; 1.1.0 adds mtu, socketPath,
 * pciID, and route mtu/advmss/priority/table/scope. Key order as libcni;
 * "dns": {} always present (as libcni prints it). */
void cni_result_write(struct json_w *w, const struct cni_result *r,
		      const char *version);
/* Indented like libcni, then '\n'. -ENOMEM, -EINVAL or -EIO. */
int cni_result_print(FILE *f, const struct cni_result *r,
		     const char *version);

#endif
