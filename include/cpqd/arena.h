/*
 * arena: bump allocation for data that dies together (one request, one
 * catalog snapshot).
 *
 * Ownership: everything allocated from an arena is freed by arena_free /
 * arena_reset; never free() it. Per-owner: an arena is never shared
 * between threads while it is being allocated from.
 */
#ifndef CPQD_ARENA_H
#define CPQD_ARENA_H

#include <stddef.h>

typedef struct arena arena; /* opaque */

/* New arena whose chunks are at least chunk_size bytes; NULL on ENOMEM. */
arena *arena_new(size_t chunk_size);
/* Frees the arena and all its memory; NULL is a no-op. */
void arena_free(arena *a);
/* Frees all allocations but keeps the first chunk for reuse. */
void arena_reset(arena *a);
/* Frees all allocations; keeps chunks of up to keep bytes in all (the
 * rest are freed) for the allocations that follow, so that an arena used
 * again for work of the same size neither mallocs nor touches new pages. */
void arena_recycle(arena *a, size_t keep);
/* Moves everything allocated from `from` into a (freed with a from now
 * on) and frees `from` itself; NULL is a no-op. Neither arena may be in
 * use by another thread. */
void arena_adopt(arena *a, arena *from);
/* size bytes aligned for any type; NULL on ENOMEM or size overflow.
 * arena_alloc(a, 0) returns a valid unique pointer. Memory is zeroed. */
void *arena_alloc(arena *a, size_t size);
/* n * size bytes, NULL if the product overflows. */
void *arena_calloc(arena *a, size_t n, size_t size);
/* Copy of s[0..len) with a NUL after it. */
char *arena_strndup(arena *a, const char *s, size_t len);
char *arena_strdup(arena *a, const char *s);
/* Total bytes obtained from malloc (for memory reports). */
size_t arena_bytes(const arena *a);

#endif
