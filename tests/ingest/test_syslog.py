"""parse_messages: header forms, tags → tables, historical times, rejections."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from linqd.ingest.framing import SyslogFramer
from linqd.ingest.syslog import ParsedBatch, parse_messages

NOW = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse(*lines: bytes, now: datetime = NOW, **kwargs: object) -> ParsedBatch:
    return parse_messages(list(lines), now_ms=ms(now), **kwargs)  # type: ignore[arg-type]


def rows(batch: ParsedBatch) -> list[tuple[str, str, str, int | None]]:
    return list(zip(batch.tables, batch.hosts, batch.messages, batch.eventdates, strict=True))


def test_spec_lines() -> None:
    batch = parse(
        b"<14>Jan  1 00:00:00 vm my.app.test: hello world",
        b"<14>2024-01-01 00:00:00 h1 my.app.test: line2",
        b"<14>Jan  1 00:00:00 vm my.app.test: \xc3\xbcn\xc3\xafcode \xe2\x9c\x93",
        b"<14>Jan  1 00:00:00 vm my.cli.tag: cli line",
        b"<86>Jan  1 00:00:00 vm my.app.log: info msg\x00",
        b"<14>Jan  1 00:00:00 Nice-MacBook-Pro.local test.drop.actors: Testing this cool tool",
        b"<78>Aug 07 23:24:01 devo-manager-incron my.app.docker.handlobo: "
        b"oneRun.sh|...|serviceCreated=Devo",
    )
    assert rows(batch) == [
        ("my.app.test", "vm", "hello world", None),
        ("my.app.test", "h1", "line2", None),
        ("my.app.test", "vm", "ünïcode ✓", None),
        ("my.cli.tag", "vm", "cli line", None),
        ("my.app.log", "vm", "info msg", None),
        ("test.drop.actors", "Nice-MacBook-Pro.local", "Testing this cool tool", None),
        (
            "my.app.docker.handlobo",
            "devo-manager-incron",
            "oneRun.sh|...|serviceCreated=Devo",
            None,
        ),
    ]
    assert batch.rejected == []


def test_multiline_message_from_an_octet_counted_record() -> None:
    batch = parse(b"<14>Jan  1 00:00:00 vm my.app.ml: first\nsecond\nthird")
    assert batch.messages == ["first\nsecond\nthird"]


def test_message_edges() -> None:
    batch = parse(
        b"<14>Jan  1 00:00:00 vm my.app.a:",
        b"<14>Jan  1 00:00:00 vm my.app.a: ",
        b"<14>Jan  1 00:00:00 vm my.app.a:no space",
        b"<14>Jan  1 00:00:00 vm my.app.a:  two spaces",
        b"<14>Jan  1 00:00:00 vm my.app.a: a: colon\x00\x00",
        b"<14>Jan  1 00:00:00 vm my.app.a: bad \xff utf8",
    )
    assert batch.messages == ["", "", "no space", " two spaces", "a: colon\x00", "bad \ufffd utf8"]


@pytest.mark.parametrize(
    "stamp",
    [
        b"Jan  1 00:00:00",
        b"Aug 07 23:24:01",
        b"Aug 7 23:24:01",
        b"Dec 31 23:59:59",
        b"Foo 99 99:99:99",  # not interpreted for normal tags
        b"2024-01-01 00:00:00",
        b"1991-02-20 12:00:00.123456",
        b"2024-01-01T00:00:00Z",
        b"2024-01-01T00:00:00.5+01:00",
        b"2024-01-01T00:00:00-0330",
    ],
)
def test_timestamp_forms(stamp: bytes) -> None:
    batch = parse(b"<14>" + stamp + b" host my.app.t: m")
    assert rows(batch) == [("my.app.t", "host", "m", None)]


def test_without_pri_and_with_any_pri() -> None:
    batch = parse(
        b"Jan  1 00:00:00 vm my.app.t: no pri",
        b"<0>Jan  1 00:00:00 vm my.app.t: zero",
        b"<166>Jan  1 00:00:00 vm my.app.t: logging handler",
        b"<99999>Jan  1 00:00:00 vm my.app.t: huge",
    )
    assert batch.messages == ["no pri", "zero", "logging handler", "huge"]


def test_tag_to_table() -> None:
    batch = parse(
        b"<14>Jan  1 00:00:00 vm web.apache.access-lt: a",
        b"<14>Jan  1 00:00:00 vm web.apache.access-lt: b",
        b"<14>Jan  1 00:00:00 vm a.b.c.d.e.f: six levels",
    )
    assert batch.tables == ["web.apache.accessLt", "web.apache.accessLt", "a.b.c.d.e.f"]


def test_invalid_tags_are_rejected_others_unaffected() -> None:
    batch = parse(
        b"<14>Jan  1 00:00:00 vm my.app.ok: 1",
        b"<14>Jan  1 00:00:00 vm single: one level",
        b"<14>Jan  1 00:00:00 vm a.b.c.d.e.f.g: seven levels",
        b"<14>Jan  1 00:00:00 vm my..app: empty level",
        b"<14>Jan  1 00:00:00 vm (usd)single: historical, one level",
        b"<14>Jan  1 00:00:00 vm single: again (cached)",
        b"<14>Jan  1 00:00:00 vm my.app.ok: 2",
    )
    assert batch.messages == ["1", "2"]
    assert [reason for reason, _ in batch.rejected] == ["invalid tag"] * 5
    assert batch.rejected[0][1] == "<14>Jan  1 00:00:00 vm single: one level"


def test_bad_headers_are_rejected_blank_lines_ignored() -> None:
    long_garbage = b"garbage " * 100
    batch = parse(
        b"",
        b"   \t ",
        b"\x00\x01\x02\xff",
        long_garbage,
        b"<14>host-without-timestamp my.app.t: m",
        b"<14>1 2024-01-01T00:00:00Z host app - - - rfc5424",
        b"<14>Jan  1 00:00:00 my.app.t: no host",
        b"<14>Jan  1 00:00:00 vm my.app.t: fine",
    )
    assert batch.messages == ["fine"]
    assert [reason for reason, _ in batch.rejected] == ["bad header"] * 5
    assert batch.rejected[1][1] == long_garbage.decode()


# -- historical (usd) tags ----------------------------------------------------------------------


def test_devo_sdk_historical_line_from_yesterday() -> None:
    # devo-sdk's test: yesterday as "%b %d %H:%M:%S", family number = its day of month.
    for now in (NOW, datetime(2024, 3, 2, 8, 0, 5, tzinfo=UTC)):
        yesterday = now - timedelta(days=1)
        line = (
            f"<14>{yesterday.strftime('%b %d %H:%M:%S')} python-sdk-test-hostname "
            f"(usd.family[{yesterday.day}])test.keep.types: ip4=127.0.0.1"
        )
        batch = parse(line.encode(), now=now)
        assert rows(batch) == [
            ("test.keep.types", "python-sdk-test-hostname", "ip4=127.0.0.1", ms(yesterday))
        ]


def test_historical_iso_forms() -> None:
    batch = parse(
        b"<14>2020-01-01 00:00:00 h (usd)my.app.hist: a",
        b"<14>2020-01-01 00:00:00.123456 h (usd)my.app.hist: b",
        b"<14>2020-01-01T00:00:00Z h (usd)my.app.hist: c",
        b"<14>2020-01-01T01:00:00.5+01:00 h (usd)my.app.hist: d",
        b"<14>2019-12-31T20:30:00-0330 h (usd.family[31])my.app.hist: e",
    )
    base = ms(datetime(2020, 1, 1, tzinfo=UTC))
    assert batch.eventdates == [base, base + 123, base, base + 500, base]
    assert set(batch.tables) == {"my.app.hist"}


def test_historical_time_zone_applies_to_headers_without_offset() -> None:
    plus_two = timezone(timedelta(hours=2))
    batch = parse(
        b"<14>2020-01-01 02:00:00 h (usd)my.app.hist: local",
        b"<14>2020-01-01T02:00:00Z h (usd)my.app.hist: explicit",
        b"<14>Mar 14 12:30:00 h (usd)my.app.hist: syslog form",
        tz=plus_two,
    )
    assert batch.eventdates == [
        ms(datetime(2020, 1, 1, tzinfo=UTC)),
        ms(datetime(2020, 1, 1, 2, tzinfo=UTC)),
        ms(datetime(2024, 3, 14, 10, 30, tzinfo=UTC)),
    ]


def test_syslog_form_year_inference() -> None:
    new_year = datetime(2025, 1, 1, 0, 30, tzinfo=UTC)
    batch = parse(
        b"<14>Dec 31 23:59:00 h (usd)my.app.h: last year",
        b"<14>Jan  1 12:00:00 h (usd)my.app.h: later today, within a day",
        b"<14>Jan  2 12:00:00 h (usd)my.app.h: more than a day ahead",
        b"<14>Feb 29 12:00:00 h (usd)my.app.h: only in the previous year",
        now=new_year,
    )
    assert batch.eventdates == [
        ms(datetime(2024, 12, 31, 23, 59, tzinfo=UTC)),
        ms(datetime(2025, 1, 1, 12, tzinfo=UTC)),
        ms(datetime(2024, 1, 2, 12, tzinfo=UTC)),
        ms(datetime(2024, 2, 29, 12, tzinfo=UTC)),
    ]


def test_historical_with_bad_time_is_rejected() -> None:
    batch = parse(
        b"<14>Foo 01 00:00:00 h (usd)my.app.h: unknown month",
        b"<14>Feb 30 00:00:00 h (usd)my.app.h: no such day",
        b"<14>2020-13-01 00:00:00 h (usd)my.app.h: no such month",
        b"<14>2020-01-01 24:00:00 h (usd)my.app.h: no such hour",
        b"<14>2020-01-01 00:00:00 h (usd)my.app.h: fine",
        b"<14>Foo 01 00:00:00 h my.app.h: not historical: fine",
    )
    assert batch.messages == ["fine", "not historical: fine"]
    assert batch.eventdates == [ms(datetime(2020, 1, 1, tzinfo=UTC)), None]
    assert [reason for reason, _ in batch.rejected] == ["bad timestamp"] * 4


def test_historical_and_live_events_of_one_table() -> None:
    batch = parse(
        b"<14>Jan  1 00:00:00 h test.keep.types: ip4=127.0.0.1",
        b"<14>2024-03-14 10:00:00 h (usd)test.keep.types: ip4=127.0.0.1",
        b"<14>Jan  1 00:00:00 h test.keep.types: again",
    )
    assert batch.tables == ["test.keep.types"] * 3
    assert batch.eventdates == [None, ms(datetime(2024, 3, 14, 10, tzinfo=UTC)), None]


# -- what devo-sdk's Sender really writes -----------------------------------------------------


def _capture(send: Callable[[Any], None]) -> bytes:
    """Run ``send(sender)`` against a local TCP server; returns every byte it received."""
    from devo.sender import Sender, SenderConfigTCP  # type: ignore[import-untyped]

    received = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as server:

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                while data := connection.recv(65536):
                    received.extend(data)

        thread = threading.Thread(target=serve)
        thread.start()
        sender = Sender(SenderConfigTCP(address=server.getsockname()))
        try:
            send(sender)
        finally:
            sender.close()
            thread.join(10)
    return bytes(received)


@pytest.mark.early  # its sender waits with select(): see tests/conftest.py
def test_devo_sdk_sender_end_to_end() -> None:
    def send(s: Any) -> None:
        s.send(tag="my.app.test", msg="hello world", hostname="vm")
        s.send(tag="my.app.ml", msg="first\nsecond", hostname="vm", multiline=True)
        for i in range(3):
            s.send(tag=b"my.app.zip", msg=b"z%d" % i, hostname=b"vm", zip=True)
        s.flush_buffer()
        s.send(tag=b"my.app.bytes", msg=b"bytes no zip", hostname=b"vm")
        logger = logging.getLogger("linqd-test-devo-sdk")
        logger.propagate = False
        s.logging["tag"] = "my.app.log"
        logger.addHandler(s)
        try:
            logger.warning("info msg")
        finally:
            logger.removeHandler(s)
        s.send(
            tag="(usd)test.keep.types",
            msg="ip4=127.0.0.1",
            hostname="vm",
            date="2024-03-14 10:00:00",
        )
        s.send_raw("<14>Jan  1 00:00:00 vm my.app.raw: last without newline")

    stream = _capture(send)
    # The paths this test is about really are on the wire.
    assert b"\x1f\x8b" in stream and b"info msg\x00\n" in stream and b"\n47 <14>" in stream
    framer = SyslogFramer()
    messages = framer.feed(stream) + framer.close()
    assert framer.take_errors() == []
    batch = parse_messages(messages, now_ms=NOW_MS)
    assert batch.rejected == []
    assert rows(batch) == [
        ("my.app.test", "vm", "hello world", None),
        ("my.app.ml", "vm", "first\nsecond", None),
        ("my.app.zip", "vm", "z0", None),
        ("my.app.zip", "vm", "z1", None),
        ("my.app.zip", "vm", "z2", None),
        ("my.app.bytes", "vm", "bytes no zip", None),
        ("my.app.log", batch.hosts[6], "info msg", None),
        ("test.keep.types", "vm", "ip4=127.0.0.1", ms(datetime(2024, 3, 14, 10, tzinfo=UTC))),
        ("my.app.raw", "vm", "last without newline", None),
    ]
