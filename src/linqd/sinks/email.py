"""The ``email`` destination: query results mailed as a compressed CSV attachment.

Devo's retention rules: rows accumulate and are mailed when the held CSV reaches
``retention.size`` KB, when ``retention.time`` seconds have passed since the oldest unsent row
arrived, and when a bounded job ends (the batch marked ``last``). One attachment never holds
more than ``retention.size`` KB of rows (plus the header), so a large batch becomes several
mails. Time comes from the injected clock, never the wall clock.

Params and Devo's error codes. Devo reserves 213–226 for this type but does not publish the
texts, so the mapping below is linqd's, one code per rule:

====  =========================================================================
213   ``email.to`` missing or empty
214   an ``email.to`` entry is not an e-mail address, or more than 100 are given
215   ``retention.size`` not an integer KB in 1024–1048576 (1 MB–1 GB; default 5120)
216   ``retention.time`` not an integer of seconds in 300–86400 (default 900)
217   ``format`` is not ``zip`` or ``gzip`` (default ``zip``)
218   ``file.password`` given with ``format`` ``gzip`` (gzip cannot be encrypted)
219   ``email.subject`` not a string, longer than 998 characters, or has control characters
      or line breaks
220   ``file.password`` not a non-empty string of at most 1024 characters
221   a param the ``email`` type does not take (``friendlyName`` is the job's name)
222–226  unused
====  =========================================================================

Durability. ``send`` returning means the batch is either mailed or held in memory. Held rows
are lost if the process dies, so the runner must not checkpoint past them: ``pending()`` is
the number of rows held and ``mailed_through()`` the highest batch index all of whose rows
have been mailed; the runner may checkpoint through that index only. After a restart the
rows are re-read and mailed then. A mail that fails keeps its rows held; retrying the same
batch (same index) does not add them twice. ``close`` drops held rows: they were never
acknowledged, so a restarted job sends them again.

A retried mail carries the same ``Message-ID`` (job id + position of its first row), so a
receiving system that de-duplicates on it sees one mail.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import importlib
import io
import logging
import re
import smtplib
import ssl
import time
import zipfile
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Literal

from ..clock import Clock
from ..errors import SinkError, ValidationError
from .base import DEFAULT_RULES, DestinationRules, RowFormat, Sink, SinkBatch, SinkSpec, int_param

if TYPE_CHECKING:
    from . import SinkContext

log = logging.getLogger("linqd.sinks.email")

CRLF = "\r\n"  # RFC 4180, and what the csv query mode writes
DEFAULT_SUBJECT = "linqd query results"
SIZE_KB_RANGE = (1024, 1_048_576)
TIME_S_RANGE = (300, 86_400)
# A pragmatic address check (no quoted local parts, no display names): it only has to catch
# typos and header injection; the SMTP server is the real judge.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
MAX_RECIPIENTS = 100
MAX_PASSWORD = 1_024
_KEYS = frozenset(
    {
        "email.to",
        "email.subject",
        "retention.size",
        "retention.time",
        "format",
        "file.password",
        "friendlyName",
    }
)
# Header injection and look-alike line breaks: C0/C1 controls and Unicode line separators.
_SUBJECT_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

Compression = Literal["zip", "gzip"]


@dataclass(frozen=True)
class SmtpSettings:
    """The outgoing mail server, from the server's configuration (never from a request)."""

    host: str = "127.0.0.1"
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    sender: str = "linqd@localhost"  # the From address and the envelope sender
    timeout_s: float = 30.0
    cafile: str | None = None  # a private CA for STARTTLS; the system store otherwise


