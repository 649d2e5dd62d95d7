/*
 * eni-agent: the pool decisions (pure functions of plan.c), the pool in
 * memory (state.c), the state file (persist.c) and the config file
 * (conf.c).  The applet's files are compiled in here: unit tests link
 * only lib/.  Files in /tmp/eniagentt-*.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../applets/eni_agent/conf.c"
#include "../../applets/eni_agent/config.c"
#include "../../applets/eni_agent/creds.c"
#include "../../applets/eni_agent/persist.c"
#include "../../applets/eni_agent/plan.c"
#include "../../applets/eni_agent/state.c"
#include "test.h"

/* --- plan.c --------------------------------------------------------------- */

static void test_want_excess(void)
{
	CHECK_INT(ea_plan_want(0, 0, 0), 0);
	CHECK_INT(ea_plan_want(0, 0, 3), 3);
	CHECK_INT(ea_plan_want(1, 2, 3), 4);	/* 2 waiting + 3 idle wanted */
	CHECK_INT(ea_plan_want(9, 2, 3), 0);
	CHECK_INT(ea_plan_excess(9, 0, 5), 4);
	CHECK_INT(ea_plan_excess(9, 2, 5), 2);
	CHECK_INT(ea_plan_excess(3, 0, 5), 0);
	/* a burst fills toward max, the pool alone only to min */
	CHECK_INT(ea_plan_grow_count(0, 0, 2, 5), 2);
	CHECK_INT(ea_plan_grow_count(0, 3, 2, 5), 8);
	CHECK_INT(ea_plan_grow_count(4, 1, 0, 0), 0);
}

static void test_capacity_clamp(void)
{
	int min = 10, max = 100;

	/* the primary ENI and exclusive ENIs hold no pool IP */
	CHECK_INT(ea_plan_capacity(5, 0, 15), 60);
	CHECK_INT(ea_plan_capacity(5, 2, 15), 30);
	CHECK_INT(ea_plan_capacity(1, 0, 15), 0);
	CHECK_INT(ea_plan_capacity(3, 5, 15), 0);
	ea_plan_clamp(60, &min, &max);
	CHECK_INT(max, 60);
	CHECK_INT(min, 10);
	min = 80;
	max = 100;
	ea_plan_clamp(60, &min, &max);
	CHECK_INT(min, 60);
}

static struct ea_plan_eni eni(int nips, int inuse, int usable, int cap)
{
	struct ea_plan_eni e = { nips, inuse, 0, 0, usable, cap };

	/* the primary is the first to be used */
	e.primary_idle = inuse == 0 && nips > 0;
	e.idle_secondary = nips - inuse - e.primary_idle;
	return e;
}

static struct ea_plan plan_of(struct ea_plan_eni *e, int n, int idle,
			      int pending, int attached)
{
	struct ea_plan_in in = { e, n, idle, pending, 2, 5, 10, attached, 5,
				 15, 1 };
	struct ea_plan p;

	ea_plan_step(&in, &p);
	return p;
}

static void test_grow_assign(void)
{
	struct ea_plan_eni e[3];
	struct ea_plan p;

	/* the fullest ENI with room gets the IPs: ENIs fill in order */
	e[0] = eni(15, 15, 1, 15);
	e[1] = eni(10, 10, 1, 15);
	e[2] = eni(3, 3, 1, 15);
	p = plan_of(e, 3, 0, 1, 4);
	CHECK_INT(p.op, EA_PLAN_ASSIGN);
	CHECK_INT(p.eni, 1);
	CHECK_INT(p.count, 5);		/* room left on it */
	/* no more than a batch */
	e[1] = eni(1, 1, 1, 15);
	p = plan_of(e, 2, 0, 20, 3);
	CHECK_INT(p.op, EA_PLAN_ASSIGN);
	CHECK_INT(p.count, 10);
	/* an ENI whose link is not configured is not grown */
	e[1].usable = 0;
	p = plan_of(e, 2, 0, 1, 3);
	CHECK_INT(p.op, EA_PLAN_CREATE);
	/* an ENI the cloud said is full (cap lowered) */
	e[1] = eni(6, 6, 1, 6);
	p = plan_of(e, 2, 0, 1, 3);
	CHECK_INT(p.op, EA_PLAN_CREATE);
}

