/* NetworkPolicy compiler without a kernel: Lists -> kobj -> np_ruleset,
 * judged by what the ruleset lets through (an evaluator of the datapath's
 * semantics: self, egress class of the source, ingress class of the
 * destination), plus the range/box algebra, validation messages, the
 * nft text and the batch builder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "kobj.h"
#include "np.h"
#include "np_nft.h"
#include "test.h"

#define TCP 6
#define UDP 17
#define SCTP 132

static struct arena A;
static struct kobj_list L;
static struct np_ruleset RS;

/* Namespaces x, y (ns=x ...); pods x/a 10.0.0.1 (+fd00::1), x/b 10.0.0.2,
 * y/a 10.0.1.1, y/b 10.0.1.2, all serving serve-80-tcp, serve-81-udp;
 * node n1 except y/b on n2. */
static const char base_items[] =
"{'kind':'Namespace','metadata':{'name':'x','labels':{'ns':'x'}}},"
"{'kind':'Namespace','metadata':{'name':'y','labels':{'ns':'y'}}},"
"{'kind':'Pod','metadata':{'name':'a','namespace':'x','labels':{'pod':'a'}},"
" 'spec':{'nodeName':'n1','containers':[{'name':'c','ports':["
"  {'name':'serve-80-tcp','containerPort':80},"
"  {'name':'serve-81-udp','containerPort':81,'protocol':'UDP'}]}]},"
" 'status':{'podIPs':[{'ip':'10.0.0.1'},{'ip':'fd00::1'}]}},"
"{'kind':'Pod','metadata':{'name':'b','namespace':'x','labels':{'pod':'b'}},"
" 'spec':{'nodeName':'n1','containers':[{'name':'c','ports':["
"  {'name':'serve-80-tcp','containerPort':80},"
"  {'name':'serve-81-udp','containerPort':81,'protocol':'UDP'}]}]},"
" 'status':{'podIP':'10.0.0.2'}},"
"{'kind':'Pod','metadata':{'name':'a','namespace':'y','labels':{'pod':'a'}},"
" 'spec':{'nodeName':'n1','containers':[{'name':'c','ports':["
"  {'name':'serve-80-tcp','containerPort':80},"
"  {'name':'serve-81-udp','containerPort':81,'protocol':'UDP'}]}]},"
" 'status':{'podIP':'10.0.1.1'}},"
"{'kind':'Pod','metadata':{'name':'b','namespace':'y','labels':{'pod':'b'}},"
" 'spec':{'nodeName':'n2','containers':[{'name':'c','ports':["
"  {'name':'serve-80-tcp','containerPort':80},"
"  {'name':'serve-81-udp','containerPort':81,'protocol':'UDP'}]}]},"
" 'status':{'podIP':'10.0.1.2'}}";

