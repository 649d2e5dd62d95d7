/* json reader + writer: whatever parses must re-emit as JSON that parses
 * again to the same compact text (a fixed point after one round). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void walk(const struct json_doc *d, int i, int depth)
{
	const char *s;
	size_t n;
	int64_t v;
	uint64_t u;
	double x;
	int c, b;

	switch (json_typeof(d, i)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		json_for_each(d, i, c) {
			if (json_typeof(d, i) == JSON_OBJECT) {
				if (json_as_str(d, c, "k", &s, &n, NULL) < 0)
					abort();
				if (!memchr(s, 0, n) && json_find(d, i, s) < 0)
					abort();
				walk(d, c + 1, depth + 1);
			} else {
				walk(d, c, depth + 1);
			}
		}
		break;
	case JSON_STRING:
		if (json_as_str(d, i, "s", &s, &n, NULL) < 0)
			abort();
		break;
	case JSON_NUMBER:
		json_as_i64(d, i, "n", &v, NULL);
		json_as_u64(d, i, "n", &u, NULL);
		json_as_double(d, i, "n", &x, NULL);
		break;
	default:
		json_as_bool(d, i, "b", &b, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct json_doc d, d2;
	struct json_w w, w2;
	const char *out, *out2;
	size_t n, n2, st, en;

	arena_init(&a);
	json_stream_next((const char *)data, size, &st, &en);
	if (json_parse(&d, &a, (const char *)data, size, NULL, NULL) == 0) {
		walk(&d, 0, 0);
		json_path(&d, 0, "a.b.0.c");
		json_w_init(&w, &a, 0);
		json_w_value(&w, &d, 0);
		if (json_w_finish(&w, &out, &n) < 0)
			abort();
		if (json_parse(&d2, &a, out, n, NULL, NULL) < 0)
			abort();
		if (d2.ntok != d.ntok)
			abort();
		json_w_init(&w2, NULL, 2);
		json_w_value(&w2, &d2, 0);
		if (json_w_finish(&w2, &out2, &n2) < 0)
			abort();
		if (json_parse(&d2, &a, out2, n2, NULL, NULL) < 0)
			abort();
		json_w_init(&w, &a, 0);
		json_w_value(&w, &d2, 0);
		json_w_free(&w2);
		if (json_w_finish(&w, &out2, &n2) < 0 || n2 != n ||
		    memcmp(out, out2, n))
			abort();
	}
	arena_free_all(&a);
	return 0;
}
