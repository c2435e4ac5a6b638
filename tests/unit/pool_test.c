/* tests/unit/pool_test.c: the fixed-size pool. Init arguments, the seed's worked example block
 * for block, every status carve_pool_free returns (and that the pool is unchanged after each),
 * the deferred in-use slot (the block handed out last, whose bit is not set yet), the hardened
 * links, walk/stats, and a randomized run against a model LIFO stack with the checker after
 * every step. */
#include "carve/pool.h"
#include "carve_test.h"
#include "walk_log.h"
#include "pool_impl.h"

#include <string.h>

static _Alignas(64) unsigned char arena[1 << 16];

static size_t index_of(const carve_pool *p, const void *b) { return ((uintptr_t)b - p->base) / p->block_size; }

START_TEST(init_rejects_bad_arguments)
{
    ck_assert_ptr_null(carve_pool_init(NULL, sizeof arena, 64));
    ck_assert_ptr_null(carve_pool_init(arena, sizeof arena, 0));
    ck_assert_ptr_null(carve_pool_init(arena, sizeof(carve_pool), 64));
    ck_assert_ptr_null(carve_pool_init(arena, sizeof arena, SIZE_MAX));
    ck_assert_ptr_null(carve_pool_init_ex(arena, sizeof arena, 64, 0x80, 0));
    /* The smallest memory that holds one block: header + one bitmap word + alignment + block. */
    size_t need = 0;
    for (size_t n = 1; n < 400 && need == 0; n++)
        if (carve_pool_init(arena, n, 64) != NULL) need = n;
    ck_assert_uint_gt(need, sizeof(carve_pool) + 64);
    carve_pool *p = carve_pool_init(arena, need, 64);
    ck_assert_uint_eq(carve_pool_capacity(p), 1);
    ck_assert_ptr_null(carve_pool_init(arena, need - 1, 64));
}
END_TEST

START_TEST(block_size_rounds_to_pointer_alignment)
{
    carve_pool *p = carve_pool_init(arena + 3, sizeof arena - 3, 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(carve_pool_block_size(p), sizeof(void *));
    p = carve_pool_init(arena, sizeof arena, 13);
    ck_assert_uint_eq(carve_pool_block_size(p), 16);
    void *a = carve_pool_alloc(p);
    ck_assert_uint_eq((uintptr_t)a % 16, 0);
    ck_assert_uint_ge((uintptr_t)a, (uintptr_t)arena);
    ck_assert_uint_le((uintptr_t)a + 16, (uintptr_t)arena + sizeof arena);
}
END_TEST

START_TEST(blocks_come_out_in_order_then_exhaust)
{
    carve_pool *p = carve_pool_init(arena, 4096, 64);
    size_t n = carve_pool_capacity(p);
    ck_assert_uint_gt(n, 50);
    unsigned char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char *b = carve_pool_alloc(p);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(index_of(p, b), i);
        if (prev != NULL) ck_assert_ptr_eq(b, prev + 64);
        prev = b;
        memset(b, 0xAB, 64); /* the whole block is the user's */
    }
    ck_assert_uint_eq(carve_pool_available(p), 0);
    ck_assert_ptr_null(carve_pool_alloc(p));
    ck_assert_ptr_null(carve_pool_alloc(p));
    carve_stats st;
    carve_stats_init(&st);
    carve_pool_stats(p, &st);
    ck_assert_uint_eq(st.failed, 2);
    ck_assert_uint_eq(st.allocs, n);
    ck_assert_uint_eq(carve_pool_check(p), 0);
}
END_TEST

