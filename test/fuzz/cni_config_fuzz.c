/* CNI plugin config and conflist parsing, then result re-printing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const vers[] = {
		"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
	};
	struct arena a;
	struct cni_conf c;
	struct cni_conflist l;
	struct cni_error e;
	struct cni_result r;
	struct json_doc d;
	struct json_w w;
	const char *s = (const char *)data, *out;
	size_t n;
	int cmd, i;

	arena_init(&a);
	for (cmd = CNI_CMD_ADD; cmd <= CNI_CMD_STATUS; cmd++) {
		if (cni_conf_parse(&c, &a, s, size, (enum cni_cmd)cmd, &e) < 0) {
			if (!e.code || !memchr(e.msg, 0, sizeof(e.msg)))
				abort();
			continue;
		}
		if (!c.name || !c.type || !cni_version_supported(c.cni_version))
			abort();
		if (c.prev < 0)
			continue;
		for (i = 0; i < 5; i++) {
			json_w_init(&w, &a, i);
			cni_result_write(&w, &c.prev_result, vers[i]);
			if (json_w_finish(&w, &out, &n) < 0)
				abort();
			if (json_parse(&d, &a, out, n, NULL, NULL) < 0 ||
			    cni_result_parse(&r, &d, 0, &a, &e) < 0)
				abort();
		}
	}
	if (cni_conflist_parse(&l, &a, s, size, &e) == 0) {
		for (i = 0; i < l.n_plugins; i++) {
			json_w_init(&w, &a, 0);
			if (cni_conflist_plugin(&l, i, "{}", NULL, &w) < 0 ||
			    json_w_finish(&w, &out, &n) < 0 ||
			    json_parse(&d, &a, out, n, NULL, NULL) < 0)
				abort();
		}
	}
	arena_free_all(&a);
	return 0;
}
