/* Stream sockets with timeouts: TCP (IPv4/IPv6, name resolution) and unix.
 * Every fd is non-blocking and close-on-exec; reads and writes wait with
 * poll() for at most the given number of milliseconds (-1: no limit).
 * Functions return >= 0 or -errno and never print. */
#ifndef VPCNET_SOCK_H
#define VPCNET_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Milliseconds on the monotonic clock. */
int64_t sock_now_ms(void);

/* Milliseconds to wait given an idle timeout and an absolute deadline
 * (each <= 0 meaning none): -1 for no limit, 0 when the deadline passed. */
int sock_budget(int idle_ms, int64_t deadline_ms);

/* Wait until fd is ready for events (POLLIN/POLLOUT): 0, -ETIMEDOUT or
 * -errno.  EINTR is retried with the remaining time. */
int sock_wait(int fd, short events, int timeout_ms);

/* Connect to host:port (a name or an IP literal), trying each address
 * in turn.  Returns the fd or -errno; err gets "connect HOST:PORT (ADDR)"
 * style context for the failure. */
int sock_connect_tcp(const char *host, unsigned short port, int timeout_ms,
		     char *err, size_t errlen);

/* Connect to the unix stream socket at path. */
int sock_connect_unix(const char *path, int timeout_ms, char *err,
		      size_t errlen);

/* One read: > 0 bytes, 0 at end of stream, -ETIMEDOUT or -errno. */
ssize_t sock_read(int fd, void *buf, size_t len, int timeout_ms);

/* One write (no SIGPIPE): > 0 bytes written, -ETIMEDOUT or -errno. */
ssize_t sock_write(int fd, const void *buf, size_t len, int timeout_ms);

#endif
