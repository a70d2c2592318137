"""One codec for every cached value: JSON with a small type tag where JSON is ambiguous.

Plain JSON already keeps ``None``, ``bool``, ``int``, ``str``, finite ``float``, ``list``
and ``dict`` with string keys apart, so those are written as they are (the string ``"123"``
stays a string, ``1`` stays an int and ``1.0`` a float). Everything JSON would blur gets a
one-key object whose key starts with ``$``:

=========  ====================================  =====================================
tag        Python value                           why
=========  ====================================  =====================================
``$b``     ``bytes``                              base64
``$t``     ``tuple``                              JSON has only arrays
``$s``     ``set`` / ``$fs`` ``frozenset``        unordered
``$d``     ``dict`` with non-string keys or a     pairs, so ``{1: …}`` keeps its int key
           key starting with ``$``
``$f``     ``nan``, ``inf``, ``-inf``             not JSON at all
``$o``     a registered frozen dataclass          ``{"$o": tag, "v": {field: value}}``
``$e``     a registered ``Enum``                  ``{"$e": tag, "v": value}``
=========  ====================================  =====================================

Anything else (an unregistered class, a ``dict`` subclass, a ``str`` subclass) raises
:class:`UnserializableValue` naming the type and where in the value it sits: a value that
would not come back exactly is refused rather than cached wrongly.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import math
from collections.abc import Iterable
from typing import Any

from qfzz.cache._errors import CorruptValue, UnserializableValue
from qfzz.cache._types import JobProgress, Session
from qfzz.models import (
    Interaction,
    InteractionType,
    Playlist,
    PlaylistItem,
    QualityReport,
    Track,
    TrackMeta,
)

#: The plain QFZZ models and the cache's own values, registered by default.
DEFAULT_TYPES: tuple[type, ...] = (
    Interaction,
    JobProgress,
    Session,
    InteractionType,
    Playlist,
    PlaylistItem,
    QualityReport,
    Track,
    TrackMeta,
)

_PLAIN = (str, int, bool)
_FLOAT_TAGS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class Codec:
    """Encodes values to bytes and back, exactly; registered types by an explicit tag."""

    def __init__(self, types: Iterable[type] = DEFAULT_TYPES) -> None:
        self._by_tag: dict[str, type] = {}
        self._tag_of: dict[type, str] = {}
        for cls in types:
            self.register(cls)

    def register(self, cls: type, tag: str | None = None) -> None:
        """Allow a frozen dataclass or an Enum; its tag is its qualified name by default."""
        is_enum = isinstance(cls, type) and issubclass(cls, enum.Enum)
        if not is_enum and not dataclasses.is_dataclass(cls):
            raise TypeError(f"only dataclasses and enums can be registered, not {cls!r}")
        name = tag or cls.__qualname__
        known = self._by_tag.get(name)
        if known is not None and known is not cls:
            raise ValueError(f"codec tag {name!r} is already used by {known!r}")
        self._by_tag[name] = cls
        self._tag_of[cls] = name

    def encode(self, value: object) -> bytes:
        tree = self._tree(value, "value")
        return json.dumps(tree, separators=(",", ":"), allow_nan=False).encode("ascii")

    def decode(self, data: bytes) -> Any:
        try:
            if b'{"$' not in data:  # no tagged object: plain JSON, parsed at C speed
                return json.loads(data)
            return json.loads(data, object_hook=self._from_object)
        except (ValueError, TypeError, KeyError) as exc:
            raise CorruptValue(f"cannot decode a cached value: {exc}") from exc

    def _tree(self, value: object, path: str) -> object:
        kind = type(value)
        if value is None or kind in _PLAIN:
            return value
        if kind is float:
            number: float = value  # type: ignore[assignment]
            if math.isfinite(number):
                return number
            return {"$f": "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")}
        if kind is list:
            items: list[object] = value  # type: ignore[assignment]
            return [self._tree(v, f"{path}[{i}]") for i, v in enumerate(items)]
        if kind is dict:
            return self._dict_tree(value, path)  # type: ignore[arg-type]
        if kind is tuple:
            seq: tuple[object, ...] = value  # type: ignore[assignment]
            return {"$t": [self._tree(v, f"{path}[{i}]") for i, v in enumerate(seq)]}
        if kind is bytes:
            return {"$b": base64.b64encode(value).decode("ascii")}  # type: ignore[arg-type]
        if kind is set or kind is frozenset:
            members: Iterable[object] = value  # type: ignore[assignment]
            tag = "$s" if kind is set else "$fs"
            return {tag: [self._tree(v, f"{path}{{}}") for v in members]}
        tag_name = self._tag_of.get(kind)
        if tag_name is not None:
            if isinstance(value, enum.Enum):
                return {"$e": tag_name, "v": self._tree(value.value, f"{path}.value")}
            fields = {
                f.name: self._tree(getattr(value, f.name), f"{path}.{f.name}")
                for f in dataclasses.fields(value)  # type: ignore[arg-type]
            }
            return {"$o": tag_name, "v": fields}
        raise UnserializableValue(
            f"cannot cache {kind.__module__}.{kind.__qualname__} at {path}: "
            "use plain data or register the type with the codec"
        )

    def _dict_tree(self, value: dict[object, object], path: str) -> object:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {str(k): self._tree(v, f"{path}[{k!r}]") for k, v in value.items()}
        return {
            "$d": [
                [self._tree(k, f"{path}.key"), self._tree(v, f"{path}[{k!r}]")]
                for k, v in value.items()
            ]
        }

    def _from_object(self, obj: dict[str, Any]) -> Any:
        if len(obj) > 2 or not obj:
            return obj
        first = next(iter(obj))
        if not first.startswith("$"):
            return obj
        if first == "$t":
            return tuple(obj["$t"])
        if first == "$b":
            return base64.b64decode(obj["$b"], validate=True)
        if first == "$d":
            return {_hashable(k): v for k, v in obj["$d"]}
        if first == "$s":
            return {_hashable(v) for v in obj["$s"]}
        if first == "$fs":
            return frozenset(_hashable(v) for v in obj["$fs"])
        if first == "$f":
            return _FLOAT_TAGS[obj["$f"]]
        cls = self._by_tag[obj.get("$o") or obj["$e"]]
        if first == "$e":
            return cls(obj["v"])
        return cls(**obj["v"])


_IMMUTABLE_SCALARS = (type(None), bool, int, float, str, bytes)


def is_immutable(value: object) -> bool:
    """Deeply immutable: safe to hand the same object to every reader of a cache entry."""
    kind = type(value)
    if kind in _IMMUTABLE_SCALARS or isinstance(value, enum.Enum):
        return True
    if kind is tuple or kind is frozenset:
        return all(is_immutable(v) for v in value)  # type: ignore[attr-defined]
    params = getattr(kind, "__dataclass_params__", None)
    if params is not None and params.frozen:
        return all(is_immutable(getattr(value, f.name)) for f in dataclasses.fields(value))  # type: ignore[arg-type]
    return False


def _hashable(value: Any) -> Any:
    """Keys and set members came back from JSON arrays; lists cannot be either."""
    if type(value) is list:
        raise CorruptValue("a list cannot be a dict key or a set member")
    return value
