/* JSON reader: a strict grammar pass (exact errors, token count, depth),
 * then jsmn builds the token tree, then typed getters over the tokens. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"

#define JSON_DEF_MAX_LEN (4u << 20)
#define JSON_DEF_MAX_TOKENS (1 << 20)
#define JSON_DEF_MAX_DEPTH 64

struct vstate {
	const char *s;
	size_t len, pos;
	int depth, max_depth;
	long ntok, max_tok;
	struct json_err *err;
};

static int json_errf(struct json_err *err, int offset, int rc,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int json_errf(struct json_err *err, int offset, int rc,
		     const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return rc;
	err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

static int verr(struct vstate *v, const char *what)
{
	return json_errf(v->err, (int)v->pos, -EINVAL, "%s at offset %zu",
			 what, v->pos);
}

static void skip_ws(struct vstate *v)
{
	while (v->pos < v->len) {
		char c = v->s[v->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		v->pos++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
int json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	int len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static int v_string(struct vstate *v)
{
	const unsigned char *s = (const unsigned char *)v->s;
	int i, n;

	v->pos++;
	while (v->pos < v->len) {
		unsigned c = s[v->pos];

		if (c == '"') {
			v->pos++;
			return 0;
		}
		if (c < 0x20)
			return verr(v, "control character in string");
		if (c == '\\') {
			if (v->pos + 1 >= v->len)
				break;
			c = s[++v->pos];
			if (c == 'u') {
				for (i = 1; i <= 4; i++)
					if (v->pos + i >= v->len ||
					    hexval(s[v->pos + i]) < 0)
						return verr(v, "invalid \\u escape");
				v->pos += 4;
			} else if (!strchr("\"\\/bfnrt", (int)c) || !c) {
				return verr(v, "invalid escape");
			}
			v->pos++;
			continue;
		}
		n = json_utf8_len(s + v->pos, v->len - v->pos);
		if (!n)
			return verr(v, "invalid UTF-8 in string");
		v->pos += n;
	}
	return verr(v, "unterminated string");
}

static int is_digit(struct vstate *v)
{
	return v->pos < v->len && v->s[v->pos] >= '0' && v->s[v->pos] <= '9';
}

static int v_number(struct vstate *v)
{
	if (v->s[v->pos] == '-')
		v->pos++;
	if (!is_digit(v))
		return verr(v, "invalid number");
	if (v->s[v->pos++] == '0' && is_digit(v))
		return verr(v, "leading zero in number");
	while (is_digit(v))
		v->pos++;
	if (v->pos < v->len && v->s[v->pos] == '.') {
		v->pos++;
		if (!is_digit(v))
			return verr(v, "digit expected after '.'");
		while (is_digit(v))
			v->pos++;
	}
	if (v->pos < v->len && (v->s[v->pos] == 'e' || v->s[v->pos] == 'E')) {
		v->pos++;
		if (v->pos < v->len &&
		    (v->s[v->pos] == '+' || v->s[v->pos] == '-'))
			v->pos++;
		if (!is_digit(v))
			return verr(v, "digit expected in exponent");
		while (is_digit(v))
			v->pos++;
	}
	return 0;
}

static int v_word(struct vstate *v, const char *w)
{
	size_t n = strlen(w);

	if (v->len - v->pos < n || memcmp(v->s + v->pos, w, n))
		return verr(v, "invalid literal");
	v->pos += n;
	return 0;
}

static int v_value(struct vstate *v);

/* Members of an object or array; the opening bracket is at v->pos. */
static int v_container(struct vstate *v)
{
	char close = v->s[v->pos] == '{' ? '}' : ']';
	int rc, first = 1;

	if (++v->depth > v->max_depth)
		return verr(v, "nesting too deep");
	v->pos++;
	for (;;) {
		skip_ws(v);
		if (v->pos >= v->len)
			return verr(v, "unexpected end of input");
		if (v->s[v->pos] == close && first)
			break;
		if (!first) {
			if (v->s[v->pos] == close)
				break;
			if (v->s[v->pos] != ',')
				return verr(v, close == '}' ?
					    "expected ',' or '}'" :
					    "expected ',' or ']'");
			v->pos++;
			skip_ws(v);
		}
		first = 0;
		if (close == '}') {
			if (v->pos >= v->len || v->s[v->pos] != '"')
				return verr(v, "expected string key");
			if ((rc = v_string(v)) < 0)
				return rc;
			v->ntok++;
			skip_ws(v);
			if (v->pos >= v->len || v->s[v->pos] != ':')
				return verr(v, "expected ':'");
			v->pos++;
		}
		if ((rc = v_value(v)) < 0)
			return rc;
	}
	v->pos++;
	v->depth--;
	return 0;
}