/* Seed 003's connection pool: a, b, c, d = blocks 0..3; free b; free d; e reuses block 3. */
START_TEST(seed_worked_example_block_for_block)
{
    carve_pool *p = carve_pool_init(arena, 14 * 64 + 256, 64);
    ck_assert_uint_ge(carve_pool_capacity(p), 14);
    void *a = carve_pool_alloc(p), *b = carve_pool_alloc(p), *c = carve_pool_alloc(p), *d = carve_pool_alloc(p);
    ck_assert_uint_eq(index_of(p, a), 0);
    ck_assert_uint_eq(index_of(p, b), 1);
    ck_assert_uint_eq(index_of(p, c), 2);
    ck_assert_uint_eq(index_of(p, d), 3);
    ck_assert_ptr_eq(p->head, (void *)(p->base + 4 * 64)); /* free_head now 4 */
    ck_assert_uint_eq(p->slot, (uintptr_t)d);              /* d is live through the slot... */
    ck_assert_uint_eq(p->bits[0], 0x7);                    /* ...a, b, c through their bits */
    ck_assert_int_eq(carve_pool_free(p, b), CARVE_OK);     /* next[1] = 4, head 1 */
    ck_assert_ptr_eq(p->head, b);
    ck_assert_ptr_eq(*(void **)b, (void *)(p->base + 4 * 64));
    ck_assert_int_eq(carve_pool_free(p, d), CARVE_OK);     /* next[3] = 1, head 3 */
    ck_assert_ptr_eq(p->head, d);
    ck_assert_ptr_eq(*(void **)d, b);
    /* the list is 3 -> 1 -> 4 -> 5 -> ... */
    void *e = carve_pool_alloc(p);
    ck_assert_ptr_eq(e, d);
    ck_assert_uint_eq(index_of(p, e), 3);
    ck_assert_ptr_eq(p->head, b);
    ck_assert_uint_eq(carve_pool_check(p), 0);
    ck_assert_uint_eq(index_of(p, carve_pool_alloc(p)), 1);
    ck_assert_uint_eq(index_of(p, carve_pool_alloc(p)), 4);
    ck_assert_uint_eq(index_of(p, carve_pool_alloc(p)), 5);
    (void)a;
    (void)c;
    ck_assert_uint_eq(carve_pool_check(p), 0);
}
END_TEST

static void snapshot(const carve_pool *p, carve_stats *st)
{
    carve_stats_init(st);
    carve_pool_stats(p, st);
}

START_TEST(bad_frees_get_a_status_and_change_nothing)
{
    unsigned flags = (unsigned)_i; /* plain, then hardened */
    carve_pool *p = carve_pool_init_ex(arena, 8192, 48, flags, 0);
    unsigned char *a = carve_pool_alloc(p), *b = carve_pool_alloc(p);
    ck_assert_int_eq(carve_pool_free(p, b), CARVE_OK);
    carve_stats before, after;
    snapshot(p, &before);
    void *head = p->head;

    ck_assert_int_eq(carve_pool_free(p, b), CARVE_EDOUBLEFREE);
    ck_assert_int_eq(carve_pool_free(p, a + 8), CARVE_EFOREIGN);      /* inside a block */
    ck_assert_int_eq(carve_pool_free(p, a - 48), CARVE_EFOREIGN);     /* before block 0 */
    ck_assert_int_eq(carve_pool_free(p, arena + 8192), CARVE_EFOREIGN); /* past the end */
    ck_assert_int_eq(carve_pool_free(p, (void *)p), CARVE_EFOREIGN);  /* the control data */
    int local;
    ck_assert_int_eq(carve_pool_free(p, &local), CARVE_EFOREIGN);
    ck_assert_int_eq(carve_pool_free(p, NULL), CARVE_OK);

    snapshot(p, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_ptr_eq(p->head, head);
    ck_assert_uint_eq(carve_pool_check(p), 0);
    ck_assert_ptr_eq(carve_pool_alloc(p), b);
    ck_assert_uint_eq(carve_pool_usable_size(p, a), 48);
    ck_assert_uint_eq(carve_pool_usable_size(p, a + 1), 0);
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK);
    ck_assert_uint_eq(carve_pool_usable_size(p, a), 0);
}
END_TEST

/* The block handed out last is live through the slot, its bit still clear: every view and
 * every status treats it exactly like a block whose bit is set. */
