/* Small state files: atomic replace, bounded read, lock (statefile.h). */
#include "statefile.h"
#include "fs.h"

#include <dirent.h>
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

int statefile_tmp_target(const char *file, char *out, size_t len)
{
	size_t n = strlen(file);

	/* fs_replace's name: "." name ".tmp" and six mkostemp characters */
	if (file[0] != '.' || n < 12 || n - 11 >= len ||
	    memcmp(file + n - 10, ".tmp", 4) || file[1] == '.')
		return -EINVAL;
	memcpy(out, file + 1, n - 11);
	out[n - 11] = 0;
	return 0;
}

int statefile_remove_tmps(const char *dir, const char *name, char *err,
			  size_t errlen)
{
	char target[NAME_MAX + 1], path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = 0, n = 0;

	if (!d)
		return fail(err, errlen, -errno, "open", dir);
	while ((de = readdir(d))) {
		if (statefile_tmp_target(de->d_name, target, sizeof(target)) ||
		    strcmp(target, name))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
			n++;
		} else if (!rc) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			rc = fail(err, errlen, -errno, "unlink", path);
		}
	}
	closedir(d);
	return rc ? rc : n;
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
	/* a read-only filesystem (remounted after an error): the existing
	 * lock file locks as well opened read-only, so a DEL can still undo
	 * what needs no write, and succeed when nothing is recorded */
	if (fd < 0 && errno == EROFS)
		fd = open(path, O_RDONLY | O_CLOEXEC);
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
