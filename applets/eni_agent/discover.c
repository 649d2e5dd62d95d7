/* Who we are, from the metadata service: instance-id, instance type,
 * region, zone, VPC, vSwitch, primary MAC and IP, the vSwitch gateway;
 * then the credentials, the ENI quotas of the instance type
 * (DescribeInstanceTypes), the security groups of new ENIs (configured,
 * else the primary ENI's), and the vSwitches new ENIs may use (configured
 * for our zone, else the instance's). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "worker.h"

static int meta_str(struct ea_worker *w, const char *path, char *dst,
		    size_t cap, char *err, size_t errlen)
{
	char buf[512];
	int rc;

	rc = ea_meta(&w->c, path, buf, sizeof(buf));
	if (rc < 0) {
		snprintf(err, errlen, "metadata %s: %s", path,
			 rc == -ENOENT ? "not found" : w->c.meta.err);
		return rc;
	}
	if (strlen(buf) >= cap) {
		snprintf(err, errlen, "metadata %s: value too long", path);
		return -EINVAL;
	}
	memcpy(dst, buf, strlen(buf) + 1);
	return 0;
}

/* The gateway and CIDR of the vSwitch behind an attached ENI's MAC,
 * cached by vSwitch. */
int ea_vsw_net(struct ea_worker *w, const char *vsw, const char *mac,
	       struct ipnet *cidr, struct ipaddr *gw, char *err,
	       size_t errlen)
{
	char path[128], s[64];
	int i, rc;

	for (i = 0; i < w->nnet; i++)
		if (!strcmp(w->net[i].vsw, vsw)) {
			*cidr = w->net[i].cidr;
			*gw = w->net[i].gw;
			return 0;
		}
	snprintf(path, sizeof(path), "network/interfaces/macs/%s/gateway", mac);
	rc = meta_str(w, path, s, sizeof(s), err, errlen);
	if (rc == 0 && (ip_parse(s, gw) < 0 || gw->family != AF_INET))
		rc = -EINVAL;
	snprintf(path, sizeof(path), "network/interfaces/macs/%s/"
		 "vswitch-cidr-block", mac);
	if (rc == 0)
		rc = meta_str(w, path, s, sizeof(s), err, errlen);
	if (rc == 0 && (ipnet_parse(s, cidr) < 0 ||
			cidr->ip.family != AF_INET))
		rc = -EINVAL;
	if (rc == -EINVAL)
		snprintf(err, errlen, "metadata %s: bad value '%s'", path, s);
	if (rc == 0 && w->nnet < (int)(sizeof(w->net) / sizeof(w->net[0]))) {
		snprintf(w->net[w->nnet].vsw, EA_ID_MAX, "%s", vsw);
		w->net[w->nnet].cidr = *cidr;
		w->net[w->nnet++].gw = *gw;
	}
	return rc;
}

static int instance(struct ea_worker *w, struct ea_instance *in, char *err,
		    size_t errlen)
{
	char ip[64];
	int rc;

	memset(in, 0, sizeof(*in));
	if ((rc = meta_str(w, "instance-id", in->id, sizeof(in->id), err,
			   errlen)) ||
	    (rc = meta_str(w, "instance/instance-type", in->type,
			   sizeof(in->type), err, errlen)) ||
	    (rc = meta_str(w, "region-id", in->region, sizeof(in->region),
			   err, errlen)) ||
	    (rc = meta_str(w, "zone-id", in->zone, sizeof(in->zone), err,
			   errlen)) ||
	    (rc = meta_str(w, "vpc-id", in->vpc, sizeof(in->vpc), err,
			   errlen)) ||
	    (rc = meta_str(w, "vswitch-id", in->vsw, sizeof(in->vsw), err,
			   errlen)) ||
	    (rc = meta_str(w, "mac", in->mac, sizeof(in->mac), err, errlen)) ||
	    (rc = meta_str(w, "private-ipv4", ip, sizeof(ip), err, errlen)))
		return rc;
	if (inet_pton(AF_INET, ip, &in->primary_ip) != 1) {
		snprintf(err, errlen, "metadata private-ipv4: bad value '%s'",
			 ip);
		return -EINVAL;
	}
	return ea_vsw_net(w, in->vsw, in->mac, &in->vsw_cidr, &in->gw, err,
			  errlen);
}

