/* eni-agent call: one request on the agent's socket, as cni-terway makes
 * it (lib/eniproto), for operators and tests. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "eniproto.h"
#include "sock.h"

const char ea_call_help[] =
"usage: eni-agent call [--socket PATH] [--timeout SECONDS] OP [KEY=VALUE...]\n"
"       eni-agent call [--socket PATH] --raw TEXT\n"
"\n"
"Send one request to the eni-agent (protocol v1, as cni-terway does) and\n"
"print its answer (one JSON line).  OP is alloc, release or info; KEYs:\n"
"containerID, ifname (default eth0), netns, namespace, name, podUID.\n"
"--raw sends TEXT as it is (a newline is added) to test the server.\n"
"\n"
"  -s, --socket PATH     default " EA_DEFAULT_SOCKET "\n"
"  -T, --timeout SECONDS default 30\n"
"  -r, --raw TEXT\n"
"\n"
"Exit status: 0 ok:true, 1 an error answer or no answer, 2 usage.\n";

static const char call_optstring[] = ":s:T:r:h";
static const struct option call_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "raw", required_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct call_args {
	const char *socket, *raw;
	int timeout_ms;
};

static int set_key(struct eniproto_req *q, const char *kv)
{
	static const struct { const char *k; size_t off, size; } keys[] = {
		{ "containerID", offsetof(struct eniproto_req, container_id),
		  ENIPROTO_CID_MAX },
		{ "ifname", offsetof(struct eniproto_req, ifname),
		  ENIPROTO_IFNAME_MAX },
		{ "netns", offsetof(struct eniproto_req, netns),
		  ENIPROTO_NETNS_MAX },
		{ "namespace", offsetof(struct eniproto_req, ns),
		  ENIPROTO_K8S_MAX },
		{ "name", offsetof(struct eniproto_req, name),
		  ENIPROTO_K8S_MAX },
		{ "podUID", offsetof(struct eniproto_req, pod_uid),
		  ENIPROTO_UID_MAX },
	};
	const char *eq = strchr(kv, '=');
	unsigned int i;

	for (i = 0; eq && i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].k) != (size_t)(eq - kv) ||
		    memcmp(kv, keys[i].k, (size_t)(eq - kv)))
			continue;
		if (strlen(eq + 1) >= keys[i].size)
			return ea_usage_error("call", "%s: too long",
					      keys[i].k);
		memcpy((char *)q + keys[i].off, eq + 1, strlen(eq));
		return 0;
	}
	return ea_usage_error("call", "'%s': want KEY=VALUE with KEY one of "
			      "containerID, ifname, netns, namespace, name, "
			      "podUID", kv);
}

static int build(int argc, char **argv, char *buf, size_t size, int *len)
{
	struct eniproto_req q;
	int i, rc;

	memset(&q, 0, sizeof(q));
	if (optind >= argc)
		return ea_usage_error("call", "OP expected");
	if (!strcmp(argv[optind], "alloc"))
		q.op = ENIPROTO_OP_ALLOC;
	else if (!strcmp(argv[optind], "release"))
		q.op = ENIPROTO_OP_RELEASE;
	else if (!strcmp(argv[optind], "info"))
		q.op = ENIPROTO_OP_INFO;
	else
		return ea_usage_error("call", "OP: want alloc, release or "
				      "info, got '%s'", argv[optind]);
	snprintf(q.ifname, sizeof(q.ifname), "eth0");
	for (i = optind + 1; i < argc; i++)
		if ((rc = set_key(&q, argv[i])))
			return rc;
	*len = eniproto_req_encode(&q, buf, size);
	if (*len < 0)
		return ea_usage_error("call", "incomplete request for %s "
				      "(see eni-agent call --help)",
				      argv[optind]);
	return 0;
}

static int exchange(const struct call_args *o, const char *req, size_t n)
{
	char err[256], *ans;
	size_t len;
	int fd, rc;

	fd = sock_connect_unix(o->socket, o->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		ea_errorf("call", "%s: %s", err, strerror(-fd));
		return EA_EXIT_FAIL;
	}
	ans = malloc(ENIPROTO_MAX);
	rc = ans ? eniproto_send(fd, req, n, o->timeout_ms) : -ENOMEM;
	if (!rc)
		rc = eniproto_recv(fd, ans, ENIPROTO_MAX, o->timeout_ms, &len);
	close(fd);
	if (rc < 0) {
		ea_errorf("call", "%s: no answer: %s", o->socket,
			  strerror(-rc));
		free(ans);
		return EA_EXIT_FAIL;
	}
	printf("%s\n", ans);
	rc = strstr(ans, "\"ok\":true") ? EA_EXIT_OK : EA_EXIT_FAIL;
	free(ans);
	return rc;
}

int ea_call_main(int argc, char **argv)
{
	struct call_args o = { EA_DEFAULT_SOCKET, NULL, 30000 };
	char *buf = NULL;
	int c, len, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, call_optstring, call_options,
				NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'r': o.raw = optarg; break;
		case 'T':
			o.timeout_ms = atoi(optarg) * 1000;
			if (o.timeout_ms <= 0)
				return ea_usage_error("call", "--timeout: want "
						      "seconds > 0");
			break;
		case 'h':
			fputs(ea_call_help, stdout);
			return EA_EXIT_OK;
		default:
			return ea_usage_error("call", "bad option %s",
					      argv[optind - 1]);
		}
	}
	if (o.raw) {
		len = (int)strlen(o.raw);
		buf = malloc((size_t)len + 2);
		if (!buf)
			return EA_EXIT_FAIL;
		memcpy(buf, o.raw, (size_t)len);
		buf[len++] = '\n';
	} else {
		buf = malloc(ENIPROTO_MAX);
		if (!buf)
			return EA_EXIT_FAIL;
		rc = build(argc, argv, buf, ENIPROTO_MAX, &len);
		if (rc) {
			free(buf);
			return rc;
		}
	}
	rc = exchange(&o, buf, (size_t)len);
	free(buf);
	return rc;
}
