/* ENI operations over the OpenAPI (ECS 2014-05-26): describe, create
 * (tagged, ClientToken), attach and wait for InUse, assign and unassign
 * secondary IPs, detach and delete; vSwitch free counts; instance type
 * quotas.  Errors that mean "already done" on a retry after a lost reply
 * count as success (InvalidIp.IpUnassigned, InvalidEniId.NotFound on
 * delete, an ENI already Attaching/Detaching). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cloud.h"
#include "sock.h"

#define POLL_FIRST_MS	200
#define EA_ENI_DESCRIPTION "interface create by vpcnet eni-agent"
#define POLL_MAX_MS	2000

static void str_of(const struct json_doc *d, int obj, const char *key,
		   char *dst, size_t cap)
{
	const char *s;

	if (json_get_str(d, obj, key, &s, NULL) < 0 || strlen(s) >= cap)
		dst[0] = '\0';
	else
		memcpy(dst, s, strlen(s) + 1);
}

static void parse_ips(const struct json_doc *d, int obj, struct ea_ceni *o)
{
	const char *s;
	int arr, i, prim;
	struct in_addr a;

	arr = json_path(d, obj, "PrivateIpSets.PrivateIpSet");
	if (json_typeof(d, arr) != JSON_ARRAY)
		return;
	json_for_each(d, arr, i) {
		prim = 0;
		if (json_get_str(d, i, "PrivateIpAddress", &s, NULL) < 0 ||
		    inet_pton(AF_INET, s, &a) != 1)
			continue;
		json_get_bool(d, i, "Primary", &prim, NULL);
		if (prim || a.s_addr == o->primary.s_addr)
			continue;
		if (o->nips < EA_MAX_ENI_IPS)
			o->ip[o->nips++] = a;
	}
}

static void parse_tags(const struct json_doc *d, int obj, struct ea_ceni *o)
{
	char k[128], v[128];
	int arr, i;

	arr = json_path(d, obj, "Tags.Tag");
	if (json_typeof(d, arr) != JSON_ARRAY)
		return;
	json_for_each(d, arr, i) {
		str_of(d, i, "TagKey", k, sizeof(k));
		if (!k[0])
			str_of(d, i, "Key", k, sizeof(k));
		str_of(d, i, "TagValue", v, sizeof(v));
		if (!v[0])
			str_of(d, i, "Value", v, sizeof(v));
		if (!strcmp(k, EA_TAG_CREATOR) && !strcmp(v, EA_TAG_CREATOR_V))
			o->ours = 1;
		else if (!strcmp(k, EA_TAG_INSTANCE))
			snprintf(o->tag_instance, sizeof(o->tag_instance),
				 "%.63s", v);
		else if (!strcmp(k, EA_TAG_MODE) && !strcmp(v, "eni"))
			o->exclusive = 1;
	}
}

int ea_ceni_parse(const struct json_doc *d, int obj, struct ea_ceni *o)
{
	char ip[INET_ADDRSTRLEN];
	int arr, i;

	memset(o, 0, sizeof(*o));
	str_of(d, obj, "NetworkInterfaceId", o->id, sizeof(o->id));
	if (!o->id[0])
		return -EBADMSG;
	str_of(d, obj, "MacAddress", o->mac, sizeof(o->mac));
	for (i = 0; o->mac[i]; i++)
		if (o->mac[i] >= 'A' && o->mac[i] <= 'F')
			o->mac[i] = (char)(o->mac[i] - 'A' + 'a');
	str_of(d, obj, "VSwitchId", o->vsw, sizeof(o->vsw));
	str_of(d, obj, "Status", o->status, sizeof(o->status));
	str_of(d, obj, "Type", o->type, sizeof(o->type));
	str_of(d, obj, "InstanceId", o->instance, sizeof(o->instance));
	str_of(d, obj, "ZoneId", o->zone, sizeof(o->zone));
	str_of(d, obj, "PrivateIpAddress", ip, sizeof(ip));
	if (inet_pton(AF_INET, ip, &o->primary) != 1)
		o->primary.s_addr = 0;
	parse_ips(d, obj, o);
	parse_tags(d, obj, o);
	arr = json_path(d, obj, "SecurityGroupIds.SecurityGroupId");
	json_for_each(d, arr, i) {
		const char *s;

		if (o->nsg < EA_MAX_SG &&
		    json_as_str(d, i, NULL, &s, NULL, NULL) == 0 &&
		    strlen(s) < EA_ID_MAX)
			snprintf(o->sg[o->nsg++], EA_ID_MAX, "%s", s);
	}
	return 0;
}

/* One page; *next gets NextToken ("" at the end). */
static int describe_page(struct ea_cloud *c, const struct aliyun_param *f,
			 size_t nf, const char *token, char *next,
			 size_t nextlen, ea_ceni_fn fn, void *arg)
{
	struct aliyun_param p[24];
	struct ea_ceni e;
	size_t n = 0, i;
	int arr, k, rc;

	for (i = 0; i < nf && n < 22; i++)
		p[n++] = f[i];
	p[n++] = (struct aliyun_param){ "MaxResults", "100" };
	if (token[0])
		p[n++] = (struct aliyun_param){ "NextToken", token };
	rc = ea_api(c, ALIYUN_ECS, "DescribeNetworkInterfaces", p, n);
	if (rc < 0)
		return rc;
	str_of(&c->doc, 0, "NextToken", next, nextlen);
	arr = json_path(&c->doc, 0, "NetworkInterfaceSets.NetworkInterfaceSet");
	json_for_each(&c->doc, arr, k) {
		if (ea_ceni_parse(&c->doc, k, &e) < 0)
			continue;
		rc = fn(arg, &e);
		if (rc)
			return rc;
	}
	return 0;
}

