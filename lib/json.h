/* JSON reader (jsmn tokens + a strict grammar check) and writer.
 *
 * Reader: json_parse() fills a struct json_doc whose tokens live in an arena.
 * A value is named by its token index (int); -1 means "none". Objects hold
 * key tokens whose value is the next token (key + 1). Iterate with
 *
 *	json_for_each(doc, arr, i)		i = each element
 *	json_for_each(doc, obj, k)		k = each key, k + 1 its value
 *
 * Getters return 0, -ENOENT (absent, or JSON null), -EINVAL (wrong type or
 * out of range), -ENOMEM; when given a struct json_err they fill it with a
 * message naming the key and the expected type:
 *	"mtu: expected integer, got string"
 *
 * Writer: struct json_w is a growable buffer (arena or malloc) with sticky
 * errors checked once by json_w_finish(); commas are automatic.
 */
#ifndef VPCNET_JSON_H
#define VPCNET_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

enum json_type {
	JSON_NONE, JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_NUMBER,
	JSON_TRUE, JSON_FALSE, JSON_NULL,
};

struct json_tok {
	enum json_type type;
	int start, end;		/* source span; strings exclude the quotes */
	int size;		/* members (object), elements (array), 0 else */
	int parent;		/* -1 for the root */
	int next;		/* index just past this token's subtree */
};

struct json_doc {
	const char *text;	/* source; must outlive the doc */
	size_t len;
	struct json_tok *tok;
	int ntok;
	struct arena *arena;	/* strings returned by getters live here */
};

struct json_err {
	int offset;		/* byte offset of a parse error, else -1 */
	char msg[200];
};

struct json_limits {
	size_t max_len;		/* bytes; default 4 MiB */
	int max_tokens;		/* default 1 << 20 */
	int max_depth;		/* nesting; default 64 */
};

/* Parse text[0..len) as exactly one JSON value (trailing whitespace only).
 * Rejects: invalid escapes, raw control chars in strings, invalid UTF-8,
 * NUL bytes, numbers outside the JSON grammar (01, 1., .5, +1, -), bare
 * words, trailing commas, missing ':' or ',', trailing garbage, a second
 * top-level value, nesting deeper than lim->max_depth. lim may be NULL. */
int json_parse(struct json_doc *d, struct arena *a, const char *text,
	       size_t len, const struct json_limits *lim, struct json_err *err);

/* Structure */
static inline enum json_type json_typeof(const struct json_doc *d, int i)
{
	return i >= 0 && i < d->ntok ? d->tok[i].type : JSON_NONE;
}
const char *json_type_name(enum json_type t);	/* "string", "object", ... */
int json_first(const struct json_doc *d, int i); /* first child or -1 */
int json_next(const struct json_doc *d, int i);	 /* next sibling or -1 */
int json_len(const struct json_doc *d, int i);	 /* members/elements */
int json_at(const struct json_doc *d, int arr, int n); /* n-th element */
#define json_for_each(d, parent, i) \
	for ((i) = json_first((d), (parent)); (i) >= 0; (i) = json_next((d), (i)))

/* Object member value by exact key (the last one if repeated, as Go does),
 * or -1. JSON null values are returned; the typed getters treat them as
 * absent. */
int json_find(const struct json_doc *d, int obj, const char *key);
/* Dotted path from 'from': "ipam.ranges.0.subnet"; a numeric segment
 * indexes an array. -1 if any step is missing. */
int json_path(const struct json_doc *d, int from, const char *path);
/* 1 if the key token k equals key (after unescaping). */
int json_key_eq(const struct json_doc *d, int k, const char *key);

/* Exact source text of a value (strings include their quotes). */
const char *json_raw(const struct json_doc *d, int i, size_t *len);
char *json_raw_dup(const struct json_doc *d, int i);	/* arena copy */

/* Conversions of token i; 'what' names it in error messages (may be NULL).
 * json_as_str: unescaped, NUL-terminated, in the arena. If len is NULL a
 * string containing \u0000 is an error; else *len is its byte length. */
int json_as_str(const struct json_doc *d, int i, const char *what,
		const char **out, size_t *len, struct json_err *err);
int json_as_i64(const struct json_doc *d, int i, const char *what,
		int64_t *out, struct json_err *err);
int json_as_u64(const struct json_doc *d, int i, const char *what,
		uint64_t *out, struct json_err *err);
int json_as_int(const struct json_doc *d, int i, const char *what,
		int64_t min, int64_t max, int64_t *out, struct json_err *err);
