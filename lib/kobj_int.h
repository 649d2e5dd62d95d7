/* Internal to kobj.c and kobj_np.c. */
#ifndef VPCNET_KOBJ_INT_H
#define VPCNET_KOBJ_INT_H

#include "kobj.h"

int kobj_err(struct json_err *e, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "what: <e->msg>" unless rc is -ENOMEM */
int kobj_err_nest(struct json_err *e, int rc, const char *what);
/* metadata.name/namespace (namespace "default" when absent, NULL when
 * ns is NULL: cluster-scoped) and labels (NULL: not wanted). */
int kobj_meta(const struct json_doc *d, int obj, struct arena *a,
	      const char **name, const char **ns,
	      struct selector_labels *labels, struct json_err *e);
int kobj_proto_parse(const char *s, uint8_t *proto);

#endif
