/*
 * eniproto: the eni-agent <-> cni-terway protocol v1 codec (both
 * directions, the exact bytes of the encoder, every refusal the decoders
 * make) and the transport (one message each way, deadlines, the client
 * call against a forked server). Sockets in /tmp/eniprotot-*.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eniproto.h"
#include "sock.h"
#include "test.h"

static char err[ENIPROTO_ERRLEN];

static int req_dec(struct eniproto_req *r, const char *s)
{
	return eniproto_req_decode(r, s, strlen(s), err, sizeof(err));
}

static int resp_dec(struct eniproto_resp *r, enum eniproto_op op,
		    const char *s)
{
	return eniproto_resp_decode(r, op, s, strlen(s), err, sizeof(err));
}

static void test_names(void)
{
	CHECK_STR(eniproto_op_name(ENIPROTO_OP_ALLOC), "alloc");
	CHECK_STR(eniproto_op_name(ENIPROTO_OP_INFO), "info");
	CHECK(eniproto_op_name(ENIPROTO_OP_NONE) == NULL);
	CHECK(eniproto_op_name((enum eniproto_op)9) == NULL);
	CHECK_INT(eniproto_mode_parse("eni"), ENIPROTO_MODE_ENI);
	CHECK_INT(eniproto_mode_parse("eniip"), ENIPROTO_MODE_ENIIP);
	CHECK_INT(eniproto_mode_parse("vpc"), ENIPROTO_MODE_VPC);
	CHECK_INT(eniproto_mode_parse("ENI"), ENIPROTO_MODE_NONE);
	CHECK_STR(eniproto_mode_name(ENIPROTO_MODE_VPC), "vpc");
}

static void test_req_encode(void)
{
	struct eniproto_req r = { .op = ENIPROTO_OP_ALLOC };
	char buf[8192];

	strcpy(r.container_id, "abc123");
	strcpy(r.ifname, "eth0");
	strcpy(r.netns, "/var/run/netns/cni-1\"x");
	strcpy(r.ns, "default");
	strcpy(r.name, "web-0");
	CHECK_INT(eniproto_req_encode(&r, buf, sizeof(buf)), 131);
	CHECK_STR(buf, "{\"v\":1,\"op\":\"alloc\",\"containerID\":\"abc123\","
		  "\"ifname\":\"eth0\",\"netns\":\"/var/run/netns/cni-1\\\"x\","
		  "\"namespace\":\"default\",\"name\":\"web-0\"}\n");
	strcpy(r.pod_uid, "u-1");
	CHECK(eniproto_req_encode(&r, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, ",\"podUID\":\"u-1\"}\n") != NULL);
	CHECK_INT(eniproto_req_encode(&r, buf, 40), -ENOSPC);
	r.op = ENIPROTO_OP_RELEASE;
	CHECK(eniproto_req_encode(&r, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "{\"v\":1,\"op\":\"release\",\"containerID\":\"abc123\","
		  "\"ifname\":\"eth0\",\"namespace\":\"default\",\"name\":"
		  "\"web-0\"}\n");
	r.op = ENIPROTO_OP_INFO;
	CHECK(eniproto_req_encode(&r, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "{\"v\":1,\"op\":\"info\"}\n");
	/* what the decoder would refuse is not written */
	r.op = ENIPROTO_OP_ALLOC;
	r.name[0] = 0;
	CHECK_INT(eniproto_req_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.op = ENIPROTO_OP_NONE;
	CHECK_INT(eniproto_req_encode(&r, buf, sizeof(buf)), -EINVAL);
}

static void test_req_decode(void)
{
	struct eniproto_req r;

	CHECK_INT(req_dec(&r, "{\"v\":1,\"op\":\"alloc\",\"containerID\":"
			  "\"c1\",\"ifname\":\"eth0\",\"netns\":\"/n\","
			  "\"namespace\":\"ns\",\"name\":\"p\",\"podUID\":"
			  "\"u\",\"future\":[1,{}]}\n"), 0);
	CHECK_INT(r.op, ENIPROTO_OP_ALLOC);
	CHECK_STR(r.container_id, "c1");
	CHECK_STR(r.netns, "/n");
	CHECK_STR(r.ns, "ns");
	CHECK_STR(r.pod_uid, "u");
	CHECK_INT(req_dec(&r, "{\"v\":1,\"op\":\"release\",\"containerID\":"
			  "\"c1\",\"ifname\":\"eth0\"}"), 0);
	CHECK_INT(r.op, ENIPROTO_OP_RELEASE);
	CHECK_STR(r.ns, "");
	CHECK_INT(req_dec(&r, "{\"op\":\"info\",\"v\":1}"), 0);
	CHECK_INT(r.op, ENIPROTO_OP_INFO);
}