static void test_grow_create_full(void)
{
	struct ea_plan_eni e[4];
	struct ea_plan p;
	int i;

	/* nothing attached yet: create, with min IPs (primary counted) */
	p = plan_of(e, 0, 0, 0, 1);
	CHECK_INT(p.op, EA_PLAN_CREATE);
	CHECK_INT(p.count, 2);
	/* all ENIs full, quota (5 with the primary) reached */
	for (i = 0; i < 4; i++)
		e[i] = eni(15, 15, 1, 15);
	p = plan_of(e, 4, 0, 1, 5);
	CHECK_INT(p.op, EA_PLAN_FULL);
	/* same without a waiting pod: nothing to do, no loop */
	p = plan_of(e, 4, 0, 0, 5);
	CHECK_INT(p.op, EA_PLAN_NONE);
	/* exclusive ENIs take quota too (attached counts them) */
	p = plan_of(e, 3, 0, 1, 5);
	CHECK_INT(p.op, EA_PLAN_FULL);
	/* no vSwitch can give IPs */
	{
		struct ea_plan_in in = { e, 3, 0, 1, 2, 5, 10, 4, 5, 15, 0 };

		ea_plan_step(&in, &p);
		CHECK_INT(p.op, EA_PLAN_FULL);
	}
}

static void test_shrink(void)
{
	struct ea_plan_eni e[3];
	struct ea_plan p;

	/* above max: idle secondaries of the ENI with the fewest pods */
	e[0] = eni(15, 10, 1, 15);
	e[1] = eni(12, 2, 1, 15);
	p = plan_of(e, 2, 15, 0, 3);
	CHECK_INT(p.op, EA_PLAN_UNASSIGN);
	CHECK_INT(p.eni, 1);
	CHECK_INT(p.count, 10);		/* excess 10, a batch */
	/* idle, but at most max: nothing */
	p = plan_of(e, 2, 5, 0, 3);
	CHECK_INT(p.op, EA_PLAN_NONE);
	/* waiting pods keep IPs */
	p = plan_of(e, 2, 7, 2, 3);
	CHECK_INT(p.op, EA_PLAN_NONE);
	/* an ENI left with only its idle primary goes away */
	e[2] = eni(1, 0, 1, 15);
	p = plan_of(e, 3, 6, 0, 4);
	CHECK_INT(p.op, EA_PLAN_DELETE_ENI);
	CHECK_INT(p.eni, 2);
	/* a primary IP is never unassigned */
	e[0] = eni(15, 14, 1, 15);
	e[0].primary_idle = 1;
	e[0].idle_secondary = 0;
	e[0].inuse = 14;
	p = plan_of(e, 1, 7, 0, 2);
	CHECK_INT(p.op, EA_PLAN_NONE);
}

static void test_pick_vswitch(void)
{
	struct ea_vsw_info v[3] = {
		{ "vsw-a", 3, 0 }, { "vsw-b", 100, 0 }, { "vsw-c", 50, 0 },
	};

	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_MOST_FREE, 5), 1);
	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_ORDERED, 2), 0);
	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_ORDERED, 5), 1);
	v[1].blocked = 1;		/* said IpNotEnough lately */
	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_MOST_FREE, 5), 2);
	v[0].free = v[2].free = 0;
	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_MOST_FREE, 5), -1);
	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_ORDERED, 5), -1);
	v[2].free = -1;			/* DescribeVSwitches failed */
	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_MOST_FREE, 5), 2);
	/* some free, fewer than asked: still the best there is */
	v[2].free = 2;
	CHECK_INT(ea_pick_vswitch(v, 3, EA_VSW_ORDERED, 5), 2);
}

/* --- conf.c --------------------------------------------------------------- */

static int conf(struct ea_conf *c, const char *json, char *err)
{
	ea_conf_defaults(c);
	snprintf(c->node, sizeof(c->node), "node1");
	return ea_conf_parse(c, "eni.json", json, strlen(json), err, 512);
}

