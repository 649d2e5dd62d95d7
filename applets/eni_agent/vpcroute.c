/* vpc mode, as flannel's ali-vpc backend: a VPC route entry podCIDR ->
 * this instance in the vSwitch's route table (CreateRouteEntry with a
 * ClientToken; an existing entry for us is fine), stale entries that point
 * at this instance removed, and the flannel subnet file written
 * atomically from the node's podCIDR and cluster_cidr, so that cni-flannel
 * runs without flanneld. */
#include <errno.h>
#include <string.h>

#include "sock.h"
#include "subnetenv.h"
#include "worker.h"

#define ROUTE_RETRY_MS	2000

struct entry {
	char cidr[64], status[24], type[24], hop[EA_ID_MAX];
};

static void str_of(const struct json_doc *d, int obj, const char *path,
		   char *dst, size_t cap)
{
	const char *s;
	int i = json_path(d, obj, path);

	dst[0] = '\0';
	if (i >= 0 && json_as_str(d, i, NULL, &s, NULL, NULL) == 0 &&
	    strlen(s) < cap)
		memcpy(dst, s, strlen(s) + 1);
}

static int route_table(struct ea_worker *w)
{
	struct aliyun_param p[] = { { "VSwitchId", w->ag->inst.vsw } };
	int arr;

	if (w->route_table[0])
		return 0;
	if (w->ag->conf.route_table_id[0]) {
		snprintf(w->route_table, sizeof(w->route_table), "%s",
			 w->ag->conf.route_table_id);
		return 0;
	}
	if (ea_api(&w->c, ALIYUN_VPC, "DescribeVSwitches", p, 1) < 0)
		return -EIO;
	arr = json_path(&w->c.doc, 0, "VSwitches.VSwitch");
	str_of(&w->c.doc, json_at(&w->c.doc, arr, 0), "RouteTable."
	       "RouteTableId", w->route_table, sizeof(w->route_table));
	if (!w->route_table[0]) {
		snprintf(w->c.e.message, sizeof(w->c.e.message), "vSwitch %s: "
			 "no route table in DescribeVSwitches; set "
			 "route_table_id", w->ag->inst.vsw);
		return -ENOENT;
	}
	log_info("vpc route table %s", w->route_table);
	return 0;
}

/* Entries of the table whose next hop is this instance. */
static int our_entries(struct ea_worker *w, struct entry *out, int max)
{
	struct aliyun_param p[] = { { "RouteTableId", w->route_table },
				    { "NextHopId", w->ag->inst.id },
				    { "MaxResult", "100" } };
	int arr, i, n = 0;

	if (ea_api(&w->c, ALIYUN_VPC, "DescribeRouteEntryList", p, 3) < 0)
		return -EIO;
	arr = json_path(&w->c.doc, 0, "RouteEntrys.RouteEntry");
	json_for_each(&w->c.doc, arr, i) {
		if (n == max)
			break;
		str_of(&w->c.doc, i, "DestinationCidrBlock", out[n].cidr, 64);
		str_of(&w->c.doc, i, "Status", out[n].status, 24);
		str_of(&w->c.doc, i, "Type", out[n].type, 24);
		str_of(&w->c.doc, json_at(&w->c.doc, json_path(&w->c.doc, i,
			"NextHops.NextHop"), 0), "NextHopId", out[n].hop,
		       EA_ID_MAX);
		if (!out[n].hop[0] || !strcmp(out[n].hop, w->ag->inst.id))
			n++;
	}
	return n;
}

static int create_entry(struct ea_worker *w, const char *cidr)
{
	char token[33];
	struct aliyun_param p[] = {
		{ "RouteTableId", w->route_table },
		{ "DestinationCidrBlock", cidr },
		{ "NextHopType", "Instance" },
		{ "NextHopId", w->ag->inst.id },
		{ "ClientToken", token },
		{ "Description", "vpcnet eni-agent: podCIDR of the node" },
	};
	int rc;

	ea_client_token(token);
	rc = ea_api(&w->c, ALIYUN_VPC, "CreateRouteEntry", p, 6);
	if (rc == 0)
		log_info("vpc route entry %s -> %s created in %s", cidr,
			 w->ag->inst.id, w->route_table);
	return rc;
}