/* each: the input and a piece of the error */
static void test_req_refused(void)
{
	static const char *const bad[][2] = {
	{ "", "not JSON" },
	{ "[1]", "expected a JSON object" },
	{ "{\"op\":\"info\"}", "unsupported protocol version" },
	{ "{\"v\":2,\"op\":\"info\"}", "unsupported protocol version" },
	{ "{\"v\":\"1\",\"op\":\"info\"}", "unsupported protocol" },
	{ "{\"v\":1}", "op: missing" },
	{ "{\"v\":1,\"op\":7}", "op: expected alloc" },
	{ "{\"v\":1,\"op\":\"free\"}", "op \"free\"" },
	{ "{\"v\":1,\"op\":\"alloc\",\"containerID\":\"c\",\"ifname\":"
	  "\"eth0\",\"namespace\":\"n\",\"name\":\"p\"}",
	  "netns: missing" },
	{ "{\"v\":1,\"op\":\"alloc\",\"containerID\":\"c\",\"ifname\":"
	  "\"eth0\",\"netns\":\"/n\",\"name\":\"p\"}",
	  "namespace: missing" },
	{ "{\"v\":1,\"op\":\"release\",\"ifname\":\"eth0\"}",
	  "containerID: missing" },
	{ "{\"v\":1,\"op\":\"release\",\"containerID\":\"\","
	  "\"ifname\":\"eth0\"}", "containerID: empty" },
	{ "{\"v\":1,\"op\":\"release\",\"containerID\":\"c\","
	  "\"ifname\":\"0123456789abcdef\"}", "ifname: longer than 15" },
	{ "{\"v\":1,\"op\":\"release\",\"containerID\":\"a\\u0000b\","
	  "\"ifname\":\"eth0\"}", "containerID" },
	{ "{\"v\":1,\"op\":\"release\",\"containerID\":\"c\","
	  "\"ifname\":[\"eth0\"]}", "ifname: expected string" },
	{ "{\"v\":1,\"op\":\"info\"} {}", "not JSON" },
	};
	struct eniproto_req r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (req_dec(&r, bad[i][0]) >= 0 || !strstr(err, bad[i][1])) {
			fprintf(stderr, "input %s: err \"%s\", want \"%s\"\n",
				bad[i][0], err, bad[i][1]);
			CHECK(0);
		}
	}
	CHECK_INT(req_dec(&r, "{\"v\":3}"), -EPROTONOSUPPORT);
}