static int v_value(struct vstate *v)
{
	int rc;

	skip_ws(v);
	if (v->pos >= v->len)
		return verr(v, "unexpected end of input");
	if (++v->ntok > v->max_tok)
		return verr(v, "too many values");
	switch (v->s[v->pos]) {
	case '{':
	case '[':
		rc = v_container(v);
		break;
	case '"':
		rc = v_string(v);
		break;
	case 't':
		rc = v_word(v, "true");
		break;
	case 'f':
		rc = v_word(v, "false");
		break;
	case 'n':
		rc = v_word(v, "null");
		break;
	default:
		if (v->s[v->pos] == '-' ||
		    (v->s[v->pos] >= '0' && v->s[v->pos] <= '9'))
			rc = v_number(v);
		else
			rc = verr(v, "unexpected character");
	}
	return rc;
}

static enum json_type prim_type(char c)
{
	return c == 't' ? JSON_TRUE : c == 'f' ? JSON_FALSE :
	       c == 'n' ? JSON_NULL : JSON_NUMBER;
}

/* jsmn over text already known valid; fills d->tok[0..ntok). */
static int tokenize(struct json_doc *d, size_t root, struct json_err *err)
{
	jsmn_parser p;
	jsmntok_t *jt;
	int i, c, k, n;

	jt = arena_alloc(d->arena, sizeof(*jt) * (size_t)d->ntok);
	if (!jt)
		return json_errf(err, -1, -ENOMEM, "out of memory");
	jsmn_init(&p);
	n = jsmn_parse(&p, d->text, d->len, jt, (unsigned)d->ntok);
	if (n != d->ntok)
		return json_errf(err, -1, -EINVAL, "tokenizer disagrees (%d)",
				 n);
	for (i = 0; i < n; i++) {
		d->tok[i].start = jt[i].start;
		d->tok[i].end = jt[i].end;
		d->tok[i].size = jt[i].size;
		d->tok[i].parent = jt[i].parent;
		switch (jt[i].type) {
		case JSMN_OBJECT:
			d->tok[i].type = JSON_OBJECT;
			break;
		case JSMN_ARRAY:
			d->tok[i].type = JSON_ARRAY;
			break;
		case JSMN_STRING:
			d->tok[i].type = JSON_STRING;
			break;
		default:
			d->tok[i].type = prim_type(d->text[jt[i].start]);
		}
	}
	for (i = n - 1; i >= 0; i--) {
		c = i + 1;
		for (k = 0; k < d->tok[i].size && c < n; k++)
			c = d->tok[c].next;
		d->tok[i].next = c;
		if (d->tok[i].type == JSON_STRING)
			d->tok[i].size = 0;	/* a key: its value is i+1 */
	}
	if (d->tok[0].next != n || (size_t)d->tok[0].start != root)
		return json_errf(err, -1, -EINVAL, "tokenizer disagrees");
	return 0;
}

