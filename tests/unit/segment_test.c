/*
 * tests/unit/segment_test.c: the segment allocator against seed 004, section by section (the
 * configuration rules, the block structure, the statuses, alloc and free with each of their
 * checks), the seed's figures (49 cells, 536 bytes), check/walk/stats/rebuild, and a randomized
 * model test against a reference bitmap with carve_segment_check after every operation.
 */
#include "carve/segment.h"
#include "carve_test.h"
#include "segment_layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct fixture {
    carve_segment *s;
    void *meta;
    size_t bytes;
} fixture;

static carve_segment_config config(uint32_t begin, uint32_t end, uint32_t block, uint32_t max)
{
    return (carve_segment_config){.index_begin = begin, .index_end = end, .block_size = block, .max_size = max};
}

static fixture make(carve_segment_config cfg)
{
    fixture f = {0};
    f.bytes = carve_segment_footprint(&cfg);
    ck_assert_uint_gt(f.bytes, 0);
    f.meta = malloc(f.bytes);
    ck_assert_ptr_nonnull(f.meta);
    f.s = carve_segment_init(f.meta, f.bytes, &cfg);
    ck_assert_ptr_eq(f.s, f.meta);
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    return f;
}

static void drop(fixture *f) { free(f->meta); }

static carve_stats stats_of(const carve_segment *s)
{
    carve_stats st;
    carve_stats_init(&st);
    carve_segment_stats(s, &st);
    return st;
}

/* A rejected config: footprint 0, init NULL, and not one byte of meta written. */
static void assert_rejected(carve_segment_config cfg)
{
    static _Alignas(8) unsigned char meta[1 << 16];
    memset(meta, 0xAB, sizeof meta);
    ck_assert_uint_eq(carve_segment_footprint(&cfg), 0);
    ck_assert_ptr_null(carve_segment_init(meta, sizeof meta, &cfg));
    for (size_t i = 0; i < sizeof meta; i++)
        if (meta[i] != 0xAB) ck_abort_msg("a rejected init wrote byte %zu", i);
}

static void assert_accepted(carve_segment_config cfg)
{
    fixture f = make(cfg);
    drop(&f);
}

/* ---- 1. the configuration rules ------------------------------------------------------------- */

START_TEST(rule_max_size_in_1_64)
{
    assert_rejected(config(0, 4096, 4096, 0));
    assert_rejected(config(0, 4096, 4096, 65));
    assert_rejected(config(0, 4096, 4096, 1000));
    assert_accepted(config(0, 4096, 4096, 1));
    assert_accepted(config(0, 4096, 4096, 64));
}
END_TEST

START_TEST(rule_block_size_multiple_of_64)
{
    assert_rejected(config(0, 4096, 0, 8));
    assert_rejected(config(0, 4096, 100, 8));
    assert_rejected(config(0, 4096, 32, 8));
    assert_rejected(config(0, 4096, 4095, 8));
    assert_accepted(config(0, 4096, 64, 8));
    assert_accepted(config(0, 4096 * 3, 192, 8));
}
END_TEST

START_TEST(rule_block_size_at_most_4096)
{
    assert_rejected(config(0, 8192, 4160, 8));
    assert_rejected(config(0, 8192, 8192, 8));
    assert_accepted(config(0, 8192, 4096, 8));
}
END_TEST

START_TEST(rule_tail_not_in_1_to_max_minus_1)
{
    /* TotalSize % BlockSize not in [1, MaxBufferSize - 1]: the last block holds >= max_size. */
    for (uint32_t tail = 1; tail <= 15; tail++) assert_rejected(config(0, 1024 + tail, 512, 16));
    assert_accepted(config(0, 1024 + 16, 512, 16));   /* a short last block of exactly max_size */
    assert_accepted(config(0, 1024 + 17, 512, 16));
    assert_accepted(config(0, 1024, 512, 16));        /* no short block */
    assert_accepted(config(0, 1024 + 5, 512, 1));     /* max 1: the interval is empty */
    assert_rejected(config(0, 10, 512, 16));          /* one short block below max_size */
    assert_accepted(config(100, 116, 512, 16));       /* one short block of max_size */
}
END_TEST

START_TEST(rule_begin_below_end_and_flags)
{
    assert_rejected(config(100, 100, 64, 8));
    assert_rejected(config(200, 100, 64, 8));
    carve_segment_config cfg = config(0, 4096, 64, 8);
    cfg.flags = 2;
    assert_rejected(cfg);
    ck_assert_uint_eq(carve_segment_footprint(NULL), 0);
    ck_assert_ptr_null(carve_segment_init(&cfg, sizeof cfg, NULL));
    carve_segment_config widest = config(0, UINT32_MAX, 4096, 64);   /* 2^20 blocks */
    carve_segment_config one = config(0, 4096, 4096, 64);
    ck_assert_uint_eq(carve_segment_footprint(&widest) - carve_segment_footprint(&one),
                      ((size_t)(1u << 20) - 1) * carve_segment_block_meta());
}
END_TEST

START_TEST(init_rejects_bad_meta)
{
    carve_segment_config cfg = config(0, 1000, 256, 16);
    size_t need = carve_segment_footprint(&cfg);
    ck_assert_uint_gt(need, 4 * carve_segment_block_meta());
    unsigned char *meta = aligned_alloc(64, (need + 127) / 64 * 64);
    ck_assert_ptr_null(carve_segment_init(NULL, need, &cfg));
    ck_assert_ptr_null(carve_segment_init(meta, need - 1, &cfg));
    ck_assert_ptr_null(carve_segment_init(meta + 4, need, &cfg));
    ck_assert_ptr_nonnull(carve_segment_init(meta + 8, need, &cfg));
    ck_assert_ptr_nonnull(carve_segment_init(meta, need, &cfg));
    free(meta);
}
END_TEST

/* ---- 2. the block structure ----------------------------------------------------------------- */

/* Fill one block of `length` cells with `size` runs: floor(length / size) segments, in order,
 * each at block_start + k * size; then nothing more. */
static uint32_t fill_block(carve_segment *s, uint32_t block_start, uint32_t length, uint32_t size)
{
    uint32_t n = 0, cell;
    while ((cell = carve_segment_alloc(s, size)) != CARVE_SEGMENT_NONE) {
        ck_assert_uint_eq(cell, block_start + n * size);
        n++;
    }
    ck_assert_uint_eq(n, length / size);
    ck_assert_uint_le(length - n * size, size - 1);
    return length - n * size;
}

