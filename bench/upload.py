"""Uploads end to end against a real ``qfzz serve``: throughput over loopback, and the time
from an upload's last byte to its content being ready (converted, a catalog track).

One server process on a fresh data directory; a listener signs up; each round uploads a
4-minute track with the real ``tuspy`` client (4 MiB chunks, sha256 per chunk), reads the
content id the finished upload names (``QFZZ-Content-Id``) and polls
``content.view`` until the content is ready. Beside tus, the same file goes through the
legacy single-request ``POST /api/v1/storage`` (the simplest alternative: no resumability,
no per-chunk checks). Tracks: an MP3 at 320 kbps (what a creator usually sends; its ``high``
is re-encoded) and a FLAC (kept as ``high``). Issue 16's target: p95 ≤ 15 s from finish to
ready for a 4-minute track on 2 cores. The server's peak resident memory is read from
/proc; conversion children are separate processes (each limited by QFZZ_CONVERT_*).

    python3 run.py bench upload [--rounds 5 --seconds 240]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from tusclient import client as tus

from _server import http_ok, spawn
from qfzz.audio import SAMPLE_RATE, encode_audio_file
from qfzz.testing import free_port


def music_like(seconds: float, seed: int) -> np.ndarray:
    """A stereo signal with a melody, a beat and some noise, so encoders work as on music
    (a pure tone compresses to nothing and would flatter the conversion time)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    notes = 220 * 2 ** (rng.integers(0, 12, size=int(seconds * 2) + 1) / 12)
    melody = 0.25 * np.sin(2 * np.pi * notes[(t * 2).astype(int)] * t)
    beat = 0.2 * np.sin(2 * np.pi * 60 * t) * (np.mod(t, 0.5) < 0.08)
    noise = 0.03 * rng.standard_normal(t.size)
    left = (melody + beat + noise).astype(np.float32)
    right = (0.9 * melody + beat + 0.03 * rng.standard_normal(t.size)).astype(np.float32)
    return np.stack([left, right])


def write_tracks(root: Path, seconds: float) -> dict[str, Path]:
    signal = music_like(seconds, seed=7)
    tracks = {"mp3 320k": root / "song.mp3", "flac": root / "song.flac"}
    encode_audio_file(signal, SAMPLE_RATE, tracks["mp3 320k"], bitrate_kbps=320)
    encode_audio_file(signal, SAMPLE_RATE, tracks["flac"])
    return tracks


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_ready(url: str, content_id: str, limit: float = 300.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        view = httpx.get(f"{url}/api/v1/content.view/{content_id}", timeout=10).json()
        if view["status"] in ("ready", "failed"):
            return str(view["status"])
        time.sleep(0.05)
    return "timeout"


def tus_round(url: str, token: str, path: Path, n: int) -> tuple[float, float, str]:
    """One tus upload: (seconds uploading, seconds from its last byte to ready, status)."""
    client = tus.TusClient(f"{url}/api/v1/upload/")
    client.set_headers({"Authorization": f"Bearer {token}"})
    uploader = client.uploader(
        str(path),
        chunk_size=4 * 1024 * 1024,
        metadata={"filename": path.name, "title": f"Round {n}", "license": "CC-BY-4.0"},
        upload_checksum=True,
    )
    started = time.perf_counter()
    uploader.upload()
    uploaded = time.perf_counter()
    upload_id = str(uploader.url).rstrip("/").rsplit("/", 1)[1]
    head = httpx.head(
        f"{url}/api/v1/upload/{upload_id}",
        headers={"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"},
    )
    status = wait_ready(url, head.headers["qfzz-content-id"])
    return uploaded - started, time.perf_counter() - uploaded, status


def legacy_round(url: str, token: str, path: Path, n: int) -> float:
    data = path.read_bytes()
    started = time.perf_counter()
    answer = httpx.post(
        f"{url}/api/v1/storage",
        params={"title": f"Legacy {n}", "filename": path.name},
        content=data,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    wait_ready(url, answer.json()["content_id"])  # keep conversions from piling up
    return elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=240.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qfzz-upload-bench-") as tmp:
        root = Path(tmp)
        tracks = write_tracks(root, args.seconds)
        env = {
            **os.environ,
            "QFZZ_LOG_LEVEL": "WARNING",
            "QFZZ_UPLOAD_QUOTA_MB": "100000",
            "QFZZ_MAX_CONTENT_SIZE_MB": "512",
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "qfzz", "serve", "--data-dir", str(root / "data")]
        command += ["--port", str(port), "--no-demo"]
        healthy = http_ok(f"{url}/api/v1/health")
        with spawn(command, ready=healthy, env=env, name="qfzz serve") as server:
            signed = httpx.post(
                f"{url}/api/v1/listeners",
                json={"user_id": "bench", "password": "pw-1234", "preferences": {}},
                timeout=30,
            ).json()
            token = signed["token"]
            print(f"upload: {args.rounds} rounds per track, {args.seconds:.0f} s tracks, loopback")
            for name, path in tracks.items():
                size_mb = path.stat().st_size / 1e6
                sent, ready, statuses = [], [], []
                for n in range(args.rounds):
                    seconds, to_ready, status = tus_round(url, token, path, n)
                    sent.append(size_mb / seconds)
                    ready.append(to_ready)
                    statuses.append(status)
                legacy = [size_mb / legacy_round(url, token, path, n) for n in range(2)]
                p95 = percentile(ready, 95)
                verdict = "met" if p95 <= 15 else "NOT met"
                print(
                    f"  {name:8} {size_mb:5.1f} MB: tus {statistics.median(sent):6.1f} MB/s "
                    f"(legacy single POST {statistics.median(legacy):6.1f} MB/s); finish → "
                    f"ready p50 {statistics.median(ready):5.1f} s, p95 {p95:5.1f} s "
                    f"(target ≤ 15 s: {verdict}); {statuses.count('ready')}/{len(statuses)} ready"
                )
            print(f"server peak RSS {peak_rss_mb(server.pid):.0f} MB")


if __name__ == "__main__":
    main()
