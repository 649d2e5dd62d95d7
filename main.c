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
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets/applets.h"
#include "arena.h"
#include "fs.h"
#include "json.h"

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
	{ "netpolicy", NULL, netpolicy_main, netpolicy_help, 1 },
};
#define NAPPLETS (sizeof(applets) / sizeof(applets[0]))

static const char usage[] =
"usage: vpcnet APPLET [ARGS...]    (or run through a symlink named APPLET)\n"
"       vpcnet --list | --help | --version\n"
"       vpcnet --install DIR [CONFLIST CONFDIR]\n"
"\n"
"--install copies this binary to DIR/vpcnet (unless it is that file) and\n"
"links every applet name to it there (a CNI bin dir such as /opt/cni/bin);\n"
"with CONFLIST, also writes that CNI config into CONFDIR, atomically.\n"
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

/* Symlink NAME in DIR to TARGET. Idempotent: an existing link to target is
 * kept, a stale link or file is replaced through a rename, so a running
 * exec of the old file is never disturbed. */
static int link_one(const char *dir, const char *name, const char *target)
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
		if (!strcmp(cur, target))
			return 0;
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return -errno;
	if (rename(tmp, path) < 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

/* Read a whole small file (at most max bytes) into a malloc'd buffer. */
static char *slurp(const char *path, size_t max, size_t *len)
{
	char *buf = malloc(max + 1);
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (buf && fd >= 0) {
		n = read(fd, buf, max + 1);
		if (n > (ssize_t)max) {
			n = -1;
			errno = EFBIG;
		}
	}
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

/* DIR/vpcnet becomes a copy of this binary (unless it is this binary):
 * the links then work on the host when we run from a container image. */
static int copy_self(const char *self, const char *dir)
{
	char path[PATH_MAX], *buf;
	struct stat a, b;
	size_t len;
	int err;

	if (snprintf(path, sizeof(path), "%s/vpcnet", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (stat(self, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	buf = slurp(self, 64u << 20, &len);
	if (!buf)
		return -errno;
	err = fs_write_atomic(path, buf, len, 0755);
	free(buf);
	return err;
}

/* CONFLIST (checked to be a JSON object) written atomically into CONFDIR
 * under its own name. */
static int install_conf(const char *conflist, const char *confdir)
{
	const char *base = strrchr(conflist, '/');
	char path[PATH_MAX], *text;
	struct json_doc d;
	struct arena a;
	size_t len;
	int err;

	base = base ? base + 1 : conflist;
	if (snprintf(path, sizeof(path), "%s/%s", confdir, base) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	text = slurp(conflist, 1u << 20, &len);
	if (!text)
		return -errno;
	arena_init(&a);
	err = json_parse(&d, &a, text, len, NULL, NULL);
	if (err == 0 && json_typeof(&d, 0) != JSON_OBJECT)
		err = -EINVAL;
	if (err == 0)
		err = fs_write_atomic(path, text, len, 0644);
	arena_free_all(&a);
	free(text);
	return err;
}

static int install(int argc, char **argv)
{
	const char *dir = argv[2];
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
	err = copy_self(self, dir);
	if (err < 0) {
		fprintf(stderr, "vpcnet: copy %s to %s/vpcnet: %s\n", self, dir,
			strerror(-err));
		return 1;
	}
	for (i = 0; i < 2 * NAPPLETS; i++) {
		const struct applet *a = &applets[i / 2];
		const char *name = i % 2 ? a->alias : a->name;

		if (!name)
			continue;
		err = link_one(dir, name, "vpcnet");
		if (err < 0) {
			fprintf(stderr, "vpcnet: symlink %s/%s: %s\n", dir,
				name, strerror(-err));
			return 1;
		}
	}
	if (argc == 5 && (err = install_conf(argv[3], argv[4])) < 0) {
		fprintf(stderr, "vpcnet: install %s into %s: %s\n", argv[3],
			argv[4], err == -EINVAL ? "not a JSON object" :
			strerror(-err));
		return 1;
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
		if (argc != 3 && argc != 5) {
			fputs("usage: vpcnet --install DIR [CONFLIST CONFDIR]\n",
			      stderr);
			return 2;
		}
		return install(argc, argv);
	}
	a = find(argv[1]);
	if (!a) {
		fprintf(stderr, "vpcnet: %s: unknown applet (vpcnet --list)\n",
			argv[1]);
		return 2;
	}
	return run(a, argc - 1, argv + 1);
}
