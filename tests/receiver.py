"""A real HTTP receiver on 127.0.0.1 for delivery tests: it records every request (method, path,
query, headers, body) and answers as told per path (a status, a body, failures, a hang, a
Digest challenge), the way a webhook or a vendor's API would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HANG_LIMIT_S = 30.0


@dataclass(frozen=True)
class Received:
    path: str  # without the query
    headers: dict[str, str]  # names lower-cased
    body: bytes
    method: str = "POST"
    query: str = ""


@dataclass
class Behaviour:
    fail: int = 0  # answer ``fail_status`` to this many requests (-1: always)
    fail_status: int = 500
    hang: bool = False  # hold the request until the receiver is released
    digest: bool = False  # answer 401 with a Digest challenge when there is no Authorization
    status: int = 200  # the answer when not failing
    answer: bytes = b"ok"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self.cond = threading.Condition()
        self.release = threading.Event()
        self.hanging = threading.Event()  # set when a request starts hanging
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # A short poll keeps shutdown() quick.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def behave(self, path: str, method: str | None = None, **kwargs: Any) -> str:
        """How requests to ``path`` (of ``method`` only, when given) are answered."""
        self.behaviours[f"{method} {path}" if method else path] = Behaviour(**kwargs)
        return self.url(path)

    def received(self, path: str | None = None) -> list[Received]:
        with self.cond:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(
        self, count: int, path: str | None = None, timeout: float = 10.0
    ) -> list[Received]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.received(path)) >= count, timeout)
            found = self.received(path)
        assert len(found) >= count, f"{len(found)} requests to {path}, wanted {count}"
        return found

    def _record(self, request: Received) -> None:
        with self.cond:
            self.requests.append(request)
            self.cond.notify_all()

    def _behaviour(self, method: str, path: str) -> Behaviour:
        found = self.behaviours.get(f"{method} {path}") or self.behaviours.get(path)
        return found or Behaviour()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                parts = urlsplit(self.path)
                behaviour = receiver._behaviour(self.command, parts.path)
                if behaviour.digest and "authorization" not in headers:
                    self.send_response(401)
                    self.send_header(
                        "WWW-Authenticate",
                        'Digest realm="hooks", nonce="abc123", qop="auth", algorithm=MD5',
                    )
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver._record(Received(parts.path, headers, body, self.command, parts.query))
                if behaviour.hang:
                    receiver.hanging.set()
                    receiver.release.wait(HANG_LIMIT_S)
                status, answer = behaviour.status, behaviour.answer
                if behaviour.fail != 0:
                    behaviour.fail -= 1 if behaviour.fail > 0 else 0
                    status, answer = behaviour.fail_status, b"failed"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def serving() -> Iterator[Receiver]:
    """A receiver listening until the block ends."""
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.server.shutdown()
        server.server.server_close()
