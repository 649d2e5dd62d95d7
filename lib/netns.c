#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "netns.h"

/* <linux/nsfs.h> clashes with musl's <sys/ioctl.h> */
#define NETNS_GET_NSTYPE _IO(0xb7, 0x3)

int netns_open(const char *path)
{
	struct statfs sfs;
	int fd, e, type;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) < 0) {
		e = -errno;
		goto fail;
	}
	e = -EINVAL;
	if (sfs.f_type != NSFS_MAGIC)
		goto fail;
	/* nsfs holds every kind of namespace; ask which one (4.11+) */
	type = ioctl(fd, NETNS_GET_NSTYPE);
	if (type >= 0 && type != CLONE_NEWNET)
		goto fail;
	return fd;
fail:
	close(fd);
	return e;
}

int netns_open_current(void)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int netns_same(int fd_a, int fd_b)
{
	struct stat a, b;

	if (fstat(fd_a, &a) < 0 || fstat(fd_b, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int netns_enter(int nsfd, int *saved)
{
	int fd, e;

	*saved = -1;
	fd = netns_open_current();
	if (fd < 0)
		return fd;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	*saved = fd;
	return 0;
}

int netns_leave(int saved)
{
	int e = 0;

	if (setns(saved, CLONE_NEWNET) < 0)
		e = -errno;
	close(saved);
	return e;
}

int netns_run(int nsfd, int (*fn)(void *arg), void *arg)
{
	int saved, r, e;

	e = netns_enter(nsfd, &saved);
	if (e < 0)
		return e;
	r = fn(arg);
	e = netns_leave(saved);
	return e < 0 ? e : r;
}
