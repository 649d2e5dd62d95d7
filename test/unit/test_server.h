/* A tiny HTTP test server for unit tests: a forked child on 127.0.0.1 (or a
 * unix socket) that hands each accepted connection to a handler, one at a
 * time, so the handler may keep state in static variables across requests.
 *
 *	static void h(int fd, int conn) { ... tsrv_read_request ... tsrv_say }
 *	struct tsrv s; tsrv_start(&s, h, 0); ... tsrv_stop(&s);
 */
#ifndef VPCNET_TEST_SERVER_H
#define VPCNET_TEST_SERVER_H

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct tsrv {
	pid_t pid;
	int port;
	char sock[108];
};

typedef void (*tsrv_handler)(int fd, int conn);

/* Read one request (head, and a body of Content-Length bytes) into buf:
 * its length, or -1 at end of stream. */
static inline ssize_t tsrv_read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0, head;
	ssize_t n;
	char *e, *cl;

	for (;;) {
		buf[len] = '\0';
		e = strstr(buf, "\r\n\r\n");
		if (e) {
			head = (size_t)(e + 4 - buf);
			cl = strcasestr(buf, "\r\nContent-Length: ");
			if (!cl || cl > e ||
			    len >= head + strtoul(cl + 18, NULL, 10))
				return (ssize_t)len;
		}
		if (len + 1 >= cap)
			return -1;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
}

static inline void tsrv_say(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n) {
		w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Send a complete response with a Content-Length body. */
static inline void tsrv_reply(int fd, int status, const char *extra_headers,
			      const char *body)
{
	char head[512];

	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n%sContent-Length: "
		 "%zu\r\n\r\n", status, extra_headers ? extra_headers : "",
		 strlen(body));
	tsrv_say(fd, head);
	tsrv_say(fd, body);
}

static inline void tsrv_loop(int lfd, tsrv_handler fn)
{
	int fd, conn = 0;

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(0);
		fn(fd, ++conn);
		close(fd);
	}
}

static inline int tsrv_start(struct tsrv *s, tsrv_handler fn, int on_unix)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sin);
	static int seq;
	int lfd;

	memset(s, 0, sizeof(*s));
	if (on_unix) {
		snprintf(s->sock, sizeof(s->sock), "/tmp/tsrv-%d-%d.sock",
			 (int)getpid(), ++seq);
		unlink(s->sock);
		strcpy(sun.sun_path, s->sock);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -1;
	} else {
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return -1;
		getsockname(lfd, (struct sockaddr *)&sin, &len);
		s->port = ntohs(sin.sin_port);
	}
	listen(lfd, 16);
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* no orphans */
		tsrv_loop(lfd, fn);
	}
	close(lfd);
	return s->pid < 0 ? -1 : 0;
}

static inline void tsrv_stop(struct tsrv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	if (s->sock[0])
		unlink(s->sock);
}

#endif
