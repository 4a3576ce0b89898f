"""Request bodies: read with a size limit, decoded as JSON with a message that says where.

A declared ``Content-Length`` over the limit is refused before a byte is read; a body without
one (chunked) is read until it passes the limit, then refused. Callers authenticate from the
headers first (``gate.py``), so an anonymous client cannot make the server read anything."""

from __future__ import annotations

import json

from starlette.requests import Request

from ..errors import PayloadTooLarge, ValidationError


def _too_large(limit: int, message: str | None) -> PayloadTooLarge:
    return PayloadTooLarge(message or f"Request body larger than {limit} bytes", field="body")


def check_declared_length(request: Request, limit: int, message: str | None = None) -> None:
    """Refuse a body whose declared length is over ``limit`` without reading it."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not (declared.strip().isascii() and declared.strip().isdigit()):
        raise ValidationError("Content-Length is not a number", field="body")
    if int(declared) > limit:
        raise _too_large(limit, message)


async def read_body(request: Request, limit: int, message: str | None = None) -> bytes:
    """The whole body, or ``PayloadTooLarge`` (with ``message``) as soon as it would grow past
    ``limit`` bytes."""
    check_declared_length(request, limit, message)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, message)
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(raw: bytes) -> object:
    """The decoded JSON document (``None`` for an empty body)."""
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValidationError(f"Body is not valid JSON: {error}", field="body") from None
