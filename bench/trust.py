"""Trust ledger: lookups, mining speed, validation and index rebuild, in one run.

* lookup: median time of ``TrustIndex.score`` / ``TrustLedger.score`` with 1M records
  (target ≤ 2 µs);
* mining: the mining loop's hash rate as a ratio of raw ``hashlib.sha256`` over the same
  bytes (target ≥ 0.7), and the time to mine at difficulty 1–5 next to the QFZZ design's
  table;
* validation of a 10,000-block chain holding 1M record changes, in memory and read back
  from SQLite (target ≤ 2 s), and the ledger's rebuild of its index on start from that
  chain (target ≤ 3 s).

    python3 run.py bench trust [--blocks 10000 --per-block 100]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.trust import GENESIS, first_bad_block, mine
from qfzz.trust._blocks import header_prefix

DESIGN = {1: "~10 iterations", 2: "~100", 3: "~1000 / ~10 ms", 4: "~10000 / ~100 ms", 5: "-"}


def key(n: int) -> str:
    return f"{hashlib.blake2b(str(n).encode(), digest_size=32).hexdigest()}:artist {n % 5000}"


def build_chain(blocks: int, per_block: int) -> list:
    chain = [GENESIS]
    n = 0
    for height in range(1, blocks):
        changes = []
        for _ in range(per_block):
            changes.append((key(n), n % 7, n % 3, 1_700_000_000_000_000 + n))
            n += 1
        chain.append(
            mine(height, 1_700_000_000_000_000 + height, height, 0, chain[-1].hash, changes)
        )
    return chain


def bench_lookup(station: QFZZStation, records: int) -> None:
    index = station.ledger.index
    rng = np.random.default_rng(3)
    keys = [key(int(i)) for i in rng.integers(0, records, 20_000)]
    pairs = [k.split(":", 1) for k in keys]
    per_call = []
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        t0 = time.perf_counter()
        for k in batch:
            index.score(k)
        per_call.append((time.perf_counter() - t0) / len(batch))
    ledger_calls = []
    for start in range(0, len(pairs), 1000):
        batch = pairs[start : start + 1000]
        t0 = time.perf_counter()
        for content, creator in batch:
            station.ledger.score(content, creator)
        ledger_calls.append((time.perf_counter() - t0) / len(batch))
    print(
        f"lookup, {len(index):,} records: TrustIndex.score median "
        f"{statistics.median(per_call) * 1e6:.2f} µs, TrustLedger.score(content, creator) "
        f"{statistics.median(ledger_calls) * 1e6:.2f} µs (target ≤ 2 µs)"
    )


def bench_mining() -> None:
    changes = [(key(n), 3, 1, 1_700_000_000_000_000 + n) for n in range(100)]
    t0 = time.perf_counter()
    block = mine(7, 1_700_000_000_000_000, 99, 5, GENESIS.hash, changes)
    ours = time.perf_counter() - t0
    tries = block.nonce + 1
    prefix = header_prefix(7, 1_700_000_000_000_000, 99, 5, GENESIS.hash, block.changes)
    t0 = time.perf_counter()
    for nonce in range(tries):
        hashlib.sha256(prefix + str(nonce).encode()).hexdigest()
    raw = time.perf_counter() - t0
    print(
        f"mining loop: {tries / ours:,.0f} hashes/s; raw hashlib.sha256 over the same "
        f"bytes: {tries / raw:,.0f} hashes/s; ratio {raw / ours:.2f} (target ≥ 0.7)"
    )
    print(f"{'difficulty':>10} {'mean tries':>11} {'mean ms':>9}   QFZZ design")
    for difficulty in range(1, 6):
        runs = 40 if difficulty < 4 else (12 if difficulty == 4 else 4)
        tries_, times = [], []
        for n in range(runs):
            t0 = time.perf_counter()
            mined = mine(n + 1, 1_700_000_000_000_000 + n, n, difficulty, GENESIS.hash, changes)
            times.append(time.perf_counter() - t0)
            tries_.append(mined.nonce + 1)
        print(
            f"{difficulty:>10} {statistics.mean(tries_):>11,.0f} "
            f"{statistics.mean(times) * 1e3:>9.2f}   {DESIGN[difficulty]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--per-block", type=int, default=100)
    args = parser.parse_args()
    bench_mining()
    t0 = time.perf_counter()
    chain = build_chain(args.blocks, args.per_block)
    records = (args.blocks - 1) * args.per_block
    print(
        f"built a {len(chain):,}-block chain with {records:,} record changes in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    t0 = time.perf_counter()
    assert first_bad_block(chain) is None
    print(f"validation in memory: {time.perf_counter() - t0:.2f} s (target ≤ 2 s)")
    with tempfile.TemporaryDirectory() as tmp:
        station = QFZZStation(Settings(data_dir=Path(tmp), demo_library=False))
        for start in range(0, len(chain), 1000):
            station.store.ledger.append(chain[start : start + 1000])
        t0 = time.perf_counter()
        status = station.verify_ledger()
        print(
            f"validation read from SQLite: {time.perf_counter() - t0:.2f} s "
            f"(valid={status.valid}, height={status.height}) (target ≤ 2 s)"
        )
        t0 = time.perf_counter()
        station.start()  # loads and validates the chain, rebuilds the trust index
        print(
            f"start-up rebuild of the trust index: {time.perf_counter() - t0:.2f} s "
            f"for {len(station.ledger.index):,} records (target ≤ 3 s)"
        )
        bench_lookup(station, records)
        station.close()


if __name__ == "__main__":
    main()