static int delete_entry(struct ea_worker *w, const char *cidr)
{
	struct aliyun_param p[] = {
		{ "RouteTableId", w->route_table },
		{ "DestinationCidrBlock", cidr },
		{ "NextHopId", w->ag->inst.id },
	};
	int rc;

	rc = ea_api(&w->c, ALIYUN_VPC, "DeleteRouteEntry", p, 3);
	if (rc == -EREMOTEIO && !strcmp(w->c.e.code,
					"InvalidRouteEntry.NotFound"))
		rc = 0;
	if (rc == 0)
		log_info("vpc route entry %s -> %s (stale) deleted", cidr,
			 w->ag->inst.id);
	return rc;
}

/* 0 when the table holds exactly podCIDR -> us (stale ones removed). */
static int sync_entries(struct ea_worker *w, const char *want)
{
	struct entry e[64];
	int n, i, have = 0, rc = 0;

	if (route_table(w) < 0)
		return -EIO;
	n = our_entries(w, e, 64);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (!strcmp(e[i].cidr, want))
			have = 1;
		else if (strcmp(e[i].cidr, "0.0.0.0/0") &&
			 strcmp(e[i].type, "System") &&
			 !strcmp(e[i].status, "Available") &&
			 delete_entry(w, e[i].cidr) < 0)
			rc = -EAGAIN;
		else if (strcmp(e[i].status, "Available"))
			rc = -EAGAIN;	/* pending: look again */
	}
	if (!have && create_entry(w, want) < 0 &&
	    strcmp(w->c.e.code, "RouterEntryConflict.Duplicated"))
		return -EIO;
	return have ? rc : -EAGAIN;
}

static void write_subnet(struct ea_worker *w, const struct ipnet *pod)
{
	struct subnetenv se;
	char err[SUBNETENV_ERRLEN], a[IPNET_STRLEN];
	const struct ea_conf *conf = &w->ag->conf;

	if (!conf->subnet_file[0] || (w->subnet_done.ip.family &&
				      w->subnet_done.prefix == pod->prefix &&
				      ip_equal(&w->subnet_done.ip, &pod->ip)))
		return;
	memset(&se, 0, sizeof(se));
	se.networks[0] = conf->cluster_cidr;
	se.nnetworks = 1;
	se.subnet = *pod;
	ipnet_mask(&se.subnet);
	se.mtu = conf->mtu;
	se.ipmasq = conf->ipmasq;
	if (subnetenv_write(conf->subnet_file, &se, err, sizeof(err)) < 0) {
		log_err("subnet file: %s", err);
		return;
	}
	w->subnet_done = *pod;
	log_info("%s written: subnet %s", conf->subnet_file,
		 ipnet_fmt(pod, a));
}

void ea_route_work(struct ea_worker *w)
{
	struct agent *ag = w->ag;
	struct ipnet pod;
	char cidr[IPNET_STRLEN];
	int64_t now = sock_now_ms();
	int rc, ok;

	if (ag->conf.mode != EA_MODE_VPC)
		return;
	ea_lock(ag);
	pod = ag->pod_cidr;
	ok = ag->route_ok;
	ea_unlock(ag);
	if (!pod.ip.family)
		return;
	write_subnet(w, &pod);
	if (!ok || pod.prefix != w->route_done.prefix ||
	    !ip_equal(&pod.ip, &w->route_done.ip)) {
		if (pod.prefix != w->route_done.prefix ||
		    !ip_equal(&pod.ip, &w->route_done.ip))
			w->route_retry_ms = 0;	/* a new podCIDR: now */
		w->route_done = pod;
	}
	if (now < w->route_retry_ms)
		return;
	ipnet_mask(&pod);
	ipnet_fmt(&pod, cidr);
	rc = sync_entries(w, cidr);
	if (rc == -EIO)
		log_warn("vpc route entry %s: %s %s", cidr, w->c.e.code,
			 w->c.e.message);
	ea_lock(ag);
	ag->route_ok = rc == 0;
	ea_unlock(ag);
	w->route_retry_ms = now + (rc == 0 ? ag->conf.pool_sync_ms :
				   ROUTE_RETRY_MS);
}
