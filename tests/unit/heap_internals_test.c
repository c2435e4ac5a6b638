/* tests/unit/heap_internals_test.c: the region heap from the inside (heap_internal.h).
 *
 * - The checker: each invariant carve_heap_check claims is broken by hand, one at a time, and
 *   the check must count it (then the repair must bring it back to 0). A checker that ignored
 *   one of them would pass every other test.
 * - TLSF's bound after growth: a heap grown from its smallest size by exact amounts keeps a
 *   thousand free blocks in coarse lists; one alloc then changes the list of at most a few
 *   blocks (nothing is searched or re-filed), also when it moves the table. */
#include "heap/heap_tree.h"
#include "heap_helpers.h"

#include <string.h>

#define BUF_BYTES ((size_t)1 << 20)
static _Alignas(64) unsigned char buf[BUF_BYTES];

static carve_heap *make(carve_fit fit, carve_order order, bool no_coalesce)
{
    return heap_over(buf, BUF_BYTES, fit, order, no_coalesce);
}

static fblock *fb_of(void *p) { return (fblock *)((uintptr_t)p - HDR); }

/* A heap with used blocks between free ones: a, c, e free (100, 300, 600 bytes). */
static carve_heap *with_holes(carve_fit fit, carve_order order, void *out[3])
{
    carve_heap *h = make(fit, order, false);
    static const size_t n[3] = {100, 300, 600};
    for (int i = 0; i < 3; i++) {
        out[i] = carve_heap_alloc(h, n[i]);
        ck_assert_ptr_nonnull(carve_heap_alloc(h, 8));
    }
    for (int i = 0; i < 3; i++) ck_assert_int_eq(carve_heap_free(h, out[i]), CARVE_OK);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    return h;
}

/* FIRST/NEXT/BEST/WORST in ADDRESS order keep treaps (heap_tree.c); the white-box tests of the
 * address-ordered list move the free blocks onto the list, as a heap without the trees has them. */
static void as_list(carve_heap *h)
{
    if (!h->tree) return;
    fblock *blocks[64];
    size_t n = 0;
    for (const region *r = h->regions; r != NULL; r = r->next)
        for (uintptr_t b = r->first; b < r->end; b += b_size(b))
            if (!b_used(b)) {
                ck_assert_uint_lt(n, 64);
                blocks[n++] = (fblock *)b;
            }
    for (size_t i = 0; i < n; i++) heap_index_remove(h, blocks[i]);
    h->tree = false;
    for (size_t i = 0; i < n; i++) heap_index_insert(h, blocks[i]);
    ck_assert_uint_eq(carve_heap_check(h), 0);
}

