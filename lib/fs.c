#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_mkdir_parents(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int fs_sync_parent(const char *path)
{
	char dir[PATH_MAX], *slash;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* tmp + rename, with fsyncs when durable */
static int replace(const char *path, const void *buf, size_t len, mode_t mode,
		   int durable)
{
	const char *base = strrchr(path, '/');
	char tmp[PATH_MAX];
	int fd, rc;

	/* a hidden name beside path: directory walkers skip dotfiles */
	base = base ? base + 1 : path;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s.%s.tmpXXXXXX",
			     (int)(base - path), path, base) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, mode) < 0 ? -errno : fs_write_all(fd, buf, len);
	if (!rc && durable && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	return durable ? fs_sync_parent(path) : 0;
}

int fs_write_atomic(const char *path, const void *buf, size_t len,
		    mode_t mode)
{
	return replace(path, buf, len, mode, 1);
}

int fs_replace(const char *path, const void *buf, size_t len, mode_t mode)
{
	return replace(path, buf, len, mode, 0);
}
