/* eni-agent run: settings (config file, then flags), the checks that make
 * a bad setting fatal at start with its name, the threads, and the main
 * poll loop (CNI socket, metrics, signals, wake-ups, GC timer). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"
#include "server.h"
#include "sock.h"
#include "tls.h"

#define TICK_MS		1000
#define BASE_FDS	2	/* signalfd, wake eventfd */

const char ea_run_help[] =
"usage: eni-agent run [--config FILE] [OPTIONS]\n"
"\n"
"The node daemon of Terway mode: a warm pool of ENI secondary IPs for\n"
"cni-terway (unix socket, JSON protocol v1), exclusive ENIs, the vpc mode\n"
"route entry and flannel subnet file, state that survives restarts,\n"
"garbage collection, Prometheus metrics and /healthz.\n"
"\n"
"  -c, --config FILE       Terway eni.json compatible settings; default\n"
"                          " EA_DEFAULT_CONFIG " (optional)\n"
"  -s, --socket PATH       default " EA_DEFAULT_SOCKET "\n"
"  -d, --state-dir DIR     default " EA_DEFAULT_STATE_DIR "\n"
"  -n, --node NAME         this node; default node_name, NODE_NAME, the\n"
"                          host name\n"
"  -N, --link-netns PATH   the netns holding the ENI links (tests)\n"
"  -p, --metrics-port N    127.0.0.1:N (/metrics, /healthz); 0 off;\n"
"                          default 9483\n"
"  -k, --kube-server URL   Kubernetes API (default: in-cluster)\n"
"  -t, --kube-token-file F\n"
"  -C, --kube-ca-file F\n"
"  -l, --log-level L       error, warn, info (default), debug\n"
"\n"
"Config keys: access_key, access_secret, credential_path, ram_role,\n"
"region_id, vswitches {zone: [ids]}, vswitch_selection_policy,\n"
"security_group(s), service_cidr, min_pool_size, max_pool_size, max_eni,\n"
"batch_size, eni_tags, ip_stack, mode (eniip|vpc), cluster_cidr,\n"
"subnet_file, ipmasq, mtu, openapi_endpoint, ecs_endpoint, vpc_endpoint,\n"
"ca_file, metadata_endpoint, route_table_id, rate_limit, kube_server,\n"
"kube_token_file, kube_ca_file, node_name, socket, state_dir,\n"
"link_netns, metrics_address, metrics_port, log_level, gc_grace,\n"
"gc_interval, ip_pool_sync_period, alloc_timeout, attach_timeout,\n"
"link_timeout, pod_wait (durations: \"30s\" or seconds).\n"
"Credentials: access_key/access_secret, else credential_path, else\n"
"ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, else the instance RAM role.\n"
"Exit status: 2 on a bad setting (named on stderr), 1 on a failure.\n";