#define BROKEN(h, break_it, repair)                                                              \
    do {                                                                                         \
        break_it;                                                                                \
        ck_assert_msg(carve_heap_check(h) > 0, "not caught: %s", #break_it);                     \
        repair;                                                                                  \
        ck_assert_msg(carve_heap_check(h) == 0, "not repaired: %s", #repair);                    \
    } while (0)

START_TEST(check_catches_wrong_counters)
{
    for (int fit = CARVE_FIT_FIRST; fit <= CARVE_FIT_TLSF; fit++) {
        void *p[3];
        carve_heap *h = with_holes((carve_fit)fit, CARVE_ORDER_ADDRESS, p);
        BROKEN(h, h->free_bytes += 16, h->free_bytes -= 16);
        BROKEN(h, h->block_bytes -= 16, h->block_bytes += 16);
        BROKEN(h, h->free_blocks++, h->free_blocks--);
        BROKEN(h, h->requested++, h->requested--);
        BROKEN(h, h->peak_requested = h->requested - 1, h->peak_requested = h->requested + 1);
        BROKEN(h, h->capacity += 8, h->capacity -= 8);
        BROKEN(h, h->own_bytes += 8, h->own_bytes -= 8);
    }
}
END_TEST

START_TEST(check_catches_broken_blocks)
{
    void *p[3];
    carve_heap *h = with_holes(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, p);
    uintptr_t used = (uintptr_t)p[0] - HDR + 112; /* the separator after a */
    /* PREV_FREE set on a block whose predecessor is used, and cleared where it is free */
    BROKEN(h, *word_at(used + 32) |= F_PREV_FREE, *word_at(used + 32) &= ~F_PREV_FREE);
    BROKEN(h, *word_at(used) &= ~F_PREV_FREE, *word_at(used) |= F_PREV_FREE);
    /* a used block one alignment unit longer, with a valid check: the blocks no longer tile */
    uint64_t w = *word_at(used);
    BROKEN(h, *word_at(used) = make_word(h, used, w_size(w) + 16, true, w_slack(w), true), *word_at(used) = w);
    /* slack larger than the payload */
    BROKEN(h, *word_at(used) = make_word(h, used, w_size(w), true, w_size(w), true), *word_at(used) = w);
    /* a free block's header and footer disagree */
    uint64_t *footer = word_at((uintptr_t)fb_of(p[1]) + w_size(fb_of(p[1])->head) - HDR);
    BROKEN(h, *footer ^= 16, *footer ^= 16);
    /* the epilogue */
    uint64_t *epi = word_at(h->regions->end);
    BROKEN(h, *epi ^= F_USED, *epi ^= F_USED);
}
END_TEST

START_TEST(check_catches_two_free_neighbours)
{
    carve_heap *h = make(CARVE_FIT_FIRST, CARVE_ORDER_ADDRESS, true);
    void *a = carve_heap_alloc(h, 100), *b = carve_heap_alloc(h, 100);
    ck_assert_ptr_nonnull(carve_heap_alloc(h, 8));
    carve_heap_free(h, a);
    carve_heap_free(h, b);
    ck_assert_uint_eq(carve_heap_check(h), 0); /* fine without coalescing */
    BROKEN(h, h->coalesce = true, h->coalesce = false);
}
END_TEST

START_TEST(check_catches_index_errors)
{
    /* a free block missing from the index, or on it twice (a cycle), for every policy */
    for (int fit = CARVE_FIT_FIRST; fit <= CARVE_FIT_TLSF; fit++) {
        void *p[3];
        carve_heap *h = with_holes((carve_fit)fit, CARVE_ORDER_ADDRESS, p);
        fblock *c = fb_of(p[1]);
        BROKEN(h, heap_index_remove(h, c), heap_index_insert(h, c));
        fblock *saved = c->next;
        BROKEN(h, c->next = c, c->next = saved);
        fblock *prev = c->prev;
        BROKEN(h, c->prev = (fblock *)buf, c->prev = prev);
    }
}
END_TEST

START_TEST(check_catches_list_order)
{
    static const carve_order orders[] = {CARVE_ORDER_ADDRESS, CARVE_ORDER_SIZE_ASC, CARVE_ORDER_SIZE_DESC};
    for (int i = 0; i < 3; i++) {
        void *p[3];
        carve_heap *h = with_holes(CARVE_FIT_FIRST, orders[i], p);
        as_list(h);
        fblock *a = fb_of(p[0]), *c = fb_of(p[1]), *e = fb_of(p[2]);
        /* put the three back as LIFO inserts would: e, c, a (or a, c, e for SIZE_DESC) */
        carve_order saved = h->order;
        fblock *order[3] = {a, c, e};
        if (orders[i] == CARVE_ORDER_SIZE_DESC) order[0] = e, order[2] = a;
        for (int k = 0; k < 3; k++) heap_list_remove(h, order[k]);
        h->order = CARVE_ORDER_LIFO;
        for (int k = 0; k < 3; k++) heap_list_insert(h, order[k]);
        h->order = saved;
        ck_assert_msg(carve_heap_check(h) > 0, "order %d not caught", (int)orders[i]);
        for (int k = 0; k < 3; k++) heap_list_remove(h, order[k]);
        for (int k = 0; k < 3; k++) heap_list_insert(h, order[k]);
        ck_assert_uint_eq(carve_heap_check(h), 0);
    }
    /* NEXT's rover on a block that is not in the list */
    void *p[3];
    carve_heap *h = with_holes(CARVE_FIT_NEXT, CARVE_ORDER_ADDRESS, p);
    BROKEN(h, h->rover = (fblock *)((uintptr_t)p[0] + 200), h->rover = NULL);
    as_list(h);
    BROKEN(h, h->rover = (fblock *)((uintptr_t)p[0] + 200), h->rover = NULL);
}
END_TEST

/* Rotations keep a tree's key order and break its heap order (and, in TREE_ADDR, the maxima of
 * the two nodes): rotate_right then rotate_left at the same link restores the tree. */
static void rotate_right(tnode **link)
{
    tnode *n = *link, *l = n->left;
    n->left = l->right;
    l->right = n;
    *link = l;
}
static void rotate_left(tnode **link)
{
    tnode *n = *link, *r = n->right;
    n->right = r->left;
    r->left = n;
    *link = r;
}
static void swap_children(tnode *n)
{
    tnode *t = n->left;
    n->left = n->right;
    n->right = t;
}

START_TEST(check_catches_tree_damage)
{
    for (int fit = CARVE_FIT_FIRST; fit <= CARVE_FIT_WORST; fit++) {
        void *p[3];
        carve_heap *h = with_holes((carve_fit)fit, CARVE_ORDER_ADDRESS, p);
        ck_assert(h->tree);
        unsigned k = fit == CARVE_FIT_BEST ? TREE_SIZE : TREE_ADDR;
        tnode **root = &h->troot[k], *r = *root;
        ck_assert_ptr_nonnull(r);
        ck_assert(r->left != NULL || r->right != NULL); /* four free blocks */
        /* key order */
        BROKEN(h, swap_children(r), swap_children(r));
        /* heap order: the root's child above it */
        if (r->left != NULL) BROKEN(h, rotate_right(root), rotate_left(root));
        else BROKEN(h, rotate_left(root), rotate_right(root));
        /* a node in two places, a root that is not a free block, blocks on the list as well */
        tnode *l = r->left, *rr = r->right;
        if (l != NULL) BROKEN(h, r->right = l, r->right = rr);
        if (rr != NULL) BROKEN(h, r->left = rr, r->left = l);
        BROKEN(h, *root = (tnode *)(buf + 64), *root = r);
        BROKEN(h, h->head = (fblock *)r, h->head = NULL);
        if (k == TREE_ADDR) {
            /* a stored priority below a child's; a subtree maximum off by one unit */
            uint64_t mp = r->mp;
            BROKEN(h, r->mp &= TREE_MAX_MASK, r->mp = mp);
            BROKEN(h, r->mp += 16, r->mp -= 16);
            tnode *leaf = r;
            while (leaf->left != NULL || leaf->right != NULL) leaf = leaf->left != NULL ? leaf->left : leaf->right;
            BROKEN(h, leaf->mp -= 16, leaf->mp += 16);
        }
    }
}
END_TEST

START_TEST(check_catches_wrong_lists_and_bitmaps)
{
    for (int fit = CARVE_FIT_SEGREGATED; fit <= CARVE_FIT_TLSF; fit++) {
        void *p[3];
        carve_heap *h = with_holes((carve_fit)fit, CARVE_ORDER_LIFO, p);
        fblock *c = fb_of(p[1]);
        cls right = class_of(h, w_size(c->head)), wrong = class_of(h, w_size(c->head) * 4);
        BROKEN(h, (class_unlink(h, c, right), class_link(h, c, wrong)),
               (class_unlink(h, c, wrong), class_link(h, c, right)));
        if (fit == CARVE_FIT_TLSF) {
            BROKEN(h, h->sl_map[right.fl] ^= (uint16_t)(1u << right.sl), h->sl_map[right.fl] ^= (uint16_t)(1u << right.sl));
            BROKEN(h, h->sl_map[0] ^= 1, h->sl_map[0] ^= 1); /* an empty list marked non-empty */
            BROKEN(h, h->top_map ^= (uint64_t)1 << right.fl, h->top_map ^= (uint64_t)1 << right.fl);
            /* a fine row marked coarse while its coarse list is empty, a row beyond the table fine */
            BROKEN(h, h->coarse_rows |= 1, h->coarse_rows &= ~(uint64_t)1);
            BROKEN(h, h->coarse_rows &= ~((uint64_t)1 << h->rows), h->coarse_rows |= (uint64_t)1 << h->rows);
            fblock **lists = h->lists;
            BROKEN(h, h->lists += 1, h->lists = lists); /* the table is not where it should be */
        } else {
            BROKEN(h, h->top_map ^= (uint64_t)1 << right.fl, h->top_map ^= (uint64_t)1 << right.fl);
            BROKEN(h, h->top_map ^= 1, h->top_map ^= 1);
        }
    }
}
END_TEST

/* ---- TLSF after growth ---------------------------------------------------------------------- */

/* Every free block and the list it is on (fl * TLSF_SL + sl; coarse rows: 1000 + fl). */
typedef struct membership {
    uintptr_t at[4096];
    unsigned list[4096];
    size_t n;
} membership;

static void members(const carve_heap *h, membership *m)
{
    m->n = 0;
    for (unsigned fl = 0; fl < TLSF_FL_MAX; fl++) {
        bool coarse = ((h->coarse_rows >> fl) & 1) != 0;
        for (unsigned sl = 0; sl < (coarse ? 1 : TLSF_SL); sl++)
            for (const fblock *b = coarse ? h->coarse[fl] : h->lists[fl * TLSF_SL + sl]; b != NULL; b = b->next) {
                ck_assert_uint_lt(m->n, 4096);
                m->at[m->n] = (uintptr_t)b;
                m->list[m->n++] = coarse ? 1000 + fl : fl * TLSF_SL + sl;
            }
    }
}

/* Blocks that left a list, joined one, or moved between lists. */
static size_t changes(const membership *a, const membership *b)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        size_t j = 0;
        while (j < b->n && b->at[j] != a->at[i]) j++;
        n += j == b->n || b->list[j] != a->list[i];
    }
    for (size_t j = 0; j < b->n; j++) {
        size_t i = 0;
        while (i < a->n && a->at[i] != b->at[j]) i++;
        n += i == a->n;
    }
    return n;
}

