/*
 * Network namespaces: open one by path, enter and leave it safely, run a
 * function inside it.  Per thread (setns changes the calling thread only).
 * All return 0 (or an fd) on success, -errno on failure.
 */
#ifndef VPCNET_NETNS_H
#define VPCNET_NETNS_H

/* O_CLOEXEC fd of the netns at path; -ENOENT if missing, -EINVAL if the
 * path exists but is not a network namespace (not on nsfs, or another
 * kind of namespace). */
int netns_open(const char *path);

/* fd of the calling thread's netns. */
int netns_open_current(void);

/* 1 if both fds are the same netns, 0 if not, -errno. */
int netns_same(int fd_a, int fd_b);

/* Moves the thread into nsfd; *saved gets an fd of the netns it left.
 * On failure the thread has not moved and *saved is -1. */
int netns_enter(int nsfd, int *saved);

/* Moves the thread back into saved and closes it (also on failure; then
 * the thread is still in the other netns and should stop using it). */
int netns_leave(int saved);

/* Runs fn(arg) inside nsfd and comes back; returns fn's result, or the
 * -errno of entering or leaving (leaving's error wins). */
int netns_run(int nsfd, int (*fn)(void *arg), void *arg);

#endif
