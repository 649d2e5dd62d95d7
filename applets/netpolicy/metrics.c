/* netpolicy run: Prometheus /metrics and /healthz on 127.0.0.1:PORT.
 * One request per connection, answered from a snapshot of the counters
 * taken under the lock. /healthz is 200 once a sync has put the rules in
 * force and the last sync worked, 503 otherwise (an unreachable API alone
 * is no reason to restart: the rules in force stay right). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netpolicy.h"
#include "sock.h"

#define REQ_MAX 2048
#define BODY_MAX 8192
#define IO_MS 1000

int npd_metrics_listen(int port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		snprintf(err, errlen, "bind 127.0.0.1:%d: %s", port,
			 strerror(errno));
		close(fd);
		return -EADDRINUSE;
	}
	return fd;
}

struct out {
	char buf[BODY_MAX];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= sizeof(o->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
	if (o->len > sizeof(o->buf))
		o->len = sizeof(o->buf);
}

#define M "vpcnet_netpolicy_"

/* A metric family's HELP and TYPE lines. */
static void head(struct out *o, const char *name, const char *type,
		 const char *help)
{
	put(o, "# HELP " M "%s %s\n# TYPE " M "%s %s\n", name, help, name,
	    type);
}

/* One family with a sample per resource. */
static void per_res(struct npd *d, struct out *o, const char *name,
		    const char *type, int field, const char *help)
{
	const struct npd_res_state *r;
	unsigned long v;
	int i;

	head(o, name, type, help);
	for (i = 0; i < NPD_NRES; i++) {
		r = &d->res[i];
		switch (field) {
		case 0: v = r->store.n; break;
		case 1: v = r->events; break;
		case 2: v = r->invalid; break;
		case 3: v = r->api_errors; break;
		case 4: v = r->relists; break;
		default: v = (unsigned long)r->api_ok; break;
		}
		put(o, M "%s{resource=\"%s\"} %lu\n", name, r->name, v);
	}
}

static void metrics(struct npd *d, struct out *o)
{
	const struct npd_stats *st = &d->st;

	head(o, "syncs_total", "counter", "Rule set syncs committed.");
	put(o, M "syncs_total %lu\n", st->syncs);
	head(o, "sync_errors_total", "counter", "Rule set syncs that failed.");
	put(o, M "sync_errors_total %lu\n", st->sync_errors);
	head(o, "last_sync_duration_seconds", "gauge",
	     "Compile and program time of the last sync.");
	put(o, M "last_sync_duration_seconds %.6f\n", st->last_sync_ms / 1e3);
	head(o, "last_sync_timestamp_seconds", "gauge",
	     "Unix time of the last sync.");
	put(o, M "last_sync_timestamp_seconds %lld\n",
	    (long long)st->last_sync_wall);
	head(o, "event_to_enforce_seconds", "gauge",
	     "First change seen to rules in force, last sync.");
	put(o, M "event_to_enforce_seconds %.6f\n", st->last_latency_ms / 1e3);
	head(o, "event_to_enforce_max_seconds", "gauge",
	     "Largest change-to-enforcement time since start.");
	put(o, M "event_to_enforce_max_seconds %.6f\n",
	    st->max_latency_ms / 1e3);
	head(o, "local_pods", "gauge", "Pods of this node enforced.");
	put(o, M "local_pods %d\n", st->local);
	head(o, "isolated_addresses", "gauge",
	     "Local pod addresses isolated by some policy.");
	put(o, M "isolated_addresses %d\n", st->isolated);
	head(o, "classes", "gauge", "Pod classes with distinct rules.");
	put(o, M "classes %d\n", st->classes);
	head(o, "nft_objects", "gauge", "nftables objects in the table.");
	put(o, M "nft_objects{type=\"chains\"} %d\n" M
	    "nft_objects{type=\"sets\"} %d\n" M
	    "nft_objects{type=\"rules\"} %d\n" M
	    "nft_objects{type=\"elements\"} %d\n",
	    st->chains, st->sets, st->rules, st->elems);
	per_res(d, o, "objects", "gauge", 0, "Objects in the store.");
	per_res(d, o, "watch_events_total", "counter", 1,
		"Watch events received.");
	per_res(d, o, "invalid_objects_total", "counter", 2,
		"Objects skipped as invalid.");
	per_res(d, o, "api_errors_total", "counter", 3,
		"List or watch errors from the API.");
	per_res(d, o, "relists_total", "counter", 4,
		"Full relists (410 Gone or a dropped list).");
	per_res(d, o, "api_up", "gauge", 5,
		"1 while the list+watch of the resource is healthy.");
}

static void answer(int fd, int code, const char *type, const struct out *o)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s"
		     "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     code, code == 200 ? "OK" : code == 404 ? "Not Found" :
		     "Service Unavailable", type, o->len);
	if (sock_write(fd, head, (size_t)n, IO_MS) == n)
		sock_write(fd, o->buf, o->len, IO_MS);
}

static void serve(struct npd *d, int fd)
{
	struct out o;
	char req[REQ_MAX];
	size_t n = 0;
	ssize_t r;
	int code = 200;

	while (n < sizeof(req) - 1 && !memmem(req, n, "\r\n\r\n", 4)) {
		r = sock_read(fd, req + n, sizeof(req) - 1 - n, IO_MS);
		if (r <= 0)
			return;
		n += (size_t)r;
	}
	req[n] = 0;
	o.len = 0;
	if (!strncmp(req, "GET /metrics ", 13)) {
		pthread_mutex_lock(&d->mu);
		metrics(d, &o);
		pthread_mutex_unlock(&d->mu);
		answer(fd, 200, "text/plain; version=0.0.4", &o);
		return;
	}
	if (!strncmp(req, "GET /healthz ", 13)) {
		pthread_mutex_lock(&d->mu);
		if (!d->st.syncs) {
			code = 503;
			put(&o, "no sync yet\n");
		} else if (!d->st.last_ok) {
			code = 503;
			put(&o, "the last sync failed\n");
		} else {
			put(&o, "ok\n");
		}
		pthread_mutex_unlock(&d->mu);
		answer(fd, code, "text/plain", &o);
		return;
	}
	put(&o, "not found\n");
	answer(fd, 404, "text/plain", &o);
}

void *npd_metrics_main(void *arg)
{
	struct npd_metrics *m = arg;
	struct pollfd p = { .fd = m->fd, .events = POLLIN };
	int c;

	while (!npd_stopping(m->d)) {
		if (poll(&p, 1, 250) <= 0)
			continue;
		c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			continue;
		serve(m->d, c);
		close(c);
	}
	close(m->fd);
	return NULL;
}
