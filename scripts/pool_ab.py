#!/usr/bin/env python3
"""scripts/pool_ab.py: run builds of bench/pool_bench.c alternately and report medians.

    python3 scripts/pool_ab.py ROUNDS name=BINARY [name=BINARY ...]

Each round runs every binary once (`--runs 3 --pairs 10000000`, under the shared CPU lock
/tmp/carve-cpu.lock) from a FRESH COPY of the file: on this machine the same bytes ran the call
path up to 4x slower from one copy than from another, reproducibly, so a binary's own file
placement must not decide a comparison. Prints, per variant and binary, the median over rounds
of ns/pair (with the min-max), of "x bare" and of "x malloc", and `uptime` at the end.
"""
import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    bins = [a.split('=', 1) for a in sys.argv[2:]]
    tmpd = tempfile.mkdtemp(prefix='pool_ab')
    data = collections.defaultdict(lambda: collections.defaultdict(list))
    order = []
    for r in range(rounds):
        for name, path in bins:
            copy = os.path.join(tmpd, '%s.%d' % (name, r))
            shutil.copyfile(path, copy)
            os.chmod(copy, 0o755)
            out = subprocess.run(['flock', '/tmp/carve-cpu.lock', copy, '--runs', '3', '--pairs', '10000000'],
                                 capture_output=True, text=True, check=True).stdout
            os.unlink(copy)
            for line in out.splitlines()[2:]:
                f = line.split()
                if len(f) != 4:
                    continue
                if f[0] not in order:
                    order.append(f[0])
                data[name][f[0]].append(tuple(float(x) for x in f[1:]))
    shutil.rmtree(tmpd)
    print('%-16s' % 'variant' + ''.join('%30s' % n for n, _ in bins))
    print('%-16s' % '' + ''.join('%30s' % 'ns [min-max] xbare xmalloc' for _ in bins))
    for v in order:
        row = '%-16s' % v
        for n, _ in bins:
            d = data[n][v]
            if not d:
                row += '%30s' % '-'
                continue
            ns = [x[0] for x in d]
            row += '  %5.2f [%5.2f-%5.2f] %4.2f %5.3f' % (statistics.median(ns), min(ns), max(ns),
                                                      statistics.median(x[1] for x in d),
                                                      statistics.median(x[2] for x in d))
        print(row)
    print(os.popen('uptime').read().strip())


if __name__ == '__main__':
    main()
