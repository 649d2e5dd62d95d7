/* Small state files: atomic replace, bounded read, lock (statefile.h). */
#include "statefile.h"
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, int rc, const char *what,
		const char *path)
{
	if (err && errlen)
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(-rc));
	return rc;
}

int statefile_write(const char *dir, const char *name, const char *data,
		    size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return fail(err, errlen, -ENAMETOOLONG, "write", dir);
	rc = fs_replace(path, data, len, 0600);
	if (rc < 0)
		return fail(err, errlen, rc, "write", path);
	return 0;
}

int statefile_read(const char *path, size_t max, struct arena *a, char **out,
		   size_t *len)
{
	size_t have = 0;
	ssize_t n;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	buf = arena_alloc(a, max + 2);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		n = read(fd, buf + have, max + 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		have += (size_t)n;
		if (n == 0 || have > max)
			break;
	}
	close(fd);
	if (rc == 0 && have > max)
		rc = -EFBIG;
	if (rc < 0)
		return rc;
	buf[have] = 0;
	*out = buf;
	*len = have;
	return 0;
}

/* mkdir -p: parents 0755, the last one 0700. */
static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (i = 1; i < n; i++) {
		if (p[i] != '/')
			continue;
		p[i] = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		p[i] = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int statefile_lock(const char *dir, const char *name, int exclusive,
		   char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, rc;

	rc = mkdirs(dir);
	if (rc < 0)
		return fail(err, errlen, rc, "mkdir", dir);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return fail(err, errlen, -ENAMETOOLONG, "open", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, -errno, "open", path);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			return fail(err, errlen, rc, "flock", path);
		}
	}
	return fd;
}

void statefile_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
