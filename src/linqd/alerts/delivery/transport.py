"""Sending one delivery: an HTTP POST to an ``httpjson`` method, a mail to an ``email`` one, or
the HTTP calls of a vendor's API (``call``, built by ``vendors.py``).

A ``Transport`` belongs to one thread (each worker has its own HTTP connection pool). Errors
are ``DeliveryFailed`` with a message safe to store and show: it names the host and what went
wrong, never a password or a header value.

A method's URL is the user's, so every connection passes the server's outbound policy
(``outbound/``) on the address it resolves to; a refusal is a permanent failure saying the
address is not allowed. Mail goes to the operator's SMTP server, which the policy leaves alone.

The HTTP client is handed in: the server's transports are ``Transport.guarded`` (a client over
the policy-checked backend, built once per transport by ``guarded_transports``), and tests hand
in a client over ``httpx.MockTransport`` to see each request exactly as it would leave.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx

from ...errors import DeliveryFailed, OutboundRefused, SinkError
from ...outbound import OutboundPolicy
from ...outbound.http import guarded_client
from ...sinks.email import SmtpSettings, smtp_session
from .model import EmailConfig, HttpJsonConfig
from .payload import http_body

USER_AGENT = "linqd-delivery/1"
MAX_ANSWER = 65_536  # bytes of an answer's body read when its content matters


@dataclass(frozen=True)
class Call:
    """One HTTP request to a vendor's API. ``basic``: HTTP Basic credentials; ``read``:
    whether the answer's body is wanted (else only its status is read)."""

    method: str
    url: str
    body: bytes | None = field(default=None, repr=False)
    content_type: str | None = None
    basic: tuple[str, str] | None = field(default=None, repr=False)
    timeout_ms: int = 10_000
    read: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    body: bytes = b""  # at most MAX_ANSWER bytes, when the call asked to read it

    def failure(self, host: str) -> str:
        return f"{host} answered HTTP {self.status} {self.reason}".rstrip()


class Transport:
    def __init__(self, smtp: SmtpSettings | None, client: httpx.Client) -> None:
        """``client`` sends the webhooks; the transport closes it with itself."""
        self.smtp = smtp
        self._client = client

    @classmethod
    def guarded(cls, smtp: SmtpSettings | None, outbound: OutboundPolicy) -> Transport:
        """The server's transport: every connection judged by ``outbound``, and no proxies or
        netrc from the environment (a method's URL means exactly that host)."""
        return cls(smtp, guarded_client(outbound))

    def post(
        self,
        config: HttpJsonConfig,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """POST the payload; any status but 2xx is a failure. ``idempotency_key`` is the same
        on every attempt of one delivery, whichever node makes it: a receiver can drop a
        repeat (an attempt cut short by a crash is made again)."""
        # Case-blind, so that linqd's own headers replace a custom one whatever its case.
        headers = httpx.Headers(config.headers)
        headers["Content-Type"] = config.content_type.value
        headers["Accept"] = "*/*"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        auth = (
            httpx.DigestAuth(config.username, config.password or "")
            if config.username is not None
            else None
        )
        call = Call("POST", config.url, http_body(payload, config.content_type))
        answer = self._exchange(call, headers, auth, config.timeout_ms)
        if not 200 <= answer.status < 300:
            raise DeliveryFailed(answer.failure(call.host))

    def call(self, call: Call) -> Answer:
        """Make ``call`` and answer whatever status came back: what a status means is the
        vendor's (``vendors.py``). Network failures are ``DeliveryFailed``."""
        headers = httpx.Headers({"Accept": "application/json"})
        if call.content_type is not None:
            headers["Content-Type"] = call.content_type
        auth = httpx.BasicAuth(*call.basic) if call.basic is not None else None
        return self._exchange(call, headers, auth, call.timeout_ms)

    def _exchange(
        self, call: Call, headers: httpx.Headers, auth: httpx.Auth | None, timeout_ms: int
    ) -> Answer:
        host = call.host
        headers["User-Agent"] = USER_AGENT
        try:
            # Streamed, so that an answer is read only as far as it matters.
            with self._client.stream(
                call.method,
                call.url,
                content=call.body,
                headers=headers,
                auth=auth,
                timeout=timeout_ms / 1000,
            ) as response:
                body = _head(response) if call.read else b""
                return Answer(response.status_code, response.reason_phrase, body)
        except OutboundRefused as exc:
            raise DeliveryFailed(exc.message, permanent=True) from None
        except httpx.TimeoutException:
            raise DeliveryFailed(f"{host} did not answer within {timeout_ms} ms") from None
        except httpx.HTTPError as exc:
            # The URL's path or query may carry a token: only its host goes into the message.
            detail = str(exc).replace(call.url, host)
            path = urlsplit(call.url).path
            if len(path) > 1:
                detail = detail.replace(path, "/...")
            raise DeliveryFailed(f"{host}: {type(exc).__name__}: {detail}") from None
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            # Validation keeps these out; a stored method from an older rule set may not.
            raise DeliveryFailed(
                f"{host}: cannot send: {type(exc).__name__}", permanent=True
            ) from None

    def mail(self, config: EmailConfig, message: EmailMessage) -> None:
        smtp = self.smtp
        if smtp is None:
            raise DeliveryFailed("e-mail delivery is not configured on this server", permanent=True)
        where = f"{smtp.host}:{smtp.port}"
        try:
            with smtp_session(smtp) as conn:
                conn.send_message(message, smtp.sender, [config.email])
        except DeliveryFailed:
            raise
        except SinkError as exc:  # a refused login
            raise DeliveryFailed(exc.message) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryFailed(f"{where} refused the recipient {config.email}") from None
        except smtplib.SMTPResponseException as exc:
            reason = exc.smtp_error
            text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
            raise DeliveryFailed(f"{where} answered {exc.smtp_code} {text}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"mail not sent via {where}: {type(exc).__name__}") from None

    def close(self) -> None:
        self._client.close()


def _head(response: httpx.Response) -> bytes:
    """The first ``MAX_ANSWER`` bytes of the answer's body."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER:
            break
    return b"".join(chunks)[:MAX_ANSWER]


# A new transport for one thread (a dispatcher worker) or one request (a validation code).
TransportFactory = Callable[[], Transport]


def guarded_transports(smtp: SmtpSettings | None, outbound: OutboundPolicy) -> TransportFactory:
    """The server's factory: each transport's client passes ``outbound`` on every connection."""
    return lambda: Transport.guarded(smtp, outbound)
