"""JSON that QFZZ parses itself (Subsonic bodies and parameters), with a depth limit.

``json.loads`` recurses once per nesting level and raises ``RecursionError`` a thousand
levels down — a 2 KB body of brackets. Here that, and anything nested deeper than
``MAX_DEPTH`` (QFZZ's own documents are at most a few levels deep), is ``InvalidInput``.
The depth is checked after parsing with an explicit stack, so the check itself never
recurses; the body's size is already bounded by the route, so the parse is too.
"""

from __future__ import annotations

import json
from typing import Any

from qfzz.errors import InvalidInput

MAX_DEPTH = 32


def loads_bounded(data: str | bytes, *, what: str = "the body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON, or raise ``InvalidInput`` naming ``what`` (bad JSON, nested too deep)."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise InvalidInput(f"{what} is nested more than {max_depth} levels deep") from None
    except ValueError:  # JSONDecodeError, bad UTF-8, an integer of too many digits
        raise InvalidInput(f"{what} must be JSON") from None
    if depth_exceeds(document, max_depth):
        raise InvalidInput(f"{what} is nested more than {max_depth} levels deep")
    return document


def depth_exceeds(document: Any, max_depth: int) -> bool:
    """Whether lists and objects nest more than ``max_depth`` levels (iteratively)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