START_TEST(block_holds_floor_blocksize_over_size_segments)
{
    /* The seed: at most 49 unusable cells per 4096-cell block over every Size in 1..64. */
    uint32_t worst = 0, worst_size = 0;
    for (uint32_t size = 1; size <= 64; size++) {
        fixture f = make(config(7, 7 + 4096, 4096, 64));
        uint32_t hole = fill_block(f.s, 7, 4096, size);
        ck_assert_uint_eq(hole, 4096 % size);
        ck_assert_uint_eq(carve_segment_check(f.s), 0);
        if (hole > worst) worst = hole, worst_size = size;
        drop(&f);
    }
    ck_assert_uint_eq(worst, 49);
    ck_assert_uint_eq(worst_size, 57);
}
END_TEST

START_TEST(seed_metadata_at_most_536_bytes)
{
    /* The seed: "the metadata of one block is 536 bytes" (64 masks, group_mask, links, counts). */
    ck_assert_uint_eq(carve_segment_block_meta(), 536);
    carve_segment_config one = config(0, 4096, 4096, 64), two = config(0, 8192, 4096, 64);
    ck_assert_uint_eq(carve_segment_footprint(&two) - carve_segment_footprint(&one),
                      carve_segment_block_meta());
}
END_TEST

START_TEST(groups_of_64_first_group_then_first_segment)
{
    fixture f = make(config(0, 4096, 4096, 1));
    for (uint32_t k = 0; k < 4096; k++) ck_assert_uint_eq(carve_segment_alloc(f.s, 1), k);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), CARVE_SEGMENT_NONE);
    /* Free one segment in group 40, then one in group 2: the first group wins. */
    ck_assert_int_eq(carve_segment_free(f.s, 40 * 64 + 9, 1), CARVE_OK);
    ck_assert_int_eq(carve_segment_free(f.s, 2 * 64 + 63, 1), CARVE_OK);
    ck_assert_int_eq(carve_segment_free(f.s, 2 * 64 + 17, 1), CARVE_OK);
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), 2 * 64 + 17);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), 2 * 64 + 63);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), 40 * 64 + 9);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), CARVE_SEGMENT_NONE);
    drop(&f);
}
END_TEST

START_TEST(bits_past_the_last_segment_never_look_free)
{
    /* 64 / 3 = 21 segments in one group; 192 / 5 = 38 segments; 4096 / 63 = 65: two groups,
     * the second with one segment. None may hand out a cell of the tail. */
    const uint32_t cases[][2] = {{64, 3}, {192, 5}, {4096, 63}, {128, 64}, {4096, 57}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t block = cases[c][0], size = cases[c][1];
        fixture f = make(config(0, block, block, size));
        fill_block(f.s, 0, block, size);
        /* Free and reallocate the last segment: it comes back, not a tail cell. */
        uint32_t last = (block / size - 1) * size;
        ck_assert_int_eq(carve_segment_free(f.s, last, size), CARVE_OK);
        ck_assert_uint_eq(carve_segment_alloc(f.s, size), last);
        ck_assert_uint_eq(carve_segment_alloc(f.s, size), CARVE_SEGMENT_NONE);
        ck_assert_uint_eq(carve_segment_check(f.s), 0);
        drop(&f);
    }
}
END_TEST

/* ---- 3. statuses and lists -------------------------------------------------------------------- */

START_TEST(free_block_becomes_partial_of_that_size)
{
    fixture f = make(config(0, 3 * 64, 64, 32));   /* three blocks of 2 segments of 32 */
    ck_assert_uint_eq(stats_of(f.s).free_blocks, 3);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 0);        /* block 0: free -> partial */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 16), 64);       /* another size: block 1 */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 32);       /* the partial block of 32 first */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 16), 64 + 16);  /* the partial block of 16 */
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

START_TEST(partial_becomes_full_and_leaves_its_list)
{
    fixture f = make(config(0, 3 * 64, 64, 32));
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 0);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 32);       /* block 0 full */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 64);       /* so the next free block */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 96);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 128);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 160);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), CARVE_SEGMENT_NONE);   /* all full */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), CARVE_SEGMENT_NONE);    /* no free block */
    ck_assert_uint_eq(stats_of(f.s).largest_free, 0);
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

START_TEST(full_becomes_partial_at_the_head_of_its_list)
{
    fixture f = make(config(0, 3 * 64, 64, 32));
    for (int k = 0; k < 5; k++) carve_segment_alloc(f.s, 32);   /* blocks 0, 1 full; 2 partial */
    /* Block 0 stops being full: it goes to the head, before block 2. */
    ck_assert_int_eq(carve_segment_free(f.s, 0, 32), CARVE_OK);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 0);
    /* Again with block 1, while blocks 0 and 2... block 0 is full again, block 2 partial. */
    ck_assert_int_eq(carve_segment_free(f.s, 96, 32), CARVE_OK);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 96);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 160);       /* then block 2 */
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

START_TEST(partial_becomes_free_and_serves_another_size)
{
    fixture f = make(config(0, 3 * 64, 64, 32));
    ck_assert_uint_eq(carve_segment_alloc(f.s, 32), 0);        /* block 0 partial (32) */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 8), 64);        /* block 1 partial (8)  */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 4), 128);       /* block 2 partial (4)  */
    ck_assert_uint_eq(stats_of(f.s).free_blocks, 1 + 7 + 15);
    ck_assert_int_eq(carve_segment_free(f.s, 64, 8), CARVE_OK);   /* block 1: partial -> free */
    ck_assert_uint_eq(stats_of(f.s).free_blocks, 1 + 1 + 15);
    /* The free list's first block is block 1 again; it now serves 16. */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 16), 64);
    ck_assert_int_eq(carve_segment_free(f.s, 64, 8), CARVE_EFOREIGN);   /* not an 8-block now */
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

/* Block i has this status (read through the layout). */
static void assert_block(const fixture *f, uint32_t i, uint8_t status)
{
    ck_assert_msg(f->s->heads[i].status == status, "block %u: status %u, want %u", i, f->s->heads[i].status, status);
}

