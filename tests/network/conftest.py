"""The overlay bench, loaded once as a module: its sections' functions are tested small."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "overlay.py"


@pytest.fixture(scope="session")
def overlay_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("overlay_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module
