"""Trust ledger: lookups, mining speed, validation and index rebuild, in one run.

* lookup: median time of ``TrustIndex.score`` / ``TrustLedger.score`` with 1M records
  (target ≤ 2 µs);
* mining: the mining loop's hash rate as a ratio of raw ``hashlib.sha256`` over the same
  bytes (target ≥ 0.7), and the time to mine at difficulty 1–5 next to the QFZZ design's
  table;
* validation of a 10,000-block chain holding 1M record changes: its replay in memory
  (hashes, links, signed difficulty, every vote), the full verification read back from
  SQLite, which also hashes the 1M interaction rows the blocks cover (target ≤ 2 s
  without the rows; the rows' cost is printed on its own), and the ledger's rebuild of
  its index and standing votes on start from that chain (target ≤ 3 s; it reads no rows).

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

from qfzz.app import build_station
from qfzz.models import Interaction, InteractionType
from qfzz.settings import Settings
from qfzz.station import QFZZStation
from qfzz.testing import SIX_GENRES, add_synthetic_tracks
from qfzz.trust import (
    GENESIS,
    ChainReplay,
    EventHistory,
    LedgerKey,
    LogHasher,
    encode_row,
    mine,
    sign_event,
)
from qfzz.trust._blocks import header_prefix

DESIGN = {1: "~10 iterations", 2: "~100", 3: "~1000 / ~10 ms", 4: "~10000 / ~100 ms", 5: "-"}
SECRET = "qfzz-bench"  # the station's configured secret: the ledger key derives from it
KEY = LedgerKey.from_secret(hashlib.sha256(SECRET.encode()).digest())
USERS = 1000
T0 = 1_700_000_000.0


def key(n: int) -> str:
    return f"{hashlib.blake2b(str(n).encode(), digest_size=32).hexdigest()}:artist {n % 5000}"


def block_rows(height: int, per_block: int) -> list[tuple[int, str, int, str, None, float]]:
    """The interaction rows block ``height`` covers: one first vote ("like") each."""
    first = (height - 1) * per_block
    return [
        (n + 1, f"u{n % USERS}", 1 + n % 72, "like", None, T0 + n / 1e6)
        for n in range(first, first + per_block)
    ]


def build_chain(blocks: int, per_block: int) -> list:
    chain = [GENESIS]
    for height in range(1, blocks):
        rows = block_rows(height, per_block)
        changes = [
            (key(n - 1), 1, 0, round(created * 1e6), n, user, 1)
            for n, user, _, _, _, created in rows
        ]
        hasher = LogHasher(chain[-1].log_hash)
        hasher.update(rows)
        chain.append(
            mine(
                height,
                1_700_000_000_000_000 + height,
                rows[-1][0],
                0,
                chain[-1].hash,
                changes,
                hasher.hexdigest(),
            )
        )
    return chain


def bench_lookup(station: QFZZStation, records: int) -> None:
    index = station.parts.ledger.index
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
            station.parts.ledger.score(content, creator)
        ledger_calls.append((time.perf_counter() - t0) / len(batch))
    print(
        f"lookup, {len(index):,} records: TrustIndex.score median "
        f"{statistics.median(per_call) * 1e6:.2f} µs, TrustLedger.score(content, creator) "
        f"{statistics.median(ledger_calls) * 1e6:.2f} µs (target ≤ 2 µs)"
    )


def bench_mining() -> None:
    changes = [(key(n), 1, 0, 1_700_000_000_000_000 + n, n + 1, "u", 1) for n in range(100)]
    t0 = time.perf_counter()
    block = mine(7, 1_700_000_000_000_000, 99, 5, GENESIS.hash, changes, GENESIS.log_hash)
    ours = time.perf_counter() - t0
    tries = block.nonce + 1
    prefix = header_prefix(
        7, 1_700_000_000_000_000, 99, 5, GENESIS.hash, block.changes, GENESIS.log_hash
    )
    t0 = time.perf_counter()
    for nonce in range(tries):
        hashlib.sha256(prefix + str(nonce).encode()).hexdigest()
    raw = time.perf_counter() - t0
    print(
        f"mining loop: {tries / ours:,.0f} hashes/s; raw hashlib.sha256 over the same "
        f"bytes: {tries / raw:,.0f} hashes/s; ratio {raw / ours:.2f} (target ≥ 0.7)"
    )
    rows = block_rows(1, 100_000)
    t0 = time.perf_counter()
    LogHasher(GENESIS.log_hash).update(rows)
    per_row = (time.perf_counter() - t0) / len(rows)
    size = sum(len(encode_row(r)) for r in rows) / len(rows)
    print(
        f"log hash: {per_row * 1e6:.2f} µs per interaction row ({size:.0f} bytes encoded); "
        f"a block of 100 votes covering 100 rows adds {per_row * 100 * 1e3:.3f} ms"
    )
    print(f"{'difficulty':>10} {'mean tries':>11} {'mean ms':>9}   QFZZ design")
    for difficulty in range(1, 6):
        runs = 40 if difficulty < 4 else (12 if difficulty == 4 else 4)
        tries_, times = [], []
        for n in range(runs):
            t0 = time.perf_counter()
            mined = mine(
                n + 1, 1_700_000_000_000_000 + n, n, difficulty, GENESIS.hash, changes, "0" * 64
            )
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
    record = sign_event(KEY, 1, "difficulty", 1, "0", 0)  # the signed difficulty history
    history = EventHistory.of([record], KEY)
    t0 = time.perf_counter()
    replay = ChainReplay(history)
    for block in chain:
        replay.feed(block)
    assert replay.fault is None, replay.fault
    print(f"validation in memory (replay, no rows): {time.perf_counter() - t0:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), demo_library=False, secret_key=SECRET)
        station = build_station(settings)
        add_synthetic_tracks(station.parts.store, SIX_GENRES)
        for user in range(USERS):
            station.register_listener(f"u{user}", {})
        t0 = time.perf_counter()
        for height in range(1, len(chain)):
            station.parts.store.interactions.write_batch(
                [
                    Interaction(user, track, InteractionType(kind), rating, created)
                    for _, user, track, kind, rating, created in block_rows(height, args.per_block)
                ]
            )
        print(f"stored {records:,} interactions in {time.perf_counter() - t0:.1f} s")
        station.parts.store.ledger.append_events([record])
        for start in range(0, len(chain), 1000):
            station.parts.store.ledger.append(chain[start : start + 1000])
        t0 = time.perf_counter()
        status = station.verify_ledger()
        print(
            f"full verification read from SQLite (blocks, votes and {records:,} rows): "
            f"{time.perf_counter() - t0:.2f} s (valid={status.valid}, height={status.height})"
        )
        t0 = time.perf_counter()
        station.start()  # loads and validates the chain, rebuilds the trust index
        print(
            f"start-up rebuild of the trust index: {time.perf_counter() - t0:.2f} s "
            f"for {len(station.parts.ledger.index):,} records (target ≤ 3 s)"
        )
        t0 = time.perf_counter()
        station.parts.ledger.load()
        print(
            f"  of which the ledger's load (chain read and replayed, no rows): "
            f"{time.perf_counter() - t0:.2f} s (the rest is the catalog's play counts)"
        )
        bench_lookup(station, records)
        station.close()


if __name__ == "__main__":
    main()
