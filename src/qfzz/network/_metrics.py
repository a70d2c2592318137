"""Play metrics that add up to one total on every node: per-node signed tallies, merged as CRDTs.

Each (content, hour window) — ``window_id = floor(timestamp / METRIC_WINDOW_SEC)``, keyed
``metric_key(content_id, window_id)`` — holds one ``Tally`` per node that served plays: a
PN-counter of views (``views`` = P, ``retracted`` = N), G-counters of watch seconds, bytes out
and completions, and a HyperLogLog of the ViewIDs (``blake3(ContentID || device_salt)``) it
saw. The window's values are sums over the nodes (views = ΣP − ΣN) and the union of their
sketches.

Why per-node signed tallies rather than one merged state: only node X signs X's tally, so a
peer that relays metrics cannot forge or inflate anyone's counts but its own, and every
relayed tally verifies anywhere. Each tally has one writer whose counters only grow with its
``logical_counter``, so keeping, per (window, node), the tally of highest rank
``(logical_counter, timestamp, signed bytes)`` *is* the per-node max of a PN/G-counter and
the union of that node's sketch — while staying byte-exact. (A merged HLL is not: datasketches'
union gives different bytes, and after mode changes different HIP state, for the same inputs in
a different order, so merging sketches pairwise would not give byte-identical state.) The
window's union is computed on read, always in node-id order, so every replica holding the same
tallies reports the same estimate: ``merge`` is commutative, associative and idempotent, and any
delivery order of the same records gives the same state.

Sketch size: lg_k = 15 in HLL_4 (``METRIC_HLL_LG_K``). The union across nodes is read with the
composite estimator, relative standard error ≈ 1.04/√32768 ≈ 0.57 %, so the ±2 % acceptance is
3.5 standard errors (miss rate ≈ 5·10⁻⁴; measured over 100 seeds at 100k views split over
three nodes: σ 0.51 %, worst 1.3 %). lg_k = 12 (1.6 %) missed ±2 % in 14 of those 100 seeds,
13 in 6, 14 in none (worst 1.9 %, too close). A full sketch is at most 16,936 bytes
(≈ 34 KB as hex on the wire); a node's tally for one content-hour is usually a handful of views,
which datasketches keeps as a coupon list of a few dozen bytes.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import blake3
from datasketches import hll_sketch, hll_union, tgt_hll_type

from qfzz.errors import InvalidInput
from qfzz.network._identity import (
    PUBLIC_KEY_BYTES,
    SCHEMA_VERSION,
    SIGNATURE_BYTES,
    NodeIdentity,
    node_id_of,
    verify_signature,
)
from qfzz.network._records import (
    MAX_COUNTER,
    InvalidRecord,
    MalformedRecord,
    _count,
    _field,
    _hex,
    _node_id,
    _number,
    _obj,
    _signed_message,
    _str,
    canonical,
)

METRIC_WINDOW_SEC = 3600
"""``DHT_METRIC_WINDOW_SEC``: one window per content and hour."""
METRIC_HLL_LG_K = 15
METRIC_HLL_TYPE = tgt_hll_type.HLL_4
MAX_METRIC_HLL_BYTES: int = hll_sketch.get_max_updatable_serialization_bytes(
    METRIC_HLL_LG_K, METRIC_HLL_TYPE
)
"""16,936: the largest lg_k 15 HLL_4 sketch; a compact one is never larger."""
MAX_WINDOW_ID = MAX_COUNTER // METRIC_WINDOW_SEC
MAX_DEVICE_SALT_BYTES = 64
METRIC_MAX_SKEW = 300.0
"""A record may be for a window that starts at most this far in the receiver's future."""
DEFAULT_HORIZON_WINDOWS = 24 * 7
"""A book keeps the last week of windows (counted back from the newest it has seen)."""
DEFAULT_MAX_KEYS = 100_000
UNIQUES_SLACK = 1.0 + 5 * 1.04 / math.sqrt(2**METRIC_HLL_LG_K)
"""A node saw at most ``views`` distinct ViewIDs; its sketch may estimate up to 5 standard
errors more (an honest sketch exceeds that about 3 times in 10⁷), no further."""
_KIND = "metric"
_CONTENT_ID_HEX = 64
_CONTENT_ID = re.compile(f"[0-9a-f]{{{_CONTENT_ID_HEX}}}")