START_TEST(single_segment_block_goes_free_full_free)
{
    /* Blocks of 64, 64 and a short last one of 40; Size 40: one segment in each. alloc takes a
     * block free -> partial -> full and free takes it full -> partial -> free, each inside one
     * call: after each call the block is full, then free, in no partial list, and the free list
     * gets it back at its head. */
    fixture f = make(config(0, 2 * 64 + 40, 64, 40));
    uint32_t *partial = &f.s->by_size[40].partial_head;
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(carve_segment_alloc(f.s, 40), i * 64);
        assert_block(&f, i, SEG_FULL);
        ck_assert_uint_eq(*partial, SEG_NIL);
        ck_assert_uint_eq(carve_segment_check(f.s), 0);
    }
    ck_assert_uint_eq(f.s->free_head, SEG_NIL);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 40), CARVE_SEGMENT_NONE);
    ck_assert_int_eq(carve_segment_free(f.s, 64, 40), CARVE_OK);    /* block 1: full -> free */
    assert_block(&f, 1, SEG_FREE);
    ck_assert_uint_eq(*partial, SEG_NIL);
    ck_assert_uint_eq(f.s->free_head, 1);
    ck_assert_int_eq(carve_segment_free(f.s, 128, 40), CARVE_OK);   /* the short block too */
    assert_block(&f, 2, SEG_FREE);
    ck_assert_uint_eq(*partial, SEG_NIL);
    ck_assert_uint_eq(f.s->free_head, 2);
    assert_block(&f, 0, SEG_FULL);
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), 128);            /* the free list's head */
    assert_block(&f, 2, SEG_PARTIAL);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 40), 64);
    assert_block(&f, 1, SEG_FULL);
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

/* ---- 4. alloc ------------------------------------------------------------------------------- */

START_TEST(alloc_cell_formula_with_begin_and_odd_block_size)
{
    /* cell = block_index * BlockSize + segment_index * Size + IndexBegin, BlockSize 192. */
    fixture f = make(config(1000, 1000 + 192 * 3, 192, 10));
    uint32_t n = 0;
    for (uint32_t block = 0; block < 3; block++)
        for (uint32_t seg = 0; seg < 192 / 10; seg++, n++)
            ck_assert_uint_eq(carve_segment_alloc(f.s, 10), block * 192 + seg * 10 + 1000);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 10), CARVE_SEGMENT_NONE);
    ck_assert_uint_eq(stats_of(f.s).used, n * 10);
    drop(&f);
}
END_TEST

START_TEST(alloc_rejects_bad_sizes_without_change)
{
    fixture f = make(config(0, 256, 64, 8));
    ck_assert_uint_eq(carve_segment_alloc(f.s, 0), CARVE_SEGMENT_NONE);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 9), CARVE_SEGMENT_NONE);
    ck_assert_uint_eq(carve_segment_alloc(f.s, UINT32_MAX), CARVE_SEGMENT_NONE);
    ck_assert_uint_eq(carve_segment_alloc(NULL, 1), CARVE_SEGMENT_NONE);
    carve_stats st = stats_of(f.s);
    ck_assert_uint_eq(st.failed, 3);
    ck_assert_uint_eq(st.used, 0);
    ck_assert_uint_eq(st.free_blocks, 4);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 8), 0);
    drop(&f);
}
END_TEST

START_TEST(alloc_fails_when_no_partial_and_no_free_block)
{
    fixture f = make(config(0, 256, 64, 8));
    for (uint32_t k = 0; k < 4; k++) ck_assert_uint_eq(carve_segment_alloc(f.s, 1u << k), k * 64);
    /* Every block partial for 1, 2, 4 or 8: a run of 3 has no block, though most cells are free. */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 3), CARVE_SEGMENT_NONE);
    ck_assert_uint_eq(stats_of(f.s).largest_free, 8);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 2), 64 + 2);
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

START_TEST(last_short_block_serves_floor_of_its_length)
{
    /* Blocks of 256 and a last block of 40 cells (max 40): fill everything with size runs. */
    for (uint32_t size = 1; size <= 40; size++) {
        fixture f = make(config(5, 5 + 512 + 40, 256, 40));
        uint32_t n = 0, cell, want = 2 * (256 / size) + 40 / size;
        while ((cell = carve_segment_alloc(f.s, size)) != CARVE_SEGMENT_NONE) {
            uint32_t block = (cell - 5) / 256, seg = n < 2 * (256 / size) ? n % (256 / size) : n - 2 * (256 / size);
            ck_assert_uint_eq(cell, block * 256 + seg * size + 5);
            ck_assert_uint_le(cell + size, 5 + 512 + 40);
            n++;
        }
        ck_assert_uint_eq(n, want);
        ck_assert_uint_eq(carve_segment_check(f.s), 0);
        drop(&f);
    }
}
END_TEST

/* ---- 5. free and its checks ----------------------------------------------------------------- */

/* A failed free changes nothing: the whole metadata is byte-for-byte the same. */
static void assert_free_fails(fixture *f, uint32_t cell, uint32_t size, carve_status want)
{
    unsigned char *before = malloc(f->bytes);
    memcpy(before, f->meta, f->bytes);
    ck_assert_int_eq(carve_segment_free(f->s, cell, size), want);
    ck_assert_msg(memcmp(before, f->meta, f->bytes) == 0, "free(%u, %u) changed the metadata", cell, size);
    free(before);
}

START_TEST(free_checks_size_range)
{
    fixture f = make(config(100, 100 + 256, 64, 8));
    uint32_t cell = carve_segment_alloc(f.s, 4);
    assert_free_fails(&f, cell, 0, CARVE_EINVAL);
    assert_free_fails(&f, cell, 9, CARVE_EINVAL);
    assert_free_fails(&f, cell, UINT32_MAX, CARVE_EINVAL);
    ck_assert_int_eq(carve_segment_free(NULL, cell, 4), CARVE_EINVAL);
    ck_assert_int_eq(carve_segment_free(f.s, cell, 4), CARVE_OK);
    drop(&f);
}
END_TEST

START_TEST(free_checks_cell_range)
{
    fixture f = make(config(100, 100 + 256, 64, 8));
    for (int k = 0; k < 64; k++) carve_segment_alloc(f.s, 4);   /* every block in use */
    assert_free_fails(&f, 99, 4, CARVE_EFOREIGN);
    assert_free_fails(&f, 0, 4, CARVE_EFOREIGN);
    assert_free_fails(&f, 356, 4, CARVE_EFOREIGN);
    assert_free_fails(&f, UINT32_MAX, 4, CARVE_EFOREIGN);
    assert_free_fails(&f, 354, 4, CARVE_EFOREIGN);   /* [354, 358) leaves the range */
    ck_assert_int_eq(carve_segment_free(f.s, 352, 4), CARVE_OK);
    drop(&f);
}
END_TEST

