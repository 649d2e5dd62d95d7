/* Replies printed the way the aliyun CLI prints them: it decodes the JSON
 * (numbers kept as written) into Go maps and encodes them again with
 * SetIndent("", "\t") and SetEscapeHTML(false), so object keys come out
 * sorted bytewise (the last of repeated keys wins), one member per line,
 * tab indentation, "key": value, empty containers as {} and [], and Go's
 * string escapes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eni_agent.h"
#include "json.h"

struct member {
	const char *key;
	size_t len;
	int val;	/* token of the value */
	int order;	/* position in the source, for "last one wins" */
};

struct printer {
	FILE *f;
	const struct json_doc *d;
	struct arena *a;
	int err;
};

/* Go's encodeState.string without HTML escaping (Go 1.22+: \b and \f). */
static void put_string(FILE *f, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char ch = p[i];

		if (ch == '"' || ch == '\\') {
			fputc('\\', f);
			fputc(ch, f);
		} else if (ch < 0x20) {
			const char *esc = ch == '\n' ? "\\n" :
				ch == '\r' ? "\\r" : ch == '\t' ? "\\t" :
				ch == '\b' ? "\\b" : ch == '\f' ? "\\f" : NULL;

			if (esc)
				fputs(esc, f);
			else
				fprintf(f, "\\u00%c%c", hex[ch >> 4],
					hex[ch & 15]);
		} else if (ch == 0xe2 && i + 2 < n && p[i + 1] == 0x80 &&
			   (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			fputs(p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", f);
			i += 2;
		} else {
			fputc(ch, f);
		}
	}
	fputc('"', f);
}

static int by_key(const void *x, const void *y)
{
	const struct member *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->key, b->key, n);

	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->order - b->order;
}

static void indent(FILE *f, int depth)
{
	while (depth-- > 0)
		fputc('\t', f);
}

static void print_value(struct printer *p, int i, int depth);

static void print_object(struct printer *p, int obj, int depth)
{
	struct member *m;
	int n = json_len(p->d, obj), k, j = 0, first = 1;

	if (!n) {
		fputs("{}", p->f);
		return;
	}
	m = arena_alloc(p->a, (size_t)n * sizeof(*m));
	if (!m) {
		p->err = -ENOMEM;
		return;
	}
	json_for_each(p->d, obj, k) {
		if (json_as_str(p->d, k, NULL, &m[j].key, &m[j].len, NULL)) {
			p->err = -ENOMEM;
			return;
		}
		m[j].val = k + 1;
		m[j].order = j;
		j++;
	}
	qsort(m, (size_t)n, sizeof(*m), by_key);
	fputs("{\n", p->f);
	for (j = 0; j < n; j++) {
		if (j + 1 < n && m[j].len == m[j + 1].len &&
		    !memcmp(m[j].key, m[j + 1].key, m[j].len))
			continue;	/* a later one with this key follows */
		if (!first)
			fputs(",\n", p->f);
		first = 0;
		indent(p->f, depth + 1);
		put_string(p->f, m[j].key, m[j].len);
		fputs(": ", p->f);
		print_value(p, m[j].val, depth + 1);
	}
	fputc('\n', p->f);
	indent(p->f, depth);
	fputc('}', p->f);
}

static void print_array(struct printer *p, int arr, int depth)
{
	int e, first = 1;

	if (!json_len(p->d, arr)) {
		fputs("[]", p->f);
		return;
	}
	fputs("[\n", p->f);
	json_for_each(p->d, arr, e) {
		if (!first)
			fputs(",\n", p->f);
		first = 0;
		indent(p->f, depth + 1);
		print_value(p, e, depth + 1);
	}
	fputc('\n', p->f);
	indent(p->f, depth);
	fputc(']', p->f);
}

static void print_value(struct printer *p, int i, int depth)
{
	const char *s;
	size_t n;

	if (p->err)
		return;
	switch (json_typeof(p->d, i)) {
	case JSON_OBJECT:
		print_object(p, i, depth);
		break;
	case JSON_ARRAY:
		print_array(p, i, depth);
		break;
	case JSON_STRING:
		if (json_as_str(p->d, i, NULL, &s, &n, NULL))
			p->err = -ENOMEM;
		else
			put_string(p->f, s, n);
		break;
	default:	/* numbers as written, true, false, null */
		s = json_raw(p->d, i, &n);
		fwrite(s, 1, n, p->f);
		break;
	}
}

int ea_json_print(FILE *f, const char *text, size_t len)
{
	struct json_limits lim = { .max_len = len + 1 };
	struct printer p = { .f = f };
	struct json_doc d;
	struct arena a;

	arena_init(&a);
	if (json_parse(&d, &a, text, len, &lim, NULL) == 0) {
		p.d = &d;
		p.a = &a;
		print_value(&p, 0, 0);
	} else {
		fwrite(text, 1, len, f);
	}
	fputc('\n', f);
	arena_free_all(&a);
	if (!p.err && (fflush(f) || ferror(f)))
		p.err = -EIO;
	return p.err;
}
