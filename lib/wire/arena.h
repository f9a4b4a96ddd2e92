/* A bump allocator for objects that live and die together (a report's steps, texts
   and recipients): one allocation for the common case, more chunks only when it
   grows, everything freed at once. Memory handed out never moves. */
#ifndef SMTPI_ARENA_H
#define SMTPI_ARENA_H

#include <stddef.h>

struct smtpi_arena_chunk;

struct smtpi_arena {
	struct smtpi_arena_chunk *head; /* the newest chunk; older ones follow */
	size_t first_size;              /* size of the first chunk's payload */
};

/* An empty arena whose first chunk (allocated on first use) holds first_size
   octets. No allocation here. */
void smtpi_arena_init(struct smtpi_arena *a, size_t first_size);
/* n octets aligned for any object, or NULL when out of memory. */
void *smtpi_arena_alloc(struct smtpi_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL when out of memory. */
char *smtpi_arena_strndup(struct smtpi_arena *a, const char *s, size_t n);
/* Forgets everything; the first chunk is kept for reuse (so a message sent again
   allocates nothing), the others are freed. */
void smtpi_arena_reset(struct smtpi_arena *a);
/* Frees every chunk. */
void smtpi_arena_free(struct smtpi_arena *a);

#endif
