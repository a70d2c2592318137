"""Converting one upload into ``<root>/<content id>/``, in a limited, killable child process.

The layout of a job, and why:

* A per-content lock file (``<root>/.<content id>.lock``, ``flock``) is held by the worker
  for the whole job, and removed once the final directory exists. Two workers handed the
  same job (a visibility timeout ran out while the first still worked) cannot both
  convert; and any temporary directory of that content found while holding the lock
  belongs to a worker that died (the kernel drops a dead process's locks), so it goes.
* The child writes into ``<root>/.<content id>.<random>.tmp/``; only when it has answered
  "done" (every file synced, manifest written last) is that directory renamed to
  ``<root>/<content id>/`` in one ``rename``. A worker or child killed at any moment leaves
  no final directory; the job runs again and makes exactly one.
* A final directory that already exists is the answer: a rerun reads its manifest and
  converts nothing.
* The child is limited by RLIMIT_AS and RLIMIT_CPU (set in the child) and by a wall-clock
  timeout (the parent kills it): a file crafted to exhaust memory or loop forever costs a
  bounded amount and ends as a failure with a reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import qfzz
from qfzz.audio import Derivative
from qfzz.errors import UnreadableFile
from qfzz.ingest._convert_kinds import Kind, sniff_file
from qfzz.ingest._convert_manifest import (
    CorruptManifest,
    kept_manifest,
    read_manifest,
    write_manifest,
)
from qfzz.settings import Settings

#: Content ids name directories: a bounded, path-safe alphabet (hex digests, UUIDs, ULIDs).
_CONTENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_CHILD_MODULE = "qfzz.ingest._convert_child"
_STDERR_TAIL = 2000


@dataclass(frozen=True, slots=True)
class ConvertLimits:
    """What one conversion child may use (``QFZZ_CONVERT_*`` settings)."""

    max_memory_mb: int = 1024
    max_cpu_seconds: int = 600
    timeout_seconds: float = 900.0

    def __post_init__(self) -> None:
        if self.max_memory_mb < 1 or self.max_cpu_seconds < 1 or self.timeout_seconds <= 0:
            raise ValueError("conversion limits must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> ConvertLimits:
        return cls(
            settings.convert_max_memory_mb,
            settings.convert_max_cpu_seconds,
            settings.convert_timeout_seconds,
        )


@dataclass(frozen=True, slots=True)
class Converted:
    """A finished conversion: what ``directory`` holds for listeners.

    ``kind`` ``"audio"`` has a ``preview``, a ``low`` and a ``high`` derivative and its
    integrated loudness (LUFS; None for silence), which the broadcast turns into gain.
    Other kinds (a booklet, an image) keep only the original: no derivatives.
    """

    content_id: str
    directory: Path
    kind: Kind
    derivatives: tuple[Derivative, ...]
    loudness_lufs: float | None
    peak: float | None
    seconds: float | None
    source_codec: str | None
    status: Literal["ready"] = "ready"

    def derivative(self, name: str) -> Derivative | None:
        return next((d for d in self.derivatives if d.name == name), None)

    def path(self, name: str) -> Path:
        found = self.derivative(name)
        if found is None:
            raise KeyError(f"{self.content_id} has no {name} derivative")
        return self.directory / found.file


@dataclass(frozen=True, slots=True)
class ConversionFailed:
    """A conversion that did not finish. ``retry``: worth running again (the worker was
    killed, the lock was busy), as opposed to a file that will never decode or always
    exceeds its limits."""

    content_id: str
    reason: str
    retry: bool
    status: Literal["failed"] = "failed"


Outcome = Converted | ConversionFailed


class Conversion:
    """One job in progress; :meth:`wait` for its outcome. ``pid`` is the child's, if any."""

    def __init__(
        self,
        converter: Converter,
        content_id: str,
        source: Path,
        lock: IO[bytes] | None,
        outcome: Outcome | None = None,
    ) -> None:
        self._converter = converter
        self.content_id = content_id
        self._source = source
        self._lock = lock
        self._outcome = outcome
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self.temp_dir: Path | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _begin(self) -> None:
        root = self._converter.root
        self.temp_dir = root / f".{self.content_id}.{secrets.token_hex(6)}.tmp"
        self.temp_dir.mkdir()
        try:
            kind = sniff_file(self._source)
        except OSError as exc:
            self._finish(self._failed(f"cannot read the upload: {exc}", retry=False))
            return
        if kind is not None:  # a booklet or an image: kept as uploaded, nothing to make
            write_manifest(self.temp_dir, kept_manifest(kind))
            self._finish(self._publish())
            return
        self._spawn()

    def _spawn(self) -> None:
        assert self.temp_dir is not None
        limits = self._converter.limits
        request = {
            "source": str(self._source),
            "out": str(self.temp_dir),
            "max_memory_mb": limits.max_memory_mb,
            "max_cpu_seconds": limits.max_cpu_seconds,
        }
        self._stderr = (self.temp_dir / ".stderr").open("w+b")
        self._process = subprocess.Popen(
            [sys.executable, "-m", _CHILD_MODULE, json.dumps(request)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_child_env(),
            cwd=self.temp_dir,
            start_new_session=True,  # a ^C meant for the server is not the child's
        )

    def wait(self) -> Outcome:
        """Block until the child ends (or its time is up, when it is killed)."""
        if self._outcome is not None:
            return self._outcome
        process = self._process
        assert process is not None and process.stdout is not None
        timeout = self._converter.limits.timeout_seconds
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return self._finish(
                self._failed(f"conversion took longer than {timeout:g} s and was killed", True)
            )
        except BaseException:  # interrupted while waiting: the child must not outlive us
            process.kill()
            process.wait()
            self._finish(self._failed("interrupted", True))
            raise
        return self._finish(self._judge(process.returncode, out))

    def _judge(self, code: int, out: bytes) -> Outcome:
        limits = self._converter.limits
        if code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                return self._failed(
                    f"CPU limit of {limits.max_cpu_seconds} s reached (too long or too "
                    "costly to decode)",
                    retry=False,
                )
            return self._failed(f"conversion process killed by {signal.Signals(sig).name}", True)
        answer = _last_json_line(out)
        outcome, reason = answer.get("outcome"), str(answer.get("reason", ""))[:500]
        if outcome == "done" and code == 0:
            return self._publish()
        if outcome == "not_audio":
            assert self.temp_dir is not None
            _clear(self.temp_dir)
            write_manifest(self.temp_dir, kept_manifest("other"))
            return self._publish()
        if outcome == "unreadable":
            return self._failed(f"not decodable audio: {reason}", retry=False)
        if outcome == "memory":
            return self._failed(
                f"memory limit of {limits.max_memory_mb} MB reached: {reason}", retry=False
            )
        if outcome == "error":
            return self._failed(f"conversion error: {reason}", retry=False)
        return self._failed(f"conversion process exited with {code}: {self._stderr_tail()}", True)

    def _publish(self) -> Outcome:
        """Rename the finished temporary directory to the final one, in one step."""
        assert self.temp_dir is not None
        final = self._converter.directory(self.content_id)
        with contextlib.suppress(FileNotFoundError):
            (self.temp_dir / ".stderr").unlink()
        try:
            os.rename(self.temp_dir, final)
        except OSError:
            if not final.is_dir():
                raise
            # made meanwhile by a worker that did not lock (cannot happen with the lock)
        _fsync_dir(self._converter.root)
        return self._converter.existing(self.content_id) or self._failed("vanished", True)

    def _failed(self, reason: str, retry: bool) -> ConversionFailed:
        return ConversionFailed(self.content_id, reason, retry)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL))
        return self._stderr.read().decode("utf-8", "replace").strip()

    def _finish(self, outcome: Outcome) -> Outcome:
        if self._stderr is not None:
            self._stderr.close()
        if self.temp_dir is not None and self.temp_dir.exists():
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        if self._lock is not None:
            if isinstance(outcome, Converted):
                # safe to remove once the final directory exists: whoever locks a file of
                # that name from now on finds the directory first and converts nothing
                with contextlib.suppress(OSError):
                    os.unlink(self._converter.lock_path(self.content_id))
            self._lock.close()  # closing drops the flock
            self._lock = None
        self._outcome = outcome
        return outcome


