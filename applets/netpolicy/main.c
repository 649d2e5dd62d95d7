/* netpolicy: Kubernetes NetworkPolicy (networking.k8s.io/v1) enforced with
 * one nftables table, programmed over nfnetlink in one atomic batch.
 *
 * The work is in lib/: kobj (objects), selector, np (compiler), np_nft
 * (table, batch, nft text). This file reads options and files and talks;
 * run.c, store.c and metrics.c are the `run` daemon (list+watch).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../applets.h"
#include "arena.h"
#include "kobj.h"
#include "log.h"
#include "netpolicy.h"
#include "np.h"
#include "np_nft.h"

#define FILE_MAX (256u << 20)

const char netpolicy_help[] =
"Kubernetes NetworkPolicy over nftables\n"
"\n"
"usage: netpolicy apply [--node NAME] [--no-br-netfilter] FILE\n"
"       netpolicy render [--node NAME] FILE\n"
"       netpolicy flush\n"
"       netpolicy run [--server URL --token-file F --ca-file F]\n"
"                     [--node NAME] [--resync SECONDS] [--metrics-port N]\n"
"                     [--debounce-ms MS] [--no-br-netfilter]\n"
"\n"
"FILE (- for stdin) is a Kubernetes List, as\n"
"`kubectl get namespaces,pods,networkpolicies -A -o json` prints it.\n"
"apply replaces the table inet " NP_NFT_TABLE " in one atomic nftables\n"
"transaction (run it again to converge); render prints that table in nft\n"
"syntax and leaves the kernel alone; flush removes the table.\n"
"Policies apply to the pods of node NAME (--node); without it every pod\n"
"of FILE is local. Peer selectors match pods of every node.\n"
"Objects the API would reject are reported with namespace/name and\n"
"skipped whole; an unreadable FILE changes nothing.\n"
"apply sets net.bridge.bridge-nf-call-iptables/ip6tables to 1, so that\n"
"bridged pods reach the forward hook; --no-br-netfilter skips that (for\n"
"routed pods only).\n"
"\n"
"run lists and watches namespaces, pods and networkpolicies of the whole\n"
"cluster (in-cluster service account, or --server/--token-file/--ca-file)\n"
"and enforces for the pods of node NAME (--node, else NODE_NAME). Changes\n"
"quiet for --debounce-ms (20) are compiled and applied as one atomic\n"
"batch; the table is also re-applied every --resync seconds (300; 0:\n"
"never). Nothing is programmed before all three lists are complete; while\n"
"the API is unreachable, after failed syncs and on SIGTERM/SIGINT (exit 0)\n"
"the table in force stays. --metrics-port N serves /metrics and /healthz\n"
"on 127.0.0.1:N.\n"
"Logs go to stderr (VPCNET_LOG_LEVEL, VPCNET_LOG_FILE).\n";

static const char optstring[] = "n:Bh";
static const struct option options[] = {
	{ "node", required_argument, NULL, 'n' },
	{ "no-br-netfilter", no_argument, NULL, 'B' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct npa {
	const char *cmd;
	const char *node;
	const char *file;
	int no_bridge;
	struct arena a;
	char *text;
	struct kobj_list list;
	struct np_ruleset rs;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The whole file (or stdin) in a NUL-terminated malloc'd buffer. */
static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0, r;
	char *buf = NULL, *p;
	int rc = 0;

	if (!f)
		return -errno;
	for (;;) {
		p = realloc(buf, cap + 1);
		if (!p) {
			rc = -ENOMEM;
			break;
		}
		buf = p;
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap) {
			rc = ferror(f) ? -EIO : 0;
			break;
		}
		if (cap >= FILE_MAX) {
			rc = -EFBIG;
			break;
		}
		cap *= 2;
	}
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static void report(const char *what, const char *const *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		log_warn("%s: %s", what, p[i]);
}

/* FILE -> list -> ruleset; messages on failure. */
static int load(struct npa *x)
{
	struct np_opts o = { x->node };
	struct json_err e;
	size_t len = 0;
	int rc;

	rc = read_all(x->file, &x->text, &len);
	if (rc < 0) {
		log_err("%s: %s (nothing changed)", x->file, strerror(-rc));
		return rc;
	}
	memset(&e, 0, sizeof(e));
	rc = kobj_parse_list(&x->a, x->text, len, &x->list, &e);
	if (rc < 0) {
		log_err("%s: %s (nothing changed)", x->file, e.msg);
		return rc;
	}
	report("skipped", x->list.problems, x->list.nproblems);
	if (x->list.nitems && !x->list.nns && !x->list.npods &&
	    !x->list.nnps) {
		log_err("%s: no valid Namespace, Pod or NetworkPolicy in %d "
			"items (nothing changed)", x->file, x->list.nitems);
		return -EINVAL;
	}
	rc = np_compile(&x->a, &x->list, &o, &x->rs);
	if (rc < 0) {
		log_err("compile: %s", strerror(-rc));
		return rc;
	}
	report("warning", x->rs.problems, x->rs.nproblems);
	return 0;
}

