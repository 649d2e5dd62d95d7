/* vpcnet: one binary, four applets, dispatched busybox style on
 * basename(argv[0]) or on argv[1] ("vpcnet APPLET ...").
 *
 * usage: vpcnet [--list|--help|--version|--install DIR]
 *        vpcnet APPLET [ARGS...]     APPLET --help
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets/applets.h"

struct applet {
	const char *name;
	const char *alias;
	int (*main)(int argc, char **argv);
	const char *help;	/* usage text; first line is the summary */
	int ready;		/* 0: "not implemented yet" */
};

/* Sorted by name; test/e2e/vpcnet_dispatch.sh checks order and coverage. */
static const struct applet applets[] = {
	{ "cni-flannel", "flannel", cni_flannel_main, cni_flannel_help, 1 },
	{ "cni-terway", "terway", cni_terway_main, cni_terway_help, 1 },
	{ "eni-agent", NULL, eni_agent_main, eni_agent_help, 1 },
	{ "netpolicy", NULL, netpolicy_main, netpolicy_help, 0 },
};
#define NAPPLETS (sizeof(applets) / sizeof(applets[0]))

static const char usage[] =
"usage: vpcnet APPLET [ARGS...]    (or run through a symlink named APPLET)\n"
"       vpcnet --list | --help | --version | --install DIR\n"
"\n"
"Container networking for Kubernetes nodes on a cloud VPC, in one static\n"
"binary. APPLET --help describes each applet.\n";

static const struct applet *find(const char *name)
{
	unsigned int i;

	for (i = 0; i < NAPPLETS; i++)
		if (!strcmp(name, applets[i].name) ||
		    (applets[i].alias && !strcmp(name, applets[i].alias)))
			return &applets[i];
	return NULL;
}

static int summary_len(const char *help)
{
	const char *nl = strchr(help, '\n');

	return nl ? (int)(nl - help) : (int)strlen(help);
}

static void list(void)
{
	unsigned int i;

	for (i = 0; i < NAPPLETS; i++) {
		const struct applet *a = &applets[i];

		printf("%-12s %-8s %.*s%s\n", a->name, a->alias ? a->alias : "-",
		       summary_len(a->help), a->help,
		       a->ready ? "" : " (not implemented yet)");
	}
}

/* Symlink every applet name and alias in DIR to this binary. Idempotent:
 * an existing link to us is kept, a stale link or file is replaced through
 * a rename, so a running exec of the old file is never disturbed. */
static int link_one(const char *dir, const char *name, const char *self)
{
	char path[PATH_MAX], tmp[PATH_MAX], cur[PATH_MAX];
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)
	    || snprintf(tmp, sizeof(tmp), "%s/.%s.vpcnet-tmp", dir, name)
	    >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	n = readlink(path, cur, sizeof(cur) - 1);
	if (n >= 0) {
		cur[n] = 0;
		if (!strcmp(cur, self))
			return 0;
	}
	unlink(tmp);
	if (symlink(self, tmp) < 0)
		return -errno;
	if (rename(tmp, path) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

static int install(const char *dir)
{
	char self[PATH_MAX];
	unsigned int i;
	ssize_t n;
	int err;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		fprintf(stderr, "vpcnet: readlink /proc/self/exe: %s\n",
			strerror(errno));
		return 1;
	}
	self[n] = 0;
	for (i = 0; i < 2 * NAPPLETS; i++) {
		const struct applet *a = &applets[i / 2];
		const char *name = i % 2 ? a->alias : a->name;

		if (!name)
			continue;
		err = link_one(dir, name, self);
		if (err < 0) {
			fprintf(stderr, "vpcnet: symlink %s/%s: %s\n", dir,
				name, strerror(-err));
			return 1;
		}
	}
	return 0;
}

static int run(const struct applet *a, int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(a->help, stdout);
		return 0;
	}
	return a->main(argc, argv);
}

int main(int argc, char **argv)
{
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	const struct applet *a;

	base = base ? base + 1 : (argv[0] ? argv[0] : "vpcnet");
	a = find(base);
	if (a)
		return run(a, argc, argv);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vpcnet %s\n", VPCNET_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--list")) {
		list();
		return 0;
	}
	if (!strcmp(argv[1], "--install")) {
		if (argc != 3) {
			fputs("usage: vpcnet --install DIR\n", stderr);
			return 2;
		}
		return install(argv[2]);
	}
	a = find(argv[1]);
	if (!a) {
		fprintf(stderr, "vpcnet: %s: unknown applet (vpcnet --list)\n",
			argv[1]);
		return 2;
	}
	return run(a, argc - 1, argv + 1);
}
