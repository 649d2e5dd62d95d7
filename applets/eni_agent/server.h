/* eni-agent: the main thread's connections (server.c), the CNI requests
 * (handle.c) and the metrics endpoint (metrics.c). */
#ifndef VPCNET_EA_SERVER_H
#define VPCNET_EA_SERVER_H

#include <poll.h>

#include "agent.h"
#include "eniproto.h"

#define EA_MAX_CONNS	256
#define EA_HTTP_MAX	8192
#define EA_READ_MS	5000	/* to receive a request */
#define EA_WRITE_MS	5000	/* to send the answer */

enum ea_conn_kind { EA_CONN_CNI, EA_CONN_HTTP };
enum ea_conn_state { EA_CS_READ, EA_CS_WAIT, EA_CS_WRITE };

struct ea_conn {
	int fd;
	enum ea_conn_kind kind;
	enum ea_conn_state state;
	char *in;
	size_t inlen, incap;
	char *out;
	size_t outlen, outoff;
	int64_t deadline_ms;	/* of the current state */
	int64_t started_ms;	/* request complete at */
	struct eniproto_req req;
	int want_ip;		/* waiting for an idle IP (counted pending) */
	int discard;		/* reading the rest of a too long request */
	int ans_ok, ans_mode;	/* what was answered (metrics) */
	unsigned gen;		/* pool.grow_err_gen when it started waiting */
	char why[EA_MSG_MAX];	/* what it waits for */
};

struct ea_server {
	struct agent *ag;
	int cni_fd, http_fd;
	struct ea_conn *conn[EA_MAX_CONNS];
	int nconn;
};

int ea_server_open(struct ea_server *s, struct agent *ag, char *err,
		   size_t errlen);
void ea_server_close(struct ea_server *s);
/* pollfds of the listeners and connections after fds[0..base); returns
 * the new count.  *timeout_ms is lowered to the nearest deadline. */
int ea_server_pollfds(struct ea_server *s, struct pollfd *fds, int base,
		      int max, int *timeout_ms);
/* After poll(): accept, read, answer, write, expire. */
void ea_server_io(struct ea_server *s, const struct pollfd *fds, int n,
		  int base);
/* Give every waiting request another chance (after a wake-up). */
void ea_server_retry(struct ea_server *s);

/* handle.c: answer c->req (mu held): 1 answered (c->out set), 0 wait. */
int ea_handle(struct agent *ag, struct ea_conn *c, int64_t now);
/* The request could wait no longer: answer with code 11 and c->why. */
void ea_handle_timeout(struct agent *ag, struct ea_conn *c);
/* An error answer into c->out. */
void ea_answer_error(struct ea_conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* metrics.c: the answer to one HTTP request in c->in (mu not held). */
void ea_http_answer(struct agent *ag, struct ea_conn *c);

#endif
