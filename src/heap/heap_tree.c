/*
 * src/heap/heap_tree.c: the free-block index of FIRST, NEXT, BEST and WORST in ADDRESS order.
 *
 * With ADDRESS order the list of heap_index.c is fully determined by the set of free blocks, and
 * so is each policy's choice:
 *   FIRST  the lowest-addressed free block that fits;
 *   NEXT   the lowest-addressed block that fits at or above the roving block's address, else
 *          the lowest-addressed block that fits (the list's search from the rover, wrapping once);
 *          the rover becomes the block chosen; when the rover's block leaves the index it moves
 *          to its successor (the next free block by address at that moment), and when the rest
 *          of a split takes the block's place, to the rest;
 *   BEST   the smallest fitting block, the lowest-addressed among equals: the least
 *          (size, address) with size >= the request;
 *   WORST  the largest block, the lowest-addressed among equals, if it fits.
 * Instead of walking that list (O(free blocks) for each search and each sorted insert), this
 * file keeps the same set in treaps (binary search trees in key order whose priorities are in
 * heap order, Seidel and Aragon 1996) and answers exactly the same questions in O(depth):
 *   TREE_ADDR    (FIRST, NEXT, WORST) blocks above 32 bytes by address; each node holds the
 *                largest block size of its subtree, so "the leftmost block that fits" is one
 *                descent (go left while the left subtree's maximum fits, else take the node,
 *                else go right), and "at or above an address" is one descent along that address
 *                plus one of those;
 *   TREE_ADDR32  (FIRST, NEXT, WORST) the 32-byte blocks, which have no room for the maximum:
 *                all the same size, so only "the lowest address (at or above a)" is asked;
 *   TREE_SIZE    (BEST) every block by (size, address): the first key >= (request, 0).
 * A search answers the lower address of the two address trees. WORST takes TREE_ADDR's root
 * maximum and descends to its leftmost occurrence (TREE_ADDR32 only when TREE_ADDR is empty).
 * The node layout is drawn in heap_tree.h.
 *
 * Updates. Insert: descend while the node met has the higher priority, then split the subtree
 * below along the new key into the new node's two children. Remove: merge the node's two
 * subtrees by priority in its place. Replace (the rest of a split, in TREE_ADDR): the rest takes
 * the node's place, children and stored priority: one descent, no rotation. The subtree maxima
 * of TREE_ADDR are then recomputed bottom-up along the chains that changed: the links followed
 * down are reversed to point at the node above and restored on the way back (no stack, no
 * recursion, any depth).
 *
 * Invariants (carve_heap_check verifies every one, heap_tree_check): each tree is in strict key
 * order; a child's priority is below its parent's (TREE_ADDR: stored priority, ties by address;
 * the others: the address hash); a TREE_ADDR node's maximum is the largest size in its subtree;
 * TREE_ADDR holds exactly the free blocks above 32 bytes, TREE_ADDR32 those of 32 (BEST:
 * TREE_SIZE holds them all); the rover, if set, is a node of the address trees; the list heads
 * are empty.
 *
 * Bound. A treap's shape is that of a random binary search tree when its priorities are
 * random, whatever the order of the updates: expected depth below 2 ln n + 1 (n free blocks;
 * about 20 at n = 10,000) and height about 4.3 ln n. Every operation costs O(depth) node visits:
 * search one or two descents, insert and remove two or three, replace one or two. The
 * priorities are a keyed hash of the address: a program that knew the key could choose which
 * blocks to free so that the treap degenerates; the heap would stay correct, at O(n) per step.
 * LIFO, FIFO, SIZE_ASC and SIZE_DESC stay lists (heap_index.c): there the O(n) is the point.
 *
 * Damage. The nodes are free blocks, which an overflow or a write after free can reach. Before
 * anything changes, the caller asks heap_tree_removable / heap_tree_insertable for each block it
 * will take out or put in; these walk, from the root, the search paths of the block's key from
 * just below and just above (they part at a node of that key): every node on them, and in
 * TREE_ADDR every child of such a node (its maximum is read), must be a sound free block of
 * that tree (block_sound: inside a region, header check, USED clear) whose key lies strictly
 * inside the range its position allows and whose priority is below its parent's. A treap's
 * search path for key k is exactly the nodes that have the highest priority among the nodes
 * between themselves and k; removing nodes only lets nodes in whose key range held a removed
 * one. So for any sequence of removals and inserts whose keys were checked this way, every node
 * an update follows, writes or reads a maximum from lies on one of the checked paths or is a
 * child of one: the updates need no further check. A search checks each node it reaches (and
 * in TREE_ADDR the children whose maxima it reads) and answers FB_DAMAGED instead of following
 * a bad one; a maximum that promises a fit that is not there is damage too. The key ranges
 * make a cycle impossible; a walk also stops after more nodes than there are free blocks.
 *
 * Tests. unit.heap_tree runs random alloc/aligned_alloc/realloc/free/growth sequences through a
 * heap with the trees and one whose tree flag is clear (heap_index.c's address-ordered list, the
 * reference) and compares every offset, the block walk and NEXT's rover after every operation,
 * and checks each choice against a scan of the free blocks; unit.heap_internals breaks each
 * invariant above by hand; unit.heap's hand-laid heaps and unit.lab_simheap (the simulator
 * against the heap) hold the placement contract.
 */
