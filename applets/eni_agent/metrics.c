/* Metrics (Prometheus text format 0.0.4) and health on 127.0.0.1:<port>:
 *	GET /metrics	pool sizes, allocations, OpenAPI calls/errors/latency,
 *			GC counts, pods
 *	GET /healthz	200 "ok" once the agent serves allocations, else 503
 *			with the reason
 * One request per connection, answered with Connection: close. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define P "vpcnet_eni_agent_"
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct buf {
	char *s;
	size_t len, cap;
	int err;
};

static void bprintf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *p;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0,
		      fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = 1;
		return;
	}
	if (b->s && b->len + (size_t)n < b->cap) {
		b->len += (size_t)n;
		return;
	}
	need = b->len + (size_t)n + 1;
	b->cap = need > b->cap * 2 ? need + 4096 : b->cap * 2;
	p = realloc(b->s, b->cap);
	if (!p) {
		b->err = 1;
		return;
	}
	b->s = p;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void head(struct buf *b, const char *name, const char *type,
		 const char *help)
{
	bprintf(b, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name,
		type);
}

void ea_metric_api(struct ea_metrics *m, const char *action, double secs,
		   const char *err_code)
{
	struct ea_api_stat *a = NULL;
	int i;

	for (i = 0; i < m->napi && !a; i++)
		if (!strcmp(m->api[i].action, action))
			a = &m->api[i];
	if (!a && m->napi < EA_MAX_ACTIONS) {
		a = &m->api[m->napi++];
		snprintf(a->action, sizeof(a->action), "%s", action);
	}
	if (!a)
		return;
	a->calls++;
	a->seconds += secs;
	if (!err_code)
		return;
	a->errors++;
	for (i = 0; i < EA_MAX_CODES; i++) {
		if (!a->code[i].code[0])
			snprintf(a->code[i].code, sizeof(a->code[i].code), "%s",
				 err_code);
		if (!strcmp(a->code[i].code, err_code)) {
			a->code[i].n++;
			return;
		}
	}
}

static void api_metrics(struct buf *b, const struct ea_metrics *m)
{
	int i, j;

	head(b, "api_calls_total", "counter", "OpenAPI calls by action "
	     "(retries inside a call not counted).");
	for (i = 0; i < m->napi; i++)
		bprintf(b, P "api_calls_total{action=\"%s\"} %lu\n",
			m->api[i].action, m->api[i].calls);
	head(b, "api_errors_total", "counter", "OpenAPI calls that failed, "
	     "by action and error code.");
	for (i = 0; i < m->napi; i++)
		for (j = 0; j < EA_MAX_CODES && m->api[i].code[j].code[0]; j++)
			bprintf(b, P "api_errors_total{action=\"%s\","
				"code=\"%s\"} %lu\n", m->api[i].action,
				m->api[i].code[j].code, m->api[i].code[j].n);
	head(b, "api_latency_seconds", "summary", "OpenAPI call latency, "
	     "retries and rate-limit waits included.");
	for (i = 0; i < m->napi; i++)
		bprintf(b, P "api_latency_seconds_sum{action=\"%s\"} %.6f\n"
			P "api_latency_seconds_count{action=\"%s\"} %lu\n",
			m->api[i].action, m->api[i].seconds, m->api[i].action,
			m->api[i].calls);
}

static void pool_metrics(struct buf *b, struct agent *ag)
{
	struct ea_pool_count c;
	const struct ea_pool *p = &ag->pool;

	ea_pool_count(p, &c);
	head(b, "ready", "gauge", "1 when allocations are served.");
	bprintf(b, P "ready %d\n", ag->ready && ag->pods.synced);
	head(b, "pool_ips", "gauge", "IPs of the shared ENIs by state.");
	bprintf(b, P "pool_ips{state=\"idle\"} %d\n"
		P "pool_ips{state=\"inuse\"} %d\n"
		P "pool_ips{state=\"releasing\"} %d\n"
		P "pool_ips{state=\"unconfigured\"} %d\n", c.idle, c.inuse,
		c.releasing, c.total - c.idle - c.inuse - c.releasing);
	head(b, "pool_min", "gauge", "Idle IPs kept at least.");
	bprintf(b, P "pool_min %d\n", p->min);
	head(b, "pool_max", "gauge", "Idle IPs kept at most.");
	bprintf(b, P "pool_max %d\n", p->max);
	head(b, "pool_capacity", "gauge", "Pod IPs the instance can hold.");
	bprintf(b, P "pool_capacity %d\n", ea_plan_capacity(p->eni_quota,
							    c.exclusive,
							    p->ips_per_eni));
	head(b, "enis", "gauge", "Secondary ENIs attached by the agent.");
	bprintf(b, P "enis{kind=\"shared\"} %d\n" P "enis{kind=\"exclusive\"} "
		"%d\n", c.enis, c.exclusive);
	head(b, "alloc_pending", "gauge", "Allocations waiting for an IP.");
	bprintf(b, P "alloc_pending %d\n", p->pending);
	head(b, "pods", "gauge", "Pods of this node known from Kubernetes.");
	bprintf(b, P "pods %d\n", ag->pods.n);
}

static void counters(struct buf *b, const struct ea_metrics *m)
{
	static const char *const modes[] = { "eniip", "vpc", "eni" };
	int i;

	head(b, "allocations_total", "counter", "Alloc requests answered.");
	for (i = 0; i < 3; i++)
		bprintf(b, P "allocations_total{mode=\"%s\",result=\"ok\"} "
			"%lu\n" P "allocations_total{mode=\"%s\","
			"result=\"error\"} %lu\n", modes[i], m->alloc_ok[i],
			modes[i], m->alloc_fail[i]);
	head(b, "alloc_wait_seconds_total", "counter", "Time successful "
	     "allocs took, in all.");
	bprintf(b, P "alloc_wait_seconds_total %.6f\n", m->alloc_seconds);
	head(b, "releases_total", "counter", "Release requests.");
	bprintf(b, P "releases_total %lu\n", m->releases);
	head(b, "gc_total", "counter", "Garbage collected resources.");
	bprintf(b, P "gc_total{what=\"pod_gone\"} %lu\n"
		P "gc_total{what=\"leaked_eni\"} %lu\n", m->gc_pod_ips,
		m->gc_enis);
	head(b, "ips_returned_total", "counter", "Idle IPs given back to the "
	     "cloud (above max_pool_size).");
	bprintf(b, P "ips_returned_total %lu\n", m->ips_returned);
	head(b, "enis_created_total", "counter", "ENIs created.");
	bprintf(b, P "enis_created_total %lu\n", m->enis_created);
	head(b, "enis_deleted_total", "counter", "ENIs deleted.");
	bprintf(b, P "enis_deleted_total %lu\n", m->enis_deleted);
	head(b, "bad_requests_total", "counter", "Malformed socket requests.");
	bprintf(b, P "bad_requests_total %lu\n", m->bad_requests);
}

static void respond(struct ea_conn *c, int status, const char *reason,
		    const char *type, const char *body, size_t len, int head)
{
	struct buf b = { 0 };

	bprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: "
		"%zu\r\nConnection: close\r\n\r\n", status, reason, type, len);
	if (!head && !b.err) {
		bprintf(&b, "%.*s", (int)len, body);
	}
	free(c->out);
	c->out = b.err ? NULL : b.s;
	c->outlen = b.err ? 0 : b.len;
	c->outoff = 0;
	if (b.err)
		free(b.s);
}

void ea_http_answer(struct agent *ag, struct ea_conn *c)
{
	struct buf b = { 0 };
	char path[64] = "";
	int is_head = !strncmp(c->in, "HEAD ", 5);
	int ok;

	if (strncmp(c->in, "GET ", 4) && !is_head) {
		respond(c, 405, "Method Not Allowed", "text/plain",
			"GET only\n", 9, 0);
		return;
	}
	sscanf(c->in + (is_head ? 5 : 4), "%63[^ ?\r\n]", path);
	ea_lock(ag);
	if (!strcmp(path, "/metrics")) {
		pool_metrics(&b, ag);
		counters(&b, &ag->m);
		api_metrics(&b, &ag->m);
		ok = 1;
	} else if (!strcmp(path, "/healthz")) {
		ok = ag->ready && ag->pods.synced;
		if (ok)
			bprintf(&b, "ok\n");
		else
			bprintf(&b, "starting: %s\n", !ag->ready ? ag->status :
				ag->pods.err[0] ? ag->pods.err :
				"waiting for the pod list");
	} else {
		ok = -1;
	}
	ea_unlock(ag);
	if (ok < 0)
		respond(c, 404, "Not Found", "text/plain", "not found\n", 10,
			is_head);
	else if (b.err)
		respond(c, 500, "Internal Server Error", "text/plain", "", 0,
			is_head);
	else
		respond(c, ok ? 200 : 503, ok ? "OK" : "Service Unavailable",
			!strcmp(path, "/metrics") ? PROM_TYPE : "text/plain",
			b.s ? b.s : "", b.len, is_head);
	free(b.s);
}
