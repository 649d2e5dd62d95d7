/* Shared by kube_watch_fuzz.c and kube_list_fuzz.c: a kube_body source
 * that hands out the fuzz input the way a socket would, in pieces whose
 * sizes come from the input, and a client to run the parsers with.
 *
 * Input: byte 0 options (bits 0-1 max_object: 4 MiB, 64, 512, 4096;
 * bit 2 target-specific; bit 3: each '\v' of the body stands for 16 KiB of
 * spaces, at most 8 times, to reach the size limits; bits 4-7: the
 * callback stops after that many events, 0 never), byte 1 seeds the
 * piece sizes, the rest is the reply body (already de-chunked). */
#ifndef VPCNET_KUBE_FUZZ_H
#define VPCNET_KUBE_FUZZ_H

#include "kube.h"
#include "kube_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KF_PAD		16384
#define KF_MAX_PAD	8
#define KF_STOP_RC	42

struct kf_opts {
	size_t max_object;
	int bit2;
	int expand;
	unsigned stop_after;
	uint8_t seed;
	const uint8_t *body;
	size_t len;
};

struct kf_src {
	const struct kf_opts *o;
	size_t i;
	unsigned npad;
	size_t pad;		/* spaces still to hand out */
	uint64_t rng;		/* 0: as much as fits each time */
};

static inline int kf_opts(struct kf_opts *o, const uint8_t *data,
			  size_t size)
{
	static const size_t maxobj[4] = { 0, 64, 512, 4096 };

	if (size < 2)
		return -1;
	o->max_object = maxobj[data[0] & 3];
	o->bit2 = !!(data[0] & 4);
	o->expand = !!(data[0] & 8);
	o->stop_after = data[0] >> 4;
	o->seed = data[1];
	o->body = data + 2;
	o->len = size - 2;
	return 0;
}

static inline void kf_src_init(struct kf_src *s, const struct kf_opts *o,
			       int split)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	if (split)
		s->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)o->seed << 17) ^
			 o->len;
}

static inline size_t kf_piece(struct kf_src *s, size_t len)
{
	uint64_t x = s->rng, k;

	if (!x)
		return len;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	k = (x & 7) == 0 ? 1 + (x >> 8) % 8192 : 1 + (x >> 8) % 24;
	return k < len ? (size_t)k : len;
}

static inline ssize_t kf_read(void *arg, char *buf, size_t len)
{
	struct kf_src *s = arg;
	size_t want = kf_piece(s, len), out = 0, k;
	char c;

	while (out < want) {
		if (s->pad) {
			k = want - out < s->pad ? want - out : s->pad;
			memset(buf + out, ' ', k);
			out += k;
			s->pad -= k;
			continue;
		}
		if (s->i >= s->o->len)
			break;
		c = (char)s->o->body[s->i++];
		if (c == '\v' && s->o->expand && s->npad < KF_MAX_PAD) {
			s->npad++;
			s->pad = KF_PAD;
			continue;
		}
		buf[out++] = c;
	}
	return (ssize_t)out;
}

/* One client for the whole run (no request is ever made). */
static inline struct kube_client *kf_client(void)
{
	static struct kube_client kc;
	static int ready;
	struct kube_config cfg;
	char err[256];

	if (!ready) {
		kube_config_init(&cfg);
		snprintf(cfg.server, sizeof(cfg.server), "http://127.0.0.1:1");
		if (kube_client_init(&kc, &cfg, err, sizeof(err)) < 0)
			abort();
		snprintf(kc.conn->what, sizeof(kc.conn->what),
			 "GET http://127.0.0.1:1/api/v1/pods");
		ready = 1;
	}
	kc.err[0] = '\0';
	kc.status = 0;
	kc.reason[0] = '\0';
	return &kc;
}

static inline void kf_body(struct kube_body *b, struct kube_client *kc,
			   const struct kf_opts *o, struct kf_src *s)
{
	kc->cfg.max_object = o->max_object ? o->max_object : KUBE_MAX_OBJECT;
	kube_body_init(b, kc);
	b->src = kf_read;
	b->src_arg = s;
}

static inline uint64_t kf_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

/* What one run saw, compared between whole and split delivery. */
struct kf_log {
	unsigned events;
	uint64_t hash;
	int rc;
	char err[KUBE_ERR_SIZE];
};

static inline void kf_log_event(struct kf_log *l, const struct kube_event *ev)
{
	int t = (int)ev->type;

	l->events++;
	l->hash = kf_hash(l->hash, &t, sizeof(t));
	l->hash = kf_hash(l->hash, ev->rv, strlen(ev->rv) + 1);
	l->hash = kf_hash(l->hash, &ev->raw_len, sizeof(ev->raw_len));
	l->hash = kf_hash(l->hash, ev->raw, ev->raw_len);
}

static inline void kf_check_object(const struct kube_event *ev)
{
	if (!ev->doc || json_typeof(ev->doc, ev->obj) != JSON_OBJECT ||
	    !ev->raw || ev->raw_len < 2 || ev->raw[0] != '{' ||
	    ev->raw[ev->raw_len - 1] != '}' || !ev->rv)
		abort();
}

static inline int kf_same(const struct kf_log *a, const struct kf_log *b)
{
	return a->rc == b->rc && a->events == b->events &&
	       a->hash == b->hash && !strcmp(a->err, b->err);
}

#endif