START_TEST(free_checks_block_holds_this_size)
{
    fixture f = make(config(0, 256, 64, 8));
    ck_assert_uint_eq(carve_segment_alloc(f.s, 4), 0);
    assert_free_fails(&f, 0, 2, CARVE_EFOREIGN);     /* block 0 holds 4s, not 2s */
    assert_free_fails(&f, 0, 8, CARVE_EFOREIGN);
    assert_free_fails(&f, 64, 4, CARVE_EFOREIGN);    /* block 1 is free */
    ck_assert_int_eq(carve_segment_free(f.s, 0, 4), CARVE_OK);
    assert_free_fails(&f, 0, 4, CARVE_EFOREIGN);     /* block 0 became free again */
    drop(&f);
}
END_TEST

START_TEST(free_checks_cell_is_reconstructed)
{
    fixture f = make(config(10, 10 + 192 * 2, 192, 7));
    ck_assert_uint_eq(carve_segment_alloc(f.s, 7), 10);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 7), 17);
    for (uint32_t off = 1; off < 7; off++) assert_free_fails(&f, 10 + off, 7, CARVE_EFOREIGN);
    /* The tail: 192 = 27 * 7 + 3, cells 189..191 of the block start no segment. */
    for (int k = 0; k < 25; k++) carve_segment_alloc(f.s, 7);
    assert_free_fails(&f, 10 + 189, 7, CARVE_EFOREIGN);
    assert_free_fails(&f, 10 + 189, 3, CARVE_EFOREIGN);
    ck_assert_int_eq(carve_segment_free(f.s, 10 + 182, 7), CARVE_OK);
    drop(&f);
}
END_TEST

START_TEST(free_checks_segment_is_used)
{
    fixture f = make(config(0, 256, 64, 8));
    ck_assert_uint_eq(carve_segment_alloc(f.s, 4), 0);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 4), 4);
    assert_free_fails(&f, 8, 4, CARVE_EDOUBLEFREE);  /* never handed out */
    ck_assert_int_eq(carve_segment_free(f.s, 4, 4), CARVE_OK);
    assert_free_fails(&f, 4, 4, CARVE_EDOUBLEFREE);  /* handed out and freed */
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

/* ---- check, walk, stats --------------------------------------------------------------------- */

/* Damage chosen fields through the real layout (src/segment_layout.h). */
START_TEST(check_detects_every_flipped_mask_bit)
{
    fixture f = make(config(0, 256, 64, 8));
    for (int k = 0; k < 5; k++) carve_segment_alloc(f.s, 3);    /* block 0 partial: 21 segs */
    for (int k = 0; k < 8; k++) carve_segment_alloc(f.s, 8);    /* block 1 full */
    ck_assert_uint_eq(sizeof(seg_head) + 64 * sizeof(uint64_t), carve_segment_block_meta());
    /* Every bit of the group mask and the 64 masks of blocks 0, 1 (sized) and 2 (free). */
    for (uint32_t block = 0; block < 3; block++) {
        uint64_t *words[65];
        for (unsigned g = 0; g < 64; g++) words[g] = seg_mask(f.s, block, g);
        words[64] = &f.s->heads[block].group_mask;
        for (unsigned w = 0; w < 65; w++)
            for (unsigned bit = 0; bit < 64; bit++) {
                *words[w] ^= 1ull << bit;
                if (carve_segment_check(f.s) == 0)
                    ck_abort_msg("block %u word %u bit %u flipped unnoticed", block, w, bit);
                *words[w] ^= 1ull << bit;
            }
    }
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    ck_assert_uint_eq(carve_segment_check(NULL), 1);
    drop(&f);
}
END_TEST

START_TEST(check_detects_damaged_links_and_status)
{
    fixture f = make(config(0, 256, 64, 8));
    carve_segment_alloc(f.s, 3);
    /* Each byte of the links, size, segments, used and status of block 0 (partial) and block 3
     * (the last of the free list). */
    size_t noticed = 0, tried = 0;
    for (uint32_t block = 0; block < 4; block += 3) {
        unsigned char *base = (unsigned char *)&f.s->heads[block];
        for (size_t byte = offsetof(seg_head, prev); byte <= offsetof(seg_head, status); byte++) {
            unsigned char keep = base[byte];
            base[byte] = (unsigned char)(keep + 1);
            noticed += carve_segment_check(f.s) != 0;
            tried++;
            base[byte] = keep;
        }
    }
    ck_assert_uint_eq(tried, 2 * 15);
    ck_assert_uint_eq(noticed, tried);
    /* The lists: a cycle, a wild index, a block in two lists. */
    uint32_t keep = f.s->heads[3].next;
    f.s->heads[3].next = 1;                       /* free list 1 -> 2 -> 3 -> 1 ... */
    ck_assert_uint_gt(carve_segment_check(f.s), 0);
    f.s->heads[3].next = keep;
    keep = f.s->by_size[5].partial_head;
    f.s->by_size[5].partial_head = 2;                     /* a free block also in the list of 5 */
    ck_assert_uint_gt(carve_segment_check(f.s), 0);
    f.s->by_size[5].partial_head = keep;
    f.s->live_cells++;
    ck_assert_uint_gt(carve_segment_check(f.s), 0);
    f.s->live_cells--;
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

typedef struct walk_log {
    carve_block_info runs[8192];
    size_t n;
} walk_log;

static void log_run(void *ctx, const carve_block_info *b)
{
    walk_log *w = ctx;
    ck_assert_uint_lt(w->n, 8192);
    w->runs[w->n++] = *b;
}

START_TEST(walk_reports_every_run_in_cell_order)
{
    fixture f = make(config(50, 50 + 3 * 64 + 40, 64, 40));   /* blocks 64, 64, 64, 40 */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 10), 50);       /* block 0: 6 x 10, tail 4 */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 10), 60);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 40), 114);      /* block 1: 1 x 40, tail 24 */
    ck_assert_int_eq(carve_segment_free(f.s, 50, 10), CARVE_OK);
    static walk_log w;
    w.n = 0;
    carve_segment_walk(f.s, log_run, &w);
    const carve_block_info want[] = {
        {50, 10, 0, false}, {60, 10, 10, true}, {70, 10, 0, false}, {80, 10, 0, false},
        {90, 10, 0, false}, {100, 10, 0, false}, {110, 4, 0, true},
        {114, 40, 40, true}, {154, 24, 0, true},
        {178, 64, 0, false}, {242, 40, 0, false},
    };
    ck_assert_uint_eq(w.n, sizeof want / sizeof want[0]);
    for (size_t k = 0; k < w.n; k++) {
        ck_assert_uint_eq(w.runs[k].start, want[k].start);
        ck_assert_uint_eq(w.runs[k].size, want[k].size);
        ck_assert_uint_eq(w.runs[k].payload, want[k].payload);
        ck_assert_int_eq(w.runs[k].used, want[k].used);
    }
    carve_segment_walk(f.s, NULL, NULL);   /* no callback: nothing */
    size_t before = w.n;
    carve_segment_walk(NULL, log_run, &w);   /* no allocator: the callback is not called */
    ck_assert_uint_eq(w.n, before);
    drop(&f);
}
END_TEST

