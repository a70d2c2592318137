"""URLs handed to apps that fetch them without adding credentials themselves.

Artist images (``getArtistInfo``), album images (``getAlbumInfo``) and internet radio
streams are fetched by players and image loaders that send nothing but the URL, so each
URL carries the caller's own Subsonic credentials, copied from the request as they came
(``u`` with ``t`` + ``s`` or ``p``, or ``apiKey``) plus ``v`` and ``c``: exactly what the
caller could already send, nothing more.
"""

from __future__ import annotations

from urllib.parse import urlencode

from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._render import API_VERSION

#: The credential parameters, in the order they are copied.
AUTH_PARAMS = ("apiKey", "u", "t", "s", "p")
IMAGE_SIZES = {"small": 64, "medium": 174, "large": 300}


def credentials(call: Call) -> dict[str, str]:
    """The caller's credentials as query parameters, plus ``v`` and ``c``."""
    found = {name: value for name in AUTH_PARAMS if (value := call.get(name)) is not None}
    found["v"] = call.get("v") or API_VERSION
    found["c"] = call.client
    return found


def with_credentials(call: Call, url: str, **params: str | int) -> str:
    query = urlencode({**{k: str(v) for k, v in params.items()}, **credentials(call)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def cover_urls(call: Call, item_id: str) -> dict[str, str]:
    """``smallImageUrl`` … ``largeImageUrl``: ``getCoverArt`` of ``item_id`` at three sizes."""
    base = f"{call.base_url}/rest/getCoverArt"
    return {
        f"{name}ImageUrl": with_credentials(call, base, id=item_id, size=size)
        for name, size in IMAGE_SIZES.items()
    }
