/* TCP/UDP reachability server and prober for the netpolicy e2e tests,
 * and (without arguments) its own unit test over loopback.
 *
 *	np_probe_test serve PORT...
 *		TCP (accept, close) and UDP (echo) on every port, IPv4 and
 *		IPv6; prints "ready" once bound, runs until killed
 *	np_probe_test probe MS SPEC...
 *		probe all SPECs at once, each within MS milliseconds; prints
 *		"SPEC ok" or "SPEC fail" per SPEC, in order
 * SPEC: tcp:ADDR:PORT, udp:ADDR:PORT (ADDR in [] for IPv6), optionally
 * @SPORT: from that source port (one flow, probed again later).
 * UDP is "ok" when an answer comes back: the request and the reply both
 * passed. A datagram is resent every 100 ms until then.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define MAXP 1024
#define MAXL 64
#define RESEND_MS 100

struct probe {
	const char *spec;
	int udp;
	struct sockaddr_storage sa;
	socklen_t salen;
	int fd;
	int sport;
	int done, ok;
	long last_send;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int parse_spec(struct probe *p, const char *spec)
{
	char buf[128], *addr, *port, *at;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&p->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->sa;

	memset(p, 0, sizeof(*p));
	p->spec = spec;
	p->fd = -1;
	if (strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	if (!strncmp(buf, "udp:", 4))
		p->udp = 1;
	else if (strncmp(buf, "tcp:", 4))
		return -1;
	addr = buf + 4;
	at = strchr(addr, '@');
	if (at) {
		*at++ = 0;
		p->sport = atoi(at);
	}
	port = strrchr(addr, ':');
	if (!port)
		return -1;
	*port++ = 0;
	if (addr[0] == '[') {
		addr++;
		addr[strlen(addr) - 1] = 0;
	}
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(port));
		p->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(port));
		p->salen = sizeof(*s6);
	} else {
		return -1;
	}
	return 0;
}

static void finish(struct probe *p, int ok)
{
	p->done = 1;
	p->ok = ok;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* bind to the wanted source port (any address) */
static int bind_sport(struct probe *p)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	int one = 1;

	if (!p->sport)
		return 0;
	setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = p->sa.ss_family;
	if (ss.ss_family == AF_INET)
		s4->sin_port = htons((uint16_t)p->sport);
	else
		s6->sin6_port = htons((uint16_t)p->sport);
	return bind(p->fd, (struct sockaddr *)&ss, p->salen);
}

static void start(struct probe *p)
{
	p->fd = socket(p->sa.ss_family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) |
		       SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || bind_sport(p) < 0) {
		finish(p, 0);
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&p->sa, p->salen) < 0 &&
	    errno != EINPROGRESS) {
		finish(p, 0);
		return;
	}
	if (p->udp) {
		p->last_send = now_ms();
		if (send(p->fd, "p", 1, 0) < 0 && errno != EAGAIN)
			finish(p, 0);
	}
}

static void event(struct probe *p, short rev)
{
	char buf[16];
	int err = 0;
	socklen_t l = sizeof(err);

	if (p->udp) {
		if (recv(p->fd, buf, sizeof(buf), 0) >= 0)
			finish(p, 1);
		else if (errno != EAGAIN)
			finish(p, 0);
		return;
	}
	if (rev & (POLLOUT | POLLERR | POLLHUP)) {
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		finish(p, err == 0);
	}
}

static int run_probes(struct probe *p, int n, long timeout)
{
	struct pollfd pfd[MAXP];
	int idx[MAXP], i, k, left;
	long t0 = now_ms(), t, wait;

	for (i = 0; i < n; i++)
		start(&p[i]);
	for (;;) {
		t = now_ms();
		for (i = 0, k = 0, left = 0; i < n; i++) {
			if (p[i].done)
				continue;
			left++;
			if (p[i].udp && t - p[i].last_send >= RESEND_MS) {
				p[i].last_send = t;
				send(p[i].fd, "p", 1, 0);
			}
			pfd[k].fd = p[i].fd;
			pfd[k].events = p[i].udp ? POLLIN : POLLOUT;
			idx[k++] = i;
		}
		if (!left || t - t0 >= timeout)
			break;
		wait = timeout - (t - t0);
		if (wait > RESEND_MS)
			wait = RESEND_MS;
		if (poll(pfd, k, (int)wait) < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < k; i++)
			if (pfd[i].revents)
				event(&p[idx[i]], pfd[i].revents);
	}
	for (i = 0; i < n; i++)
		if (!p[i].done)
			finish(&p[i], 0);
	return 0;
}

static int cmd_probe(int argc, char **argv)
{
	static struct probe p[MAXP];
	long timeout;
	int i, n = argc - 3;

	if (argc < 4 || n > MAXP)
		return 2;
	timeout = atol(argv[2]);
	for (i = 0; i < n; i++)
		if (parse_spec(&p[i], argv[3 + i]) < 0) {
			fprintf(stderr, "bad probe spec: %s\n", argv[3 + i]);
			return 2;
		}
	if (run_probes(p, n, timeout) < 0)
		return 1;
	for (i = 0; i < n; i++)
		printf("%s %s\n", p[i].spec, p[i].ok ? "ok" : "fail");
	return 0;
}

