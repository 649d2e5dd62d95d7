/* The main thread's listeners and connections, non-blocking, driven by
 * the poll loop of run.c: the CNI socket (unix, 0600, one JSON request
 * line per connection, lib/eniproto) and the metrics endpoint (TCP on
 * 127.0.0.1, one HTTP request per connection).  Every state of a
 * connection has a deadline: reading the request, waiting for the pool,
 * writing the answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs.h"
#include "server.h"
#include "sock.h"

/* A stale socket file is replaced; a live agent's is not. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char why[128];
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "socket %s: exists and is not a socket",
			 path);
		return -EEXIST;
	}
	fd = sock_connect_unix(path, 500, why, sizeof(why));
	if (fd >= 0) {
		close(fd);
		snprintf(err, errlen, "socket %s: another eni-agent is "
			 "listening on it", path);
		return -EADDRINUSE;
	}
	return unlink(path) < 0 ? -errno : 0;
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = fs_mkdir_parents(path, 0755);
	if (!rc)
		rc = clear_stale(path, err, errlen);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "socket %s: %s", path,
				 strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc == 0 && chmod(path, 0600) < 0)
		rc = -1;
	if (rc == 0)
		rc = listen(fd, 128);
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

static int listen_tcp(const char *addr, int port, char *err, size_t errlen)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int v6 = strchr(addr, ':') != NULL, fd, one = 1, rc;

	if ((v6 && inet_pton(AF_INET6, addr, &s6.sin6_addr) != 1) ||
	    (!v6 && inet_pton(AF_INET, addr, &s4.sin_addr) != 1)) {
		snprintf(err, errlen, "metrics_address: '%s': not an IP "
			 "address", addr);
		return -EINVAL;
	}
	s4.sin_port = s6.sin6_port = htons((uint16_t)port);
	fd = socket(v6 ? AF_INET6 : AF_INET,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rc = v6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6)) :
		bind(fd, (struct sockaddr *)&s4, sizeof(s4));
	if (rc == 0)
		rc = listen(fd, 64);
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics %s:%d: %s", addr, port,
			 strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

int ea_server_open(struct ea_server *s, struct agent *ag, char *err,
		   size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->ag = ag;
	s->http_fd = -1;
	err[0] = '\0';
	s->cni_fd = listen_unix(ag->conf.socket, err, errlen);
	if (s->cni_fd < 0)
		return s->cni_fd;
	if (ag->conf.metrics_port) {
		s->http_fd = listen_tcp(ag->conf.metrics_addr,
					ag->conf.metrics_port, err, errlen);
		if (s->http_fd < 0) {
			close(s->cni_fd);
			unlink(ag->conf.socket);
			return s->http_fd;
		}
	}
	return 0;
}

static void conn_free(struct ea_server *s, int i)
{
	struct ea_conn *c = s->conn[i];

	if (c->want_ip) {
		ea_lock(s->ag);
		s->ag->pool.pending--;
		ea_unlock(s->ag);
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	s->conn[i] = s->conn[--s->nconn];
}

void ea_server_close(struct ea_server *s)
{
	while (s->nconn)
		conn_free(s, s->nconn - 1);
	if (s->cni_fd >= 0) {
		close(s->cni_fd);
		unlink(s->ag->conf.socket);
	}
	if (s->http_fd >= 0)
		close(s->http_fd);
}

static void accept_one(struct ea_server *s, int lfd, enum ea_conn_kind kind)
{
	static const char busy[] = "{\"v\":1,\"ok\":false,\"code\":11,"
		"\"msg\":\"eni-agent is busy: too many connections\"}\n";
	struct ea_conn *c;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (s->nconn == EA_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		if (kind == EA_CONN_CNI)
			(void)!send(fd, busy, sizeof(busy) - 1,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	c->fd = fd;
	c->kind = kind;
	c->state = EA_CS_READ;
	c->deadline_ms = sock_now_ms() + EA_READ_MS;
	s->conn[s->nconn++] = c;
}

int ea_server_pollfds(struct ea_server *s, struct pollfd *fds, int base,
		      int max, int *timeout_ms)
{
	int64_t now = sock_now_ms(), left;
	int n = base, i;

	fds[n++] = (struct pollfd){ s->cni_fd, POLLIN, 0 };
	fds[n++] = (struct pollfd){ s->http_fd, POLLIN, 0 };
	for (i = 0; i < s->nconn && n < max; i++) {
		struct ea_conn *c = s->conn[i];

		/* a waiting client is only watched for hanging up (it may
		 * have shut its sending side down) */
		fds[n++] = (struct pollfd){ c->fd, c->state == EA_CS_WRITE ?
					    POLLOUT : c->state == EA_CS_WAIT ?
					    0 : POLLIN, 0 };
		left = c->deadline_ms - now;
		if (left < 0)
			left = 0;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = (int)left;
	}
	return n;
}

static int grow_in(struct ea_conn *c, size_t max)
{
	char *p;

	c->incap = c->incap ? c->incap * 4 : 1024;
	if (c->incap > max)
		c->incap = max;
	p = realloc(c->in, c->incap);
	if (!p)
		return -1;
	c->in = p;
	return 0;
}

/* Read what is there: 1 the request is complete, 0 more to come, -1 the
 * peer went away or broke the limit (c->out may hold an answer).  A CNI
 * request line that is too long is read on to its end before the error
 * answer, so that the client is not cut off while it still writes. */