int ea_describe_enis(struct ea_cloud *c, const struct aliyun_param *f,
		     size_t nf, ea_ceni_fn fn, void *arg)
{
	char token[256] = "", next[256];
	int rc, pages = 0;

	do {
		rc = describe_page(c, f, nf, token, next, sizeof(next), fn,
				   arg);
		if (rc)
			return rc;
		memcpy(token, next, sizeof(token));
	} while (token[0] && ++pages < 100);
	return 0;
}

static int copy_one(void *arg, const struct ea_ceni *e)
{
	*(struct ea_ceni *)arg = *e;
	return 1;
}

int ea_describe_eni(struct ea_cloud *c, const char *eni, struct ea_ceni *out)
{
	char id[EA_ID_MAX];	/* eni may point into *out */
	struct aliyun_param f[] = { { "NetworkInterfaceId.1", id } };
	int rc;

	snprintf(id, sizeof(id), "%s", eni);

	out->id[0] = '\0';
	rc = ea_describe_enis(c, f, 1, copy_one, out);
	if (rc < 0)
		return rc;
	return out->id[0] ? 0 : -ENOENT;
}

static void add_tags(struct ea_cloud *c, int exclusive,
		     struct aliyun_param *p, size_t *n, char (*kb)[24])
{
	const struct ea_conf *conf = &c->ag->conf;
	const char *k, *v;
	int i;

	for (i = 0; i < conf->ntags + 3; i++) {
		if (i < conf->ntags) {
			k = conf->tags[i].key;
			v = conf->tags[i].value;
		} else if (i == conf->ntags) {
			k = EA_TAG_CREATOR;
			v = EA_TAG_CREATOR_V;
		} else if (i == conf->ntags + 1) {
			k = EA_TAG_INSTANCE;
			v = c->ag->inst.id;
		} else {
			k = EA_TAG_MODE;
			v = exclusive ? "eni" : "eniip";
		}
		snprintf(kb[2 * i], 24, "Tag.%d.Key", i + 1);
		snprintf(kb[2 * i + 1], 24, "Tag.%d.Value", i + 1);
		p[(*n)++] = (struct aliyun_param){ kb[2 * i], k };
		p[(*n)++] = (struct aliyun_param){ kb[2 * i + 1], v };
	}
}

