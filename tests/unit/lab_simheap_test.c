/* tests/unit/lab_simheap_test.c: carve sim --carve-heap places blocks where carve_heap does.
 * For each list policy, each free-list order, with and without coalescing, random operations
 * run through carve_heap (8-byte headers, 16-byte alignment, checked after every step) and then,
 * as an explicit -A list, through the simulator given the heap's first free block; the offsets
 * each one chooses must be the same, failures included. */
#include "carve/heap.h"
#include "carve_test.h"
#include "sim.h"

#include <stdlib.h>
#include <string.h>

static const char *const policies[] = {"FIRST", "NEXT", "BEST", "WORST"};
static const carve_fit fits[] = {CARVE_FIT_FIRST, CARVE_FIT_NEXT, CARVE_FIT_BEST, CARVE_FIT_WORST};
static const char *const orders[] = {"ADDRSORT", "SIZESORT+", "SIZESORT-", "INSERT-FRONT", "INSERT-BACK"};
static const carve_order corders[] = {CARVE_ORDER_ADDRESS, CARVE_ORDER_SIZE_ASC, CARVE_ORDER_SIZE_DESC,
                                      CARVE_ORDER_LIFO, CARVE_ORDER_FIFO};

typedef struct first_block { uintptr_t start; size_t size; int n; } first_block;

static void on_block(void *ctx, const carve_block_info *b)
{
    first_block *f = ctx;
    if (f->n++ == 0) {
        f->start = b->start;
        f->size = b->size;
    }
}

enum { NOPS = 120, MAXIDS = NOPS };

static void compare(int policy, int order, bool coalesce, uint64_t seed)
{
    static _Alignas(16) unsigned char mem[4096 + 1024];
    carve_heap_config cfg = {.fit = fits[policy], .order = corders[order], .no_coalesce = !coalesce, .align = 16};
    carve_heap *h = carve_heap_init(mem, sizeof mem, &cfg);
    ck_assert_ptr_nonnull(h);
    first_block fb = {0};
    carve_heap_walk(h, on_block, &fb);
    ck_assert_int_eq(fb.n, 1);

    test_rng rng = {seed};
    char ops[4096] = "";
    long heap_off[MAXIDS];
    void *ptr[MAXIDS];
    int nids = 0;
    for (int k = 0; k < NOPS; k++) {
        char tok[32];
        int live[MAXIDS], nlive = 0;
        for (int i = 0; i < nids; i++)
            if (ptr[i] != NULL) live[nlive++] = i;
        if (nlive == 0 || test_rng_below(&rng, 100) < 55) {
            size_t size = test_rng_range(&rng, 1, test_rng_below(&rng, 4) == 0 ? 900 : 200);
            void *p = carve_heap_alloc(h, size);
            ptr[nids] = p;
            heap_off[nids] = p != NULL ? (long)((uintptr_t)p - 8 - fb.start) : -1;
            nids++;
            snprintf(tok, sizeof tok, "%s+%zu", k ? "," : "", size);
        } else {
            int id = live[test_rng_below(&rng, (uint64_t)nlive)];
            ck_assert_int_eq(carve_heap_free(h, ptr[id]), CARVE_OK);
            ptr[id] = NULL;
            snprintf(tok, sizeof tok, "%s-%d", k ? "," : "", id);
        }
        strcat(ops, tok);
        if (carve_heap_check(h) != 0) CARVE_FAILF(seed, "heap check fails after op %d", k);
    }

    char size_arg[32], *argv[32];
    snprintf(size_arg, sizeof size_arg, "%zu", fb.size);
    int argc = 0;
    char *args[] = {"sim", "-c", "--carve-heap", "-H", "8", "-a", "16", "-b", "0", "-S", size_arg,
                    "-p", (char *)policies[policy], "-l", (char *)orders[order], "-A", ops};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) argv[argc++] = args[i];
    if (coalesce) argv[argc++] = "-C";
    argv[argc] = NULL;
    sim_config c;
    char err[256], *out = NULL;
    size_t len = 0;
    ck_assert_msg(sim_parse_args(argc, argv, &c, err, sizeof err) == 0, "%s", err);
    FILE *f = open_memstream(&out, &len);
    ck_assert_int_eq(sim_run(&c, f, err, sizeof err), 0);
    fclose(f);
    int id = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *ret = strstr(line, " returned ");
        if (strncmp(line, "ptr[", 4) != 0 || ret == NULL) continue;
        long sim_off = strtol(ret + 10, NULL, 10);
        if (sim_off != heap_off[id])
            CARVE_FAILF(seed, "%s %s%s: allocation %d: carve_heap chose offset %ld, carve sim %ld\nops: %.300s",
                        policies[policy], orders[order], coalesce ? " -C" : "", id, heap_off[id], sim_off, ops);
        id++;
    }
    ck_assert_int_eq(id, nids);
    free(out);
}

START_TEST(sim_agrees_with_heap)
{
    int policy = _i / 10, order = (_i / 2) % 5;
    bool coalesce = _i % 2;
    for (uint64_t s = 0; s < 4 * test_scale(); s++) compare(policy, order, coalesce, test_seed() + s);
}
END_TEST

static Suite *lab_simheap_suite(void)
{
    Suite *s = suite_create("lab_simheap");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, sim_agrees_with_heap, 0, 40);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(lab_simheap_suite)
