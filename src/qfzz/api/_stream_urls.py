"""Player URLs and the playlist files (.m3u, .pls) that carry them, as Icecast offers.

URLs are absolute, built from the request's base URL: its scheme and host as the client
asked, or as a trusted proxy said (uvicorn believes ``X-Forwarded-*`` only from
``QFZZ_TRUSTED_PROXIES``). Each carries the credential its player will need in the query,
because players cannot send headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, urlencode

from qfzz.api._schemas import StreamUrlsOut

Query = Sequence[tuple[str, str]]

M3U_TYPE = "audio/x-mpegurl"
PLS_TYPE = "audio/x-scpls"


def shared_path(mount: str) -> str:
    return f"/stream/{quote(mount, safe='')}"


def personal_path(user_id: str) -> str:
    return f"/api/v1/listeners/{quote(user_id, safe='')}/stream"


def absolute(base_url: str, path: str, query: Query = ()) -> str:
    url = base_url.rstrip("/") + path
    return f"{url}?{urlencode(list(query))}" if query else url


def stream_urls(base_url: str, mount: str, user_id: str, query: Query) -> StreamUrlsOut:
    """The shared and personal streams, and their playlist files, for ``query``'s holder."""
    shared, personal = shared_path(mount), personal_path(user_id)
    return StreamUrlsOut(
        shared_stream=absolute(base_url, shared, query),
        personal_stream=absolute(base_url, personal, query),
        shared_m3u=absolute(base_url, f"{shared}.m3u", query),
        shared_pls=absolute(base_url, f"{shared}.pls", query),
        personal_m3u=absolute(base_url, f"{personal}.m3u", query),
        personal_pls=absolute(base_url, f"{personal}.pls", query),
    )


def m3u(title: str, url: str) -> str:
    """An extended M3U of one endless entry (``#EXTINF:-1``: no known length)."""
    return f"#EXTM3U\n#EXTINF:-1,{_one_line(title)}\n{url}\n"


def pls(title: str, url: str) -> str:
    """A PLS (SHOUTcast/Icecast ``audio/x-scpls``) of one endless entry."""
    return (
        "[playlist]\n"
        "NumberOfEntries=1\n"
        f"File1={url}\n"
        f"Title1={_one_line(title)}\n"
        "Length1=-1\n"
        "Version=2\n"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