static void test_conf_terway(void)
{
	static const char json[] =
		"{\"version\":\"1\",\"access_key\":\"ak\",\"access_secret\":"
		"\"sk\",\"region_id\":\"cn-hangzhou\",\"vswitches\":"
		"{\"cn-hangzhou-h\":[\"vsw-1\",\"vsw-2\"],\"cn-hangzhou-i\":"
		"[\"vsw-3\"]},\"security_group\":\"sg-1\",\"service_cidr\":"
		"\"10.96.0.0/12\",\"max_pool_size\":25,\"min_pool_size\":10,"
		"\"eni_tags\":{\"team\":\"net\"},\"ip_stack\":\"ipv4\","
		"\"vswitch_selection_policy\":\"ordered\",\"rate_limit\":"
		"{\"CreateNetworkInterface\":60},\"eni_cap_ratio\":1,"
		"\"ip_pool_sync_period\":\"2m\",\"something_else\":[1]}";
	struct ea_conf c;
	char err[512] = "";

	CHECK_INT(conf(&c, json, err), 0);
	CHECK_STR(err, "");
	CHECK_INT(ea_conf_check(&c, err, sizeof(err)), 0);
	CHECK_INT(c.cred_kind, EA_CRED_KEY);
	CHECK_STR(c.cred.access_key_secret, "sk");
	CHECK_STR(c.region, "cn-hangzhou");
	CHECK_INT(c.nvsw, 3);
	CHECK_STR(c.vsw[1].id, "vsw-2");
	CHECK_STR(c.vsw[2].zone, "cn-hangzhou-i");
	CHECK_INT(c.nsg, 1);
	CHECK_STR(c.sg[0], "sg-1");
	CHECK_INT(c.service_cidr.prefix, 12);
	CHECK_INT(c.min_pool, 10);
	CHECK_INT(c.max_pool, 25);
	CHECK_INT(c.ntags, 1);
	CHECK_STR(c.tags[0].value, "net");
	CHECK_INT(c.vsw_policy, EA_VSW_ORDERED);
	CHECK_INT(c.rate[0].per_min, 60);
	CHECK_INT(c.pool_sync_ms, 120000);
	CHECK_INT(c.mode, EA_MODE_ENIIP);
}

static void test_conf_ours(void)
{
	static const char json[] =
		"{\"mode\":\"vpc\",\"cluster_cidr\":\"10.244.0.0/16\","
		"\"security_groups\":[\"sg-1\",\"sg-2\"],"
		"\"gc_grace\":\"1m30s\",\"gc_interval\":2,\"alloc_timeout\":\"500ms\",\"socket\":"
		"\"/run/x.sock\",\"metrics_port\":0,\"ipmasq\":false,"
		"\"log_level\":\"debug\",\"credential_path\":\"/x\"}";
	struct ea_conf c;
	char err[512] = "";

	CHECK_INT(conf(&c, json, err), -EINVAL);	/* alloc_timeout < 1s */
	CHECK(strstr(err, "alloc_timeout") != NULL);
	CHECK_INT(conf(&c, "{\"mode\":\"vpc\",\"cluster_cidr\":"
		       "\"10.244.0.0/16\",\"security_groups\":[\"sg-1\","
		       "\"sg-2\"],\"gc_grace\":\"1m30s\",\"gc_interval\":2,"
		       "\"ipmasq\":false,\"log_level\":\"debug\","
		       "\"credential_path\":\"/x\"}", err), 0);
	CHECK_INT(ea_conf_check(&c, err, sizeof(err)), 0);
	CHECK_INT(c.mode, EA_MODE_VPC);
	CHECK_INT(c.nsg, 2);
	CHECK_INT(c.gc_grace_ms, 90000);
	CHECK_INT(c.gc_interval_ms, 2000);
	CHECK_INT(c.ipmasq, 0);
	CHECK_INT(c.log_level, LOG_LVL_DEBUG);
	CHECK_INT(c.cred_kind, EA_CRED_FILE);
	(void)json;
}

