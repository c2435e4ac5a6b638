/*
 * src/heap/heap_tree.h: the treaps that index the free blocks of FIRST, NEXT, BEST and WORST in
 * ADDRESS order (the algorithm, its invariants and bounds are in heap_tree.c). The nodes are the
 * free blocks themselves: a node's links overlay the list links of heap_internal.h's fblock.
 *
 * Three trees, chosen by policy and block size (TREE_SMALL = 32 bytes, the smallest block):
 *   TREE_ADDR    FIRST/NEXT/WORST, blocks of more than 32 bytes: keyed by address; each node
 *                holds the largest block size of its subtree and its own priority
 *   TREE_ADDR32  FIRST/NEXT/WORST, blocks of exactly 32 bytes: keyed by address; no size field
 *                (every node has the same size), priority a hash of the address
 *   TREE_SIZE    BEST, every block: keyed by (size, address); priority a hash of the address
 *
 *   TREE_ADDR node (40 bytes or more)          TREE_ADDR32 or TREE_SIZE node (32 bytes or more)
 *   +-----------------------------------+ b    +-----------------------------------+ b
 *   | header word                       |      | header word                       |
 *   +-----------------------------------+ b+8  +-----------------------------------+ b+8
 *   | left:  the subtree of lower keys  |      | left:  the subtree of lower keys  |
 *   | right: the subtree of higher keys |      | right: the subtree of higher keys |
 *   | mp: bits 40..63 priority,         | b+24 |   ... (unused)                    |
 *   |     bits 0..39 subtree max size   |      |                                   |
 *   |   ... (unused)                    |      | footer word                       |
 *   | footer word                       |      +-----------------------------------+ b+size
 *   +-----------------------------------+ b+size
 *
 * Traps:
 * - mp exists only in TREE_ADDR nodes: in a 32-byte block the word at b+24 is the footer.
 * - A node's priority is stored (TREE_ADDR) or computed from its address (the others): a block
 *   that takes another's place in TREE_ADDR (the rest of a split, a merged block) inherits the
 *   stored priority, which keeps the heap order without moving anything. Equal stored priorities
 *   are ordered by address, so every comparison is strict.
 * - left and right are the fblock's next and prev words: a block is on one index only.
 */
#ifndef CARVE_HEAP_TREE_H
#define CARVE_HEAP_TREE_H

#include "heap/heap_internal.h"

enum { TREE_ADDR, TREE_ADDR32, TREE_SIZE };

#define TREE_SMALL     ((size_t)32)                    /* the blocks of TREE_ADDR32 */
#define TREE_MAX_MASK  ((uint64_t)0xFFFFFFFFFFull)    /* mp: the subtree's largest block */
#define TREE_PRIO_SHIFT 40                             /* mp: the priority above it */

struct tnode {
    uint64_t head;              /* the block's header word */
    struct tnode *left, *right; /* over fblock's next and prev */
    uint64_t mp;                /* TREE_ADDR only: priority << 40 | subtree max size */
};
typedef struct tnode tnode;

/* The tree a free block of this size belongs to in h (BEST: TREE_SIZE). */
CARVE_INLINE unsigned tree_of(const carve_heap *h, size_t size)
{
    return h->fit == CARVE_FIT_BEST ? TREE_SIZE : size > TREE_SMALL ? TREE_ADDR : TREE_ADDR32;
}

/* The priority of a node of TREE_ADDR32 or TREE_SIZE, and of a node when it enters TREE_ADDR: a
 * bijective mix of its address and the heap's key, so distinct blocks never tie. */
CARVE_INLINE uint64_t tree_hash(const carve_heap *h, uintptr_t a)
{
    uint64_t x = (uint64_t)a ^ h->key;
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 32);
}

#endif /* CARVE_HEAP_TREE_H */
