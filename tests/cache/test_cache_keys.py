"""Keys: one prefix for reads and writes, stable digests, no raw tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from qfzz.cache import CacheServices, Keyspace, Session, search_digest, token_digest


def server_keys(cache) -> list[str]:
    if cache.kind == "embedded":
        return cache.backend.keys()
    pattern = cache.keys.prefix.replace("[", "\\[") + "*"
    return [k.decode() for k in cache.backend.client.scan_iter(match=pattern, count=1000)]


def test_every_key_carries_the_prefix_and_is_found_again(make_cache):
    cache = make_cache(prefix="radio-1:")
    services = CacheServices.build(cache)
    services.tracks.put([])
    services.search.get("jazz", None, (10, 0), lambda: [1])
    services.sessions.put("tok", Session("alice"))
    services.job_progress.update("job-1", 1, 2)
    keys = server_keys(cache)
    assert keys and all(k.startswith("radio-1:") for k in keys)
    # Written with the prefix, read with the prefix: every read above is now a hit.
    assert services.search.get("jazz", None, (10, 0), lambda: pytest.fail("missed")) == [1]
    assert services.sessions.get("tok", lambda: pytest.fail("missed")) == Session("alice")
    assert services.job_progress.get("job-1", lambda: pytest.fail("missed")).done == 1


def test_no_raw_token_appears_in_any_key(make_cache):
    cache = make_cache()
    services = CacheServices.build(cache)
    token = "sekrit-token-0123456789"
    services.sessions.put(token, Session("alice"))
    services.sessions.get(token, lambda: None)
    keys = server_keys(cache)
    assert any(token_digest(token) in k for k in keys)
    assert not any(token in k for k in keys)


def test_key_parts_are_quoted_so_they_cannot_collide_or_glob():
    keys = Keyspace("q:")
    assert keys.key("devsync", "a:b") != keys.key("devsync", "a", "b")
    assert "*" not in keys.key("devsync", "dev*ice")
    assert keys.namespace_pattern("track") == "q:track:*"
    assert Keyspace("we[ir]d*:").namespace_pattern("track") == "we\\[ir\\]d\\*:track:*"
    with pytest.raises(ValueError):
        keys.key("Bad Namespace", 1)


def test_clear_namespace_with_glob_characters_in_the_prefix(make_cache):
    cache = make_cache(prefix=f"odd[*]{id(object())}:")
    services = CacheServices.build(cache)
    services.search.get("a", None, (1, 0), lambda: 1)
    assert cache.clear_namespace("search") == 1


def test_search_keys_are_equal_in_another_process():
    args = ("Blue  Note", {"genre": "Jazz", "artist": None}, (50, 100))
    here = search_digest(*args)
    code = (
        "import json; from qfzz.cache import search_digest; print(json.dumps(search_digest("
        "'Blue  Note', {'genre': 'Jazz', 'artist': None}, (50, 100))))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},  # another hash() salt
    ).stdout
    assert json.loads(there) == here
    assert search_digest("blue note", {"genre": "jazz"}, (50, 100)) == here
    assert search_digest("blue note", {"genre": "jazz"}, (50, 0)) != here
