"""bench/malloc/report.py RAW.tsv ALLOCATOR...: the malloc benchmark's report, in Markdown.

RAW.tsv comes from scripts/bench.d/malloc.sh (one line per run: workload, allocator, run,
seconds, peak_kib, status, extra `name=value` figures). For each workload and allocator the report
takes the median over the runs that succeeded, and prints wall time and peak RSS as ratios to
mimalloc and to glibc, with geometric means over the workloads, then carve's targets (issue 5):
geomean time ratio to mimalloc <= 1.0, no workload over 1.3x the best of the four peers, geomean
peak RSS ratio to mimalloc <= 1.0. Failed runs (crash, non-zero exit, timeout) are listed, never
hidden: a workload an allocator failed is left out of that allocator's geometric means.
"""
import csv
import math
import statistics
import sys

PEERS = ["glibc", "jemalloc", "tcmalloc", "mimalloc"]


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def main():
    raw_path, allocators = sys.argv[1], sys.argv[2:]
    runs = {}
    with open(raw_path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            runs.setdefault((row["workload"], row["allocator"]), []).append(row)
    workloads = list(dict.fromkeys(w for w, _ in runs))

    median = {}  # (workload, allocator) -> (seconds, peak KiB, extras)
    failures = []
    for key, rows in runs.items():
        ok = [r for r in rows if r["status"] == "ok"]
        for r in rows:
            if r["status"] != "ok":
                failures.append(f"{key[0]} on {key[1]}, run {r['run']}: {r['status']}")
        if not ok:
            continue
        extras = {}
        for r in ok:
            for item in r["extra"].split():
                name, _, value = item.partition("=")
                extras.setdefault(name, []).append(float(value))
        median[key] = (statistics.median(float(r["seconds"]) for r in ok),
                       statistics.median(float(r["peak_kib"]) for r in ok),
                       {name: statistics.median(v) for name, v in extras.items()})

    def value(workload, allocator, index):
        m = median.get((workload, allocator))
        return None if m is None else m[index]

    def ratio(workload, allocator, base, index):
        v, b = value(workload, allocator, index), value(workload, base, index)
        return None if v is None or not b else v / b

    header = "| workload | " + " | ".join(allocators) + " |"
    rule = "|---|" + "---:|" * len(allocators)
    n_runs = max(len(r) for r in runs.values())
    print(f"Medians of {n_runs} runs per workload and allocator.\n")
    print("#### Wall time (s) and peak RSS (MiB)\n")
    print(header)
    print(rule)
    for w in workloads:
        cells = []
        for a in allocators:
            m = median.get((w, a))
            cells.append("FAILED" if m is None else f"{m[0]:.3f} s, {m[1] / 1024:.1f} MiB")
        print(f"| {w} | " + " | ".join(cells) + " |")

    for index, title in ((0, "Time"), (1, "Peak RSS")):
        print(f"\n#### {title}: ratio to mimalloc (ratio to glibc); lower is better\n")
        print(header)
        print(rule)
        for w in workloads:
            cells = [f"{fmt(ratio(w, a, 'mimalloc', index))} ({fmt(ratio(w, a, 'glibc', index))})"
                     if value(w, a, index) is not None else "FAILED" for a in allocators]
            print(f"| {w} | " + " | ".join(cells) + " |")
        cells = [f"**{fmt(geomean(ratio(w, a, 'mimalloc', index) for w in workloads))}** "
                 f"({fmt(geomean(ratio(w, a, 'glibc', index) for w in workloads))})" for a in allocators]
        print("| **geomean** | " + " | ".join(cells) + " |")

    extras = sorted({name for m in median.values() for name in m[2]})
    for name in extras:
        rows = [w for w in workloads if any(name in median.get((w, a), (0, 0, {}))[2] for a in allocators)]
        for w in rows:
            print(f"\n#### {w}: {name} (KiB; ratio to mimalloc, to glibc)\n")
            print("| | " + " | ".join(allocators) + " |")
            print("|---|" + "---:|" * len(allocators))
            got = {a: median[(w, a)][2].get(name) if (w, a) in median else None for a in allocators}
            cells = []
            for a in allocators:
                v, mi, gl = got[a], got.get("mimalloc"), got.get("glibc")
                cells.append("-" if v is None else
                             f"{v:.0f} ({fmt(v / mi if mi else None)}, {fmt(v / gl if gl else None)})")
            print(f"| {name} | " + " | ".join(cells) + " |")

    if failures:
        print("\n#### Failed runs\n")
        for line in failures:
            print(f"- {line}")

    if "carve" not in allocators:
        print("\ncarve was not measured (its library was not built), so its targets are not checked.")
        return
    print("\n#### carve's targets (issue 5)\n")
    time_gm = geomean(ratio(w, "carve", "mimalloc", 0) for w in workloads)
    rss_gm = geomean(ratio(w, "carve", "mimalloc", 1) for w in workloads)
    worst, worst_w = None, None
    for w in workloads:
        peers = [value(w, p, 0) for p in PEERS if value(w, p, 0) is not None]
        c = value(w, "carve", 0)
        r = math.inf if c is None else (c / min(peers) if peers else None)
        if r is not None and (worst is None or r > worst):
            worst, worst_w = r, w
    missing = [w for w in workloads if (w, "carve") not in median]

    def verdict(x, limit):
        if missing:
            return "NOT met"
        return "not measured" if x is None else ("met" if x <= limit else "NOT met")

    print(f"- geometric mean of carve's time ratio to mimalloc: {fmt(time_gm)} "
          f"(target <= 1.0): {verdict(time_gm, 1.0)}")
    worst_text = "a failed run" if worst == math.inf else f"{fmt(worst)}x"
    print(f"- worst workload against the best of the four peers: {worst_text} on {worst_w} "
          f"(target <= 1.3): {verdict(worst, 1.3)}")
    print(f"- geometric mean of carve's peak RSS ratio to mimalloc: {fmt(rss_gm)} "
          f"(target <= 1.0): {verdict(rss_gm, 1.0)}")
    if missing:
        print(f"- carve failed on: {', '.join(missing)} (every target counts as not met)")


if __name__ == "__main__":
    main()