START_TEST(stats_count_cells_and_runs)
{
    fixture f = make(config(0, 3 * 64, 64, 16));
    uint32_t a = carve_segment_alloc(f.s, 16), b = carve_segment_alloc(f.s, 5);
    carve_segment_alloc(f.s, 5);
    carve_segment_free(f.s, b, 5);
    carve_segment_alloc(f.s, 0);
    carve_stats st = stats_of(f.s);
    ck_assert_uint_eq(st.capacity, 192);
    ck_assert_uint_eq(st.used, 16 + 5);
    ck_assert_uint_eq(st.requested, 16 + 5);
    ck_assert_uint_eq(st.peak_requested, 16 + 10);
    ck_assert_uint_eq(st.free, 192 - 21);
    ck_assert_uint_eq(st.free_blocks, 3 + 11 + 1);   /* 3 free 16s, 11 free 5s, block 2 */
    ck_assert_uint_eq(st.largest_free, 16);
    ck_assert_uint_eq(st.allocs, 3);
    ck_assert_uint_eq(st.frees, 1);
    ck_assert_uint_eq(st.failed, 1);
    (void)a;
    /* A wrong version or size: nothing written. */
    carve_stats bad;
    memset(&bad, 0x5A, sizeof bad);
    bad.version = 99;
    bad.size = sizeof bad;
    carve_segment_stats(f.s, &bad);
    ck_assert_uint_eq(bad.capacity, (size_t)0x5A5A5A5A5A5A5A5Aull);
    carve_segment_stats(f.s, NULL);
    carve_stats none;
    carve_stats_init(&none);
    none.capacity = 12345;
    carve_segment_stats(NULL, &none);        /* no allocator: nothing written */
    ck_assert_uint_eq(none.capacity, 12345);
    drop(&f);
}
END_TEST

/* ---- rebuild ---------------------------------------------------------------------------------- */

static void collect_run(void *ctx, const carve_block_info *b)
{
    walk_log *w = ctx;
    if (b->used && b->payload != 0) w->runs[w->n++] = *b;
}

START_TEST(rebuild_reproduces_the_live_runs)
{
    test_rng rng = {test_seed()};
    carve_segment_config cfg = config(3, 3 + 8 * 256 + 64, 256, 64);
    fixture f = make(cfg), g = make(cfg);
    static uint32_t cells[4096], sizes[4096];
    size_t live = 0;
    for (int k = 0; k < 3000; k++) {
        if (live > 0 && test_rng_below(&rng, 3) == 0) {
            size_t j = test_rng_below(&rng, live);
            ck_assert_int_eq(carve_segment_free(f.s, cells[j], sizes[j]), CARVE_OK);
            cells[j] = cells[--live], sizes[j] = sizes[live];
        } else {
            uint32_t size = (uint32_t)test_rng_range(&rng, 1, 64), c = carve_segment_alloc(f.s, size);
            if (c != CARVE_SEGMENT_NONE) cells[live] = c, sizes[live++] = size;
        }
    }
    static walk_log a, b;
    a.n = b.n = 0;
    carve_segment_walk(f.s, collect_run, &a);
    ck_assert_uint_eq(a.n, live);
    static carve_segment_run runs[4096];
    for (size_t k = 0; k < live; k++) runs[k] = (carve_segment_run){cells[k], sizes[k]};   /* unsorted */
    ck_assert_int_eq(carve_segment_rebuild(g.s, runs, live, NULL), CARVE_OK);
    ck_assert_uint_eq(carve_segment_check(g.s), 0);
    carve_segment_walk(g.s, collect_run, &b);
    ck_assert_uint_eq(b.n, a.n);
    for (size_t k = 0; k < a.n; k++) {
        ck_assert_uint_eq(a.runs[k].start, b.runs[k].start);
        ck_assert_uint_eq(a.runs[k].size, b.runs[k].size);
    }
    /* The rebuilt allocator frees every run, and is then empty. */
    for (size_t k = 0; k < live; k++) ck_assert_int_eq(carve_segment_free(g.s, cells[k], sizes[k]), CARVE_OK);
    ck_assert_uint_eq(stats_of(g.s).free_blocks, 9);
    ck_assert_uint_eq(carve_segment_check(g.s), 0);
    drop(&f);
    drop(&g);
}
END_TEST

/* Use every block of f (blocks 0..3 of config(0, 3 * 64 + 16, 64, 16)) and free the runs in
 * another order, so the free list is 2, 0, 3, 1 and the counters are not zero. */
static void use_and_empty(fixture *f)
{
    uint32_t a = carve_segment_alloc(f->s, 16), b = carve_segment_alloc(f->s, 4);
    uint32_t c = carve_segment_alloc(f->s, 2), d = carve_segment_alloc(f->s, 8);
    ck_assert_uint_eq(a, 0);
    ck_assert_uint_eq(b, 64);
    ck_assert_uint_eq(c, 128);
    ck_assert_uint_eq(d, 192);
    ck_assert_int_eq(carve_segment_free(f->s, b, 4), CARVE_OK);
    ck_assert_int_eq(carve_segment_free(f->s, d, 8), CARVE_OK);
    ck_assert_int_eq(carve_segment_free(f->s, a, 16), CARVE_OK);
    ck_assert_int_eq(carve_segment_free(f->s, c, 2), CARVE_OK);
    ck_assert_uint_eq(f->s->free_head, 2);
}

/* A rejected list leaves s byte-for-byte as before, on a fresh allocator and on one that was
 * used and emptied (its free list is no longer in block order). */
