/*
 * test_arena: the bump allocator (include/cpqd/arena.h), in particular
 * arena_recycle, which keeps a worker's chunks for its next request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpqd/arena.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Fills an arena of 1 KiB chunks with n blocks of size bytes, each
 * zeroed on arrival and then written with its own byte. */
static void fill(arena *a, size_t n, size_t size, unsigned char **out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = arena_alloc(a, size);
        assert_non_null(p);
        for (size_t k = 0; k < size; k++)
            assert_int_equal(p[k], 0); /* zeroed, even in a kept chunk */
        memset(p, (int)(i + 1), size);
        if (out)
            out[i] = p;
    }
}

static void test_arena_recycle_reuses_chunks(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    assert_non_null(a);
    unsigned char *first[8], *again[8];
    fill(a, 8, 600, first); /* one chunk per block: 8 chunks of 1 KiB */
    size_t bytes = arena_bytes(a);
    assert_true(bytes >= 8 * 1024);
    arena_recycle(a, (size_t)1 << 20);
    assert_int_equal(arena_bytes(a), bytes); /* all kept */
    fill(a, 8, 600, again);                   /* the same work again */
    assert_int_equal(arena_bytes(a), bytes);  /* no new chunk */
    for (size_t i = 0; i < 8; i++) {          /* the kept chunks, each once */
        bool found = false;
        for (size_t k = 0; k < 8 && !found; k++)
            found = again[i] == first[k];
        assert_true(found);
        for (size_t j = 0; j < i; j++)
            assert_ptr_not_equal(again[i], again[j]);
    }
    /* more than was kept: new chunks beside the kept ones */
    fill(a, 2, 600, NULL);
    assert_true(arena_bytes(a) > bytes);
    arena_free(a);
}

static void test_arena_recycle_keeps_at_most_keep(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    assert_non_null(a);
    fill(a, 8, 600, NULL);
    size_t bytes = arena_bytes(a), per = bytes / 8;
    arena_recycle(a, 3 * per); /* three chunks kept, five freed */
    assert_int_equal(arena_bytes(a), 3 * per);
    arena_recycle(a, 0); /* nothing kept */
    assert_int_equal(arena_bytes(a), 0);
    fill(a, 1, 600, NULL); /* still usable */
    assert_int_equal(arena_bytes(a), per);
    arena_free(a);
}

/* A block larger than the chunk size gets a chunk of its own; kept, it
 * serves a later large block, and a small one too. */
static void test_arena_recycle_large_blocks(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    assert_non_null(a);
    unsigned char *big = arena_alloc(a, 5000);
    assert_non_null(big);
    size_t bytes = arena_bytes(a);
    arena_recycle(a, (size_t)1 << 20);
    unsigned char *small = arena_alloc(a, 100);
    assert_ptr_equal(small, big); /* the kept chunk, first fit */
    unsigned char *big2 = arena_alloc(a, 5000); /* does not fit what is left */
    assert_non_null(big2);
    assert_true(arena_bytes(a) > bytes);
    /* arena_reset drops kept chunks too: only the oldest chunk remains */
    arena_recycle(a, (size_t)1 << 20);
    arena_reset(a);
    assert_int_equal(arena_bytes(a), 0);
    assert_non_null(arena_alloc(a, 10));
    arena_free(a);
}

/* arena_adopt: what one arena allocated lives on in the other (freed
 * with it: ASan sees a leak or a double free otherwise), whose current
 * chunk goes on being filled; adopting into an empty arena works too. */
static void test_arena_adopt_moves_blocks(void **state)
{
    (void)state;
    arena *a = arena_new(1024), *b = arena_new(1024), *c = arena_new(1024);
    assert_true(a && b && c);
    unsigned char *pa[3], *pb[5];
    fill(a, 3, 100, pa);
    fill(b, 5, 700, pb);
    size_t before = arena_bytes(a), bb = arena_bytes(b);
    unsigned char *tail = arena_alloc(a, 8); /* still in a's current chunk */
    arena_adopt(a, b);
    assert_int_equal(arena_bytes(a), before + bb);
    unsigned char *next = arena_alloc(a, 8);
    assert_ptr_equal(next, tail + 16); /* the same chunk, one aligned block on */
    for (size_t i = 0; i < 5; i++)
        for (size_t k = 0; k < 700; k++)
            assert_int_equal(pb[i][k], i + 1);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pa[i][99], i + 1);
    arena_adopt(c, a);
    assert_int_equal(arena_bytes(c), before + bb);
    assert_int_equal(pb[4][0], 5);
    arena_adopt(c, NULL);
    arena_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_recycle_reuses_chunks),
        cmocka_unit_test(test_arena_recycle_keeps_at_most_keep),
        cmocka_unit_test(test_arena_recycle_large_blocks),
        cmocka_unit_test(test_arena_adopt_moves_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
