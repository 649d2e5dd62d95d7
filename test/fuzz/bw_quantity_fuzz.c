/* Bandwidth quantities: Terway's k8s.aliyun.com values and Kubernetes
 * quantities, then the token bucket of whatever parsed.  The input is
 * given by length, without a NUL, so reads past it are caught. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void tbf(uint64_t bits, uint64_t burst, unsigned int mtu)
{
	struct bw_tbf t;

	if (bw_tbf(bits, burst, mtu, &t, NULL) < 0) {
		if (bits >= BW_RATE_MIN)
			abort();
		return;
	}
	if (t.rate != bits / 8 || !t.burst || t.limit < t.burst)
		abort();
}

static void k8s(const char *s, size_t n, unsigned int mtu)
{
	uint64_t v = 1, w = 1;
	const char *why = NULL;
	int r = bw_parse_k8s(s, n, &v, &why);

	if (r == 0 && (v < BW_K8S_MIN || v > BW_K8S_MAX))
		abort();
	if (r != 0 && ((r != -EINVAL && r != -ERANGE) || v || !why))
		abort();
	if (bw_annotation(s, n, "x", 1, &w, NULL) != r || w != v)
		abort();
	if (r == 0)
		tbf(v, 0, mtu);
}

static void aliyun(const char *s, size_t n, unsigned int mtu)
{
	uint64_t v = 1, w = 1;
	const char *why = NULL;
	char *sp;
	int r = bw_parse_aliyun(s, n, &v, &why);

	if (r != 0 && ((r != -EINVAL && r != -ERANGE) || v || !why))
		abort();
	/* Go's TrimSpace: trailing white space changes nothing */
	sp = malloc(n + 3);
	if (!sp)
		abort();
	memcpy(sp, s, n);
	memcpy(sp + n, " \t\n", 3);
	if (bw_parse_aliyun(sp, n + 3, &w, NULL) != r || w != v)
		abort();
	free(sp);
	if (r == 0 && bw_annotation(NULL, 0, s, n, &w, NULL) == 0) {
		if (w != v * 8)
			abort();
		if (w)
			tbf(w, v, mtu);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int mtu = size ? data[0] * 64U : 1500;
	char *s = malloc(size ? size : 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	k8s(s, size, mtu);
	aliyun(s, size, mtu);
	free(s);
	return 0;
}
