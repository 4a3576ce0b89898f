"""The bytes around the lines of one streamed answer: head, separators, tail, keep-alives and
the in-band errors devo-sdk detects, for every line mode."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..linq.ir import ResultColumn
from .modes import ARRAY_MODES, CRLF, EncodeOptions, Mode

JSON_KEEP_ALIVE = b"    "
_MESSAGE_JUNK = re.compile(r"[\x00-\x1f\x7f]+")


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _metadata(columns: Sequence[ResultColumn]) -> str:
    """``"m":{...},"metadata":[...]`` of json/compact and json/simple/compact, in column order."""
    m = {c.name: {"type": c.type.name, "index": i} for i, c in enumerate(columns)}
    listed = [{"name": c.name, "type": c.type.name} for c in columns]
    return f'"m":{_dumps(m)},"metadata":{_dumps(listed)}'


def _header(mode: Mode, columns: Sequence[ResultColumn]) -> str:
    names = [c.name for c in columns]
    if mode is Mode.TSV:
        return "\t".join(n.translate({9: 32, 10: 32, 13: 32}) for n in names) + CRLF
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=CRLF).writerow(names)
    return buffer.getvalue()


def _clean_message(message: str, mode: Mode) -> str:
    """A message devo-sdk's in-band regexes capture whole: no ``"`` in any mode, no line breaks
    or tabs, no ``,`` in csv; never empty (the regexes need one character)."""
    text = _MESSAGE_JUNK.sub(" ", str(message).replace('"', "'"))
    if mode is Mode.CSV:
        text = text.replace(",", ";")
    return text.strip() or "Error"


def _framed(first_line: str, mode: Mode) -> bool:
    """Whether lines came from ``line_expression(..., framed=True)``. Unambiguous: an unframed
    json line starts with ``{`` or ``[``, and no unframed line ends with CRLF (csv quotes a
    trailing line break, tsv and JSON escape or replace it)."""
    return first_line.startswith(",") if mode in ARRAY_MODES else first_line.endswith(CRLF)


class Framing:
    """The bytes around the lines of one response. One per request: it remembers whether a
    row was written (the json arrays need a separator from the second row on) and whether a
    keep-alive left the current line open."""

    def __init__(
        self,
        mode: Mode,
        columns: Sequence[ResultColumn],
        options: EncodeOptions,
        *,
        cid: str,
        timestamp_ms: int,
    ) -> None:
        if mode.whole:
            raise ValueError(f"mode {mode.value} is not framed; use encode_{mode.name.lower()}")
        self.mode = mode
        self.columns = tuple(columns)
        self.options = options
        self.separator = b"," if mode in ARRAY_MODES else CRLF.encode()
        envelope = f'{{"msg":"","status":0,"timestamp":{int(timestamp_ms)},"cid":{_dumps(cid)},'
        match mode:
            case Mode.JSON:
                head = envelope + '"object":['
            case Mode.JSON_COMPACT:
                head = envelope + '"object":{' + _metadata(columns) + ',"d":['
            case Mode.JSON_SIMPLE_COMPACT:
                head = "{" + _metadata(columns) + "}" + CRLF
            case Mode.JSON_SIMPLE:
                head = ""
            case _:
                head = _header(mode, columns)
        self._head = head.encode()
        self._wrote_rows = False
        self._open_line = False
        self._closed = False

    def head(self) -> bytes:
        return self._head

    def rows(self, lines: Sequence[str] | pa.Array | pa.ChunkedArray) -> bytes:
        """One batch of lines as bytes, separators included.

        ``lines`` may be a list of texts or, much faster, the Arrow ``line`` column itself: its
        text buffer is copied in one piece (no Python string per row). Lines may be plain
        (``line_expression``) or framed (``framed=True``); either is detected from the first
        line. The framing counts the rows it wrote, so an empty batch never produces ``[,``."""
        if self._closed:
            return b""
        if isinstance(lines, pa.ChunkedArray):
            data = b"".join(self.rows(chunk) for chunk in lines.chunks)
        elif isinstance(lines, pa.Array):
            data = self._arrow_rows(lines)
        else:
            data = self._text_rows(lines)
        if data:
            self._wrote_rows = True
            self._open_line = False
        return data

    def _text_rows(self, lines: Sequence[str]) -> bytes:
        if not lines:
            return b""
        if _framed(lines[0], self.mode):
            text = "".join(lines)
            return (text if self._wrote_rows or self.mode not in ARRAY_MODES else text[1:]).encode()
        if self.mode in ARRAY_MODES:
            return (("," if self._wrote_rows else "") + ",".join(lines)).encode()
        return (CRLF.join(lines) + CRLF).encode()

    def _arrow_rows(self, array: pa.Array) -> bytes:
        if len(array) == 0:
            return b""
        array = _string_lines(array)
        if not _framed(array[0].as_py(), self.mode):
            # Vectorised in Arrow: "," + line for the json arrays, line + CRLF otherwise.
            if self.mode in ARRAY_MODES:
                array = pc.binary_join_element_wise("", array, ",")
            else:
                array = pc.binary_join_element_wise(array, "", CRLF)
        skip = 1 if self.mode in ARRAY_MODES and not self._wrote_rows else 0
        # the very first element of the array takes no comma
        return _text_buffer(array, skip)

    def framed(self, data: bytes) -> bytes:
        """Bytes of framed lines made by ``framed_bytes`` (in another thread): the same bytes
        ``rows`` gives for those lines."""
        if self._closed or not data:
            return b""
        if self.mode in ARRAY_MODES and not self._wrote_rows:
            data = data[1:]
        self._wrote_rows = True
        self._open_line = False
        return data

    def tail(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        return {Mode.JSON: b"]}", Mode.JSON_COMPACT: b"]}}"}.get(self.mode, b"")

    def error(self, code: int, message: str) -> bytes:
        """The in-band error devo-sdk detects for this mode; it ends the response.

        In the line modes the error starts a fresh line when a keep-alive left one open, so the
        error line is never prefixed by spaces or a token."""
        if self._closed:
            return b""
        self._closed = True
        number = int(code) if int(code) >= 0 else 500
        text = _clean_message(message, self.mode)
        quoted = _dumps(text)
        match self.mode:
            case Mode.JSON:
                return f'],"error": [{number},{quoted}]}}'.encode()
            case Mode.JSON_COMPACT:
                return f'],"e": [{number},{quoted}]}}}}'.encode()
            case Mode.JSON_SIMPLE_COMPACT:
                line = f'{{"e":[{number},{quoted}]}}'
            case Mode.JSON_SIMPLE:
                line = f'["error",{number},{quoted}]'
            case Mode.CSV:
                line = f"devo.api.error,{number},{text}"
            case _:
                line = f"devo.api.error\t{number}\t{text}"
        return ((CRLF if self._open_line else "") + line + CRLF).encode()

    def keep_alive(self) -> bytes:
        """Bytes to send while the query is silent; b"" means send nothing."""
        if self._closed:
            return b""
        keep = self.options.keep_alive
        if self.mode.is_json:
            data = JSON_KEEP_ALIVE
        elif keep is None:
            data = b""
        elif keep.kind == "token":
            data = keep.token.encode()
        else:
            sep = "," if self.mode is Mode.CSV else "\t"
            data = (sep * (len(self.columns) - 1) + "\n").encode()
        if data and not data.endswith(b"\n"):
            self._open_line = True
        return data


def framed_bytes(batch: pa.RecordBatch) -> bytes:
    """The text of a batch whose one column holds framed lines (``line_expression(...,
    framed=True)``), its Arrow text buffer copied in one piece; ``Framing.framed`` sends it.
    Needs no ``Framing``, so the query's own thread can run it."""
    if batch.num_rows == 0:
        return b""
    return _text_buffer(_string_lines(batch.column(0)), 0)


def _string_lines(array: pa.Array) -> pa.Array:
    if array.null_count:
        raise ValueError("the line column must not contain nulls")
    if not pa.types.is_string(array.type):  # large_string, string_view: one batch fits
        array = array.cast(pa.string())
    return array


def _text_buffer(array: pa.Array, skip: int) -> bytes:
    offsets = memoryview(array.buffers()[1]).cast("B").cast("i")
    start = offsets[array.offset] + skip
    end = offsets[array.offset + len(array)]
    data: bytes = array.buffers()[2][start:end].to_pybytes()
    return data