@contextlib.contextmanager
def smtp_session(smtp: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """A connection to the configured mail server, after STARTTLS and login when configured.
    A refused login is a ``SinkError`` that leaves the server's reply out (it may echo what
    the client sent)."""
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as conn:
        conn.ehlo()
        if smtp.starttls:
            conn.starttls(context=ssl.create_default_context(cafile=smtp.cafile))
            conn.ehlo()
        if smtp.username is not None:
            try:
                conn.login(smtp.username, smtp.password or "")
            except smtplib.SMTPException as exc:
                code = getattr(exc, "smtp_code", None)
                where = f"{smtp.host}:{smtp.port}"
                raise SinkError(
                    f"SMTP authentication failed at {where}" + (f" ({code})" if code else "")
                ) from None
        yield conn


@dataclass(frozen=True)
class EmailParams:
    to: tuple[str, ...]
    subject: str = DEFAULT_SUBJECT
    retention_size_kb: int = 5120
    retention_time_s: int = 900
    format: Compression = "zip"
    file_password: str | None = field(default=None, repr=False)

    @property
    def retention_bytes(self) -> int:
        return self.retention_size_kb * 1024


def _invalid(code: int, key: str, message: str) -> ValidationError:
    return ValidationError(message, field=key, devo_code=code)


def _integer(
    params: Mapping[str, Any], key: str, default: int, bounds: tuple[int, int], code: int, unit: str
) -> int:
    value = int_param(params, key, default)
    low, high = bounds
    if value is None or not low <= value <= high:
        raise _invalid(code, key, f"{key} must be an integer number of {unit}, {low} to {high}")
    return value


def _recipients(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        entries = raw.split(",")
    elif isinstance(raw, list | tuple) and all(isinstance(e, str) for e in raw):
        entries = list(raw)
    else:
        entries = []
    addresses = tuple(e.strip() for e in entries if e.strip())
    if not addresses:
        raise _invalid(213, "email.to", "email.to is required: comma-separated addresses")
    if len(addresses) > MAX_RECIPIENTS:
        raise _invalid(214, "email.to", f"email.to takes at most {MAX_RECIPIENTS} addresses")
    for address in addresses:
        if len(address) > 254 or not EMAIL_ADDRESS.fullmatch(address):
            raise _invalid(214, "email.to", f"Invalid address in email.to: {address[:100]!r}")
    return addresses


def validate(params: Mapping[str, Any], rules: DestinationRules = DEFAULT_RULES) -> EmailParams:
    """Check an email destination; ``friendlyName`` is not used. Mail goes to the operator's
    SMTP server, so ``rules`` (what a request may reach) have nothing to judge here."""
    unknown = sorted(key for key in params if key not in _KEYS)
    if unknown:
        name = unknown[0][:200]
        raise _invalid(221, name, f"Email destinations do not take `{name}`")
    to = _recipients(params.get("email.to"))
    subject = params.get("email.subject", DEFAULT_SUBJECT)
    if not isinstance(subject, str) or len(subject) > 998 or _SUBJECT_BREAKS.search(subject):
        raise _invalid(219, "email.subject", "email.subject must be one line, ≤ 998 characters")
    size = _integer(params, "retention.size", 5120, SIZE_KB_RANGE, 215, "KB")
    seconds = _integer(params, "retention.time", 900, TIME_S_RANGE, 216, "seconds")
    fmt = params.get("format", "zip")
    if fmt not in ("zip", "gzip"):
        raise _invalid(217, "format", "File compress format must be zip or gzip")
    password = params.get("file.password")
    if password is not None:
        if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
            message = f"file.password must be a non-empty string of at most {MAX_PASSWORD}"
            raise _invalid(220, "file.password", message)
        if fmt == "gzip":
            raise _invalid(218, "file.password", "Email with format gzip cannot have password")
    return EmailParams(
        to=to,
        subject=subject or DEFAULT_SUBJECT,
        retention_size_kb=size,
        retention_time_s=seconds,
        format="gzip" if fmt == "gzip" else "zip",
        file_password=password,
    )


@dataclass
class _Held:
    """Rows of one batch not mailed yet: ``lines[start:]``."""

    index: int
    lines: Sequence[str]
    arrived_ms: int
    start: int = 0


def _size(line: str) -> int:
    return len(line.encode()) + len(CRLF)


class EmailSink(Sink):
    """Mails rows by Devo's retention rules. Not thread-safe: one runner thread calls it."""

    def __init__(
        self,
        params: EmailParams,
        smtp: SmtpSettings,
        *,
        job_id: str,
        clock: Clock,
        emails_sent: int = 0,  # restored by the runner after a restart, for `extra`
    ) -> None:
        self.params = params
        self.smtp = smtp
        self.job_id = job_id
        self.clock = clock
        self.spec = SinkSpec(row_format=RowFormat.CSV)
        self.emails_sent = emails_sent
        self._held: deque[_Held] = deque()
        self._held_rows = 0
        self._held_bytes = 0
        self._header: str | None = None
        self._last_index: int | None = None  # newest batch appended (retries are skipped)

    # -- the runner's view --------------------------------------------------------------

    def send(self, batch: SinkBatch) -> None:
        if self._header is None:
            self._header = _header_line(batch)
        if self._last_index is None or batch.index > self._last_index:
            self._last_index = batch.index
            if batch.lines:
                self._held.append(_Held(batch.index, batch.lines, self.clock.now_ms()))
                self._held_rows += len(batch.lines)
                self._held_bytes += sum(_size(line) for line in batch.lines)
        # A retried batch (same index) is already held: only the mailing is redone.
        if batch.last:
            self.flush(final=True)
        elif self._time_due():
            self.flush()
        elif self._held_bytes >= self.params.retention_bytes:
            self._mail(full_only=True)  # the rest waits for more rows or for its time

    def flush_if_due(self) -> bool:
        """Mail held rows whose ``retention.time`` has passed; for a runner with no new rows."""
        if not self._time_due():
            return False
        self.flush()
        return True

    def flush(self, *, final: bool = False) -> None:
        """Mail everything held now. With ``final``, a job that never mailed anything gets one
        mail with a header-only CSV, so its recipients learn it ended with no rows."""
        if self._held_rows or (final and self.emails_sent == 0):
            self._mail()

    def pending(self) -> int:
        """Rows held but not mailed: the runner must not checkpoint past them."""
        return self._held_rows

    def mailed_through(self) -> int | None:
        """The highest batch index whose rows have all been mailed (None: none yet)."""
        if self._held:
            first = self._held[0].index
            return first - 1 if first > 0 else None
        return self._last_index

    def extra(self) -> Mapping[str, object]:
        return {"emailsSended": self.emails_sent}  # Devo's spelling

    def close(self) -> None:
        self._held.clear()
        self._held_rows = self._held_bytes = 0

    # -- accumulation ---------------------------------------------------------------------

    def _time_due(self) -> bool:
        if not self._held:
            return False
        age_ms = self.clock.now_ms() - self._held[0].arrived_ms
        return age_ms >= self.params.retention_time_s * 1000

    def _next_chunk(self) -> tuple[str, list[str]]:
        """The next attachment's rows (at most ``retention.size``, at least one row) and its
        Message-ID. Only peeks: ``_consume`` removes the rows once the mail is accepted."""
        first = self._held[0]
        domain = _domain(self.smtp.sender)
        message_id = f"<linqd.{self.job_id}.{first.index}.{first.start}@{domain}>"
        limit = self.params.retention_bytes
        lines: list[str] = []
        total = 0
        for held in self._held:
            for line in held.lines[held.start :]:
                size = _size(line)
                if lines and total + size > limit:
                    return message_id, lines
                lines.append(line)
                total += size
        return message_id, lines

    def _consume(self, lines: list[str]) -> None:
        """Drop the rows of a mailed chunk (the first ``len(lines)`` held rows)."""
        rows = len(lines)
        self._held_rows -= rows
        self._held_bytes -= sum(_size(line) for line in lines)
        while rows:
            held = self._held[0]
            take = min(rows, len(held.lines) - held.start)
            held.start += take
            rows -= take
            if held.start == len(held.lines):
                self._held.popleft()

    # -- mailing ----------------------------------------------------------------------------

    def _mail(self, *, full_only: bool = False) -> None:
        """Mail held rows over one connection, one attachment per ``retention.size``; with
        ``full_only``, only while a full attachment's worth is held."""
        smtp = self.smtp
        where = f"{smtp.host}:{smtp.port}"
        try:
            with smtp_session(smtp) as conn:
                if not self._held:  # a final mail for a job without rows
                    self._deliver(conn, f"<linqd.{self.job_id}.end@{_domain(smtp.sender)}>", [])
                limit = self.params.retention_bytes
                while self._held and (not full_only or self._held_bytes >= limit):
                    message_id, lines = self._next_chunk()
                    self._deliver(conn, message_id, lines)
                    self._consume(lines)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SinkError(
                f"Email not sent: {where} refused all {len(exc.recipients)} recipient(s)"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            reason = exc.smtp_error
            text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
            raise SinkError(f"Email not sent: {where} answered {exc.smtp_code} {text}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SinkError(f"Email not sent via {where}: {type(exc).__name__}: {exc}") from exc

    def _deliver(self, conn: smtplib.SMTP, message_id: str, lines: list[str]) -> None:
        message = self._message(message_id, lines)
        refused = conn.send_message(message, self.smtp.sender, list(self.params.to))
        if refused:
            # The others got it: failing now would mail them again on the retry.
            log.warning("job %s: refused by %s", self.job_id, ", ".join(sorted(refused)))
        self.emails_sent += 1

    def _message(self, message_id: str, lines: list[str]) -> EmailMessage:
        now_ms = self.clock.now_ms()
        stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
        header = self._header or ""
        data = (header + CRLF + "".join(line + CRLF for line in lines)).encode()
        name = f"apiv2_{self.job_id}_{self.emails_sent}.csv"
        if self.params.format == "gzip":
            payload, filename, subtype = _gzip(name, data, now_ms), name + ".gz", "gzip"
        else:
            payload = _zip(name, data, now_ms, self.params.file_password)
            filename, subtype = name + ".zip", "zip"
        message = EmailMessage()
        message["From"] = self.smtp.sender
        message["To"] = ", ".join(self.params.to)
        message["Subject"] = self.params.subject
        message["Date"] = format_datetime(stamp)
        message["Message-ID"] = message_id
        what = f"{len(lines)} row(s) in {filename}" if lines else "ended with no rows"
        message.set_content(f"linqd query job {self.job_id}: {what}.\n")
        message.add_attachment(payload, maintype="application", subtype=subtype, filename=filename)
        return message


def _header_line(batch: SinkBatch) -> str:
    if batch.header is not None:
        return batch.header.rstrip("\r\n")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([c.name for c in batch.columns])
    return buffer.getvalue()


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "linqd"


def _gzip(name: str, data: bytes, now_ms: int) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buffer, mtime=now_ms // 1000) as out:
        out.write(data)
    return buffer.getvalue()


def _zip(name: str, data: bytes, now_ms: int, password: str | None) -> bytes:
    buffer = io.BytesIO()
    archive: Any
    if password is None:
        archive = zipfile.ZipFile(buffer, "w")
    else:
        # stdlib zipfile cannot encrypt. pyzipper writes WinZip AES-256 (7-Zip and WinZip read
        # it; Info-ZIP unzip 6.0 does not) rather than ZipCrypto, which known-plaintext attacks
        # break. Imported by name because pyzipper ships no type information.
        pyzipper: Any = importlib.import_module("pyzipper")
        archive = pyzipper.AESZipFile(buffer, "w", encryption=pyzipper.WZ_AES)
        archive.setpassword(password.encode())
    with archive:
        # pyzipper only takes its own ZipInfo subclass.
        info = getattr(archive, "zipinfo_cls", zipfile.ZipInfo)(
            name,
            date_time=time.gmtime(max(now_ms // 1000, 315_532_800))[:6],  # zip: ≥ 1980
        )
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, data)
    return buffer.getvalue()


def create(params: EmailParams, *, job_id: str, context: SinkContext) -> EmailSink:
    smtp = context.smtp if isinstance(context.smtp, SmtpSettings) else SmtpSettings()
    return EmailSink(params, smtp, job_id=job_id, clock=context.clock)
