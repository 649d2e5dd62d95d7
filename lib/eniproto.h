/*
 * eni-agent <-> cni-terway protocol, version 1 (binding for both sides)
 *
 * Transport: unix stream socket, default /run/vpcnet/eni-agent.sock, mode
 * 0600, owned by root. The client connects, sends ONE JSON object
 * terminated by "\n" (max 64 KiB), the server answers ONE JSON object
 * terminated by "\n" and closes. Both sides bound every read/write with a
 * timeout (client default 30 s total for alloc, configurable; connect
 * failure -> CNI code 11 "eni-agent not reachable"). Unknown keys are
 * ignored; a missing/other "v" is rejected ("unsupported protocol
 * version"). Codec in lib/eniproto.c/.h (encode/decode both directions,
 * fuzzed).
 *
 * Requests:
 *   {"v":1,"op":"alloc","containerID":S,"ifname":S,"netns":S,
 *    "namespace":S,"name":S,"podUID":S (optional)}
 *   {"v":1,"op":"release","containerID":S,"ifname":S,"namespace":S,
 *    "name":S}
 *   {"v":1,"op":"info"}
 * Responses:
 *   error: {"v":1,"ok":false,"code":N,"msg":S}
 *          code = the CNI code the plugin should return: 11 try again
 *          later (pool/quota/vSwitch exhausted, cloud unreachable),
 *          3 unknown pod, 7 bad annotation, 100+ other.
 *   alloc: {"v":1,"ok":true,"mode":"eniip"|"eni"|"vpc",
 *           "ip":"10.0.1.7/24"       (eniip/eni: address with the vSwitch
 *                                     prefix)
 *           "gateway":"10.0.1.253"   (vSwitch gateway; eniip/eni)
 *           "eni":{"id":S,"mac":"aa:bb:..","primaryIP":S} (eniip/eni)
 *           "table":N                (eniip: the ENI's route table,
 *                                     1000+ifindex)
 *           "podCIDR":"10.244.1.0/24" (vpc: the plugin allocates from the
 *                                     node podCIDR with the
 *                                     host-local-compatible store)
 *           "serviceCIDR":"10.96.0.0/12" (optional)
 *           "ingress":N,"egress":N   (bits/s from the pod annotations;
 *                                     0 = none)}
 *   release: {"v":1,"ok":true}
 *   info: {"v":1,"ok":true,"version":S,"mode":S,"pool":{"idle":N,
 *          "inuse":N,"enis":N,"min":N,"max":N}}
 * Idempotency: alloc for a (containerID, ifname) that already holds an IP
 * returns that same allocation; release of an unknown attachment is
 * ok:true.
 *
 * ---- this codec ---------------------------------------------------------
 *
 * Decoded messages are plain structs with fixed-size fields (no pointers
 * into the input); every string is length-checked before it is copied.
 * What a decoder enforces beyond the text above:
 *   - requests: containerID 1..255 bytes, ifname 1..15, netns < 4096,
 *     namespace and name 1..253, podUID < 64, no NUL bytes; alloc needs
 *     all but podUID, release needs containerID and ifname (namespace and
 *     name are optional: a DEL may not know them).
 *   - alloc answers: eniip needs ip, gateway, eni.mac and table (1 to
 *     2^32-1, not 253/254/255); eni needs ip, gateway and eni.mac; vpc
 *     needs podCIDR; gateway has the family of ip; podCIDR and
 *     serviceCIDR are masked networks.  ingress/egress default to 0.
 *   - error answers: code 1..999 (msg optional, "" when absent).
 * The v1 encoder writes the keys in the order above, compact, plus "\n".
 *
 * Server sketch:
 *	char buf[ENIPROTO_MAX]; size_t n; struct eniproto_req q;
 *	struct eniproto_resp a = { 0 }; char err[ENIPROTO_ERRLEN];
 *	if (eniproto_recv(fd, buf, sizeof(buf), 5000, &n) == 0 &&
 *	    eniproto_req_decode(&q, buf, n, err, sizeof(err)) < 0)
 *		eniproto_resp_error(&a, 100, "%s", err);
 *	...
 *	n = eniproto_resp_encode(&a, q.op, buf, sizeof(buf));
 *	eniproto_send(fd, buf, n, 5000);
 *
 * Functions return 0 (or a length) or -errno and never print or exit.
 */
#ifndef VPCNET_ENIPROTO_H
#define VPCNET_ENIPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ip.h"

#define ENIPROTO_VERSION	1
#define ENIPROTO_SOCKET		"/run/vpcnet/eni-agent.sock"
#define ENIPROTO_MAX		(64 * 1024)	/* a message, with "\n" */
#define ENIPROTO_TIMEOUT_MS	30000		/* client default */
#define ENIPROTO_ERRLEN		320

#define ENIPROTO_CID_MAX	256	/* sizes with the NUL */
#define ENIPROTO_IFNAME_MAX	16
#define ENIPROTO_NETNS_MAX	4096
#define ENIPROTO_K8S_MAX	254	/* namespace, pod name */
#define ENIPROTO_UID_MAX	64
#define ENIPROTO_ID_MAX		64	/* eni.id, info version */
#define ENIPROTO_MSG_MAX	256