def metric_key(content_id: str, window_id: int) -> str:
    """The record key of a content's window: versioned, so schemas never mix."""
    return f"{SCHEMA_VERSION}/metric/{content_id}/{window_id}"


def window_id_of(timestamp: float, window_sec: int = METRIC_WINDOW_SEC) -> int:
    """``floor(timestamp / window_sec)``: every node puts a play in the same window."""
    if not math.isfinite(timestamp) or not 0.0 <= timestamp <= MAX_COUNTER:
        raise InvalidInput(f"timestamp {timestamp!r} is not a time")
    return math.floor(timestamp / window_sec)


def view_id(content_id: str, device_salt: bytes) -> str:
    """``blake3(ContentID || device_salt)``, hex: one device counts once per content, and the
    sketch never holds anything that names the device across contents."""
    raw = _content_bytes(content_id)
    if not 0 < len(device_salt) <= MAX_DEVICE_SALT_BYTES:
        raise InvalidInput(f"device_salt must be 1..{MAX_DEVICE_SALT_BYTES} bytes")
    return blake3.blake3(raw + device_salt).hexdigest()


def _content_bytes(content_id: str) -> bytes:
    if _CONTENT_ID.fullmatch(content_id) is None:
        raise InvalidInput(f"content_id must be {_CONTENT_ID_HEX} lowercase hex digits")
    return bytes.fromhex(content_id)


def _new_sketch() -> hll_sketch:
    return hll_sketch(METRIC_HLL_LG_K, METRIC_HLL_TYPE)


EMPTY_HLL = bytes(_new_sketch().serialize_compact())


def parse_sketch(raw: bytes) -> hll_sketch:
    """A peer's sketch: size first, then the library's own checks, then our configuration."""
    if not 0 < len(raw) <= MAX_METRIC_HLL_BYTES:
        raise MalformedRecord(
            f"a metric sketch is 1..{MAX_METRIC_HLL_BYTES} bytes, not {len(raw)}", "bad_hll"
        )
    try:
        sketch = hll_sketch.deserialize(raw)
    except Exception:  # the C++ library raises assorted types for bad bytes
        raise MalformedRecord("hll is not an HLL sketch", "bad_hll") from None
    if (
        sketch.lg_config_k != METRIC_HLL_LG_K
        or sketch.tgt_type != METRIC_HLL_TYPE
        or not math.isfinite(sketch.get_estimate())
    ):
        raise MalformedRecord(f"hll must be an lg_k {METRIC_HLL_LG_K} HLL_4 sketch", "bad_hll")
    return sketch