int json_parse(struct json_doc *d, struct arena *a, const char *text,
	       size_t len, const struct json_limits *lim, struct json_err *err)
{
	struct vstate v = { .s = text, .len = len, .err = err };
	size_t max_len = lim && lim->max_len ? lim->max_len : JSON_DEF_MAX_LEN;
	const char *nul;
	size_t root, root_end;
	int rc, q;

	memset(d, 0, sizeof(*d));
	d->arena = a;
	if (err)
		err->offset = -1, err->msg[0] = 0;
	v.max_depth = lim && lim->max_depth ? lim->max_depth :
		      JSON_DEF_MAX_DEPTH;
	v.max_tok = lim && lim->max_tokens ? lim->max_tokens :
		    JSON_DEF_MAX_TOKENS;
	if (len > max_len || len > INT_MAX - 2)
		return json_errf(err, -1, -E2BIG,
				 "document too large (%zu > %zu bytes)",
				 len, max_len);
	nul = memchr(text, 0, len);
	if (nul)
		return json_errf(err, (int)(nul - text), -EINVAL,
				 "NUL byte at offset %zu",
				 (size_t)(nul - text));
	skip_ws(&v);
	if (v.pos >= len)
		return json_errf(err, (int)v.pos, -EINVAL, "empty document");
	root = v.pos;
	if ((rc = v_value(&v)) < 0)
		return rc;
	root_end = v.pos;
	skip_ws(&v);
	if (v.pos < len)
		return verr(&v, "trailing data after JSON value");
	d->text = text;
	d->len = len;
	d->ntok = (int)v.ntok;
	d->tok = arena_alloc(a, sizeof(*d->tok) * (size_t)d->ntok);
	if (!d->tok)
		return json_errf(err, -1, -ENOMEM, "out of memory");
	if (text[root] == '{' || text[root] == '[')
		return tokenize(d, root, err);
	/* A scalar root: jsmn's strict mode wants a delimiter after it. */
	q = text[root] == '"';
	d->tok[0].type = q ? JSON_STRING : prim_type(text[root]);
	d->tok[0].start = (int)(root + q);
	d->tok[0].end = (int)(root_end - q);
	d->tok[0].parent = -1;
	d->tok[0].next = 1;
	return 0;
}

/* ---- structure ---------------------------------------------------------- */

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = {
		[JSON_NONE] = "nothing", [JSON_OBJECT] = "object",
		[JSON_ARRAY] = "array", [JSON_STRING] = "string",
		[JSON_NUMBER] = "number", [JSON_TRUE] = "boolean",
		[JSON_FALSE] = "boolean", [JSON_NULL] = "null",
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

int json_first(const struct json_doc *d, int i)
{
	enum json_type t = json_typeof(d, i);

	if ((t != JSON_OBJECT && t != JSON_ARRAY) || !d->tok[i].size)
		return -1;
	return i + 1;
}

int json_next(const struct json_doc *d, int i)
{
	int n, p;

	if (i < 0 || i >= d->ntok)
		return -1;
	n = d->tok[i].next;
	p = d->tok[i].parent;
	if (p < 0 || n >= d->tok[p].next || n >= d->ntok)
		return -1;
	return n;
}

int json_len(const struct json_doc *d, int i)
{
	enum json_type t = json_typeof(d, i);

	return t == JSON_OBJECT || t == JSON_ARRAY ? d->tok[i].size : 0;
}

int json_at(const struct json_doc *d, int arr, int n)
{
	int i;

	if (json_typeof(d, arr) != JSON_ARRAY || n < 0 || n >= d->tok[arr].size)
		return -1;
	for (i = arr + 1; n > 0; n--)
		i = d->tok[i].next;
	return i;
}

/* Decode the escaped string body s[0..n) into out; returns the length. */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;
	unsigned cp, lo;

	while (i < n) {
		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		i++;
		switch (s[i++]) {
		case 'b': out[o++] = '\b'; continue;
		case 'f': out[o++] = '\f'; continue;
		case 'n': out[o++] = '\n'; continue;
		case 'r': out[o++] = '\r'; continue;
		case 't': out[o++] = '\t'; continue;
		case 'u': break;
		default: out[o++] = s[i - 1]; continue;
		}
		cp = (unsigned)(hexval(s[i]) << 12 | hexval(s[i + 1]) << 8 |
				hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
		i += 4;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n &&
		    s[i] == '\\' && s[i + 1] == 'u') {
			lo = (unsigned)(hexval(s[i + 2]) << 12 |
					hexval(s[i + 3]) << 8 |
					hexval(s[i + 4]) << 4 | hexval(s[i + 5]));
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				i += 6;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;	/* lone surrogate, as Go does */
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xe0 | cp >> 12);
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | cp >> 18);
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	return o;
}

