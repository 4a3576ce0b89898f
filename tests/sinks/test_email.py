"""The email sink against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import ipaddress
import socket
import ssl
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import pyzipper
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from linqd.clock import Clock, SimulatedClock, SystemClock
from linqd.datadir import open_data_dir
from linqd.errors import SinkError, ValidationError
from linqd.jobs.model import Job, JobStatus
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.linq.ir import ResultColumn
from linqd.sinks import SinkContext, create_sink
from linqd.sinks.base import RowFormat, SinkBatch
from linqd.sinks.email import EmailParams, EmailSink, SmtpSettings, validate

JOB = "3f6002a9-69cb-4495-9745-d47216fc58bf"
HEADER = "eventdate,msg"
COLUMNS: tuple[ResultColumn, ...] = ()  # the sink uses the header line the runner renders


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every accepted message and can be told to refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_rcpt: bool = False
    refuse_data_after: int | None = None  # accept this many messages, then answer 554

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data_after is not None and len(self.messages) >= self.refuse_data_after:
            return "554 5.3.4 message refused"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class AnyPortController(Controller):
    """aiosmtpd's Controller bound to port 0: it learns the port the OS chose before its
    readiness probe, so no free port has to be guessed."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start(handler: Collector, **kwargs: Any) -> AnyPortController:
    controller = AnyPortController(handler, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def server() -> Iterator[tuple[Collector, SmtpSettings]]:
    handler = Collector()
    controller = start(handler)
    try:
        yield handler, SmtpSettings(port=controller.port, sender="linqd@example.com")
    finally:
        controller.stop()


def make_sink(
    settings: SmtpSettings, params: dict[str, object] | None = None, clock: Clock | None = None
) -> EmailSink:
    checked = validate({"email.to": "ana@example.com, bo@example.com", **(params or {})})
    return EmailSink(checked, settings, job_id=JOB, clock=clock or SimulatedClock())


def batch(index: int, lines: list[str], *, last: bool = False) -> SinkBatch:
    return SinkBatch(JOB, index, COLUMNS, lines, HEADER, None, last)


def attachment(message: EmailMessage) -> tuple[str, str, bytes]:
    parts = list(message.iter_attachments())
    assert len(parts) == 1
    part = parts[0]
    assert isinstance(part, EmailMessage)
    payload = part.get_content()
    assert isinstance(payload, bytes)
    return part.get_filename() or "", part.get_content_type(), payload


def unzip(payload: bytes, password: str | None = None) -> tuple[str, str]:
    with pyzipper.AESZipFile(io.BytesIO(payload)) as archive:
        if password is not None:
            archive.setpassword(password.encode())
        (name,) = archive.namelist()
        return name, archive.read(name).decode()


def rows(n: int, start: int = 0, width: int = 0) -> list[str]:
    return [f"{i},row {i}{'x' * width}" for i in range(start, start + n)]


def csv_of(lines: list[str]) -> str:
    return "".join(line + "\r\n" for line in [HEADER, *lines])


# -- validation -----------------------------------------------------------------------------


def test_defaults_and_accepted_spellings() -> None:
    params = validate({"email.to": " a@example.com,b.c+tag@mail.example.org ", "friendlyName": "x"})
    assert params == EmailParams(to=("a@example.com", "b.c+tag@mail.example.org"))
    assert params.subject == "linqd query results"
    assert (params.retention_size_kb, params.retention_time_s, params.format) == (5120, 900, "zip")
    quoted = validate(
        {"email.to": ["ops@localhost"], "retention.size": "1024", "retention.time": 86400.0}
    )
    assert (quoted.to, quoted.retention_size_kb, quoted.retention_time_s) == (
        ("ops@localhost",),
        1024,
        86400,
    )


@pytest.mark.parametrize(
    ("params", "code", "field_name"),
    [
        ({}, 213, "email.to"),
        ({"email.to": " , "}, 213, "email.to"),
        ({"email.to": 7}, 213, "email.to"),
        ({"email.to": "ana@example.com, not-an-address"}, 214, "email.to"),
        ({"email.to": "ana@example.com\r\nBcc: eve@example.com"}, 214, "email.to"),
        ({"retention.size": 1023}, 215, "retention.size"),
        ({"retention.size": 1_048_577}, 215, "retention.size"),
        ({"retention.size": "5MB"}, 215, "retention.size"),
        ({"retention.size": True}, 215, "retention.size"),
        ({"retention.size": "５１２０"}, 215, "retention.size"),  # fullwidth digits
        ({"retention.time": 299}, 216, "retention.time"),
        ({"retention.time": 86_401}, 216, "retention.time"),
        ({"format": "plain"}, 217, "format"),
        ({"format": "gzip", "file.password": "s3cret"}, 218, "file.password"),
        ({"email.subject": "two\nlines"}, 219, "email.subject"),
        ({"email.subject": 5}, 219, "email.subject"),
        ({"file.password": ""}, 220, "file.password"),
        ({"file.password": 1234}, 220, "file.password"),
        ({"file.password": "p" * 1025}, 220, "file.password"),
        ({"email.subject": "one\u2028two"}, 219, "email.subject"),
        ({"email.subject": "tab\x0bbed"}, 219, "email.subject"),
        ({"email.to": ",".join(f"u{i}@example.com" for i in range(101))}, 214, "email.to"),
        ({"smtp.host": "attacker.example.com"}, 221, "smtp.host"),
        ({"email.from": "ceo@example.com"}, 221, "email.from"),
    ],
)
def test_validation_codes(params: dict[str, object], code: int, field_name: str) -> None:
    full = {"email.to": "ana@example.com", **params}
    if params == {}:
        full = {}
    with pytest.raises(ValidationError) as info:
        validate(full)
    assert (info.value.devo_code, info.value.field) == (code, field_name)


def test_secrets_stay_out_of_reprs() -> None:
    params = validate({"email.to": "a@example.com", "file.password": "zip-secret"})
    settings = SmtpSettings(username="u", password="smtp-secret")
    assert "zip-secret" not in repr(params)
    assert "smtp-secret" not in repr(settings)


# -- retention ------------------------------------------------------------------------------


def test_retention_by_size_splits_at_the_limit(server: tuple[Collector, SmtpSettings]) -> None:
    handler, settings = server
    sink = make_sink(settings, {"retention.size": 1024})  # 1 MiB
    assert sink.spec.row_format is RowFormat.CSV
    wide = 1024 - len("0000,row 0000") - 2  # every line is exactly 1 KiB with its CRLF
    lines = [f"{i:04d},row {i:04d}{'x' * wide}" for i in range(1100)]
    sink.send(batch(0, lines[:500]))
    assert (handler.messages, sink.pending(), sink.mailed_through()) == ([], 500, None)
    sink.send(batch(1, lines[500:]))  # 1100 KiB held: one full attachment goes, 76 rows stay
    assert len(handler.messages) == 1
    assert (sink.pending(), sink.mailed_through()) == (76, 0)
    name, _ = unzip(attachment(handler.messages[0])[2])
    assert unzip(attachment(handler.messages[0])[2])[1] == csv_of(lines[:1024])
    assert name == f"apiv2_{JOB}_0.csv"
    sink.send(batch(2, [], last=True))
    assert len(handler.messages) == 2
    assert unzip(attachment(handler.messages[1])[2])[1] == csv_of(lines[1024:])
    assert (sink.pending(), sink.mailed_through()) == (0, 2)
    assert sink.extra() == {"emailsSended": 2}


def test_retention_by_time_uses_the_injected_clock(server: tuple[Collector, SmtpSettings]) -> None:
    handler, settings = server
    clock = SimulatedClock()
    sink = make_sink(settings, {"retention.time": 300}, clock)
    sink.send(batch(0, rows(3)))
    clock.advance(299_999)
    sink.send(batch(1, []))
    assert not sink.flush_if_due()
    assert handler.messages == []
    clock.advance(1)
    assert sink.flush_if_due()
    assert unzip(attachment(handler.messages[0])[2])[1] == csv_of(rows(3))
    # The clock counts from the oldest unsent row, and a new batch is mailed along when due.
    sink.send(batch(2, rows(2, 3)))
    clock.advance(300_000)
    sink.send(batch(3, rows(1, 5)))
    assert len(handler.messages) == 2
    assert unzip(attachment(handler.messages[1])[2])[1] == csv_of(rows(3, 3))
    assert sink.pending() == 0
    assert sink.extra() == {"emailsSended": 2}


def test_last_batch_mails_everything_held(server: tuple[Collector, SmtpSettings]) -> None:
    handler, settings = server
    sink = make_sink(settings, {"email.subject": "Nightly export"})
    sink.send(batch(0, rows(2)))
    sink.send(batch(1, rows(2, 2), last=True))
    (message,) = handler.messages
    assert message["Subject"] == "Nightly export"
    assert message["From"] == "linqd@example.com"
    assert message["To"] == "ana@example.com, bo@example.com"
    assert message["Message-ID"] == f"<linqd.{JOB}.0.0@example.com>"
    assert message["Date"] == "Tue, 14 Nov 2023 22:13:20 +0000"  # SimulatedClock's start
    assert handler.envelopes == [("linqd@example.com", ["ana@example.com", "bo@example.com"])]
    filename, content_type, payload = attachment(message)
    assert (filename, content_type) == (f"apiv2_{JOB}_0.csv.zip", "application/zip")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:  # plain zip: stdlib reads it
        assert archive.read(f"apiv2_{JOB}_0.csv").decode() == csv_of(rows(4))


def test_job_without_rows_still_tells_the_recipients(
    server: tuple[Collector, SmtpSettings],
) -> None:
    handler, settings = server
    sink = make_sink(settings)
    sink.send(batch(0, [], last=True))
    (message,) = handler.messages
    assert "no rows" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert unzip(attachment(message)[2])[1] == csv_of([])
    sink.flush(final=True)  # already told: nothing more
    assert len(handler.messages) == 1


# -- formats --------------------------------------------------------------------------------


def test_password_protected_zip(server: tuple[Collector, SmtpSettings]) -> None:
    handler, settings = server
    sink = make_sink(settings, {"file.password": "open sesame"})
    sink.send(batch(0, rows(5), last=True))
    _, _, payload = attachment(handler.messages[0])
    assert unzip(payload, "open sesame") == (f"apiv2_{JOB}_0.csv", csv_of(rows(5)))
    with pytest.raises(RuntimeError):
        unzip(payload, "wrong")
    with pytest.raises(RuntimeError), zipfile.ZipFile(io.BytesIO(payload)) as archive:
        archive.read(archive.namelist()[0])  # encrypted: no password, no content


def test_gzip(server: tuple[Collector, SmtpSettings]) -> None:
    handler, settings = server
    sink = make_sink(settings, {"format": "gzip"})
    sink.send(batch(0, rows(3), last=True))
    filename, content_type, payload = attachment(handler.messages[0])
    assert (filename, content_type) == (f"apiv2_{JOB}_0.csv.gz", "application/gzip")
    assert gzip.decompress(payload).decode() == csv_of(rows(3))


# -- failures and retries ---------------------------------------------------------------------


def test_smtp_down_is_a_sink_error_and_keeps_the_rows() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        settings = SmtpSettings(port=closed.getsockname()[1], password="hunter2", username="u")
        sink = make_sink(settings)
        with pytest.raises(SinkError) as info:
            sink.send(batch(0, rows(2), last=True))
    assert "hunter2" not in str(info.value)
    assert (sink.pending(), sink.extra()) == (2, {"emailsSended": 0})


def test_refused_mail_is_retried_without_duplicates(
    server: tuple[Collector, SmtpSettings],
) -> None:
    handler, settings = server
    sink = make_sink(settings)
    handler.refuse_rcpt = True
    with pytest.raises(SinkError, match="refused"):
        sink.send(batch(0, rows(2), last=True))
    assert sink.pending() == 2
    handler.refuse_rcpt = False
    sink.send(batch(0, rows(2), last=True))  # the runner's retry: same index
    (message,) = handler.messages
    assert unzip(attachment(message)[2])[1] == csv_of(rows(2))
    assert sink.extra() == {"emailsSended": 1}


def test_failure_between_attachments_resumes_after_the_sent_one(
    server: tuple[Collector, SmtpSettings],
) -> None:
    handler, settings = server
    sink = make_sink(settings, {"retention.size": 1024})
    lines = rows(3000, width=500)  # ~1.5 MB: two attachments
    handler.refuse_data_after = 1
    with pytest.raises(SinkError, match="554"):
        sink.send(batch(0, lines, last=True))
    assert len(handler.messages) == 1
    first = unzip(attachment(handler.messages[0])[2])[1]
    sent = first.count("\r\n") - 1
    assert sink.pending() == 3000 - sent
    handler.refuse_data_after = None
    sink.send(batch(0, lines, last=True))
    second = unzip(attachment(handler.messages[1])[2])[1]
    assert first + second.removeprefix(HEADER + "\r\n") == csv_of(lines)
    assert handler.messages[1]["Message-ID"] == f"<linqd.{JOB}.0.{sent}@example.com>"
    assert sink.extra() == {"emailsSended": 2}


def test_close_drops_unacknowledged_rows(server: tuple[Collector, SmtpSettings]) -> None:
    handler, settings = server
    sink = make_sink(settings)
    sink.send(batch(0, rows(2)))
    sink.close()
    sink.close()
    assert (sink.pending(), handler.messages) == (0, [])


# -- authentication and TLS -------------------------------------------------------------------


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (b"linqd", b"pw-ok")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


# aiosmtpd warns about AUTH without TLS, which is what this test wants to exercise.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_auth() -> None:
    handler = Collector()
    controller = start(
        handler, authenticator=authenticator, auth_require_tls=False, auth_required=True
    )
    try:
        good = SmtpSettings(port=controller.port, username="linqd", password="pw-ok")
        make_sink(good).send(batch(0, rows(1), last=True))
        assert len(handler.messages) == 1
        bad = SmtpSettings(port=controller.port, username="linqd", password="pw-wrong")
        with pytest.raises(SinkError, match="authentication failed") as info:
            make_sink(bad).send(batch(0, rows(1), last=True))
        assert "pw-wrong" not in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    finally:
        controller.stop()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_starttls_with_auth(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Collector()
    controller = start(
        handler,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    try:
        settings = SmtpSettings(
            port=controller.port,
            starttls=True,
            cafile=str(cert),
            username="linqd",
            password="pw-ok",
        )
        make_sink(settings).send(batch(0, rows(1), last=True))
        assert len(handler.messages) == 1
        plain = SmtpSettings(port=controller.port)  # the server insists on STARTTLS
        with pytest.raises(SinkError):
            make_sink(plain).send(batch(0, rows(1), last=True))
        untrusted = SmtpSettings(port=controller.port, starttls=True)  # system CAs only
        with pytest.raises(SinkError):
            make_sink(untrusted).send(batch(0, rows(1), last=True))
    finally:
        controller.stop()


def test_created_through_the_registry(server: tuple[Collector, SmtpSettings]) -> None:
    handler, settings = server
    context = SinkContext(clock=SimulatedClock(), smtp=settings)
    sink = create_sink("email", {"email.to": "ana@example.com"}, job_id=JOB, context=context)
    assert isinstance(sink, EmailSink)
    sink.send(batch(0, rows(1), last=True))
    assert len(handler.messages) == 1


def test_a_job_mails_its_results(server: tuple[Collector, SmtpSettings], run_job: Any) -> None:
    handler, smtp = server
    job = run_job("email", {"email.to": "ops@example.com", "format": "gzip"}, rows=300, smtp=smtp)
    assert job.status.value == "COMPLETED" and job.events_sent == 300
    assert job.extra == {"emailsSended": 1}
    (message,) = handler.messages
    (attachment,) = list(message.iter_attachments())
    content = attachment.get_content()
    text = gzip.decompress(content).decode()
    assert text.split("\r\n")[0] == "message"
    assert text.count("row ") == 300


@pytest.mark.parametrize("smtp_up", [True, False])
def test_a_job_ending_after_an_idle_spell_mails_or_stops(
    tmp_path: Path, server: tuple[Collector, SmtpSettings], smtp_up: bool, store_spec: str
) -> None:
    """The review's "COMPLETED with emailsSended: 0": a bounded job whose last window was
    taken before its `to` had passed completed on the next idle pass without mailing the rows
    it held. Now it mails them then, and a mail that cannot go stops the job with the error."""
    handler, live = server
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        smtp = live if smtp_up else SmtpSettings(port=closed.getsockname()[1])
        data = open_data_dir(tmp_path, SystemClock(), store=store_spec)
        to_ms = SystemClock().now_ms() + 60_000  # the rows below are stamped now, before `to`
        data.store.append("my.app.jobs", {"message": ["a", "b"]}, client="self")
        clock = SimulatedClock(to_ms)  # the first window is taken before `to` + lateness
        context = SinkContext(clock=clock, smtp=smtp)
        repo = JobRepository(data.meta)
        runner = JobRunner(
            data.store,
            repo,
            clock,
            lambda job: create_sink(job.type, job.params, job_id=job.id, context=context),
            idle_wait_s=0.01,
        )
        job = Job(
            id=JOB,
            domain="self",
            type="email",
            friendly_name="idle",
            query="from my.app.jobs select message",
            from_ms=0,
            to_ms=to_ms,
            params={"email.to": "ops@example.com"},
            status=JobStatus.CREATED,
            cid="test",
            created_ms=to_ms,
        )
        repo.create(job)
        try:
            runner.run(job)
            # The window is taken (and its rows held by the sink) before the clock moves on.
            deadline = time.monotonic() + 30
            while (found := repo.find(JOB)) is None or found.checkpoint.window_hi is None:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            clock.advance(runner.lateness_ms + 1)
            assert runner.wait(JOB, 30)
            finished = repo.find(JOB)
        finally:
            runner.close()
            data.close()
    assert finished is not None
    if smtp_up:
        assert finished.status is JobStatus.COMPLETED
        assert finished.extra == {"emailsSended": 1}
        (message,) = handler.messages
        (part,) = list(message.iter_attachments())
        assert (
            "a\r\nb\r\n"
            in zipfile.ZipFile(io.BytesIO(part.get_content()))
            .read(zipfile.ZipFile(io.BytesIO(part.get_content())).namelist()[0])
            .decode()
        )
    else:
        assert finished.status is JobStatus.STOPPED
        assert finished.extra == {"emailsSended": 0}
        assert any("Email not sent" in error for error in finished.error)