/* ' -> " */
static char *q(const char *s)
{
	char *d = arena_strdup(&A, s), *p;

	for (p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/* the base objects + extra items, compiled for node (NULL: all local) */
static int build(const char *extra, const char *node)
{
	struct np_opts o = { node };
	struct json_err e;
	char *text, *copy = strdup(extra ? extra : "");
	int rc;

	arena_free_all(&A);	/* extra may live in it */
	if (!copy)
		return -ENOMEM;
	text = arena_printf(&A, "{'kind':'List','items':[%s%s%s]}", base_items,
			    *copy ? "," : "", copy);
	free(copy);
	text = q(text);
	rc = kobj_parse_list(&A, text, strlen(text), &L, &e);
	if (rc < 0) {
		fprintf(stderr, "parse: %s\n", e.msg);
		return rc;
	}
	return np_compile(&A, &L, &o, &RS);
}

static char *policy(const char *ns, const char *name, const char *spec)
{
	return arena_printf(&A, "{'kind':'NetworkPolicy','metadata':{'name':"
			    "'%s','namespace':'%s'},'spec':%s}", name, ns,
			    spec);
}

/* --- the evaluator --------------------------------------------------- */

static const struct np_target *target(const struct ipaddr *ip)
{
	int i;

	for (i = 0; i < RS.ntgt; i++)
		if (ip_equal(&RS.tgt[i].ip, ip))
			return &RS.tgt[i];
	return NULL;
}

static int in_range(const struct np_range *r, const struct ipaddr *ip)
{
	return ip->family == r->lo.family && ip_cmp(ip, &r->lo) >= 0 &&
	       ip_cmp(ip, &r->hi) <= 0;
}

static int allows(const struct np_allow *al, const struct ipaddr *peer,
		  int proto, int port)
{
	int f = peer->family == AF_INET6, i;

	for (i = 0; i < al->nany[f]; i++)
		if (in_range(&al->any[f][i], peer))
			return 1;
	for (i = 0; i < al->nbox[f]; i++)
		if (in_range(&al->box[f][i].addr, peer) &&
		    al->box[f][i].proto == proto &&
		    port >= al->box[f][i].plo && port <= al->box[f][i].phi)
			return 1;
	return 0;
}

/* May a new connection src -> dst:port/proto pass? */
static int ok(const char *src, const char *dst, int proto, int port)
{
	struct ipaddr s, d;
	const struct np_target *t;

	if (ip_parse(src, &s) < 0 || ip_parse(dst, &d) < 0)
		return -1;
	if (ip_equal(&s, &d) && target(&s))
		return 1;
	t = target(&s);
	if (t && t->cls[KOBJ_EGRESS] >= 0 &&
	    !allows(&RS.cls[t->cls[KOBJ_EGRESS]].allow, &d, proto, port))
		return 0;
	t = target(&d);
	if (t && t->cls[KOBJ_INGRESS] >= 0 &&
	    !allows(&RS.cls[t->cls[KOBJ_INGRESS]].allow, &s, proto, port))
		return 0;
	return 1;
}

#define XA "10.0.0.1"
#define XB "10.0.0.2"
#define YA "10.0.1.1"
#define YB "10.0.1.2"
#define OUT "192.0.2.9"

/* --- semantics ------------------------------------------------------- */

static void test_no_policy(void)
{
	CHECK_INT(build("", NULL), 0);
	CHECK_INT(RS.ntgt, 0);
	CHECK_INT(RS.ncls, 0);
	CHECK_INT(RS.nlocal, 4);
	CHECK_INT(ok(XA, XB, TCP, 80), 1);
}

static void test_deny_all_ingress(void)
{
	CHECK_INT(build(policy("x", "d", "{'podSelector':{},"
			       "'policyTypes':['Ingress']}"), NULL), 0);
	CHECK_INT(RS.ncls, 1);		/* x/a and x/b share it */
	CHECK_INT(RS.cls[0].npods, 2);
	CHECK_INT(RS.ntgt, 3);		/* x/a has two addresses */
	CHECK_INT(ok(YA, XA, TCP, 80), 0);
	CHECK_INT(ok(XB, XA, UDP, 81), 0);
	CHECK_INT(ok("fd00::9", "fd00::1", TCP, 80), 0);
	CHECK_INT(ok(XA, YA, TCP, 80), 1);	/* egress untouched */
	CHECK_INT(ok(XA, XA, TCP, 80), 1);	/* itself */
	CHECK_INT(ok(YA, YB, TCP, 80), 1);
}

static void test_deny_all_egress(void)
{
	CHECK_INT(build(policy("x", "d", "{'podSelector':{},"
			       "'policyTypes':['Egress']}"), NULL), 0);
	CHECK_INT(ok(XA, YA, TCP, 80), 0);
	CHECK_INT(ok(XA, OUT, UDP, 53), 0);
	CHECK_INT(ok(YA, XA, TCP, 80), 1);
}

static void test_allow_all_and_union(void)
{
	char *two = arena_printf(&A, "%s,%s",
		policy("x", "d", "{'podSelector':{},'policyTypes':"
		       "['Ingress']}"),
		policy("x", "a", "{'podSelector':{},'ingress':[{}]}"));

	CHECK_INT(build(q(two), NULL), 0);
	CHECK_INT(ok(YA, XA, TCP, 80), 1);
	CHECK_INT(ok(OUT, XB, UDP, 9), 1);
	CHECK_INT(ok("fd00::9", "fd00::1", 1, 0), 1);	/* any protocol */
}

static void test_pod_and_ns_selectors(void)
{
	CHECK_INT(build(policy("x", "p", "{'podSelector':{'matchLabels':"
		"{'pod':'a'}},'ingress':[{'from':[{'podSelector':{"
		"'matchLabels':{'pod':'b'}}}]}]}"), NULL), 0);
	CHECK_INT(ok(XB, XA, TCP, 80), 1);
	CHECK_INT(ok(YB, XA, TCP, 80), 0);	/* other namespace */
	CHECK_INT(ok(YA, XB, TCP, 80), 1);	/* x/b not selected */
	CHECK_INT(build(policy("x", "p", "{'podSelector':{'matchLabels':"
		"{'pod':'a'}},'ingress':[{'from':[{'namespaceSelector':{"
		"'matchLabels':{'ns':'y'}}}]}]}"), NULL), 0);
	CHECK_INT(ok(YA, XA, TCP, 80), 1);
	CHECK_INT(ok(YB, XA, TCP, 80), 1);	/* other node: still a peer */
	CHECK_INT(ok(XB, XA, TCP, 80), 0);
}

static void test_and_vs_or(void)
{
	CHECK_INT(build(policy("x", "p", "{'podSelector':{'matchLabels':"
		"{'pod':'a'}},'ingress':[{'from':[{'namespaceSelector':{"
		"'matchLabels':{'ns':'y'}},'podSelector':{'matchLabels':"
		"{'pod':'b'}}}]}]}"), NULL), 0);
	CHECK_INT(ok(YB, XA, TCP, 80), 1);
	CHECK_INT(ok(YA, XA, TCP, 80), 0);
	CHECK_INT(ok(XB, XA, TCP, 80), 0);
	CHECK_INT(build(policy("x", "p", "{'podSelector':{'matchLabels':"
		"{'pod':'a'}},'ingress':[{'from':[{'namespaceSelector':{"
		"'matchLabels':{'ns':'y'}}},{'podSelector':{'matchLabels':"
		"{'pod':'b'}}}]}]}"), NULL), 0);
	CHECK_INT(ok(YB, XA, TCP, 80), 1);
	CHECK_INT(ok(YA, XA, TCP, 80), 1);
	CHECK_INT(ok(XB, XA, TCP, 80), 1);
	CHECK_INT(ok(OUT, XA, TCP, 80), 0);
}

static void test_ports(void)
{
	CHECK_INT(build(policy("x", "p", "{'podSelector':{},'ingress':[{"
		"'ports':[{'port':80},{'protocol':'UDP','port':1000,"
		"'endPort':1010},{'protocol':'SCTP','port':81},"
		"{'protocol':'UDP','port':80,'endPort':2000}]}]}"), NULL), 0);
	CHECK_INT(ok(YA, XA, TCP, 80), 1);
	CHECK_INT(ok(YA, XA, TCP, 81), 0);
	CHECK_INT(ok(YA, XA, SCTP, 81), 1);
	CHECK_INT(ok(YA, XA, TCP, 81), 0);	/* SCTP is not TCP */
	CHECK_INT(ok(YA, XA, UDP, 79), 0);
	CHECK_INT(ok(YA, XA, UDP, 80), 1);	/* overlapping ranges */
	CHECK_INT(ok(YA, XA, UDP, 1005), 1);
	CHECK_INT(ok(YA, XA, UDP, 2000), 1);
	CHECK_INT(ok(YA, XA, UDP, 2001), 0);
	CHECK_INT(ok(YA, XA, 1, 0), 0);		/* ICMP: no port rule */
	CHECK_INT(build(policy("x", "p", "{'podSelector':{},'ingress':[{"
		"'ports':[{'protocol':'UDP'}]}]}"), NULL), 0);
	CHECK_INT(ok(YA, XA, UDP, 1), 1);
	CHECK_INT(ok(YA, XA, UDP, 65535), 1);
	CHECK_INT(ok(YA, XA, TCP, 80), 0);
}

static void test_named_ports(void)
{
	char *items = arena_printf(&A, "%s,%s",
		"{'kind':'Pod','metadata':{'name':'w','namespace':'x','labels':"
		"{'pod':'w'}},'spec':{'nodeName':'n1','containers':[{"
		"'name':'c','ports':[{'name':'serve-80-tcp','containerPort':"
		"8080}]}]},"
		"'status':{'podIP':'10.0.0.3'}}",
		policy("x", "p", "{'podSelector':{},'ingress':[{'ports':"
		       "[{'port':'serve-80-tcp'},{'port':'serve-81-udp',"
		       "'protocol':'UDP'},{'port':'serve-81-udp'}]}]}"));

	CHECK_INT(build(q(items), NULL), 0);
	CHECK_INT(ok(YA, XA, TCP, 80), 1);
	CHECK_INT(ok(YA, XA, UDP, 81), 1);
	CHECK_INT(ok(YA, XA, TCP, 81), 0);	/* name and protocol (TCP) */
	CHECK_INT(ok(YA, "10.0.0.3", TCP, 8080), 1);	/* its own number */
	CHECK_INT(ok(YA, "10.0.0.3", TCP, 80), 0);
	CHECK_INT(ok(YA, "10.0.0.3", UDP, 81), 0);	/* it has no such */
	CHECK_INT(RS.ncls, 2);		/* x/a x/b share; x/w differs */
}

static void test_named_egress(void)
{
	char *items = arena_printf(&A, "%s,%s",
		"{'kind':'Pod','metadata':{'name':'w','namespace':'y','labels':"
		"{'pod':'w'}},'spec':{'nodeName':'n9','containers':[{"
		"'name':'c','ports':[{'name':'web','containerPort':8080}]}]},"
		"'status':{'podIP':'10.9.0.3'}}",
		policy("x", "p", "{'podSelector':{'matchLabels':{'pod':'a'}},"
		       "'policyTypes':['Egress'],'egress':[{'ports':[{'port':"
		       "'web'}]},{'to':[{'ipBlock':{'cidr':'10.0.1.0/24'}}],"
		       "'ports':[{'protocol':'UDP','port':'serve-81-udp'}]}"
		       "]}"));

	CHECK_INT(build(q(items), NULL), 0);
	CHECK_INT(ok(XA, "10.9.0.3", TCP, 8080), 1);	/* a pod, by name */
	CHECK_INT(ok(XA, "10.9.0.4", TCP, 8080), 0);	/* not a pod */
	CHECK_INT(ok(XA, YA, UDP, 81), 1);	/* pods inside the ipBlock */
	CHECK_INT(ok(XA, XB, UDP, 81), 0);	/* outside it */
	CHECK_INT(ok(XA, "10.0.1.99", UDP, 81), 0);	/* no pod there */
}

static void test_ipblock(void)
{
	CHECK_INT(build(policy("x", "p", "{'podSelector':{},'ingress':[{"
		"'from':[{'ipBlock':{'cidr':'10.0.0.0/16','except':["
		"'10.0.1.0/24','10.0.1.2/32','10.0.0.2/31']}},{'ipBlock':{"
		"'cidr':'10.0.1.2/31'}},{'ipBlock':{'cidr':'fd00::/64'}}]}]}"),
		NULL), 0);
	CHECK_INT(ok(YA, XA, TCP, 80), 0);	/* excepted */
	CHECK_INT(ok(YB, XA, TCP, 80), 1);	/* back by the second */
	CHECK_INT(ok(XB, XA, TCP, 80), 0);	/* 10.0.0.2/31 */
	CHECK_INT(ok("10.0.0.4", XA, TCP, 80), 1);
	CHECK_INT(ok("10.0.255.255", XA, TCP, 80), 1);
	CHECK_INT(ok("10.1.0.0", XA, TCP, 80), 0);
	CHECK_INT(ok("fd00::5", "fd00::1", TCP, 80), 1);
	CHECK_INT(ok("fd01::5", "fd00::1", TCP, 80), 0);
	/* merged: .0-.1, .0.4-.0.255, .1.2-.1.3, .2.0-.255.255 */
	CHECK_INT(RS.cls[0].allow.nany[0], 4);
	CHECK_INT(RS.cls[0].allow.nany[1], 1);
}

static void test_types_default_and_isolation(void)
{
	CHECK_INT(build(policy("x", "p", "{'podSelector':{'matchLabels':"
		"{'pod':'a'}},'egress':[{'to':[{'podSelector':{}}]}]}"),
		NULL), 0);
	CHECK_INT(L.nps[0].types, KOBJ_TYPE_INGRESS | KOBJ_TYPE_EGRESS);
	CHECK_INT(ok(XB, XA, TCP, 80), 0);	/* ingress: no rules */
	CHECK_INT(ok(XA, XB, TCP, 80), 1);
	CHECK_INT(ok(XA, YA, TCP, 80), 0);
	CHECK_INT(build(policy("x", "p", "{'podSelector':{},'egress':[]}"),
			NULL), 0);
	CHECK_INT(L.nps[0].types, KOBJ_TYPE_INGRESS);
	CHECK_INT(ok(XA, YA, TCP, 80), 1);
	CHECK_INT(build(policy("x", "p", "{'podSelector':{},'policyTypes':"
		"['Egress'],'ingress':[{}]}"), NULL), 0);
	CHECK_INT(ok(YA, XA, TCP, 80), 1);	/* not isolated for ingress */
	CHECK_INT(ok(XA, YA, TCP, 80), 0);
}

static void test_both_ends(void)
{
	char *items = arena_printf(&A, "%s,%s",
		policy("x", "e", "{'podSelector':{},'policyTypes':['Egress'],"
		       "'egress':[{'to':[{'namespaceSelector':{}}]}]}"),
		policy("y", "i", "{'podSelector':{'matchLabels':{'pod':'a'}},"
		       "'ingress':[{'from':[{'podSelector':{}}]}]}"));

	CHECK_INT(build(q(items), NULL), 0);
	CHECK_INT(ok(XA, YA, TCP, 80), 0);	/* y/a: only from y */
	CHECK_INT(ok(YB, YA, TCP, 80), 1);
	CHECK_INT(ok(XA, YB, TCP, 80), 1);
	CHECK_INT(ok(XA, OUT, TCP, 80), 0);
}

static void test_host_network_and_finished(void)
{
	char *items = arena_printf(&A, "%s,%s,%s",
		"{'kind':'Pod','metadata':{'name':'h','namespace':'x','labels':"
		"{'pod':'a'}},'spec':{'nodeName':'n1','hostNetwork':true},"
		"'status':{'podIP':'192.168.0.1'}}",
		"{'kind':'Pod','metadata':{'name':'f','namespace':'x','labels':"
		"{'pod':'a'}},'spec':{'nodeName':'n1'},'status':{'phase':"
		"'Succeeded','podIP':'10.0.0.7'}}",
		policy("x", "p", "{'podSelector':{'matchLabels':{'pod':'a'}},"
		       "'ingress':[{'from':[{'podSelector':{'matchLabels':"
		       "{'pod':'a'}}}]}]}"));

	CHECK_INT(build(q(items), NULL), 0);
	CHECK(target(&(struct ipaddr){ .family = AF_INET,
		      .b = { 192, 168, 0, 1 } }) == NULL);
	CHECK(target(&(struct ipaddr){ .family = AF_INET,
		      .b = { 10, 0, 0, 7 } }) == NULL);
	CHECK_INT(ok("192.168.0.1", XA, TCP, 80), 0);	/* not a peer */
	CHECK_INT(ok("10.0.0.7", XA, TCP, 80), 0);
	CHECK_INT(RS.nlocal, 4);
}

static void test_node_scope(void)
{
	CHECK_INT(build(policy("y", "d", "{'podSelector':{}}"), "n1"), 0);
	CHECK_INT(ok(XA, YA, TCP, 80), 0);
	CHECK_INT(ok(XA, YB, TCP, 80), 1);	/* y/b is on n2 */
	CHECK_INT(RS.nlocal, 3);
	CHECK_INT(build(policy("y", "d", "{'podSelector':{}}"), "n3"), 0);
	CHECK_INT(RS.ntgt, 0);
}

static void test_duplicate_address(void)
{
	CHECK_INT(build(q(arena_printf(&A, "%s,%s",
		"{'kind':'Pod','metadata':{'name':'dup','namespace':'x'},"
		"'spec':{'nodeName':'n1'},'status':{'podIP':'10.0.0.1'}}",
		policy("x", "d", "{'podSelector':{}}"))), NULL), 0);
	CHECK_INT(RS.nproblems, 1);
	CHECK(strstr(RS.problems[0], "x/dup") != NULL);
	CHECK_INT(RS.ntgt, 3);
}

static void test_missing_namespace_object(void)
{
	CHECK_INT(build(q(arena_printf(&A, "%s,%s",
		"{'kind':'Pod','metadata':{'name':'p','namespace':'z'},"
		"'spec':{'nodeName':'n1'},'status':{'podIP':'10.0.2.1'}}",
		policy("x", "p", "{'podSelector':{'matchLabels':{'pod':'a'}},"
		       "'ingress':[{'from':[{'namespaceSelector':{'matchLabels'"
		       ":{'kubernetes.io/metadata.name':'z'}}}]}]}"))), NULL),
		  0);
	CHECK_INT(ok("10.0.2.1", XA, TCP, 80), 1);
	CHECK_INT(ok(YA, XA, TCP, 80), 0);
}

/* --- validation -------------------------------------------------------- */

static const char *first_problem(const char *spec)
{
	if (build(policy("x", "bad", spec), NULL) < 0)
		return "build failed";
	if (L.nnps != 0)
		return "accepted";
	return L.nproblems ? L.problems[0] : "no problem";
}

static void test_invalid_policies(void)
{
	static const char *const bad[][2] = {
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':'http',"
		  "'endPort':90}]}]}", "non-numeric" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'endPort':90}]}]}",
		  "port is not specified" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':90,"
		  "'endPort':80}]}]}", "greater than or equal" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':0}]}]}",
		  "between 1 and 65535" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':'80'}]}]}",
		  "invalid port name" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'port':'a--b'}]}]}",
		  "invalid port name" },
		{ "{'podSelector':{},'ingress':[{'ports':[{'protocol':"
		  "'ICMP'}]}]}", "unsupported value \"ICMP\"" },
		{ "{'podSelector':{},'ingress':[{'from':[{}]}]}",
		  "must specify a peer" },
		{ "{'podSelector':{},'ingress':[{'from':[{'ipBlock':{'cidr':"
		  "'10.0.0.0/8'},'podSelector':{}}]}]}", "both ipBlock" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':"
		  "'10.0.0.0/8','except':['11.0.0.0/16']}}]}]}",
		  "strict subset" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':"
		  "'10.0.0.0/8','except':['10.0.0.0/8']}}]}]}",
		  "strict subset" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{'cidr':"
		  "'10.0.0.0/33'}}]}]}", "invalid CIDR" },
		{ "{'podSelector':{},'egress':[{'to':[{'ipBlock':{}}]}]}",
		  "cidr: required" },
		{ "{'podSelector':{},'policyTypes':['Ingress','Egress',"
		  "'Ingress']}", "more than two" },
		{ "{'podSelector':{},'policyTypes':['Both']}",
		  "unsupported value" },
		{ "{'podSelector':{'matchExpressions':[{'key':'a','operator':"
		  "'In'}]}}", "spec.podSelector" },
		{ "{'podSelector':{},'ingress':{}}", "expected array" },
	};
	const char *p;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = first_problem(bad[i][0]);
		if (!strstr(p, bad[i][1]) || !strstr(p, "NetworkPolicy x/bad"))
			fprintf(stderr, "case %u: %s\n", i, p);
		CHECK(strstr(p, bad[i][1]) != NULL);
		CHECK(strstr(p, "NetworkPolicy x/bad: ") == p);
	}
	/* the rest of the List still counts */
	CHECK_INT(L.npods, 4);
}

