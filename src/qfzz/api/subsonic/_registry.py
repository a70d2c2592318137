"""The method table: each handler module registers its methods with ``@method``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import Response

from qfzz.api.subsonic._call import Call

Result = dict[str, Any] | Response
Handler = Callable[[Call], Result]
HANDLERS: dict[str, Handler] = {}


def method(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = handler
        return handler

    return register