int ea_create_eni(struct ea_cloud *c, const char *vsw, int secondary,
		  int exclusive, struct ea_ceni *out)
{
	struct aliyun_param p[8 + EA_MAX_SG + 2 * EA_MAX_TAGS];
	char kb[2 * EA_MAX_TAGS + EA_MAX_SG][24], count[16], token[33];
	size_t n = 0;
	int i, rc;

	ea_client_token(token);
	snprintf(count, sizeof(count), "%d", secondary);
	p[n++] = (struct aliyun_param){ "VSwitchId", vsw };
	p[n++] = (struct aliyun_param){ "InstanceType", "Secondary" };
	p[n++] = (struct aliyun_param){ "Description", EA_ENI_DESCRIPTION };
	p[n++] = (struct aliyun_param){ "ClientToken", token };
	if (secondary > 0)
		p[n++] = (struct aliyun_param){
			"SecondaryPrivateIpAddressCount", count };
	for (i = 0; i < c->ag->nsg; i++) {
		snprintf(kb[2 * EA_MAX_TAGS + i], 24, "SecurityGroupIds.%d",
			 i + 1);
		p[n++] = (struct aliyun_param){ kb[2 * EA_MAX_TAGS + i],
						c->ag->sg[i] };
	}
	add_tags(c, exclusive, p, &n, kb);
	rc = ea_api(c, ALIYUN_ECS, "CreateNetworkInterface", p, n);
	if (rc < 0)
		return rc;
	rc = ea_ceni_parse(&c->doc, 0, out);
	if (rc < 0)
		snprintf(c->e.message, sizeof(c->e.message), "CreateNetwork"
			 "Interface: no NetworkInterfaceId in the reply");
	return rc;
}

static void nap(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Describe until status, bounded. */
int ea_wait_eni(struct ea_cloud *c, const char *id, const char *want,
		       int timeout_ms, struct ea_ceni *out)
{
	int64_t end = sock_now_ms() + timeout_ms, delay = POLL_FIRST_MS;
	int rc;

	for (;;) {
		rc = ea_describe_eni(c, id, out);
		if (rc == -ENOENT)
			return rc;
		if (rc == 0 && !strcmp(out->status, want))
			return 0;
		if (sock_now_ms() + delay > end) {
			snprintf(c->e.message, sizeof(c->e.message), "ENI %s "
				 "still %s after %d ms, want %s", id,
				 rc == 0 ? out->status : "unknown", timeout_ms,
				 want);
			return -ETIMEDOUT;
		}
		nap(delay);
		delay = delay * 3 / 2 > POLL_MAX_MS ? POLL_MAX_MS :
			delay * 3 / 2;
	}
}

int ea_attach_eni(struct ea_cloud *c, const char *eni, int timeout_ms,
		  struct ea_ceni *out)
{
	char id[EA_ID_MAX];	/* eni may point into *out */
	struct aliyun_param p[] = {
		{ "NetworkInterfaceId", id },
		{ "InstanceId", c->ag->inst.id },
	};
	int rc;

	snprintf(id, sizeof(id), "%s", eni);
	rc = ea_api(c, ALIYUN_ECS, "AttachNetworkInterface", p, 2);
	/* a lost reply retried: the first attempt is under way */
	if (rc == -EREMOTEIO &&
	    strcmp(c->e.code, "InvalidOperation.InvalidEniState"))
		return rc;
	if (rc < 0 && rc != -EREMOTEIO)
		return rc;
	rc = ea_wait_eni(c, id, "InUse", timeout_ms, out);
	if (rc == 0 && strcmp(out->instance, c->ag->inst.id)) {
		snprintf(c->e.message, sizeof(c->e.message), "ENI %s is "
			 "attached to %s, not to us", id, out->instance);
		return -EBUSY;
	}
	return rc;
}

int ea_detach_delete_eni(struct ea_cloud *c, const char *id, int timeout_ms)
{
	struct aliyun_param p[] = {
		{ "NetworkInterfaceId", id },
		{ "InstanceId", c->ag->inst.id },
	};
	struct ea_ceni e;
	int rc;

	rc = ea_describe_eni(c, id, &e);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (!strcmp(e.status, "InUse") || !strcmp(e.status, "Detaching")) {
		if (!strcmp(e.status, "InUse")) {
			rc = ea_api(c, ALIYUN_ECS, "DetachNetworkInterface", p,
				    2);
			if (rc < 0 && strcmp(c->e.code, "InvalidOperation."
					     "InvalidEniState"))
				return rc;
		}
		rc = ea_wait_eni(c, id, "Available", timeout_ms, &e);
		if (rc == -ENOENT)
			return 0;
		if (rc < 0)
			return rc;
	}
	rc = ea_api(c, ALIYUN_ECS, "DeleteNetworkInterface", p, 1);
	if (rc == -EREMOTEIO && !strcmp(c->e.code, "InvalidEniId.NotFound"))
		rc = 0;
	return rc;
}

int ea_assign_ips(struct ea_cloud *c, const char *eni, int n,
		  struct in_addr *out, int *got)
{
	char count[16], token[33];
	struct aliyun_param p[] = {
		{ "NetworkInterfaceId", eni },
		{ "SecondaryPrivateIpAddressCount", count },
		{ "ClientToken", token },
	};
	const char *s;
	int rc, arr, i;

	*got = 0;
	snprintf(count, sizeof(count), "%d", n);
	ea_client_token(token);
	rc = ea_api(c, ALIYUN_ECS, "AssignPrivateIpAddresses", p, 3);
	if (rc < 0)
		return rc;
	arr = json_path(&c->doc, 0, "AssignedPrivateIpAddressesSet."
			"PrivateIpSet.PrivateIpAddress");
	json_for_each(&c->doc, arr, i)
		if (*got < n && json_as_str(&c->doc, i, NULL, &s, NULL,
					    NULL) == 0 &&
		    inet_pton(AF_INET, s, &out[*got]) == 1)
			(*got)++;
	return 0;
}

int ea_unassign_ips(struct ea_cloud *c, const char *eni,
		    const struct in_addr *ips, int n)
{
	struct aliyun_param p[1 + 10];
	char keys[10][24], vals[10][INET_ADDRSTRLEN];
	int i, rc;

	p[0] = (struct aliyun_param){ "NetworkInterfaceId", eni };
	for (i = 0; i < n && i < 10; i++) {
		snprintf(keys[i], sizeof(keys[i]), "PrivateIpAddress.%d",
			 i + 1);
		inet_ntop(AF_INET, &ips[i], vals[i], sizeof(vals[i]));
		p[i + 1] = (struct aliyun_param){ keys[i], vals[i] };
	}
	rc = ea_api(c, ALIYUN_ECS, "UnassignPrivateIpAddresses", p,
		    (size_t)i + 1);
	if (rc == -EREMOTEIO &&
	    (!strcmp(c->e.code, "InvalidIp.IpUnassigned") ||
	     !strcmp(c->e.code, "InvalidEniId.NotFound")))
		rc = 0;		/* a retry after a lost reply */
	return rc;
}

int ea_describe_vswitches(struct ea_cloud *c, struct ea_vsw_info *v, int n)
{
	struct aliyun_param p[] = { { "VSwitchId", NULL },
				    { "PageSize", "50" } };
	char ids[EA_MAX_VSW * EA_ID_MAX] = "", id[EA_ID_MAX];
	int64_t free_n;
	int i, k, arr, rc;

	for (i = 0; i < n; i++) {
		v[i].free = -1;
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s",
			 i ? "," : "", v[i].id);
	}
	p[0].value = ids;
	rc = ea_api(c, ALIYUN_VPC, "DescribeVSwitches", p, 2);
	if (rc < 0)
		return rc;
	arr = json_path(&c->doc, 0, "VSwitches.VSwitch");
	json_for_each(&c->doc, arr, k) {
		str_of(&c->doc, k, "VSwitchId", id, sizeof(id));
		if (json_get_i64(&c->doc, k, "AvailableIpAddressCount",
				 &free_n, NULL) < 0)
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(v[i].id, id))
				v[i].free = (long)free_n;
	}
	return 0;
}