static void test_invalid_pods_and_lists(void)
{
	struct json_err e;
	const char *t;

	CHECK_INT(build("{'kind':'Pod','metadata':{'name':'p','namespace':"
			"'x'},'status':{'podIP':'10.0.0.300'}},{'kind':'Pod',"
			"'metadata':{'name':'Q','namespace':'x'}},"
			"{'kind':'Service','metadata':{'name':'s'}},7", NULL),
		  0);
	CHECK_INT(L.nproblems, 3);
	CHECK(strstr(L.problems[0], "Pod x/p: status.podIP") != NULL);
	CHECK(strstr(L.problems[1], "invalid pod name") != NULL);
	CHECK(strstr(L.problems[2], "not an object") != NULL);
	CHECK_INT(L.nignored, 1);
	CHECK_INT(L.npods, 4);
	t = "{\"kind\":\"List\",\"items\":7}";
	CHECK(kobj_parse_list(&A, t, strlen(t), &L, &e) == -EINVAL);
	t = "{\"kind\":\"List\",\"items\":[";
	CHECK(kobj_parse_list(&A, t, strlen(t), &L, &e) < 0);
	t = "{\"kind\":\"NetworkPolicyList\",\"items\":[{\"metadata\":{"
	    "\"name\":\"p\",\"namespace\":\"x\"},\"spec\":{}}]}";
	CHECK(kobj_parse_list(&A, t, strlen(t), &L, &e) == 0);
	CHECK_INT(L.nnps, 1);
	t = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}";
	CHECK(kobj_parse_list(&A, t, strlen(t), &L, &e) == 0);
	CHECK_INT(L.npods, 1);
	CHECK_STR(L.pods[0].ns, "default");
}

