"""The station's event channel: pub/sub between processes, with a hook at every
(re)subscription for the catch-up read that pub/sub's lost messages need."""

from __future__ import annotations

import queue

import pytest

from qfzz.cache import event_channel, open_cache

WAIT = 10.0  # seconds a test waits for a message that should come (not a pace)


def test_the_embedded_cache_has_no_channel_one_process_has_nobody_to_tell():
    assert event_channel(open_cache(None), "station") is None


@pytest.mark.parametrize("backend_kind", ["redis"], indirect=True)
def test_a_message_reaches_another_process_and_each_subscription_first_calls_on_connect(
    make_cache,
):
    sender = event_channel(make_cache(), "station")
    receiver = event_channel(make_cache(), "station")
    other_topic = event_channel(make_cache(), "elsewhere")
    assert sender is not None and receiver is not None and other_topic is not None
    heard: queue.Queue[tuple[str, bytes]] = queue.Queue()
    subscription = receiver.listen(
        lambda data: heard.put(("message", data)), lambda: heard.put(("connect", b""))
    )
    stray = other_topic.listen(lambda data: heard.put(("stray", data)), lambda: None)
    try:
        assert subscription.subscribed.wait(WAIT) and stray.subscribed.wait(WAIT)
        assert heard.get(timeout=WAIT) == ("connect", b"")
        assert sender.publish(b"interaction ann") is True
        assert heard.get(timeout=WAIT) == ("message", b"interaction ann")
        assert heard.empty()  # the other topic heard nothing of it
    finally:
        subscription.close()
        stray.close()


def test_a_restarted_server_calls_on_connect_again_and_messages_flow_again(own_redis, clock):
    make = lambda: open_cache(own_redis.url, clock=clock, prefix="qfzz-channel:")  # noqa: E731
    sender_cache, receiver_cache = make(), make()
    sender = event_channel(sender_cache, "station")
    receiver = event_channel(receiver_cache, "station")
    assert sender is not None and receiver is not None
    heard: queue.Queue[tuple[str, bytes]] = queue.Queue()
    subscription = receiver.listen(
        lambda data: heard.put(("message", data)), lambda: heard.put(("connect", b""))
    )
    try:
        assert heard.get(timeout=WAIT) == ("connect", b"")
        own_redis.kill()
        assert sender.publish(b"lost") is False  # nobody could hear it: nothing was sent
        own_redis.start()
        assert heard.get(timeout=WAIT) == ("connect", b"")  # the hook that catches up
        clock.advance(60)  # past the breaker's pause: the sender tries the server again
        assert sender.publish(b"after") is True
        assert heard.get(timeout=WAIT) == ("message", b"after")
    finally:
        subscription.close()
        sender_cache.close()
        receiver_cache.close()
