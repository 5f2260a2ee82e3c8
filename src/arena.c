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
    chunk *spare; /* emptied chunks kept by arena_recycle, taken before malloc */
    size_t chunk_size;
    size_t bytes; /* malloc'ed in chunks (spare ones included) */
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
    chunks_free(a->spare);
    free(a);
}

void arena_recycle(arena *a, size_t keep)
{
    if (!a)
        return;
    /* the chunks kept before, then those in use: kept while keep lasts */
    chunk *lists[2] = {a->spare, a->head};
    a->spare = a->head = NULL;
    for (int i = 0; i < 2; i++) {
        for (chunk *c = lists[i], *next; c; c = next) {
            next = c->next;
            size_t sz = sizeof(chunk) + c->cap;
            if (sz <= keep) {
                keep -= sz;
                c->used = 0;
                c->next = a->spare;
                a->spare = c;
            } else {
                a->bytes -= sz;
                free(c);
            }
        }
    }
}

void arena_reset(arena *a)
{
    if (!a)
        return;
    chunks_free(a->spare);
    a->spare = NULL;
    if (!a->head) {
        a->bytes = 0;
        return;
    }
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

void arena_adopt(arena *a, arena *from)
{
    if (!from)
        return;
    chunks_free(from->spare);
    chunk *first = from->head;
    if (first) {
        chunk *last = first;
        while (last->next)
            last = last->next;
        /* behind the chunk being filled, which goes on being filled */
        if (a->head) {
            last->next = a->head->next;
            a->head->next = first;
        } else {
            a->head = first;
        }
        for (chunk *c = first; c != last->next; c = c->next)
            a->bytes += sizeof(chunk) + c->cap;
    }
    free(from);
}

/* size bytes aligned to align (a power of two, at most max_align_t's). */
static void *arena_take(arena *a, size_t size, size_t align)
{
    if (size > SIZE_MAX - 2 * alignof(max_align_t))
        return NULL;
    chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->cap || c->cap - at < size) {
        /* a kept chunk that holds it, else a new one */
        chunk **pp = &a->spare;
        while (*pp && (*pp)->cap < size)
            pp = &(*pp)->next;
        if (*pp) {
            c = *pp;
            *pp = c->next;
        } else {
            size_t cap = size > a->chunk_size ? size : a->chunk_size;
            c = malloc(sizeof(chunk) + cap);
            if (!c)
                return NULL;
            c->cap = cap;
            a->bytes += sizeof(chunk) + cap;
        }
        c->used = 0;
        c->next = a->head;
        a->head = c;
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