static void test_alloc_answers(void)
{
	struct eniproto_resp r;
	char buf[2048], ip[IPNET_STRLEN];
	int n;

	CHECK_INT(resp_dec(&r, ENIPROTO_OP_ALLOC, "{\"v\":1,\"ok\":true,"
		  "\"mode\":\"eniip\",\"ip\":\"10.0.1.7/24\",\"gateway\":"
		  "\"10.0.1.253\",\"eni\":{\"id\":\"eni-1\",\"mac\":"
		  "\"00:16:3E:0a:0b:0c\",\"primaryIP\":\"10.0.1.5\"},\"table\":"
		  "1003,\"serviceCIDR\":\"10.96.0.0/12\",\"ingress\":"
		  "10000000,\"egress\":0,\"extra\":{\"x\":1}}\n"), 0);
	CHECK_INT(r.ok, 1);
	CHECK_INT(r.mode, ENIPROTO_MODE_ENIIP);
	CHECK_STR(ipnet_fmt(&r.ip, ip), "10.0.1.7/24");
	CHECK_INT(r.eni.has_mac, 1);
	CHECK_INT(r.eni.mac[0], 0x00);
	CHECK_INT(r.eni.mac[2], 0x3e);
	CHECK_INT(r.table, 1003);
	CHECK_INT(r.ingress, 10000000);
	CHECK_STR(ipnet_fmt(&r.service_cidr, ip), "10.96.0.0/12");
	n = eniproto_resp_encode(&r, ENIPROTO_OP_ALLOC, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_STR(buf, "{\"v\":1,\"ok\":true,\"mode\":\"eniip\",\"ip\":"
		  "\"10.0.1.7/24\",\"gateway\":\"10.0.1.253\",\"eni\":{\"id\":"
		  "\"eni-1\",\"mac\":\"00:16:3e:0a:0b:0c\",\"primaryIP\":"
		  "\"10.0.1.5\"},\"table\":1003,\"serviceCIDR\":"
		  "\"10.96.0.0/12\",\"ingress\":10000000,\"egress\":0}\n");
	CHECK_INT(resp_dec(&r, ENIPROTO_OP_ALLOC, "{\"v\":1,\"ok\":true,"
		  "\"mode\":\"vpc\",\"podCIDR\":\"10.244.1.0/24\"}"), 0);
	CHECK_INT(r.mode, ENIPROTO_MODE_VPC);
	CHECK_INT(r.pod_cidr.prefix, 24);
	CHECK_INT(resp_dec(&r, ENIPROTO_OP_ALLOC, "{\"v\":1,\"ok\":true,"
		  "\"mode\":\"eni\",\"ip\":\"10.0.2.9/24\",\"gateway\":"
		  "\"10.0.2.253\",\"eni\":{\"mac\":\"02:00:00:00:00:01\"}}"),
		  0);
	CHECK_INT(r.mode, ENIPROTO_MODE_ENI);
	CHECK_INT(r.table, 0);
}

static void test_alloc_refused(void)
{
	static const char *const bad[][2] = {
	{ "{\"v\":1,\"ok\":true}", "mode: missing" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"ipvlan\"}", "mode \"ipvlan\"" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"vpc\"}", "podCIDR: missing" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"vpc\",\"podCIDR\":"
	  "\"10.244.1.1/24\"}", "host bits" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"vpc\",\"podCIDR\":"
	  "\"10.244.1.0\"}", "not an address/prefix" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eni\",\"ip\":\"10.0.0.2/24\","
	  "\"eni\":{\"mac\":\"02:00:00:00:00:01\"}}", "gateway: missing" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eni\",\"ip\":\"10.0.0.2/24\","
	  "\"gateway\":\"fe80::1\",\"eni\":{\"mac\":"
	  "\"02:00:00:00:00:01\"}}", "family" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eni\",\"ip\":\"10.0.0.2/24\","
	  "\"gateway\":\"10.0.0.1\"}", "eni.mac: missing" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eni\",\"ip\":\"10.0.0.2/24\","
	  "\"gateway\":\"10.0.0.1\",\"eni\":{\"mac\":\"0x:00:00:00:00:01"
	  "\"}}", "not a MAC" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eni\",\"ip\":\"10.0.0.2/24\","
	  "\"gateway\":\"10.0.0.1\",\"eni\":[]}", "eni: expected object" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eniip\",\"ip\":\"10.0.0.2/24\","
	  "\"gateway\":\"10.0.0.1\",\"eni\":{\"mac\":"
	  "\"02:00:00:00:00:01\"}}", "table: missing" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eniip\",\"ip\":\"10.0.0.2/24\","
	  "\"gateway\":\"10.0.0.1\",\"eni\":{\"mac\":"
	  "\"02:00:00:00:00:01\"},\"table\":254}", "reserved" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"eniip\",\"ip\":\"10.0.0.2/24\","
	  "\"gateway\":\"10.0.0.1\",\"eni\":{\"mac\":"
	  "\"02:00:00:00:00:01\"},\"table\":4294967296}", "table" },
	{ "{\"v\":1,\"ok\":true,\"mode\":\"vpc\",\"podCIDR\":"
	  "\"10.0.0.0/8\",\"ingress\":-1}", "ingress" },
	{ "{\"v\":1,\"ok\":\"yes\"}", "ok: expected bool" },
	{ "{\"v\":1}", "ok: missing" },
	{ "{\"v\":1,\"ok\":false}", "code" },
	{ "{\"v\":1,\"ok\":false,\"code\":0,\"msg\":\"x\"}", "code" },
	{ "{\"v\":1,\"ok\":false,\"code\":11,\"msg\":5}", "msg" },
	};
	struct eniproto_resp r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (resp_dec(&r, ENIPROTO_OP_ALLOC, bad[i][0]) >= 0 ||
		    !strstr(err, bad[i][1])) {
			fprintf(stderr, "input %s: err \"%s\", want \"%s\"\n",
				bad[i][0], err, bad[i][1]);
			CHECK(0);
		}
	}
}