START_TEST(the_slot_block_is_in_use_everywhere)
{
    unsigned flags = (unsigned)_i; /* plain, then hardened */
    carve_pool *p = carve_pool_init_ex(arena, 8192, 64, flags, 0);
    unsigned char *a = carve_pool_alloc(p);
    ck_assert_uint_eq(p->slot, (uintptr_t)a);
    ck_assert_uint_eq(p->bits[0], 0); /* a pair never writes the bitmap */
    ck_assert_uint_eq(carve_pool_usable_size(p, a), 64);
    ck_assert_uint_eq(carve_pool_available(p), carve_pool_capacity(p) - 1);
    walk_log w = {0};
    carve_pool_walk(p, walk_log_block, &w);
    ck_assert_uint_eq(w.used, 1);
    ck_assert_uint_eq(carve_pool_check(p), 0);

    /* free of the slot block empties the slot and leaves the bitmap alone */
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK);
    ck_assert_uint_eq(p->slot & 1, 1); /* an empty slot's tag */
    ck_assert_uint_eq(p->bits[0], 0);
    carve_stats before, after;
    snapshot(p, &before);
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_EDOUBLEFREE);
    snapshot(p, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_uint_eq(before.allocs, 1);
    ck_assert_uint_eq(before.frees, 1);

    /* the next alloc sets the previous block's bit and takes the slot */
    a = carve_pool_alloc(p);
    unsigned char *b = carve_pool_alloc(p), *c = carve_pool_alloc(p);
    ck_assert_uint_eq(index_of(p, c), 2);
    ck_assert_uint_eq(p->slot, (uintptr_t)c);
    ck_assert_uint_eq(p->bits[0], 0x3);
    ck_assert_uint_eq(carve_pool_check(p), 0);
    /* a block whose bit is set: the bitmap path; the slot stays */
    ck_assert_int_eq(carve_pool_free(p, b), CARVE_OK);
    ck_assert_uint_eq(p->bits[0], 0x1);
    ck_assert_uint_eq(p->slot, (uintptr_t)c);
    ck_assert_int_eq(carve_pool_free(p, b), CARVE_EDOUBLEFREE);
    ck_assert_uint_eq(carve_pool_usable_size(p, b), 0);
    ck_assert_uint_eq(carve_pool_usable_size(p, c), 64);
    /* the slot block, then a double free of it */
    snapshot(p, &before);
    ck_assert_int_eq(carve_pool_free(p, c), CARVE_OK);
    ck_assert_int_eq(carve_pool_free(p, c), CARVE_EDOUBLEFREE);
    snapshot(p, &after);
    ck_assert_uint_eq(after.frees, before.frees + 1);
    ck_assert_uint_eq(after.used, before.used - 64);
    ck_assert_uint_eq(carve_pool_check(p), 0);
    /* LIFO holds across both paths: c was freed last */
    ck_assert_ptr_eq(carve_pool_alloc(p), c);
    ck_assert_ptr_eq(carve_pool_alloc(p), b);
    snapshot(p, &after);
    ck_assert_uint_eq(after.allocs, 6);
    ck_assert_uint_eq(after.frees, 3);
    ck_assert_uint_eq(after.peak_requested, 3 * 64);
    ck_assert_uint_eq(carve_pool_check(p), 0);
}
END_TEST

/* The checker sees a slot that contradicts the bitmap or the counters. */
START_TEST(check_catches_a_bad_slot_or_counter)
{
    carve_pool *p = carve_pool_init(arena, 8192, 64);
    void *a = carve_pool_alloc(p), *b = carve_pool_alloc(p);
    (void)a;
    (void)b;
    ck_assert_uint_eq(carve_pool_check(p), 0);
    uintptr_t slot = p->slot;
    p->slot = (uintptr_t)a; /* block 0's bit is set: counted twice */
    ck_assert_uint_gt(carve_pool_check(p), 0);
    p->slot = p->base + carve_pool_capacity(p) * p->block_size; /* past the last block */
    ck_assert_uint_gt(carve_pool_check(p), 0);
    p->slot = slot + 8; /* inside a block */
    ck_assert_uint_gt(carve_pool_check(p), 0);
    p->slot = (uintptr_t)a + 1; /* an empty slot's tag naming a live block */
    ck_assert_uint_gt(carve_pool_check(p), 0);
    p->slot = slot;
    p->marks++;
    ck_assert_uint_gt(carve_pool_check(p), 0);
    p->marks--;
    p->peak_marks = 0;
    ck_assert_uint_gt(carve_pool_check(p), 0);
    p->peak_marks = 1;
    ck_assert_uint_eq(carve_pool_check(p), 0);
}
END_TEST

/* An empty slot holds an odd tag, X + 1 after the free of X on a sound plain pool: alloc pops X
 * without testing it. A pointer equal to the tag is foreign and changes nothing; a bitmap free
 * after the tag (head no longer X) sends alloc down the full path, LIFO as ever. */
