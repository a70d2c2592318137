"""A cached playlist is rendered once, and a new playlist is never served from an old body."""

from __future__ import annotations

import json

from qfzz.api._rendered import RenderedPlaylists, render


def test_the_same_playlist_is_rendered_once_and_a_new_one_afresh(station):
    station.register_listener("ann", {"genres": ["jazz"]}, password="pw-1234")
    rendered = RenderedPlaylists(max_entries=2)
    first = station.playlist("ann")
    body = rendered.body(first)
    assert rendered.body(station.playlist("ann")) is body  # served from the cache: reused
    shown = json.loads(body)
    assert shown["user_id"] == "ann"
    assert [t["track_id"] for t in shown["tracks"]] == [i.track.track_id for i in first.items]

    station.record_interaction("ann", first.items[0].track.track_id, "dislike")
    second = station.playlist("ann")
    assert second is not first
    assert rendered.body(second) == render(second) != body


def test_renderings_are_bounded(station):
    rendered = RenderedPlaylists(max_entries=2)
    playlists, bodies = {}, {}
    for user in ("ann", "bob", "cy"):
        station.register_listener(user, {"genres": ["rock"]}, password="pw-1234")
        playlists[user] = station.playlist(user)
        bodies[user] = rendered.body(playlists[user])
    assert rendered.body(playlists["cy"]) is bodies["cy"]  # the two newest are kept
    assert rendered.body(playlists["bob"]) is bodies["bob"]
    again = rendered.body(playlists["ann"])  # the oldest made room: rendered afresh
    assert again is not bodies["ann"] and again == bodies["ann"]
