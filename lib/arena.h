/* Bump arena: one per request; everything allocated from it dies together.
 *
 *	struct arena a;
 *	arena_init(&a);
 *	p = arena_alloc(&a, n);		(zeroed, 16-byte aligned, NULL on OOM)
 *	arena_free_all(&a);		(the arena is reusable afterwards)
 */
#ifndef VPCNET_ARENA_H
#define VPCNET_ARENA_H

#include <stddef.h>

struct arena_blk;

struct arena {
	struct arena_blk *head;	/* current block, chained to older ones */
	size_t used;		/* bytes used in head */
	size_t total;		/* bytes allocated from malloc, all blocks */
	size_t limit;		/* 0 = unlimited; else fail past this total */
};

void arena_init(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);
void *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void arena_free_all(struct arena *a);

#endif