enum eniproto_op {
	ENIPROTO_OP_NONE, ENIPROTO_OP_ALLOC, ENIPROTO_OP_RELEASE,
	ENIPROTO_OP_INFO,
};

enum eniproto_mode {
	ENIPROTO_MODE_NONE, ENIPROTO_MODE_ENIIP, ENIPROTO_MODE_ENI,
	ENIPROTO_MODE_VPC,
};

/* "alloc", "release", "info"; NULL for NONE or out of range. */
const char *eniproto_op_name(enum eniproto_op op);
/* "eniip", "eni", "vpc"; NULL for NONE or out of range. */
const char *eniproto_mode_name(enum eniproto_mode m);
/* ENIPROTO_MODE_NONE when s is none of them. */
enum eniproto_mode eniproto_mode_parse(const char *s);

struct eniproto_req {
	enum eniproto_op op;
	char container_id[ENIPROTO_CID_MAX];
	char ifname[ENIPROTO_IFNAME_MAX];
	char netns[ENIPROTO_NETNS_MAX];		/* alloc only */
	char ns[ENIPROTO_K8S_MAX];		/* "namespace" */
	char name[ENIPROTO_K8S_MAX];
	char pod_uid[ENIPROTO_UID_MAX];		/* "": absent */
};

struct eniproto_eni {
	char id[ENIPROTO_ID_MAX];		/* "": absent */
	uint8_t mac[6];
	int has_mac;
	struct ipaddr primary_ip;		/* family 0: absent */
};

struct eniproto_pool {
	uint64_t idle, inuse, enis, min, max;
};

struct eniproto_resp {
	int ok;
	/* ok == 0 */
	int code;
	char msg[ENIPROTO_MSG_MAX];
	/* alloc */
	enum eniproto_mode mode;		/* info: the agent's default */
	struct ipnet ip;			/* family 0: absent */
	struct ipaddr gateway;
	struct eniproto_eni eni;
	uint32_t table;				/* 0: absent */
	struct ipnet pod_cidr;
	struct ipnet service_cidr;
	uint64_t ingress, egress;		/* bits/s, 0: no limit */
	/* info */
	char version[ENIPROTO_ID_MAX];
	struct eniproto_pool pool;
};

/* Encode into buf (compact JSON + "\n"): the length, -EINVAL for a
 * message the decoder would refuse, -ENOSPC when it does not fit. */
int eniproto_req_encode(const struct eniproto_req *r, char *buf,
			size_t size);
/* op: what the answer is for (an error answer needs none). */
int eniproto_resp_encode(const struct eniproto_resp *r, enum eniproto_op op,
			 char *buf, size_t size);

/* Decode one message (a trailing "\n" is allowed): 0, -EPROTONOSUPPORT
 * ("v" missing or not 1), -EINVAL (not JSON, wrong type, missing or bad
 * value); err names the key. The struct is zeroed first. */
int eniproto_req_decode(struct eniproto_req *r, const char *buf, size_t len,
			char *err, size_t errlen);
int eniproto_resp_decode(struct eniproto_resp *r, enum eniproto_op op,
			 const char *buf, size_t len, char *err,
			 size_t errlen);

/* Fill r as an error answer; returns -EINVAL for chaining. */
int eniproto_resp_error(struct eniproto_resp *r, int code,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One message from fd: bytes up to the first "\n" (or the end of the
 * stream) into buf, NUL-terminated, *len without the "\n", within
 * timeout_ms in all (<= 0: no limit).  -EMSGSIZE past size - 1 bytes,
 * -ENODATA when the stream ends before any byte, -ETIMEDOUT, -errno.
 * Bytes after the "\n" are dropped (one message per connection). */
int eniproto_recv(int fd, char *buf, size_t size, int timeout_ms,
		  size_t *len);
/* All of buf within timeout_ms (<= 0: no limit): 0, -ETIMEDOUT, -errno
 * (no SIGPIPE).  Both work on blocking and non-blocking fds. */
int eniproto_send(int fd, const char *buf, size_t len, int timeout_ms);

/* The client: connect to sock_path, send req, read and decode the answer,
 * all within timeout_ms (<= 0: ENIPROTO_TIMEOUT_MS).  0 when an answer
 * was decoded (resp->ok tells which kind); else -errno and err says what
 * failed:
 *	-ENOENT, -ECONNREFUSED, -EACCES, -EAGAIN...  not reachable (connect)
 *	-ETIMEDOUT, -ECONNRESET, -EPIPE, -ENODATA   no answer
 *	-EPROTO, -EPROTONOSUPPORT                  answer not understood
 *	-EINVAL                                    req cannot be encoded */
int eniproto_call(const char *sock_path, int timeout_ms,
		  const struct eniproto_req *req, struct eniproto_resp *resp,
		  char err[ENIPROTO_ERRLEN]);

#endif
