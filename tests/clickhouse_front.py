"""A stand-in ClickHouse HTTP server for tests, running every statement on chdb.

This is the one allowed stand-in: no current ClickHouse server can run on these machines. It
speaks only the subset of ClickHouse's HTTP interface that clickhouse-connect uses for
``HttpBackend``, and nothing more:

- ``GET /ping``; statements in the body (or the ``query`` parameter, the body then being an
  INSERT's data); ``FORMAT X`` at the end of a query, else ``default_format``, else
  TabSeparated; results in any format chdb writes (clickhouse-connect asks for Native and
  TabSeparated while connecting, ArrowStream afterwards), ArrowStream streamed block by block;
- settings as URL parameters (applied with ``SET`` on the statement's chdb connection),
  ``param_<name>`` bound parameters, ``query_id``, and ``KILL QUERY WHERE query_id = '…'``
  (chdb assigns its own query ids, so statements are tagged with ``log_comment``);
- ``INSERT … FORMAT X`` with the data in the body;
- Basic authentication or ``X-ClickHouse-User``/``X-ClickHouse-Key`` (code 516 otherwise);
- errors as ClickHouse answers them: a non-200 status, ``X-ClickHouse-Exception-Code`` and the
  ``Code: N. DB::Exception: …`` text as the body; an error after the first block ends the
  body with that text.

It binds 127.0.0.1 on a free port; ``close`` stops it. It logs every request line except its
parameters, and keeps the request targets it saw (``targets``) for tests to inspect.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import chdb
import pyarrow as pa

TRANSPORT = {
    "query",
    "database",
    "query_id",
    "session_id",
    "default_format",
    "wait_end_of_query",
    "client_protocol_version",
    "compress",
    "decompress",
    "user",
    "password",
    "enable_http_compression",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
}
_FORMAT = re.compile(r"\s+FORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_INSERT = re.compile(r"^\s*(INSERT\s+INTO\s+.*?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
_KILL = re.compile(r"^\s*KILL\s+QUERY\s+WHERE\s+query_id\s*=\s*'((?:[^'\\]|\\.)*)'", re.I)
_CODE = re.compile(r"Code: (\d+)\.")
VERSION = "26.9.2.1"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ClickHouseFront:
    """The stand-in server over the chdb directory ``path``."""

    def __init__(self, path: Path, *, user: str = "default", password: str = "") -> None:
        self.path = str(path)
        self.user = user
        self.password = password
        self.targets: list[str] = []
        self._anchor = chdb.connect(self.path)
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines carry settings and queries: not for test logs

            def do_GET(self) -> None:
                front.handle(self)

            def do_POST(self) -> None:
                front.handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._anchor.close()

    # -- one request -----------------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        self.targets.append(request.path)
        if parts.path == "/ping":
            self._reply(request, 200, b"Ok.\n")
            return
        if not self._authenticated(request):
            self._error(
                request,
                "Code: 516. DB::Exception: default: Authentication failed. (AUTHENTICATION_FAILED)",
                status=401,
            )
            return
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        text, data = self._statement(params, body)
        query_id = params.get("query_id") or "front-" + str(id(request))
        settings = {
            k: v for k, v in params.items() if k not in TRANSPORT and not k.startswith("param_")
        }
        settings["log_comment"] = f"front:{query_id}"
        bound = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        kill = _KILL.match(text)
        if kill:
            self._run(
                request,
                query_id,
                {},
                f"KILL QUERY WHERE Settings['log_comment'] = "
                f"{_quote('front:' + kill.group(1))} SYNC",
                "TabSeparated",
                {},
            )
            return
        insert = _INSERT.match(text) if data is not None else None
        if insert:
            self._insert(request, query_id, settings, insert.group(1), insert.group(2), data or b"")
            return
        fmt = params.get("default_format", "TabSeparated")
        found = _FORMAT.search(text)
        if found:
            fmt, text = found.group(1), text[: found.start()]
        self._run(request, query_id, settings, text, fmt, bound)

    def _authenticated(self, request: BaseHTTPRequestHandler) -> bool:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            user = request.headers.get("X-ClickHouse-User", "default")
            password = request.headers.get("X-ClickHouse-Key", "")
        return user == self.user and password == self.password

    @staticmethod
    def _statement(params: dict[str, str], body: bytes) -> tuple[str, bytes | None]:
        """(statement text, INSERT data or None)."""
        if "query" in params:
            return params["query"], body
        if body[:6].upper() == b"INSERT":
            head, _, rest = body.partition(b"\n")
            return head.decode(), rest
        return body.decode(), None

    def _connect(self, settings: dict[str, str]) -> Any:
        conn = chdb.connect(self.path)
        if settings:
            pairs = ", ".join(f"{k} = {_quote(v)}" for k, v in settings.items())
            conn.query(f"SET {pairs}")
        return conn

    def _run(
        self,
        request: BaseHTTPRequestHandler,
        query_id: str,
        settings: dict[str, str],
        text: str,
        fmt: str,
        bound: dict[str, str],
    ) -> None:
        try:
            conn = self._connect(settings)
        except Exception as error:
            self._error(request, str(error))
            return
        try:
            if fmt == "ArrowStream":
                self._stream(request, conn, query_id, text, bound)
                return
            result = conn.query(text, fmt, params=bound)
            self._reply(request, 200, result.bytes(), query_id=query_id, fmt=fmt)
        except Exception as error:
            self._error(request, str(error), query_id=query_id)
        finally:
            conn.close()

    def _stream(
        self,
        request: BaseHTTPRequestHandler,
        conn: Any,
        query_id: str,
        text: str,
        bound: dict[str, str],
    ) -> None:
        """ArrowStream block by block: chdb streams each block as an Arrow stream of its own,
        re-written here as the one stream a server sends."""
        stream = conn.send_query(text, "ArrowStream", params=bound)
        chunk = stream.fetch()  # errors before the first block are a plain error answer
        if chunk is None:
            empty = conn.query(f"SELECT * FROM ({text}) LIMIT 0", "ArrowStream", params=bound)
            self._reply(request, 200, empty.bytes(), query_id=query_id, fmt="ArrowStream")
            return
        first = pa.ipc.open_stream(chunk.bytes()).read_all()
        request.send_response(200)
        self._headers(request, query_id, "ArrowStream")
        request.end_headers()
        sink = _Sink(request.wfile)
        writer = pa.ipc.new_stream(sink, first.schema)
        writer.write_table(first)
        try:
            while (chunk := stream.fetch()) is not None:
                writer.write_table(pa.ipc.open_stream(chunk.bytes()).read_all())
            writer.close()
        except Exception as error:
            # What a server does when a query fails after its first block.
            request.wfile.write(f"\n{error}\n".encode())
        request.wfile.flush()

    def _insert(
        self,
        request: BaseHTTPRequestHandler,
        query_id: str,
        settings: dict[str, str],
        statement: str,
        fmt: str,
        data: bytes,
    ) -> None:
        conn = self._connect(settings)
        try:
            inserter = conn.send_insert(statement, fmt)
            inserter.append(data)
            result = inserter.finish()
            summary = {"written_rows": str(result.rows_written)}
            self._reply(request, 200, b"", query_id=query_id, summary=summary)
        except Exception as error:
            self._error(request, str(error), query_id=query_id)
        finally:
            conn.close()

    # -- answers ---------------------------------------------------------------------------------

    @staticmethod
    def _headers(
        request: BaseHTTPRequestHandler,
        query_id: str,
        fmt: str | None,
        summary: dict[str, str] | None = None,
    ) -> None:
        request.send_header("X-ClickHouse-Query-Id", query_id)
        request.send_header("X-ClickHouse-Timezone", "UTC")
        request.send_header("X-ClickHouse-Server-Display-Name", "clickhouse-front")
        if fmt:
            request.send_header("X-ClickHouse-Format", fmt)
        request.send_header("X-ClickHouse-Summary", json.dumps(summary or {}))
        request.send_header("Connection", "close")

    def _reply(
        self,
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        *,
        query_id: str = "",
        fmt: str | None = None,
        summary: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        self._headers(request, query_id, fmt, summary)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _error(
        self, request: BaseHTTPRequestHandler, text: str, *, query_id: str = "", status: int = 500
    ) -> None:
        found = _CODE.search(text)
        text = text[found.start() :] if found else text
        body = f"{text} (version {VERSION})\n".encode()
        request.send_response(status)
        request.send_header("X-ClickHouse-Exception-Code", found.group(1) if found else "1001")
        request.send_header("X-ClickHouse-Query-Id", query_id)
        request.send_header("Content-Type", "text/plain; charset=UTF-8")
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(body)


class _Sink(io.RawIOBase):
    """The response body as a file Arrow can write to, flushed block by block."""

    def __init__(self, out: Any) -> None:
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._out.write(view)
        self._out.flush()
        return len(view)
