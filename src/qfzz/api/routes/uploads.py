"""Resumable uploads by tus 1.0.0 at ``/api/v1/upload/``: core, creation,
creation-with-upload, termination, expiration and checksum (sha1, sha256).

Thin: headers are read and bounded by ``qfzz.ingest``, the upload store does the rest.
tus fixes some statuses (409, 412, 413, 415, 460); every refusal still has a JSON body
(``{"error": code, "detail": text}``) and ``Tus-Resumable``. Only signed-in listeners
upload (bearer token: 401 otherwise); OPTIONS, which only describes the server, needs none.
``X-HTTP-Method-Override`` is not honoured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from qfzz.api._auth import UserDep
from qfzz.api._deps import StationDep
from qfzz.api._errors import error_response
from qfzz.api._guarded import GuardedRoute
from qfzz.ingest import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    PATCH_CONTENT_TYPE,
    TUS_VERSION,
    TusError,
    Upload,
    UploadStore,
    encode_metadata,
    parse_checksum,
    parse_count,
    parse_metadata,
    require_patch_type,
    require_version,
)
from qfzz.station import QFZZStation

router = APIRouter(route_class=GuardedRoute, prefix="/upload", tags=["uploads"])

UploadId = Annotated[str, Path(min_length=1, max_length=64)]


async def _uploads(request: Request) -> UploadStore:
    store: UploadStore = request.app.state.uploads
    return store


UploadsDep = Annotated[UploadStore, Depends(_uploads)]


def _headers(upload: Upload | None = None, station: QFZZStation | None = None) -> dict[str, str]:
    """tus's headers; a finished upload also names the content it became
    (``QFZZ-Content-Id``), so a client can follow it to ready (``content.view``)."""
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}
    if upload is not None:
        headers["Upload-Offset"] = str(upload.offset)
        if not upload.finished:
            headers["Upload-Expires"] = formatdate(upload.expires, usegmt=True)
        elif station is not None:
            content = station.upload_content(upload.upload_id)
            if content is not None:
                headers["QFZZ-Content-Id"] = content.content_id
    return headers


def _refusal(exc: TusError, headers: dict[str, str] | None = None) -> JSONResponse:
    extra = {"Tus-Resumable": TUS_VERSION, **(headers or {})}
    if exc.status == status.HTTP_412_PRECONDITION_FAILED:
        extra["Tus-Version"] = TUS_VERSION
    return error_response(exc.status, exc.code, exc.detail, extra)


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; ends early, without error, if the client left."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        return


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return None if value is None else parse_count(value, "Content-Length")


@router.options("/", status_code=status.HTTP_204_NO_CONTENT)
@router.options("", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False)
async def describe(uploads: UploadsDep) -> Response:
    """What this server speaks: versions, extensions, checksum algorithms, largest upload."""
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        "Tus-Max-Size": str(uploads.max_size),
    }
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)


@router.post("/", status_code=status.HTTP_201_CREATED)
@router.post("", status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def create(request: Request, user: UserDep, uploads: UploadsDep) -> Response:
    """Creation (and creation-with-upload: a body of type offset+octet-stream is the first
    PATCH). An empty file is refused: tus allows it, but it is no content."""
    headers = request.headers
    try:
        require_version(headers.get("tus-resumable"))
        if "upload-defer-length" in headers:
            raise TusError("Upload-Defer-Length is not supported: send Upload-Length")
        length = parse_count(headers.get("upload-length"), "Upload-Length")
        metadata = parse_metadata(headers.get("upload-metadata"))
        checksum = parse_checksum(headers.get("upload-checksum"))
        declared = _content_length(request)
        with_body = declared != 0 and headers.get("content-type") == PATCH_CONTENT_TYPE
        if declared and not with_body:
            raise TusError(f"a creation body must be of type {PATCH_CONTENT_TYPE}")
        upload = uploads.create(user.user_id, length, metadata)
    except TusError as exc:
        return _refusal(exc)
    location = {"Location": str(request.url_for("tus_upload", upload_id=upload.upload_id))}
    if with_body:
        try:
            upload = await uploads.append(
                upload.upload_id,
                user.user_id,
                0,
                _body(request),
                declared=declared,
                checksum=checksum,
            )
        except TusError as exc:
            return _refusal(exc, location)
    return Response(status_code=status.HTTP_201_CREATED, headers={**_headers(upload), **location})


@router.head("/{upload_id}", name="tus_upload")
async def offset(
    upload_id: UploadId,
    request: Request,
    user: UserDep,
    uploads: UploadsDep,
    station: StationDep,
) -> Response:
    """Where an upload stands: the offset to resume from, its length and metadata."""
    try:
        require_version(request.headers.get("tus-resumable"))
        upload = uploads.get(upload_id, user.user_id)
    except TusError as exc:
        return _refusal(exc)
    headers = _headers(upload, station)
    headers["Upload-Length"] = str(upload.length)
    if upload.metadata:
        headers["Upload-Metadata"] = encode_metadata(upload.metadata)
    return Response(status_code=status.HTTP_200_OK, headers=headers)


@router.patch("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def append(
    upload_id: UploadId,
    request: Request,
    user: UserDep,
    uploads: UploadsDep,
    station: StationDep,
) -> Response:
    """Append the body at ``Upload-Offset`` (checked against ``Upload-Checksum`` if sent)."""
    headers = request.headers
    try:
        require_version(headers.get("tus-resumable"))
        require_patch_type(headers.get("content-type"))
        upload = await uploads.append(
            upload_id,
            user.user_id,
            parse_count(headers.get("upload-offset"), "Upload-Offset"),
            _body(request),
            declared=_content_length(request),
            checksum=parse_checksum(headers.get("upload-checksum")),
        )
    except TusError as exc:
        return _refusal(exc)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_headers(upload, station))


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def terminate(
    upload_id: UploadId, request: Request, user: UserDep, uploads: UploadsDep
) -> Response:
    """Termination: the upload and its bytes are gone; its id is unknown from now on."""
    try:
        require_version(request.headers.get("tus-resumable"))
        uploads.terminate(upload_id, user.user_id)
    except TusError as exc:
        return _refusal(exc)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_headers())


legacy_router = APIRouter(route_class=GuardedRoute, tags=["uploads"])
MetaText = Annotated[str | None, Query(max_length=512)]


@legacy_router.post("/storage", status_code=status.HTTP_201_CREATED)
async def store_in_one_request(
    request: Request,
    user: UserDep,
    uploads: UploadsDep,
    station: StationDep,
    title: MetaText = None,
    artist: MetaText = None,
    license: Annotated[str | None, Query(max_length=64)] = None,
    filename: MetaText = None,
) -> Response:
    """The legacy single-request upload: the whole file as the body (``Content-Length``
    required), metadata in the query. It goes through the same store, limits and finish
    as a tus upload; a body that ends short leaves an unfinished upload the cleaner
    removes, and nothing else."""
    metadata = {
        k: v
        for k, v in {
            "title": title, "artist": artist, "license": license, "filename": filename
        }.items()
        if v
    }  # fmt: skip
    try:
        length = _content_length(request)
        if length is None:
            raise TusError("send the file with a Content-Length")
        upload = uploads.create(user.user_id, length, metadata)
        upload = await uploads.append(
            upload.upload_id, user.user_id, 0, _body(request), declared=length
        )
    except TusError as exc:
        return _refusal(exc)
    if upload.offset < upload.length:
        detail = f"the body ended after {upload.offset} of {upload.length} bytes"
        return error_response(status.HTTP_400_BAD_REQUEST, "incomplete_upload", detail)
    content = station.upload_content(upload.upload_id)
    body = {
        "upload_id": upload.upload_id,
        "content_id": None if content is None else content.content_id,
        "status": None if content is None else content.status.value,
    }
    return JSONResponse(body, status_code=status.HTTP_201_CREATED)
