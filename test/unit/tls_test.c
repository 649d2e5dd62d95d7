/* lib/tls: CA and certificates made with openssl at test time, served by
 * `openssl s_server` children on 127.0.0.1; the client must accept the good
 * CA and name (DNS or IP SAN), send SNI, present RSA and EC client
 * certificates, and refuse a wrong CA, a wrong name or IP, an expired
 * certificate, with messages that say which. */
#include "http.h"
#include "sock.h"
#include "test.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/tlst-XXXXXX";
static char err[1024];
static char path[2][256];
static struct http_conn conn;
static char body[65536];

/* dir/name, in one of two rotating buffers (two per call are fine). */
static const char *P(const char *name)
{
	static int i;

	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	return path[i];
}

static int sh(const char *fmt, const char *arg)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	return system(cmd);
}

/* CA, other CA, server (EC, localhost + 127.0.0.1), server (RSA), clients
 * (RSA and EC), an encrypted key. */
static int make_certs(void)
{
	static const char *script =
	"set -e; cd %s; exec >log 2>&1\n"
	"ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
	" -nodes -keyout $1.key -out $1.pem -days 3 -subj \"/CN=$2\""
	" -addext basicConstraints=critical,CA:TRUE"
	" -addext keyUsage=critical,keyCertSign,cRLSign; }\n"
	"leaf() { openssl req -newkey $2 -nodes -keyout $1.key -out $1.csr"
	" -subj /CN=$3; printf '%%s\\n' \"$4\" >$1.ext;"
	" openssl x509 -req -in $1.csr -CA ${5:-ca}.pem -CAkey ${5:-ca}.key"
	" -CAcreateserial -days 3 -out $1.pem -extfile $1.ext; }\n"
	"ca ca 'vpcnet tls_test CA'; ca other 'vpcnet tls_test other CA'\n"
	"SRV='subjectAltName=DNS:localhost,IP:127.0.0.1\n"
	"keyUsage=digitalSignature,keyEncipherment\n"
	"extendedKeyUsage=serverAuth'\n"
	"CLI='keyUsage=digitalSignature\nextendedKeyUsage=clientAuth'\n"
	"EC='ec -pkeyopt ec_paramgen_curve:P-256'\n"
	"leaf srv \"$EC\" localhost \"$SRV\"\n"
	"leaf srvrsa rsa:2048 localhost \"$SRV\"\n"
	"leaf othersrv \"$EC\" localhost \"$SRV\" other\n"
	"leaf clirsa rsa:2048 client-rsa \"$CLI\"\n"
	"leaf cliec \"$EC\" client-ec \"$CLI\"\n"
	"openssl pkey -in cliec.key -out enc.key -aes128 -passout pass:x\n"
	"cat srv.pem ca.pem >srvchain.pem\n";

	if (!mkdtemp(dir))
		return -1;
	return sh(script, dir);
}

struct server {
	pid_t pid;
	int port;
};

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* openssl s_server -www with cert (and key) from dir; extra args. */
static int start_tls_server(struct server *s, const char *cert,
			    const char *key, const char *extra)
{
	char cmd[1024], acc[32], c[300], k[300];
	int i, fd;

	s->port = free_port();
	snprintf(acc, sizeof(acc), "127.0.0.1:%d", s->port);
	snprintf(c, sizeof(c), "%s/%s", dir, cert);
	snprintf(k, sizeof(k), "%s/%s", dir, key);
	snprintf(cmd, sizeof(cmd), "exec openssl s_server -quiet -www "
		 "-accept %s -cert %s -key %s %s >/dev/null 2>&1", acc, c, k,
		 extra);
	s->pid = fork();
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* no orphans */
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		fd = sock_connect_tcp("127.0.0.1", (unsigned short)s->port,
				      1000, err, sizeof(err));
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(50000);
	}
	return -1;
}

static void stop_server(struct server *s)
{
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
}

static const struct http_request get_root = { .method = "GET",
					      .target = "/" };

/* GET https://host:port/ with cfg; name overrides the certificate name. */
static int https_get(const struct server *s, const struct tls_config *cfg,
		     const char *host, const char *name)
{
	struct http_endpoint ep;
	char url[100];
	size_t len;
	int rc;

	snprintf(url, sizeof(url), "https://%s:%d", host, s->port);
	if (http_endpoint_init(&ep, url, cfg, err, sizeof(err)) < 0)
		return -999;
	if (name)
		snprintf(ep.tls_name, sizeof(ep.tls_name), "%s", name);
	ep.io_timeout_ms = 3000;
	ep.total_timeout_ms = 5000;
	http_conn_init(&conn);
	rc = http_do(&conn, &ep, &get_root, body, sizeof(body), &len);
	if (rc < 0)
		snprintf(err, sizeof(err), "%s", conn.err);
	http_conn_close(&conn);
	return rc;
}

static void want_err(const char *s)
{
	if (getenv("VERBOSE"))
		fprintf(stderr, "# %s\n", err);
	if (!strstr(err, s)) {
		fprintf(stderr, "want \"%s\" in \"%s\"\n", s, err);
		test_failed_checks++;
	}
}