START_TEST(empty_slot_tag_is_foreign_and_keeps_lifo)
{
    carve_pool *p = carve_pool_init(arena, 8192, 64);
    unsigned char *a = carve_pool_alloc(p), *b = carve_pool_alloc(p);
    ck_assert_int_eq(carve_pool_free(p, b), CARVE_OK); /* the slot block */
    ck_assert_uint_eq(p->slot, (uintptr_t)b + 1);
    carve_stats before, after;
    snapshot(p, &before);
    void *head = p->head;
    ck_assert_int_eq(carve_pool_free(p, b + 1), CARVE_EFOREIGN);
    ck_assert_int_eq(carve_pool_free_inline(p, b + 1), CARVE_EFOREIGN);
    ck_assert_int_eq(carve_pool_free_cold(p, b + 1), CARVE_EFOREIGN);
    snapshot(p, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_ptr_eq(p->head, head);
    ck_assert_uint_eq(p->slot, (uintptr_t)b + 1);
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK); /* bitmap path: head a, tag still b + 1 */
    ck_assert_ptr_eq(carve_pool_alloc(p), a);
    ck_assert_ptr_eq(carve_pool_alloc_inline(p), b);
    ck_assert_uint_eq(carve_pool_check(p), 0);
}
END_TEST

/* A use-after-free write of a chosen address into a free block's first word. A plain pool
 * follows a forged link inside the pool (it hands a live block out twice: what the hardened
 * option stops) but refuses one outside it, and then stays poisoned. */
START_TEST(plain_pool_follows_a_forged_link_inside_only)
{
    static _Alignas(16) unsigned char target[64];
    carve_pool *p = carve_pool_init(arena, 4096, 64);
    void *a = carve_pool_alloc(p), *b = carve_pool_alloc(p);
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK);
    *(void **)a = b; /* the write after free */
    ck_assert_ptr_eq(carve_pool_alloc(p), a);
    ck_assert_ptr_eq(carve_pool_alloc(p), b); /* b is live and handed out again */

    p = carve_pool_init(arena, 4096, 64);
    b = carve_pool_alloc(p);
    a = carve_pool_alloc(p);
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK);
    *(void **)a = target;
    ck_assert_ptr_eq(carve_pool_alloc(p), a);
    ck_assert_ptr_null(carve_pool_alloc(p)); /* bad head: poisoned */
    ck_assert_uint_gt(carve_pool_check(p), 0);
    /* It fails closed: frees work (the slot block, then a bitmap block), and no later alloc
     * succeeds through any entry point, although the head is then a freed block. */
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK);
    ck_assert_ptr_null(carve_pool_alloc(p));
    ck_assert_ptr_null(carve_pool_alloc_inline(p));
    ck_assert_int_eq(carve_pool_free_inline(p, b), CARVE_OK);
    ck_assert_int_eq(carve_pool_free_inline(p, b), CARVE_EDOUBLEFREE);
    ck_assert_ptr_null(carve_pool_alloc_inline(p));
    ck_assert_ptr_null(carve_pool_alloc(p));
    carve_stats st;
    snapshot(p, &st);
    ck_assert_uint_eq(st.failed, 5);
    ck_assert_uint_eq(st.frees, 3);
    ck_assert_uint_gt(carve_pool_check(p), 0);
}
END_TEST

START_TEST(hardened_pool_refuses_a_forged_link)
{
    static _Alignas(16) unsigned char target[64];
    carve_pool *p = carve_pool_init_ex(arena, 4096, 64, CARVE_POOL_HARDENED, 0x1234567890abcdefull);
    void *a = carve_pool_alloc(p);
    void *b = carve_pool_alloc(p);
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK);
    ck_assert_ptr_ne(*(void **)a, (void *)(p->base + 2 * 64)); /* stored encoded, not raw */
    ck_assert_uint_eq(carve_pool_check(p), 0);
    *(void **)a = target;
    ck_assert_uint_gt(carve_pool_check(p), 0); /* the checker sees the bad link */
    carve_stats st;
    snapshot(p, &st);
    uint64_t failed = st.failed;
    ck_assert_ptr_null(carve_pool_alloc(p));
    ck_assert_ptr_null(carve_pool_alloc(p)); /* poisoned: stays refused */
    snapshot(p, &st);
    ck_assert_uint_eq(st.failed, failed + 2);
    ck_assert_uint_gt(carve_pool_check(p), 0);
    /* frees still validate */
    ck_assert_int_eq(carve_pool_free(p, b), CARVE_OK);
    ck_assert_int_eq(carve_pool_free(p, b), CARVE_EDOUBLEFREE);
}
END_TEST

