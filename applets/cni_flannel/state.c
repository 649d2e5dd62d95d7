/* cni-flannel: the per-container state file, the ADD result, and GC.
 *
 * The state file is what upstream flannel writes to <dataDir>/<cid>: the
 * delegate (bridge) config it built, so a node can go back to upstream and
 * still DEL our pods. We add a "vpcnet" object (ignored by upstream) and
 * name the file <cid>@<ifname> for interfaces other than eth0. It is
 * written atomically (tmp + rename), not fsynced: see lib/fs.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni_flannel.h"
#include "log.h"
#include "statefile.h"

#define STATE_MAX (64 * 1024)

/* "veth" + 8 hex digits of FNV-1a over cid NUL ifname: the same
 * attachment always gets the same host name, so DEL and GC find it. */
void fl_veth_name(const char *cid, const char *ifname, char out[16])
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = cid; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, 16, "veth%08x", h);
}

/* <cid> for eth0, <cid>@<ifname> for the others */
static void state_name(const char *cid, const char *ifname, char *buf,
		       size_t len)
{
	if (!strcmp(ifname, "eth0"))
		snprintf(buf, len, "%s", cid);
	else
		snprintf(buf, len, "%s@%s", cid, ifname);
}

static void state_path(const struct fl *f, const char *cid,
		       const char *ifname, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/", f->c.data_dir);

	if (n > 0 && (size_t)n < len)
		state_name(cid, ifname, buf + n, len - (size_t)n);
}

static void write_delegate(struct fl *f, struct json_w *w)
{
	char buf[IPNET_STRLEN];
	int i;

	json_w_obj_begin(w);
	json_w_kstr(w, "cniVersion", f->c.cni.cni_version);
	json_w_kstr(w, "name", f->c.cni.name);
	json_w_kstr(w, "type", "bridge");
	json_w_kstr(w, "bridge", f->c.bridge);
	json_w_kbool(w, "isGateway", f->c.is_gw);
	json_w_kbool(w, "isDefaultGateway", f->c.is_default_gw);
	json_w_kbool(w, "hairpinMode", f->c.hairpin);
	json_w_kbool(w, "promiscMode", f->c.promisc);
	json_w_kbool(w, "forceAddress", f->c.force_addr);
	json_w_kbool(w, "ipMasq", f->c.ipmasq);
	json_w_ki64(w, "mtu", f->c.mtu);
	json_w_key(w, "ipam");
	json_w_obj_begin(w);
	json_w_kstr(w, "type", "host-local");
	if (f->c.ipam_dir)
		json_w_kstr(w, "dataDir", f->c.ipam_dir);
	json_w_key(w, "ranges");
	json_w_arr_begin(w);
	for (i = 0; i < f->nsets; i++) {
		json_w_arr_begin(w);
		json_w_obj_begin(w);
		json_w_kstr(w, "subnet", ipnet_fmt(&f->sets[i].r[0].subnet,
						   buf));
		json_w_obj_end(w);
		json_w_arr_end(w);
	}
	json_w_arr_end(w);
	json_w_key(w, "routes");
	json_w_arr_begin(w);
	for (i = 0; i < f->c.nroutes; i++) {
		json_w_obj_begin(w);
		json_w_kstr(w, "dst", ipnet_fmt(&f->c.routes[i].dst, buf));
		if (f->c.routes[i].gw.family)
			json_w_kstr(w, "gw", ip_fmt(&f->c.routes[i].gw, buf));
		json_w_obj_end(w);
	}
	json_w_arr_end(w);
	json_w_obj_end(w);
	json_w_key(w, "vpcnet");
	json_w_obj_begin(w);
	json_w_kstr(w, "containerID", f->env.containerid);
	json_w_kstr(w, "ifname", f->env.ifname);
	json_w_kstr(w, "hostVeth", f->host_veth);
	json_w_key(w, "ips");
	json_w_arr_begin(w);
	for (i = 0; i < f->nlease; i++) {
		struct ipnet a = { f->lease[i].ip, f->lease[i].prefix };

		json_w_str(w, ipnet_fmt(&a, buf));
	}
	json_w_arr_end(w);
	json_w_obj_end(w);
	json_w_obj_end(w);
}

