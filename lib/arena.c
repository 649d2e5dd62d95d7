#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_BLK 8192
#define ARENA_ALIGN 16

struct arena_blk {
	struct arena_blk *prev;
	size_t size;		/* usable bytes in data[] */
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(struct arena *a)
{
	memset(a, 0, sizeof(*a));
}

static int arena_grow(struct arena *a, size_t n)
{
	struct arena_blk *b;
	size_t size = n > ARENA_BLK ? n : ARENA_BLK;

	if (size > SIZE_MAX - sizeof(*b))
		return -1;
	if (a->limit && (size > a->limit || a->total > a->limit - size))
		return -1;
	b = malloc(sizeof(*b) + size);
	if (!b)
		return -1;
	b->prev = a->head;
	b->size = size;
	a->head = b;
	a->used = 0;
	a->total += size;
	return 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	void *p;

	if (n > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (!n)
		n = ARENA_ALIGN;
	if ((!a->head || a->head->size - a->used < n) && arena_grow(a, n) < 0)
		return NULL;
	p = a->head->data + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *q;

	n = strnlen(s, n);
	if (n == SIZE_MAX)
		return NULL;
	q = arena_alloc(a, n + 1);
	if (q)
		memcpy(q, s, n);
	return q;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, SIZE_MAX - 1);
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *q;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	q = arena_alloc(a, (size_t)n + 1);
	if (!q)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(q, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return q;
}

void arena_free_all(struct arena *a)
{
	struct arena_blk *b = a->head, *prev;
	size_t limit = a->limit;

	while (b) {
		prev = b->prev;
		free(b);
		b = prev;
	}
	arena_init(a);
	a->limit = limit;
}
