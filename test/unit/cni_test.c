#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni.h"
#include "test.h"

static struct arena A;

static int conf(struct cni_conf *c, const char *s, enum cni_cmd cmd,
		struct cni_error *e)
{
	memset(e, 0, sizeof(*e));
	return cni_conf_parse(c, &A, s, strlen(s), cmd, e);
}

/* Parse s for cmd and return the CNI error code (0 on success). */
static int conf_code(const char *s, enum cni_cmd cmd)
{
	struct cni_conf c;
	struct cni_error e;

	return conf(&c, s, cmd, &e) < 0 ? e.code : 0;
}

#define BASE "\"cniVersion\":\"1.1.0\",\"name\":\"cbr0\",\"type\":\"flannel\""

/* ---- versions -------------------------------------------------------- */

static void test_versions(void)
{
	struct cni_error e;

	CHECK(cni_version_supported("0.3.0"));
	CHECK(cni_version_supported("0.3.1"));
	CHECK(cni_version_supported("0.4.0"));
	CHECK(cni_version_supported("1.0.0"));
	CHECK(cni_version_supported("1.1.0"));
	CHECK(!cni_version_supported("0.1.0"));
	CHECK(!cni_version_supported("0.2.0"));
	CHECK(!cni_version_supported("1.2.0"));
	CHECK(!cni_version_supported("1.0"));
	CHECK(!cni_version_supported(""));
	CHECK(!cni_version_supported(NULL));
	CHECK(cni_version_cmp("0.3.1", "1.0.0") < 0);
	CHECK(cni_version_cmp("1.1.0", "1.0.0") > 0);
	CHECK(cni_version_cmp("0.10.0", "0.9.0") > 0);
	CHECK_INT(cni_version_cmp("1.1.0", "1.1.0"), 0);
	CHECK(cni_version_cmp("junk", "0.1.0") < 0);
	CHECK_INT(cni_version_check("1.0.0", &e), 0);
	CHECK_INT(cni_version_check("0.2.0", &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_VERSION);
	CHECK_STR(e.msg, "incompatible CNI versions");
	CHECK_STR(e.details, "config is \"0.2.0\", plugin supports "
			     "[\"0.3.0\" \"0.3.1\" \"0.4.0\" \"1.0.0\" \"1.1.0\"]");
	CHECK_INT(cni_version_check(NULL, &e), -EINVAL);
	CHECK(strstr(e.details, "config is \"0.1.0\"") != NULL);
	CHECK_STR(cni_version_sniff(&A, "{\"cniVersion\":\"0.4.0\"}", 22),
		  "0.4.0");
	CHECK(cni_version_sniff(&A, "{", 1) == NULL);
}

static void test_version_matrix(void)
{
	CHECK_INT(conf_code("{\"cniVersion\":\"0.3.0\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_ADD), 0);
	CHECK_INT(conf_code("{\"cniVersion\":\"0.3.1\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_ADD), 0);
	CHECK_INT(conf_code("{\"cniVersion\":\"0.4.0\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_CHECK), 0);
	CHECK_INT(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_DEL), 0);
	CHECK_INT(conf_code("{\"cniVersion\":\"0.1.0\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_ADD), CNI_ERR_VERSION);
	CHECK_INT(conf_code("{\"cniVersion\":\"0.2.0\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_ADD), CNI_ERR_VERSION);
	CHECK_INT(conf_code("{\"cniVersion\":\"9.9.9\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_ADD), CNI_ERR_VERSION);
	CHECK_INT(conf_code("{\"name\":\"n\",\"type\":\"t\"}", CNI_CMD_ADD),
		  CNI_ERR_VERSION);
	/* GC and STATUS need 1.1.0 */
	CHECK_INT(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_GC), CNI_ERR_VERSION);
	CHECK_INT(conf_code("{\"cniVersion\":\"0.4.0\",\"name\":\"n\","
			    "\"type\":\"t\"}", CNI_CMD_STATUS), CNI_ERR_VERSION);
	CHECK_INT(conf_code("{" BASE "}", CNI_CMD_GC), 0);
	CHECK_INT(conf_code("{" BASE "}", CNI_CMD_STATUS), 0);
}

static void test_conf_bad_input(void)
{
	struct cni_conf c;
	struct cni_error e;

	CHECK_INT(conf_code("not json", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_INT(conf_code("", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_INT(conf_code("[]", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_INT(conf_code("{" BASE "} {}", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_INT(conf_code("{" BASE ",}", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_INT(conf_code("{\"cniVersion\":\"1.0.0\",\"type\":\"t\"}",
			    CNI_CMD_ADD), CNI_ERR_CONFIG);
	CHECK_INT(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"\","
			    "\"type\":\"t\"}", CNI_CMD_ADD), CNI_ERR_CONFIG);
	CHECK_INT(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}",
			    CNI_CMD_ADD), CNI_ERR_CONFIG);
	CHECK_INT(conf_code("{\"cniVersion\":1,\"name\":\"n\",\"type\":\"t\"}",
			    CNI_CMD_ADD), CNI_ERR_CONFIG);
	CHECK_INT(conf(&c, "{\"cniVersion\":\"1.0.0\",\"name\":\"../etc\","
		       "\"type\":\"t\"}", CNI_CMD_ADD, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_CONFIG);
	CHECK_STR(e.msg, "invalid characters found in network name");
	CHECK_INT(conf(&c, "{\"cniVersion\":\"1.0.0\",\"name\":5,"
		       "\"type\":\"t\"}", CNI_CMD_ADD, &e), -EINVAL);
	CHECK_STR(e.msg, "name: expected string, got number");
	CHECK_INT(conf(&c, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
		       "\"type\":[]}", CNI_CMD_ADD, &e), -EINVAL);
	CHECK_STR(e.msg, "type: expected string, got array");
	/* the version is known even when a later check fails */
	CHECK_STR(c.cni_version, "1.0.0");
	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":[]}", CNI_CMD_ADD, &e),
		  -EINVAL);
	CHECK_STR(e.msg, "runtimeConfig: expected object, got array");
	CHECK_INT(conf(&c, "{" BASE ",\"args\":{\"cni\":{\"ips\":\"1.2.3.4\"}}}",
		       CNI_CMD_ADD, &e), -EINVAL);
	CHECK_STR(e.msg, "args.cni.ips: expected array, got string");
	CHECK_INT(conf(&c, "{" BASE ",\"dns\":{\"nameservers\":[1]}}",
		       CNI_CMD_ADD, &e), -EINVAL);
	CHECK_STR(e.msg, "dns.nameservers: expected string, got number");
}

static void test_conf_common(void)
{
	struct cni_conf c;
	struct cni_error e;
	const char *s;

	CHECK_INT(conf(&c, "{" BASE ",\"subnetFile\":\"/run/x.env\","
		       "\"delegate\":{\"hairpinMode\":true},"
		       "\"dns\":{\"nameservers\":[\"10.0.0.10\"],"
		       "\"domain\":\"cluster.local\",\"search\":[\"a\",\"b\"]}}",
		       CNI_CMD_ADD, &e), 0);
	CHECK_STR(c.cni_version, "1.1.0");
	CHECK_STR(c.name, "cbr0");
	CHECK_STR(c.type, "flannel");
	CHECK_INT(c.runtime_config, -1);
	CHECK_INT(c.prev, -1);
	CHECK(!c.bandwidth.set);
	CHECK_INT(c.n_rc_ips, 0);
	CHECK(c.rc_mac == NULL);
	CHECK_INT(json_get_str(&c.doc, 0, "subnetFile", &s, NULL), 0);
	CHECK_STR(s, "/run/x.env");
	CHECK_INT(json_typeof(&c.doc, json_path(&c.doc, 0,
						"delegate.hairpinMode")),
		  JSON_TRUE);
	CHECK_INT(c.dns.n_nameservers, 1);
	CHECK_STR(c.dns.nameservers[0], "10.0.0.10");
	CHECK_STR(c.dns.domain, "cluster.local");
	CHECK_INT(c.dns.n_search, 2);
	CHECK_STR(c.dns.search[1], "b");
}

static void test_runtime_config(void)
{
	struct cni_conf c;
	struct cni_error e;
	char buf[IPNET_STRLEN];

	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":{\"bandwidth\":"
		       "{\"ingressRate\":1000000,\"ingressBurst\":4294967295,"
		       "\"egressRate\":18446744073709551615,\"egressBurst\":0},"
		       "\"ips\":[\"10.1.2.3/24\",\"fd00::5\"],"
		       "\"mac\":\"0a:58:0A:f4:01:02\",\"portMappings\":[]},"
		       "\"args\":{\"cni\":{\"ips\":[\"10.9.9.9\"],"
		       "\"mac\":\"02-00-00-00-00-01\"}}}", CNI_CMD_ADD, &e), 0);
	CHECK(c.runtime_config >= 0);
	CHECK(c.bandwidth.set);
	CHECK(c.bandwidth.ingress_rate == 1000000);
	CHECK(c.bandwidth.ingress_burst == 4294967295u);
	CHECK(c.bandwidth.egress_rate == UINT64_MAX);
	CHECK(c.bandwidth.egress_burst == 0);
	CHECK_INT(c.n_rc_ips, 2);
	CHECK_STR(ipnet_fmt(&c.rc_ips[0], buf), "10.1.2.3/24");
	CHECK_STR(ipnet_fmt(&c.rc_ips[1], buf), "fd00::5/128");
	CHECK_STR(c.rc_mac, "0a:58:0A:f4:01:02");
	CHECK_INT(c.n_args_ips, 1);
	CHECK_STR(ipnet_fmt(&c.args_ips[0], buf), "10.9.9.9/32");
	CHECK_STR(c.args_mac, "02-00-00-00-00-01");
	/* bad values name the key */
	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":{\"bandwidth\":"
		       "{\"ingressRate\":\"1M\"}}}", CNI_CMD_ADD, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_CONFIG);
	CHECK_STR(e.msg, "runtimeConfig.bandwidth.ingressRate: expected "
			 "unsigned integer, got string");
	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":{\"bandwidth\":"
		       "{\"egressBurst\":-1}}}", CNI_CMD_ADD, &e), -EINVAL);
	CHECK_STR(e.msg, "runtimeConfig.bandwidth.egressBurst: -1 out of range");
	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":{\"bandwidth\":"
		       "{\"egressRate\":18446744073709551616}}}", CNI_CMD_ADD,
		       &e), -EINVAL);
	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":{\"ips\":"
		       "[\"10.1.2.300\"]}}", CNI_CMD_ADD, &e), -EINVAL);
	CHECK_STR(e.msg, "runtimeConfig.ips: invalid IP \"10.1.2.300\"");
	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":{\"mac\":\"0a:58\"}}",
		       CNI_CMD_ADD, &e), -EINVAL);
	CHECK_STR(e.msg, "runtimeConfig.mac: invalid MAC \"0a:58\"");
	CHECK_INT(conf(&c, "{" BASE ",\"runtimeConfig\":{\"bandwidth\":null,"
		       "\"ips\":null}}", CNI_CMD_ADD, &e), 0);
	CHECK(!c.bandwidth.set);
}

static void test_mac_parse(void)
{
	uint8_t m[6];

	CHECK_INT(cni_mac_parse("0a:58:0a:f4:01:FF", m), 0);
	CHECK_INT(m[0], 0x0a);
	CHECK_INT(m[5], 0xff);
	CHECK_INT(cni_mac_parse("0a-58-0a-f4-01-02", m), 0);
	CHECK(cni_mac_parse("0a:58-0a:f4:01:02", m) < 0);
	CHECK(cni_mac_parse("0a:58:0a:f4:01", m) < 0);
	CHECK(cni_mac_parse("0a:58:0a:f4:01:0g", m) < 0);
	CHECK(cni_mac_parse("0a:58:0a:f4:01:020", m) < 0);
	CHECK(cni_mac_parse("", m) < 0);
}

/* ---- prevResult ------------------------------------------------------ */

static const char *const PREV_031 =
	"{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"cni0\","
	"\"mac\":\"00:11:22:33:44:55\"},{\"name\":\"veth3243\","
	"\"mac\":\"55:44:33:22:11:11\"},{\"name\":\"eth0\","
	"\"mac\":\"99:88:77:66:55:44\",\"sandbox\":\"/var/run/netns/blue\"}],"
	"\"ips\":[{\"version\":\"4\",\"interface\":2,"
	"\"address\":\"10.1.0.5/16\",\"gateway\":\"10.1.0.1\"}],"
	"\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
	"\"dns\":{\"nameservers\":[\"10.1.0.1\"]}}";

static void test_prev_result(void)
{
	struct cni_conf c;
	struct cni_error e;
	char *s, buf[IPNET_STRLEN];
	const struct cni_result *r = &c.prev_result;

	s = arena_printf(&A, "{" BASE ",\"prevResult\": %s }", PREV_031);
	CHECK_INT(conf(&c, s, CNI_CMD_CHECK, &e), 0);
	CHECK(c.prev >= 0);
	CHECK_INT(c.prev_raw_len, strlen(PREV_031));
	CHECK(!strncmp(c.prev_raw, PREV_031, c.prev_raw_len));
	CHECK_INT(r->n_ifaces, 3);
	CHECK_STR(r->ifaces[0].name, "cni0");
	CHECK(r->ifaces[0].sandbox == NULL);
	CHECK_STR(r->ifaces[2].sandbox, "/var/run/netns/blue");
	CHECK_INT(r->n_ips, 1);
	CHECK_INT(r->ips[0].iface, 2);
	CHECK_STR(ipnet_fmt(&r->ips[0].address, buf), "10.1.0.5/16");
	CHECK_STR(ip_fmt(&r->ips[0].gateway, buf), "10.1.0.1");
	CHECK_INT(r->n_routes, 1);
	CHECK_STR(ipnet_fmt(&r->routes[0].dst, buf), "0.0.0.0/0");
	CHECK_INT(r->routes[0].gw.family, 0);
	CHECK_INT(r->routes[0].table, -1);
	CHECK_INT(r->dns.n_nameservers, 1);

	/* an IPAM-style (abbreviated) 1.0.0 result, v6, route options */
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":{\"cniVersion\":\"1.1.0\","
		       "\"ips\":[{\"address\":\"fd00::5/64\",\"gateway\":\"fd00::1\"}],"
		       "\"routes\":[{\"dst\":\"::/0\",\"gw\":\"fd00::1\","
		       "\"table\":100,\"scope\":0,\"mtu\":1400}]}}",
		       CNI_CMD_DEL, &e), 0);
	CHECK_INT(r->n_ifaces, 0);
	CHECK_INT(r->ips[0].iface, -1);
	CHECK_INT(r->ips[0].address.ip.family, AF_INET6);
	CHECK_INT(r->routes[0].table, 100);
	CHECK_INT(r->routes[0].scope, 0);
	CHECK_INT(r->routes[0].mtu, 1400);
	CHECK_INT(r->routes[0].priority, -1);

	/* an empty prevResult (DEL may get one) and null */
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":{}}", CNI_CMD_DEL, &e), 0);
	CHECK(c.prev >= 0);
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":null}", CNI_CMD_DEL, &e),
		  0);
	CHECK_INT(c.prev, -1);

	/* malformed ones name the key */
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":{\"ips\":[{\"address\":"
		       "\"10.1.0.5\"}]}}", CNI_CMD_DEL, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_CONFIG);
	CHECK_STR(e.msg, "prevResult.ips[].address: invalid CIDR \"10.1.0.5\"");
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":{\"ips\":[{}]}}",
		       CNI_CMD_DEL, &e), -EINVAL);
	CHECK_STR(e.msg, "prevResult.ips[].address: missing");
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":{\"interfaces\":"
		       "[{\"name\":\"x\",\"mtu\":\"9000\"}]}}", CNI_CMD_DEL, &e),
		  -EINVAL);
	CHECK_STR(e.msg, "prevResult.interfaces[].mtu: expected integer, got "
			 "string");
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":{\"ips\":[{\"address\":"
		       "\"10.0.0.2/24\",\"interface\":-1}]}}", CNI_CMD_DEL, &e),
		  -EINVAL);
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":[]}", CNI_CMD_DEL, &e),
		  -EINVAL);
	CHECK_STR(e.msg, "prevResult: expected object, got array");
	CHECK_INT(conf(&c, "{" BASE ",\"prevResult\":{\"routes\":[{\"dst\":"
		       "\"0.0.0.0/0\",\"gw\":\"x\"}]}}", CNI_CMD_DEL, &e),
		  -EINVAL);
	CHECK_STR(e.msg, "prevResult.routes[].gw: invalid IP \"x\"");
}