#include "heap/heap_tree.h"

#define TREE_HOT static inline __attribute__((always_inline))

/* ---- keys, priorities, maxima -------------------------------------------------------------- */

typedef struct tkey {
    size_t s;    /* the size in TREE_SIZE, 0 in the address trees */
    uintptr_t a; /* the address */
} tkey;

static const tkey KEY_MIN = {0, 0}, KEY_MAX = {SIZE_MAX, UINTPTR_MAX}; /* no block has either */

TREE_HOT size_t t_size(const tnode *n) { return w_size(n->head); }
TREE_HOT tkey key_of(unsigned k, const tnode *n) { return (tkey){k == TREE_SIZE ? t_size(n) : 0, (uintptr_t)n}; }
TREE_HOT bool kless(tkey x, tkey y) { return x.s < y.s || (x.s == y.s && x.a < y.a); }
TREE_HOT bool keq(tkey x, tkey y) { return x.s == y.s && x.a == y.a; }

/* Does a come before b in heap order (a higher priority)? */
TREE_HOT bool above(const carve_heap *h, unsigned k, const tnode *a, const tnode *b)
{
    if (k == TREE_ADDR) {
        uint64_t pa = a->mp >> TREE_PRIO_SHIFT, pb = b->mp >> TREE_PRIO_SHIFT;
        return pa != pb ? pa > pb : (uintptr_t)a > (uintptr_t)b;
    }
    return tree_hash(h, (uintptr_t)a) > tree_hash(h, (uintptr_t)b);
}

TREE_HOT size_t t_max(const tnode *n) { return n != NULL ? (size_t)(n->mp & TREE_MAX_MASK) : 0; }
TREE_HOT void put_max(tnode *n, size_t m) { n->mp = (n->mp & ~TREE_MAX_MASK) | (uint64_t)m; }

/* n's maximum from its size and its children's maxima. */
TREE_HOT void set_max(tnode *n)
{
    size_t m = t_size(n), l = t_max(n->left), r = t_max(n->right);
    put_max(n, m > l ? (m > r ? m : r) : (l > r ? l : r));
}

/* ---- updates (no checks: the caller checked the paths, see "Damage") ------------------------ */

/* Recompute the maxima of a chain that starts at c and goes on through each node's right (or
 * left) child: reversed on the way down, restored and recomputed on the way up. */
static void fix_chain(tnode *c, bool right)
{
    tnode *up = NULL;
    while (c != NULL) {
        tnode **d = right ? &c->right : &c->left, *next = *d;
        *d = up;
        up = c;
        c = next;
    }
    tnode *below = NULL;
    while (up != NULL) {
        tnode **d = right ? &up->right : &up->left, *next = *d;
        *d = below;
        set_max(up);
        below = up;
        up = next;
    }
}

/* Recompute the maxima of TREE_ADDR on the search path of address key from the root down to
 * last (which lies on it), the same way. */