# -- one node's tally ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """One node's counters in one (content, window): the unit a node signs.

    ``views`` and ``retracted`` are the node's P and N of the views PN-counter; the others are
    its G-counters. ``logical_counter`` rises with every change, so the newer tally of a node
    dominates the older in every counter.
    """

    views: int = 0
    retracted: int = 0
    watch_seconds: int = 0
    bytes_out: int = 0
    completions: int = 0
    hll: bytes = EMPTY_HLL
    logical_counter: int = 0
    timestamp: float = 0.0

    def payload(self) -> dict[str, Any]:
        return {
            "views": self.views,
            "retracted": self.retracted,
            "watch_seconds": self.watch_seconds,
            "bytes_out": self.bytes_out,
            "completions": self.completions,
            "hll": self.hll.hex(),
            "logical_counter": self.logical_counter,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> Tally:
        """Parse and bound the tally fields of a record (the sketch is parsed too)."""
        hll = _str(_field(obj, "hll", "metric record"), "hll", 2 * MAX_METRIC_HLL_BYTES)
        try:
            raw = bytes.fromhex(hll)
        except ValueError:
            raise MalformedRecord("hll must be hex", "bad_hll") from None
        parse_sketch(raw)
        return cls(
            views=_count(_field(obj, "views", "metric record"), "views"),
            retracted=_count(_field(obj, "retracted", "metric record"), "retracted"),
            watch_seconds=_count(_field(obj, "watch_seconds", "metric record"), "watch_seconds"),
            bytes_out=_count(_field(obj, "bytes_out", "metric record"), "bytes_out"),
            completions=_count(_field(obj, "completions", "metric record"), "completions"),
            hll=raw,
            logical_counter=_count(
                _field(obj, "logical_counter", "metric record"), "logical_counter"
            ),
            timestamp=_number(_field(obj, "timestamp", "metric record"), "timestamp"),
        )

    def check(self) -> None:
        """Raise ``InvalidRecord`` for counts no honest node produces: retractions and
        completions of views it never recorded, or more uniques than views."""
        if self.retracted > self.views or self.completions > self.views:
            raise InvalidRecord(
                "retracted and completions cannot exceed views", "inconsistent_counts"
            )
        uniques = parse_sketch(self.hll).get_estimate()
        if uniques > self.views * UNIQUES_SLACK + 1.0:
            raise InvalidRecord(
                f"{uniques:.0f} uniques from {self.views} views", "inconsistent_counts"
            )

    def outranks(self, other: Tally) -> bool:
        """LWW order of one node's tallies: (logical_counter, timestamp), then the canonical
        bytes, so two different tallies never tie and every replica keeps the same one."""
        mine = (self.logical_counter, self.timestamp)
        theirs = (other.logical_counter, other.timestamp)
        if mine != theirs:
            return mine > theirs
        return canonical(self.payload()) > canonical(other.payload())


# -- the signed wire form --------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRecord:
    """Node ``node_id``'s tally for ``content_id`` in ``window_id``, signed by that node.

    The record carries the signer's public key and its node id must be the key's blake3, so a
    record claiming another node's contribution cannot verify.
    """

    content_id: str
    window_id: int
    node_id: str
    public_key: bytes
    tally: Tally
    signature: bytes = b""

    @property
    def key(self) -> str:
        return metric_key(self.content_id, self.window_id)

    @classmethod
    def signed(
        cls, identity: NodeIdentity, content_id: str, window_id: int, tally: Tally
    ) -> MetricRecord:
        unsigned = cls(content_id, window_id, identity.node_id, identity.public_key, tally)
        return replace(unsigned, signature=identity.sign(unsigned.message()))

    def _payload(self) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "window_id": self.window_id,
            "node_id": self.node_id,
            "public_key": self.public_key.hex(),
            **self.tally.payload(),
        }

    def message(self) -> bytes:
        return _signed_message(_KIND, self._payload())

    def to_json(self) -> dict[str, Any]:
        return {**self._payload(), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, value: object) -> MetricRecord:
        """Parse and bound a record; raises ``MalformedRecord`` (``verify`` checks it)."""
        obj = _obj(value, "metric record")
        window_id = _count(_field(obj, "window_id", "metric record"), "window_id")
        if window_id > MAX_WINDOW_ID:
            raise MalformedRecord(f"window_id is above {MAX_WINDOW_ID}", "bad_window")
        content_id = _node_id(_field(obj, "content_id", "metric record"), "content_id")
        return cls(
            content_id=content_id,
            window_id=window_id,
            node_id=_node_id(_field(obj, "node_id", "metric record"), "node_id"),
            public_key=_hex(
                _field(obj, "public_key", "metric record"), "public_key", PUBLIC_KEY_BYTES
            ),
            tally=Tally.from_json(obj),
            signature=_hex(_field(obj, "signature", "metric record"), "signature", SIGNATURE_BYTES),
        )

    def verify(self) -> None:
        """Raise ``MalformedRecord`` or ``InvalidRecord`` unless every field is in bounds, the
        counts are consistent, the node id is its key's and that key signed this record."""
        bounded = MetricRecord.from_json(self.to_json())  # one set of bounds, built or parsed
        if bounded != self:
            raise MalformedRecord("metric record does not survive its own wire form")
        if node_id_of(self.public_key) != self.node_id:
            raise InvalidRecord("node_id is not the blake3 of its public key", "node_id_mismatch")
        self.tally.check()
        if not verify_signature(self.public_key, self.message(), self.signature):
            raise InvalidRecord("metric signature does not verify", "bad_signature")


