/* eni-agent protocol v1: one message each way over a unix stream socket,
 * with deadlines, and the client call (see eniproto.h). */
#include "eniproto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

int eniproto_recv(int fd, char *buf, size_t size, int timeout_ms,
		  size_t *len)
{
	int64_t end = timeout_ms > 0 ? sock_now_ms() + timeout_ms : 0;
	size_t have = 0;
	int rc, line = 0;
	ssize_t n;
	char *nl;

	if (size < 2)
		return -EINVAL;
	for (;;) {
		if (have >= size - 1)
			return -EMSGSIZE;
		rc = sock_wait(fd, POLLIN, sock_budget(0, end));
		if (rc < 0)
			return rc;
		n = recv(fd, buf + have, size - 1 - have, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		nl = memchr(buf + have, '\n', (size_t)n);
		if (nl) {
			have = (size_t)(nl - buf);
			line = 1;
			break;
		}
		have += (size_t)n;
	}
	if (!have && !line)
		return -ENODATA;
	buf[have] = 0;
	*len = have;
	return 0;
}

int eniproto_send(int fd, const char *buf, size_t len, int timeout_ms)
{
	int64_t end = timeout_ms > 0 ? sock_now_ms() + timeout_ms : 0;
	ssize_t n;
	int rc;

	while (len) {
		rc = sock_wait(fd, POLLOUT, sock_budget(0, end));
		if (rc < 0)
			return rc;
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int call_fd(int fd, int64_t end, const struct eniproto_req *req,
		   struct eniproto_resp *resp, char *buf, char *err)
{
	char why[ENIPROTO_ERRLEN - 64];
	size_t len;
	int rc;

	rc = eniproto_req_encode(req, buf, ENIPROTO_MAX);
	if (rc < 0) {
		snprintf(err, ENIPROTO_ERRLEN, "%s request: cannot encode: %s",
			 eniproto_op_name(req->op) ? eniproto_op_name(req->op) :
			 "unknown", strerror(-rc));
		return -EINVAL;
	}
	rc = eniproto_send(fd, buf, (size_t)rc, sock_budget(0, end));
	if (rc < 0) {
		snprintf(err, ENIPROTO_ERRLEN, "send: %s", strerror(-rc));
		return rc;
	}
	rc = eniproto_recv(fd, buf, ENIPROTO_MAX, sock_budget(0, end), &len);
	if (rc == -ENODATA) {
		snprintf(err, ENIPROTO_ERRLEN, "no answer (connection closed)");
		return rc;
	}
	if (rc < 0) {
		snprintf(err, ENIPROTO_ERRLEN, "receive: %s", rc == -EMSGSIZE ?
			 "answer longer than 64 KiB" : strerror(-rc));
		return rc;
	}
	rc = eniproto_resp_decode(resp, req->op, buf, len, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, ENIPROTO_ERRLEN, "bad answer: %s", why);
		return rc == -EPROTONOSUPPORT ? rc : -EPROTO;
	}
	return 0;
}

int eniproto_call(const char *sock_path, int timeout_ms,
		  const struct eniproto_req *req, struct eniproto_resp *resp,
		  char err[ENIPROTO_ERRLEN])
{
	int64_t end;
	char *buf;
	int fd, rc;

	memset(resp, 0, sizeof(*resp));
	err[0] = 0;
	if (timeout_ms <= 0)
		timeout_ms = ENIPROTO_TIMEOUT_MS;
	end = sock_now_ms() + timeout_ms;
	buf = malloc(ENIPROTO_MAX);
	if (!buf) {
		snprintf(err, ENIPROTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	fd = sock_connect_unix(sock_path, timeout_ms, err, ENIPROTO_ERRLEN);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = call_fd(fd, end, req, resp, buf, err);
	close(fd);
out:
	free(buf);
	return rc;
}