int ea_instance_type(struct ea_cloud *c, const char *type, int *enis,
		     int *ips)
{
	struct aliyun_param p[] = { { "InstanceTypes.1", type } };
	char id[64];
	int64_t a, b;
	int arr, k, rc;

	rc = ea_api(c, ALIYUN_ECS, "DescribeInstanceTypes", p, 1);
	if (rc < 0)
		return rc;
	arr = json_path(&c->doc, 0, "InstanceTypes.InstanceType");
	json_for_each(&c->doc, arr, k) {
		str_of(&c->doc, k, "InstanceTypeId", id, sizeof(id));
		if (strcmp(id, type) ||
		    json_get_i64(&c->doc, k, "EniQuantity", &a, NULL) < 0 ||
		    json_get_i64(&c->doc, k, "EniPrivateIpAddressQuantity", &b,
				 NULL) < 0)
			continue;
		*enis = a > 64 ? 64 : (int)a;
		*ips = b > EA_MAX_ENI_IPS ? EA_MAX_ENI_IPS : (int)b;
		return 0;
	}
	snprintf(c->e.message, sizeof(c->e.message), "DescribeInstanceTypes: "
		 "%s not in the reply", type);
	return -ENOENT;
}

int ea_err_vsw_full(const char *code)
{
	return !strcmp(code, "InvalidVSwitchId.IpNotEnough") ||
	       !strcmp(code, "QuotaExceeded.PrivateIpAddress");
}