static int read_more(struct ea_conn *c)
{
	size_t max = c->kind == EA_CONN_CNI ? ENIPROTO_MAX : EA_HTTP_MAX;
	ssize_t n;

	for (;;) {
		if (c->inlen + 1 >= c->incap) {
			if (c->incap < max) {
				if (grow_in(c, max) < 0)
					return -1;
			} else if (c->kind != EA_CONN_CNI) {
				return -1;
			} else {
				if (!c->discard)
					log_warn("a request on the socket is "
						 "larger than %d bytes",
						 ENIPROTO_MAX - 1);
				c->discard = 1;
				c->inlen = 0;
			}
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - 1 - c->inlen,
			 MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
		if (c->discard && (!n || memchr(c->in, '\n', c->inlen))) {
			ea_answer_error(c, 100, "request larger than %d bytes",
					ENIPROTO_MAX - 1);
			return -1;
		}
		if (c->discard)
			continue;
		if (n == 0)
			return c->inlen ? 1 : -1;
		if (c->kind == EA_CONN_CNI && memchr(c->in, '\n', c->inlen))
			return 1;
		if (c->kind == EA_CONN_HTTP && strstr(c->in, "\r\n\r\n"))
			return 1;
	}
}

static void to_write(struct ea_conn *c)
{
	c->state = EA_CS_WRITE;
	c->deadline_ms = sock_now_ms() + EA_WRITE_MS;
}

static void cni_request(struct ea_server *s, struct ea_conn *c)
{
	struct agent *ag = s->ag;
	char err[ENIPROTO_ERRLEN];
	size_t len = strcspn(c->in, "\n");
	int64_t now = sock_now_ms();
	int rc;

	ea_lock(ag);
	rc = eniproto_req_decode(&c->req, c->in, len, err, sizeof(err));
	if (rc < 0) {
		ag->m.bad_requests++;
		c->req.op = ENIPROTO_OP_NONE;
		log_warn("bad request on %s: %s", ag->conf.socket, err);
		ea_answer_error(c, 100, "%s", rc == -EPROTONOSUPPORT ?
				"unsupported protocol version" : err);
		to_write(c);
	} else {
		c->started_ms = now;
		if (ea_handle(ag, c, now)) {
			to_write(c);
		} else {
			c->state = EA_CS_WAIT;
			c->deadline_ms = now + ag->conf.alloc_timeout_ms;
		}
	}
	ea_unlock(ag);
}

/* 1 when the answer is out (close), 0 more to write, -1 error. */
static int write_more(struct ea_conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->outoff += (size_t)n;
	}
	return 1;
}

/* Progress on one connection: 0 keep it, -1 close it. */
static int conn_step(struct ea_server *s, struct ea_conn *c, short rev)
{
	int rc;

	if (c->state == EA_CS_READ && (rev & (POLLIN | POLLHUP | POLLERR))) {
		rc = read_more(c);
		if (rc < 0 && !c->out)
			return -1;
		if (rc < 0)
			to_write(c);
		else if (rc > 0 && c->kind == EA_CONN_HTTP) {
			ea_http_answer(s->ag, c);
			to_write(c);
		} else if (rc > 0) {
			cni_request(s, c);
		}
	} else if (c->state == EA_CS_WAIT && (rev & (POLLHUP | POLLERR))) {
		return -1;	/* the client gave up */
	}
	if (c->state == EA_CS_WRITE) {
		rc = write_more(c);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static void expire(struct ea_server *s, struct ea_conn *c, int64_t now)
{
	if (c->deadline_ms > now)
		return;
	if (c->state == EA_CS_WAIT) {
		ea_lock(s->ag);
		ea_handle_timeout(s->ag, c);
		ea_unlock(s->ag);
		to_write(c);
	} else if (c->state == EA_CS_READ && c->kind == EA_CONN_CNI &&
		   c->inlen) {
		ea_answer_error(c, 100, "no complete request line within "
				"%d ms", EA_READ_MS);
		to_write(c);
	} else {
		c->deadline_ms = 0;	/* close */
	}
}

void ea_server_io(struct ea_server *s, const struct pollfd *fds, int n,
		  int base)
{
	int64_t now;
	short rev;
	int i;

	for (i = s->nconn - 1; i >= 0; i--) {
		rev = base + 2 + i < n ? fds[base + 2 + i].revents : 0;
		if (conn_step(s, s->conn[i], rev) < 0)
			conn_free(s, i);
	}
	now = sock_now_ms();
	for (i = s->nconn - 1; i >= 0; i--) {
		expire(s, s->conn[i], now);
		if (!s->conn[i]->deadline_ms ||
		    (s->conn[i]->state == EA_CS_WRITE &&
		     conn_step(s, s->conn[i], 0) < 0))
			conn_free(s, i);
	}
	if (fds[base].revents & POLLIN)
		accept_one(s, s->cni_fd, EA_CONN_CNI);
	if (s->http_fd >= 0 && (fds[base + 1].revents & POLLIN))
		accept_one(s, s->http_fd, EA_CONN_HTTP);
}

static int by_start(const void *x, const void *y)
{
	const struct ea_conn *a = *(struct ea_conn *const *)x;
	const struct ea_conn *b = *(struct ea_conn *const *)y;

	return a->started_ms < b->started_ms ? -1 :
		a->started_ms > b->started_ms;
}

/* Oldest first; answered ones are written by the next loop. */
void ea_server_retry(struct ea_server *s)
{
	struct ea_conn *w[EA_MAX_CONNS];
	int64_t now = sock_now_ms();
	int i, n = 0;

	for (i = 0; i < s->nconn; i++)
		if (s->conn[i]->state == EA_CS_WAIT)
			w[n++] = s->conn[i];
	qsort(w, (size_t)n, sizeof(w[0]), by_start);
	ea_lock(s->ag);
	for (i = 0; i < n; i++)
		if (ea_handle(s->ag, w[i], now))
			to_write(w[i]);
	ea_unlock(s->ag);
}