static void assert_rebuild_fails(const carve_segment_run *runs, size_t n, carve_status want, size_t want_bad)
{
    carve_segment_config cfg = config(0, 3 * 64 + 16, 64, 16);
    for (int used = 0; used <= 1; used++) {
        fixture f = make(cfg);
        if (used) use_and_empty(&f);
        unsigned char *before = malloc(f.bytes);
        memcpy(before, f.meta, f.bytes);
        size_t bad = SIZE_MAX;
        ck_assert_int_eq(carve_segment_rebuild(f.s, runs, n, &bad), want);
        ck_assert_uint_eq(bad, want_bad);
        ck_assert_msg(memcmp(before, f.meta, f.bytes) == 0, "a failed rebuild left a trace (used %d)", used);
        ck_assert_uint_eq(carve_segment_check(f.s), 0);
        /* The free list's order survives: the next new Size takes block 2 of the used one. */
        ck_assert_uint_eq(carve_segment_alloc(f.s, 3), used ? 128 : 0);
        free(before);
        drop(&f);
    }
}

START_TEST(rebuild_rejects_bad_lists)
{
    const carve_segment_run bad_size[] = {{0, 4}, {64, 0}};
    assert_rebuild_fails(bad_size, 2, CARVE_EINVAL, 1);
    const carve_segment_run too_big[] = {{0, 17}};
    assert_rebuild_fails(too_big, 1, CARVE_EINVAL, 0);
    const carve_segment_run out[] = {{0, 4}, {208, 1}};
    assert_rebuild_fails(out, 2, CARVE_EFOREIGN, 1);
    const carve_segment_run leaves[] = {{200, 16}};
    assert_rebuild_fails(leaves, 1, CARVE_EFOREIGN, 0);
    const carve_segment_run misaligned[] = {{0, 4}, {6, 4}};
    assert_rebuild_fails(misaligned, 2, CARVE_EFOREIGN, 1);
    const carve_segment_run misaligned_first[] = {{66, 4}};
    assert_rebuild_fails(misaligned_first, 1, CARVE_EFOREIGN, 0);
    const carve_segment_run tail[] = {{60, 5}};   /* 64 = 12 * 5 + 4: cell 60 is the tail */
    assert_rebuild_fails(tail, 1, CARVE_EFOREIGN, 0);
    const carve_segment_run mixed[] = {{0, 4}, {64, 2}, {8, 8}};
    assert_rebuild_fails(mixed, 3, CARVE_EINVAL, 2);
    const carve_segment_run repeated[] = {{0, 4}, {4, 4}, {0, 4}};
    assert_rebuild_fails(repeated, 3, CARVE_EINVAL, 2);
}
END_TEST

START_TEST(rebuild_needs_an_empty_allocator)
{
    fixture f = make(config(0, 256, 64, 16));
    const carve_segment_run runs[] = {{0, 4}, {64, 16}, {80, 16}, {96, 16}, {112, 16}};
    ck_assert_int_eq(carve_segment_rebuild(f.s, runs, 5, NULL), CARVE_OK);
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    ck_assert_int_eq(carve_segment_rebuild(f.s, runs, 1, NULL), CARVE_EINVAL);
    ck_assert_int_eq(carve_segment_rebuild(f.s, NULL, 1, NULL), CARVE_EINVAL);
    ck_assert_int_eq(carve_segment_rebuild(NULL, runs, 1, NULL), CARVE_EINVAL);
    /* Block 1 is full (4 x 16), block 0 partial for 4, blocks 2 and 3 free. */
    ck_assert_uint_eq(carve_segment_alloc(f.s, 16), 128);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 4), 4);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 1), 192);
    ck_assert_int_eq(carve_segment_free(f.s, 80, 16), CARVE_OK);
    ck_assert_uint_eq(carve_segment_alloc(f.s, 16), 80);   /* full -> partial, the head */
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    drop(&f);
}
END_TEST

/* ---- the randomized model test ---------------------------------------------------------------- */

/* The reference: who owns each cell (0 = nobody, else 1 + the index of the live run). */
typedef struct model {
    carve_segment_config cfg;
    uint32_t *owner;                 /* by cell - begin */
    uint32_t *cells, *sizes, live;   /* the live runs */
    uint32_t *block_size_of, *block_live;   /* per block: the size of its live runs, their count */
    uint32_t blocks;
} model;

static uint32_t model_length(const model *m, uint32_t block)
{
    uint32_t total = m->cfg.index_end - m->cfg.index_begin;
    return block + 1 == m->blocks && total % m->cfg.block_size ? total % m->cfg.block_size : m->cfg.block_size;
}

/* Could some block serve a run of size now? */
static bool model_can_serve(const model *m, uint32_t size)
{
    for (uint32_t b = 0; b < m->blocks; b++) {
        if (m->block_live[b] == 0) return true;
        if (m->block_size_of[b] == size && m->block_live[b] < model_length(m, b) / size) return true;
    }
    return false;
}

/* The walk against the reference: contiguous runs covering the range; each run with a payload
 * is exactly a live run of the model; every live run is reported. */
typedef struct walk_vs_model {
    const model *m;
    uint32_t next_cell, live_seen;
    bool ok;
} walk_vs_model;

static void compare_run(void *ctx, const carve_block_info *b)
{
    walk_vs_model *w = ctx;
    const model *m = w->m;
    if (b->start != w->next_cell || b->size == 0) w->ok = false;
    w->next_cell = (uint32_t)(b->start + b->size);
    if (b->payload != 0) {
        uint32_t o = m->owner[b->start - m->cfg.index_begin];
        w->ok &= b->used && o != 0 && m->cells[o - 1] == b->start && m->sizes[o - 1] == b->size &&
                 b->payload == b->size;
        w->live_seen++;
    } else if (!b->used) {
        for (uint32_t c = 0; c < b->size; c++) w->ok &= m->owner[b->start - m->cfg.index_begin + c] == 0;
    }
}

static bool walk_matches(const carve_segment *s, const model *m)
{
    walk_vs_model w = {.m = m, .next_cell = m->cfg.index_begin, .ok = true};
    carve_segment_walk(s, compare_run, &w);
    return w.ok && w.next_cell == m->cfg.index_end && w.live_seen == m->live;
}