int json_key_eq(const struct json_doc *d, int k, const char *key)
{
	const char *s;
	size_t n, klen = strlen(key);
	char buf[256], *tmp;

	if (json_typeof(d, k) != JSON_STRING)
		return 0;
	s = d->text + d->tok[k].start;
	n = (size_t)(d->tok[k].end - d->tok[k].start);
	if (!memchr(s, '\\', n))
		return n == klen && !memcmp(s, key, n);
	if (klen > n)
		return 0;
	tmp = n < sizeof(buf) ? buf : arena_alloc(d->arena, n + 1);
	if (!tmp)
		return 0;
	return unescape(s, n, tmp) == klen && !memcmp(tmp, key, klen);
}

int json_find(const struct json_doc *d, int obj, const char *key)
{
	int k, found = -1;

	if (json_typeof(d, obj) != JSON_OBJECT)
		return -1;
	json_for_each(d, obj, k)
		if (json_key_eq(d, k, key))
			found = k + 1;
	return found;
}

int json_path(const struct json_doc *d, int from, const char *path)
{
	char seg[256];
	const char *dot;
	size_t n;
	int i = from, j;

	while (i >= 0 && *path) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(seg))
			return -1;
		memcpy(seg, path, n);
		seg[n] = 0;
		if (json_typeof(d, i) == JSON_ARRAY) {
			for (j = 0; seg[j] >= '0' && seg[j] <= '9'; j++)
				;
			if (!n || seg[j] || n > 9)
				return -1;
			i = json_at(d, i, atoi(seg));
		} else {
			i = json_find(d, i, seg);
		}
		path += n + (dot != NULL);
	}
	return i;
}

const char *json_raw(const struct json_doc *d, int i, size_t *len)
{
	int q;

	if (i < 0 || i >= d->ntok) {
		*len = 0;
		return NULL;
	}
	q = d->tok[i].type == JSON_STRING;
	*len = (size_t)(d->tok[i].end - d->tok[i].start + 2 * q);
	return d->text + d->tok[i].start - q;
}

char *json_raw_dup(const struct json_doc *d, int i)
{
	size_t n;
	const char *s = json_raw(d, i, &n);

	return s ? arena_strndup(d->arena, s, n) : NULL;
}

/* ---- typed conversions ------------------------------------------------- */

static int type_err(const struct json_doc *d, int i, const char *what,
		    const char *want, struct json_err *err)
{
	if (i < 0 || json_typeof(d, i) == JSON_NULL)
		return json_errf(err, -1, -ENOENT, "%s: missing",
				 what ? what : "value");
	return json_errf(err, d->tok[i].start, -EINVAL,
			 "%s: expected %s, got %s", what ? what : "value",
			 want, json_type_name(d->tok[i].type));
}

int json_expect(const struct json_doc *d, int i, const char *what,
		enum json_type t, struct json_err *err)
{
	enum json_type have = json_typeof(d, i);

	if (have == t || (t == JSON_TRUE && have == JSON_FALSE))
		return 0;
	return type_err(d, i, what, json_type_name(t), err);
}

