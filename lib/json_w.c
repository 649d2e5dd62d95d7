/* JSON writer: growable buffer, automatic commas, optional indentation
 * (Go's MarshalIndent layout), sticky errors. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define W_MEMBERS 1	/* count[] bits: container has members */
#define W_OBJECT 2	/* container is an object */
#define W_TOPDONE 4	/* count[0]: the top-level value is written */

void json_w_init(struct json_w *w, struct arena *a, int indent)
{
	memset(w, 0, sizeof(*w));
	w->arena = a;
	w->indent = indent;
}

static int w_reserve(struct json_w *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->err)
		return -1;
	if (w->cap - w->len > n)
		return 0;
	cap = w->cap ? w->cap : 256;
	while (cap - w->len <= n) {
		if (cap > SIZE_MAX / 2) {
			w->err = -ENOMEM;
			return -1;
		}
		cap *= 2;
	}
	if (w->arena) {
		nb = arena_alloc(w->arena, cap);
		if (nb && w->len)
			memcpy(nb, w->buf, w->len);
	} else {
		nb = realloc(w->buf, cap);
	}
	if (!nb) {
		w->err = -ENOMEM;
		return -1;
	}
	w->buf = nb;
	w->cap = cap;
	return 0;
}

static void w_put(struct json_w *w, const char *s, size_t n)
{
	if (w_reserve(w, n) < 0)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void w_putc(struct json_w *w, char c)
{
	w_put(w, &c, 1);
}

static void w_newline(struct json_w *w, int depth)
{
	int i;

	if (!w->indent)
		return;
	w_putc(w, '\n');
	for (i = 0; i < depth * w->indent; i++)
		w_putc(w, ' ');
}

/* Before any value or key: comma, newline, and placement checks. */
static void w_pre(struct json_w *w, int is_key)
{
	unsigned char *c = &w->count[w->depth];

	if (w->err)
		return;
	if (w->after_key) {
		if (is_key)
			w->err = -EINVAL;
		w->after_key = 0;
		return;
	}
	if (w->depth == 0) {
		if (is_key || (*c & W_TOPDONE))
			w->err = -EINVAL;
		*c |= W_TOPDONE;
		return;
	}
	if (!!(*c & W_OBJECT) != is_key) {
		w->err = -EINVAL;	/* value without key, or key in array */
		return;
	}
	if (*c & W_MEMBERS)
		w_putc(w, ',');
	*c |= W_MEMBERS;
	w_newline(w, w->depth);
}

static void w_open(struct json_w *w, char ch, unsigned char kind)
{
	w_pre(w, 0);
	if (w->err)
		return;
	if (w->depth + 1 >= JSON_W_MAXDEPTH) {
		w->err = -EINVAL;
		return;
	}
	w_putc(w, ch);
	w->count[++w->depth] = kind;
}

static void w_close(struct json_w *w, char ch, unsigned char kind)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->after_key ||
	    (w->count[w->depth] & W_OBJECT) != kind) {
		w->err = -EINVAL;
		return;
	}
	if (w->count[w->depth] & W_MEMBERS)
		w_newline(w, w->depth - 1);
	w->depth--;
	w_putc(w, ch);
}

void json_w_obj_begin(struct json_w *w)
{
	w_open(w, '{', W_OBJECT);
}

void json_w_obj_end(struct json_w *w)
{
	w_close(w, '}', W_OBJECT);
}

void json_w_arr_begin(struct json_w *w)
{
	w_open(w, '[', 0);
}

void json_w_arr_end(struct json_w *w)
{
	w_close(w, ']', 0);
}

/* Quoted, escaped string; invalid UTF-8 becomes U+FFFD (as Go does). */
static void w_quoted(struct json_w *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;
	char esc[8];
	int k;

	w_putc(w, '"');
	while (i < n && !w->err) {
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 &&
			      s[run] != '"' && s[run] != '\\'; run++)
			;
		w_put(w, str + i, run - i);
		if ((i = run) >= n)
			break;
		if (s[i] >= 0x80) {
			k = json_utf8_len(s + i, n - i);
			if (k)
				w_put(w, str + i, (size_t)k);
			else
				w_put(w, "\xef\xbf\xbd", 3);
			i += k ? (size_t)k : 1;
			continue;
		}
		switch (s[i]) {
		case '"': w_put(w, "\\\"", 2); break;
		case '\\': w_put(w, "\\\\", 2); break;
		case '\b': w_put(w, "\\b", 2); break;
		case '\f': w_put(w, "\\f", 2); break;
		case '\n': w_put(w, "\\n", 2); break;
		case '\r': w_put(w, "\\r", 2); break;
		case '\t': w_put(w, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			w_put(w, esc, 6);
		}
		i++;
	}
	w_putc(w, '"');
}

