"""SyslogFramer: lines, octet-counted records and gzip members on one stream, in any chunking."""

from __future__ import annotations

import gzip
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linqd.ingest.framing import FrameError, SyslogFramer

HEADER = b"<14>Jan  1 00:00:00 vm my.app.test: "


def frame(
    stream: bytes, chunks: list[int] | None = None, **limits: int
) -> tuple[list[bytes], list[FrameError]]:
    """Feed ``stream`` cut at the given offsets (one feed when none), then close."""
    framer = SyslogFramer(**limits)
    cuts = sorted(set(chunks or []))
    messages: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        messages += framer.feed(stream[start:cut])
        start = cut
    messages += framer.close()
    assert framer.messages == len(messages)
    assert framer.bytes == len(stream)
    return messages, framer.take_errors()


def octet(record: bytes) -> bytes:
    return b"%d %s" % (len(record), record)


def member(text: bytes, level: int = 6) -> bytes:
    return gzip.compress(text, compresslevel=level)


# -- the spec's examples ----------------------------------------------------------------------


def test_spec_lines() -> None:
    stream = (
        b"<14>Jan  1 00:00:00 vm my.app.test: hello world\n"
        b"<14>2024-01-01 00:00:00 h1 my.app.test: line2\n"
        b"<14>Jan  1 00:00:00 vm my.app.test: \xc3\xbcn\xc3\xafcode \xe2\x9c\x93\n"
        b"<14>Jan  1 00:00:00 vm my.cli.tag: cli line\n"
        b"<86>Jan  1 00:00:00 vm my.app.log: info msg\x00\n"
    )
    messages, errors = frame(stream)
    assert messages == stream.split(b"\n")[:-1]
    assert errors == []


def test_spec_octet_counted_records() -> None:
    first = b"<14>Jan  1 00:00:00 vm my.app.ml: first\nsecond\nthird\n"
    second = "<14>Jan  1 00:00:00 vm my.app.ml: ünï\nx\n".encode()
    assert (len(first), len(second)) == (53, 42)
    stream = octet(first) + octet(second)
    assert stream.startswith(b"53 <14>") and b"\n42 <14>" in stream
    messages, errors = frame(stream)
    assert messages == [first[:-1], second[:-1]]
    assert errors == []


def test_devo_sdk_writes_multiline_in_4096_byte_pieces() -> None:
    record = HEADER + b"\n".join(b"line %d" % i for i in range(2000)) + b"\n"
    stream = octet(record) + HEADER + b"after\n"
    pieces = list(range(4096, len(stream), 4096))
    assert frame(stream, pieces) == ([record[:-1], HEADER + b"after"], [])


def test_gzip_member_then_plain_line() -> None:
    zipped = b"".join(HEADER + b"zipped %d\n" % i for i in range(500))
    stream = member(zipped) + b"<14>Jan  1 00:00:00 vm my.app.bytes: bytes no zip\n"
    messages, errors = frame(stream)
    assert messages == [
        *zipped.split(b"\n")[:-1],
        b"<14>Jan  1 00:00:00 vm my.app.bytes: bytes no zip",
    ]
    assert errors == []


def test_gzip_members_back_to_back_and_last_line_without_newline() -> None:
    stream = member(b"a1\na2") + member(b"b1\r\nb2\n", level=0) + member(b"") + b"c\n"
    assert frame(stream) == ([b"a1", b"a2", b"b1", b"b2", b"c"], [])


def test_raw_sends_glued_without_newline_are_one_event() -> None:
    stream = HEADER + b"x" + b"<14>Jan  1 00:00:00 vm my.app.b: y\n"
    assert frame(stream) == ([stream[:-1]], [])


def test_final_line_without_newline_is_flushed_at_close() -> None:
    framer = SyslogFramer()
    assert framer.feed(HEADER + b"one\n" + HEADER + b"two") == [HEADER + b"one"]
    assert framer.buffered == len(HEADER) + 3
    assert framer.close() == [HEADER + b"two"]
    assert framer.buffered == 0


@pytest.mark.parametrize("tail", [b"12", b"12 ", b"\x1f", b"7 x"])
def test_undecided_prefix_at_close_is_a_line(tail: bytes) -> None:
    assert frame(HEADER + b"a\n" + tail) == ([HEADER + b"a", tail], [])


def test_crlf_empty_lines_and_near_misses() -> None:
    stream = (
        b"a\r\n\n\r\nb\rc\n"  # CRLF stripped, empty lines dropped, inner CR kept
        b"12 x\n"  # digits and space but no '<': a line
        b"123\n"
        b"\x1fnot gzip\n" + b"1" * 25 + b" <too many digits for a count\n"
    )
    messages, errors = frame(stream)
    assert messages == [
        b"a",
        b"b\rc",
        b"12 x",
        b"123",
        b"\x1fnot gzip",
        b"1" * 25 + b" <too many digits for a count",
    ]
    assert errors == []


# -- malformed input --------------------------------------------------------------------------