int json_as_str(const struct json_doc *d, int i, const char *what,
		const char **out, size_t *len, struct json_err *err)
{
	const char *s;
	char *o;
	size_t n, m;

	if (json_typeof(d, i) != JSON_STRING)
		return type_err(d, i, what, "string", err);
	s = d->text + d->tok[i].start;
	n = (size_t)(d->tok[i].end - d->tok[i].start);
	o = arena_alloc(d->arena, n + 1);
	if (!o)
		return json_errf(err, -1, -ENOMEM, "out of memory");
	m = memchr(s, '\\', n) ? unescape(s, n, o) : (memcpy(o, s, n), n);
	o[m] = 0;
	if (!len && memchr(o, 0, m))
		return json_errf(err, d->tok[i].start, -EINVAL,
				 "%s: string contains NUL",
				 what ? what : "value");
	if (len)
		*len = m;
	*out = o;
	return 0;
}

/* Integer digits of token i: sign, digits. -EINVAL if not an integer. */
static int int_digits(const struct json_doc *d, int i, int *neg,
		      const char **p, const char **end)
{
	const char *s, *e;

	if (json_typeof(d, i) != JSON_NUMBER)
		return -EINVAL;
	s = d->text + d->tok[i].start;
	e = d->text + d->tok[i].end;
	if (memchr(s, '.', (size_t)(e - s)) || memchr(s, 'e', (size_t)(e - s)) ||
	    memchr(s, 'E', (size_t)(e - s)))
		return -EINVAL;
	*neg = *s == '-';
	*p = s + *neg;
	*end = e;
	return 0;
}

static int range_err(const struct json_doc *d, int i, const char *what,
		     struct json_err *err)
{
	return json_errf(err, d->tok[i].start, -EINVAL,
			 "%s: %.*s out of range", what ? what : "value",
			 d->tok[i].end - d->tok[i].start > 40 ? 40 :
			 d->tok[i].end - d->tok[i].start,
			 d->text + d->tok[i].start);
}

