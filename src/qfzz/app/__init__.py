"""Wiring: the only place that turns one ``Settings`` into running parts.

``main`` is the ``qfzz`` console script; ``build_app`` gives an ASGI app for any server.

Importing this package is cheap: the console script must answer ``--help`` at once, so
every name but ``main`` and ``command_line`` is imported from its module when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from qfzz.app._commands import command_line, main

if TYPE_CHECKING:
    from qfzz.app._assemble import build_overlay, build_station
    from qfzz.app._bootstrap import prepare_library
    from qfzz.app._http import server_options
    from qfzz.app._serve import build_app, prepare_station, run_http

__all__ = [
    "build_app",
    "build_overlay",
    "build_station",
    "command_line",
    "main",
    "prepare_library",
    "prepare_station",
    "run_http",
    "server_options",
]

_WHERE = {
    "build_app": "qfzz.app._serve",
    "prepare_station": "qfzz.app._serve",
    "run_http": "qfzz.app._serve",
    "build_overlay": "qfzz.app._assemble",
    "build_station": "qfzz.app._assemble",
    "prepare_library": "qfzz.app._bootstrap",
    "server_options": "qfzz.app._http",
}


def __getattr__(name: str) -> Any:
    """The heavy names, imported on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'qfzz.app' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
