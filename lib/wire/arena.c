/* The bump allocator: see arena.h. */
#include "wire/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct smtpi_arena_chunk {
	struct smtpi_arena_chunk *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

void smtpi_arena_init(struct smtpi_arena *a, size_t first_size)
{
	a->head = NULL;
	a->first_size = first_size;
}

static size_t align_up(size_t n)
{
	size_t al = alignof(max_align_t);
	return (n + al - 1) & ~(al - 1);
}

void *smtpi_arena_alloc(struct smtpi_arena *a, size_t n)
{
	n = align_up(n ? n : 1);
	struct smtpi_arena_chunk *c = a->head;
	if (c && c->size - c->used >= n) {
		void *p = c->data + c->used;
		c->used += n;
		return p;
	}
	/* each new chunk doubles the arena, so a large report takes few of them */
	size_t size = c ? 2 * c->size : a->first_size;
	if (size < n)
		size = n;
	if (size > SIZE_MAX - sizeof *c)
		return NULL;
	struct smtpi_arena_chunk *nc = malloc(sizeof *nc + size);
	if (!nc)
		return NULL;
	nc->next = c;
	nc->size = size;
	nc->used = n;
	a->head = nc;
	return nc->data;
}

char *smtpi_arena_strndup(struct smtpi_arena *a, const char *s, size_t n)
{
	char *p = smtpi_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void smtpi_arena_reset(struct smtpi_arena *a)
{
	struct smtpi_arena_chunk *c = a->head, *keep = NULL;
	while (c) {
		struct smtpi_arena_chunk *next = c->next;
		if (!next && c->size == a->first_size) {
			keep = c;
			keep->used = 0;
		} else {
			free(c);
		}
		c = next;
	}
	a->head = keep;
}

void smtpi_arena_free(struct smtpi_arena *a)
{
	while (a->head) {
		struct smtpi_arena_chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}