/* --- ranges and boxes ---------------------------------------------------- */

static struct np_range rng(const char *lo, const char *hi)
{
	struct np_range r;

	ip_parse(lo, &r.lo);
	ip_parse(hi, &r.hi);
	return r;
}

static void test_ranges(void)
{
	struct np_range r[4], out[4], base;
	struct ipnet n;
	int k;

	r[0] = rng("10.0.0.5", "10.0.0.9");
	r[1] = rng("10.0.0.0", "10.0.0.4");	/* adjacent */
	r[2] = rng("10.0.0.8", "10.0.0.20");	/* overlapping */
	r[3] = rng("10.0.1.0", "10.0.1.0");
	CHECK_INT(np_ranges_merge(r, 4), 2);
	CHECK(!np_range_cmp(&r[0], &(struct np_range){ r[0].lo, r[0].hi }));
	CHECK_INT(r[0].lo.b[3], 0);
	CHECK_INT(r[0].hi.b[3], 20);
	base = rng("10.0.0.0", "10.0.1.255");
	k = np_range_subtract(&base, r, 2, out);
	CHECK_INT(k, 2);
	CHECK_INT(out[0].lo.b[3], 21);
	CHECK_INT(out[0].hi.b[2], 0);
	CHECK_INT(out[1].lo.b[3], 1);
	CHECK_INT(out[1].lo.b[2], 1);
	ipnet_parse("10.1.0.0/16", &n);
	np_range_of_net(&n, &base);
	CHECK_INT(np_range_prefix(&base), 16);
	base = rng("10.0.0.1", "10.0.0.2");
	CHECK_INT(np_range_prefix(&base), -1);
	np_range_full(NP_V6, &base);
	CHECK_INT(np_range_prefix(&base), 0);
	base = rng("255.255.255.255", "255.255.255.255");
	r[0] = base;
	r[1] = rng("255.255.255.0", "255.255.255.254");
	CHECK_INT(np_ranges_merge(r, 2), 1);	/* no wrap at the top */
}

