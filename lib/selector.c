/* Kubernetes labels and label selectors. See selector.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "selector.h"

static int seterr(struct json_err *e, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int seterr(struct json_err *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->offset = -1;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* "what: <previous message>" */
static int nest_err(struct json_err *e, int rc, const char *what)
{
	char tmp[sizeof(e->msg)];

	if (e && rc != -ENOMEM) {
		memcpy(tmp, e->msg, sizeof(tmp));
		tmp[sizeof(tmp) - 1] = 0;
		snprintf(e->msg, sizeof(e->msg), "%.40s: %.150s", what, tmp);
	}
	return rc;
}

static int alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], n bytes, n <= 63 */
static int name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SELECTOR_NAME_MAX || !alnum(s[0]) ||
	    !alnum(s[n - 1]))
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/* one DNS label of n bytes: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static int label_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int subdomain_ok(const char *s, size_t n)
{
	size_t i, start = 0;

	if (n == 0 || n > SELECTOR_PREFIX_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!label_ok(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

int selector_dns_subdomain(const char *s)
{
	return s && subdomain_ok(s, strlen(s));
}

int selector_dns_label(const char *s)
{
	return s && label_ok(s, strlen(s));
}

int selector_key_valid(const char *key)
{
	const char *slash;

	if (!key)
		return 0;
	slash = strchr(key, '/');
	if (!slash)
		return name_ok(key, strlen(key));
	return subdomain_ok(key, (size_t)(slash - key)) &&
	       name_ok(slash + 1, strlen(slash + 1));
}

int selector_value_valid(const char *value)
{
	return value && (!value[0] || name_ok(value, strlen(value)));
}

const char *selector_get(const struct selector_labels *l, const char *key)
{
	int i;

	for (i = 0; l && i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return l->v[i].value;
	return NULL;
}

static int req_match(const struct selector_req *r,
		     const struct selector_labels *l)
{
	const char *v = selector_get(l, r->key);
	int i;

	switch (r->op) {
	case SELECTOR_EXISTS:
		return v != NULL;
	case SELECTOR_DOES_NOT_EXIST:
		return v == NULL;
	case SELECTOR_IN:
	case SELECTOR_NOT_IN:
		for (i = 0; v && i < r->nvalues; i++)
			if (!strcmp(v, r->values[i]))
				return r->op == SELECTOR_IN;
		return r->op == SELECTOR_NOT_IN;
	}
	return 0;
}

int selector_match(const struct selector *s, const struct selector_labels *l)
{
	int i;

	for (i = 0; i < s->nreqs; i++)
		if (!req_match(&s->reqs[i], l))
			return 0;
	return 1;
}

int selector_parse_labels(const struct json_doc *d, int tok,
			  struct arena *a, struct selector_labels *out,
			  struct json_err *e)
{
	const char *key, *val;
	int k, n = 0, rc;

	memset(out, 0, sizeof(*out));
	if (tok < 0 || json_typeof(d, tok) == JSON_NULL)
		return 0;
	if ((rc = json_expect(d, tok, "labels", JSON_OBJECT, e)) < 0)
		return rc;
	out->v = arena_alloc(a, (json_len(d, tok) + 1) * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	json_for_each(d, tok, k) {
		if ((rc = json_as_str(d, k, "labels", &key, NULL, e)) < 0 ||
		    (rc = json_as_str(d, k + 1, key, &val, NULL, e)) < 0)
			return rc;
		if (!selector_key_valid(key))
			return seterr(e, -EINVAL,
				      "labels: invalid key \"%.64s\"", key);
		if (!selector_value_valid(val))
			return seterr(e, -EINVAL,
				      "labels.%.64s: invalid value \"%.64s\"",
				      key, val);
		/* a repeated key: the last one wins, as in Go */
		for (rc = 0; rc < n; rc++)
			if (!strcmp(out->v[rc].key, key))
				break;
		out->v[rc].key = key;
		out->v[rc].value = val;
		if (rc == n)
			n++;
	}
	out->n = n;
	return 0;
}

static int parse_op(const char *s, enum selector_op *op)
{
	static const char *const names[] = {
		"In", "NotIn", "Exists", "DoesNotExist",
	};
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*op = (enum selector_op)i;
			return 0;
		}
	return -EINVAL;
}