START_TEST(tlsf_alloc_touches_a_bounded_number_of_lists_after_growth)
{
    static unsigned char big[(size_t)16 << 20];
    grower g = {big, big + sizeof big, 0, 0};
    carve_heap_config cfg = {.fit = CARVE_FIT_TLSF, .grow = grow_exact, .grow_ctx = &g};
    carve_heap *h = NULL;
    size_t first = 64;
    while (h == NULL) h = carve_heap_init(big, first += 64, &cfg);
    g.next = big + first;
    unsigned rows0 = h->rows;
    static void *p[2000];
    for (int i = 0; i < 2000; i++) {
        p[i] = carve_heap_alloc(h, i % 2 == 0 ? 3000 : 16);
        ck_assert_ptr_nonnull(p[i]);
    }
    ck_assert_uint_eq(h->rows, rows0);     /* no free space yet: the table has not moved */
    ck_assert_uint_gt(h->rows_wanted, rows0);
    for (int i = 0; i < 2000; i += 2) ck_assert_int_eq(carve_heap_free(h, p[i]), CARVE_OK);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    static membership before, after;
    members(h, &before);
    ck_assert_uint_ge(before.n, 1000);    /* the 3000-byte holes, in a coarse list */
    /* each alloc changes the lists of at most the block it takes and its remainder, plus, when
     * it moves the table, the block the table takes and its remainder */
    for (int k = 0; k < 20; k++) {
        unsigned rows = h->rows;
        ck_assert_ptr_nonnull(carve_heap_alloc(h, 100 + (size_t)k * 500));
        members(h, &after);
        ck_assert_uint_le(changes(&before, &after), rows != h->rows ? 4 : 2);
        ck_assert_uint_eq(carve_heap_check(h), 0);
        before = after;
    }
    ck_assert_uint_gt(h->rows, rows0);    /* the table moved, and nothing was re-filed */
}
END_TEST

