/* This node's pods (and, in vpc mode, the node itself) from the
 * Kubernetes API: list+watch with lib/kube's reflector, on a thread each
 * (a client serves one thread), fieldSelector spec.nodeName=<node>
 * (metadata.name=<node> for the node).  Kept under agent.mu: namespace,
 * name, uid, podIP, phase, hostNetwork and the annotations
 *	k8s.aliyun.com/eni: "true"	an exclusive ENI
 *	kubernetes.io/{ingress,egress}-bandwidth	(these win)
 *	k8s.aliyun.com/{ingress,egress}-bandwidth
 * Bandwidth is parsed here (lib/bw); a bad value is kept as an error that
 * fails the pod's alloc with code 7. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "bw.h"
#include "kube.h"

struct kthread {
	struct agent *ag;
	struct kube_client kc;
	int node;		/* the node reflector */
	char selector[300];
};

struct ea_pod *ea_pod_find(struct ea_pods *ps, const char *ns,
			   const char *name)
{
	int i;

	for (i = 0; i < ps->n; i++)
		if (!strcmp(ps->pod[i].name, name) &&
		    !strcmp(ps->pod[i].ns, ns))
			return &ps->pod[i];
	return NULL;
}

static void str_at(const struct json_doc *d, int obj, const char *path,
		   char *dst, size_t cap)
{
	int i = json_path(d, obj, path);
	const char *s;

	dst[0] = '\0';
	if (i >= 0 && json_as_str(d, i, NULL, &s, NULL, NULL) == 0 &&
	    strlen(s) < cap)
		memcpy(dst, s, strlen(s) + 1);
}

static const char *ann(const struct json_doc *d, int anns, const char *key,
		       size_t *n)
{
	const char *s;
	int v = json_find(d, anns, key);

	if (v < 0 || json_as_str(d, v, NULL, &s, n, NULL) < 0)
		return NULL;
	return s;
}

static void bandwidth(const struct json_doc *d, int anns, struct ea_pod *p)
{
	static const char *const dir[2] = { "ingress", "egress" };
	const char *k8s, *ali, *why = NULL;
	char key1[48], key2[48];
	uint64_t *out[2] = { &p->ingress, &p->egress };
	size_t n1 = 0, n2 = 0;
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(key1, sizeof(key1), "kubernetes.io/%s-bandwidth",
			 dir[i]);
		snprintf(key2, sizeof(key2), "k8s.aliyun.com/%s-bandwidth",
			 dir[i]);
		k8s = ann(d, anns, key1, &n1);
		ali = ann(d, anns, key2, &n2);
		if (bw_annotation(k8s, n1, ali, n2, out[i], &why) < 0) {
			snprintf(p->bw_err, sizeof(p->bw_err), "%s: %s",
				 k8s ? key1 : key2, why ? why : "bad value");
			*out[i] = 0;
		}
	}
}

static int truthy(const char *s)
{
	return s && *s && strcmp(s, "false") && strcmp(s, "0") &&
	       strcmp(s, "False") && strcmp(s, "FALSE");
}

static void parse_pod(const struct json_doc *d, int obj, struct ea_pod *p)
{
	char ip[64], phase[32];
	int anns, hn = 0, v;
	size_t n;

	memset(p, 0, sizeof(*p));
	str_at(d, obj, "metadata.namespace", p->ns, sizeof(p->ns));
	str_at(d, obj, "metadata.name", p->name, sizeof(p->name));
	str_at(d, obj, "metadata.uid", p->uid, sizeof(p->uid));
	str_at(d, obj, "status.podIP", ip, sizeof(ip));
	if (inet_pton(AF_INET, ip, &p->ip) != 1)
		p->ip.s_addr = 0;
	str_at(d, obj, "status.phase", phase, sizeof(phase));
	p->terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	v = json_path(d, obj, "spec.hostNetwork");
	if (v >= 0 && json_as_bool(d, v, NULL, &hn, NULL) == 0)
		p->host_network = hn;
	anns = json_path(d, obj, "metadata.annotations");
	if (json_typeof(d, anns) != JSON_OBJECT)
		return;
	p->eni = truthy(ann(d, anns, "k8s.aliyun.com/eni", &n));
	bandwidth(d, anns, p);
}

static void upsert(struct ea_pods *ps, const struct ea_pod *np)
{
	struct ea_pod *p = ea_pod_find(ps, np->ns, np->name), *q;
	int cap;

	if (!p) {
		if (ps->n == ps->cap) {
			cap = ps->cap ? ps->cap * 2 : 64;
			q = realloc(ps->pod, (size_t)cap * sizeof(*q));
			if (!q)
				return;
			ps->pod = q;
			ps->cap = cap;
		}
		p = &ps->pod[ps->n++];
	}
	*p = *np;
}

static void drop(struct ea_pods *ps, struct ea_pod *p)
{
	*p = ps->pod[--ps->n];
}

