"""A streaming ``multipart/form-data`` reader for the Lookups API's CSV uploads.

Parts are read as the body arrives: the ``csv`` part goes to a temporary file, the
``deploy-config`` part is kept in memory up to its own limit, and the whole body up to the
upload limit. Nothing larger than one network chunk plus a boundary is ever held beyond those:
a 256 MiB upload costs a file, not memory. A declared ``Content-Length`` over the limit is
refused before a byte is read.

Only what Devo's guide sends is taken (RFC 7578 as Python ``requests`` writes it): parts named
``deploy-config`` and ``csv``, each once; any other part is refused (400), as are a missing
part, a missing boundary and a body that ends before its closing boundary.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import anyio

from ..errors import PayloadTooLarge, ValidationError

CONFIG_PART = "deploy-config"
CSV_PART = "csv"
MAX_HEADER_BYTES = 16 * 1024
# Data to a temporary file is written in pieces of about this size, off the event loop.
FLUSH_BYTES = 1024 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)
_PART_NAME = re.compile(r'(?:^|;)\s*name="([^"]*)"', re.IGNORECASE)


@dataclass
class Upload:
    """The parts of one upload; ``csv_path`` is removed by ``close``."""

    config: bytes
    csv_path: Path
    _file: IO[bytes] = field(repr=False)

    def close(self) -> None:
        self._file.close()


def boundary_of(content_type: str) -> str:
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or found is None:
        raise ValidationError("Expected multipart/form-data with a boundary", field="body")
    return found.group(1)


def _too_large(limit: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"The {what} is larger than {limit} bytes", field="body")


async def read_upload(
    chunks: AsyncIterator[bytes],
    content_type: str,
    *,
    declared: int | None,
    max_bytes: int,
    max_config_bytes: int,
) -> Upload:
    """The ``deploy-config`` and ``csv`` parts of a multipart body."""
    if declared is not None and declared > max_bytes:
        raise _too_large(max_bytes, "upload")
    delimiter = b"\r\n--" + boundary_of(content_type).encode("latin-1")
    spool = tempfile.NamedTemporaryFile(prefix="linqd-lookup-", suffix=".csv")  # noqa: SIM115
    try:
        config = await _parse(chunks, delimiter, spool, max_bytes, max_config_bytes)
        await anyio.to_thread.run_sync(spool.flush)
    except BaseException:
        spool.close()
        raise
    return Upload(config, Path(spool.name), spool)


async def _parse(
    chunks: AsyncIterator[bytes],
    delimiter: bytes,
    spool: IO[bytes],
    max_bytes: int,
    max_config_bytes: int,
) -> bytes:
    # The body starts with the boundary line itself, not CRLF + boundary.
    buffer = b"\r\n"
    total = 0
    state = "preamble"
    part: str | None = None
    seen: dict[str, bool] = {}
    config = bytearray()
    pending = bytearray()

    async def emit(data: bytes) -> None:
        if part == CONFIG_PART:
            config.extend(data)
            if len(config) > max_config_bytes:
                raise _too_large(max_config_bytes, "deploy-config part")
        else:
            pending.extend(data)
            if len(pending) >= FLUSH_BYTES:
                piece = bytes(pending)
                pending.clear()
                await anyio.to_thread.run_sync(spool.write, piece)

    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes, "upload")
        buffer += chunk
        while True:
            if state in ("preamble", "body"):
                at = buffer.find(delimiter)
                if at < 0:
                    keep = len(delimiter) - 1
                    if state == "body" and len(buffer) > keep:
                        await emit(buffer[: len(buffer) - keep])
                        buffer = buffer[len(buffer) - keep :]
                    elif state == "preamble" and len(buffer) > MAX_HEADER_BYTES:
                        raise ValidationError("No multipart boundary found", field="body")
                    break
                if state == "body":
                    await emit(buffer[:at])
                buffer = buffer[at + len(delimiter) :]
                state = "after"
            if state == "after":
                if len(buffer) < 2:
                    break
                if buffer.startswith(b"--"):
                    state = "done"
                    break
                if not buffer.startswith(b"\r\n"):
                    raise ValidationError("Malformed multipart boundary line", field="body")
                buffer = buffer[2:]
                state = "headers"
            if state == "headers":
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEADER_BYTES:
                        raise ValidationError("Multipart part headers too long", field="body")
                    break
                part = _part_name(buffer[:end])
                if part in seen:
                    raise ValidationError(f"The part `{part}` is sent twice", field=part)
                seen[part] = True
                buffer = buffer[end + 4 :]
                state = "body"
        if state == "done":
            break
    if state != "done":
        raise ValidationError("The multipart body ends before its closing boundary", "body")
    if pending:
        await anyio.to_thread.run_sync(spool.write, bytes(pending))
    for needed in (CONFIG_PART, CSV_PART):
        if needed not in seen:
            raise ValidationError(f"The multipart body has no `{needed}` part", field=needed)
    return bytes(config)


def _part_name(headers: bytes) -> str:
    text = headers.decode("latin-1")
    for line in text.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            found = _PART_NAME.search(value)
            if found is not None:
                if found.group(1) not in (CONFIG_PART, CSV_PART):
                    raise ValidationError(
                        f"Unknown multipart part `{found.group(1)}`: the upload takes "
                        f"`{CONFIG_PART}` and `{CSV_PART}`",
                        field="body",
                    )
                return found.group(1)
    raise ValidationError("A multipart part has no name", field="body")
