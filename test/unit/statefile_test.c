/*
 * statefile: atomic replace (mode 0600, no temporary left, old file kept
 * on failure), bounded reads, the directory lock (created with its
 * parents; exclusive vs shared). Files in /tmp/statefilet-*.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statefile.h"
#include "test.h"

static char base[64];
static char err[STATEFILE_ERRLEN];

static int count_entries(const char *dir)
{
	char cmd[128];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void test_write_read(void)
{
	char path[128], *text;
	struct arena a;
	struct stat st;
	size_t len;

	arena_init(&a);
	snprintf(path, sizeof(path), "%s/s1", base);
	CHECK_INT(statefile_write(base, "s1", "{\"a\":1}", 7, err,
				  sizeof(err)), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(statefile_read(path, 100, &a, &text, &len), 0);
	CHECK_INT(len, 7);
	CHECK_STR(text, "{\"a\":1}");
	CHECK_INT(statefile_write(base, "s1", "xy", 2, err, sizeof(err)), 0);
	CHECK_INT(statefile_read(path, 100, &a, &text, &len), 0);
	CHECK_STR(text, "xy");
	CHECK_INT(count_entries(base), 1);
	CHECK_INT(statefile_read(path, 1, &a, &text, &len), -EFBIG);
	CHECK_INT(statefile_read(path, 2, &a, &text, &len), 0);
	snprintf(path, sizeof(path), "%s/none", base);
	CHECK_INT(statefile_read(path, 100, &a, &text, &len), -ENOENT);
	/* a missing directory: an error naming the file, nothing made */
	snprintf(path, sizeof(path), "%s/nodir", base);
	CHECK_INT(statefile_write(path, "s", "x", 1, err, sizeof(err)),
		  -ENOENT);
	CHECK(strstr(err, "write ") && strstr(err, "nodir/s"));
	unlink(path);
	arena_free_all(&a);
}

/* a killed writer's temporaries: recognised by name, removed per target */
static void test_tmps(void)
{
	char t[64], path[128];
	const char *mk[] = {".c1@eth0.tmpAbC123", ".c1@eth0.tmpZZZZZZ",
			    ".c2.tmp000000", "c1@eth0"};
	size_t i;
	int fd;

	CHECK_INT(statefile_tmp_target(".c1@eth0.tmpAbC123", t, sizeof(t)), 0);
	CHECK_STR(t, "c1@eth0");
	CHECK_INT(statefile_tmp_target("c1.tmpAbC123", t, sizeof(t)), -EINVAL);
	CHECK_INT(statefile_tmp_target(".c1.tmp12345", t, sizeof(t)), -EINVAL);
	CHECK_INT(statefile_tmp_target("..x.tmp123456", t, sizeof(t)),
		  -EINVAL);
	CHECK_INT(statefile_tmp_target(".vpcnet.lock", t, sizeof(t)), -EINVAL);
	CHECK_INT(statefile_tmp_target(".abcdef.tmp123456", t, 6), -EINVAL);
	CHECK_INT(statefile_tmp_target(".abcdef.tmp123456", t, 7), 0);
	snprintf(path, sizeof(path), "%s/tmps", base);
	CHECK_INT(mkdir(path, 0700), 0);
	for (i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
		snprintf(t, sizeof(t), "%s/%s", "tmps", mk[i]);
		snprintf(path, sizeof(path), "%s/%s", base, t);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		CHECK(fd >= 0);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/tmps", base);
	CHECK_INT(statefile_remove_tmps(path, "c1@eth0", err, sizeof(err)), 2);
	CHECK_INT(count_entries(path), 2);	/* c2's and the file itself */
	CHECK_INT(statefile_remove_tmps(path, "c1@eth0", err, sizeof(err)), 0);
	CHECK_INT(statefile_remove_tmps(path, "c2", err, sizeof(err)), 1);
	snprintf(path, sizeof(path), "%s/none", base);
	CHECK_INT(statefile_remove_tmps(path, "c2", err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/none") != NULL);
	snprintf(path, sizeof(path), "%s/tmps/c1@eth0", base);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tmps", base);
	rmdir(path);
}

static void test_lock(void)
{
	char dir[128];
	struct stat st;
	int a, b, fd;

	snprintf(dir, sizeof(dir), "%s/x/y", base);
	a = statefile_lock(dir, ".lock", 0, err, sizeof(err));
	CHECK(a >= 0);
	CHECK_INT(stat(dir, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0700);
	b = statefile_lock(dir, ".lock", 0, err, sizeof(err));
	CHECK(b >= 0);	/* two shared holders */
	snprintf(dir, sizeof(dir), "%s/x/y/.lock", base);
	fd = open(dir, O_RDONLY);
	CHECK_INT(flock(fd, LOCK_EX | LOCK_NB), -1);
	statefile_unlock(a);
	statefile_unlock(b);
	CHECK_INT(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	snprintf(dir, sizeof(dir), "%s/s1/z", base);	/* s1 is a file */
	CHECK(statefile_lock(dir, ".lock", 1, err, sizeof(err)) < 0);
	CHECK(strstr(err, "mkdir ") != NULL);
}

int main(void)
{
	char cmd[128];
	int rc;

	snprintf(base, sizeof(base), "/tmp/statefilet-%d", (int)getpid());
	mkdir(base, 0755);
	RUN(test_write_read);
	RUN(test_tmps);
	RUN(test_lock);
	rc = test_done();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