static const char run_optstring[] = ":c:s:d:n:N:p:k:t:C:l:h";
static const struct option run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "socket", required_argument, NULL, 's' },
	{ "state-dir", required_argument, NULL, 'd' },
	{ "node", required_argument, NULL, 'n' },
	{ "link-netns", required_argument, NULL, 'N' },
	{ "metrics-port", required_argument, NULL, 'p' },
	{ "kube-server", required_argument, NULL, 'k' },
	{ "kube-token-file", required_argument, NULL, 't' },
	{ "kube-ca-file", required_argument, NULL, 'C' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --- shared helpers ------------------------------------------------------- */

void ea_lock(struct agent *ag)
{
	pthread_mutex_lock(&ag->mu);
}

void ea_unlock(struct agent *ag)
{
	pthread_mutex_unlock(&ag->mu);
}

void ea_wake_main(struct agent *ag)
{
	uint64_t one = 1;

	(void)!write(ag->wake_fd, &one, sizeof(one));
}

void ea_kick_worker(struct agent *ag)
{
	ag->work_gen++;
	pthread_cond_signal(&ag->work);
}

int ea_stopping(struct agent *ag)
{
	int s;

	ea_lock(ag);
	s = ag->stop;
	ea_unlock(ag);
	return s;
}

int ea_save(struct agent *ag)
{
	char err[EA_MSG_MAX];
	const char *inst = ag->inst.id[0] ? ag->inst.id : ag->state_instance;

	if (!ag->pool.dirty)
		return 0;
	if (ea_state_save(&ag->pool, ag->conf.state_dir, inst, err,
			  sizeof(err)) < 0) {
		log_err("state: %s", err);
		return -EIO;
	}
	ag->pool.dirty = 0;
	return 0;
}

/* --- settings ------------------------------------------------------------- */

static int fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("eni-agent run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EA_EXIT_USAGE;
}

struct flags {
	const char *config, *socket, *state_dir, *node, *link_netns;
	const char *metrics_port, *kube_server, *kube_token, *kube_ca;
	const char *log_level;
};

static int parse_flags(int argc, char **argv, struct flags *f)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, run_optstring, run_options,
				NULL)) != -1) {
		switch (c) {
		case 'c': f->config = optarg; break;
		case 's': f->socket = optarg; break;
		case 'd': f->state_dir = optarg; break;
		case 'n': f->node = optarg; break;
		case 'N': f->link_netns = optarg; break;
		case 'p': f->metrics_port = optarg; break;
		case 'k': f->kube_server = optarg; break;
		case 't': f->kube_token = optarg; break;
		case 'C': f->kube_ca = optarg; break;
		case 'l': f->log_level = optarg; break;
		case 'h':
			fputs(ea_run_help, stdout);
			return -1;
		case ':':
			return ea_usage_error("run", "option %s needs a value",
					      argv[optind - 1]);
		default:
			return ea_usage_error("run", "unknown option %s",
					      argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ea_usage_error("run", "unexpected argument '%s'",
				      argv[optind]);
	return 0;
}

static int set_str(char *dst, size_t cap, const char *v, const char *flag)
{
	if (!v)
		return 0;
	if (strlen(v) >= cap)
		return fatal("%s: longer than %zu bytes", flag, cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int apply_flags(struct ea_conf *c, const struct flags *f)
{
	char *end;
	long port;

	if (set_str(c->socket, sizeof(c->socket), f->socket, "--socket") ||
	    set_str(c->state_dir, sizeof(c->state_dir), f->state_dir,
		    "--state-dir") ||
	    set_str(c->node, sizeof(c->node), f->node, "--node") ||
	    set_str(c->link_netns, sizeof(c->link_netns), f->link_netns,
		    "--link-netns") ||
	    set_str(c->kube_server, sizeof(c->kube_server), f->kube_server,
		    "--kube-server") ||
	    set_str(c->kube_token_file, sizeof(c->kube_token_file),
		    f->kube_token, "--kube-token-file") ||
	    set_str(c->kube_ca_file, sizeof(c->kube_ca_file), f->kube_ca,
		    "--kube-ca-file"))
		return EA_EXIT_USAGE;
	if (f->metrics_port) {
		port = strtol(f->metrics_port, &end, 10);
		if (*end || end == f->metrics_port || port < 0 || port > 65535)
			return fatal("--metrics-port: '%s': want 0..65535",
				     f->metrics_port);
		c->metrics_port = (int)port;
	}
	if (f->log_level && log_parse_level(f->log_level, &c->log_level) < 0)
		return fatal("--log-level: '%s': want error, warn, info or "
			     "debug", f->log_level);
	if (f->log_level)
		c->log_level_set = 1;
	return 0;
}

static void default_node(struct ea_conf *c)
{
	const char *env = getenv("NODE_NAME");

	if (c->node[0])
		return;
	if (env && *env)
		snprintf(c->node, sizeof(c->node), "%s", env);
	else if (gethostname(c->node, sizeof(c->node) - 1) < 0)
		c->node[0] = '\0';
}

/* Files the settings name must be usable now, not at the first pod. */
static int check_files(struct agent *ag)
{
	struct ea_conf *c = &ag->conf;
	struct aliyun_cred cr;
	struct tls_config tls;
	char err[EA_ERR_SIZE];

	if (c->ca_file[0]) {
		if (tls_config_init(&tls, c->ca_file, err, sizeof(err)) < 0)
			return fatal("ca_file: %s", err);
		tls_config_free(&tls);
	}
	if (c->cred_kind == EA_CRED_FILE) {
		if (ea_cred_file(c->credential_path, &cr, NULL, 0, err,
				 sizeof(err)) < 0)
			return fatal("credential_path: %s", err);
		explicit_bzero(&cr, sizeof(cr));
	}
	if (ea_kube_check(c, err, sizeof(err)) < 0)
		return fatal("kube_server: %s%s", c->kube_server[0] ? "" :
			     "not set and not in a cluster: ", err);
	ag->link_nsfd = -1;
	if (c->link_netns[0]) {
		ag->link_nsfd = netns_open(c->link_netns);
		if (ag->link_nsfd < 0)
			return fatal("link_netns: %s: %s", c->link_netns,
				     strerror(-ag->link_nsfd));
	}
	return 0;
}

static int settings(struct agent *ag, int argc, char **argv)
{
	struct flags f = { 0 };
	char err[EA_MSG_MAX];
	int rc;

	rc = parse_flags(argc, argv, &f);
	if (rc)
		return rc;
	ea_conf_defaults(&ag->conf);
	log_init("eni-agent", LOG_LVL_INFO);
	rc = ea_conf_load(&ag->conf, f.config ? f.config : EA_DEFAULT_CONFIG,
			  f.config != NULL, err, sizeof(err));
	if (rc < 0)
		return fatal("%s", err);
	rc = apply_flags(&ag->conf, &f);
	if (rc)
		return rc;
	default_node(&ag->conf);
	if (ag->conf.log_level_set)	/* else VPCNET_LOG_LEVEL or info */
		log_set_level(ag->conf.log_level);
	if (ea_conf_check(&ag->conf, err, sizeof(err)) < 0)
		return fatal("%s", err);
	return check_files(ag);
}

/* --- the agent ------------------------------------------------------------ */

static int agent_init(struct agent *ag)
{
	pthread_condattr_t ca;

	if (pthread_mutex_init(&ag->mu, NULL) ||
	    pthread_condattr_init(&ca) ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&ag->work, &ca))
		return -ENOMEM;
	pthread_condattr_destroy(&ca);
	ag->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return ag->wake_fd < 0 ? -errno : 0;
}

static void load_state(struct agent *ag)
{
	char err[EA_MSG_MAX];
	int rc;

	rc = ea_state_load(&ag->pool, ag->conf.state_dir, ag->state_instance,
			   sizeof(ag->state_instance), err, sizeof(err));
	if (rc == -ENOENT)
		log_info("state: none yet in %s", ag->conf.state_dir);
	else if (rc < 0)
		log_err("state: %s: starting from the cloud alone", err);
	else
		log_info("state: %d allocations loaded%s%s", ag->pool.nalloc,
			 err[0] ? "; " : "", err);
}

static int signal_fd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Timers of the main loop (mu held). */
static void tick(struct agent *ag, int64_t now, int64_t *next_gc)
{
	int i;

	ea_reserve_pod_ips(ag);
	if (now >= *next_gc) {
		ea_gc_pods(ag, now);
		*next_gc = now + ag->conf.gc_interval_ms;
	}
	for (i = ag->pool.nreq - 1; i >= 0; i--)
		if (ag->pool.req[i].state == EA_REQ_FAILED &&
		    now > ag->pool.req[i].deadline_ms)
			ea_req_remove(&ag->pool, &ag->pool.req[i]);
}

static int drain(int fd, int is_signal)
{
	struct signalfd_siginfo si;
	uint64_t v;

	if (is_signal) {
		if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			return 0;
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP ignored (restart to read the config)");
			return 0;
		}
		log_info("signal %u: stopping", si.ssi_signo);
		return 1;
	}
	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	return 1;
}

static int main_loop(struct agent *ag, struct ea_server *s, int sfd)
{
	struct pollfd fds[BASE_FDS + 2 + EA_MAX_CONNS];
	int64_t now, next_tick = 0, next_gc = 0;
	int n, timeout, woke, done = 0;

	while (!done) {
		now = sock_now_ms();
		timeout = next_tick > now ? (int)(next_tick - now) : 0;
		fds[0] = (struct pollfd){ sfd, POLLIN, 0 };
		fds[1] = (struct pollfd){ ag->wake_fd, POLLIN, 0 };
		n = ea_server_pollfds(s, fds, BASE_FDS,
				      (int)(sizeof(fds) / sizeof(fds[0])),
				      &timeout);
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return EA_EXIT_FAIL;
		}
		if ((fds[0].revents & POLLIN) && drain(sfd, 1))
			return EA_EXIT_OK;
		woke = (fds[1].revents & POLLIN) && drain(ag->wake_fd, 0);
		now = sock_now_ms();
		ea_lock(ag);
		if (woke || now >= next_tick)
			tick(ag, now, &next_gc);
		done = ag->worker_done;
		ea_unlock(ag);
		ea_server_io(s, fds, n, BASE_FDS);
		if (woke || now >= next_tick) {
			ea_server_retry(s);
			if (now >= next_tick)
				next_tick = now + TICK_MS;
		}
	}
	log_err("the worker stopped: %s", ag->status);
	return EA_EXIT_FAIL;
}

static int start_threads(struct agent *ag, pthread_t *w, pthread_t *kp,
			 pthread_t *kn, int *have_kn)
{
	char err[EA_MSG_MAX];
	int rc;

	rc = ea_kube_start(ag, kp, kn, have_kn, err, sizeof(err));
	if (rc < 0)
		return fatal("kube_server: %s%s", ag->conf.kube_server[0] ?
			     "" : "not set and not in a cluster: ", err);
	rc = pthread_create(w, NULL, ea_worker_main, ag);
	if (rc) {
		log_err("worker thread: %s", strerror(rc));
		return EA_EXIT_FAIL;
	}
	return 0;
}

/* A thread inside a network call may take a while: 5 s, then we go
 * (detached; returns -1). */
static int join(pthread_t t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	if (!pthread_timedjoin_np(t, NULL, &ts))
		return 0;
	pthread_detach(t);
	return -1;
}

/* Returns 0 when every thread was joined (ag is then ours alone). */
static int stop(struct agent *ag, struct ea_server *s, pthread_t *th,
		int n)
{
	int i, rc = 0;

	ea_lock(ag);
	ag->stop = 1;
	pthread_cond_broadcast(&ag->work);
	ea_save(ag);
	ea_unlock(ag);
	ea_server_close(s);
	for (i = 0; i < n; i++)
		if (join(th[i]) < 0)
			rc = -1;
	return rc;
}

int ea_run_main(int argc, char **argv)
{
	struct agent *ag = calloc(1, sizeof(*ag));
	struct ea_server s;
	char err[EA_MSG_MAX];
	pthread_t th[3];
	int rc, sfd, have_kn = 0;

	if (!ag)
		return EA_EXIT_FAIL;
	ag->wake_fd = -1;
	rc = settings(ag, argc, argv);
	if (rc)
		return rc < 0 ? EA_EXIT_OK : rc;
	if (agent_init(ag) < 0 || (sfd = signal_fd()) < 0) {
		log_err("init: %s", strerror(errno));
		return EA_EXIT_FAIL;
	}
	load_state(ag);
	rc = ea_server_open(&s, ag, err, sizeof(err));
	if (rc < 0)
		return fatal("%s", err);
	rc = start_threads(ag, &th[0], &th[1], &th[2], &have_kn);
	if (rc) {
		ea_server_close(&s);
		return rc;
	}
	log_info("serving %s (mode %s, node %s)%s", ag->conf.socket,
		 ea_mode_name(ag->conf.mode), ag->conf.node,
		 ag->conf.metrics_port ? "; metrics on" : "");
	rc = main_loop(ag, &s, sfd);
	if (stop(ag, &s, th, have_kn ? 3 : 2) == 0) {
		ea_pool_free(&ag->pool);
		free(ag->pods.pod);
		free(ag);
	}
	return rc;
}