void json_w_keyn(struct json_w *w, const char *key, size_t n)
{
	w_pre(w, 1);
	if (w->err)
		return;
	w_quoted(w, key, n);
	w_put(w, ": ", w->indent ? 2 : 1);
	w->after_key = 1;
}

void json_w_key(struct json_w *w, const char *key)
{
	json_w_keyn(w, key, strlen(key));
}

void json_w_strn(struct json_w *w, const char *s, size_t n)
{
	w_pre(w, 0);
	if (!w->err)
		w_quoted(w, s, n);
}

void json_w_str(struct json_w *w, const char *s)
{
	if (!s)
		json_w_null(w);
	else
		json_w_strn(w, s, strlen(s));
}

void json_w_raw(struct json_w *w, const char *json, size_t n)
{
	w_pre(w, 0);
	if (!w->err)
		w_put(w, json, n);
}

void json_w_i64(struct json_w *w, int64_t v)
{
	char buf[24];

	json_w_raw(w, buf, (size_t)snprintf(buf, sizeof(buf), "%" PRId64, v));
}

void json_w_u64(struct json_w *w, uint64_t v)
{
	char buf[24];

	json_w_raw(w, buf, (size_t)snprintf(buf, sizeof(buf), "%" PRIu64, v));
}

void json_w_double(struct json_w *w, double v)
{
	char buf[40];
	int prec, n = 0;

	if (!isfinite(v)) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	json_w_raw(w, buf, (size_t)n);
}

void json_w_bool(struct json_w *w, int v)
{
	json_w_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void json_w_null(struct json_w *w)
{
	json_w_raw(w, "null", 4);
}

void json_w_kstr(struct json_w *w, const char *key, const char *s)
{
	json_w_key(w, key);
	json_w_str(w, s);
}

void json_w_ki64(struct json_w *w, const char *key, int64_t v)
{
	json_w_key(w, key);
	json_w_i64(w, v);
}

void json_w_ku64(struct json_w *w, const char *key, uint64_t v)
{
	json_w_key(w, key);
	json_w_u64(w, v);
}

void json_w_kbool(struct json_w *w, const char *key, int v)
{
	json_w_key(w, key);
	json_w_bool(w, v);
}

void json_w_kraw(struct json_w *w, const char *key, const char *json,
		 size_t n)
{
	json_w_key(w, key);
	json_w_raw(w, json, n);
}

void json_w_value(struct json_w *w, const struct json_doc *d, int i)
{
	const char *s;
	size_t n;
	int c;

	switch (json_typeof(d, i)) {
	case JSON_OBJECT:
		json_w_obj_begin(w);
		json_for_each(d, i, c) {
			if (json_as_str(d, c, NULL, &s, &n, NULL) < 0) {
				w->err = w->err ? w->err : -ENOMEM;
				return;
			}
			json_w_keyn(w, s, n);
			json_w_value(w, d, c + 1);
		}
		json_w_obj_end(w);
		break;
	case JSON_ARRAY:
		json_w_arr_begin(w);
		json_for_each(d, i, c)
			json_w_value(w, d, c);
		json_w_arr_end(w);
		break;
	case JSON_STRING:
		if (json_as_str(d, i, NULL, &s, &n, NULL) < 0)
			w->err = w->err ? w->err : -ENOMEM;
		else
			json_w_strn(w, s, n);
		break;
	case JSON_NONE:
		w->err = w->err ? w->err : -EINVAL;
		break;
	default:
		s = json_raw(d, i, &n);
		json_w_raw(w, s, n);
	}
}

int json_w_finish(struct json_w *w, const char **out, size_t *len)
{
	if (!w->err && (w->depth || w->after_key ||
			!(w->count[0] & W_TOPDONE)))
		w->err = -EINVAL;
	if (!w->err && w_reserve(w, 0) < 0)
		return w->err;
	if (w->err)
		return w->err;
	w->buf[w->len] = 0;
	if (out)
		*out = w->buf;
	if (len)
		*len = w->len;
	return 0;
}

void json_w_free(struct json_w *w)
{
	if (!w->arena)
		free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}
