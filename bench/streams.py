"""Streams: qfzz.streams against stream2py 1.0.49, measured side by side in one run.

1. Throughput: one source of N small items (default 200,000), 1, 8 and 64 reader
   threads each reading everything, buffer holding all items. Prints items/s in total
   for qfzz (a list source, which hands the buffer 256 items per lock, and a generator
   source, one item per lock) and for stream2py (its iterator, item by item, and its
   best case, ``read(n=100)``), and the ratios. stream2py is slow, so each of its runs
   stops after ``--budget`` seconds and reports the items delivered until then.
2. Memory: peak traced memory with maxlen=10,000 while 200,000 items pass through,
   for 1, 8 and 64 readers, against a buffer holding all 200,000.
3. Slicing: 1,000 items out of a 1,000,000-item (wrapped) ring, by absolute index and
   by timestamp.

    python3 run.py bench streams [--items 200000] [--readers 1,8,64] [--budget 12]

stream2py is a benchmark-only dependency: ``pip install stream2py==1.0.49``. Without
it the qfzz figures are still printed.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import random
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable

from qfzz.streams import IterableSource, StreamBuffer

try:  # the side-by-side half needs the public package, the rest does not
    import stream2py
except ImportError:  # pragma: no cover - depends on the environment
    stream2py = None


# -- qfzz ------------------------------------------------------------------------------
def qfzz_throughput(items: Iterable[int], n: int, readers: int) -> tuple[float, bool]:
    buf = StreamBuffer(IterableSource(items), maxlen=n)
    counts = [0] * readers
    rs = [buf.mk_reader() for _ in range(readers)]

    def consume(i: int) -> None:
        count = 0
        with rs[i]:
            for _ in rs[i]:
                count += 1
        counts[i] = count

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(readers)]
    start = time.perf_counter()
    with buf:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed, all(c == n for c in counts)


def qfzz_memory(n: int, maxlen: int, readers: int) -> tuple[float, int, int]:
    """Peak traced MB while n items of ~130 bytes flow through a maxlen ring."""
    gc.collect()
    tracemalloc.start()
    source = IterableSource((i, bytes(64)) for i in range(n))  # made lazily, as a live feed
    buf = StreamBuffer(source, maxlen=maxlen)
    rs = [buf.mk_reader(on_dropped="skip") for _ in range(readers)]
    seen = [0] * readers

    def consume(i: int) -> None:
        with rs[i]:
            for batch in rs[i].iter_batches():
                seen[i] += len(batch)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(readers)]
    with buf:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        held = len(buf)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert all(s + r.skipped == n for s, r in zip(seen, rs, strict=True))
    return peak / 1e6, held, buf.number_of_items_inserted


def time_per_call(fn: Callable[[], object], reps: int) -> float:
    """Median microseconds per call over ``reps`` calls (timed in groups of 10)."""
    samples = []
    for _ in range(max(1, reps // 10)):
        start = time.perf_counter()
        for _ in range(10):
            fn()
        samples.append((time.perf_counter() - start) / 10)
    return statistics.median(samples) * 1e6


def qfzz_slices(size: int, total: int, reps: int) -> dict[str, float]:
    # Items are timestamps in microseconds, 1 ms apart; the ring of `size` wraps once
    # `total` > `size` items went in, so lookups cross the ring's seam like in real use.
    buf = StreamBuffer(IterableSource(range(0, total * 1000, 1000), key=int), maxlen=size)
    buf.start()
    buf.join()
    by_index = buf.mk_reader()
    by_time = buf.mk_reader(key_trans="key")
    oldest, n = buf.oldest_index, buf.number_of_items_inserted
    rng = random.Random(1)
    starts = [rng.randrange(oldest, n - 1000) for _ in range(64)]
    assert all(
        by_index[i : i + 1000] == list(range(i * 1000, (i + 1000) * 1000, 1000)) for i in starts
    )
    assert all(len(by_time[i * 1000 : (i + 1000) * 1000]) == 1000 for i in starts)
    k = iter(range(10**9))

    def absolute() -> object:
        i = starts[next(k) % 64]
        return by_index[i : i + 1000]

    def timestamp() -> object:
        i = starts[next(k) % 64]
        return by_time[i * 1000 : (i + 1000) * 1000]

    return {"absolute": time_per_call(absolute, reps), "timestamp": time_per_call(timestamp, reps)}


# -- stream2py -------------------------------------------------------------------------
def s2p_source(n: int):  # -> stream2py.SourceReader
    class Counter(stream2py.SourceReader):
        def open(self) -> None:
            self._it = iter(range(n))

        def read(self):
            return next(self._it, None)

        def close(self) -> None:
            self._it = None

        def key(self, data):
            return data

    return Counter()


def s2p_throughput(n: int, readers: int, budget: float, chunk: int) -> tuple[float, bool]:
    """Items/s of stream2py readers (item by item if chunk == 1), stopped at the budget."""
    counts = [0] * readers
    deadline = time.perf_counter() + budget
    with stream2py.StreamBuffer(s2p_source(n), maxlen=n) as sb:
        rs = [sb.mk_reader() for _ in range(readers)]

        def consume(i: int) -> None:
            count, reader = 0, rs[i]
            if chunk == 1:
                for _ in reader:
                    count += 1
                    if count == n or (count & 255 == 0 and time.perf_counter() > deadline):
                        break
            else:
                while count < n and time.perf_counter() < deadline:
                    got = reader.read(n=chunk, blocking=True, timeout=0.5)
                    count += len(got) if isinstance(got, list) else (got is not None)
            counts[i] = count

        threads = [threading.Thread(target=consume, args=(i,)) for i in range(readers)]
        # stream2py's iterator sleeps while it sees nothing new and only ends when the
        # buffer stops; stop it if a reader is still waiting after the budget.
        watchdog = threading.Timer(budget + 2.0, sb.stop)
        start = time.perf_counter()
        for t in threads:
            t.start()
        watchdog.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        watchdog.cancel()
    return sum(counts) / elapsed, all(c == n for c in counts)


def s2p_slices(size: int, reps: int, budget: float) -> float | None:
    """Median µs of stream2py's range() of 1,000 keys out of a `size`-item buffer."""
    with stream2py.StreamBuffer(s2p_source(size), maxlen=size) as sb:
        reader = sb.mk_reader()
        deadline = time.perf_counter() + budget
        while len(sb.source_buffer) < size:
            if time.perf_counter() > deadline:
                return None
            time.sleep(0.05)
        rng = random.Random(1)
        samples = []
        for _ in range(reps):
            i = rng.randrange(0, size - 1000)
            start = time.perf_counter()
            got = reader.range(i, i + 999)
            samples.append(time.perf_counter() - start)
            assert len(got) == 1000
            if time.perf_counter() > deadline:
                break
        return statistics.median(samples) * 1e6