int fl_state_write(struct fl *f)
{
	char name[FL_PATH_MAX], err[STATEFILE_ERRLEN];
	struct json_w w;
	const char *text;
	size_t len;

	json_w_init(&w, &f->a, 0);
	write_delegate(f, &w);
	if (json_w_finish(&w, &text, &len) < 0)
		return cni_errf(&f->e, CNI_ERR_PLUGIN, "state: out of memory");
	state_name(f->env.containerid, f->env.ifname, name, sizeof(name));
	if (statefile_write(f->c.data_dir, name, text, len, err,
			    sizeof(err)) < 0)
		return cni_errf(&f->e, CNI_ERR_IO, "%s", err);
	return 0;
}

/* Read a small file into the arena; NULL if missing or unreadable. */
static char *slurp(struct arena *a, const char *path, size_t *len)
{
	char *buf;

	return statefile_read(path, STATE_MAX, a, &buf, len) == 0 ? buf : NULL;
}

/* DEL: the state file tells which lease store the pod used. A missing,
 * empty or corrupt file is not an error (flannel#1662: 0-byte files after
 * a crash left pods stuck in Terminating). */
void fl_state_read(struct fl *f)
{
	char path[FL_PATH_MAX];
	struct json_doc d;
	const char *dir;
	char *text;
	size_t len;

	state_path(f, f->env.containerid, f->env.ifname, path, sizeof(path));
	text = slurp(&f->a, path, &len);
	if (!text)
		return;
	if (json_parse(&d, &f->a, text, len, NULL, NULL) < 0 ||
	    json_typeof(&d, 0) != JSON_OBJECT) {
		log_warn("state file %s is empty or corrupt: ignored", path);
		return;
	}
	if (json_get_str(&d, json_find(&d, 0, "ipam"), "dataDir", &dir,
			 NULL) == 0 && *dir)
		f->c.ipam_dir = dir;
}

