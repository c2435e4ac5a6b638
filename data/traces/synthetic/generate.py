#!/usr/bin/env python3
"""data/traces/synthetic/generate.py [DIR]: write the synthetic traces (default: beside this file).

Traces of the shapes that allocator labs grade with (the CS:APP malloc lab's among them), made
from a description of each shape and a fixed seed, so that they can ship with carve and be made
again byte for byte. The .rep format: four header lines (suggested heap = the peak of live
bytes, ids, operations, weight 1), then `a ID SIZE`, `r ID SIZE`, `f ID`.

  binary, binary2     pairs of a small and a large block; every large one freed; then blocks
                      slightly bigger than the large ones, which the holes cannot hold
  coalescing          two blocks of one size freed together, then one block of twice the size:
                      served from the same place only by an allocator that merges free blocks
  random, random2     random sizes, allocations and frees interleaved at random
  realloc, realloc2   one block grown by realloc step by step while small blocks are taken
                      and freed right after it, in the way of an in-place growth
  obstack1..4         program-like: bursts of 4 KiB chunks (as obstacks take them) and small
                      objects of a few common sizes, some short-lived, the rest freed in
                      phases and at the end
  short1, short2      a dozen operations, to follow by hand

Only random.Random(seed).random() is used (its sequence is fixed across Python versions).
"""
import os
import random
import sys


class Trace:
    def __init__(self):
        self.ops, self.size, self.next_id = [], {}, 0
        self.live = self.peak = 0

    def alloc(self, size):
        i = self.next_id
        self.next_id += 1
        self.ops.append(f"a {i} {size}")
        self.size[i] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        return i

    def realloc(self, i, size):
        self.ops.append(f"r {i} {size}")
        self.live += size - self.size[i]
        self.size[i] = size
        self.peak = max(self.peak, self.live)

    def free(self, i):
        self.ops.append(f"f {i}")
        self.live -= self.size.pop(i)

    def text(self):
        assert not self.size, "every block is freed by the end"
        head = [str(self.peak), str(self.next_id), str(len(self.ops)), "1"]
        return "\n".join(head + self.ops) + "\n"


def below(rng, n):
    return int(rng.random() * n)


def binary(pairs, small, large, bigger):
    t = Trace()
    large_ids = []
    for _ in range(pairs):
        t.alloc(small)
        large_ids.append(t.alloc(large))
    for i in large_ids:
        t.free(i)
    for _ in range(pairs):
        t.alloc(bigger)
    for i in sorted(t.size):
        t.free(i)
    return t


def coalescing(rounds, size):
    t = Trace()
    for _ in range(rounds):
        x, y = t.alloc(size), t.alloc(size)
        t.free(x)
        t.free(y)
        t.free(t.alloc(2 * size))
    return t


def random_shape(seed, nids, lo, hi, p_alloc):
    rng, t, live = random.Random(seed), Trace(), []
    while t.next_id < nids or live:
        if t.next_id < nids and (not live or rng.random() < p_alloc):
            live.append(t.alloc(lo + below(rng, hi - lo)))
        else:
            k = below(rng, len(live))
            live[k], live[-1] = live[-1], live[k]
            t.free(live.pop())
    return t


def realloc_shape(steps, start, step, small):
    t = Trace()
    grown, prev = t.alloc(start), None
    size = start
    for _ in range(steps):
        size += step
        t.realloc(grown, size)
        cur = t.alloc(small)
        if prev is not None:
            t.free(prev)
        prev = cur
    t.free(prev)
    t.free(grown)
    return t


def obstack(seed, nids, smalls, big_max):
    """Bursts of 4072-byte chunks and small objects; a third short-lived (freed within a hundred
    operations), the rest kept until a phase ends (a random half of them freed) or the end."""
    rng, t = random.Random(seed), Trace()
    pending, kept = [], []  # pending: (due, id)
    step = 0
    while t.next_id < nids:
        step += 1
        r = rng.random()
        if r < 0.70:
            size = 4072
        elif r < 0.99:
            size = smalls[below(rng, len(smalls))]
        else:
            size = 8192 + below(rng, big_max - 8192)
        i = t.alloc(size)
        if rng.random() < 0.35:
            pending.append((step + 1 + below(rng, 100), i))
        else:
            kept.append(i)
        due = [p for p in pending if p[0] <= step]
        pending = [p for p in pending if p[0] > step]
        for _, j in due:
            t.free(j)
        if rng.random() < 0.002 and kept:  # a phase ends
            keep = []
            for j in kept:
                if rng.random() < 0.5:
                    t.free(j)
                else:
                    keep.append(j)
            kept = keep
    for _, j in pending:
        t.free(j)
    for j in kept:
        t.free(j)
    return t


def short(ops):
    t = Trace()
    ids = {}
    for op in ops:
        if op[0] == "a":
            ids[op[1]] = t.alloc(op[2])
        else:
            t.free(ids.pop(op[1]))
    return t


TRACES = {
    "binary": lambda: binary(2000, 64, 448, 512),
    "binary2": lambda: binary(4000, 16, 112, 128),
    "coalescing": lambda: coalescing(2400, 4095),
    "random": lambda: random_shape(1, 2400, 24, 32768, 0.6),
    "random2": lambda: random_shape(2, 2400, 32, 32768, 0.6),
    "realloc": lambda: realloc_shape(4800, 512, 128, 128),
    "realloc2": lambda: realloc_shape(4800, 4092, 5, 16),
    "obstack1": lambda: obstack(11, 2800, [9, 10, 24, 72, 160, 456], 12000),
    "obstack2": lambda: obstack(12, 2900, [7, 9, 40, 72, 160, 456], 22000),
    "obstack3": lambda: obstack(13, 3300, [9, 16, 72, 96, 160, 456], 22000),
    "obstack4": lambda: obstack(14, 2700, [7, 9, 10, 72, 160, 456], 44000),
    "short1": lambda: short([("a", "x", 2040), ("a", "y", 4072), ("f", "x"), ("a", "z", 48),
                             ("a", "w", 2040), ("f", "y"), ("f", "z"), ("f", "w")]),
    "short2": lambda: short([("a", "x", 100), ("a", "y", 200), ("a", "z", 300), ("f", "y"),
                             ("a", "w", 150), ("f", "x"), ("f", "z"), ("f", "w")]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, make in TRACES.items():
        with open(os.path.join(out, name + ".rep"), "w") as f:
            f.write(make().text())


if __name__ == "__main__":
    main()