# -- report ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--readers", default="1,8,64")
    parser.add_argument("--budget", type=float, default=12.0, help="seconds per stream2py run")
    args = parser.parse_args()
    n, counts = args.items, [int(r) for r in args.readers.split(",")]
    if stream2py is None:
        print("stream2py is not installed (pip install stream2py==1.0.49): qfzz figures only")
    else:
        print(f"stream2py {importlib.metadata.version('stream2py')} found")

    print(f"\n1. throughput: {n:,} items, every reader reads everything, items/s in total")
    header = f"{'readers':>7} {'qfzz list':>12} {'qfzz gen':>12}"
    if stream2py is not None:
        header += f" {'s2p iter':>10} {'s2p n=100':>10} {'ratio':>7} {'ratio best':>10}"
    print(header)
    for readers in counts:
        fast, ok1 = qfzz_throughput(range(n), n, readers)
        slow, ok2 = qfzz_throughput(iter(range(n)), n, readers)
        assert ok1 and ok2, "a qfzz reader missed items"
        line = f"{readers:>7} {fast:>12,.0f} {slow:>12,.0f}"
        if stream2py is not None:
            one, done1 = s2p_throughput(n, readers, args.budget, 1)
            hundred, done100 = s2p_throughput(n, readers, args.budget, 100)
            mark1 = "" if done1 else "*"
            mark100 = "" if done100 else "*"
            line += (
                f" {one:>9,.0f}{mark1 or ' '} {hundred:>9,.0f}{mark100 or ' '}"
                f" {slow / one:>6.0f}x {slow / hundred:>9.0f}x"
            )
        print(line, flush=True)
    if stream2py is not None:
        print(
            "  ratio = qfzz gen / s2p iter (item-by-item source vs item-by-item reader); "
            "ratio best = qfzz gen / s2p n=100.\n"
            f"  * = stopped at the {args.budget:g} s budget before every reader had every item."
        )
    print("  target: >= 10x stream2py's total throughput at 64 readers")

    print("\n2. memory: peak traced MB while 200,000 items (~130 B each) pass through")
    print(f"{'maxlen':>8} {'readers':>7} {'peak MB':>8} {'held':>7} {'inserted':>9}")
    for maxlen, readers in [(10_000, 1), (10_000, 8), (10_000, 64), (200_000, 1)]:
        peak, held, inserted = qfzz_memory(200_000, maxlen, readers)
        print(f"{maxlen:>8,} {readers:>7} {peak:>8.1f} {held:>7,} {inserted:>9,}", flush=True)
    print("  target: memory bounded by maxlen regardless of the number of readers")

    print("\n3. slicing 1,000 items out of a 1,000,000-item ring (1,500,000 inserted)")
    times = qfzz_slices(1_000_000, 1_500_000, reps=2000)
    print(f"  qfzz by absolute index: {times['absolute']:7.1f} µs   (target <= 50 µs)")
    print(f"  qfzz by timestamp:      {times['timestamp']:7.1f} µs   (target <= 100 µs)")
    if stream2py is not None:
        s2p = s2p_slices(1_000_000, reps=50, budget=args.budget * 5)
        if s2p is None:
            print("  stream2py range() by key: buffer not filled within the budget")
        else:
            print(f"  stream2py range() by key: {s2p:7.1f} µs")


if __name__ == "__main__":
    main()
