"""``qfzz.serving``: a server's word that it serves a data directory, and when to doubt it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from qfzz.serving import (
    SERVER_FILE,
    announce,
    connect_url,
    operator_token,
    served_at,
    withdraw,
)


def test_a_live_servers_word_is_believed_and_only_it_takes_it_back(tmp_path):
    served = announce(tmp_path, "http://127.0.0.1:8000")
    assert served_at(tmp_path) == served and served.pid == os.getpid()
    assert stat.S_IMODE(os.stat(tmp_path / SERVER_FILE).st_mode) == 0o600
    other = json.loads((tmp_path / SERVER_FILE).read_text()) | {"pid": os.getppid()}
    (tmp_path / SERVER_FILE).write_text(json.dumps(other))
    withdraw(tmp_path)  # not this process's word: a later server's stays
    assert (tmp_path / SERVER_FILE).exists()
    (tmp_path / SERVER_FILE).write_text(json.dumps(other | {"pid": os.getpid()}))
    withdraw(tmp_path)
    assert not (tmp_path / SERVER_FILE).exists() and served_at(tmp_path) is None


def test_the_word_of_a_process_that_is_gone_or_another_is_not_believed(tmp_path):
    announce(tmp_path, "http://127.0.0.1:8000")
    word = json.loads((tmp_path / SERVER_FILE).read_text())
    (tmp_path / SERVER_FILE).write_text(json.dumps(word | {"started": word["started"] + 1}))
    assert served_at(tmp_path) is None  # the pid now names a process started at another time
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        _wait_exited(zombie.pid)  # exited, not reaped: /proc says Z
        (tmp_path / SERVER_FILE).write_text(json.dumps({"url": "u", "pid": zombie.pid}))
        assert served_at(tmp_path) is None
    finally:
        zombie.wait()
    (tmp_path / SERVER_FILE).write_text(json.dumps({"url": "u", "pid": zombie.pid}))
    assert served_at(tmp_path) is None  # reaped: no such process


def test_a_file_that_is_not_a_servers_word_is_ignored(tmp_path):
    for text in ("", "{", "[]", '{"url": 1, "pid": 1}', '{"url": "u", "pid": -4}',
                 json.dumps({"url": "u" * 5000, "pid": os.getpid()})):  # fmt: skip
        (tmp_path / SERVER_FILE).write_text(text)
        assert served_at(tmp_path) is None, text


def test_the_operator_token_is_made_once_whoever_asks_first(tmp_path):
    assert operator_token(tmp_path, create=False) is None
    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: operator_token(tmp_path, create=True), range(16)))
    assert len(tokens) == 1 and None not in tokens
    assert operator_token(tmp_path, create=False) in tokens
    assert [p.name for p in tmp_path.iterdir()] == ["operator.token"]  # no temporary left


def test_a_wildcard_address_is_reached_on_loopback():
    assert connect_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert connect_url("::", 80) == "http://[::1]:80"
    assert connect_url("fe80::1", 80) == "http://[fe80::1]:80"
    assert connect_url("radio.local", 8000) == "http://radio.local:8000"


def _wait_exited(pid: int) -> None:
    """Until the child has exited (its /proc state is Z): waitid without reaping it."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