# -- one (content, window) -------------------------------------------------------------------


@dataclass(frozen=True)
class MetricTotals:
    """Values summed over nodes (and windows): what a station shows."""

    views: int
    uniques: float
    watch_seconds: int
    bytes_out: int
    completions: int


class MetricWindow:
    """The CRDT state of one (content, window): the dominant tally of each node.

    A tally that arrived signed keeps its record, so this node can relay it; this node's own
    tallies are unsigned until ``MetricBook.export`` signs them. Equality and ``snapshot`` are
    over tallies only: the metric state, not how it travelled.
    """

    def __init__(self, content_id: str, window_id: int) -> None:
        self.content_id = content_id
        self.window_id = window_id
        self._tallies: dict[str, Tally] = {}
        self._records: dict[str, MetricRecord] = {}

    @property
    def key(self) -> str:
        return metric_key(self.content_id, self.window_id)

    def record_view(
        self,
        node_id: str,
        view: str,
        *,
        watch_seconds: int,
        bytes_out: int,
        completed: bool,
        now: float,
    ) -> Tally:
        """Count one view by ``node_id`` (this node) and return its new tally."""
        current = self._tallies.get(node_id, Tally())
        sketch = hll_sketch.deserialize(current.hll)
        sketch.update(view)
        tally = Tally(
            views=_bump(current.views, 1),
            retracted=current.retracted,
            watch_seconds=_bump(current.watch_seconds, watch_seconds),
            bytes_out=_bump(current.bytes_out, bytes_out),
            completions=_bump(current.completions, int(bool(completed))),
            hll=bytes(sketch.serialize_compact()),
            logical_counter=_bump(current.logical_counter, 1),
            timestamp=float(now),
        )
        self._set(node_id, tally, None)
        return tally

    def retract_view(self, node_id: str, *, now: float) -> Tally:
        """Take back one of ``node_id``'s views (the N of the PN-counter; e.g. a play found
        to be a bot's). Its ViewID stays in the sketch: a HyperLogLog cannot forget."""
        current = self._tallies.get(node_id, Tally())
        if current.retracted >= current.views:
            raise InvalidInput("no view of this node is left to retract")
        tally = replace(
            current,
            retracted=current.retracted + 1,
            logical_counter=_bump(current.logical_counter, 1),
            timestamp=float(now),
        )
        self._set(node_id, tally, None)
        return tally

    def put(self, node_id: str, tally: Tally, record: MetricRecord | None = None) -> bool:
        """Keep ``tally`` if it outranks the node's current one; True if the state changed.

        Callers pass only checked tallies (``MetricBook.apply`` verifies records)."""
        current = self._tallies.get(node_id)
        if current is None or tally.outranks(current):
            self._set(node_id, tally, record)
            return True
        if record is not None and tally == current and node_id not in self._records:
            self._records[node_id] = record  # the same tally, now also relayable
        return False

    def _set(self, node_id: str, tally: Tally, record: MetricRecord | None) -> None:
        self._tallies[node_id] = tally
        if record is None:
            self._records.pop(node_id, None)
        else:
            self._records[node_id] = record

    def merge(self, other: MetricWindow) -> None:
        """Per node, the dominant tally of the two (see the module text)."""
        for node_id, tally in other._tallies.items():
            self.put(node_id, tally, other._records.get(node_id))

    def copy(self) -> MetricWindow:
        clone = MetricWindow(self.content_id, self.window_id)
        clone._tallies = dict(self._tallies)
        clone._records = dict(self._records)
        return clone

    def tally(self, node_id: str) -> Tally | None:
        return self._tallies.get(node_id)

    def record(self, node_id: str) -> MetricRecord | None:
        """The signed form of ``node_id``'s current tally, if this node holds one."""
        return self._records.get(node_id)

    def nodes(self) -> list[str]:
        return sorted(self._tallies)

    def snapshot(self) -> dict[str, Tally]:
        return dict(self._tallies)

    def sketches(self) -> Iterator[bytes]:
        """The nodes' sketches in node-id order (the order every union is taken in)."""
        return (self._tallies[n].hll for n in self.nodes())

    @property
    def views(self) -> int:
        return sum(t.views for t in self._tallies.values()) - sum(
            t.retracted for t in self._tallies.values()
        )

    @property
    def uniques(self) -> float:
        return _union_estimate(self.sketches())

    @property
    def watch_seconds(self) -> int:
        return sum(t.watch_seconds for t in self._tallies.values())

    @property
    def bytes_out(self) -> int:
        return sum(t.bytes_out for t in self._tallies.values())

    @property
    def completions(self) -> int:
        return sum(t.completions for t in self._tallies.values())

    def totals(self) -> MetricTotals:
        return MetricTotals(
            self.views, self.uniques, self.watch_seconds, self.bytes_out, self.completions
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricWindow):
            return NotImplemented
        return (self.content_id, self.window_id, self._tallies) == (
            other.content_id,
            other.window_id,
            other._tallies,
        )

    __hash__ = None  # type: ignore[assignment]