/* A table moved into a block is trusted only while its header matches the heap's copy: with the
 * header overwritten (an overflow from the block below), every head is checked before it is
 * written or followed, and a damaged head gives NULL with nothing changed. */
START_TEST(a_damaged_table_is_checked_head_by_head)
{
    static unsigned char big[(size_t)4 << 20];
    grower g = {big, big + sizeof big, 0, 0};
    carve_heap_config cfg = {.fit = CARVE_FIT_TLSF, .grow = grow_exact, .grow_ctx = &g};
    carve_heap *h = NULL;
    size_t first = 64;
    while (h == NULL) h = carve_heap_init(big, first += 64, &cfg);
    g.next = big + first;
    static void *p[400];
    for (int i = 0; i < 400; i++) ck_assert_ptr_nonnull(p[i] = carve_heap_alloc(h, i % 2 == 0 ? 3000 : 24));
    for (int i = 0; i < 400; i += 2) ck_assert_int_eq(carve_heap_free(h, p[i]), CARVE_OK);
    ck_assert_ptr_nonnull(carve_heap_alloc(h, 8)); /* moves the table into a free block */
    ck_assert_uint_ne(h->table_block, 0);
    ck_assert_uint_eq(carve_heap_check(h), 0);
    ck_assert(heads_trusted(h));
    uint64_t *word = word_at(h->table_block), saved = *word;
    *word ^= (uint64_t)1 << 60; /* an overflow through the table's header */
    ck_assert(!heads_trusted(h));
    ck_assert_uint_gt(carve_heap_check(h), 0);
    /* the heads themselves are sound: operations go on, each head checked */
    void *q = carve_heap_alloc(h, 40);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(carve_heap_free(h, q), CARVE_OK);
    /* a damaged head: the alloc that would read it gives NULL and changes nothing */
    cls c = class_of(h, 48);
    fblock *head = *c.head, *bad = (fblock *)(uintptr_t)0x10;
    *c.head = bad;
    h->sl_map[c.fl] |= (uint16_t)(1u << c.sl);
    h->top_map |= (uint64_t)1 << c.fl;
    size_t free_bytes = h->free_bytes;
    uint64_t failed = h->failed;
    ck_assert_ptr_null(carve_heap_alloc(h, 40));
    ck_assert_uint_eq(h->free_bytes, free_bytes);
    ck_assert_uint_eq(h->failed, failed + 1);
    *c.head = head;
    if (head == NULL) {
        h->sl_map[c.fl] &= (uint16_t)~(1u << c.sl);
        if (h->sl_map[c.fl] == 0) h->top_map &= ~((uint64_t)1 << c.fl);
    }
    *word = saved;
    ck_assert_uint_eq(carve_heap_check(h), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("heap_internals");
    TCase *tc = tcase_create("check");
    tcase_add_test(tc, check_catches_wrong_counters);
    tcase_add_test(tc, check_catches_broken_blocks);
    tcase_add_test(tc, check_catches_two_free_neighbours);
    tcase_add_test(tc, check_catches_index_errors);
    tcase_add_test(tc, check_catches_list_order);
    tcase_add_test(tc, check_catches_tree_damage);
    tcase_add_test(tc, check_catches_wrong_lists_and_bitmaps);
    suite_add_tcase(s, tc);
    tc = tcase_create("tlsf_bound");
    tcase_add_test(tc, tlsf_alloc_touches_a_bounded_number_of_lists_after_growth);
    tcase_add_test(tc, a_damaged_table_is_checked_head_by_head);
    suite_add_tcase(s, tc);
    return s;
}

CARVE_TEST_MAIN(suite)