/* Forge a correctly encoded link to a live block: still refused, whether the block is live
 * through its bit (_i = 0) or through the slot (_i = 1, its bit clear). */
START_TEST(hardened_pool_refuses_a_link_to_a_live_block)
{
    carve_pool *p = carve_pool_init_ex(arena, 4096, 64, CARVE_POOL_HARDENED, 0);
    void *a = carve_pool_alloc(p), *b = carve_pool_alloc(p), *c = carve_pool_alloc(p);
    void *target = _i == 0 ? b : c;
    ck_assert_uint_eq(p->slot, (uintptr_t)c);
    ck_assert_int_eq(carve_pool_free(p, a), CARVE_OK);
    *(void **)a = (void *)((uintptr_t)target ^ p->secret ^ (uintptr_t)a);
    ck_assert_uint_gt(carve_pool_check(p), 0);
    uint64_t any = _i; /* the inline path and the call refuse it alike */
    ck_assert_ptr_null(any ? carve_pool_alloc_inline(p) : carve_pool_alloc(p));
    ck_assert_ptr_null(carve_pool_alloc(p)); /* poisoned */
    ck_assert_int_eq(carve_pool_free(p, c), CARVE_OK);
    ck_assert_int_eq(carve_pool_free(p, c), CARVE_EDOUBLEFREE);
}
END_TEST


START_TEST(walk_and_stats_agree)
{
    carve_pool *p = carve_pool_init(arena, 10000, 100);
    void *x[10];
    for (int i = 0; i < 10; i++) x[i] = carve_pool_alloc(p);
    for (int i = 0; i < 10; i += 3) ck_assert_int_eq(carve_pool_free(p, x[i]), CARVE_OK);
    walk_log w = {0};
    carve_pool_walk(p, walk_log_block, &w);
    ck_assert_uint_eq(w.n, carve_pool_capacity(p));
    ck_assert_uint_eq(w.used, 6);
    carve_stats st;
    snapshot(p, &st);
    ck_assert_uint_eq(st.capacity, 10000);
    ck_assert_uint_eq(st.used, 6 * 104);
    ck_assert_uint_eq(st.used, w.used_bytes);
    ck_assert_uint_eq(st.free, (carve_pool_capacity(p) - 6) * 104);
    ck_assert_uint_eq(st.peak_requested, 10 * 104);
    ck_assert_uint_eq(st.allocs, 10);
    ck_assert_uint_eq(st.frees, 4);
    ck_assert_uint_eq(st.largest_free, 104);
    st.version = 99;
    carve_pool_stats(p, &st);
    ck_assert_uint_eq(st.allocs, 10); /* wrong version: untouched */
}
END_TEST

/* Random allocs and frees (and bad frees) against a model: the free list as a stack of
 * indices, and a live set. The checker runs after every step. Each op goes through one of the
 * three equivalent entry points at random (the call, the inline fast path, the cold path). */
static void *any_alloc(test_rng *rng, carve_pool *p)
{
    uint64_t k = test_rng_below(rng, 3);
    return k == 0 ? carve_pool_alloc(p) : k == 1 ? carve_pool_alloc_inline(p) : carve_pool_alloc_cold(p);
}
static carve_status any_free(test_rng *rng, carve_pool *p, void *b)
{
    uint64_t k = test_rng_below(rng, 3);
    return k == 0 ? carve_pool_free(p, b) : k == 1 ? carve_pool_free_inline(p, b) : carve_pool_free_cold(p, b);
}