static void model_run(carve_segment_config cfg, uint64_t ops, uint64_t seed)
{
    test_rng rng = {seed};
    fixture f = make(cfg);
    model m = {.cfg = cfg};
    uint32_t total = cfg.index_end - cfg.index_begin;
    m.blocks = (total + cfg.block_size - 1) / cfg.block_size;
    m.owner = calloc(total, sizeof *m.owner);
    m.cells = calloc(total, sizeof *m.cells);
    m.sizes = calloc(total, sizeof *m.sizes);
    m.block_size_of = calloc(m.blocks, sizeof *m.block_size_of);
    m.block_live = calloc(m.blocks, sizeof *m.block_live);
    uint64_t live_cells = 0;
    /* A drift between filling and emptying, so the range passes through empty and full. */
    for (uint64_t op = 0; op < ops; op++) {
        uint64_t phase = (op / 5000) % 4;
        uint64_t alloc_pct = phase == 0 ? 75 : phase == 1 ? 55 : phase == 2 ? 30 : 50;
        uint32_t roll = (uint32_t)test_rng_below(&rng, 100);
        if (roll < alloc_pct || m.live == 0) {
            uint32_t size = test_rng_below(&rng, 4) == 0 ? (uint32_t)test_rng_range(&rng, 1, cfg.max_size)
                                                          : (uint32_t)test_rng_range(&rng, 1, cfg.max_size < 8 ? cfg.max_size : 8);
            uint32_t cell = carve_segment_alloc(f.s, size);
            if (cell == CARVE_SEGMENT_NONE) {
                if (model_can_serve(&m, size)) CARVE_FAILF(seed, "op %llu: alloc(%u) failed though a block could serve it", (unsigned long long)op, size);
            } else {
                if (cell < cfg.index_begin || cell >= cfg.index_end || cfg.index_end - cell < size)
                    CARVE_FAILF(seed, "op %llu: run [%u, +%u) leaves the range", (unsigned long long)op, cell, size);
                uint32_t off = cell - cfg.index_begin, block = off / cfg.block_size, inside = off % cfg.block_size;
                if (inside % size != 0 || inside / size >= model_length(&m, block) / size)
                    CARVE_FAILF(seed, "op %llu: run [%u, +%u) is not a segment of its block", (unsigned long long)op, cell, size);
                if (m.block_live[block] != 0 && m.block_size_of[block] != size)
                    CARVE_FAILF(seed, "op %llu: block %u mixes sizes", (unsigned long long)op, block);
                for (uint32_t c = 0; c < size; c++)
                    if (m.owner[off + c] != 0) CARVE_FAILF(seed, "op %llu: cell %u handed out twice", (unsigned long long)op, cell + c);
                for (uint32_t c = 0; c < size; c++) m.owner[off + c] = m.live + 1;
                m.cells[m.live] = cell, m.sizes[m.live] = size, m.live++;
                m.block_size_of[block] = size, m.block_live[block]++;
                live_cells += size;
            }
        } else if (roll < 97) {
            uint32_t j = (uint32_t)test_rng_below(&rng, m.live), cell = m.cells[j], size = m.sizes[j];
            uint32_t off = cell - cfg.index_begin;
            carve_status st = carve_segment_free(f.s, cell, size);
            if (st != CARVE_OK) CARVE_FAILF(seed, "op %llu: free(%u, %u) = %d", (unsigned long long)op, cell, size, st);
            for (uint32_t c = 0; c < size; c++) m.owner[off + c] = 0;
            m.block_live[off / cfg.block_size]--;
            live_cells -= size;
            m.live--;
            if (j != m.live) {   /* move the last run into slot j */
                m.cells[j] = m.cells[m.live], m.sizes[j] = m.sizes[m.live];
                uint32_t moff = m.cells[j] - cfg.index_begin;
                for (uint32_t c = 0; c < m.sizes[j]; c++) m.owner[moff + c] = j + 1;
            }
        } else {
            /* Misuse: a random (cell, size); the answer must match the reference exactly. */
            uint32_t cell = cfg.index_begin + (uint32_t)test_rng_below(&rng, total);
            uint32_t size = (uint32_t)test_rng_range(&rng, 1, cfg.max_size);
            uint32_t off = cell - cfg.index_begin, block = off / cfg.block_size, inside = off % cfg.block_size;
            uint32_t o = m.owner[off];
            bool is_live = o != 0 && m.cells[o - 1] == cell && m.sizes[o - 1] == size;
            carve_status want;
            if (cfg.index_end - cell < size || m.block_live[block] == 0 || m.block_size_of[block] != size ||
                inside % size != 0 || inside / size >= model_length(&m, block) / size)
                want = CARVE_EFOREIGN;
            else
                want = is_live ? CARVE_OK : CARVE_EDOUBLEFREE;
            if (is_live) continue;   /* a real free: leave it to the free branch */
            carve_status st = carve_segment_free(f.s, cell, size);
            if (st != want) CARVE_FAILF(seed, "op %llu: bad free(%u, %u) = %d, want %d", (unsigned long long)op, cell, size, st, want);
        }
        size_t bad = carve_segment_check(f.s);
        if (bad != 0) CARVE_FAILF(seed, "op %llu: carve_segment_check = %zu", (unsigned long long)op, bad);
        carve_stats st = stats_of(f.s);
        if (st.used != live_cells) CARVE_FAILF(seed, "op %llu: stats.used %zu, model %llu", (unsigned long long)op, st.used, (unsigned long long)live_cells);
        if (op % 499 == 0 && !walk_matches(f.s, &m)) CARVE_FAILF(seed, "op %llu: the walk disagrees with the model", (unsigned long long)op);
    }
    /* Free everything: every block is free again. */
    while (m.live > 0) {
        m.live--;
        ck_assert_int_eq(carve_segment_free(f.s, m.cells[m.live], m.sizes[m.live]), CARVE_OK);
    }
    ck_assert_uint_eq(carve_segment_check(f.s), 0);
    ck_assert_uint_eq(stats_of(f.s).free_blocks, m.blocks);
    free(m.owner), free(m.cells), free(m.sizes), free(m.block_size_of), free(m.block_live);
    drop(&f);
}

START_TEST(model_random_operations)
{
    /* 1,000,000 operations (times CARVE_TEST_SCALE) over five configurations. */
    const carve_segment_config cfgs[] = {
        config(0, 4 * 64, 64, 8),                 /* tiny blocks, a single group */
        config(17, 17 + 3 * 192 + 21, 192, 21),   /* non-power-of-two blocks, short last block */
        config(1000, 1000 + 2 * 512 + 64, 512, 64), /* short last block of exactly max_size */
        config(0, 4096, 4096, 64),                /* one seed-sized block, 64 groups at size 1 */
        config(5, 5 + 6 * 128, 128, 3),           /* many blocks, tiny runs */
    };
    uint64_t per = 200000 * test_scale();
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) model_run(cfgs[c], per, test_seed() + c);
}
END_TEST

