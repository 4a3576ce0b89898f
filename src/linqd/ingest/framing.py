"""Sans-IO framing of one syslog connection: bytes in, complete messages out.

Written here rather than taken from a syslog library: devo-sdk mixes three framings on one
connection (lines, RFC 6587 octet counting and raw gzip members written back to back), which no
kept library reads, and the framer must resynchronise after corrupt input in bounded memory.

One ``SyslogFramer`` per connection. ``feed`` takes whatever the socket returned and gives back
the messages it completed; ``close`` is EOF. Three framings share one stream and are told apart at
every event boundary:

* ``1f 8b`` — one gzip member (devo-sdk's zip mode). Exactly one member is inflated; the bytes
  after it continue the outer stream. The inflated text is split on LF only (no octet counting
  or nested gzip inside), and its last line counts even without a final LF.
* ``^\\d+ <`` — an RFC 6587 octet-counted record (devo-sdk's multiline mode): exactly ``length``
  bytes, counted from the ``<``, are one message; a final LF inside the count is dropped,
  embedded newlines are kept.
* anything else — a line running to the next LF.

Choices the spec leaves open:

* A single CR before the LF of a line is removed (CRLF senders); a CR inside a message is kept.
  Octet-counted records keep theirs: their count is exact, nothing is guessed.
* Empty lines are not events and are dropped without an error.
* A length prefix of 20 or more digits is not a length prefix: the line is an ordinary line.
  This keeps the bytes held back while deciding to a couple of dozen.
* A count of 0 or above ``max_message_bytes`` is ``bad_octet_count``; the framer resynchronises
  at the next LF instead of skipping ``count`` bytes, because an absurd count (the usual cause)
  would otherwise swallow good events that follow. The price: an honest but oversize multiline
  record leaves its later lines behind as (unparseable) lines.
* A line longer than ``max_message_bytes`` (LF excluded, CR included) is ``oversize``; its bytes
  are discarded as they arrive, so memory stays bounded whatever the line's length.
* A corrupt gzip member (``bad_gzip``) loses what it inflated so far: a member is delivered all
  or nothing, since its CRC is only checked at its end. The framer finds the byte at which zlib
  failed (for a bad header: right after the magic) and resynchronises from there at the next
  plausible event start: a LF followed by ``<`` or by a length prefix, or the next gzip header
  ``1f 8b 08``. Not simply at the next LF: zip mode writes members back to back with no LF
  between them, and compressed bytes hold a LF every 256 bytes or so, so resynchronising there
  would turn the following members into junk lines.
* A member inflating to more than ``max_inflated_member`` bytes (a decompression bomb) is
  ``oversize`` and abandoned at that point, resynchronising the same way; inflating the rest
  just to find its end would let a small input cost a lot of CPU.
* At EOF a partial line is a message (devo-sdk's ``send_raw`` without final newline); an
  unfinished octet-counted record is ``bad_octet_count`` and an unfinished member
  ``truncated_gzip``, both discarded.

A ``FrameError`` is recorded once the bad input has been skipped, so ``bytes_skipped`` is the
whole amount (a resynchronising LF not included).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

__all__ = ["FrameError", "SyslogFramer"]

# Runs of plain lines are split in bulk up to the first line that might start something else.
_SPECIAL_START = re.compile(rb"\n[0-9\x1f]")
_DIGITS = re.compile(rb"[0-9]{1,20}")
_MAX_COUNT_DIGITS = 19
# Where an event can start again after a broken gzip member; the tail of a chunk that could
# begin a match (up to a LF, 19 digits and " <") is carried over to the next feed.
_RESYNC = re.compile(rb"\x1f\x8b\x08|\n(?:<|[0-9]{1,19} <)")
_RESYNC_CARRY = 21

# Compressed bytes handed to zlib per call: bounds the output of one call of a decompression
# bomb, and the re-inflation needed to locate an error.
_GZIP_PIECE = 8 << 10
_PROBE_OUTPUT = 64 << 10

_BOUNDARY, _LINE, _OCTET, _GZIP, _SKIP, _HUNT = range(6)


@dataclass(frozen=True)
class FrameError:
    """Input that could not become a message: ``kind`` is one of ``bad_octet_count``,
    ``truncated_gzip``, ``bad_gzip`` and ``oversize``."""

    kind: str
    detail: str
    bytes_skipped: int


class SyslogFramer:
    """Splits one connection's byte stream into syslog messages (module docstring for rules).

    ``messages`` and ``bytes`` count the messages returned and the bytes fed; ``errors`` holds the
    ``FrameError``\\ s not yet taken with ``take_errors``.
    """

    def __init__(
        self, *, max_message_bytes: int = 1 << 20, max_inflated_member: int = 64 << 20
    ) -> None:
        if max_message_bytes < 1 or max_inflated_member < 1:
            raise ValueError("framing limits must be positive")
        self.max_message_bytes = max_message_bytes
        self.max_inflated_member = max_inflated_member
        self.messages = 0
        self.bytes = 0
        self.errors: list[FrameError] = []
        self._state = _BOUNDARY
        # Bytes that cannot be classified yet: at an event boundary (``12``, ``12 ``, ``\x1f``),
        # or a possible start of a resynchronisation point.
        self._pending = b""
        # A partial line or octet-counted record, kept as pieces so that a slowly arriving long
        # message is joined once instead of being copied on every feed.
        self._parts: list[bytes] = []
        self._held = 0
        self._remaining = 0
        self._inflater = zlib.decompressobj(wbits=31)
        self._inflated: list[bytes] = []
        self._inflated_size = 0
        self._member_bytes = 0
        self._skip_kind = ""
        self._skip_detail = ""
        self._skipped = 0

    @property
    def buffered(self) -> int:
        """Bytes held back between feeds (a partial message, an unfinished gzip member)."""
        return len(self._pending) + self._held + self._inflated_size

    def take_errors(self) -> list[FrameError]:
        errors, self.errors = self.errors, []
        return errors

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Consume the next bytes of the stream; returns the messages they complete."""
        if type(data) is not bytes:
            data = bytes(data)
        self.bytes += len(data)
        out: list[bytes] = []
        if self._pending:
            data = self._pending + data
            self._pending = b""
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _BOUNDARY:
                pos = self._boundary(data, pos, out)
            elif state == _LINE:
                pos = self._line(data, pos, out)
            elif state == _OCTET:
                pos = self._octet(data, pos, out)
            elif state == _GZIP:
                pos = self._gzip(data, pos, out)
            elif state == _SKIP:
                pos = self._skip(data, pos)
            else:
                pos = self._hunt(data, pos)
        self.messages += len(out)
        return out

    def close(self) -> list[bytes]:
        """EOF: flush a final partial line, report unfinished frames; the framer starts over."""
        out: list[bytes] = []
        state = self._state
        if state == _BOUNDARY and self._pending:
            self._emit_one(self._pending, out)
        elif state == _LINE:
            self._emit_one(b"".join(self._parts), out)
        elif state == _OCTET:
            wanted = self._held + self._remaining
            detail = f"record cut at EOF: {self._held} of {wanted} bytes"
            self._error("bad_octet_count", detail, self._held)
        elif state == _GZIP:
            self._error("truncated_gzip", "gzip member cut at EOF", self._member_bytes)
        elif state in (_SKIP, _HUNT):
            skipped = self._skipped + len(self._pending)
            self._error(self._skip_kind, self._skip_detail, skipped)
        self._reset()
        self.messages += len(out)
        return out

    # -- states ---------------------------------------------------------------------------

    def _boundary(self, data: bytes, pos: int, out: list[bytes]) -> int:
        end = len(data)
        first = data[pos]
        if first == 0x1F:
            if pos + 1 == end:
                self._pending = data[pos:]
                return end
            if data[pos + 1] == 0x8B:
                self._state = _GZIP
                return pos
        elif 0x30 <= first <= 0x39:
            digits = _DIGITS.match(data, pos)
            assert digits is not None
            after = digits.end()
            if after - pos <= _MAX_COUNT_DIGITS:
                if after == end or (data[after] == 0x20 and after + 1 == end):
                    self._pending = data[pos:]
                    return end
                if data[after] == 0x20 and data[after + 1] == 0x3C:
                    return self._start_record(int(data[pos:after]), pos, after + 1)
        # A run of plain lines: everything up to the next line that might be special.
        special = _SPECIAL_START.search(data, pos)
        if special is not None:
            stop = special.start()
            self._emit_lines(data[pos:stop], out)
            return stop + 1
        last = data.rfind(b"\n", pos)
        if last >= 0:
            self._emit_lines(data[pos:last], out)
            pos = last + 1
            if pos == end:
                return end
        self._state = _LINE
        if end - pos > self.max_message_bytes:
            self._start_skip("oversize", self._oversize_detail(), end - pos)
        else:
            self._parts = [data[pos:] if pos else data]
            self._held = end - pos
        return end

    def _start_record(self, count: int, pos: int, start: int) -> int:
        if not 0 < count <= self.max_message_bytes:
            detail = f"octet count {count} outside 1..{self.max_message_bytes}"
            self._start_skip("bad_octet_count", detail, 0)
            return pos
        self._state = _OCTET
        self._parts = []
        self._held = 0
        self._remaining = count
        return start

    def _line(self, data: bytes, pos: int, out: list[bytes]) -> int:
        newline = data.find(b"\n", pos)
        if newline < 0:
            size = self._held + len(data) - pos
            if size > self.max_message_bytes:
                self._parts = []
                self._held = 0
                self._start_skip("oversize", self._oversize_detail(), size)
            else:
                self._parts.append(data[pos:] if pos else data)
                self._held = size
            return len(data)
        size = self._held + newline - pos
        self._parts.append(data[pos:newline])
        message = b"".join(self._parts)
        self._parts = []
        self._held = 0
        self._state = _BOUNDARY
        if size > self.max_message_bytes:
            self._error("oversize", self._oversize_detail(), size)
        else:
            self._emit_one(message, out)
        return newline + 1

    def _octet(self, data: bytes, pos: int, out: list[bytes]) -> int:
        take = min(self._remaining, len(data) - pos)
        self._parts.append(data[pos : pos + take])
        self._held += take
        self._remaining -= take
        if self._remaining:
            return pos + take
        record = b"".join(self._parts)
        self._parts = []
        self._held = 0
        self._state = _BOUNDARY
        if record.endswith(b"\n"):
            record = record[:-1]
        if record:
            out.append(record)
        return pos + take

    def _gzip(self, data: bytes, pos: int, out: list[bytes]) -> int:
        inflater = self._inflater
        end = len(data)
        while pos < end:
            piece = data[pos : pos + _GZIP_PIECE]
            before = inflater.copy()
            room = self.max_inflated_member - self._inflated_size + 1
            try:
                inflated = inflater.decompress(piece, room)
            except zlib.error as error:
                at = pos + _failing_offset(before, piece)
                self._member_bytes += at - pos
                self._abandon_member("bad_gzip", f"corrupt gzip member: {error}")
                return at
            self._inflated_size += len(inflated)
            if inflated:
                self._inflated.append(inflated)
            left = len(inflater.unused_data) if inflater.eof else len(inflater.unconsumed_tail)
            used = len(piece) - left
            self._member_bytes += used
            if self._inflated_size > self.max_inflated_member:
                detail = f"gzip member inflates beyond {self.max_inflated_member} bytes"
                self._abandon_member("oversize", detail)
                return pos + used
            if inflater.eof:
                text = b"".join(self._inflated)
                self._reset_member()
                self._state = _BOUNDARY
                self._emit_lines(text, out)
                return pos + used
            pos += used
        return end

    def _skip(self, data: bytes, pos: int) -> int:
        newline = data.find(b"\n", pos)
        if newline < 0:
            self._skipped += len(data) - pos
            return len(data)
        self._error(self._skip_kind, self._skip_detail, self._skipped + newline - pos)
        self._state = _BOUNDARY
        self._skipped = 0
        return newline + 1

    def _hunt(self, data: bytes, pos: int) -> int:
        found = _RESYNC.search(data, pos)
        if found is None:
            keep = max(pos, len(data) - _RESYNC_CARRY)
            self._skipped += keep - pos
            self._pending = data[keep:]
            return len(data)
        start = found.start()
        self._error(self._skip_kind, self._skip_detail, self._skipped + start - pos)
        self._state = _BOUNDARY
        self._skipped = 0
        return start if data[start] == 0x1F else start + 1

    # -- helpers --------------------------------------------------------------------------

    def _emit_lines(self, text: bytes, out: list[bytes]) -> None:
        """Append the LF-separated lines of ``text`` (its last line needs no LF)."""
        lines = text.split(b"\n")
        if len(text) > self.max_message_bytes:
            lines = self._drop_oversize(lines)
        if b"\r" in text:
            lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
        if b"" in lines:
            lines = [line for line in lines if line]
        out.extend(lines)

    def _drop_oversize(self, lines: list[bytes]) -> list[bytes]:
        limit = self.max_message_bytes
        kept = []
        for line in lines:
            if len(line) > limit:
                self._error("oversize", self._oversize_detail(), len(line))
            else:
                kept.append(line)
        return kept

    def _emit_one(self, message: bytes, out: list[bytes]) -> None:
        if message.endswith(b"\r"):
            message = message[:-1]
        if message:
            out.append(message)

    def _oversize_detail(self) -> str:
        return f"line longer than {self.max_message_bytes} bytes"

    def _start_skip(self, kind: str, detail: str, skipped: int) -> None:
        self._state = _SKIP
        self._skip_kind = kind
        self._skip_detail = detail
        self._skipped = skipped

    def _abandon_member(self, kind: str, detail: str) -> None:
        skipped = self._member_bytes
        self._reset_member()
        self._start_skip(kind, detail, skipped)
        self._state = _HUNT

    def _reset_member(self) -> None:
        self._inflater = zlib.decompressobj(wbits=31)
        self._inflated = []
        self._inflated_size = 0
        self._member_bytes = 0

    def _error(self, kind: str, detail: str, skipped: int = 0) -> None:
        self.errors.append(FrameError(kind, detail, skipped))

    def _reset(self) -> None:
        self._state = _BOUNDARY
        self._pending = b""
        self._parts = []
        self._held = 0
        self._remaining = 0
        self._skipped = 0
        self._reset_member()


def _failing_offset(inflater: zlib._Decompress, piece: bytes) -> int:
    """Index in ``piece`` of the byte on which ``inflater`` (a copy taken before) fails.

    zlib does not say where it failed; feeding longer prefixes can only fail earlier or the same,
    so a binary search finds the shortest failing prefix. Only runs on corrupt input.
    """
    good, bad = 0, len(piece)
    while bad - good > 1:
        middle = (good + bad) // 2
        if _fails(inflater.copy(), piece[:middle]):
            bad = middle
        else:
            good = middle
    return bad - 1


def _fails(inflater: zlib._Decompress, data: bytes) -> bool:
    try:
        inflater.decompress(data, _PROBE_OUTPUT)
        while inflater.unconsumed_tail and not inflater.eof:
            inflater.decompress(inflater.unconsumed_tail, _PROBE_OUTPUT)
    except zlib.error:
        return True
    return False
