/* nft_dump_parse() over arbitrary bytes: what a dump of tables, chains,
 * rules and sets returns from the kernel. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nft_dump.h"

static int on_table(const struct nft_table_info *t, void *arg)
{
	*(size_t *)arg += strlen(t->name);
	return 0;
}

static int on_chain(const struct nft_chain_info *c, void *arg)
{
	*(size_t *)arg += strlen(c->table) + strlen(c->name) + strlen(c->type);
	return 0;
}

static int on_rule(const struct nft_rule_info *r, void *arg)
{
	*(size_t *)arg += strlen(r->exprs) + (size_t)r->nexprs;
	return 0;
}

static int on_set(const struct nft_set_info *s, void *arg)
{
	*(size_t *)arg += strlen(s->name) + s->key_len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sum = 0;
	struct nft_dump_cbs cbs = { on_table, on_chain, on_rule, on_set,
				    &sum };

	nft_dump_parse(data, size, &cbs);
	return 0;
}