def test_binary_garbage_is_just_a_line() -> None:
    garbage = bytes(range(256)).replace(b"\n", b"").replace(b"\r", b"")
    assert frame(garbage + b"\n" + HEADER + b"ok\n") == ([garbage, HEADER + b"ok"], [])


def test_absurd_octet_count_resynchronises_at_next_newline() -> None:
    stream = HEADER + b"before\n" + b"99999999999 <14>bogus\n" + HEADER + b"after\n"
    messages, errors = frame(stream, max_message_bytes=1000)
    assert messages == [HEADER + b"before", HEADER + b"after"]
    assert [(e.kind, e.bytes_skipped) for e in errors] == [("bad_octet_count", 21)]


def test_zero_octet_count() -> None:
    messages, errors = frame(b"0 <x\nok\n")
    assert messages == [b"ok"]
    assert [e.kind for e in errors] == ["bad_octet_count"]


def test_octet_record_cut_at_eof() -> None:
    record = HEADER + b"multi\nline\n"
    messages, errors = frame(HEADER + b"ok\n" + octet(record)[:-5])
    assert messages == [HEADER + b"ok"]
    assert [(e.kind, e.bytes_skipped) for e in errors] == [("bad_octet_count", len(record) - 5)]


def test_truncated_gzip_member_at_eof() -> None:
    zipped = member(HEADER + b"lost\n")
    messages, errors = frame(HEADER + b"ok\n" + zipped[:-3])
    assert messages == [HEADER + b"ok"]
    assert [(e.kind, e.bytes_skipped) for e in errors] == [("truncated_gzip", len(zipped) - 3)]


def test_corrupt_gzip_header_resynchronises_after_the_magic() -> None:
    stream = b"\x1f\x8b\x09garbage\n" + HEADER + b"after\n"
    messages, errors = frame(stream)
    assert messages == [HEADER + b"after"]
    assert [e.kind for e in errors] == ["bad_gzip"]
    assert errors[0].bytes_skipped == len(b"\x1f\x8b\x09garbage")


def test_corrupt_gzip_body_loses_only_that_member() -> None:
    good = member(b"".join(HEADER + b"%d\n" % i for i in range(100)))
    noise = random.Random(7).randbytes(3000).hex().encode()
    bad = bytearray(member(HEADER + noise + b"\n"))
    bad[len(bad) // 2] ^= 0xFF
    # Zip mode writes members back to back: no LF to resynchronise on.
    stream = good + bytes(bad) + good + HEADER + b"after\n" + good
    messages, errors = frame(stream)
    expected = [HEADER + b"%d" % i for i in range(100)]
    assert messages == [*expected, *expected, HEADER + b"after", *expected]
    assert [e.kind for e in errors] == ["bad_gzip"]
    assert errors[0].bytes_skipped == len(bad)


def test_corrupt_gzip_then_octet_counted_record() -> None:
    record = HEADER + b"a\nb\n"
    stream = b"\x1f\x8b\x08\xff\xff junk\n" + octet(record) + HEADER + b"c\n"
    messages, errors = frame(stream)
    assert messages == [record[:-1], HEADER + b"c"]
    assert [e.kind for e in errors] == ["bad_gzip"]


def test_corrupt_crc_drops_the_member() -> None:
    bad = bytearray(member(HEADER + b"payload\n"))
    bad[-8] ^= 0xFF
    messages, errors = frame(bytes(bad) + b"\n" + HEADER + b"after\n")
    assert HEADER + b"payload" not in messages
    assert messages[-1] == HEADER + b"after"
    assert [e.kind for e in errors] == ["bad_gzip"]


def test_oversize_line_in_a_chunk() -> None:
    stream = b"a" * 101 + b"\n" + b"b" * 100 + b"\nc\n"
    messages, errors = frame(stream, max_message_bytes=100)
    assert messages == [b"b" * 100, b"c"]
    assert [(e.kind, e.bytes_skipped) for e in errors] == [("oversize", 101)]


def test_ten_megabyte_line_in_64k_chunks_keeps_memory_bounded() -> None:
    limit, chunk = 1 << 20, 64 << 10
    huge = b"<14>Jan  1 00:00:00 vm my.app.huge: " + b"z" * (10 << 20)
    stream = HEADER + b"before\n" + huge + b"\n" + HEADER + b"after\n"
    framer = SyslogFramer(max_message_bytes=limit)
    messages: list[bytes] = []
    most = 0
    for start in range(0, len(stream), chunk):
        messages += framer.feed(stream[start : start + chunk])
        most = max(most, framer.buffered)
    messages += framer.close()
    assert most <= limit
    assert messages == [HEADER + b"before", HEADER + b"after"]
    assert framer.take_errors() == [
        FrameError("oversize", f"line longer than {limit} bytes", len(huge))
    ]
    assert framer.take_errors() == []


def test_oversize_line_at_eof() -> None:
    messages, errors = frame(b"ok\n" + b"x" * 300, list(range(0, 303, 7)), max_message_bytes=100)
    assert messages == [b"ok"]
    assert [(e.kind, e.bytes_skipped) for e in errors] == [("oversize", 300)]


def test_oversize_line_inside_gzip_member() -> None:
    messages, errors = frame(
        member(b"short\n" + b"x" * 200 + b"\nalso short"), max_message_bytes=100
    )
    assert messages == [b"short", b"also short"]
    assert [(e.kind, e.bytes_skipped) for e in errors] == [("oversize", 200)]


def test_decompression_bomb_is_bounded() -> None:
    bomb = gzip.compress(b"\0" * (50 << 20), compresslevel=9)
    assert len(bomb) < 100_000
    framer = SyslogFramer(max_inflated_member=1 << 20)
    messages: list[bytes] = []
    most = 0
    for piece in [HEADER + b"before\n", bomb, b"\n", HEADER + b"after\n"]:
        messages += framer.feed(piece)
        most = max(most, framer.buffered)
    messages += framer.close()
    assert most <= (1 << 20) + (64 << 10)
    assert messages[0] == HEADER + b"before" and messages[-1] == HEADER + b"after"
    assert [e.kind for e in framer.take_errors()] == ["oversize"]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SyslogFramer(max_message_bytes=0)


def test_framer_starts_over_after_close() -> None:
    framer = SyslogFramer()
    framer.feed(b"5 <abc")
    framer.close()
    assert [e.kind for e in framer.take_errors()] == ["bad_octet_count"]
    assert framer.feed(b"fresh\n") == [b"fresh"]


def test_accepts_bytes_like_input() -> None:
    framer = SyslogFramer()
    assert framer.feed(bytearray(b"a\nb")) == [b"a"]
    assert framer.feed(memoryview(b"c\n")) == [b"bc"]


# -- any chunking gives the same result -------------------------------------------------------

_text = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))


