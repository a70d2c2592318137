"""The codec round-trips values exactly and refuses what it cannot."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qfzz.cache import Codec, Command, CorruptValue, TrackCache, UnserializableValue
from qfzz.models import InteractionType, Playlist, PlaylistItem, Track, TrackMeta

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=64)
)
hashables = st.recursive(
    scalars,
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=4,
)
values = st.recursive(
    scalars | st.sampled_from(list(InteractionType)),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
    ),
    max_leaves=20,
)


def same(a, b) -> bool:
    """Equal, of exactly the same types all the way down (so 1 ≠ 1.0 ≠ True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    return a == b


@given(values)
def test_every_value_round_trips_exactly(value):
    codec = Codec()
    assert same(codec.decode(codec.encode(value)), value)


@pytest.mark.parametrize(
    "value",
    ["123", 123, 123.0, True, b"123", ("1", 2), {1: "one"}, {"$t": "dollar"}, -0.0, math.inf],
)
def test_lookalike_values_keep_their_types(value):
    codec = Codec()
    assert same(codec.decode(codec.encode(value)), value)


def test_nan_round_trips():
    assert math.isnan(Codec().decode(Codec().encode(math.nan)))


def test_models_round_trip_through_their_type_tags():
    codec = Codec()
    track = Track(3, TrackMeta("T", "A", energy=0.0, year=1999), path="/x.mp3", playable=True)
    playlist = Playlist("alice", (PlaylistItem(track, 0.75, ("genre", "mood")),), 12.5)
    assert codec.decode(codec.encode(playlist)) == playlist
    assert codec.decode(codec.encode(InteractionType.LIKE)) is InteractionType.LIKE


class Colour(Enum):
    RED = 1


@dataclass(frozen=True)
class Point:
    x: int


@pytest.mark.parametrize("value", [object(), Point(1), Colour.RED, [1, {"k": {2: object()}}]])
def test_a_value_without_an_exact_encoding_raises_a_clear_error(value):
    with pytest.raises(UnserializableValue, match="cannot cache"):
        Codec().encode(value)


def test_registered_types_round_trip():
    codec = Codec()
    codec.register(Point)
    codec.register(Colour)
    assert codec.decode(codec.encode([Point(2), Colour.RED])) == [Point(2), Colour.RED]


def test_corrupt_bytes_raise_corrupt_value():
    with pytest.raises(CorruptValue):
        Codec().decode(b'{"$o": "NoSuchType", "v": {}}')


def test_strict_caches_raise_at_the_call_site(make_cache):
    tracks = TrackCache(make_cache(strict=True))
    with pytest.raises(UnserializableValue):
        tracks.get(1, lambda i: object())  # type: ignore[arg-type,return-value]


def test_services_never_fail_a_request_on_an_unserializable_value(make_cache, caplog):
    cache = make_cache(strict=False)
    tracks = TrackCache(cache)
    marker = object()
    assert tracks.get(1, lambda i: marker) is marker  # type: ignore[arg-type,return-value]
    assert cache.stats()["namespaces"]["track"]["errors"] == 1
    assert "not caching" in caplog.text


def test_a_corrupt_cached_value_is_a_miss_and_an_error(make_cache):
    cache = make_cache()
    tracks = TrackCache(cache)
    far_future = struct.pack(">d", 4e9)
    cache.backend.execute([Command("SET", tracks.key(1), (far_future + b"{not json",))])
    assert tracks.get(1, lambda i: None) is None
    assert cache.stats()["namespaces"]["track"]["errors"] == 1