/* Each bad setting is refused with its key in the message. */
static void test_conf_errors(void)
{
	static const struct { const char *json, *key; } bad[] = {
		{ "{\"min_pool_size\":\"ten\"}", "min_pool_size" },
		{ "{\"max_pool_size\":-1}", "max_pool_size" },
		{ "{\"vswitches\":[\"vsw-1\"]}", "vswitches" },
		{ "{\"vswitches\":{\"z\":\"vsw-1\"}}", "vswitches" },
		{ "{\"security_group\":5}", "security_group" },
		{ "{\"service_cidr\":\"10.96.0.0/33\"}", "service_cidr" },
		{ "{\"ip_stack\":\"dual\"}", "ip_stack" },
		{ "{\"mode\":\"ipvlan\"}", "mode" },
		{ "{\"eni_tags\":{\"k\":1}}", "eni_tags" },
		{ "{\"gc_grace\":\"soon\"}", "gc_grace" },
		{ "{\"gc_grace\":true}", "gc_grace" },
		{ "{\"mtu\":100}", "mtu" },
		{ "{\"ipmasq\":\"yes\"}", "ipmasq" },
		{ "{\"region_id\":[]}", "region_id" },
		{ "{\"rate_limit\":{\"X\":\"fast\"}}", "rate_limit" },
		{ "{\"log_level\":\"loud\"}", "log_level" },
		{ "[1]", "expected a JSON object" },
		{ "{\"a\":", "eni.json" },
	};
	struct ea_conf c;
	char err[512];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(conf(&c, bad[i].json, err), -EINVAL);
		if (!strstr(err, bad[i].key))
			fprintf(stderr, "%s: error '%s' does not name %s\n",
				bad[i].json, err, bad[i].key);
		CHECK(strstr(err, bad[i].key) != NULL);
	}
}

static void test_conf_checks(void)
{
	struct ea_conf c;
	char err[512];

	CHECK_INT(conf(&c, "{\"min_pool_size\":9,\"max_pool_size\":3}", err),
		  0);
	CHECK_INT(ea_conf_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "min_pool_size") != NULL);
	CHECK_INT(conf(&c, "{\"mode\":\"vpc\"}", err), 0);
	CHECK_INT(ea_conf_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "cluster_cidr") != NULL);
	CHECK_INT(conf(&c, "{\"access_key\":\"ak\"}", err), 0);
	CHECK_INT(ea_conf_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "access_secret") != NULL);
	CHECK_INT(conf(&c, "{\"socket\":\"\"}", err), 0);
	CHECK_INT(ea_conf_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "socket") != NULL);
	CHECK_INT(conf(&c, "{}", err), 0);
	c.node[0] = '\0';
	CHECK_INT(ea_conf_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "node_name") != NULL);
}

static void test_duration(void)
{
	int64_t ms;

	CHECK_INT(ea_parse_duration("300ms", &ms), 0);
	CHECK_INT(ms, 300);
	CHECK_INT(ea_parse_duration("1h30m", &ms), 0);
	CHECK_INT(ms, 5400000);
	CHECK_INT(ea_parse_duration("1.5s", &ms), 0);
	CHECK_INT(ms, 1500);
	CHECK_INT(ea_parse_duration("0", &ms), 0);
	CHECK_INT(ms, 0);
	CHECK_INT(ea_parse_duration("5", &ms), -EINVAL);	/* no unit */
	CHECK_INT(ea_parse_duration("", &ms), -EINVAL);
	CHECK_INT(ea_parse_duration("-1s", &ms), -EINVAL);
	CHECK_INT(ea_parse_duration("1d", &ms), -EINVAL);
}

/* --- state.c, persist.c --------------------------------------------------- */