static void test_error_info_release(void)
{
	struct eniproto_resp r;
	char buf[2048], msg[400];
	int n;

	CHECK_INT(resp_dec(&r, ENIPROTO_OP_ALLOC, "{\"v\":1,\"ok\":false,"
		  "\"code\":11,\"msg\":\"pool exhausted\"}"), 0);
	CHECK_INT(r.ok, 0);
	CHECK_INT(r.code, 11);
	CHECK_STR(r.msg, "pool exhausted");
	n = eniproto_resp_encode(&r, ENIPROTO_OP_ALLOC, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_STR(buf, "{\"v\":1,\"ok\":false,\"code\":11,\"msg\":"
		  "\"pool exhausted\"}\n");
	/* a long message is cut on a UTF-8 boundary */
	memset(msg, 0, sizeof(msg));
	strcpy(msg, "{\"v\":1,\"ok\":false,\"code\":100,\"msg\":\"");
	n = (int)strlen(msg);
	while (n < 350) {
		memcpy(msg + n, "\xc3\xa9", 2);
		n += 2;
	}
	strcpy(msg + n, "\"}");
	CHECK_INT(resp_dec(&r, ENIPROTO_OP_ALLOC, msg), 0);
	CHECK_INT(strlen(r.msg), 254);
	CHECK(eniproto_resp_encode(&r, ENIPROTO_OP_ALLOC, buf, sizeof(buf)) >
	      0);
	CHECK_INT(resp_dec(&r, ENIPROTO_OP_ALLOC, buf), 0);
	eniproto_resp_error(&r, 7, "bad annotation %s", "x");
	CHECK(eniproto_resp_encode(&r, ENIPROTO_OP_NONE, buf, sizeof(buf)) >
	      0);
	CHECK_STR(buf, "{\"v\":1,\"ok\":false,\"code\":7,\"msg\":"
		  "\"bad annotation x\"}\n");
	CHECK_INT(resp_dec(&r, ENIPROTO_OP_RELEASE, "{\"v\":1,\"ok\":true}"),
		  0);
	CHECK_INT(resp_dec(&r, ENIPROTO_OP_INFO, "{\"v\":1,\"ok\":true,"
		  "\"version\":\"0.3.0\",\"mode\":\"eniip\",\"pool\":{\"idle\":"
		  "3,\"inuse\":7,\"enis\":2,\"min\":2,\"max\":5}}"), 0);
	CHECK_STR(r.version, "0.3.0");
	CHECK_INT(r.mode, ENIPROTO_MODE_ENIIP);
	CHECK_INT(r.pool.inuse, 7);
	CHECK_INT(r.pool.max, 5);
	CHECK(eniproto_resp_encode(&r, ENIPROTO_OP_INFO, buf, sizeof(buf)) >
	      0);
	CHECK_STR(buf, "{\"v\":1,\"ok\":true,\"version\":\"0.3.0\",\"mode\":"
		  "\"eniip\",\"pool\":{\"idle\":3,\"inuse\":7,\"enis\":2,"
		  "\"min\":2,\"max\":5}}\n");
	CHECK(resp_dec(&r, ENIPROTO_OP_INFO, "{\"v\":1,\"ok\":true,\"pool\":"
		       "{\"idle\":-3}}") < 0);
	r.ok = 1;
	r.mode = ENIPROTO_MODE_NONE;
	CHECK_INT(eniproto_resp_encode(&r, ENIPROTO_OP_ALLOC, buf,
				       sizeof(buf)), -EINVAL);
}

static void test_recv_send(void)
{
	char buf[64];
	size_t len;
	int sv[2];

	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_INT(eniproto_send(sv[0], "{\"a\":1}\nrest", 12, 1000), 0);
	CHECK_INT(eniproto_recv(sv[1], buf, sizeof(buf), 1000, &len), 0);
	CHECK_INT(len, 7);
	CHECK_STR(buf, "{\"a\":1}");
	/* nothing more comes: a deadline, not a hang */
	CHECK_INT(eniproto_recv(sv[1], buf, sizeof(buf), 50, &len),
		  -ETIMEDOUT);
	/* no newline, then the end of the stream: the bytes are the message */
	CHECK_INT(eniproto_send(sv[0], "abc", 3, 1000), 0);
	shutdown(sv[0], SHUT_WR);
	CHECK_INT(eniproto_recv(sv[1], buf, sizeof(buf), 1000, &len), 0);
	CHECK_STR(buf, "abc");	/* "rest" went with the first message */
	CHECK_INT(eniproto_recv(sv[1], buf, sizeof(buf), 1000, &len),
		  -ENODATA);
	close(sv[0]);
	close(sv[1]);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(buf, 'x', sizeof(buf));
	CHECK_INT(eniproto_send(sv[0], buf, sizeof(buf), 1000), 0);
	CHECK_INT(eniproto_recv(sv[1], buf, 16, 1000, &len), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the client against a forked one-shot server -------------------- */

static char sock_path[108];

/* Serves one connection: answer (NULL: never answer), after reading the
 * request, which goes to the file sock_path + ".req". */
static pid_t serve(const char *answer)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char req[ENIPROTO_MAX], path[128];
	size_t len;
	FILE *f;
	pid_t pid;
	int l, c;

	unlink(sock_path);
	strcpy(sun.sun_path, sock_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(l, 4) < 0)
		return -1;
	pid = fork();
	if (pid != 0) {
		close(l);
		return pid;
	}
	c = accept(l, NULL, NULL);
	if (c >= 0 && eniproto_recv(c, req, sizeof(req), 5000, &len) == 0) {
		snprintf(path, sizeof(path), "%s.req", sock_path);
		f = fopen(path, "w");
		if (f) {
			fwrite(req, 1, len, f);
			fclose(f);
		}
		if (!answer)
			pause();
		eniproto_send(c, answer, strlen(answer), 5000);
	}
	_exit(0);
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void test_call(void)
{
	struct eniproto_req q = { .op = ENIPROTO_OP_ALLOC };
	struct eniproto_resp a;
	char path[128], got[512];
	int64_t t0;
	FILE *f;
	pid_t pid;

	snprintf(sock_path, sizeof(sock_path), "/tmp/eniprotot-%d.sock",
		 (int)getpid());
	strcpy(q.container_id, "c1");
	strcpy(q.ifname, "eth0");
	strcpy(q.netns, "/run/netns/x");
	strcpy(q.ns, "default");
	strcpy(q.name, "p");
	unlink(sock_path);
	CHECK_INT(eniproto_call(sock_path, 1000, &q, &a, err), -ENOENT);
	CHECK(strstr(err, "connect unix:") != NULL);

	pid = serve("{\"v\":1,\"ok\":true,\"mode\":\"vpc\",\"podCIDR\":"
		    "\"10.244.3.0/24\",\"egress\":5}\n");
	CHECK_INT(eniproto_call(sock_path, 2000, &q, &a, err), 0);
	CHECK_INT(a.ok, 1);
	CHECK_INT(a.mode, ENIPROTO_MODE_VPC);
	CHECK_INT(a.egress, 5);
	waitpid(pid, NULL, 0);
	snprintf(path, sizeof(path), "%s.req", sock_path);
	f = fopen(path, "r");
	got[0] = 0;
	if (f) {
		got[fread(got, 1, sizeof(got) - 1, f)] = 0;
		fclose(f);
	}
	CHECK(strstr(got, "\"op\":\"alloc\",\"containerID\":\"c1\"") != NULL);

	pid = serve("{\"v\":2,\"ok\":true}\n");
	CHECK_INT(eniproto_call(sock_path, 2000, &q, &a, err),
		  -EPROTONOSUPPORT);
	CHECK(strstr(err, "unsupported protocol version") != NULL);
	reap(pid);
	pid = serve("{\"v\":1,\"ok\":true,\"mode\":\"vpc\"}\n");
	CHECK_INT(eniproto_call(sock_path, 2000, &q, &a, err), -EPROTO);
	CHECK(strstr(err, "podCIDR") != NULL);
	reap(pid);
	pid = serve(NULL);
	t0 = sock_now_ms();
	CHECK_INT(eniproto_call(sock_path, 300, &q, &a, err), -ETIMEDOUT);
	CHECK(sock_now_ms() - t0 < 2000);
	reap(pid);
	/* a socket nobody listens on any more */
	CHECK(eniproto_call(sock_path, 300, &q, &a, err) == -ECONNREFUSED);
	unlink(sock_path);
	unlink(path);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_names);
	RUN(test_req_encode);
	RUN(test_req_decode);
	RUN(test_req_refused);
	RUN(test_alloc_answers);
	RUN(test_alloc_refused);
	RUN(test_error_info_release);
	RUN(test_recv_send);
	RUN(test_call);
	return test_done();
}
