"""The conversion child: ``python -m qfzz.ingest._convert_child``, one job, then exit.

It reads one JSON request as its argument (``source``, ``out``, ``max_memory_mb``,
``max_cpu_seconds``), limits itself (address space and CPU time, before any decoding), asks
the kernel to kill it if its parent dies (no orphan keeps converting for nobody), derives
into ``out`` and writes the manifest there last. It answers with one JSON line on stdout:
``{"outcome": "done" | "not_audio" | "unreadable" | "memory" | "error", "reason": ...}``.

A separate process, not a thread: FFmpeg runs native code on untrusted bytes, and only a
process can be limited, killed mid-decode, and lose nothing of the server when it dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import re
import resource
import signal
import sys
from pathlib import Path
from typing import Any

from qfzz.audio import NotAudio, derive
from qfzz.errors import UnreadableFile
from qfzz.ingest._convert_manifest import audio_manifest, write_manifest

_PR_SET_PDEATHSIG = 1
_REQUEST_BYTES = 16 * 1024
_CPU_GRACE = 5
_NO_MEMORY = re.compile(r"failed to map segment|cannot allocate memory", re.IGNORECASE)


def limit_self(max_memory_mb: int, max_cpu_seconds: int) -> None:
    """RLIMIT_AS and RLIMIT_CPU for this process (hard limits too: nothing raises them back).

    Past the soft CPU limit the kernel sends SIGXCPU, whose default action ends the process
    (and tells the parent which limit it was); the hard limit, a few seconds later, is
    SIGKILL for a process that somehow survives that. An allocation past the address-space
    limit fails (``MemoryError``, or FFmpeg's ENOMEM).
    """
    memory = max_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (max_cpu_seconds, max_cpu_seconds + _CPU_GRACE))


def die_with_parent() -> None:
    """Linux's parent-death signal: SIGKILL this child when the worker that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def run(request: dict[str, Any]) -> dict[str, str]:
    source, out = Path(request["source"]), Path(request["out"])
    try:
        derived = derive(source, out)
        write_manifest(out, audio_manifest(derived))
    except NotAudio as exc:
        return {"outcome": "not_audio", "reason": exc.detail}
    except UnreadableFile as exc:
        return {"outcome": "unreadable", "reason": exc.detail}
    except MemoryError as exc:
        return {"outcome": "memory", "reason": f"out of memory: {exc or 'allocation failed'}"}
    except Exception as exc:  # anything else is a bug or the machine's trouble: say which
        text = f"{type(exc).__name__}: {exc}"
        # a lazily loaded library that no longer fits the address space fails to map
        if isinstance(exc, ImportError | OSError) and _NO_MEMORY.search(str(exc)):
            return {"outcome": "memory", "reason": text}
        return {"outcome": "error", "reason": text}
    return {"outcome": "done", "reason": ""}


def main() -> int:
    request = json.loads(sys.argv[1][:_REQUEST_BYTES])
    die_with_parent()
    limit_self(int(request["max_memory_mb"]), int(request["max_cpu_seconds"]))
    answer = run(request)
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0 if answer["outcome"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
