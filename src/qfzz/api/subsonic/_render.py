"""Subsonic responses as XML (the default), JSON (``f=json``) or JSONP (``f=jsonp``).

A payload is a plain dict built from the wire types: in XML, scalar values become
attributes, dicts become child elements, lists become repeated child elements with the
list's key as their name, and a ``value`` key becomes the element's text (genres).
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response

from qfzz import __version__ as QFZZ_VERSION

API_VERSION = "1.16.1"
NAMESPACE = "http://subsonic.org/restapi"
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$.]{0,99}$")

Payload = dict[str, Any]


def envelope(status: str) -> dict[str, Any]:
    return {
        "status": status,
        "version": API_VERSION,
        "type": "qfzz",
        "serverVersion": QFZZ_VERSION,
        "openSubsonic": True,
    }


def render(payload: Payload, fmt: str | None, callback: str | None, *, ok: bool = True) -> Response:
    body = {**envelope("ok" if ok else "failed"), **payload}
    if fmt == "json":
        return Response(_json(body), media_type="application/json")
    if fmt == "jsonp" and callback and _CALLBACK.match(callback):
        return Response(f"{callback}({_json(body)});", media_type="application/javascript")
    root = ET.Element("subsonic-response", {"xmlns": NAMESPACE})
    _fill(root, body)
    xml = ET.tostring(root, encoding="unicode")
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}', media_type="application/xml")


def failed(code: int, message: str, fmt: str | None, callback: str | None) -> Response:
    return render({"error": {"code": code, "message": message}}, fmt, callback, ok=False)


def _json(body: Payload) -> str:
    return json.dumps({"subsonic-response": body}, ensure_ascii=False, separators=(",", ":"))


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, data: Payload) -> None:
    for key, value in data.items():
        if value is None:
            continue
        if key == "value" and not isinstance(value, dict | list):
            element.text = _scalar(value)
        elif isinstance(value, dict):
            _fill(ET.SubElement(element, key), value)
        elif isinstance(value, list):
            for item in value:
                child = ET.SubElement(element, key)
                if isinstance(item, dict):
                    _fill(child, item)
                else:
                    child.text = _scalar(item)
        else:
            element.set(key, _scalar(value))
