"""How many nodes are there? A HyperLogLog of node ids, and an estimate a liar cannot inflate.

The design takes ``N_estimate = max(N_local, peers' reports)``: one node claiming 10⁹
wins. Here a report counts only if its peer is sufficiently reachable (receipts: a sybil
island cannot vouch for itself), and the highest claim is capped by the estimate (plus
``cap_std_devs`` standard errors) of our sketch merged with the sketches of the trusted
reporters — all but the ``trim`` share whose sketch alone would add the most to ours. A
forged sketch adds the most, so it is left out whatever its sender claims (high, or low to
some peers and high to others, which defeated trimming by claim); honest partial views
still add up to the population. Raising the estimate beyond the ids seen takes more than
``trim`` of a node's reachable peers lying together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from datasketches import hll_sketch, hll_union, tgt_hll_type

from qfzz.errors import InvalidInput

HLL_LG_K = 12
"""4,096 registers: a relative standard error of 1.04/√4096 ≈ 1.6 % in ≤ 4 KiB."""
MAX_SKETCH_BYTES = 8192
CAP_STD_DEVS = 0
"""How far above the merged estimate a report may go, in standard errors. 0: the merged
estimate itself. A liar is capped at exactly the cap, so every standard error of slack is
~1.6 % of bias it may add; an honest report is itself an estimate of (a subset of) the same
ids, so cutting it to the merged estimate loses nothing. Measured on the seeded 1,000-node
test with 10 % liars (30 seeds): max error 2.9 % at 0, 4.6 % at 1."""
DEFAULT_TRIM = 0.2
OUTLIER_FACTOR = 2.0
"""A peer's sketch merged with ours may estimate at most this many times the median such
merge. Honest partial views differ by far less (a peer rarely knows twice what the median
peer does); a forged sketch of made-up ids is orders of magnitude out."""


class InvalidSketch(InvalidInput):
    """Bytes that are not a bounded HLL sketch of this node's configuration."""

    code = "invalid_sketch"


class NodeSketch:
    """A HyperLogLog of node ids: mergeable (union) and small on the wire."""

    def __init__(self, sketch: hll_sketch | None = None) -> None:
        self._sketch = sketch if sketch is not None else hll_sketch(HLL_LG_K, tgt_hll_type.HLL_8)

    @classmethod
    def of(cls, node_ids: Iterable[str]) -> NodeSketch:
        sketch = cls()
        for node_id in node_ids:
            sketch.add(node_id)
        return sketch

    def add(self, node_id: str) -> None:
        self._sketch.update(node_id)

    def merged(self, *others: NodeSketch) -> NodeSketch:
        """The union of this sketch and ``others`` (none of them changes)."""
        union = hll_union(HLL_LG_K)
        union.update(self._sketch)
        for other in others:
            union.update(other._sketch)
        return NodeSketch(union.get_result(tgt_hll_type.HLL_8))

    def estimate(self) -> float:
        return float(self._sketch.get_estimate())

    def upper_bound(self, std_devs: int) -> float:
        """The estimate plus ``std_devs`` (0..3) standard errors."""
        if std_devs == 0:
            return self.estimate()
        return float(self._sketch.get_upper_bound(std_devs))

    def to_bytes(self) -> bytes:
        return bytes(self._sketch.serialize_compact())

    @classmethod
    def from_bytes(cls, raw: bytes) -> NodeSketch:
        """Parse a peer's sketch: size first, then the library's own checks, then lg_k."""
        if not 0 < len(raw) <= MAX_SKETCH_BYTES:
            raise InvalidSketch(f"a sketch is 1..{MAX_SKETCH_BYTES} bytes, not {len(raw)}")
        try:
            sketch = hll_sketch.deserialize(raw)
        except Exception as exc:  # the C++ library raises assorted types for bad bytes
            raise InvalidSketch(f"not an HLL sketch: {exc}") from None
        if sketch.lg_config_k != HLL_LG_K or not math.isfinite(sketch.get_estimate()):
            raise InvalidSketch(f"an HLL sketch must have lg_k = {HLL_LG_K}")
        return cls(sketch)


@dataclass(frozen=True)
class PeerReport:
    """What a peer said in its handshake answer: its N and (optionally) its sketch."""

    node_id: str
    n_local: int
    sketch: NodeSketch | None = None


def n_estimate(
    local: NodeSketch,
    reports: Iterable[PeerReport],
    *,
    reachable: Callable[[str], bool],
    trim: float = DEFAULT_TRIM,
    cap_std_devs: int = CAP_STD_DEVS,
) -> int:
    """The population estimate: ``max(N_local, reports)``, the reports capped by sketches.

    ``reachable(node_id)`` is the island filter (``ReceiptSet.sufficiently_reachable``): other
    peers' reports do not count at all. The cap is the estimate (plus ``cap_std_devs``
    standard errors) of the union of our sketch and the sketches of the reporters left after
    dropping the ``trim`` share whose sketches add the most to ours (see the module text);
    an honest high report is still counted, up to the cap.
    """
    counted = [r for r in reports if reachable(r.node_id) and r.n_local >= 0]
    n_local = local.estimate()
    if not counted:
        return round(n_local)
    # A reporter is trusted to widen the cap by how much its sketch adds to ours: a forged
    # sketch adds the most, so the highest ``trim`` share by that measure (not by claim) is
    # left out, whatever those liars claim — high, or low to some peers and high to others.
    # The trusted sketches are merged (honest partial views add up to the population), and
    # the highest claim is counted up to what that merge supports.
    added = sorted(
        (n_local if r.sketch is None else local.merged(r.sketch).estimate(), i)
        for i, r in enumerate(counted)
    )
    keep = len(added) - math.ceil(trim * len(added))
    # Beyond the trim, a sketch that alone would take our view past ``OUTLIER_FACTOR`` times
    # the median peer's is left out too: a node whose peers happen to be more than ``trim``
    # liars (up to half) is not captured by their forged sketches.
    ceiling = OUTLIER_FACTOR * added[len(added) // 2][0]
    trusted = [counted[i] for value, i in added[: max(0, keep)] if value <= ceiling]
    bound = local.merged(*(r.sketch for r in trusted if r.sketch is not None)).upper_bound(
        cap_std_devs
    )
    highest = max(r.n_local for r in counted)
    return round(max(n_local, min(float(highest), bound)))
