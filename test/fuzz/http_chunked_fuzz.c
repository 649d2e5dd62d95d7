/* libFuzzer: the chunked decoder.  The first two bytes choose the input
 * step and the output room; the result must not depend on them (compared
 * with a one-shot decode), and no call may overrun its buffers. */
#include "http_parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode in[0..n) with the given step and output room; returns rc. */
static int decode(const char *in, size_t n, size_t step, size_t room,
		  char *out, size_t cap, size_t *outlen, size_t *consumed)
{
	struct http_chunked c;
	size_t i = 0, used, made, k, r;
	int rc = 0;

	http_chunked_init(&c);
	*outlen = 0;
	while (rc == 0) {
		k = n - i < step ? n - i : step;
		r = cap - *outlen < room ? cap - *outlen : room;
		if (!r)
			__builtin_trap();
		rc = http_chunked_decode(&c, in + i, k, &used, out + *outlen,
					 r, &made);
		if (used > k || made > r)
			__builtin_trap();
		if (rc < 0 && (!c.err || c.state != HTTP_CH_ERROR))
			__builtin_trap();
		i += used;
		*outlen += made;
		if (rc == 0 && !used && !made)
			break;	/* needs more input than there is */
	}
	*consumed = i;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step, room, n1, n2, c1, c2;
	char *o1, *o2;
	int r1, r2;

	if (size < 2)
		return 0;
	step = data[0] % 17 + 1;
	room = data[1] % 13 + 1;
	data += 2;
	size -= 2;
	o1 = malloc(size + 1);
	o2 = malloc(size + 1);
	if (o1 && o2) {
		r1 = decode((const char *)data, size, size ? size : 1, size + 1,
			    o1, size + 1, &n1, &c1);
		r2 = decode((const char *)data, size, step, room, o2, size + 1,
			    &n2, &c2);
		if (r1 != r2 || n1 != n2 || memcmp(o1, o2, n1) ||
		    (r1 >= 0 && c1 != c2) || n1 > size)
			__builtin_trap();
		if (r1 != 1 && r1 != 0 && r1 != -EBADMSG)
			__builtin_trap();
	}
	free(o1);
	free(o2);
	return 0;
}
