/* libFuzzer: the eni-agent protocol decoders on arbitrary bytes.  The
 * first byte picks the decoder (request, or the answer to alloc, release
 * or info); whatever decodes must encode, and decode back to the same
 * struct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eniproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void req(const char *in, size_t n)
{
	static struct eniproto_req a, b;
	static char buf[ENIPROTO_MAX];
	char err[ENIPROTO_ERRLEN];
	int len;

	if (eniproto_req_decode(&a, in, n, err, sizeof(err)) < 0)
		return;
	len = eniproto_req_encode(&a, buf, sizeof(buf));
	if (len <= 0 || buf[len - 1] != '\n' ||
	    eniproto_req_decode(&b, buf, (size_t)len, err, sizeof(err)) < 0 ||
	    memcmp(&a, &b, sizeof(a)))
		abort();
}

static void resp(enum eniproto_op op, const char *in, size_t n)
{
	static struct eniproto_resp a, b;
	static char buf[ENIPROTO_MAX];
	char err[ENIPROTO_ERRLEN];
	int len;

	if (eniproto_resp_decode(&a, op, in, n, err, sizeof(err)) < 0)
		return;
	len = eniproto_resp_encode(&a, op, buf, sizeof(buf));
	if (len <= 0 || buf[len - 1] != '\n' ||
	    eniproto_resp_decode(&b, op, buf, (size_t)len, err,
				 sizeof(err)) < 0 ||
	    memcmp(&a, &b, sizeof(a)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		req(in, size - 1);
		break;
	case 1:
		resp(ENIPROTO_OP_ALLOC, in, size - 1);
		break;
	case 2:
		resp(ENIPROTO_OP_RELEASE, in, size - 1);
		break;
	default:
		resp(ENIPROTO_OP_INFO, in, size - 1);
		break;
	}
	return 0;
}