START_TEST(randomized_against_model)
{
    unsigned flags = (unsigned)_i;
    uint64_t seed = test_seed() + _i;
    test_rng rng = {seed};
    size_t bs = (size_t)test_rng_range(&rng, 1, 200);
    carve_pool *p = carve_pool_init_ex(arena, (size_t)test_rng_range(&rng, 2000, sizeof arena), bs, flags, 0);
    if (p == NULL) CARVE_FAILF(seed, "init failed");
    size_t n = carve_pool_capacity(p);
    size_t *stack = calloc(n, sizeof *stack), top = 0; /* top of stack = next alloc */
    bool *live = calloc(n, sizeof *live);
    for (size_t i = 0; i < n; i++) stack[i] = n - 1 - i;
    top = n;
    size_t steps = 20000 * test_scale(), last = SIZE_MAX, peak = 0;
    uint64_t allocs = 0, frees = 0, failed = 0;
    for (size_t s = 0; s < steps; s++) {
        uint64_t op = test_rng_below(&rng, 20);
        if (op < 9) {
            void *b = any_alloc(&rng, p);
            if (top == 0) {
                failed++;
                if (b != NULL) CARVE_FAILF(seed, "step %zu: alloc from an empty pool", s);
            } else {
                size_t want = stack[--top];
                if (b == NULL || index_of(p, b) != want)
                    CARVE_FAILF(seed, "step %zu: alloc gave %p, model wants block %zu", s, b, want);
                live[want] = true;
                last = want;
                allocs++;
                if (n - top > peak) peak = n - top;
                memset(b, (int)s, p->block_size);
            }
        } else if (op < 17) {
            /* a random block, or (often) the one handed out last, which the pool keeps in its
             * slot; either may be free already: a double free */
            size_t i = op < 13 || last == SIZE_MAX ? (size_t)test_rng_below(&rng, n) : last;
            carve_status st = any_free(&rng, p, (void *)(p->base + i * p->block_size));
            carve_status want = live[i] ? CARVE_OK : CARVE_EDOUBLEFREE;
            if (st != want) CARVE_FAILF(seed, "step %zu: free block %zu gave %d, want %d", s, i, st, want);
            if (live[i]) {
                live[i] = false;
                stack[top++] = i;
                frees++;
            }
        } else {
            uintptr_t a = p->base + (uintptr_t)test_rng_below(&rng, p->span + 64);
            if (op == 19 && (p->slot & 1) != 0) a = p->slot; /* an empty slot's tag (odd): foreign */
            size_t i = (a - p->base) / p->block_size;
            bool start = (a - p->base) % p->block_size == 0 && i < n;
            if (!start || !live[i]) {
                carve_status st = any_free(&rng, p, (void *)a);
                carve_status want = start ? CARVE_EDOUBLEFREE : CARVE_EFOREIGN;
                if (st != want) CARVE_FAILF(seed, "step %zu: bad free %#lx gave %d, want %d", s, (unsigned long)a, st, want);
            }
        }
        size_t bad = carve_pool_check(p);
        if (bad != 0) CARVE_FAILF(seed, "step %zu: check found %zu violations", s, bad);
        if (carve_pool_available(p) != top) CARVE_FAILF(seed, "step %zu: available %zu, model %zu", s, carve_pool_available(p), top);
        carve_stats st;
        carve_stats_init(&st);
        carve_pool_stats(p, &st);
        if (st.allocs != allocs || st.frees != frees || st.failed != failed || st.used != (n - top) * p->block_size ||
            st.peak_requested != peak * p->block_size)
            CARVE_FAILF(seed, "step %zu: stats allocs %llu frees %llu failed %llu peak %zu, model %llu %llu %llu %zu", s,
                        (unsigned long long)st.allocs, (unsigned long long)st.frees, (unsigned long long)st.failed,
                        (size_t)st.peak_requested, (unsigned long long)allocs, (unsigned long long)frees,
                        (unsigned long long)failed, peak * p->block_size);
    }
    free(stack);
    free(live);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_add_test(tc, init_rejects_bad_arguments);
    tcase_add_test(tc, block_size_rounds_to_pointer_alignment);
    tcase_add_test(tc, blocks_come_out_in_order_then_exhaust);
    tcase_add_test(tc, seed_worked_example_block_for_block);
    tcase_add_loop_test(tc, bad_frees_get_a_status_and_change_nothing, 0, 2);
    tcase_add_loop_test(tc, the_slot_block_is_in_use_everywhere, 0, 2);
    tcase_add_test(tc, check_catches_a_bad_slot_or_counter);
    tcase_add_test(tc, empty_slot_tag_is_foreign_and_keeps_lifo);
    tcase_add_test(tc, plain_pool_follows_a_forged_link_inside_only);
    tcase_add_test(tc, hardened_pool_refuses_a_forged_link);
    tcase_add_loop_test(tc, hardened_pool_refuses_a_link_to_a_live_block, 0, 2);
    tcase_add_test(tc, walk_and_stats_agree);
    tcase_add_loop_test(tc, randomized_against_model, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(pool_suite)
