"""tests/preload/python_workload.py: a multi-threaded Python program for the preload test.

Run under PYTHONMALLOC=malloc, every object goes through the C allocator. Four worker threads
build dicts of strings, sort them, hash, round-trip JSON and run regular expressions; a
producer/consumer pair passes fresh objects through a queue, so they are freed by a thread other
than the one that made them. Every result is a pure function of the seeds, and the report is
printed in a fixed order, so two runs print the same bytes whatever the thread schedule.
"""
import hashlib
import json
import queue
import random
import re
import sys
import threading
import zlib

WORKERS = 4
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def worker(seed, results):
    rng = random.Random(seed)
    digest = hashlib.sha256()
    words = 0
    for round_no in range(ROUNDS):
        table = {}
        for _ in range(1500):
            key = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 12)))
            table[key] = [rng.random() for _ in range(rng.randint(0, 6))] + [key.upper() * rng.randint(1, 4)]
        ordered = sorted(table.items(), key=lambda kv: (len(kv[0]), kv[0]))
        text = json.dumps(ordered, sort_keys=True)
        back = json.loads(text)
        assert back == [list(kv) for kv in ordered], "json round trip changed the data"
        blob = zlib.compress(text.encode(), 6)
        assert zlib.decompress(blob) == text.encode(), "zlib round trip changed the data"
        words += len(re.findall(r"\b[a-m][a-z]{4,}\b", " ".join(table)))
        digest.update(hashlib.md5(blob).digest())
        digest.update(str(round_no).encode() + b":" + str(len(table)).encode())
    results[seed] = (words, digest.hexdigest())


def producer(q, seed, count):
    rng = random.Random(seed)
    for i in range(count):
        q.put({"id": i, "name": "item-%d-%s" % (i, "x" * rng.randint(0, 200)),
               "tags": [str(rng.random()) for _ in range(rng.randint(1, 8))]})
    q.put(None)


def consumer(q, out):
    total, checksum = 0, 0
    while True:
        item = q.get()
        if item is None:
            break
        total += 1
        checksum = zlib.crc32(json.dumps(item, sort_keys=True).encode(), checksum)
        del item  # the last reference dies here, in the consumer thread
    out.append((total, checksum))


def main():
    results = {}
    threads = [threading.Thread(target=worker, args=(seed, results)) for seed in range(WORKERS)]
    q = queue.Queue(maxsize=256)
    consumed = []
    threads.append(threading.Thread(target=producer, args=(q, 99, 20000)))
    threads.append(threading.Thread(target=consumer, args=(q, consumed)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in range(WORKERS):
        words, hexdigest = results[seed]
        print("worker %d: %d words, sha256 %s" % (seed, words, hexdigest))
    print("queue: %d items, crc32 %08x" % consumed[0])


if __name__ == "__main__":
    main()