int json_as_u64(const struct json_doc *d, int i, const char *what,
		uint64_t *out, struct json_err *err)
{
	const char *p, *e;
	uint64_t v = 0;
	int neg;

	if (int_digits(d, i, &neg, &p, &e) < 0)
		return type_err(d, i, what, "unsigned integer", err);
	if (neg)
		return range_err(d, i, what, err);
	for (; p < e; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return range_err(d, i, what, err);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

int json_as_i64(const struct json_doc *d, int i, const char *what,
		int64_t *out, struct json_err *err)
{
	const char *p, *e;
	uint64_t v = 0, lim;
	int neg;

	if (int_digits(d, i, &neg, &p, &e) < 0)
		return type_err(d, i, what, "integer", err);
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < e; p++) {
		if (v > (lim - (uint64_t)(*p - '0')) / 10)
			return range_err(d, i, what, err);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (neg)
		*out = v ? (int64_t)(~v + 1) : 0;
	else
		*out = (int64_t)v;
	return 0;
}

int json_as_int(const struct json_doc *d, int i, const char *what,
		int64_t min, int64_t max, int64_t *out, struct json_err *err)
{
	int64_t v;
	int rc = json_as_i64(d, i, what, &v, err);

	if (rc < 0)
		return rc;
	if (v < min || v > max)
		return json_errf(err, d->tok[i].start, -EINVAL,
				 "%s: %lld out of range [%lld, %lld]",
				 what ? what : "value", (long long)v,
				 (long long)min, (long long)max);
	*out = v;
	return 0;
}

int json_as_double(const struct json_doc *d, int i, const char *what,
		   double *out, struct json_err *err)
{
	char buf[64], *tmp, *end;
	size_t n;
	double v;

	if (json_typeof(d, i) != JSON_NUMBER)
		return type_err(d, i, what, "number", err);
	n = (size_t)(d->tok[i].end - d->tok[i].start);
	tmp = n < sizeof(buf) ? buf : arena_alloc(d->arena, n + 1);
	if (!tmp)
		return json_errf(err, -1, -ENOMEM, "out of memory");
	memcpy(tmp, d->text + d->tok[i].start, n);
	tmp[n] = 0;
	errno = 0;
	v = strtod(tmp, &end);
	if (errno == ERANGE && v != 0)
		return range_err(d, i, what, err);
	*out = v;
	return 0;
}

int json_as_bool(const struct json_doc *d, int i, const char *what,
		 int *out, struct json_err *err)
{
	enum json_type t = json_typeof(d, i);

	if (t != JSON_TRUE && t != JSON_FALSE)
		return type_err(d, i, what, "boolean", err);
	*out = t == JSON_TRUE;
	return 0;
}

/* ---- keyed getters ----------------------------------------------------- */

static int member(const struct json_doc *d, int obj, const char *key,
		  struct json_err *err)
{
	int i = json_find(d, obj, key);

	if (i < 0 || d->tok[i].type == JSON_NULL) {
		json_errf(err, -1, -ENOENT, "%s: missing", key);
		return -1;
	}
	return i;
}

int json_get_str(const struct json_doc *d, int obj, const char *key,
		 const char **out, struct json_err *err)
{
	int i = member(d, obj, key, err);

	return i < 0 ? -ENOENT : json_as_str(d, i, key, out, NULL, err);
}

int json_get_i64(const struct json_doc *d, int obj, const char *key,
		 int64_t *out, struct json_err *err)
{
	int i = member(d, obj, key, err);

	return i < 0 ? -ENOENT : json_as_i64(d, i, key, out, err);
}

int json_get_u64(const struct json_doc *d, int obj, const char *key,
		 uint64_t *out, struct json_err *err)
{
	int i = member(d, obj, key, err);

	return i < 0 ? -ENOENT : json_as_u64(d, i, key, out, err);
}

int json_get_int(const struct json_doc *d, int obj, const char *key,
		 int64_t min, int64_t max, int64_t *out, struct json_err *err)
{
	int i = member(d, obj, key, err);

	return i < 0 ? -ENOENT : json_as_int(d, i, key, min, max, out, err);
}

int json_get_double(const struct json_doc *d, int obj, const char *key,
		    double *out, struct json_err *err)
{
	int i = member(d, obj, key, err);

	return i < 0 ? -ENOENT : json_as_double(d, i, key, out, err);
}

int json_get_bool(const struct json_doc *d, int obj, const char *key,
		  int *out, struct json_err *err)
{
	int i = member(d, obj, key, err);

	return i < 0 ? -ENOENT : json_as_bool(d, i, key, out, err);
}

static int get_typed(const struct json_doc *d, int obj, const char *key,
		     enum json_type t, int *out, struct json_err *err)
{
	int i = member(d, obj, key, err), rc;

	if (i < 0)
		return -ENOENT;
	rc = json_expect(d, i, key, t, err);
	if (rc == 0)
		*out = i;
	return rc;
}

int json_get_obj(const struct json_doc *d, int obj, const char *key,
		 int *out, struct json_err *err)
{
	return get_typed(d, obj, key, JSON_OBJECT, out, err);
}

int json_get_arr(const struct json_doc *d, int obj, const char *key,
		 int *out, struct json_err *err)
{
	return get_typed(d, obj, key, JSON_ARRAY, out, err);
}

/* ---- streaming ---------------------------------------------------------- */

int json_stream_next(const char *buf, size_t len, size_t *start,
		     size_t *end)
{
	size_t i = 0, depth = 0;
	int in_str = 0;

	while (i < len && strchr(" \t\r\n", buf[i]) && buf[i])
		i++;
	if (i == len)
		return 0;
	if (buf[i] != '{' && buf[i] != '[')
		return -EINVAL;
	*start = i;
	for (; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				*end = i + 1;
				return 1;
			}
		}
	}
	return 0;
}
