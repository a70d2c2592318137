"""Typed station events: what changed, announced after it is durable, to every listener."""

from __future__ import annotations

from qfzz.station import Events, InteractionRecorded, TracksChanged


def test_interactions_scans_and_devices_are_announced(station):
    seen: list[object] = []
    for name in ("interaction_recorded", "tracks_changed", "device_changed", "playlist_generated"):
        station.events.listen(name, seen.append)  # type: ignore[call-overload]
    station.register_listener("ann", {"genres": ["jazz"]})
    track = station.search_tracks(limit=1)[1][0].track_id
    station.record_interaction("ann", track, "like")
    station.generate_playlist("ann", 5)
    station.mark_unplayable(track, "broken file")
    station.register_device({"device_id": "phone", "device_type": "smartphone"}, user_id="ann")
    kinds = [type(event).__name__ for event in seen]
    assert kinds == ["InteractionRecorded", "PlaylistGenerated", "TracksChanged", "DeviceChanged"]
    recorded, generated, changed, device = seen
    assert recorded.interaction.track_id == track and recorded.features.track_id == track
    assert generated.user_id == "ann" and generated.seconds >= 0
    assert changed == TracksChanged((track,), ())
    assert device.device_id == "phone" and device.user_id == "ann" and device.params.bitrate_kbps


def test_a_failing_listener_is_skipped_and_unsubscribing_stops_delivery():
    events = Events()
    got: list[TracksChanged] = []

    def broken(_event: TracksChanged) -> None:
        raise RuntimeError("a faulty observer")

    events.listen("tracks_changed", broken)
    stop = events.listen("tracks_changed", got.append)
    events.emit("tracks_changed", TracksChanged((1,), ()))
    stop()
    events.emit("tracks_changed", TracksChanged((2,), ()))
    assert got == [TracksChanged((1,), ())]


def test_an_interaction_event_carries_the_features_it_was_learned_with(station):
    station.register_listener("bob", {})
    got: list[InteractionRecorded] = []
    station.events.listen("interaction_recorded", got.append)
    track = station.search_tracks(genre="metal", limit=1)[1][0]
    station.record_interaction("bob", track.track_id, "play")
    assert got[0].features.genre == "metal" and got[0].features.artist_display == track.meta.artist