static struct in_addr a4(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static void test_pool_take(void)
{
	struct ea_pool p;
	struct ea_eni *e1, *e2, *got;
	struct ea_ip *ip;

	memset(&p, 0, sizeof(p));
	p.ips_per_eni = 4;
	e1 = ea_eni_add(&p, "eni-1");
	ea_eni_ip_add(e1, a4("10.0.0.1"), 1, 100);
	ea_eni_ip_add(e1, a4("10.0.0.2"), 0, 50);
	e1->state = EA_ENI_READY;
	e2 = ea_eni_add(&p, "eni-2");
	e1 = &p.eni[0];			/* the array may have moved */
	ea_eni_ip_add(e2, a4("10.0.1.1"), 1, 10);
	ea_eni_ip_add(e2, a4("10.0.1.2"), 0, 10)->state = EA_IP_INUSE;
	ea_eni_ip_add(e2, a4("10.0.1.3"), 0, 20);
	e2->state = EA_ENI_READY;
	CHECK_INT(e1->cap, 4);
	/* the fullest ENI first, its longest idle IP */
	ip = ea_pool_take(&p, &got);
	CHECK(ip && ip->addr.s_addr == a4("10.0.1.1").s_addr);
	CHECK_STR(got->id, "eni-2");
	ip->state = EA_IP_INUSE;
	ip = ea_pool_take(&p, &got);
	CHECK(ip && ip->addr.s_addr == a4("10.0.1.3").s_addr);
	ip->state = EA_IP_INUSE;
	/* an ENI not configured yet gives nothing */
	p.eni[0].state = EA_ENI_LINK;
	CHECK(ea_pool_take(&p, &got) == NULL);
	p.eni[0].state = EA_ENI_READY;
	ip = ea_pool_take(&p, &got);
	CHECK(ip && ip->addr.s_addr == a4("10.0.0.2").s_addr);
	CHECK(ea_ip_find(&p, a4("10.0.1.3"), &got) != NULL);
	CHECK_STR(got->id, "eni-2");
	ea_pool_free(&p);
}

static void test_state_roundtrip(void)
{
	char dir[64], inst[EA_ID_MAX], err[256], path[128];
	struct ea_pool p, q;
	struct ea_alloc *a;

	snprintf(dir, sizeof(dir), "/tmp/eniagentt-%d/sub", (int)getpid());
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	a = ea_alloc_add(&p);
	snprintf(a->cid, sizeof(a->cid), "c1");
	snprintf(a->ifname, sizeof(a->ifname), "eth0");
	snprintf(a->ns, sizeof(a->ns), "default");
	snprintf(a->name, sizeof(a->name), "web \"0\"");
	snprintf(a->eni, sizeof(a->eni), "eni-1");
	a->ip = a4("10.0.0.7");
	a = ea_alloc_add(&p);
	snprintf(a->ns, sizeof(a->ns), "kube-system");
	snprintf(a->name, sizeof(a->name), "dns");	/* reserved: no cid */
	snprintf(a->eni, sizeof(a->eni), "eni-2");
	a->mode = EA_MODE_ENI;
	a->ip = a4("10.0.0.9");
	CHECK_INT(ea_state_save(&p, dir, "i-1", err, sizeof(err)), 0);
	CHECK_INT(ea_state_load(&q, dir, inst, sizeof(inst), err,
				sizeof(err)), 0);
	CHECK_STR(inst, "i-1");
	CHECK_INT(q.nalloc, 2);
	CHECK(ea_alloc_find(&q, "c1", "eth0") != NULL);
	CHECK_STR(ea_alloc_find(&q, "c1", "eth0")->name, "web \"0\"");
	CHECK(ea_alloc_reserved(&q, "kube-system", "dns") != NULL);
	CHECK_INT(ea_alloc_by_ip(&q, a4("10.0.0.9"))->mode, EA_MODE_ENI);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	CHECK_INT(access(path, R_OK), 0);
	unlink(path);
	rmdir(dir);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	CHECK_INT(ea_state_load(&q, dir, inst, sizeof(inst), err,
				sizeof(err)), -ENOENT);
	ea_pool_free(&p);
	ea_pool_free(&q);
}

int main(void)
{
	RUN(test_want_excess);
	RUN(test_capacity_clamp);
	RUN(test_grow_assign);
	RUN(test_grow_create_full);
	RUN(test_shrink);
	RUN(test_pick_vswitch);
	RUN(test_conf_terway);
	RUN(test_conf_ours);
	RUN(test_conf_errors);
	RUN(test_conf_checks);
	RUN(test_duration);
	RUN(test_pool_take);
	RUN(test_state_roundtrip);
	return test_done();
}