void fl_state_remove(struct fl *f)
{
	char path[FL_PATH_MAX], name[FL_PATH_MAX], err[STATEFILE_ERRLEN];

	state_path(f, f->env.containerid, f->env.ifname, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("unlink %s: %s", path, strerror(errno));
	state_name(f->env.containerid, f->env.ifname, name, sizeof(name));
	/* an ADD killed while writing it leaves the temporary; the
	 * attachment's DEL is never concurrent with its ADD */
	if (statefile_remove_tmps(f->c.data_dir, name, err, sizeof(err)) < 0)
		log_warn("%s", err);
}

static void add_iface(struct fl *f, struct cni_result *r, const char *name,
		      struct nl *nl, const char *sandbox)
{
	struct cni_iface *i = cni_result_add_iface(r, &f->a);
	struct nl_link l;
	char *mac;

	if (!i)
		return;
	i->name = arena_strdup(&f->a, name);
	i->sandbox = sandbox;
	if (nl && nl_link_get(nl, name, &l) == 0) {
		mac = arena_alloc(&f->a, NL_MACSTRLEN);
		if (mac && l.mac_len == NL_MACLEN)
			i->mac = nl_mac_fmt(l.mac, mac);
		if (sandbox || strcmp(name, f->c.bridge))
			i->mtu = (int)l.mtu;
	}
}

void fl_print_result(struct fl *f)
{
	struct cni_result r = { 0 };
	int i;

	add_iface(f, &r, f->c.bridge, f->host, NULL);
	add_iface(f, &r, f->host_veth, f->host, NULL);
	add_iface(f, &r, f->env.ifname, f->pod, f->env.netns);
	for (i = 0; i < f->nlease; i++) {
		struct cni_ip *ip = cni_result_add_ip(&r, &f->a);

		if (!ip)
			break;
		ip->address.ip = f->lease[i].ip;
		ip->address.prefix = f->lease[i].prefix;
		ip->gateway = f->lease[i].gateway;
		ip->iface = 2;
	}
	for (i = 0; i < f->c.nroutes; i++) {
		struct cni_route *rt = cni_result_add_route(&r, &f->a);

		if (!rt)
			break;
		rt->dst = f->c.routes[i].dst;
		rt->gw = f->c.routes[i].gw;
	}
	for (i = 0; f->c.is_default_gw && i < f->nlease; i++) {
		struct cni_route *rt = cni_result_add_route(&r, &f->a);

		if (!rt)
			break;
		rt->dst.ip.family = f->lease[i].ip.family;
		rt->gw = f->lease[i].gateway;
	}
	r.dns = f->c.cni.dns;
	if (cni_result_print(stdout, &r, f->c.cni.cni_version) < 0) {
		cni_errf(&f->e, CNI_ERR_IO, "write result: %s",
			 strerror(errno));
		fl_die(f);
	}
}

/* ---- GC ---------------------------------------------------------------- */

struct gc_walk {
	struct fl *f;
	int stale;
};

static int gc_lease(void *arg, const struct ipam_lease *l)
{
	struct gc_walk *g = arg;
	struct fl *f = g->f;
	char veth[16], ifb[16], path[FL_PATH_MAX];

	if (l->status != IPAM_LEASE_OK ||
	    cni_attachment_valid(&f->c.cni, l->cid, l->ifname))
		return 0;
	g->stale++;
	fl_veth_name(l->cid, l->ifname, veth);
	if (nl_link_del_name(f->host, veth) == 0)
		log_info("gc: deleted %s of %s/%s", veth, l->cid, l->ifname);
	tc_ifb_name(f->c.cni.name, l->cid, l->ifname, ifb);
	tc_bw_teardown(f->host, 0, ifb);
	state_path(f, l->cid, l->ifname, path, sizeof(path));
	unlink(path);
	return 0;
}

/* State files of this network whose attachment is not valid, and their
 * complete temporaries (GC runs with no ADD in flight). */
static void gc_state_file(struct fl *f, const char *file)
{
	char path[FL_PATH_MAX], cid[256], *at;
	const char *name, *ifname;
	struct json_doc d;
	struct arena a;
	size_t len;
	char *text;

	if (statefile_tmp_target(file, cid, sizeof(cid)) < 0) {
		if (file[0] == '.' || strlen(file) >= sizeof(cid))
			return;
		strcpy(cid, file);
	}
	at = strchr(cid, '@');
	ifname = at ? at + 1 : "eth0";
	if (at)
		*at = 0;
	snprintf(path, sizeof(path), "%s/%s", f->c.data_dir, file);
	arena_init(&a);
	text = slurp(&a, path, &len);
	if (text && json_parse(&d, &a, text, len, NULL, NULL) == 0 &&
	    json_get_str(&d, 0, "name", &name, NULL) == 0 &&
	    !strcmp(name, f->c.cni.name) &&
	    !cni_attachment_valid(&f->c.cni, cid, ifname) && unlink(path) == 0)
		log_info("gc: removed state %s", path);
	arena_free_all(&a);
}

static void gc_state_files(struct fl *f)
{
	struct dirent *de;
	DIR *dir = opendir(f->c.data_dir);

	while (dir && (de = readdir(dir)))
		gc_state_file(f, de->d_name);
	if (dir)
		closedir(dir);
}

void fl_gc(struct fl *f, struct ipam *h)
{
	struct ipam_attachment *valid;
	struct gc_walk g = { f, 0 };
	int i, n = f->c.cni.n_attachments, r;

	ipam_list(h, gc_lease, &g);
	valid = arena_alloc(&f->a, sizeof(*valid) * (size_t)(n + 1));
	if (!valid) {
		cni_errf(&f->e, CNI_ERR_PLUGIN, "gc: out of memory");
		fl_die(f);
	}
	for (i = 0; i < n; i++) {
		valid[i].cid = f->c.cni.attachments[i].containerid;
		valid[i].ifname = f->c.cni.attachments[i].ifname;
	}
	r = ipam_gc(h, valid, n);
	if (r < 0)
		log_warn("gc: lease store: %s", h->err);
	else if (r > 0)
		log_info("gc: released %d leases", r);
	gc_state_files(f);
}