int npd_bridge(int no_bridge)
{
	int rc;

	if (no_bridge)
		return 0;
	rc = np_nft_bridge_setup();
	if (rc == -ENOENT)
		log_err("/proc/sys/net/bridge is missing: br_netfilter is not "
			"loaded, so bridged pods would bypass every policy "
			"(modprobe br_netfilter on the host; --no-br-netfilter "
			"if this node only has routed pods)");
	else if (rc < 0)
		log_err("sysctl net.bridge.bridge-nf-call-iptables=1: %s",
			strerror(-rc));
	return rc;
}

static int cmd_apply(struct npa *x)
{
	struct np_nft_stats st;
	struct nft_sock s;
	struct nft_err e;
	char msg[512];
	double t0 = now_ms(), t1;
	int rc;

	if ((rc = load(x)) < 0 || (rc = npd_bridge(x->no_bridge)) < 0)
		return rc;
	t1 = now_ms();
	if ((rc = nft_open(&s)) < 0) {
		log_err("netlink socket: %s", strerror(-rc));
		return rc;
	}
	rc = np_nft_apply(&s, &x->rs, &e, &st);
	nft_close(&s);
	if (rc < 0) {
		log_err("%s (nothing changed)", nft_err_fmt(&e, msg,
							    sizeof(msg)));
		return rc;
	}
	log_info("applied table=inet/%s pods=%d local=%d isolated=%d "
		 "policies=%d classes=%d chains=%d sets=%d rules=%d "
		 "elements=%d bytes=%zu compile_ms=%.1f program_ms=%.1f",
		 NP_NFT_TABLE, x->list.npods, x->rs.nlocal, x->rs.ntgt,
		 x->list.nnps, x->rs.ncls, st.chains, st.sets, st.rules,
		 st.elems, st.bytes, t1 - t0, now_ms() - t1);
	return 0;
}

static int cmd_render(struct npa *x)
{
	char *out = NULL;
	size_t len = 0;
	int rc;

	if ((rc = load(x)) < 0)
		return rc;
	rc = np_nft_render(&x->rs, &out, &len);
	if (rc < 0) {
		log_err("render: %s", strerror(-rc));
		return rc;
	}
	if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0) {
		log_err("stdout: %s", strerror(errno));
		rc = -EIO;
	}
	free(out);
	return rc;
}

static int cmd_flush(struct npa *x)
{
	struct nft_sock s;
	struct nft_err e;
	char msg[512];
	int rc;

	if ((rc = nft_open(&s)) < 0) {
		log_err("netlink socket: %s", strerror(-rc));
		return rc;
	}
	rc = np_nft_flush(&s, &e);
	nft_close(&s);
	if (rc < 0)
		log_err("%s", nft_err_fmt(&e, msg, sizeof(msg)));
	return rc;
}

static int usage(void)
{
	fputs(netpolicy_help, stderr);
	return 2;
}

static int parse_args(struct npa *x, int argc, char **argv)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, options, NULL)) != -1) {
		switch (c) {
		case 'n':
			x->node = optarg;
			break;
		case 'B':
			x->no_bridge = 1;
			break;
		case 'h':
			fputs(netpolicy_help, stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (!strcmp(x->cmd, "flush"))
		return optind == argc ? 0 : -EINVAL;
	if (optind != argc - 1)
		return -EINVAL;
	x->file = argv[optind];
	return 0;
}

int netpolicy_main(int argc, char **argv)
{
	struct npa x;
	int rc;

	log_init("netpolicy", LOG_LVL_INFO);
	if (argc < 2)
		return usage();
	memset(&x, 0, sizeof(x));
	x.cmd = argv[1];
	if (!strcmp(x.cmd, "run"))
		return npd_run_main(argc - 1, argv + 1);
	if (strcmp(x.cmd, "apply") && strcmp(x.cmd, "render") &&
	    strcmp(x.cmd, "flush")) {
		log_err("%s: unknown command (apply, render, flush, run)",
			x.cmd);
		return 2;
	}
	if (parse_args(&x, argc - 1, argv + 1) < 0)
		return usage();
	arena_init(&x.a);
	if (!strcmp(x.cmd, "apply"))
		rc = cmd_apply(&x);
	else if (!strcmp(x.cmd, "render"))
		rc = cmd_render(&x);
	else
		rc = cmd_flush(&x);
	arena_free_all(&x.a);
	free(x.text);
	return rc < 0 ? 1 : 0;
}
