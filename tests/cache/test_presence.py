"""Presence marks: what any process wants now, listed by the one that makes it."""

from __future__ import annotations

import pytest

from qfzz.cache import Presence, open_cache


def test_the_embedded_cache_has_no_marks():
    with pytest.raises(ValueError):
        Presence(open_cache(None), "mount-wants")


@pytest.mark.parametrize("backend_kind", ["redis"], indirect=True)
def test_marks_of_every_holder_are_listed_once_each_and_topics_stay_apart(make_cache):
    one, two = Presence(make_cache(), "mount-wants"), Presence(make_cache(), "mount-wants")
    other = Presence(make_cache(), "other")
    assert one.items() == set()
    assert one.mark("main:mp3:128", ttl=60, holder="p1")
    assert two.mark("main:mp3:128", ttl=60, holder="p2")
    assert two.mark("main:opus:96", ttl=60, holder="p2")
    assert other.mark("x*[y]", ttl=60, holder="p3")  # glob characters stay literal
    assert one.items() == {"main:mp3:128", "main:opus:96"}
    assert other.items() == {"x*[y]"}


@pytest.mark.parametrize("backend_kind", ["redis"], indirect=True)
def test_a_mark_runs_out_on_the_servers_clock_and_leaves_nothing_behind(make_cache):
    marks = Presence(make_cache(), "mount-wants")
    assert marks.mark("main:mp3:128", ttl=0.05, holder="p1")
    assert marks.mark("main:opus:96", ttl=60, holder="p2")
    client = make_cache().backend.client
    deadline = client.time()[0] + 1  # the server's own seconds: no sleep on this side's clock
    while marks.items() != {"main:opus:96"}:
        assert client.time()[0] <= deadline, "a 50 ms mark outlived a second"
    assert marks.mark("main:opus:96", ttl=0.05, holder="p2")  # renewed shorter: the set
    assert client.pttl(marks._key) > 1000  # still lives as long as its longest mark did