static void refresh_to(carve_heap *h, uintptr_t key, tnode *last)
{
    tnode *up = NULL, *n = h->troot[TREE_ADDR];
    while (n != last) {
        tnode **d = key < (uintptr_t)n ? &n->left : &n->right, *next = *d;
        *d = up;
        up = n;
        n = next;
    }
    set_max(n);
    while (up != NULL) {
        tnode **d = key < (uintptr_t)up ? &up->left : &up->right, *next = *d;
        *d = n;
        set_max(up);
        n = up;
        up = next;
    }
}

static void t_insert(carve_heap *h, unsigned k, tnode *x)
{
    tnode **link = &h->troot[k], *n;
    tkey kx = key_of(k, x);
    size_t s = t_size(x);
    if (k == TREE_ADDR) x->mp = (tree_hash(h, (uintptr_t)x) & ~TREE_MAX_MASK) | (uint64_t)s;
    while ((n = *link) != NULL && above(h, k, n, x)) {
        if (k == TREE_ADDR && t_max(n) < s) put_max(n, s); /* x joins its subtree */
        link = kless(kx, key_of(k, n)) ? &n->left : &n->right;
    }
    /* x takes n's place; n's subtree splits along x's key into x's children */
    tnode **l = &x->left, **r = &x->right;
    while (n != NULL) {
        if (kless(key_of(k, n), kx)) {
            *l = n;
            l = &n->right;
            n = n->right;
        } else {
            *r = n;
            r = &n->left;
            n = n->left;
        }
    }
    *l = NULL;
    *r = NULL;
    *link = x;
    if (k == TREE_ADDR) {
        fix_chain(x->left, true);
        fix_chain(x->right, false);
        set_max(x);
    }
}

static void t_remove(carve_heap *h, unsigned k, tnode *y)
{
    tnode **link = &h->troot[k], *n, *last = NULL;
    tkey ky = key_of(k, y);
    while ((n = *link) != y) {
        last = n;
        link = kless(ky, key_of(k, n)) ? &n->left : &n->right;
    }
    /* merge y's subtrees in its place: the left one's right spine and the right one's left
     * spine, interleaved by priority; last: the deepest node whose child changed */
    tnode *a = y->left, *b = y->right, **out = link;
    while (a != NULL && b != NULL) {
        if (above(h, k, a, b)) {
            *out = last = a;
            out = &a->right;
            a = a->right;
        } else {
            *out = last = b;
            out = &b->left;
            b = b->left;
        }
    }
    *out = a != NULL ? a : b;
    if (k == TREE_ADDR && last != NULL) refresh_to(h, (uintptr_t)y, last);
}

/* z (a TREE_ADDR block, in y's gap of the key order) takes y's place in TREE_ADDR. */
static void t_substitute(carve_heap *h, tnode *y, tnode *z)
{
    tnode **link = &h->troot[TREE_ADDR], *n;
    while ((n = *link) != y) link = (uintptr_t)y < (uintptr_t)n ? &n->left : &n->right;
    size_t was = t_max(y);
    z->left = y->left;
    z->right = y->right;
    z->mp = y->mp & ~TREE_MAX_MASK; /* the priority */
    set_max(z);
    *link = z;
    size_t now = t_max(z);
    if (now < was) {
        refresh_to(h, (uintptr_t)z, z);
    } else if (now > was) { /* (only a larger z: never for the rest of a split) */
        for (n = h->troot[TREE_ADDR]; n != z; n = (uintptr_t)z < (uintptr_t)n ? n->left : n->right)
            if (t_max(n) < now) put_max(n, now);
    }
}