START_TEST(reciprocal_division_is_exact)
{
    /* free() divides by Size through a reciprocal: check it over every offset of a 4096 block
     * through the public API (one size per allocator, every segment freed and reallocated). */
    for (uint32_t size = 1; size <= 64; size++) {
        fixture f = make(config(0, 4096, 4096, 64));
        fill_block(f.s, 0, 4096, size);
        for (uint32_t inside = 0; inside < 4096; inside++) {
            carve_status st = carve_segment_free(f.s, inside, size);
            bool segment = inside % size == 0 && inside / size < 4096 / size;
            ck_assert_int_eq(st, segment ? CARVE_OK : CARVE_EFOREIGN);
            if (segment) ck_assert_uint_eq(carve_segment_alloc(f.s, size), inside);
        }
        drop(&f);
    }
}
END_TEST

/* x / bs through seg_block_of, against the division: 0 if equal, else reported with its cause. */
static int block_of_wrong(const carve_segment *s, uint64_t x, uint32_t bs)
{
    if (x > UINT32_MAX || seg_block_of(s, (uint32_t)x) == x / bs) return 0;
    ck_assert_msg(0, "block size %u, offset %llu: %u, not %llu", bs, (unsigned long long)x,
                  seg_block_of(s, (uint32_t)x), (unsigned long long)(x / bs));
    return 1;
}

START_TEST(block_index_reciprocal_is_exact)
{
    /* free() finds block_index = offset / block_size through a reciprocal of block_size / 64:
     * check it for every block size the rules allow, at both sides of every block boundary in the
     * low range, and at multiples near the top of the 32-bit range, where the error peaks. */
    for (uint32_t bs = 64; bs <= 4096; bs += 64) {
        fixture f = make(config(0, bs, bs, 64));
        for (uint64_t x = bs - 1; x < (1u << 24); x += bs)
            for (uint64_t y = x; y <= x + 1; y++) block_of_wrong(f.s, y, bs);
        for (uint64_t x = UINT32_MAX / bs * bs, k = 0; k < 4096; k++, x -= bs)
            for (uint64_t y = x - 1; y <= x + 1; y++) block_of_wrong(f.s, y, bs);
        block_of_wrong(f.s, UINT32_MAX, bs);
        block_of_wrong(f.s, 0, bs);
        drop(&f);
    }
}
END_TEST

START_TEST(segment_index_reciprocal_is_exact)
{
    /* The segment index inside a block, inside / Size, for every offset of a 4096 block and Size. */
    fixture f = make(config(0, 4096, 4096, 64));
    for (uint32_t size = 1; size <= 64; size++)
        for (uint32_t inside = 0; inside < 4096; inside++)
            if (seg_index_of(f.s, inside, size) != inside / size)
                ck_abort_msg("size %u, offset %u: %u", size, inside, seg_index_of(f.s, inside, size));
    drop(&f);
}
END_TEST

static Suite *segment_suite(void)
{
    Suite *s = suite_create("segment");
    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, rule_max_size_in_1_64);
    tcase_add_test(rules, rule_block_size_multiple_of_64);
    tcase_add_test(rules, rule_block_size_at_most_4096);
    tcase_add_test(rules, rule_tail_not_in_1_to_max_minus_1);
    tcase_add_test(rules, rule_begin_below_end_and_flags);
    tcase_add_test(rules, init_rejects_bad_meta);
    suite_add_tcase(s, rules);
    TCase *block = tcase_create("block");
    tcase_add_test(block, block_holds_floor_blocksize_over_size_segments);
    tcase_add_test(block, seed_metadata_at_most_536_bytes);
    tcase_add_test(block, groups_of_64_first_group_then_first_segment);
    tcase_add_test(block, bits_past_the_last_segment_never_look_free);
    suite_add_tcase(s, block);
    TCase *status = tcase_create("status");
    tcase_add_test(status, free_block_becomes_partial_of_that_size);
    tcase_add_test(status, partial_becomes_full_and_leaves_its_list);
    tcase_add_test(status, full_becomes_partial_at_the_head_of_its_list);
    tcase_add_test(status, partial_becomes_free_and_serves_another_size);
    tcase_add_test(status, single_segment_block_goes_free_full_free);
    suite_add_tcase(s, status);
    TCase *alloc = tcase_create("alloc");
    tcase_add_test(alloc, alloc_cell_formula_with_begin_and_odd_block_size);
    tcase_add_test(alloc, alloc_rejects_bad_sizes_without_change);
    tcase_add_test(alloc, alloc_fails_when_no_partial_and_no_free_block);
    tcase_add_test(alloc, last_short_block_serves_floor_of_its_length);
    suite_add_tcase(s, alloc);
    TCase *fr = tcase_create("free");
    tcase_add_test(fr, free_checks_size_range);
    tcase_add_test(fr, free_checks_cell_range);
    tcase_add_test(fr, free_checks_block_holds_this_size);
    tcase_add_test(fr, free_checks_cell_is_reconstructed);
    tcase_add_test(fr, free_checks_segment_is_used);
    tcase_add_test(fr, reciprocal_division_is_exact);
    tcase_add_test(fr, block_index_reciprocal_is_exact);
    tcase_add_test(fr, segment_index_reciprocal_is_exact);
    suite_add_tcase(s, fr);
    TCase *views = tcase_create("views");
    tcase_add_test(views, check_detects_every_flipped_mask_bit);
    tcase_add_test(views, check_detects_damaged_links_and_status);
    tcase_add_test(views, walk_reports_every_run_in_cell_order);
    tcase_add_test(views, stats_count_cells_and_runs);
    suite_add_tcase(s, views);
    TCase *rebuild = tcase_create("rebuild");
    tcase_add_test(rebuild, rebuild_reproduces_the_live_runs);
    tcase_add_test(rebuild, rebuild_rejects_bad_lists);
    tcase_add_test(rebuild, rebuild_needs_an_empty_allocator);
    suite_add_tcase(s, rebuild);
    TCase *random = tcase_create("model");
    tcase_set_timeout(random, 240.0 * (double)test_scale());   /* also when run outside ctest */
    tcase_add_test(random, model_random_operations);
    suite_add_tcase(s, random);
    return s;
}

CARVE_TEST_MAIN(segment_suite)