static struct tls_config good, other;
static struct server srv;

static void test_config_load(void)
{
	struct tls_config cfg;

	CHECK_INT(tls_config_init(&good, P("ca.pem"), err, sizeof(err)), 0);
	CHECK_INT(good.nanchors, 1);
	CHECK(good.anchors[0].flags & BR_X509_TA_CA);
	CHECK_INT(tls_config_init(&other, P("other.pem"), err, sizeof(err)),
		  0);
	/* a bundle: every certificate becomes an anchor */
	CHECK_INT(tls_config_init(&cfg, P("srvchain.pem"), err, sizeof(err)),
		  0);
	CHECK_INT(cfg.nanchors, 2);
	tls_config_free(&cfg);

	CHECK_INT(tls_config_init(&cfg, "/nonexistent/ca.pem", err,
				  sizeof(err)), -ENOENT);
	want_err("open /nonexistent/ca.pem: No such file");
	tls_config_free(&cfg);
	CHECK_INT(tls_config_init(&cfg, P("srv.ext"), err, sizeof(err)),
		  -ENOENT);
	want_err("no usable certificate");
	tls_config_free(&cfg);
	sh("cd %s && sed '3s/./#/' ca.pem >bad.pem", dir);
	CHECK(tls_config_init(&cfg, P("bad.pem"), err, sizeof(err)) < 0);
	want_err("bad.pem");
	tls_config_free(&cfg);
}

static void test_system_bundle(void)
{
	struct tls_config cfg;

	CHECK_INT(tls_config_init(&cfg, NULL, err, sizeof(err)), 0);
	CHECK(cfg.nanchors > 50);
	CHECK_STR(cfg.ca_file, TLS_DEFAULT_CA_FILE);
	tls_config_free(&cfg);
}

static void test_good_ca(void)
{
	CHECK_INT(https_get(&srv, &good, "localhost", NULL), 0);
	CHECK_INT(conn.resp.status, 200);
	CHECK(strstr(body, "s_server") != NULL);
	/* an IP literal matches the iPAddress subjectAltName */
	CHECK_INT(https_get(&srv, &good, "127.0.0.1", NULL), 0);
	CHECK_INT(https_get(&srv, &good, "127.0.0.1", "localhost"), 0);
}

static void test_wrong_ca(void)
{
	CHECK_INT(https_get(&srv, &other, "localhost", NULL), -EPROTO);
	want_err("TLS handshake with localhost: server certificate is not "
		 "signed by a trusted CA (CA file ");
	want_err("other.pem) [BR_ERR_X509_NOT_TRUSTED]");
}

static void test_wrong_name(void)
{
	CHECK_INT(https_get(&srv, &good, "127.0.0.1", "wrong.example"),
		  -EPROTO);
	want_err("TLS handshake with wrong.example: server certificate does "
		 "not match the host name 'wrong.example' "
		 "[BR_ERR_X509_BAD_SERVER_NAME]");
	CHECK_INT(https_get(&srv, &good, "127.0.0.1", "127.0.0.2"), -EPROTO);
	want_err("does not match the host name '127.0.0.2'");
	CHECK_INT(https_get(&srv, &good, "127.0.0.1", "::1"), -EPROTO);
	want_err("BR_ERR_X509_BAD_SERVER_NAME");
}

static void test_expired(void)
{
	good.now = 4102444800;	/* 2100-01-01 */
	CHECK_INT(https_get(&srv, &good, "localhost", NULL), -EPROTO);
	want_err("expired or is not yet valid");
	want_err("[BR_ERR_X509_EXPIRED]");
	good.now = 946684800;	/* 2000-01-01 */
	CHECK_INT(https_get(&srv, &good, "localhost", NULL), -EPROTO);
	want_err("[BR_ERR_X509_EXPIRED]");
	good.now = 0;
}

static void test_rsa_server(void)
{
	struct server s;

	CHECK_INT(start_tls_server(&s, "srvrsa.pem", "srvrsa.key", ""), 0);
	CHECK_INT(https_get(&s, &good, "localhost", NULL), 0);
	CHECK_INT(https_get(&s, &other, "localhost", NULL), -EPROTO);
	want_err("BR_ERR_X509_NOT_TRUSTED");
	stop_server(&s);
}

/* The name goes out as SNI (not for an IP): s_server answers "localhost"
 * with a certificate of the good CA and anyone else with the other CA's. */
static void test_sni(void)
{
	struct server s;
	char extra[600];

	snprintf(extra, sizeof(extra), "-servername localhost -cert2 %s/"
		 "srv.pem -key2 %s/srv.key", dir, dir);
	CHECK_INT(start_tls_server(&s, "othersrv.pem", "othersrv.key", extra),
		  0);
	CHECK_INT(https_get(&s, &good, "localhost", NULL), 0);
	CHECK_INT(https_get(&s, &other, "localhost", NULL), -EPROTO);
	CHECK_INT(https_get(&s, &other, "127.0.0.1", NULL), 0);
	CHECK_INT(https_get(&s, &good, "127.0.0.1", NULL), -EPROTO);
	want_err("[BR_ERR_X509_NOT_TRUSTED]");
	stop_server(&s);
}