/* random boxes over a small space: the normalized set is disjoint and
 * covers exactly the same points */
static int covered(const struct np_box *b, int n, int a, int p, int port)
{
	int i;

	for (i = 0; i < n; i++)
		if (b[i].addr.lo.b[3] <= a && a <= b[i].addr.hi.b[3] &&
		    b[i].proto == p && b[i].plo <= port && port <= b[i].phi)
			return 1;
	return 0;
}

static int count_covering(const struct np_box *b, int n, int a, int p,
			  int port)
{
	int i, hits = 0;

	for (i = 0; i < n; i++)
		hits += covered(&b[i], 1, a, p, port);
	return hits;
}

static void test_boxes_property(void)
{
	struct np_box in[12], *out;
	int round, i, nin, n, a, p, port, hits, bad = 0;

	srand(7);
	for (round = 0; round < 300 && !bad; round++) {
		nin = 1 + rand() % 12;
		for (i = 0; i < nin; i++) {
			int lo = rand() % 16, hi = lo + rand() % 6;
			int plo = rand() % 20, phi = plo + rand() % 8;

			memset(&in[i], 0, sizeof(in[i]));
			in[i].addr = rng("10.0.0.0", "10.0.0.0");
			in[i].addr.lo.b[3] = (uint8_t)lo;
			in[i].addr.hi.b[3] = (uint8_t)hi;
			in[i].proto = rand() % 2 ? TCP : UDP;
			in[i].plo = (uint16_t)plo;
			in[i].phi = (uint16_t)phi;
		}
		n = np_boxes_normalize(in, nin, &out);
		if (n <= 0) {
			bad = 1;
			break;
		}
		for (a = 0; a < 24; a++)
			for (p = 0; p < 2; p++)
				for (port = 0; port < 30; port++) {
					int proto = p ? TCP : UDP;

					hits = count_covering(out, n, a, proto,
							      port);
					if (hits > 1 || (hits == 1) !=
					    covered(in, nin, a, proto, port))
						bad++;
				}
		free(out);
	}
	CHECK_INT(bad, 0);
}