/* --- server ---------------------------------------------------------- */

static int listen_one(int af, int type, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	s4->sin_family = (sa_family_t)af;
	if (af == AF_INET)
		s4->sin_port = htons((uint16_t)port);
	else
		s6->sin6_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&ss, af == AF_INET ? sizeof(*s4) :
		 sizeof(*s6)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 512) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void serve_event(int fd, int tcp)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char buf[64];
	ssize_t n;
	int c;

	if (tcp) {
		while ((c = accept(fd, NULL, NULL)) >= 0)
			close(c);
		return;
	}
	while ((n = recvfrom(fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &fl)) >= 0) {
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		fl = sizeof(from);
	}
}

static int serve(int *ports, int nports, int ready_fd)
{
	struct pollfd pfd[MAXL];
	int tcp[MAXL], n = 0, i, a, t, fd;
	static const int afs[2] = { AF_INET, AF_INET6 };

	for (i = 0; i < nports; i++)
		for (a = 0; a < 2; a++)
			for (t = 0; t < 2 && n < MAXL; t++) {
				fd = listen_one(afs[a], t ? SOCK_DGRAM :
						SOCK_STREAM, ports[i]);
				if (fd < 0 && afs[a] == AF_INET)
					return 1;
				if (fd < 0)
					continue;	/* no IPv6 */
				pfd[n].fd = fd;
				pfd[n].events = POLLIN;
				tcp[n++] = !t;
			}
	if (write(ready_fd, "ready\n", 6) != 6)
		return 1;
	for (;;) {
		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				serve_event(pfd[i].fd, tcp[i]);
	}
}

static int cmd_serve(int argc, char **argv)
{
	int ports[MAXL], i;

	if (argc < 3 || argc - 2 > MAXL / 4)
		return 2;
	for (i = 2; i < argc; i++)
		ports[i - 2] = atoi(argv[i]);
	return serve(ports, argc - 2, 1);
}

/* --- self test over loopback ------------------------------------------ */

static char *out_of(pid_t *pid, int argc, char **argv);

static void test_loopback(void)
{
	char *serve_argv[] = { "x", "serve", "47801", NULL };
	char *probe_argv[] = { "x", "probe", "300", "tcp:127.0.0.1:47801",
			       "udp:127.0.0.1:47801", "tcp:127.0.0.1:47802",
			       "udp:127.0.0.1:47802", "tcp:[::1]:47801",
			       NULL };
	pid_t srv, pr;
	char *o;

	o = out_of(&srv, 3, serve_argv);
	CHECK(o && !strncmp(o, "ready", 5));
	free(o);
	o = out_of(&pr, 8, probe_argv);
	waitpid(pr, NULL, 0);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	CHECK(o != NULL);
	if (!o)
		return;
	CHECK(strstr(o, "tcp:127.0.0.1:47801 ok\n") != NULL);
	CHECK(strstr(o, "udp:127.0.0.1:47801 ok\n") != NULL);
	CHECK(strstr(o, "tcp:127.0.0.1:47802 fail\n") != NULL);
	CHECK(strstr(o, "udp:127.0.0.1:47802 fail\n") != NULL);
	free(o);
}

static void test_spec(void)
{
	struct probe p;

	CHECK(parse_spec(&p, "tcp:10.0.0.1:80") == 0 && !p.udp);
	CHECK(parse_spec(&p, "udp:[fd00::1]:81") == 0 && p.udp &&
	      p.sa.ss_family == AF_INET6);
	CHECK(parse_spec(&p, "udp:10.0.0.1:80@40000") == 0 &&
	      p.sport == 40000);
	CHECK(parse_spec(&p, "icmp:10.0.0.1:80") < 0);
	CHECK(parse_spec(&p, "tcp:nohost:80") < 0);
}

/* Fork main(argc, argv) with stdout to a pipe; the first read (up to
 * 4 KiB, after the child wrote and, for probe, exited). */
static int dispatch(int argc, char **argv);

static char *out_of(pid_t *pid, int argc, char **argv)
{
	char *buf = calloc(1, 4096);
	int fds[2];
	ssize_t n, got = 0;

	if (!buf || pipe(fds) < 0)
		return NULL;
	*pid = fork();
	if (*pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		fflush(stdout);
		_exit(dispatch(argc, argv));
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + got, 4095 - got)) > 0) {
		got += n;
		if (!strcmp(argv[1], "serve") && memchr(buf, '\n', got))
			break;
	}
	close(fds[0]);
	return buf;
}

static int dispatch(int argc, char **argv)
{
	int rc;

	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc, argv);
	rc = cmd_probe(argc, argv);
	fflush(stdout);
	return rc;
}

/* A private netns with lo up, so the fixed ports collide with nothing;
 * the host's loopback if that is not allowed. */
static void private_lo(void)
{
	struct ifreq ifr;
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		return dispatch(argc, argv);
	private_lo();
	RUN(test_spec);
	RUN(test_loopback);
	return test_done();
}
