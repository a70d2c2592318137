"""Content negotiation of ``Accept-Encoding``: may this response go out gzipped?"""

from __future__ import annotations

#: Longest header read: browsers send well under 100 bytes; anything longer is junk.
MAX_HEADER = 512


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` lets gzip through (RFC 9110 §12.5.3): ``gzip`` or ``*``
    with a quality above 0 (``gzip;q=0`` refuses it)."""
    if not header:
        return False
    for part in header[:MAX_HEADER].lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() not in ("gzip", "x-gzip", "*"):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            return True
    return False
