/* Bandwidth limits: the quantities users write and the token bucket they
 * become.  Pure functions, no I/O.  Rates are bits per second and bursts are
 * bits, as in the CNI bandwidth capability, until bw_tbf() turns them into
 * the bytes the kernel's tbf qdisc wants.
 *
 * Errors are -EINVAL (malformed) or -ERANGE (out of range); when `why` is not
 * NULL it gets a static message naming the problem (upstream's wording where
 * there is one).
 */
#ifndef VPCNET_BW_H
#define VPCNET_BW_H

#include <stddef.h>
#include <stdint.h>

#define BW_K8S_MIN	1000ULL			/* bits/s: kubelet's "1k" */
#define BW_K8S_MAX	1000000000000000ULL	/* bits/s: kubelet's "1P" */
#define BW_RATE_MIN	1000ULL			/* bits/s: smallest tbf rate */
#define BW_BURST_UNSET	4294967295ULL		/* containerd/CRI-O: "any" */
#define BW_BURST_MAX_CNI 34359738360ULL		/* bits: upstream's 4 GB */
#define BW_LATENCY_MS	25	/* queue behind the bucket, as upstream */
#define BW_BURST_MIN_MS	10	/* bucket >= 10 ms at rate (rate/HZ, HZ=100) */
#define BW_BURST_MAX_MS	1000	/* bucket <= 1 s at rate */

/* k8s.aliyun.com/{ingress,egress}-bandwidth, as Terway's parseBandwidth:
 * trimmed (Unicode spaces), a Go float > 0 ("1.5", "+2", "1_000") and a
 * suffix K/KB/KiB, M.., G.., T.. or B, any case; 1024-based; BYTES/s,
 * truncated ("0.5B" = 0 = no limit).  A bare number is rejected. */
int bw_parse_aliyun(const char *s, size_t n, uint64_t *bytes_ps,
		    const char **why);

/* kubernetes.io/{ingress,egress}-bandwidth: a resource.Quantity ("10M",
 * "1.5Gi", "2e6", "100k") as kubelet reads it: Value() (rounded up) in
 * bits/s, within [BW_K8S_MIN, BW_K8S_MAX]. */
int bw_parse_k8s(const char *s, size_t n, uint64_t *bits_ps,
		 const char **why);

/* One direction's limit from the pod annotations: k8s is the
 * kubernetes.io value and aliyun the k8s.aliyun.com value (NULL when
 * absent).  The kubernetes.io one wins when both are there (the other is
 * then not even parsed).  *bits_ps = 0 means no limit. */
int bw_annotation(const char *k8s, size_t k8s_n, const char *aliyun,
		  size_t aliyun_n, uint64_t *bits_ps, const char **why);

/* The CNI bandwidth keys (bits/s and bits; 0 = unset). */
struct bw_limits {
	uint64_t ingress_rate, ingress_burst;
	uint64_t egress_rate, egress_burst;
};

/* Upstream bandwidth plugin's choice: the top-level keys win whenever any
 * of the four is present in the config (have_top, even with value 0),
 * else runtimeConfig.bandwidth (have_rc).  A rate needs its burst and a
 * burst its rate; a burst >= BW_BURST_MAX_CNI is refused.  *out is zeroed
 * when nothing applies; a direction with rate 0 is not shaped. */
int bw_cni_resolve(const struct bw_limits *top, int have_top,
		   const struct bw_limits *rc, int have_rc,
		   struct bw_limits *out, const char **why);

/* A tbf qdisc's numbers, in bytes. */
struct bw_tbf {
	uint64_t rate;		/* bytes/s, > 0 */
	uint32_t burst;		/* token bucket */
	uint32_t limit;		/* bucket + queue */
};

/* Token bucket for rate_bits with the wanted burst_bits (0 or
 * BW_BURST_UNSET: choose) on a link of this MTU; see bw.c for the
 * formula.  -ERANGE below BW_RATE_MIN. */
int bw_tbf(uint64_t rate_bits, uint64_t burst_bits, unsigned int mtu,
	   struct bw_tbf *out, const char **why);

#endif