static int api_fail(struct ea_worker *w, const char *what, char *err,
		    size_t errlen)
{
	snprintf(err, errlen, "%s: %s%s%s", what, w->c.e.code,
		 w->c.e.code[0] ? ": " : "", w->c.e.message);
	return -EIO;
}

static int primary_sgs(void *arg, const struct ea_ceni *e)
{
	struct agent *ag = arg;
	int i;

	for (i = 0; i < e->nsg; i++)
		snprintf(ag->sg[i], EA_ID_MAX, "%s", e->sg[i]);
	ag->nsg = e->nsg;
	return 1;
}

static int security_groups(struct ea_worker *w, char *err, size_t errlen)
{
	struct agent *ag = w->ag;
	struct aliyun_param f[] = { { "InstanceId", ag->inst.id },
				    { "Type", "Primary" } };
	int i, rc;

	if (ag->conf.nsg) {
		for (i = 0; i < ag->conf.nsg; i++)
			snprintf(ag->sg[i], EA_ID_MAX, "%s", ag->conf.sg[i]);
		ag->nsg = ag->conf.nsg;
		return 0;
	}
	rc = ea_describe_enis(&w->c, f, 2, primary_sgs, ag);
	if (rc < 0)
		return api_fail(w, "DescribeNetworkInterfaces (primary ENI)",
				err, errlen);
	if (!ag->nsg) {
		snprintf(err, errlen, "no security group: the primary ENI has "
			 "none; set security_groups");
		return -ENOENT;
	}
	return 0;
}

static void vswitches(struct ea_worker *w)
{
	const struct ea_conf *conf = &w->ag->conf;
	int i;

	w->nvsw = 0;
	for (i = 0; i < conf->nvsw; i++)
		if (!strcmp(conf->vsw[i].zone, w->ag->inst.zone))
			snprintf(w->vsw[w->nvsw++].id, EA_ID_MAX, "%s",
				 conf->vsw[i].id);
	if (conf->nvsw && !w->nvsw)
		log_warn("vswitches: none for zone %s: using the instance's "
			 "vSwitch %s", w->ag->inst.zone, w->ag->inst.vsw);
	if (!w->nvsw)
		snprintf(w->vsw[w->nvsw++].id, EA_ID_MAX, "%s",
			 w->ag->inst.vsw);
}

static void set_quota(struct ea_worker *w, int enis, int ips)
{
	struct agent *ag = w->ag;
	struct ea_pool *p = &ag->pool;

	if (ag->conf.max_eni && ag->conf.max_eni + 1 < enis)
		enis = ag->conf.max_eni + 1;
	ea_lock(ag);
	p->eni_quota = enis;
	p->ips_per_eni = ips;
	p->quota_known = 1;
	p->min = ag->conf.min_pool;
	p->max = ag->conf.max_pool;
	if (ag->conf.mode == EA_MODE_VPC)	/* pods take podCIDR IPs */
		p->min = p->max = 0;
	ea_plan_clamp(ea_plan_capacity(enis, 0, ips), &p->min, &p->max);
	ea_unlock(ag);
	log_info("instance %s (%s, %s): %d ENIs x %d IPs; pool min %d max %d",
		 ag->inst.id, ag->inst.type, ag->inst.zone, enis, ips, p->min,
		 p->max);
}

int ea_discover(struct ea_worker *w, char *err, size_t errlen)
{
	struct agent *ag = w->ag;
	struct ea_instance in;
	int rc, enis = 0, ips = 0;

	rc = instance(w, &in, err, errlen);
	if (rc < 0)
		return rc;
	if (ag->conf.region[0] && strcmp(ag->conf.region, in.region))
		log_warn("region_id %s differs from the instance's region %s",
			 ag->conf.region, in.region);
	if (!w->c.cl.region[0])
		snprintf(w->c.cl.region, sizeof(w->c.cl.region), "%s",
			 in.region);
	ea_lock(ag);
	ag->inst = in;
	ea_unlock(ag);
	rc = ea_cloud_creds(&w->c, 1);
	if (rc < 0) {
		snprintf(err, errlen, "credentials: %s", w->c.err);
		return rc;
	}
	if (ea_instance_type(&w->c, in.type, &enis, &ips) < 0)
		return api_fail(w, "DescribeInstanceTypes", err, errlen);
	set_quota(w, enis, ips);
	rc = security_groups(w, err, errlen);
	if (rc < 0)
		return rc;
	vswitches(w);
	return 0;
}
