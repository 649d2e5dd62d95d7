/* Stream sockets with timeouts (see sock.h). */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int64_t sock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sock_budget(int idle_ms, int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms <= 0)
		return idle_ms > 0 ? idle_ms : -1;
	left = deadline_ms - sock_now_ms();
	if (left <= 0)
		return 0;
	if (idle_ms > 0 && idle_ms < left)
		return idle_ms;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int sock_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t end = timeout_ms >= 0 ? sock_now_ms() + timeout_ms : 0;
	int n;

	for (;;) {
		n = poll(&pfd, 1, timeout_ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
		if (timeout_ms >= 0) {
			timeout_ms = (int)(end - sock_now_ms());
			if (timeout_ms < 0)
				timeout_ms = 0;
		}
	}
}

/* Non-blocking connect with a timeout; returns fd or -errno. */
static int connect_addr(int family, const struct sockaddr *sa,
			socklen_t salen, int timeout_ms)
{
	int fd, rc, soerr = 0, one = 1;
	socklen_t len = sizeof(soerr);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, sa, salen) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			goto fail;
		}
		rc = sock_wait(fd, POLLOUT, timeout_ms);
		if (rc < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
			rc = -errno;
			goto fail;
		}
		if (soerr) {
			rc = -soerr;
			goto fail;
		}
	}
	if (family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return rc;
}

static void addr_str(const struct addrinfo *ai, char *buf, size_t len)
{
	const void *a;

	if (ai->ai_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	else
		a = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
	if (!inet_ntop(ai->ai_family, a, buf, len))
		snprintf(buf, len, "?");
}

int sock_connect_tcp(const char *host, unsigned short port, int timeout_ms,
		     char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char svc[8], addr[INET6_ADDRSTRLEN] = "-";
	int64_t end = timeout_ms >= 0 ? sock_now_ms() + timeout_ms : 0;
	int fd = -EHOSTUNREACH, g, left;

	snprintf(svc, sizeof(svc), "%u", port);
	hints.ai_flags = AI_NUMERICSERV;
	g = getaddrinfo(host, svc, &hints, &res);
	if (g) {
		snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(g));
		return g == EAI_SYSTEM && errno ? -errno : -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		left = timeout_ms;
		if (timeout_ms >= 0) {
			left = (int)(end - sock_now_ms());
			if (left <= 0) {
				fd = -ETIMEDOUT;
				break;
			}
		}
		fd = connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				  left);
		addr_str(ai, addr, sizeof(addr));
		if (fd >= 0)
			break;
	}
	if (fd < 0)
		snprintf(err, errlen, "connect %s:%u (%s): %s", host, port,
			 addr, strerror(-fd));
	freeaddrinfo(res);
	return fd;
}

int sock_connect_unix(const char *path, int timeout_ms, char *err,
		      size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "connect unix:%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	fd = connect_addr(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
			  timeout_ms);
	if (fd < 0)
		snprintf(err, errlen, "connect unix:%s: %s", path,
			 strerror(-fd));
	return fd;
}

ssize_t sock_read(int fd, void *buf, size_t len, int timeout_ms)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = read(fd, buf, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = sock_wait(fd, POLLIN, timeout_ms);
		if (rc < 0)
			return rc;
	}
}

ssize_t sock_write(int fd, const void *buf, size_t len, int timeout_ms)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = sock_wait(fd, POLLOUT, timeout_ms);
		if (rc < 0)
			return rc;
	}
}