static void client_cert(const char *cert, const char *key, int want)
{
	struct tls_config cfg;

	CHECK_INT(tls_config_init(&cfg, P("ca.pem"), err, sizeof(err)), 0);
	CHECK_INT(tls_config_client_cert(&cfg, P(cert), P(key), err,
					 sizeof(err)), 0);
	CHECK_INT(cfg.key_type, want);
	CHECK_INT(cfg.nchain, 1);
	CHECK_INT(https_get(&srv, &cfg, "localhost", NULL), 0);
	CHECK(strstr(body, "client-") != NULL || conn.resp.status == 200);
	tls_config_free(&cfg);
}

static void test_client_cert(void)
{
	struct tls_config cfg;
	char ca[300];

	stop_server(&srv);
	snprintf(ca, sizeof(ca), "-Verify 1 -CAfile %s/ca.pem", dir);
	CHECK_INT(start_tls_server(&srv, "srv.pem", "srv.key", ca), 0);
	CHECK_INT(https_get(&srv, &good, "localhost", NULL), -EPROTO);
	want_err("server sent alert");
	want_err("[BR_ERR_RECV_FATAL_ALERT]");
	client_cert("clirsa.pem", "clirsa.key", BR_KEYTYPE_RSA);
	client_cert("cliec.pem", "cliec.key", BR_KEYTYPE_EC);

	CHECK_INT(tls_config_init(&cfg, P("ca.pem"), err, sizeof(err)), 0);
	CHECK_INT(tls_config_client_cert(&cfg, P("cliec.pem"), P("enc.key"),
					 err, sizeof(err)), -ENOTSUP);
	want_err("encrypted keys are not supported");
	CHECK_INT(tls_config_client_cert(&cfg, P("cliec.pem"), P("ca.pem"),
					 err, sizeof(err)), -ENOENT);
	want_err("no RSA or EC private key");
	CHECK_INT(tls_config_client_cert(&cfg, P("nope.pem"), P("cliec.key"),
					 err, sizeof(err)), -ENOENT);
	want_err("nope.pem");
	tls_config_free(&cfg);
}

/* A TCP server that accepts and never speaks: the handshake times out. */
static void test_handshake_timeout(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct http_endpoint ep;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	char url[64];
	int64_t t0;
	size_t n;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(lfd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	listen(lfd, 4);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d",
		 ntohs(sin.sin_port));
	CHECK_INT(http_endpoint_init(&ep, url, &good, err, sizeof(err)), 0);
	ep.io_timeout_ms = 300;
	http_conn_init(&conn);
	t0 = sock_now_ms();
	CHECK_INT(http_do(&conn, &ep, &get_root, body, sizeof(body), &n),
		  -ETIMEDOUT);
	CHECK(sock_now_ms() - t0 < 2000);
	CHECK(strstr(conn.err, "GET https://127.0.0.1:") != NULL);
	CHECK(strstr(conn.err, "/: TLS handshake: timed out (no data for 300 "
		     "ms)") != NULL);
	close(lfd);
}

static void test_error_names(void)
{
	CHECK_STR(tls_error_name(BR_ERR_X509_NOT_TRUSTED),
		  "BR_ERR_X509_NOT_TRUSTED");
	CHECK_STR(tls_error_name(BR_ERR_X509_BAD_SERVER_NAME),
		  "BR_ERR_X509_BAD_SERVER_NAME");
	CHECK_STR(tls_error_name(BR_ERR_RECV_FATAL_ALERT + 48),
		  "BR_ERR_RECV_FATAL_ALERT");
	CHECK_STR(tls_error_text(BR_ERR_RECV_FATAL_ALERT + 48), "unknown_ca");
	CHECK_STR(tls_error_name(9999), "BR_ERR_UNKNOWN");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_error_names);
	if (system("openssl version >/dev/null 2>&1") || make_certs()) {
		SKIP(test_tls, "openssl unavailable or failed");
		return test_done();
	}
	RUN(test_config_load);
	if (access(TLS_DEFAULT_CA_FILE, R_OK))
		SKIP(test_system_bundle, "no " TLS_DEFAULT_CA_FILE);
	else
		RUN(test_system_bundle);
	if (start_tls_server(&srv, "srv.pem", "srv.key", "") < 0) {
		printf("not ok - s_server did not start\n");
		sh("rm -rf %s", dir);
		return 1;
	}
	RUN(test_good_ca);
	RUN(test_wrong_ca);
	RUN(test_wrong_name);
	RUN(test_expired);
	RUN(test_rsa_server);
	RUN(test_sni);
	RUN(test_handshake_timeout);
	RUN(test_client_cert);
	stop_server(&srv);
	tls_config_free(&good);
	tls_config_free(&other);
	sh("rm -rf %s", dir);
	return test_done();
}
