/*
 * hash: FNV-1a 64, the hash of cpqd's in-memory hash tables.
 *
 * Owns: the one non-cryptographic hash (Fowler-Noll-Vo 1a, 64 bits:
 * offset basis 14695981039346656037, prime 1099511628211, as published
 * by its authors). Does not own: the tables (each module keeps its own
 * probing and sizing), anything stored or sent (use digest's SHA-256 for
 * those: FNV values may change between versions and are never persisted).
 *
 * Pure functions; share freely.
 */
#ifndef CPQD_HASH_H
#define CPQD_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_FNV1A64_BASIS 14695981039346656037ull
#define HASH_FNV1A64_PRIME 1099511628211ull

/* Continues the FNV-1a 64 hash h (HASH_FNV1A64_BASIS for none yet) over
 * the bytes s[0..n): hashing "ab" then "c" gives the hash of "abc". */
static inline uint64_t hash_fnv1a64_add(uint64_t h, const void *s, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * HASH_FNV1A64_PRIME;
    return h;
}

/* FNV-1a 64 of the bytes s[0..n) (no NUL needed). */
static inline uint64_t hash_fnv1a64(const void *s, size_t n)
{
    return hash_fnv1a64_add(HASH_FNV1A64_BASIS, s, n);
}

/* FNV-1a 64 of the NUL-terminated string s (its NUL excluded). */
static inline uint64_t hash_fnv1a64_str(const char *s)
{
    return hash_fnv1a64(s, strlen(s));
}

#endif
