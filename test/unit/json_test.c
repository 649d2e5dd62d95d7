#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "test.h"

static struct arena A;

static int parse(struct json_doc *d, const char *s, struct json_err *e)
{
	return json_parse(d, &A, s, strlen(s), NULL, e);
}

/* Parse s; 0 if valid, else the error message into msg. */
static int valid(const char *s)
{
	struct json_doc d;
	struct json_err e;

	return parse(&d, s, &e) == 0;
}

/* Re-emit s compactly (or with indent) through the writer. */
static const char *roundtrip(const char *s, int indent)
{
	struct json_doc d;
	struct json_w w;
	const char *out;

	if (parse(&d, s, NULL) < 0)
		return "(parse error)";
	json_w_init(&w, &A, indent);
	json_w_value(&w, &d, 0);
	if (json_w_finish(&w, &out, NULL) < 0)
		return "(write error)";
	return out;
}

static void test_valid_documents(void)
{
	CHECK(valid("{}"));
	CHECK(valid("[]"));
	CHECK(valid(" \t\r\n{ \"a\" : [ 1 , 2 ] } \n"));
	CHECK(valid("\"top-level string\""));
	CHECK(valid("42"));
	CHECK(valid("-0"));
	CHECK(valid("true"));
	CHECK(valid("null"));
	CHECK(valid("0.5e-3"));
	CHECK(valid("1E+2"));
	CHECK(valid("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"]"));
	CHECK(valid("{\"\":\"\"}"));
	CHECK(valid("[\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"]"));
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", "   ", "{", "}", "[", "[1,]", "{\"a\":1,}", "{,}", "[,1]",
		"[1 2]", "{\"a\" 1}", "{\"a\":}", "{\"a\"}", "{1:2}", "{a:1}",
		"{} {}", "{}x", "[] []", "1 2", "01", "-01", "1.", ".5", "+1",
		"-", "1e", "1e+", "0x10", "NaN", "Infinity", "tru", "nul",
		"truex", "True", "'a'", "[\"\\x\"]", "[\"\\u12\"]",
		"[\"\\u12G4\"]", "[\"a\tb\"]", "[\"a\nb\"]", "[\"abc",
		"[\"\\", "{\"a\":1]", "[1}", "[\"\xff\"]", "[\"\xc0\xaf\"]",
		"[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
		"[\"\xe2\x82\"]", "\xef\xbb\xbf{}", "[1,,2]", "{\"a\"::1}",
		NULL,
	};
	int i;

	for (i = 0; bad[i]; i++) {
		if (valid(bad[i]))
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(!valid(bad[i]));
	}
}

static void test_error_messages(void)
{
	struct json_doc d;
	struct json_err e;
	char nul[] = "{\"a\":\"x\0y\"}";

	CHECK_INT(parse(&d, "{\"a\":01}", &e), -EINVAL);
	CHECK_STR(e.msg, "leading zero in number at offset 6");
	CHECK_INT(e.offset, 6);
	CHECK_INT(parse(&d, "{} {}", &e), -EINVAL);
	CHECK_STR(e.msg, "trailing data after JSON value at offset 3");
	CHECK_INT(parse(&d, "[\"\\q\"]", &e), -EINVAL);
	CHECK_STR(e.msg, "invalid escape at offset 3");
	CHECK_INT(parse(&d, "{\"a\":1", &e), -EINVAL);
	CHECK_STR(e.msg, "unexpected end of input at offset 6");
	CHECK_INT(json_parse(&d, &A, nul, sizeof(nul) - 1, NULL, &e), -EINVAL);
	CHECK_STR(e.msg, "NUL byte at offset 7");
	CHECK_INT(parse(&d, "", &e), -EINVAL);
	CHECK_STR(e.msg, "empty document");
}

static void test_limits(void)
{
	struct json_limits lim = { .max_depth = 3 };
	struct json_doc d;
	struct json_err e;
	char deep[4096];
	int i;

	CHECK_INT(json_parse(&d, &A, "[[[1]]]", 7, &lim, &e), 0);
	CHECK_INT(json_parse(&d, &A, "[[[[1]]]]", 9, &lim, &e), -EINVAL);
	CHECK(strstr(e.msg, "nesting too deep") != NULL);
	/* default depth 64 */
	for (i = 0; i < 64; i++)
		deep[i] = '[';
	for (i = 0; i < 64; i++)
		deep[64 + i] = ']';
	deep[128] = 0;
	CHECK(valid(deep));
	memset(deep, '[', 2000);
	memset(deep + 2000, ']', 2000);
	deep[4000] = 0;
	CHECK(!valid(deep));
	lim = (struct json_limits){ .max_len = 4 };
	CHECK_INT(json_parse(&d, &A, "[1,2]", 5, &lim, &e), -E2BIG);
	lim = (struct json_limits){ .max_tokens = 3 };
	CHECK_INT(json_parse(&d, &A, "[1,2]", 5, &lim, &e), 0);
	CHECK_INT(json_parse(&d, &A, "[1,2,3]", 7, &lim, &e), -EINVAL);
}

static void test_structure(void)
{
	const char *s = "{\"a\":{\"b\":[10,{\"c\":\"deep\"},[]]},\"e\":null,"
			"\"a2\":[]}";
	struct json_doc d;
	const char *str;
	int i, n = 0, arr;

	CHECK_INT(parse(&d, s, NULL), 0);
	CHECK_INT(json_typeof(&d, 0), JSON_OBJECT);
	CHECK_INT(json_len(&d, 0), 3);
	arr = json_path(&d, 0, "a.b");
	CHECK_INT(json_typeof(&d, arr), JSON_ARRAY);
	CHECK_INT(json_len(&d, arr), 3);
	json_for_each(&d, arr, i)
		n++;
	CHECK_INT(n, 3);
	CHECK_INT(json_typeof(&d, json_at(&d, arr, 2)), JSON_ARRAY);
	CHECK_INT(json_at(&d, arr, 3), -1);
	CHECK_INT(json_first(&d, json_at(&d, arr, 2)), -1);
	CHECK_INT(json_path(&d, 0, "a.b.1.c"), json_find(&d, json_at(&d, arr, 1), "c"));
	CHECK_INT(json_as_str(&d, json_path(&d, 0, "a.b.1.c"), "c", &str, NULL,
			      NULL), 0);
	CHECK_STR(str, "deep");
	CHECK_INT(json_path(&d, 0, "a.b.3"), -1);
	CHECK_INT(json_path(&d, 0, "a.b.x"), -1);
	CHECK_INT(json_path(&d, 0, "a.zz"), -1);
	CHECK_INT(json_typeof(&d, json_path(&d, 0, "e")), JSON_NULL);
	CHECK_INT(json_typeof(&d, json_find(&d, 0, "a2")), JSON_ARRAY);
	n = 0;
	json_for_each(&d, 0, i) {
		CHECK_INT(json_typeof(&d, i), JSON_STRING);
		n++;
	}
	CHECK_INT(n, 3);
	/* next sibling never escapes the parent */
	CHECK_INT(json_next(&d, json_at(&d, arr, 2)), -1);
	CHECK_INT(json_find(&d, arr, "a"), -1);
}

static void test_duplicate_keys_last_wins(void)
{
	struct json_doc d;
	int64_t v;

	CHECK_INT(parse(&d, "{\"a\":1,\"a\":2}", NULL), 0);
	CHECK_INT(json_get_i64(&d, 0, "a", &v, NULL), 0);
	CHECK_INT(v, 2);
}

static void test_strings_unescape(void)
{
	struct json_doc d;
	const char *s;
	size_t n;

	CHECK_INT(parse(&d, "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\","
			    "\"\\u00e9\\u20AC\\ud83d\\ude00\","
			    "\"\\ud800x\",\"\\udc00\",\"\\u0041\\u0000z\","
			    "\"plain\xc3\xa9\"]", NULL), 0);
	CHECK_INT(json_as_str(&d, json_at(&d, 0, 0), "s", &s, NULL, NULL), 0);
	CHECK_STR(s, "a\"b\\c/d\b\f\n\r\t");
	CHECK_INT(json_as_str(&d, json_at(&d, 0, 1), "s", &s, NULL, NULL), 0);
	CHECK_STR(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	CHECK_INT(json_as_str(&d, json_at(&d, 0, 2), "s", &s, NULL, NULL), 0);
	CHECK_STR(s, "\xef\xbf\xbdx");	/* lone high surrogate -> U+FFFD */
	CHECK_INT(json_as_str(&d, json_at(&d, 0, 3), "s", &s, NULL, NULL), 0);
	CHECK_STR(s, "\xef\xbf\xbd");
	CHECK_INT(json_as_str(&d, json_at(&d, 0, 4), "s", &s, NULL, NULL),
		  -EINVAL);	/* embedded NUL needs the length form */
	CHECK_INT(json_as_str(&d, json_at(&d, 0, 4), "s", &s, &n, NULL), 0);
	CHECK_INT(n, 3);
	CHECK(!memcmp(s, "A\0z", 3));
	CHECK_INT(json_as_str(&d, json_at(&d, 0, 5), "s", &s, &n, NULL), 0);
	CHECK_STR(s, "plain\xc3\xa9");
	CHECK_INT(n, 7);
}

static void test_escaped_keys(void)
{
	struct json_doc d;
	const char *s;

	CHECK_INT(parse(&d, "{\"n\\u0061me\":\"x\",\"cni.dev/a\":\"y\"}", NULL),
		  0);
	CHECK_INT(json_get_str(&d, 0, "name", &s, NULL), 0);
	CHECK_STR(s, "x");
	CHECK_INT(json_get_str(&d, 0, "cni.dev/a", &s, NULL), 0);
	CHECK_STR(s, "y");
	CHECK_INT(json_find(&d, 0, "nam"), -1);
}

static void test_integers(void)
{
	struct json_doc d;
	struct json_err e;
	int64_t i;
	uint64_t u;

	CHECK_INT(parse(&d, "{\"max\":9223372036854775807,"
			    "\"min\":-9223372036854775808,"
			    "\"over\":9223372036854775808,"
			    "\"under\":-9223372036854775809,"
			    "\"umax\":18446744073709551615,"
			    "\"uover\":18446744073709551616,"
			    "\"neg\":-1,\"negz\":-0,\"frac\":1.5,\"exp\":1e3,"
			    "\"str\":\"5\",\"mtu\":1450,\"big\":99999999999999999999999}",
			NULL), 0);
	CHECK_INT(json_get_i64(&d, 0, "max", &i, &e), 0);
	CHECK(i == INT64_MAX);
	CHECK_INT(json_get_i64(&d, 0, "min", &i, &e), 0);
	CHECK(i == INT64_MIN);
	CHECK_INT(json_get_i64(&d, 0, "over", &i, &e), -EINVAL);
	CHECK_STR(e.msg, "over: 9223372036854775808 out of range");
	CHECK_INT(json_get_i64(&d, 0, "under", &i, &e), -EINVAL);
	CHECK_INT(json_get_u64(&d, 0, "umax", &u, &e), 0);
	CHECK(u == UINT64_MAX);
	CHECK_INT(json_get_u64(&d, 0, "uover", &u, &e), -EINVAL);
	CHECK_INT(json_get_u64(&d, 0, "big", &u, &e), -EINVAL);
	CHECK_INT(json_get_u64(&d, 0, "neg", &u, &e), -EINVAL);
	CHECK_STR(e.msg, "neg: -1 out of range");
	CHECK_INT(json_get_u64(&d, 0, "negz", &u, &e), -EINVAL);
	CHECK_INT(json_get_i64(&d, 0, "negz", &i, &e), 0);
	CHECK_INT(i, 0);
	CHECK_INT(json_get_i64(&d, 0, "frac", &i, &e), -EINVAL);
	CHECK_STR(e.msg, "frac: expected integer, got number");
	CHECK_INT(json_get_i64(&d, 0, "exp", &i, &e), -EINVAL);
	CHECK_INT(json_get_i64(&d, 0, "str", &i, &e), -EINVAL);
	CHECK_STR(e.msg, "str: expected integer, got string");
	CHECK_INT(json_get_int(&d, 0, "mtu", 68, 65535, &i, &e), 0);
	CHECK_INT(i, 1450);
	CHECK_INT(json_get_int(&d, 0, "mtu", 68, 1000, &i, &e), -EINVAL);
	CHECK_STR(e.msg, "mtu: 1450 out of range [68, 1000]");
	CHECK_INT(json_get_i64(&d, 0, "absent", &i, &e), -ENOENT);
	CHECK_STR(e.msg, "absent: missing");
}

static void test_doubles_bools_null(void)
{
	struct json_doc d;
	struct json_err e;
	double x;
	int b = 7;
	const char *s = "unchanged";

	CHECK_INT(parse(&d, "{\"pi\":3.25,\"e\":-1.5e2,\"huge\":1e400,"
			    "\"tiny\":1e-400,\"t\":true,\"f\":false,\"n\":null,"
			    "\"s\":\"true\"}", NULL), 0);
	CHECK_INT(json_get_double(&d, 0, "pi", &x, &e), 0);
	CHECK(x == 3.25);
	CHECK_INT(json_get_double(&d, 0, "e", &x, &e), 0);
	CHECK(x == -150.0);
	CHECK_INT(json_get_double(&d, 0, "huge", &x, &e), -EINVAL);
	CHECK_INT(json_get_double(&d, 0, "tiny", &x, &e), 0);
	CHECK_INT(json_get_double(&d, 0, "t", &x, &e), -EINVAL);
	CHECK_STR(e.msg, "t: expected number, got boolean");
	CHECK_INT(json_get_bool(&d, 0, "t", &b, &e), 0);
	CHECK_INT(b, 1);
	CHECK_INT(json_get_bool(&d, 0, "f", &b, &e), 0);
	CHECK_INT(b, 0);
	CHECK_INT(json_get_bool(&d, 0, "s", &b, &e), -EINVAL);
	CHECK_STR(e.msg, "s: expected boolean, got string");
	/* null reads as absent and leaves the output alone */
	CHECK_INT(json_get_str(&d, 0, "n", &s, &e), -ENOENT);
	CHECK_STR(s, "unchanged");
	CHECK_STR(e.msg, "n: missing");
	CHECK_INT(json_typeof(&d, json_find(&d, 0, "n")), JSON_NULL);
}

static void test_type_errors_name_key(void)
{
	struct json_doc d;
	struct json_err e;
	const char *s;
	int i;

	CHECK_INT(parse(&d, "{\"name\":5,\"ipam\":[],\"ranges\":{}}", NULL), 0);
	CHECK_INT(json_get_str(&d, 0, "name", &s, &e), -EINVAL);
	CHECK_STR(e.msg, "name: expected string, got number");
	CHECK_INT(json_get_obj(&d, 0, "ipam", &i, &e), -EINVAL);
	CHECK_STR(e.msg, "ipam: expected object, got array");
	CHECK_INT(json_get_arr(&d, 0, "ranges", &i, &e), -EINVAL);
	CHECK_STR(e.msg, "ranges: expected array, got object");
	CHECK_INT(json_expect(&d, json_path(&d, 0, "ipam"), "ipam.x",
			      JSON_STRING, &e), -EINVAL);
	CHECK_STR(e.msg, "ipam.x: expected string, got array");
	CHECK_INT(json_get_str(&d, json_find(&d, 0, "ipam"), "k", &s, &e),
		  -ENOENT);
}

static void test_raw(void)
{
	const char *s = "{\"prevResult\": {\"ips\": [ {\"a\" : \"x\"} ]},"
			" \"s\":\"q\\\"\"}";
	struct json_doc d;
	const char *r;
	size_t n;

	CHECK_INT(parse(&d, s, NULL), 0);
	r = json_raw(&d, json_find(&d, 0, "prevResult"), &n);
	CHECK_INT(n, strlen("{\"ips\": [ {\"a\" : \"x\"} ]}"));
	CHECK(!strncmp(r, "{\"ips\": [ {\"a\" : \"x\"} ]}", n));
	CHECK_STR(json_raw_dup(&d, json_find(&d, 0, "s")), "\"q\\\"\"");
	CHECK_STR(json_raw_dup(&d, 0), s);
}

static void test_writer_escaping(void)
{
	struct json_w w;
	const char *out;

	json_w_init(&w, &A, 0);
	json_w_arr_begin(&w);
	json_w_str(&w, "q\"b\\s/\x01\x1f\n\t\r\b\f\x7f");
	json_w_str(&w, "\xc3\xa9\xf0\x9f\x98\x80");
	json_w_str(&w, "bad\xff\xc3(");
	json_w_strn(&w, "a\0b", 3);
	json_w_str(&w, NULL);
	json_w_arr_end(&w);
	CHECK_INT(json_w_finish(&w, &out, NULL), 0);
	CHECK_STR(out, "[\"q\\\"b\\\\s/\\u0001\\u001f\\n\\t\\r\\b\\f\x7f\","
		       "\"\xc3\xa9\xf0\x9f\x98\x80\","
		       "\"bad\xef\xbf\xbd\xef\xbf\xbd(\",\"a\\u0000b\",null]");
	CHECK(valid(out));
}

static void test_writer_values(void)
{
	struct json_w w;
	const char *out;
	size_t n;

	json_w_init(&w, NULL, 0);
	json_w_obj_begin(&w);
	json_w_ki64(&w, "min", INT64_MIN);
	json_w_ku64(&w, "umax", UINT64_MAX);
	json_w_kbool(&w, "t", 1);
	json_w_kbool(&w, "f", 0);
	json_w_key(&w, "n");
	json_w_null(&w);
	json_w_key(&w, "d");
	json_w_double(&w, 0.1);
	json_w_key(&w, "d2");
	json_w_double(&w, 1e300);
	json_w_kraw(&w, "raw", "{\"x\":[1]}", 9);
	json_w_key(&w, "e");
	json_w_obj_begin(&w);
	json_w_obj_end(&w);
	json_w_key(&w, "ea");
	json_w_arr_begin(&w);
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	CHECK_INT(json_w_finish(&w, &out, &n), 0);
	CHECK_STR(out, "{\"min\":-9223372036854775808,"
		       "\"umax\":18446744073709551615,\"t\":true,\"f\":false,"
		       "\"n\":null,\"d\":0.1,\"d2\":1e+300,\"raw\":{\"x\":[1]},"
		       "\"e\":{},\"ea\":[]}");
	CHECK_INT(n, strlen(out));
	json_w_free(&w);
}

static void test_writer_indent(void)
{
	CHECK_STR(roundtrip("{\"a\":[1,{\"b\":null}],\"c\":{},\"d\":[]}", 4),
		  "{\n"
		  "    \"a\": [\n"
		  "        1,\n"
		  "        {\n"
		  "            \"b\": null\n"
		  "        }\n"
		  "    ],\n"
		  "    \"c\": {},\n"
		  "    \"d\": []\n"
		  "}");
	CHECK_STR(roundtrip(" [ 1 , \"\\u00e9\\n\" , -0.5e3 ] ", 0),
		  "[1,\"\xc3\xa9\\n\",-0.5e3]");
	CHECK_STR(roundtrip("\"x\"", 0), "\"x\"");
}

static void test_writer_misuse(void)
{
	struct json_w w;

	json_w_init(&w, &A, 0);	/* value without key in an object */
	json_w_obj_begin(&w);
	json_w_i64(&w, 1);
	json_w_obj_end(&w);
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
	json_w_init(&w, &A, 0);	/* key in an array */
	json_w_arr_begin(&w);
	json_w_key(&w, "k");
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
	json_w_init(&w, &A, 0);	/* unbalanced */
	json_w_arr_begin(&w);
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
	json_w_init(&w, &A, 0);	/* mismatched close */
	json_w_arr_begin(&w);
	json_w_obj_end(&w);
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
	json_w_init(&w, &A, 0);	/* two top-level values */
	json_w_i64(&w, 1);
	json_w_i64(&w, 2);
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
	json_w_init(&w, &A, 0);	/* key without value */
	json_w_obj_begin(&w);
	json_w_key(&w, "k");
	json_w_obj_end(&w);
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
	json_w_init(&w, &A, 0);	/* nothing */
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
	json_w_init(&w, &A, 0);
	json_w_double(&w, 1.0 / 0.0);
	CHECK_INT(json_w_finish(&w, NULL, NULL), -EINVAL);
}

static void test_writer_grows(void)
{
	struct json_w w;
	const char *out;
	size_t n;
	int i;

	json_w_init(&w, NULL, 2);
	json_w_arr_begin(&w);
	for (i = 0; i < 10000; i++)
		json_w_str(&w, "0123456789abcdef");
	json_w_arr_end(&w);
	CHECK_INT(json_w_finish(&w, &out, &n), 0);
	CHECK(n > 10000 * 18);
	CHECK(valid(out));
	json_w_free(&w);
}

static void test_stream(void)
{
	const char *buf = "  {\"type\":\"ADDED\",\"o\":{\"s\":\"}{\\\"\"}}\n"
			  "{\"type\":\"MOD";
	size_t start, end, len = strlen(buf);

	CHECK_INT(json_stream_next(buf, len, &start, &end), 1);
	CHECK_INT(start, 2);
	CHECK_INT(buf[end - 1], '}');
	CHECK_INT(buf[end], '\n');
	CHECK_INT(json_stream_next(buf + end, len - end, &start, &end), 0);
	CHECK_INT(json_stream_next("  \n", 3, &start, &end), 0);
	CHECK_INT(json_stream_next("x{}", 3, &start, &end), -EINVAL);
	CHECK_INT(json_stream_next("[1,[2]]", 7, &start, &end), 1);
	CHECK_INT(end, 7);
}

static void test_arena(void)
{
	struct arena a;
	char *p, *q;
	int i;

	arena_init(&a);
	p = arena_strdup(&a, "hello");
	CHECK_STR(p, "hello");
	CHECK_STR(arena_strndup(&a, "hello", 3), "hel");
	CHECK_STR(arena_printf(&a, "%s-%d", "x", 42), "x-42");
	q = arena_alloc(&a, 100000);	/* bigger than a block */
	CHECK(q != NULL);
	memset(q, 1, 100000);
	for (i = 0; i < 1000; i++)
		CHECK(((uintptr_t)arena_alloc(&a, (size_t)i) & 15) == 0);
	CHECK_STR(p, "hello");
	arena_free_all(&a);
	a.limit = 16384;
	CHECK(arena_alloc(&a, 8000) != NULL);
	CHECK(arena_alloc(&a, 100000) == NULL);
	arena_free_all(&a);
	CHECK_INT(a.limit, 16384);
	CHECK_INT(a.total, 0);
}

int main(void)
{
	arena_init(&A);
	RUN(test_valid_documents);
	RUN(test_malformed);
	RUN(test_error_messages);
	RUN(test_limits);
	RUN(test_structure);
	RUN(test_duplicate_keys_last_wins);
	RUN(test_strings_unescape);
	RUN(test_escaped_keys);
	RUN(test_integers);
	RUN(test_doubles_bools_null);
	RUN(test_type_errors_name_key);
	RUN(test_raw);
	RUN(test_writer_escaping);
	RUN(test_writer_values);
	RUN(test_writer_indent);
	RUN(test_writer_misuse);
	RUN(test_writer_grows);
	RUN(test_stream);
	RUN(test_arena);
	arena_free_all(&A);
	return test_done();
}