int json_as_double(const struct json_doc *d, int i, const char *what,
		   double *out, struct json_err *err);
int json_as_bool(const struct json_doc *d, int i, const char *what,
		 int *out, struct json_err *err);
/* Type check only: 0 if token i has type t (-ENOENT if i < 0). */
int json_expect(const struct json_doc *d, int i, const char *what,
		enum json_type t, struct json_err *err);

/* Keyed getters on object 'obj': missing key or null -> -ENOENT (out is
 * left untouched, err says "key: missing"); wrong type -> -EINVAL. */
int json_get_str(const struct json_doc *d, int obj, const char *key,
		 const char **out, struct json_err *err);
int json_get_i64(const struct json_doc *d, int obj, const char *key,
		 int64_t *out, struct json_err *err);
int json_get_u64(const struct json_doc *d, int obj, const char *key,
		 uint64_t *out, struct json_err *err);
int json_get_int(const struct json_doc *d, int obj, const char *key,
		 int64_t min, int64_t max, int64_t *out, struct json_err *err);
int json_get_double(const struct json_doc *d, int obj, const char *key,
		    double *out, struct json_err *err);
int json_get_bool(const struct json_doc *d, int obj, const char *key,
		  int *out, struct json_err *err);
/* Object or array member: *out = its token index. */
int json_get_obj(const struct json_doc *d, int obj, const char *key,
		 int *out, struct json_err *err);
int json_get_arr(const struct json_doc *d, int obj, const char *key,
		 int *out, struct json_err *err);

/* Streaming (one object per line, e.g. Kubernetes watch): find one complete
 * object or array at the start of buf, after optional whitespace. Returns
 * 1 and sets *start, *end (one past the closing bracket) when complete, 0
 * if more bytes are needed, -EINVAL if buf does not start with '{' or '['.
 * Only strings and bracket depth are tracked: run json_parse() on the span,
 * then drop buf[0..*end). */
int json_stream_next(const char *buf, size_t len, size_t *start,
		     size_t *end);

/* Length (1-4) of the valid UTF-8 sequence at s (n bytes available), or 0
 * for an invalid one: overlong, surrogate, above U+10FFFF, truncated. */
int json_utf8_len(const unsigned char *s, size_t n);

/* ---- writer ---------------------------------------------------------- */

#define JSON_W_MAXDEPTH 64

struct json_w {
	char *buf;
	size_t len, cap;
	struct arena *arena;	/* NULL: buf is malloc'd, json_w_free() it */
	int indent;		/* spaces per level; 0 = compact */
	int depth;
	int err;		/* sticky: 0 or -errno */
	unsigned char count[JSON_W_MAXDEPTH];	/* 0/1: has members */
	unsigned char after_key;
};

void json_w_init(struct json_w *w, struct arena *a, int indent);
void json_w_obj_begin(struct json_w *w);
void json_w_obj_end(struct json_w *w);
void json_w_arr_begin(struct json_w *w);
void json_w_arr_end(struct json_w *w);
void json_w_key(struct json_w *w, const char *key);
void json_w_keyn(struct json_w *w, const char *key, size_t n);
void json_w_str(struct json_w *w, const char *s);	/* NULL -> null */
void json_w_strn(struct json_w *w, const char *s, size_t n);
void json_w_i64(struct json_w *w, int64_t v);
void json_w_u64(struct json_w *w, uint64_t v);
void json_w_double(struct json_w *w, double v);	/* non-finite: error */
void json_w_bool(struct json_w *w, int v);
void json_w_null(struct json_w *w);
/* Insert already-valid JSON text as one value (not checked). */
void json_w_raw(struct json_w *w, const char *json, size_t n);
/* key + value shorthands */
void json_w_kstr(struct json_w *w, const char *key, const char *s);
void json_w_ki64(struct json_w *w, const char *key, int64_t v);
void json_w_ku64(struct json_w *w, const char *key, uint64_t v);
void json_w_kbool(struct json_w *w, const char *key, int v);
void json_w_kraw(struct json_w *w, const char *key, const char *json,
		 size_t n);
/* Re-emit token i of d (and its subtree) normalised through the writer. */
void json_w_value(struct json_w *w, const struct json_doc *d, int i);
/* 0 and the NUL-terminated text, or the sticky error (-ENOMEM, -EINVAL for
 * unbalanced or misplaced calls). The buffer stays owned by w. */
int json_w_finish(struct json_w *w, const char **out, size_t *len);
void json_w_free(struct json_w *w);

#endif
