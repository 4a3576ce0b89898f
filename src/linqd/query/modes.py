"""The request parameters of ``POST /search/query`` that decide an answer's form: the mode
(``json``, ``json/compact``, ``json/simple``, ``json/simple/compact``, ``csv``, ``tsv``,
``msgpack``, ``xls``), the keep-alive, ``ipAsString``, ``timeZone`` and ``dateFormat``.

How each mode is produced: ``lines.py`` turns a row into its line text in SQL, ``framing.py``
puts the bytes around the lines, ``documents.py`` packs the two whole-document modes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from ..errors import ValidationError

# Every line of a line mode ends with CRLF, so it is complete on the wire when sent.
CRLF = "\r\n"
_DATE_FORMATS = ("default", "sql", "iso")


class Mode(Enum):
    JSON = "json"
    JSON_COMPACT = "json/compact"
    JSON_SIMPLE = "json/simple"
    JSON_SIMPLE_COMPACT = "json/simple/compact"
    CSV = "csv"
    TSV = "tsv"
    MSGPACK = "msgpack"
    XLS = "xls"

    @property
    def streamed(self) -> bool:
        return self in (Mode.JSON_SIMPLE, Mode.JSON_SIMPLE_COMPACT, Mode.CSV, Mode.TSV)

    @property
    def is_json(self) -> bool:
        return self.value.startswith("json")

    @property
    def whole(self) -> bool:
        """Encoded from Python rows in one piece, not as lines (msgpack, xls)."""
        return self in (Mode.MSGPACK, Mode.XLS)

    @property
    def content_type(self) -> str:
        # An explicit charset everywhere: without one, requests (devo-sdk's HTTP library)
        # decodes text/* as ISO-8859-1 and guesses the encoding of other types.
        match self:
            case Mode.JSON | Mode.JSON_COMPACT:
                return "application/json; charset=utf-8"
            case Mode.JSON_SIMPLE | Mode.JSON_SIMPLE_COMPACT:
                return "application/x-ndjson; charset=utf-8"
            case Mode.CSV:
                return "text/csv; charset=utf-8"
            case Mode.TSV:
                return "text/tab-separated-values; charset=utf-8"
            case Mode.MSGPACK:
                return "application/x-msgpack"
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# The two modes whose rows are elements of one JSON array: "," goes between rows.
ARRAY_MODES = (Mode.JSON, Mode.JSON_COMPACT)


def parse_mode(value: object) -> Mode:
    """``body["mode"]``: absent, null or ``{}`` is json; ``{"type": "<mode>"}``; a bare
    ``"<mode>"`` string is accepted too. Names are matched case-insensitively."""
    kind = value.get("type") if isinstance(value, dict) else value
    if kind is None:
        return Mode.JSON
    if isinstance(kind, str):
        try:
            return Mode(kind.strip().lower())
        except ValueError:
            pass
    names = ", ".join(m.value for m in Mode)
    raise ValidationError(f"Unsupported mode {kind!r}; expected one of {names}", field="mode")


@dataclass(frozen=True)
class KeepAlive:
    """What a csv/tsv response sends while a query is silent."""

    kind: str  # "token" or "empty"
    token: str = "\n"


def parse_keep_alive(value: object) -> KeepAlive | None:
    """``body["keepAlive"]``: absent/null → None; ``{"type":"token"}`` (token ``\\n``),
    ``{"type":"token","token":"<s>"}`` or ``{"type":"empty"}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "empty":
            return KeepAlive("empty")
        if kind == "token":
            token = value.get("token", "\n")
            # An empty token would send nothing, which is no keep-alive at all.
            if isinstance(token, str) and token:
                return KeepAlive("token", token)
            raise ValidationError("`keepAlive.token` must be a non-empty string", field="keepAlive")
    raise ValidationError(
        '`keepAlive` must be {"type":"token"}, {"type":"token","token":"<s>"} or {"type":"empty"}',
        field="keepAlive",
    )


@dataclass(frozen=True)
class EncodeOptions:
    ip_as_string: bool = False
    tz: dt.tzinfo = dt.UTC
    date_format: str = "default"  # "default"/"sql": yyyy-MM-dd HH:mm:ss.SSS; "iso": ISO 8601
    keep_alive: KeepAlive | None = None

    def __post_init__(self) -> None:
        if self.date_format not in _DATE_FORMATS:
            raise ValidationError("`dateFormat` must be default, sql or iso", field="dateFormat")
