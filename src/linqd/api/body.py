"""Request bodies: read with a size limit, decoded as JSON with a message that says where."""

from __future__ import annotations

import json

from starlette.requests import Request

from ..errors import ValidationError


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a ``ValidationError`` as soon as it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ValidationError(f"Request body larger than {limit} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(raw: bytes) -> object:
    """The decoded JSON document (``None`` for an empty body)."""
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValidationError(f"Body is not valid JSON: {error}", field="body") from None
