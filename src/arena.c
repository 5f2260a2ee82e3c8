/*
 * arena: chunked bump allocator (see include/cpqd/arena.h).
 * Invariant: head is the chunk being filled; used <= cap in every chunk.
 */
#include "cpqd/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    alignas(max_align_t) unsigned char data[];
} chunk;

struct arena {
    chunk *head;
    size_t chunk_size;
    size_t bytes; /* malloc'ed in chunks */
};

arena *arena_new(size_t chunk_size)
{
    arena *a = calloc(1, sizeof(*a));
    if (a)
        a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
    return a;
}

static void chunks_free(chunk *c)
{
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
}

void arena_free(arena *a)
{
    if (!a)
        return;
    chunks_free(a->head);
    free(a);
}

void arena_reset(arena *a)
{
    if (!a || !a->head)
        return;
    chunk *last = a->head;
    chunk *rest = NULL;
    /* keep the oldest (first allocated) chunk: it is the list's tail */
    while (last->next) {
        chunk *n = last->next;
        last->next = rest;
        rest = last;
        last = n;
    }
    chunks_free(rest);
    a->bytes = sizeof(chunk) + last->cap;
    last->used = 0;
    a->head = last;
}

/* size bytes aligned to align (a power of two, at most max_align_t's). */
static void *arena_take(arena *a, size_t size, size_t align)
{
    if (size > SIZE_MAX - 2 * alignof(max_align_t))
        return NULL;
    chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->cap || c->cap - at < size) {
        size_t cap = size > a->chunk_size ? size : a->chunk_size;
        c = malloc(sizeof(chunk) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
        a->bytes += sizeof(chunk) + cap;
        at = 0;
    }
    c->used = at + size;
    return c->data + at;
}

void *arena_alloc(arena *a, size_t size)
{
    void *p = arena_take(a, size ? size : 1, alignof(max_align_t));
    if (p)
        memset(p, 0, size);
    return p;
}

void *arena_calloc(arena *a, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    return arena_alloc(a, total);
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = arena_take(a, len + 1, 1); /* strings need no alignment */
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

size_t arena_bytes(const arena *a)
{
    return a ? a->bytes : 0;
}