class Converter:
    """Converts uploads into ``root/<content id>/`` (see the module docstring)."""

    def __init__(self, root: Path, limits: ConvertLimits | None = None) -> None:
        self.root = root
        self.limits = limits or ConvertLimits()
        root.mkdir(parents=True, exist_ok=True)

    def directory(self, content_id: str) -> Path:
        if not _CONTENT_ID.fullmatch(content_id):
            raise ValueError(f"content id must match {_CONTENT_ID.pattern}")
        return self.root / content_id

    def lock_path(self, content_id: str) -> Path:
        return self.root / f".{self.directory(content_id).name}.lock"

    def existing(self, content_id: str) -> Converted | None:
        """The finished conversion of ``content_id``, if there is one."""
        directory = self.directory(content_id)
        if not directory.is_dir():
            return None
        try:
            manifest = read_manifest(directory)
        except CorruptManifest as exc:
            raise UnreadableFile(f"derivatives of {content_id}: {exc}") from exc
        return Converted(
            content_id=content_id,
            directory=directory,
            kind=manifest["kind"],
            derivatives=manifest["derivatives"],
            loudness_lufs=manifest["loudness_lufs"],
            peak=manifest["peak"],
            seconds=manifest["seconds"],
            source_codec=manifest["source_codec"],
        )

    def convert(self, content_id: str, source: Path) -> Outcome:
        """Convert ``source`` as ``content_id`` (or answer with what was made before)."""
        return self.start(content_id, source).wait()

    def start(self, content_id: str, source: Path) -> Conversion:
        """Begin a conversion; the child runs while the caller holds the returned handle."""
        done = self.existing(content_id)
        if done is not None:
            return Conversion(self, content_id, source, None, done)
        lock = self.lock_path(content_id).open("ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            busy = ConversionFailed(content_id, "another worker is converting it", retry=True)
            return Conversion(self, content_id, source, None, busy)
        try:
            done = self.existing(content_id)  # finished while we took the lock
            if done is not None:
                lock.close()
                return Conversion(self, content_id, source, None, done)
            self._remove_stale(content_id)
            conversion = Conversion(self, content_id, source, lock)
            conversion._begin()
        except BaseException:
            lock.close()
            raise
        return conversion

    def _remove_stale(self, content_id: str) -> None:
        """Temporary directories of this content left by workers that died (we hold the lock)."""
        for stale in self.root.glob(f".{content_id}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)


def _child_env() -> dict[str, str]:
    """The worker's environment, plus what keeps the child's address space honest.

    ``PYTHONPATH`` leads to this very ``qfzz`` (a source checkout works like an install);
    one malloc arena and one BLAS thread, since each extra one reserves address space that
    RLIMIT_AS counts without it ever being used.
    """
    env = dict(os.environ)
    here = str(Path(qfzz.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    env.update(MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def _last_json_line(out: bytes) -> dict[str, object]:
    for line in reversed(out.decode("utf-8", "replace").splitlines()):
        with contextlib.suppress(ValueError):
            answer = json.loads(line)
            if isinstance(answer, dict):
                return answer
    return {}


def _clear(directory: Path) -> None:
    for entry in directory.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