@st.composite
def _valid_segment(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """One piece of a well-formed stream and the messages it must produce."""
    kind = draw(st.sampled_from(["line", "crlf", "digits", "octet", "gzip"]))
    body = HEADER + draw(_text)
    if kind == "line":
        return body + b"\n", [body]
    if kind == "crlf":
        return body + b"\r\n", [body]
    if kind == "digits":
        line = b"%d" % draw(st.integers(0, 10**12)) + draw(st.sampled_from([b"", b" ", b" x"]))
        return line + b"\n", [line]
    if kind == "octet":
        record = body + b"\n".join(draw(st.lists(_text, max_size=4))) + b"\n"
        return octet(record), [record[:-1]]
    lines = [HEADER + line for line in draw(st.lists(_text, max_size=6))]
    text = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))
    return member(text, draw(st.integers(0, 9))), lines


@settings(max_examples=300, deadline=None)
@given(
    segments=st.lists(_valid_segment(), max_size=12),
    tail=st.sampled_from([b"", HEADER + b"no newline"]),
    data=st.data(),
)
def test_any_chunking_of_a_well_formed_stream(
    segments: list[tuple[bytes, list[bytes]]], tail: bytes, data: st.DataObject
) -> None:
    stream = b"".join(piece for piece, _ in segments) + tail
    expected = [message for _, messages in segments for message in messages]
    expected += [tail] if tail else []
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    assert frame(stream, cuts) == (expected, [])


def _corrupt(zipped: bytes, at: int) -> bytes:
    damaged = bytearray(zipped)
    damaged[at % len(damaged)] ^= 0x5A
    return bytes(damaged)


_malformed = st.one_of(
    st.builds(lambda n, t: b"%d <" % n + t + b"\n", st.integers(101, 10**15), _text),
    st.builds(lambda t, at: _corrupt(member(HEADER + t * 3 + b"\n"), at), _text, st.integers()),
    st.builds(lambda n: b"y" * n + b"\n", st.integers(90, 250)),
    st.binary(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.one_of(_valid_segment().map(lambda s: s[0]), _malformed), max_size=10),
    data=st.data(),
)
def test_any_chunking_of_a_malformed_stream(pieces: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(pieces)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    assert frame(stream, cuts, max_message_bytes=100) == frame(stream, max_message_bytes=100)


def test_byte_at_a_time_matches_one_feed() -> None:
    bad = _corrupt(member(HEADER + b"x" * 50 + b"\n"), 30)
    stream = (
        octet(HEADER + b"a\nb\n")
        + member(HEADER + b"z1\n" + HEADER + b"z2")
        + b"123 <too short\n"
        + bad
        + b"\n"
        + HEADER
        + b"end\r\n"
        + b"\x1f"
    )
    assert frame(stream, list(range(len(stream)))) == frame(stream)


def test_zlib_level_zero_stored_blocks() -> None:
    text = b"".join(HEADER + b"%d\n" % i for i in range(3000))
    zipped = zlib.compressobj(0, zlib.DEFLATED, 31)
    stream = zipped.compress(text) + zipped.flush()
    messages, errors = frame(stream, list(range(0, len(stream), 1000)))
    assert messages == text.split(b"\n")[:-1] and errors == []
