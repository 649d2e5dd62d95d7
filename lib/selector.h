/* Kubernetes labels and label selectors (metav1.LabelSelector).
 *
 *	struct selector s;
 *	struct json_err e;
 *	selector_parse(doc, tok, arena, &s, &e);   (validates as the API)
 *	if (selector_match(&s, &pod_labels)) ...
 *
 * matchLabels become In requirements with one value, so a selector is a
 * list of requirements that must all hold; none selects everything.
 * NotIn and DoesNotExist also match objects without the key.
 */
#ifndef VPCNET_SELECTOR_H
#define VPCNET_SELECTOR_H

#include "arena.h"
#include "json.h"

#define SELECTOR_NAME_MAX 63	/* label name and value */
#define SELECTOR_PREFIX_MAX 253	/* DNS subdomain before '/' */

struct selector_label {
	const char *key;
	const char *value;
};

struct selector_labels {
	struct selector_label *v;
	int n;
};

enum selector_op {
	SELECTOR_IN,
	SELECTOR_NOT_IN,
	SELECTOR_EXISTS,
	SELECTOR_DOES_NOT_EXIST,
};

struct selector_req {
	const char *key;
	enum selector_op op;
	const char **values;
	int nvalues;
};

struct selector {
	struct selector_req *reqs;
	int nreqs;
};

/* A LabelSelector object at token tok (JSON null: the empty selector).
 * -EINVAL with e->msg naming the field ("matchExpressions[0].operator:
 * unsupported value \"Foo\""), -ENOMEM. */
int selector_parse(const struct json_doc *d, int tok, struct arena *a,
		   struct selector *out, struct json_err *e);
/* metadata.labels: an object of strings, keys and values validated. */
int selector_parse_labels(const struct json_doc *d, int tok,
			  struct arena *a, struct selector_labels *out,
			  struct json_err *e);

int selector_match(const struct selector *s, const struct selector_labels *l);
/* Value of key, or NULL. */
const char *selector_get(const struct selector_labels *l, const char *key);

/* Validation as the API server does it (1 = valid). */
int selector_key_valid(const char *key);	/* [prefix/]name */
int selector_value_valid(const char *value);	/* "" or a name */
int selector_dns_subdomain(const char *s);	/* RFC 1123, <= 253 */
int selector_dns_label(const char *s);		/* RFC 1123, <= 63 */

#endif