def _bump(value: int, by: int) -> int:
    if isinstance(by, bool) or not isinstance(by, int) or by < 0:
        raise InvalidInput("counter increments are non-negative integers")
    if value + by > MAX_COUNTER:
        raise InvalidInput(f"a counter would pass {MAX_COUNTER}")
    return value + by


def _union_estimate(sketches: Iterable[bytes]) -> float:
    union = hll_union(METRIC_HLL_LG_K)
    for raw in sketches:
        union.update(hll_sketch.deserialize(raw))
    return float(union.get_estimate())


# -- a node's book of windows ----------------------------------------------------------------


class MetricBook:
    """All windows a node holds, keyed by ``metric_key``, with bounded memory.

    Memory is bounded by time and by count, in ways that keep the state a function of the set
    of records seen, not of their order: windows ``horizon`` or more behind the newest window
    seen are dropped (a record for one is ignored), and of the rest only the ``max_keys``
    greatest by (window_id, content_id) are kept. The newest window only rises, and the top
    ``max_keys`` of a set plus one key is the top ``max_keys`` of the top ``max_keys`` plus that
    key, so the kept windows are the same whatever the delivery order. A record for a window
    that starts after ``now + max_skew`` is refused, so a far-future record cannot push every
    real window past the horizon. The count bound is a guard against a flood, not fairness:
    under one, the contents with the smallest ids go first.
    """

    def __init__(
        self,
        *,
        horizon: int = DEFAULT_HORIZON_WINDOWS,
        max_keys: int = DEFAULT_MAX_KEYS,
        max_skew: float = METRIC_MAX_SKEW,
        window_sec: int = METRIC_WINDOW_SEC,
    ) -> None:
        if horizon < 1 or max_keys < 1 or window_sec < 1:
            raise InvalidInput("a book keeps at least one window of at least one second")
        # every node of a network must use the same length: a window id means nothing else
        self.window_sec = window_sec
        self.horizon = horizon
        self.max_keys = max_keys
        self.max_skew = max_skew
        self._windows: dict[tuple[int, str], MetricWindow] = {}
        self._heap: list[tuple[int, str]] = []  # exactly the held keys, smallest first
        self._newest = -1

    def record_view(
        self,
        node_id: str,
        content_id: str,
        device_salt: bytes,
        *,
        watch_seconds: int,
        bytes_out: int,
        completed: bool,
        now: float,
    ) -> bool:
        """Count a play served by this node (``node_id``) at ``now``; False if its window is
        already past the horizon (a clock that went back)."""
        view = view_id(content_id, device_salt)
        _bump(0, watch_seconds), _bump(0, bytes_out)  # refuse bad input before a window exists
        window = self._admit(content_id, window_id_of(now, self.window_sec), None)
        if window is None:
            return False
        window.record_view(
            node_id,
            view,
            watch_seconds=watch_seconds,
            bytes_out=bytes_out,
            completed=completed,
            now=now,
        )
        return True

    def retract_view(self, node_id: str, content_id: str, window_id: int, *, now: float) -> None:
        """Take back one of this node's views in a window it holds."""
        window = self._windows.get((window_id, content_id))
        if window is None:
            raise InvalidInput("no such window")
        window.retract_view(node_id, now=now)

    def export(self, identity: NodeIdentity) -> list[MetricRecord]:
        """Sign this node's tallies that changed since the last export, and return them."""
        fresh = []
        for window in self._sorted():
            tally = window.tally(identity.node_id)
            if tally is not None and window.record(identity.node_id) is None:
                record = MetricRecord.signed(identity, window.content_id, window.window_id, tally)
                window.put(identity.node_id, tally, record)
                fresh.append(record)
        return fresh

    def records(self) -> list[MetricRecord]:
        """Every signed record held, in key and node order (what a node relays)."""
        held = (w.record(n) for w in self._sorted() for n in w.nodes())
        return [r for r in held if r is not None]

    def apply(self, record: MetricRecord, *, now: float) -> bool:
        """Verify and merge one record; True if it changed the state.

        Raises ``MalformedRecord``/``InvalidRecord`` (nothing stored) for a record that does
        not verify or is for a future window; returns False for one past the horizon.
        """
        record.verify()
        window = self._admit(record.content_id, record.window_id, now)
        if window is None:
            return False
        return window.put(record.node_id, record.tally, record)

    def merge(self, other: MetricBook) -> None:
        """Merge another book (whose records were verified when they entered it)."""
        for theirs in other._sorted():
            window = self._admit(theirs.content_id, theirs.window_id, None)
            if window is not None:
                window.merge(theirs)

    def copy(self) -> MetricBook:
        clone = MetricBook(
            horizon=self.horizon,
            max_keys=self.max_keys,
            max_skew=self.max_skew,
            window_sec=self.window_sec,
        )
        clone._windows = {k: w.copy() for k, w in self._windows.items()}
        clone._heap = list(self._heap)
        clone._newest = self._newest
        return clone

    def _admit(self, content_id: str, window_id: int, now: float | None) -> MetricWindow | None:
        latest = (
            window_id_of(max(0.0, now + self.max_skew), self.window_sec) if now is not None else 0
        )
        if now is not None and window_id > latest:
            raise InvalidRecord(f"window {window_id} has not started yet", "future_window")
        key = (window_id, content_id)
        if window_id > self._newest:
            self._newest = window_id
            while self._heap and self._heap[0][0] <= self._newest - self.horizon:
                self._windows.pop(heapq.heappop(self._heap), None)
        if window_id <= self._newest - self.horizon:
            return None
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = MetricWindow(content_id, window_id)
            heapq.heappush(self._heap, key)
            while len(self._windows) > self.max_keys:
                del self._windows[heapq.heappop(self._heap)]
        return self._windows.get(key)

    def _sorted(self) -> list[MetricWindow]:
        return [self._windows[k] for k in sorted(self._windows)]

    def window(self, content_id: str, window_id: int) -> MetricWindow | None:
        return self._windows.get((window_id, content_id))

    def snapshot(self) -> dict[str, dict[str, Tally]]:
        """key → node → tally: the metric state, for comparisons and persistence."""
        return {w.key: w.snapshot() for w in self._sorted()}

    def totals(self, content_id: str) -> MetricTotals:
        """A content's values over every window held; uniques counts a device once across
        windows (the union of all the sketches, not a sum of window estimates)."""
        windows = [w for w in self._sorted() if w.content_id == content_id]
        return MetricTotals(
            views=sum(w.views for w in windows),
            uniques=_union_estimate(s for w in windows for s in w.sketches()),
            watch_seconds=sum(w.watch_seconds for w in windows),
            bytes_out=sum(w.bytes_out for w in windows),
            completions=sum(w.completions for w in windows),
        )

    def __len__(self) -> int:
        return len(self._windows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricBook):
            return NotImplemented
        return self.snapshot() == other.snapshot()

    __hash__ = None  # type: ignore[assignment]