static void test_boxes_exact(void)
{
	struct np_box in[3], *out;
	int n, i, a, port, want, got, bad = 0;

	for (i = 0; i < 3; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].proto = TCP;
	}
	in[0].addr = rng("10.0.0.1", "10.0.0.5");
	in[0].plo = 80, in[0].phi = 90;
	in[1].addr = rng("10.0.0.3", "10.0.0.9");
	in[1].plo = 85, in[1].phi = 100;
	in[2].addr = rng("10.0.0.6", "10.0.0.6");
	in[2].plo = 80, in[2].phi = 84;
	n = np_boxes_normalize(in, 3, &out);
	CHECK(n > 0);
	for (a = 0; a < 12 && n > 0; a++)
		for (port = 75; port < 105; port++) {
			want = covered(in, 3, a, TCP, port);
			got = count_covering(out, n, a, TCP, port);
			if (got != want)
				bad++;
		}
	CHECK_INT(bad, 0);
	free(out);
}

/* --- output -------------------------------------------------------------- */

static void test_render_and_batch(void)
{
	struct np_nft_stats st;
	struct nft_batch b;
	static char buf[1 << 16];
	char *text = NULL;
	size_t len = 0;

	CHECK_INT(build(policy("x", "p", "{'podSelector':{'matchLabels':"
		"{'pod':'a'}},'ingress':[{'from':[{'ipBlock':{'cidr':"
		"'10.0.0.0/8'}}],'ports':[{'port':80,'endPort':81}]}],"
		"'egress':[{}]}"), NULL), 0);
	CHECK_INT(np_nft_render(&RS, &text, &len), 0);
	CHECK(text && strstr(text, "table inet vpcnet_netpolicy {"));
	CHECK(text && strstr(text, "10.0.0.1 : jump in_0,\t# x/a"));
	CHECK(text && strstr(text, "10.0.0.0/8 . tcp . 80-81,"));
	CHECK(text && strstr(text, "ip saddr . meta l4proto . th dport "
			     "@in_0_p4 accept"));
	CHECK(text && strstr(text, "ct direction reply ct state "
			     "established accept"));
	CHECK(text && strstr(text, "0.0.0.0/0,"));	/* egress: all */
	free(text);
	nft_batch_init(&b, buf, sizeof(buf));
	CHECK_INT(np_nft_build(&b, &RS, &st), 0);
	CHECK_INT(st.chains, 3);
	CHECK(st.msgs > 10 && st.bytes > 500);
	nft_batch_init(&b, buf, 512);
	CHECK_INT(np_nft_build(&b, &RS, &st), -EMSGSIZE);
}

int main(void)
{
	arena_init(&A);
	RUN(test_no_policy);
	RUN(test_deny_all_ingress);
	RUN(test_deny_all_egress);
	RUN(test_allow_all_and_union);
	RUN(test_pod_and_ns_selectors);
	RUN(test_and_vs_or);
	RUN(test_ports);
	RUN(test_named_ports);
	RUN(test_named_egress);
	RUN(test_ipblock);
	RUN(test_types_default_and_isolation);
	RUN(test_both_ends);
	RUN(test_host_network_and_finished);
	RUN(test_node_scope);
	RUN(test_duplicate_address);
	RUN(test_missing_namespace_object);
	RUN(test_invalid_policies);
	RUN(test_invalid_pods_and_lists);
	RUN(test_ranges);
	RUN(test_boxes_property);
	RUN(test_boxes_exact);
	RUN(test_render_and_batch);
	arena_free_all(&A);
	return test_done();
}
