/* The List parser and everything behind it: parse (kobj), compile (np),
 * render (nft text) and build the batch (no kernel). Whatever the input,
 * no crash, no leak, and the compiled sets are well formed: ranges inside
 * one family, lo <= hi, boxes with plo <= phi. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kobj.h"
#include "np.h"
#include "np_nft.h"

static void check_allow(const struct np_allow *al)
{
	int f, i;

	for (f = 0; f < 2; f++) {
		for (i = 0; i < al->nany[f]; i++)
			if (al->any[f][i].lo.family !=
			    al->any[f][i].hi.family ||
			    ip_cmp(&al->any[f][i].lo, &al->any[f][i].hi) > 0)
				abort();
		for (i = 0; i < al->nbox[f]; i++)
			if (ip_cmp(&al->box[f][i].addr.lo,
				   &al->box[f][i].addr.hi) > 0 ||
			    al->box[f][i].plo > al->box[f][i].phi)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[1 << 18];
	struct np_opts o[2] = { { NULL }, { "n1" } };
	struct kobj_list l;
	struct np_ruleset rs;
	struct nft_batch b;
	struct json_err e;
	struct arena a;
	char *text = NULL;
	size_t len;
	int k, i;

	arena_init(&a);
	if (kobj_parse_list(&a, (const char *)data, size, &l, &e) < 0)
		goto out;
	for (k = 0; k < 2; k++) {
		if (np_compile(&a, &l, &o[k], &rs) < 0)
			continue;
		for (i = 0; i < rs.ncls; i++)
			check_allow(&rs.cls[i].allow);
		if (np_nft_render(&rs, &text, &len) == 0)
			free(text);
		nft_batch_init(&b, buf, sizeof(buf));
		np_nft_build(&b, &rs, NULL);
	}
out:
	arena_free_all(&a);
	return 0;
}
