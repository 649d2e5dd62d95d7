/* cni-terway: host veth names, the per-attachment state file, the result.
 *
 * The state file <dataDir>/<cid>@<ifname> (0600, written atomically with
 * lib/statefile) records everything DEL, CHECK and GC need without asking
 * the agent: the mode, the pod address, the host veth (name and ifindex,
 * so a veth of the same name made later for another sandbox of the pod is
 * never deleted), the ENI (MAC, host name, MTU), the route table, the
 * bandwidth applied, and whether a release to the agent is still owed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bearssl.h>

#include "cni_terway.h"
#include "log.h"
#include "statefile.h"

/* Terway's VethNameForPod: prefix + hex(sha1(ns "." pod [ifname if not
 * eth0])), cut to 15 characters (11 digits with "cali"). */
void tw_veth_name(const char *prefix, const char *ns, const char *pod,
		  const char *ifname, char out[NL_IFNAMSIZ])
{
	static const char hex[] = "0123456789abcdef";
	br_sha1_context c;
	uint8_t h[br_sha1_SIZE];
	size_t n = strlen(prefix), i;

	br_sha1_init(&c);
	br_sha1_update(&c, ns, strlen(ns));
	br_sha1_update(&c, ".", 1);
	br_sha1_update(&c, pod, strlen(pod));
	if (strcmp(ifname, "eth0"))
		br_sha1_update(&c, ifname, strlen(ifname));
	br_sha1_out(&c, h);
	memcpy(out, prefix, n);
	for (i = 0; n + i < NL_IFNAMSIZ - 1; i++)
		out[n + i] = hex[(h[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[NL_IFNAMSIZ - 1] = 0;
}

static void state_name(const char *cid, const char *ifname, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%s@%s", cid, ifname);
}

static void kbw(struct json_w *w, const struct bw_limits *b)
{
	if (!b->ingress_rate && !b->egress_rate)
		return;
	json_w_key(w, "bandwidth");
	json_w_obj_begin(w);
	json_w_ku64(w, "ingressRate", b->ingress_rate);
	json_w_ku64(w, "ingressBurst", b->ingress_burst);
	json_w_ku64(w, "egressRate", b->egress_rate);
	json_w_ku64(w, "egressBurst", b->egress_burst);
	json_w_obj_end(w);
}

static void keni(struct json_w *w, const struct tw_state *s)
{
	char mac[NL_MACSTRLEN];

	if (!s->eni.has_mac)
		return;
	json_w_key(w, "eni");
	json_w_obj_begin(w);
	if (s->eni.id[0])
		json_w_kstr(w, "id", s->eni.id);
	json_w_kstr(w, "mac", nl_mac_fmt(s->eni.mac, mac));
	if (s->eni_name[0])
		json_w_kstr(w, "hostName", s->eni_name);
	if (s->eni_mtu)
		json_w_ki64(w, "hostMTU", s->eni_mtu);
	json_w_obj_end(w);
}

static void write_state(struct tw *t, struct json_w *w)
{
	const struct tw_state *s = &t->s;
	char buf[IPNET_STRLEN];

	json_w_obj_begin(w);
	json_w_kstr(w, "cniVersion", t->c.cni.cni_version);
	json_w_kstr(w, "name", t->c.cni.name);
	json_w_kstr(w, "containerID", s->cid);
	json_w_kstr(w, "ifname", s->ifname);
	json_w_kstr(w, "netns", s->netns);
	json_w_kstr(w, "namespace", s->k8s_ns);
	json_w_kstr(w, "pod", s->k8s_name);
	if (s->mode)
		json_w_kstr(w, "mode", eniproto_mode_name(s->mode));
	if (s->ip.ip.family)
		json_w_kstr(w, "ip", ipnet_fmt(&s->ip, buf));
	if (s->gw.family)
		json_w_kstr(w, "gateway", ip_fmt(&s->gw, buf));
	if (s->table)
		json_w_ku64(w, "table", s->table);
	if (s->host_veth[0])
		json_w_kstr(w, "hostVeth", s->host_veth);
	if (s->host_index)
		json_w_ki64(w, "hostIndex", s->host_index);
	if (s->ifb[0])
		json_w_kstr(w, "ifb", s->ifb);
	keni(w, s);
	if (s->ipam_dir[0])
		json_w_kstr(w, "ipamDataDir", s->ipam_dir);
	kbw(w, &s->bw);
	json_w_kbool(w, "releasePending", s->pending);
	json_w_obj_end(w);
}

int tw_state_write(struct tw *t)
{
	char name[ENIPROTO_CID_MAX + NL_IFNAMSIZ + 1], err[STATEFILE_ERRLEN];
	struct json_w w;
	const char *text;
	size_t len;

	json_w_init(&w, &t->a, 0);
	write_state(t, &w);
	if (json_w_finish(&w, &text, &len) < 0)
		return cni_errf(&t->e, CNI_ERR_PLUGIN, "state: out of memory");
	state_name(t->s.cid, t->s.ifname, name, sizeof(name));
	if (statefile_write(t->c.data_dir, name, text, len, err,
			    sizeof(err)) < 0)
		return cni_errf(&t->e, CNI_ERR_IO, "%s", err);
	return 0;
}

/* A string member into a fixed buffer: absent is "", too long fails. */
static int sget(const struct json_doc *d, int obj, const char *key,
		char *out, size_t size)
{
	const char *v;

	out[0] = 0;
	if (json_get_str(d, obj, key, &v, NULL) < 0)
		return json_find(d, obj, key) < 0 ? 0 : -EINVAL;
	if (strlen(v) >= size)
		return -EINVAL;
	strcpy(out, v);
	return 0;
}

static int read_eni(const struct json_doc *d, struct tw_state *s)
{
	char mac[NL_MACSTRLEN + 1];
	int64_t mtu = 0;
	int e = json_find(d, 0, "eni");

	if (e < 0)
		return 0;
	if (sget(d, e, "mac", mac, sizeof(mac)) < 0 ||
	    nl_mac_parse(mac, s->eni.mac) < 0 ||
	    sget(d, e, "id", s->eni.id, sizeof(s->eni.id)) < 0 ||
	    sget(d, e, "hostName", s->eni_name, sizeof(s->eni_name)) < 0)
		return -EINVAL;
	s->eni.has_mac = 1;
	json_get_int(d, e, "hostMTU", 0, 65535, &mtu, NULL);
	s->eni_mtu = (unsigned int)mtu;
	return 0;
}

static int read_state(const struct json_doc *d, struct tw_state *s)
{
	char mode[16] = "", ip[IPNET_STRLEN], gw[IP_STRLEN];
	int64_t v = 0;
	int b = json_find(d, 0, "bandwidth");

	memset(s, 0, sizeof(*s));
	if (sget(d, 0, "containerID", s->cid, sizeof(s->cid)) < 0 ||
	    sget(d, 0, "ifname", s->ifname, sizeof(s->ifname)) < 0 ||
	    sget(d, 0, "netns", s->netns, sizeof(s->netns)) < 0 ||
	    sget(d, 0, "namespace", s->k8s_ns, sizeof(s->k8s_ns)) < 0 ||
	    sget(d, 0, "pod", s->k8s_name, sizeof(s->k8s_name)) < 0 ||
	    sget(d, 0, "mode", mode, sizeof(mode)) < 0 ||
	    sget(d, 0, "ip", ip, sizeof(ip)) < 0 ||
	    sget(d, 0, "gateway", gw, sizeof(gw)) < 0 ||
	    sget(d, 0, "hostVeth", s->host_veth, sizeof(s->host_veth)) < 0 ||
	    sget(d, 0, "ifb", s->ifb, sizeof(s->ifb)) < 0 ||
	    sget(d, 0, "ipamDataDir", s->ipam_dir, sizeof(s->ipam_dir)) < 0 ||
	    read_eni(d, s) < 0 || !s->cid[0] || !s->ifname[0])
		return -EINVAL;
	s->mode = eniproto_mode_parse(mode);
	if ((mode[0] && !s->mode) || (ip[0] && ipnet_parse(ip, &s->ip) < 0) ||
	    (gw[0] && ip_parse(gw, &s->gw) < 0))
		return -EINVAL;
	if (json_get_int(d, 0, "table", 0, UINT32_MAX, &v, NULL) == 0)
		s->table = (uint32_t)v;
	if (json_get_int(d, 0, "hostIndex", 0, INT32_MAX, &v, NULL) == 0)
		s->host_index = (int)v;
	json_get_bool(d, 0, "releasePending", &s->pending, NULL);
	if (b >= 0) {
		json_get_u64(d, b, "ingressRate", &s->bw.ingress_rate, NULL);
		json_get_u64(d, b, "ingressBurst", &s->bw.ingress_burst, NULL);
		json_get_u64(d, b, "egressRate", &s->bw.egress_rate, NULL);
		json_get_u64(d, b, "egressBurst", &s->bw.egress_burst, NULL);
	}
	return 0;
}

int tw_state_read_file(struct tw *t, const char *path)
{
	struct json_doc d;
	char *text;
	size_t len;
	int r;

	r = statefile_read(path, TW_STATE_MAX, &t->a, &text, &len);
	if (r == -ENOENT)
		return r;
	if (r == 0 && json_parse(&d, &t->a, text, len, NULL, NULL) == 0 &&
	    json_typeof(&d, 0) == JSON_OBJECT && read_state(&d, &t->s) == 0)
		return 0;
	log_warn("state file %s is empty or corrupt: ignored", path);
	memset(&t->s, 0, sizeof(t->s));
	return -EINVAL;
}

int tw_state_read(struct tw *t, const char *cid, const char *ifname)
{
	char path[PATH_MAX], name[ENIPROTO_CID_MAX + NL_IFNAMSIZ + 1];

	state_name(cid, ifname, name, sizeof(name));
	if (snprintf(path, sizeof(path), "%s/%s", t->c.data_dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return tw_state_read_file(t, path);
}

void tw_state_remove(struct tw *t)
{
	char path[PATH_MAX], name[ENIPROTO_CID_MAX + NL_IFNAMSIZ + 1],
	     err[STATEFILE_ERRLEN];

	state_name(t->s.cid, t->s.ifname, name, sizeof(name));
	if (snprintf(path, sizeof(path), "%s/%s", t->c.data_dir, name) <
	    (int)sizeof(path) && unlink(path) < 0 && errno != ENOENT)
		log_warn("unlink %s: %s", path, strerror(errno));
	/* an ADD killed while writing it leaves the temporary; the
	 * attachment's DEL is never concurrent with its ADD */
	if (statefile_remove_tmps(t->c.data_dir, name, err, sizeof(err)) < 0)
		log_warn("%s", err);
}

static int add_iface(struct tw *t, struct cni_result *r, const char *name,
		     struct nl *nl, const char *sandbox)
{
	struct cni_iface *i = cni_result_add_iface(r, &t->a);
	struct nl_link l;
	char *mac;

	if (!i)
		return -1;
	i->name = arena_strdup(&t->a, name);
	i->sandbox = sandbox;
	if (nl && nl_link_get(nl, name, &l) == 0) {
		mac = arena_alloc(&t->a, NL_MACSTRLEN);
		if (mac && l.mac_len == NL_MACLEN)
			i->mac = nl_mac_fmt(l.mac, mac);
		i->mtu = (int)l.mtu;
	}
	return r->n_ifaces - 1;
}

void tw_print_result(struct tw *t)
{
	struct cni_result r = { 0 };
	struct cni_route *rt;
	struct cni_ip *ip;
	int pif;

	if (t->s.host_index)	/* none for an ENI pod's other interfaces */
		add_iface(t, &r, t->s.host_veth, t->host, NULL);
	pif = add_iface(t, &r, t->s.ifname, t->pod, t->env.netns);
	if (t->s.mode == ENIPROTO_MODE_ENI && !strcmp(t->s.ifname, "eth0"))
		add_iface(t, &r, TW_HOST_PEER, t->pod, t->env.netns);
	ip = cni_result_add_ip(&r, &t->a);
	rt = cni_result_add_route(&r, &t->a);
	if (!ip || !rt) {
		cni_errf(&t->e, CNI_ERR_PLUGIN, "result: out of memory");
		tw_die(t);
	}
	ip->address = t->s.ip;
	ip->gateway = t->s.gw;
	ip->iface = pif;
	rt->dst.ip.family = AF_INET;
	rt->gw = t->s.gw;
	r.dns = t->c.cni.dns;
	if (cni_result_print(stdout, &r, t->c.cni.cni_version) < 0) {
		cni_errf(&t->e, CNI_ERR_IO, "write result: %s",
			 strerror(errno));
		tw_die(t);
	}
}
