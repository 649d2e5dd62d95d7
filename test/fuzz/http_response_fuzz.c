/* libFuzzer: HTTP/1.1 response heads (http_head_end + http_head_parse) and,
 * when the head announces it, the chunked body after it. */
#include "http_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void body(const struct http_head *h, const char *p, size_t n)
{
	struct http_chunked c;
	size_t used, made;
	char out[64];
	int rc = 0;

	if (!h->chunked)
		return;
	http_chunked_init(&c);
	while (n && rc == 0) {
		rc = http_chunked_decode(&c, p, n, &used, out, sizeof(out),
					 &made);
		if (used > n || made > sizeof(out) || (!used && !made))
			break;
		p += used;
		n -= used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head h;
	char *buf, err[256];
	ssize_t end;
	size_t i;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	end = http_head_end(buf, size);
	if (end > 0 && http_head_parse(buf, (size_t)end, &h, err,
				       sizeof(err)) == 0) {
		if (h.status < 100 || h.status > 599 || h.nhdr >
		    HTTP_MAX_HEADERS || (h.chunked && h.content_length >= 0))
			__builtin_trap();
		for (i = 0; i < h.nhdr; i++)
			if (!http_head_get(&h, h.hdr[i].name))
				__builtin_trap();
		body(&h, buf + end, size - (size_t)end);
	}
	free(buf);
	return 0;
}