/* The lowest address above a in tree k (the caller checked its path), or NULL. */
static tnode *t_after(const carve_heap *h, unsigned k, uintptr_t a)
{
    tnode *best = NULL;
    for (tnode *n = h->troot[k]; n != NULL;) {
        if ((uintptr_t)n > a) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

void heap_tree_insert(carve_heap *h, fblock *b)
{
    tnode *x = (tnode *)b;
    t_insert(h, tree_of(h, t_size(x)), x);
}

void heap_tree_remove(carve_heap *h, fblock *b)
{
    tnode *y = (tnode *)b;
    t_remove(h, tree_of(h, t_size(y)), y);
    if (h->rover == b) { /* NEXT: the rover moves to the next free block by address */
        tnode *n = t_after(h, TREE_ADDR, (uintptr_t)y), *s = t_after(h, TREE_ADDR32, (uintptr_t)y);
        h->rover = (fblock *)(n == NULL || (s != NULL && s < n) ? s : n);
    }
}

void heap_tree_replace(carve_heap *h, fblock *b, fblock *rest)
{
    tnode *y = (tnode *)b, *z = (tnode *)rest;
    unsigned kz = tree_of(h, t_size(z));
    if (kz == TREE_ADDR) { /* then y, larger, is in TREE_ADDR too */
        t_substitute(h, y, z);
    } else {
        t_remove(h, tree_of(h, t_size(y)), y);
        t_insert(h, kz, z);
    }
    if (h->rover == b) h->rover = rest;
}

/* ---- checked walks ------------------------------------------------------------------------ */

typedef struct walk {
    const carve_heap *h;
    const region *hint;
    size_t steps;
} walk;

/* Is n, read from a link, a sound node of tree k whose key lies strictly inside (lo, hi)? */
TREE_HOT bool reach(walk *w, unsigned k, const tnode *n, tkey lo, tkey hi)
{
    if (++w->steps > w->h->free_blocks || !block_sound_near(w->h, (const fblock *)n, &w->hint)) return false;
    size_t s = t_size(n);
    if (k == TREE_ADDR ? s <= TREE_SMALL : k == TREE_ADDR32 && s != TREE_SMALL) return false;
    tkey kn = key_of(k, n);
    return kless(lo, kn) && kless(kn, hi);
}

/* reach, and below parent (NULL: the root) in heap order. */
TREE_HOT bool reach_below(walk *w, unsigned k, const tnode *n, tkey lo, tkey hi, const tnode *parent)
{
    return reach(w, k, n, lo, hi) && (parent == NULL || above(w->h, k, parent, n));
}

/* A spine (each node's right child, or left) from n, in (lo, hi), below parent; in TREE_ADDR
 * also each spine node's other child. */
static bool spine_sound(walk *w, unsigned k, const tnode *n, tkey lo, tkey hi, const tnode *parent, bool right)
{
    for (; n != NULL; parent = n, n = right ? n->right : n->left) {
        if (!reach_below(w, k, n, lo, hi, parent)) return false;
        tkey kn = key_of(k, n);
        const tnode *other = right ? n->left : n->right;
        if (k == TREE_ADDR && other != NULL && !reach_below(w, k, other, right ? lo : kn, right ? kn : hi, n))
            return false;
        if (right) lo = kn;
        else hi = kn;
    }
    return true;
}

/* The search paths of key from below and from above in tree k are sound (see "Damage"); want,
 * if not NULL, is the node of that key, which must be met. */
static bool paths_sound(const carve_heap *h, unsigned k, tkey key, const tnode *want)
{
    walk w = {h, NULL, 0};
    tkey lo = KEY_MIN, hi = KEY_MAX;
    const tnode *parent = NULL;
    for (const tnode *n = h->troot[k]; n != NULL;) {
        if (!reach_below(&w, k, n, lo, hi, parent)) return false;
        tkey kn = key_of(k, n);
        if (keq(key, kn))
            return spine_sound(&w, k, n->left, lo, kn, n, true) && spine_sound(&w, k, n->right, kn, hi, n, false);
        bool left = kless(key, kn);
        const tnode *other = left ? n->right : n->left;
        if (k == TREE_ADDR && other != NULL && !reach_below(&w, k, other, left ? kn : lo, left ? hi : kn, n))
            return false;
        if (left) hi = kn;
        else lo = kn;
        parent = n;
        n = left ? n->left : n->right;
    }
    return want == NULL;
}

bool heap_tree_removable(const carve_heap *h, const fblock *b)
{
    const tnode *y = (const tnode *)b;
    unsigned k = tree_of(h, t_size(y));
    tkey key = key_of(k, y);
    if (!paths_sound(h, k, key, y)) return false;
    /* NEXT: if b is the rover, its successor is looked up in both address trees */
    return h->fit != CARVE_FIT_NEXT || paths_sound(h, k == TREE_ADDR ? TREE_ADDR32 : TREE_ADDR, key, NULL);
}

/* Did heap_tree_removable(skip) already check the paths a block [b, b+size) goes in along? In
 * the address trees, when skip lies in that block's span or the block starts in skip's: every
 * free block between the two addresses is then one the caller takes out (its span was used or
 * skipped memory), so the new block's key and skip's have the same neighbours on the paths.
 * (skip's paths were checked in its own tree, and for NEXT in both.) */
static bool checked_with(const carve_heap *h, unsigned k, uintptr_t b, size_t size, const fblock *skip)
{
    if (skip == NULL || k == TREE_SIZE) return false;
    uintptr_t s = (uintptr_t)skip;
    if (!(s - b <= size || b - s < t_size((const tnode *)skip))) return false;
    return h->fit == CARVE_FIT_NEXT || tree_of(h, t_size((const tnode *)skip)) == k;
}

bool heap_tree_insertable(const carve_heap *h, uintptr_t b, size_t size, const fblock *skip1, const fblock *skip2)
{
    unsigned k = tree_of(h, size);
    if (checked_with(h, k, b, size, skip1) || checked_with(h, k, b, size, skip2)) return true;
    return paths_sound(h, k, (tkey){k == TREE_SIZE ? size : 0, b}, NULL);
}

/* ---- searches ------------------------------------------------------------------------------ */

#define DAMAGED ((tnode *)FB_DAMAGED)

/* TREE_ADDR: the leftmost block of at least need in n's subtree (n reached, in (lo, hi), its
 * maximum at least need). */
static tnode *leftmost_fit(walk *w, tnode *n, uintptr_t lo, uintptr_t hi, size_t need)
{
    for (;;) {
        tnode *l = n->left;
        if (l != NULL) {
            if (!reach(w, TREE_ADDR, l, (tkey){0, lo}, (tkey){0, (uintptr_t)n})) return DAMAGED;
            if (t_max(l) >= need) {
                hi = (uintptr_t)n;
                n = l;
                continue;
            }
        }
        if (t_size(n) >= need) return n;
        tnode *r = n->right;
        if (r == NULL || !reach(w, TREE_ADDR, r, (tkey){0, (uintptr_t)n}, (tkey){0, hi}) || t_max(r) < need)
            return DAMAGED; /* the maximum promised a fit */
        lo = (uintptr_t)n;
        n = r;
    }
}

/* TREE_ADDR: the lowest-addressed block of at least need at or above address from. The nodes at
 * or above from are, in address order, each node where the search path of from turns left,
 * deepest first, followed by its right subtree: the deepest such node that fits, or whose right
 * subtree does, holds the answer. */
static tnode *addr_first(walk *w, uintptr_t from, size_t need)
{
    tnode *n = w->h->troot[TREE_ADDR], *cand = NULL;
    uintptr_t lo = 0, hi = UINTPTR_MAX, clo = 0, chi = 0;
    if (n == NULL) return NULL;
    if (!reach(w, TREE_ADDR, n, KEY_MIN, KEY_MAX)) return DAMAGED;
    if (t_max(n) < need) return NULL;
    if (from == 0) return leftmost_fit(w, n, lo, hi, need);
    bool self = false;
    for (;;) {
        tnode *next;
        if ((uintptr_t)n >= from) {
            tnode *r = n->right;
            if (t_size(n) >= need) {
                cand = n, self = true;
            } else if (r != NULL) {
                if (!reach(w, TREE_ADDR, r, (tkey){0, (uintptr_t)n}, (tkey){0, hi})) return DAMAGED;
                if (t_max(r) >= need) cand = r, self = false, clo = (uintptr_t)n, chi = hi;
            }
            hi = (uintptr_t)n;
            next = n->left;
        } else {
            lo = (uintptr_t)n;
            next = n->right;
        }
        if (next == NULL) break;
        if (!reach(w, TREE_ADDR, next, (tkey){0, lo}, (tkey){0, hi})) return DAMAGED;
        n = next;
    }
    if (cand == NULL || self) return cand;
    return leftmost_fit(w, cand, clo, chi, need);
}

/* TREE_ADDR32: the lowest address at or above from. */
static tnode *addr32_first(walk *w, uintptr_t from)
{
    tnode *cand = NULL;
    uintptr_t lo = 0, hi = UINTPTR_MAX;
    for (tnode *n = w->h->troot[TREE_ADDR32]; n != NULL;) {
        if (!reach(w, TREE_ADDR32, n, (tkey){0, lo}, (tkey){0, hi})) return DAMAGED;
        if ((uintptr_t)n >= from) {
            cand = n;
            hi = (uintptr_t)n;
            n = n->left;
        } else {
            lo = (uintptr_t)n;
            n = n->right;
        }
    }
    return cand;
}

/* FIRST from an address: the lower address of the two trees' answers. */
static fblock *first_from(const carve_heap *h, uintptr_t from, size_t need)
{
    walk w = {h, NULL, 0};
    tnode *a = addr_first(&w, from, need);
    if (a == DAMAGED || need > TREE_SMALL) return (fblock *)a;
    w.steps = 0;
    tnode *s = addr32_first(&w, from);
    if (s == DAMAGED) return FB_DAMAGED;
    return (fblock *)(a == NULL || (s != NULL && s < a) ? s : a);
}

/* BEST: the least (size, address) with size >= need. */
static fblock *best_fit(const carve_heap *h, size_t need)
{
    walk w = {h, NULL, 0};
    tkey lo = KEY_MIN, hi = KEY_MAX;
    tnode *cand = NULL;
    for (tnode *n = h->troot[TREE_SIZE]; n != NULL;) {
        if (!reach(&w, TREE_SIZE, n, lo, hi)) return FB_DAMAGED;
        if (t_size(n) >= need) {
            cand = n;
            hi = key_of(TREE_SIZE, n);
            n = n->left;
        } else {
            lo = key_of(TREE_SIZE, n);
            n = n->right;
        }
    }
    return (fblock *)cand;
}

/* WORST: the leftmost block of the largest size, if it fits. */
static fblock *worst_fit(const carve_heap *h, size_t need)
{
    walk w = {h, NULL, 0};
    tnode *n = h->troot[TREE_ADDR];
    if (n == NULL) { /* only 32-byte blocks, if any */
        tnode *s = need <= TREE_SMALL ? addr32_first(&w, 0) : NULL;
        return (fblock *)s;
    }
    if (!reach(&w, TREE_ADDR, n, KEY_MIN, KEY_MAX)) return FB_DAMAGED;
    size_t top = t_max(n);
    if (top < need) return NULL;
    uintptr_t lo = 0, hi = UINTPTR_MAX;
    for (;;) {
        tnode *l = n->left;
        if (l != NULL) {
            if (!reach(&w, TREE_ADDR, l, (tkey){0, lo}, (tkey){0, (uintptr_t)n})) return FB_DAMAGED;
            if (t_max(l) == top) {
                hi = (uintptr_t)n;
                n = l;
                continue;
            }
        }
        if (t_size(n) == top) return (fblock *)n;
        tnode *r = n->right;
        if (r == NULL || !reach(&w, TREE_ADDR, r, (tkey){0, (uintptr_t)n}, (tkey){0, hi}) || t_max(r) != top)
            return FB_DAMAGED; /* the maxima do not lead to a block of that size */
        lo = (uintptr_t)n;
        n = r;
    }
}

fblock *heap_tree_find(carve_heap *h, size_t size)
{
    switch (h->fit) {
    case CARVE_FIT_FIRST: return first_from(h, 0, size);
    case CARVE_FIT_NEXT: {
        uintptr_t from = (uintptr_t)h->rover; /* 0: no rover, search from the start */
        fblock *b = first_from(h, from, size);
        if (b == NULL && from != 0) b = first_from(h, 0, size);
        if (b != NULL && b != FB_DAMAGED) h->rover = b;
        return b;
    }
    case CARVE_FIT_BEST: return best_fit(h, size);
    default: return worst_fit(h, size);
    }
}

/* ---- the check ---------------------------------------------------------------------------- */

/* The check walks each tree in key order with a stack of the nodes whose left subtree is being
 * walked. The stack holds CHECK_DEPTH of them (deeper than a treap of random priorities gets in
 * any heap that fits in memory); if a deeper path pushes the oldest out, the walk finds the next
 * node by a search from the root for the successor of the last key when the stack runs dry: the
 * check is O(n) for any sound treap and stays correct, O(n depth) at worst, for any other tree. */
#define CHECK_DEPTH 96

typedef struct frame {
    const tnode *n;
    tkey lo, hi; /* n's key range; its right subtree's is (n, hi) */
} frame;

typedef struct check_stack {
    frame f[CHECK_DEPTH];
    unsigned base, len;
    bool lost; /* frames were pushed out */
} check_stack;

static void push(check_stack *s, const tnode *n, tkey lo, tkey hi)
{
    if (s->len == CHECK_DEPTH) {
        s->base = (s->base + 1) % CHECK_DEPTH;
        s->len--;
        s->lost = true;
    }
    s->f[(s->base + s->len++) % CHECK_DEPTH] = (frame){n, lo, hi};
}

/* Checking reach: each node is reached from its parent once, so no step bound is needed (the
 * key ranges rule out cycles; the count of nodes visited bounds the walk). */
TREE_HOT bool check_reach(walk *w, unsigned k, const tnode *n, tkey lo, tkey hi, const tnode *parent)
{
    w->steps = 0;
    return reach_below(w, k, n, lo, hi, parent);
}

/* Tree k in key order: every node sound, in its key range, below its parent in priority, with a
 * sound footer; in TREE_ADDR its maximum is its subtree's largest size. Adds the nodes to
 * *count; stops after limit. */
static size_t check_tree(const carve_heap *h, unsigned k, size_t limit, size_t *count, bool *saw_rover)
{
    size_t bad = 0;
    walk w = {h, NULL, 0};
    check_stack st = {.base = 0, .len = 0, .lost = false};
    tkey last = KEY_MIN, lo = KEY_MIN, hi = KEY_MAX;
    const tnode *n = h->troot[k], *parent = NULL;
    for (;;) {
        for (; n != NULL; parent = n, n = n->left) { /* down the left spine */
            if (!check_reach(&w, k, n, lo, hi, parent)) return bad + 1; /* the rest is unreachable */
            push(&st, n, lo, hi);
            hi = key_of(k, n);
        }
        if (st.len == 0) {
            if (!st.lost) return bad; /* every node visited */
            st.lost = false;          /* find the successor of last from the root */
            lo = KEY_MIN, hi = KEY_MAX, parent = NULL;
            for (n = h->troot[k]; n != NULL; parent = n) {
                if (!check_reach(&w, k, n, lo, hi, parent)) return bad + 1;
                tkey kn = key_of(k, n);
                if (kless(last, kn)) {
                    push(&st, n, lo, hi);
                    hi = kn, n = n->left;
                } else {
                    lo = kn, n = n->right;
                }
            }
            if (st.len == 0) return bad;
        }
        frame f = st.f[(st.base + --st.len) % CHECK_DEPTH];
        n = f.n;
        if (++*count > limit) return bad + 1; /* more nodes than free blocks */
        bad += !footer_sound((const fblock *)n);
        if ((const fblock *)n == h->rover) *saw_rover = true;
        last = key_of(k, n);
        if (k == TREE_ADDR) { /* the maximum, from the children (each checked before it is read) */
            size_t m = t_size(n);
            const tnode *l = n->left, *r = n->right;
            if (l != NULL && !check_reach(&w, k, l, f.lo, last, n)) return bad + 1;
            if (r != NULL && !check_reach(&w, k, r, last, f.hi, n)) return bad + 1;
            if (t_max(l) > m) m = t_max(l);
            if (t_max(r) > m) m = t_max(r);
            bad += t_max(n) != m;
        }
        parent = n;
        n = n->right; /* then its right subtree, in (n, hi) */
        lo = last, hi = f.hi;
    }
}

size_t heap_tree_check(const carve_heap *h, size_t free_blocks)
{
    size_t bad = 0, count = 0;
    bool saw_rover = false;
    for (unsigned k = TREE_ADDR; k <= TREE_SIZE; k++) {
        bool used = (k == TREE_SIZE) == (h->fit == CARVE_FIT_BEST);
        if (used) bad += check_tree(h, k, free_blocks, &count, &saw_rover);
        else bad += h->troot[k] != NULL;
    }
    bad += h->rover != NULL && (h->fit != CARVE_FIT_NEXT || !saw_rover);
    bad += h->head != NULL || h->tail != NULL || h->top_map != 0;
    bad += count != free_blocks; /* with distinct, sound entries: each free block exactly once */
    return bad;
}
