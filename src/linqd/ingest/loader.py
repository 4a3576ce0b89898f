"""``linqd ingest``: a file (plain or gzip) line by line into a table, in-process or through a
running server's HTTP ingestion API, in chunks that stay under its 32 MB body limit."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import httpx

from ..client import http_error, tls_verify
from ..clock import SystemClock
from ..errors import LinqdError
from ..store.base import EventStore
from ..store.catalog import table_name_for_tag
from .pipeline import IngestPipeline
from .syslog import ParsedBatch

CHUNK_BYTES = 8 * 1024 * 1024
Progress = Callable[[int], None]


def _chunks(path: Path, progress: Progress) -> Iterator[bytes]:
    """Whole lines, about CHUNK_BYTES at a time; progress in bytes of the file on disk."""
    with path.open("rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        handle: gzip.GzipFile | BinaryIO = gzip.GzipFile(fileobj=raw) if compressed else raw
        rest = b""
        done = 0
        while block := handle.read(CHUNK_BYTES):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut]
            progress(raw.tell() - done)
            done = raw.tell()
        if rest:
            yield rest + b"\n"


def _lines(chunk: bytes) -> list[str]:
    lines = chunk.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def ingest_file(
    store: EventStore, path: Path, *, tag: str, host: str, client: str, progress: Progress
) -> int:
    table = table_name_for_tag(tag)
    pipeline = IngestPipeline(store, SystemClock())
    count = 0
    ticket = 0
    try:
        for chunk in _chunks(path, progress):
            lines = _lines(chunk)
            pipeline.wait_room()
            batch = ParsedBatch(
                tables=[table] * len(lines),
                hosts=[host] * len(lines),
                messages=lines,
                eventdates=[None] * len(lines),
                rejected=[],
            )
            ticket = pipeline.submit(batch, client=client, raw_bytes=len(chunk))
            count += len(lines)
        pipeline.wait_committed(ticket)
    finally:
        pipeline.close()
    return count


def ingest_file_over_http(
    path: Path, url: str, *, domain: str, token: str, tag: str, host: str, progress: Progress
) -> int:
    target = f"{url}/stream/{domain}/token!{token}/{host}/{tag}"
    count = 0
    timeout = httpx.Timeout(30.0, read=600.0)
    with httpx.Client(timeout=timeout, verify=tls_verify()) as client:
        for chunk in _chunks(path, progress):
            body = gzip.compress(chunk, compresslevel=1)
            try:
                response = client.post(target, content=body, headers={"Content-Encoding": "gzip"})
            except httpx.HTTPError as error:
                raise http_error(error, url) from None
            if response.status_code != 200:
                raise LinqdError(f"Ingestion failed ({response.status_code}): {response.text}")
            count += int(response.json().get("events", 0))
    return count
