"""System, user, folders, scanning, radio stations and who is listening now."""

from __future__ import annotations

from fastapi.responses import Response

from qfzz.api.subsonic import _ids as ids
from qfzz.api.subsonic import _wire as wire
from qfzz.api.subsonic._call import Call
from qfzz.api.subsonic._cover import avatar
from qfzz.api.subsonic._errors import AuthMechanismUnsupported
from qfzz.api.subsonic._links import with_credentials
from qfzz.api.subsonic._registry import Result, method
from qfzz.errors import Forbidden, UnknownListener

EXTENSIONS = {
    "transcoding": [1],
    "playbackReport": [1],
    "formPost": [1],
    "apiKeyAuthentication": [1],
    "songLyrics": [1],
    "indexBasedQueue": [1],
}


@method("ping")
def ping(_call: Call) -> Result:
    return {}


@method("getLicense")
def get_license(_call: Call) -> Result:
    return {"license": {"valid": True, "email": "", "licenseExpires": "2999-12-31T00:00:00.000Z"}}


@method("getOpenSubsonicExtensions")
def get_extensions(_call: Call) -> Result:
    return {
        "openSubsonicExtensions": [
            {"name": name, "versions": versions} for name, versions in EXTENSIONS.items()
        ]
    }


@method("getUser")
def get_user(call: Call) -> Result:
    username = call.get("username") or call.user.user_id
    call.user.require(username)
    record = call.station.listener(username)
    if record is None:
        raise UnknownListener(f"no user {username!r}")
    admin = record.role == "admin"
    return {
        "user": {
            "username": username,
            "email": "",
            "scrobblingEnabled": True,
            "adminRole": admin,
            "settingsRole": True,
            "downloadRole": True,
            "uploadRole": False,
            "playlistRole": True,
            "coverArtRole": True,
            "commentRole": False,
            "podcastRole": False,
            "streamRole": True,
            "jukeboxRole": False,
            "shareRole": True,
            "videoConversionRole": False,
            "folder": [ids.MUSIC_FOLDER],
        }
    }


@method("getMusicFolders")
def get_music_folders(_call: Call) -> Result:
    return {"musicFolders": {"musicFolder": [{"id": ids.MUSIC_FOLDER, "name": "Music"}]}}


def _scan(scanning: bool, count: int) -> Result:
    return {"scanStatus": {"scanning": scanning, "count": count}}


@method("getScanStatus")
def get_scan_status(call: Call) -> Result:
    status = call.station.library.scan_status()
    return _scan(status.scanning, status.count)


@method("startScan")
def start_scan(call: Call) -> Result:
    if not call.user.is_admin:
        raise Forbidden("scanning needs the admin role")
    status = call.station.library.start_scan()
    return _scan(status.scanning, status.count)


@method("tokenInfo")
def token_info(call: Call) -> Result:
    """Who an API key belongs to (OpenSubsonic ``apiKeyAuthentication``)."""
    if call.get("apiKey") is None:
        raise AuthMechanismUnsupported(
            "tokenInfo describes an API key; this request was signed with a password"
        )
    return {"tokenInfo": {"username": call.user.user_id}}


@method("getAvatar")
def get_avatar(call: Call) -> Result:
    """A generated picture per listener (the same one every time)."""
    username = call.required("username")
    if call.station.listener(username) is None:
        raise UnknownListener(f"no user {username!r}")
    return Response(
        avatar(username), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


@method("getInternetRadioStations")
def get_radio_stations(call: Call) -> Result:
    """The station's mounts, each URL carrying the caller's own credentials: players
    open it with nothing else, and ``/stream/{mount}`` accepts Subsonic credentials."""
    stations = [
        {
            "id": f"mount-{name}",
            "name": f"QFZZ {name}",
            "streamUrl": with_credentials(call, f"{call.base_url}/stream/{name}"),
            "homePageUrl": f"{call.base_url}/",
        }
        for name in call.station.radio.mount_names
    ]
    return {"internetRadioStations": {"internetRadioStation": stations}}


@method("getNowPlaying")
def get_now_playing(call: Call) -> Result:
    now = call.station.clock()
    entries = []
    for playing in call.station.collections.now_playing():
        entry = wire.dump(wire.song(playing.track))
        entry.update(
            username=playing.user_id,
            minutesAgo=int((now - playing.since) // 60),
            playerId=0,
            playerName=playing.client,
        )
        entries.append(entry)
    return {"nowPlaying": {"entry": entries}}
