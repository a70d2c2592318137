"""Cover art at the size it is shown: a phone's album grid asks for 160 px, not the 3000 px
scan a tagger embedded.

Pictures come from music folders, which are not trusted: a picture is decoded only after
its declared size is checked (``MAX_PIXELS``; Pillow's own decompression-bomb guard is
an error, not a warning, here), and a picture that does not decode is served as it was.
"""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image

from qfzz.catalog.artwork import Artwork

__all__ = ["MAX_PIXELS", "MAX_SIDE", "MIN_SIDE", "resized"]

log = logging.getLogger(__name__)

#: The largest picture decoded: 50 megapixels (a 7000 × 7000 scan), ~150 MB as RGB.
MAX_PIXELS = 50_000_000
#: Sides a resize is asked for are kept within these.
MIN_SIDE, MAX_SIDE = 16, 1200


def resized(artwork: Artwork, size: int) -> Artwork:
    """``artwork`` scaled down to fit ``size`` × ``size`` (never up), as JPEG — or PNG
    when it has transparency; the original when it already fits or cannot be read."""
    side = max(MIN_SIDE, min(MAX_SIDE, size))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(artwork.data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ValueError(f"{width} × {height} is over {MAX_PIXELS} pixels")
                if width <= side and height <= side:
                    return artwork
                image.draft("RGB", (side, side))  # JPEG: decode at a fraction of the size
                has_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
                picture = image.convert("RGBA" if has_alpha else "RGB")
        picture.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if has_alpha:
            picture.save(out, "PNG", optimize=True)
            return Artwork(out.getvalue(), "image/png")
        picture.save(out, "JPEG", quality=85, optimize=True, progressive=True)
        return Artwork(out.getvalue(), "image/jpeg")
    except (OSError, ValueError, Image.DecompressionBombError, Warning) as exc:
        log.info("cover art served unresized: %s", exc)
        return artwork