/* ---- GC attachments --------------------------------------------------- */

static void test_gc_attachments(void)
{
	struct cni_conf c;
	struct cni_error e;

	CHECK_INT(conf(&c, "{" BASE ",\"cni.dev/valid-attachments\":["
		       "{\"containerID\":\"abc\",\"ifname\":\"eth0\"},"
		       "{\"containerID\":\"def\",\"ifname\":\"net1\"}],"
		       "\"cni.dev/attachments\":[{\"containerID\":\"zzz\","
		       "\"ifname\":\"eth0\"}]}", CNI_CMD_GC, &e), 0);
	CHECK(c.has_attachments);
	CHECK_INT(c.n_attachments, 2);
	CHECK(cni_attachment_valid(&c, "abc", "eth0"));
	CHECK(cni_attachment_valid(&c, "def", "net1"));
	CHECK(!cni_attachment_valid(&c, "def", "eth0"));
	CHECK(!cni_attachment_valid(&c, "zzz", "eth0"));
	/* the older key alone (the spec-v1.1.0 text) */
	CHECK_INT(conf(&c, "{" BASE ",\"cni.dev/attachments\":["
		       "{\"containerID\":\"zzz\",\"ifname\":\"eth0\"}]}",
		       CNI_CMD_GC, &e), 0);
	CHECK(c.has_attachments);
	CHECK(cni_attachment_valid(&c, "zzz", "eth0"));
	/* an empty list means nothing is valid; no key at all is distinct */
	CHECK_INT(conf(&c, "{" BASE ",\"cni.dev/valid-attachments\":[]}",
		       CNI_CMD_GC, &e), 0);
	CHECK(c.has_attachments);
	CHECK_INT(c.n_attachments, 0);
	CHECK_INT(conf(&c, "{" BASE "}", CNI_CMD_GC, &e), 0);
	CHECK(!c.has_attachments);
	/* only read for GC */
	CHECK_INT(conf(&c, "{" BASE ",\"cni.dev/valid-attachments\":5}",
		       CNI_CMD_ADD, &e), 0);
	CHECK_INT(conf(&c, "{" BASE ",\"cni.dev/valid-attachments\":5}",
		       CNI_CMD_GC, &e), -EINVAL);
	CHECK_STR(e.msg, "cni.dev/valid-attachments: expected array, got "
			 "number");
	CHECK_INT(conf(&c, "{" BASE ",\"cni.dev/valid-attachments\":"
		       "[{\"containerID\":\"a\"}]}", CNI_CMD_GC, &e), -EINVAL);
	CHECK_STR(e.msg, "cni.dev/valid-attachments[0].ifname: missing");
	CHECK_INT(conf(&c, "{" BASE ",\"cni.dev/valid-attachments\":[\"a\"]}",
		       CNI_CMD_GC, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_CONFIG);
}

/* ---- environment ------------------------------------------------------ */

static int env(struct cni_env *v, struct cni_error *e, ...)
{
	char *envp[16];
	va_list ap;
	int n = 0;

	va_start(ap, e);
	while (n < 15 && (envp[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	envp[n] = NULL;
	memset(e, 0, sizeof(*e));
	return cni_env_read(v, envp, e);
}

#define ENV_ADD "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc123", \
	"CNI_NETNS=/run/netns/x", "CNI_PATH=/opt/cni/bin"

static void test_env(void)
{
	struct cni_env v;
	struct cni_error e;

	CHECK_INT(env(&v, &e, ENV_ADD, "CNI_IFNAME=eth0",
		      "CNI_ARGS=IgnoreUnknown=1", "OTHER=1", NULL), 0);
	CHECK_INT(v.cmd, CNI_CMD_ADD);
	CHECK_STR(v.containerid, "abc123");
	CHECK_STR(v.netns, "/run/netns/x");
	CHECK_STR(v.ifname, "eth0");
	CHECK_STR(v.args, "IgnoreUnknown=1");
	CHECK_STR(v.path, "/opt/cni/bin");
	/* missing ones are listed together */
	CHECK_INT(env(&v, &e, "CNI_COMMAND=ADD", NULL), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_ENV);
	CHECK_STR(e.msg, "required env variables [CNI_CONTAINERID,CNI_NETNS,"
			 "CNI_IFNAME,CNI_PATH] missing");
	CHECK_INT(env(&v, &e, "CNI_COMMAND=CHECK", "CNI_CONTAINERID=a",
		      "CNI_NETNS=", "CNI_IFNAME=eth0", "CNI_PATH=/x", NULL),
		  -EINVAL);
	CHECK_STR(e.msg, "required env variables [CNI_NETNS] missing");
	CHECK_INT(env(&v, &e, NULL), -EINVAL);
	CHECK_STR(e.msg, "required env variables [CNI_COMMAND] missing");
	CHECK_INT(env(&v, &e, "CNI_COMMAND=add", NULL), -EINVAL);
	CHECK_STR(e.msg, "unknown CNI_COMMAND: add");
	/* DEL: netns optional; GC: path only; STATUS, VERSION: nothing */
	CHECK_INT(env(&v, &e, "CNI_COMMAND=DEL", "CNI_CONTAINERID=a",
		      "CNI_IFNAME=eth0", "CNI_PATH=/x", NULL), 0);
	CHECK(v.netns == NULL);
	CHECK_INT(env(&v, &e, "CNI_COMMAND=GC", "CNI_PATH=/x", NULL), 0);
	CHECK_INT(v.cmd, CNI_CMD_GC);
	CHECK_INT(env(&v, &e, "CNI_COMMAND=GC", NULL), -EINVAL);
	CHECK_STR(e.msg, "required env variables [CNI_PATH] missing");
	CHECK_INT(env(&v, &e, "CNI_COMMAND=STATUS", NULL), 0);
	CHECK_INT(env(&v, &e, "CNI_COMMAND=VERSION", "CNI_IFNAME=a/b", NULL),
		  0);
	CHECK_INT(v.cmd, CNI_CMD_VERSION);
	/* container ID */
	CHECK_INT(env(&v, &e, "CNI_COMMAND=ADD", "CNI_CONTAINERID=-abc",
		      "CNI_NETNS=/n", "CNI_IFNAME=eth0", "CNI_PATH=/x", NULL),
		  -EINVAL);
	CHECK_INT(e.code, CNI_ERR_ENV);
	CHECK_STR(e.msg, "CNI_CONTAINERID: invalid characters in containerID");
	CHECK_STR(e.details, "-abc");
	CHECK_INT(env(&v, &e, "CNI_COMMAND=DEL", "CNI_CONTAINERID=a/../b",
		      "CNI_IFNAME=eth0", "CNI_PATH=/x", NULL), -EINVAL);
	CHECK_INT(env(&v, &e, "CNI_COMMAND=DEL", "CNI_CONTAINERID=A1_b.c-d",
		      "CNI_IFNAME=eth0", "CNI_PATH=/x", NULL), 0);
	CHECK_INT(env(&v, &e, ENV_ADD, "CNI_IFNAME=eth0/1", NULL), -EINVAL);
	CHECK_STR(e.msg, "CNI_IFNAME: interface name contains / or : or "
			 "whitespace characters");
	CHECK_STR(e.details, "eth0/1");
	CHECK_INT(env(&v, &e, ENV_ADD, "CNI_IFNAME=0123456789abcdef", NULL),
		  -EINVAL);
	CHECK_STR(e.msg, "CNI_IFNAME: interface name is too long");
}

static void test_ifname(void)
{
	const char *why;

	CHECK_INT(cni_ifname_check("eth0", &why), 0);
	CHECK_INT(cni_ifname_check("0123456789abcde", &why), 0);  /* 15 */
	CHECK_INT(cni_ifname_check("0123456789abcdef", &why), -EINVAL);
	CHECK_INT(cni_ifname_check("", &why), -EINVAL);
	CHECK_STR(why, "interface name is empty");
	CHECK_INT(cni_ifname_check(".", &why), -EINVAL);
	CHECK_STR(why, "interface name is . or ..");
	CHECK_INT(cni_ifname_check("..", &why), -EINVAL);
	CHECK_INT(cni_ifname_check("...", &why), 0);
	CHECK_INT(cni_ifname_check("a:b", &why), -EINVAL);
	CHECK_INT(cni_ifname_check("a b", &why), -EINVAL);
	CHECK_INT(cni_ifname_check("a\tb", &why), -EINVAL);
	CHECK_INT(cni_ifname_check("a\nb", &why), -EINVAL);
	CHECK_INT(cni_ifname_check("a\xc2\xa0" "b", &why), -EINVAL); /* NBSP */
	CHECK_INT(cni_ifname_check("a\xe3\x80\x80" "b", &why), -EINVAL);
	CHECK_INT(cni_ifname_check("\xc3\xa9th0", &why), 0);
	CHECK_INT(cni_containerid_check("abc"), 0);
	CHECK(cni_containerid_check("") < 0);
	CHECK(cni_containerid_check("_a") < 0);
	CHECK(cni_containerid_check(".") < 0);
	CHECK(cni_containerid_check("a b") < 0);
	CHECK(cni_netname_check("cbr0") == 0);
	CHECK(cni_netname_check("..") < 0);
}

/* ---- CNI_ARGS ------------------------------------------------------- */

static const char *const KNOWN[] = { CNI_ARGS_K8S, "IP", "MAC", NULL };

static int args(struct cni_args *a, const char *s, struct cni_error *e)
{
	memset(e, 0, sizeof(*e));
	return cni_args_parse(a, &A, s, KNOWN, e);
}

static void test_cni_args(void)
{
	struct cni_args a;
	struct cni_error e;

	CHECK_INT(args(&a, "", &e), 0);
	CHECK_INT(a.n, 0);
	CHECK_INT(args(&a, NULL, &e), 0);
	CHECK_INT(args(&a, "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;"
		       "K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;"
		       "K8S_POD_UID=u-1;FOO=bar", &e), 0);
	CHECK_INT(a.n, 6);
	CHECK(a.ignore_unknown);
	CHECK_STR(cni_args_get(&a, "K8S_POD_NAMESPACE"), "default");
	CHECK_STR(cni_args_get(&a, "K8S_POD_NAME"), "web-0");
	CHECK_STR(cni_args_get(&a, "K8S_POD_UID"), "u-1");
	CHECK(cni_args_get(&a, "k8s_pod_name") == NULL);
	/* unknown keys fail without IgnoreUnknown, wherever it appears */
	CHECK_INT(args(&a, "K8S_POD_NAME=x;FOO=bar", &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_ENV);
	CHECK_STR(e.msg, "CNI_ARGS: unknown arg \"FOO\"");
	CHECK_INT(args(&a, "FOO=bar;IgnoreUnknown=true", &e), 0);
	CHECK_INT(args(&a, "FOO=bar;IgnoreUnknown=TRUE", &e), 0);
	CHECK_INT(args(&a, "FOO=bar;IgnoreUnknown=0", &e), -EINVAL);
	CHECK_INT(args(&a, "FOO=bar;IgnoreUnknown=false", &e), -EINVAL);
	CHECK_INT(args(&a, "IgnoreUnknown=yes", &e), -EINVAL);
	CHECK_STR(e.msg, "CNI_ARGS: IgnoreUnknown: invalid boolean \"yes\"");
	/* malformed pairs */
	CHECK_INT(args(&a, "K8S_POD_NAME", &e), -EINVAL);
	CHECK_STR(e.msg, "CNI_ARGS: invalid pair \"K8S_POD_NAME\"");
	CHECK_INT(args(&a, "IP=1=2", &e), -EINVAL);
	CHECK_INT(args(&a, "IP=10.0.0.1;", &e), -EINVAL);
	CHECK_STR(e.msg, "CNI_ARGS: invalid pair \"\"");
	CHECK_INT(args(&a, "IP=10.0.0.1;;MAC=x", &e), -EINVAL);
	CHECK_INT(args(&a, ";", &e), -EINVAL);
	/* empty values are fine; the last duplicate wins */
	CHECK_INT(args(&a, "K8S_POD_NAME=;IP=10.0.0.1;IP=10.0.0.2", &e), 0);
	CHECK_STR(cni_args_get(&a, "K8S_POD_NAME"), "");
	CHECK_STR(cni_args_get(&a, "IP"), "10.0.0.2");
	CHECK_INT(args(&a, "=x", &e), -EINVAL);
	/* NULL known list: everything goes */
	CHECK_INT(cni_args_parse(&a, &A, "A=1;B=2", NULL, &e), 0);
	CHECK_STR(cni_args_get(&a, "B"), "2");
}

/* ---- output ------------------------------------------------------------ */

/* Capture what fn writes to a FILE. */
static char *capture_buf;
static size_t capture_len;

static FILE *cap_open(void)
{
	free(capture_buf);
	capture_buf = NULL;
	return open_memstream(&capture_buf, &capture_len);
}

static void test_error_print(void)
{
	struct cni_error e;
	FILE *f;

	cni_errf(&e, CNI_ERR_CONFIG, "Invalid Configuration");
	cni_err_details(&e, "Network %s too small to allocate from.",
			"192.168.0.0/31");
	f = cap_open();
	cni_error_print(f, "1.1.0", &e);
	fclose(f);
	CHECK_STR(capture_buf,
		  "{\n"
		  "    \"cniVersion\": \"1.1.0\",\n"
		  "    \"code\": 7,\n"
		  "    \"msg\": \"Invalid Configuration\",\n"
		  "    \"details\": \"Network 192.168.0.0/31 too small to "
		  "allocate from.\"\n"
		  "}\n");
	cni_errf(&e, CNI_ERR_ENV, "bad \"quote\"\n");
	f = cap_open();
	cni_error_print(f, NULL, &e);
	fclose(f);
	CHECK_STR(capture_buf,
		  "{\n"
		  "    \"cniVersion\": \"1.1.0\",\n"
		  "    \"code\": 4,\n"
		  "    \"msg\": \"bad \\\"quote\\\"\\n\"\n"
		  "}\n");
}

static void test_version_print(void)
{
	FILE *f = cap_open();

	cni_version_print(f, "1.0.0");
	fclose(f);
	CHECK_STR(capture_buf, "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
			       "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\","
			       "\"1.1.0\"]}\n");
	f = cap_open();
	cni_version_print(f, NULL);
	fclose(f);
	CHECK(!strncmp(capture_buf, "{\"cniVersion\":\"1.1.0\",", 22));
}

/* The spec's example result (SPEC.md "Success"), built by hand. */
static void spec_result(struct cni_result *r)
{
	static const char *ns[] = { "10.1.0.1" };
	struct cni_iface *f;
	struct cni_ip *ip;
	struct cni_route *rt;

	memset(r, 0, sizeof(*r));
	f = cni_result_add_iface(r, &A);
	f->name = "cni0";
	f->mac = "00:11:22:33:44:55";
	f = cni_result_add_iface(r, &A);
	f->name = "veth3243";
	f->mac = "55:44:33:22:11:11";
	f = cni_result_add_iface(r, &A);
	f->name = "eth0";
	f->mac = "99:88:77:66:55:44";
	f->sandbox = "/var/run/netns/blue";
	f->mtu = 1450;
	ip = cni_result_add_ip(r, &A);
	ipnet_parse("10.1.0.5/16", &ip->address);
	ip_parse("10.1.0.1", &ip->gateway);
	ip->iface = 2;
	rt = cni_result_add_route(r, &A);
	ipnet_parse("0.0.0.0/0", &rt->dst);
	r->dns.nameservers = ns;
	r->dns.n_nameservers = 1;
}

static const char *result_json(const struct cni_result *r, const char *v)
{
	struct json_w w;
	const char *out;

	json_w_init(&w, &A, 0);
	cni_result_write(&w, r, v);
	return json_w_finish(&w, &out, NULL) < 0 ? "(error)" : out;
}

#define IFACES_OLD "\"interfaces\":[{\"name\":\"cni0\"," \
	"\"mac\":\"00:11:22:33:44:55\"},{\"name\":\"veth3243\"," \
	"\"mac\":\"55:44:33:22:11:11\"},{\"name\":\"eth0\"," \
	"\"mac\":\"99:88:77:66:55:44\",\"sandbox\":\"/var/run/netns/blue\"}]"
#define TAIL ",\"routes\":[{\"dst\":\"0.0.0.0/0\"}]," \
	"\"dns\":{\"nameservers\":[\"10.1.0.1\"]}}"

static void test_result_shapes(void)
{
	struct cni_result r;
	const char *v;
	int i;

	spec_result(&r);
	for (i = 0; i < 3; i++) {
		v = (const char *[]){ "0.3.0", "0.3.1", "0.4.0" }[i];
		CHECK_STR(result_json(&r, v),
			  arena_printf(&A, "{\"cniVersion\":\"%s\"," IFACES_OLD
				       ",\"ips\":[{\"version\":\"4\","
				       "\"interface\":2,\"address\":"
				       "\"10.1.0.5/16\",\"gateway\":"
				       "\"10.1.0.1\"}]" TAIL, v));
	}
	CHECK_STR(result_json(&r, "1.0.0"),
		  "{\"cniVersion\":\"1.0.0\"," IFACES_OLD
		  ",\"ips\":[{\"interface\":2,\"address\":\"10.1.0.5/16\","
		  "\"gateway\":\"10.1.0.1\"}]" TAIL);
	CHECK_STR(result_json(&r, "1.1.0"),
		  "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\","
		  "\"mac\":\"00:11:22:33:44:55\"},{\"name\":\"veth3243\","
		  "\"mac\":\"55:44:33:22:11:11\"},{\"name\":\"eth0\","
		  "\"mac\":\"99:88:77:66:55:44\",\"mtu\":1450,"
		  "\"sandbox\":\"/var/run/netns/blue\"}],"
		  "\"ips\":[{\"interface\":2,\"address\":\"10.1.0.5/16\","
		  "\"gateway\":\"10.1.0.1\"}]" TAIL);
}

static void test_result_v6_and_options(void)
{
	struct cni_result r;
	struct cni_ip *ip;
	struct cni_route *rt;

	memset(&r, 0, sizeof(r));
	ip = cni_result_add_ip(&r, &A);
	ipnet_parse("fd00:10:244:1::5/64", &ip->address);
	rt = cni_result_add_route(&r, &A);
	ipnet_parse("::/0", &rt->dst);
	ip_parse("fd00:10:244:1::1", &rt->gw);
	rt->table = 0;
	rt->scope = 253;
	rt->mtu = 1400;
	rt->priority = 10;
	CHECK_STR(result_json(&r, "0.4.0"),
		  "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"6\","
		  "\"address\":\"fd00:10:244:1::5/64\"}],\"routes\":[{\"dst\":"
		  "\"::/0\",\"gw\":\"fd00:10:244:1::1\"}],\"dns\":{}}");
	CHECK_STR(result_json(&r, "1.1.0"),
		  "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":"
		  "\"fd00:10:244:1::5/64\"}],\"routes\":[{\"dst\":\"::/0\","
		  "\"gw\":\"fd00:10:244:1::1\",\"mtu\":1400,\"priority\":10,"
		  "\"table\":0,\"scope\":253}],\"dns\":{}}");
	memset(&r, 0, sizeof(r));
	CHECK_STR(result_json(&r, "1.0.0"),
		  "{\"cniVersion\":\"1.0.0\",\"dns\":{}}");
}

static void test_result_roundtrip_and_print(void)
{
	struct cni_result r, back;
	struct json_doc d;
	struct cni_error e;
	const char *s;
	FILE *f;
	int i;

	spec_result(&r);
	for (i = 0; i < 20; i++)	/* force the arrays to grow */
		cni_result_add_route(&r, &A)->dst = r.routes[0].dst;
	s = result_json(&r, "1.1.0");
	CHECK_INT(json_parse(&d, &A, s, strlen(s), NULL, NULL), 0);
	CHECK_INT(cni_result_parse(&back, &d, 0, &A, &e), 0);
	CHECK_INT(back.n_routes, 21);
	CHECK_STR(result_json(&back, "1.1.0"), s);
	f = cap_open();
	CHECK_INT(cni_result_print(f, &r, "0.3.1"), 0);
	fclose(f);
	CHECK(!strncmp(capture_buf, "{\n    \"cniVersion\": \"0.3.1\",\n"
				    "    \"interfaces\": [\n        {\n"
				    "            \"name\": \"cni0\",\n", 80));
	CHECK_INT(capture_buf[capture_len - 1], '\n');
	CHECK_INT(json_parse(&d, &A, capture_buf, capture_len, NULL, NULL), 0);
}

/* ---- stdin and conflists ------------------------------------------------ */

static void test_read_stdin(void)
{
	struct cni_error e;
	char *buf;
	size_t n;
	int p[2];

	CHECK_INT(pipe(p), 0);
	CHECK_INT(write(p[1], "{\"a\":1}", 7), 7);
	close(p[1]);
	CHECK_INT(cni_read_stdin(p[0], &A, CNI_STDIN_MAX, &buf, &n, &e), 0);
	CHECK_INT(n, 7);
	CHECK_STR(buf, "{\"a\":1}");
	close(p[0]);
	CHECK_INT(pipe(p), 0);
	CHECK_INT(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	CHECK_INT(cni_read_stdin(p[0], &A, 9, &buf, &n, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_DECODE);
	close(p[0]);
	CHECK_INT(cni_read_stdin(-1, &A, 9, &buf, &n, &e), -EINVAL);
	CHECK_INT(e.code, CNI_ERR_IO);
}

static void test_conflist(void)
{
	const char *s = "{\"name\":\"cbr0\",\"cniVersion\":\"0.3.1\","
			"\"cniVersions\":[\"0.3.1\",\"1.0.0\",\"9.0.0\"],"
			"\"plugins\":[{\"type\":\"flannel\",\"delegate\":"
			"{\"hairpinMode\":true,\"isDefaultGateway\":true}},"
			"{\"type\":\"portmap\",\"capabilities\":"
			"{\"portMappings\":true}}]}";
	struct cni_conflist l;
	struct cni_error e;
	struct json_w w;
	const char *out;

	CHECK_INT(cni_conflist_parse(&l, &A, s, strlen(s), &e), 0);
	CHECK_STR(l.name, "cbr0");
	CHECK_STR(l.cni_version, "1.0.0");
	CHECK_INT(l.n_plugins, 2);
	json_w_init(&w, &A, 0);
	CHECK_INT(cni_conflist_plugin(&l, 1, "{\"portMappings\":[]}",
				      "{\"cniVersion\":\"1.0.0\"}", &w), 0);
	CHECK_INT(json_w_finish(&w, &out, NULL), 0);
	CHECK_STR(out, "{\"cniVersion\":\"1.0.0\",\"name\":\"cbr0\","
		       "\"type\":\"portmap\",\"capabilities\":"
		       "{\"portMappings\":true},\"runtimeConfig\":"
		       "{\"portMappings\":[]},\"prevResult\":"
		       "{\"cniVersion\":\"1.0.0\"}}");
	json_w_init(&w, &A, 0);
	CHECK_INT(cni_conflist_plugin(&l, 2, NULL, NULL, &w), -ENOENT);
	s = "{\"name\":\"x\",\"cniVersion\":\"0.2.0\",\"plugins\":[{\"type\":\"a\"}]}";
	CHECK(cni_conflist_parse(&l, &A, s, strlen(s), &e) < 0);
	CHECK_INT(e.code, CNI_ERR_VERSION);
	s = "{\"name\":\"x\",\"cniVersion\":\"1.0.0\",\"plugins\":[{}]}";
	CHECK(cni_conflist_parse(&l, &A, s, strlen(s), &e) < 0);
	CHECK_STR(e.msg, "plugins[0]: type: missing");
	s = "{\"name\":\"x\",\"cniVersion\":\"1.0.0\",\"plugins\":[]}";
	CHECK(cni_conflist_parse(&l, &A, s, strlen(s), &e) < 0);
}

/* lib/ipam errors to CNI codes: a full pool is not a full disk */
static void test_ipam_code(void)
{
	CHECK_INT(cni_ipam_code(-EADDRNOTAVAIL), CNI_ERR_TRY_AGAIN);
	CHECK_INT(cni_ipam_code(-ENOSPC), CNI_ERR_IO);
	CHECK_INT(cni_ipam_code(-EROFS), CNI_ERR_IO);
	CHECK_INT(cni_ipam_code(-EACCES), CNI_ERR_IO);
	CHECK_INT(cni_ipam_code(-EINVAL), CNI_ERR_CONFIG);
	CHECK_INT(cni_ipam_code(-EADDRINUSE), CNI_ERR_PLUGIN);
	CHECK_INT(cni_ipam_code(-EEXIST), CNI_ERR_PLUGIN);
}

int main(void)
{
	arena_init(&A);
	RUN(test_versions);
	RUN(test_ipam_code);
	RUN(test_version_matrix);
	RUN(test_conf_bad_input);
	RUN(test_conf_common);
	RUN(test_runtime_config);
	RUN(test_mac_parse);
	RUN(test_prev_result);
	RUN(test_gc_attachments);
	RUN(test_env);
	RUN(test_ifname);
	RUN(test_cni_args);
	RUN(test_error_print);
	RUN(test_version_print);
	RUN(test_result_shapes);
	RUN(test_result_v6_and_options);
	RUN(test_result_roundtrip_and_print);
	RUN(test_read_stdin);
	RUN(test_conflist);
	free(capture_buf);
	arena_free_all(&A);
	return test_done();
}