static int parse_values(const struct json_doc *d, int arr, struct arena *a,
			struct selector_req *r, int idx, struct json_err *e)
{
	int i, rc;

	r->values = arena_alloc(a, (json_len(d, arr) + 1) * sizeof(char *));
	if (!r->values)
		return -ENOMEM;
	json_for_each(d, arr, i) {
		rc = json_as_str(d, i, "values", &r->values[r->nvalues], NULL,
				 e);
		if (rc < 0)
			return rc;
		if (!selector_value_valid(r->values[r->nvalues]))
			return seterr(e, -EINVAL, "matchExpressions[%d].values"
				      "[%d]: invalid label value \"%.64s\"",
				      idx, r->nvalues, r->values[r->nvalues]);
		r->nvalues++;
	}
	return 0;
}

static int parse_expr(const struct json_doc *d, int obj, struct arena *a,
		      struct selector_req *r, int idx, struct json_err *e)
{
	const char *op;
	int arr = -1, rc;

	if ((rc = json_expect(d, obj, "matchExpressions", JSON_OBJECT, e)) < 0)
		return rc;
	if ((rc = json_get_str(d, obj, "key", &r->key, e)) < 0)
		return seterr(e, rc == -ENOENT ? -EINVAL : rc,
			      "matchExpressions[%d].key: %s", idx,
			      rc == -ENOENT ? "required" : "must be a string");
	if (!selector_key_valid(r->key))
		return seterr(e, -EINVAL, "matchExpressions[%d].key: invalid "
			      "label key \"%.64s\"", idx, r->key);
	if ((rc = json_get_str(d, obj, "operator", &op, e)) < 0)
		return seterr(e, rc == -ENOENT ? -EINVAL : rc,
			      "matchExpressions[%d].operator: %s", idx,
			      rc == -ENOENT ? "required" : "must be a string");
	if (parse_op(op, &r->op) < 0)
		return seterr(e, -EINVAL, "matchExpressions[%d].operator: "
			      "unsupported value \"%.32s\"", idx, op);
	rc = json_get_arr(d, obj, "values", &arr, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (arr >= 0 && (rc = parse_values(d, arr, a, r, idx, e)) < 0)
		return rc;
	if ((r->op == SELECTOR_IN || r->op == SELECTOR_NOT_IN) && !r->nvalues)
		return seterr(e, -EINVAL, "matchExpressions[%d].values: must "
			      "be specified when operator is In or NotIn", idx);
	if ((r->op == SELECTOR_EXISTS || r->op == SELECTOR_DOES_NOT_EXIST) &&
	    r->nvalues)
		return seterr(e, -EINVAL, "matchExpressions[%d].values: may "
			      "not be specified when operator is Exists or "
			      "DoesNotExist", idx);
	return 0;
}

int selector_parse(const struct json_doc *d, int tok, struct arena *a,
		   struct selector *out, struct json_err *e)
{
	struct selector_labels ml;
	int exprs = -1, ml_tok = -1, i, n, rc;

	memset(out, 0, sizeof(*out));
	if (tok < 0 || json_typeof(d, tok) == JSON_NULL)
		return 0;
	if ((rc = json_expect(d, tok, "selector", JSON_OBJECT, e)) < 0)
		return rc;
	rc = json_get_obj(d, tok, "matchLabels", &ml_tok, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if ((rc = selector_parse_labels(d, ml_tok, a, &ml, e)) < 0)
		return nest_err(e, rc, "matchLabels");
	rc = json_get_arr(d, tok, "matchExpressions", &exprs, e);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	n = ml.n + (exprs >= 0 ? json_len(d, exprs) : 0);
	out->reqs = arena_alloc(a, (n + 1) * sizeof(*out->reqs));
	if (!out->reqs)
		return -ENOMEM;
	for (i = 0; i < ml.n; i++) {
		struct selector_req *r = &out->reqs[out->nreqs++];

		r->key = ml.v[i].key;
		r->op = SELECTOR_IN;
		r->values = &ml.v[i].value;
		r->nvalues = 1;
	}
	if (exprs < 0)
		return 0;
	json_for_each(d, exprs, i) {
		rc = parse_expr(d, i, a, &out->reqs[out->nreqs], out->nreqs -
				ml.n, e);
		if (rc < 0)
			return rc;
		out->nreqs++;
	}
	return 0;
}