static void pods_event(struct agent *ag, const struct kube_event *ev)
{
	struct ea_pods *ps = &ag->pods;
	struct ea_pod np, *p;
	int i;

	switch (ev->type) {
	case KUBE_EV_RESET:
		for (i = 0; i < ps->n; i++)
			ps->pod[i].stale = 1;
		ps->synced = 0;
		break;
	case KUBE_EV_SYNCED:
		for (i = ps->n - 1; i >= 0; i--)
			if (ps->pod[i].stale)
				drop(ps, &ps->pod[i]);
		ps->synced = 1;
		ps->err[0] = '\0';
		log_info("pods of node %s: %d listed", ag->conf.node, ps->n);
		break;
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
		parse_pod(ev->doc, ev->obj, &np);
		if (np.name[0])
			upsert(ps, &np);
		break;
	case KUBE_EV_DELETED:
		parse_pod(ev->doc, ev->obj, &np);
		p = ea_pod_find(ps, np.ns, np.name);
		if (p)
			drop(ps, p);
		break;
	default:
		break;
	}
}

static void node_event(struct agent *ag, const struct kube_event *ev)
{
	char cidr[64];
	struct ipnet n;

	if (ev->type != KUBE_EV_ADDED && ev->type != KUBE_EV_MODIFIED)
		return;
	str_at(ev->doc, ev->obj, "spec.podCIDR", cidr, sizeof(cidr));
	ag->pod_cidr_seen = 1;
	memset(&n, 0, sizeof(n));
	if (cidr[0] && (ipnet_parse(cidr, &n) < 0 ||
			n.ip.family != AF_INET)) {
		log_warn("node %s: spec.podCIDR '%s' is not an IPv4 CIDR",
			 ag->conf.node, cidr);
		return;
	}
	if (n.ip.family && (n.prefix != ag->pod_cidr.prefix ||
			    !ip_equal(&n.ip, &ag->pod_cidr.ip))) {
		log_info("node %s: podCIDR %s", ag->conf.node, cidr);
		ag->pod_cidr = n;
		ag->route_ok = 0;
		ea_kick_worker(ag);
	}
}

static int on_event(void *arg, const struct kube_event *ev)
{
	struct kthread *t = arg;
	struct agent *ag = t->ag;

	if (ev->type == KUBE_EV_RETRY) {
		log_warn("kube %s: %s (retry in %d ms)", t->node ? "node" :
			 "pods", ev->message ? ev->message : "failed",
			 ev->delay_ms);
		ea_lock(ag);
		if (!t->node)
			snprintf(ag->pods.err, sizeof(ag->pods.err), "%s",
				 ev->message ? ev->message : "failed");
		ea_unlock(ag);
		return 0;
	}
	if (ev->type == KUBE_EV_WATCH || ev->type == KUBE_EV_BOOKMARK)
		return 0;
	ea_lock(ag);
	if (t->node)
		node_event(ag, ev);
	else
		pods_event(ag, ev);
	ag->pods.events++;
	ea_unlock(ag);
	ea_wake_main(ag);
	return 0;
}

static int should_stop(void *arg)
{
	return ea_stopping(arg);
}

static void *kube_main(void *arg)
{
	struct kthread *t = arg;
	struct kube_reflect_opts o = {
		.path = t->node ? "/api/v1/nodes" : "/api/v1/pods",
		.field_selector = t->selector,
		.fn = on_event, .arg = t,
		.stop = should_stop, .stop_arg = t->ag,
		.backoff_max_ms = 10000,
	};

	kube_reflect(&t->kc, &o);
	kube_client_free(&t->kc);
	free(t);
	return NULL;
}

static int kube_settings(const struct ea_conf *conf, struct kube_config *cfg,
			 char *err, size_t errlen)
{
	kube_config_init(cfg);
	if (!conf->kube_server[0])
		return kube_config_in_cluster(cfg, NULL, err, errlen);
	snprintf(cfg->server, sizeof(cfg->server), "%s", conf->kube_server);
	snprintf(cfg->token_file, sizeof(cfg->token_file), "%s",
		 conf->kube_token_file);
	snprintf(cfg->ca_file, sizeof(cfg->ca_file), "%s", conf->kube_ca_file);
	return 0;
}

static int start_one(struct agent *ag, const struct kube_config *cfg,
		     int node, pthread_t *th, char *err, size_t errlen)
{
	struct kthread *t = calloc(1, sizeof(*t));
	int rc;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->ag = ag;
	t->node = node;
	snprintf(t->selector, sizeof(t->selector), "%s=%s",
		 node ? "metadata.name" : "spec.nodeName", ag->conf.node);
	rc = kube_client_init(&t->kc, cfg, err, errlen);
	if (rc == 0)
		rc = -pthread_create(th, NULL, kube_main, t);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "thread: %s", strerror(-rc));
		kube_client_free(&t->kc);
		free(t);
	}
	return rc;
}

int ea_kube_check(const struct ea_conf *conf, char *err, size_t errlen)
{
	struct kube_client kc;
	struct kube_config cfg;
	int rc;

	err[0] = '\0';
	rc = kube_settings(conf, &cfg, err, errlen);
	if (rc < 0)
		return rc;
	rc = kube_client_init(&kc, &cfg, err, errlen);
	kube_client_free(&kc);
	return rc;
}

int ea_kube_start(struct agent *ag, pthread_t *pods, pthread_t *node,
		  int *have_node, char *err, size_t errlen)
{
	struct kube_config cfg;
	int rc;

	err[0] = '\0';
	*have_node = 0;
	rc = kube_settings(&ag->conf, &cfg, err, errlen);
	if (rc < 0)
		return rc;
	rc = start_one(ag, &cfg, 0, pods, err, errlen);
	if (rc == 0 && ag->conf.mode == EA_MODE_VPC) {
		rc = start_one(ag, &cfg, 1, node, err, errlen);
		*have_node = rc == 0;
	}
	return rc;
}
