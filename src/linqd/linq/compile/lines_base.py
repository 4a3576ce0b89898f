"""What an engine spells its own way when a row becomes a line of text (``query/lines.py``).

``query/lines.py`` decides what every value becomes (timestamps as epoch ms, ip4 dotted or not,
NaN as null, csv quoting, framing); a ``LineDialect`` says how the engine writes each of those
steps. The two kinds of value the builder hands around are opaque to it:

- a *JSON value* (``json_*`` methods): whatever the engine's own ``json_object``/``json_array``
  need to write the value's JSON. On DuckDB that is a plain SQL value (DuckDB's JSON functions
  encode it); on ClickHouse it is the value's JSON text, NULL for null.
- a *text* (``*_text`` methods): VARCHAR, NULL for null; csv/tsv cells and the parts of a line.

Every engine must give the same bytes for the same rows: the DuckDB spelling is the reference
(clients have seen its lines first), so another engine reproduces even DuckDB's quirks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from sqlglot import exp


class LineDialect(ABC):
    """One engine's spelling of the steps of ``query/lines.py``."""

    engine: ClassVar[str]

    # -- values shared with other readers of rows -------------------------------------------------

    @abstractmethod
    def epoch_ms(self, ref: exp.Expression) -> exp.Expression:
        """A timestamp as integer milliseconds since the epoch (floored before 1970)."""

    @abstractmethod
    def drop_nulls(self, array: exp.Expression) -> exp.Expression:
        """``array`` without its NULL elements."""

    @abstractmethod
    def tuple_item(self, ref: exp.Expression, position: int) -> exp.Expression:
        """Item ``position`` (from 1) of a tuple."""

    # -- JSON values ------------------------------------------------------------------------------

    @abstractmethod
    def json_number(self, ref: exp.Expression) -> exp.Expression:
        """An integer (int4, int8, durations, epoch ms, ip4 as a number)."""

    @abstractmethod
    def json_float(self, ref: exp.Expression) -> exp.Expression:
        """A float8, null when not finite."""

    @abstractmethod
    def json_bool(self, ref: exp.Expression) -> exp.Expression:
        """A bool as ``true``/``false``."""

    @abstractmethod
    def json_string(self, ref: exp.Expression, *, plain: bool = False) -> exp.Expression:
        """A JSON string; ``plain``: the text never needs escaping (a dotted ip4)."""

    @abstractmethod
    def json_embedded(self, ref: exp.Expression) -> exp.Expression:
        """A ``json`` column: its JSON, or a JSON string when it does not parse."""

    @abstractmethod
    def json_list(self, ref: exp.Expression, param: str, element: exp.Expression) -> exp.Expression:
        """An array or set whose elements become ``element`` (a JSON value over the column
        ``param``, the lambda's parameter)."""

    @abstractmethod
    def json_map(
        self,
        ref: exp.Expression,
        params: tuple[str, str],
        key: exp.Expression,
        value: exp.Expression,
    ) -> exp.Expression:
        """A map (or bag) as a JSON object: ``key`` is the text of an entry's key and ``value``
        its JSON value, over the columns ``params`` (the key's and the value's)."""

    @abstractmethod
    def json_other(self, ref: exp.Expression) -> exp.Expression:
        """Any other value (tuples, untyped nulls) as the engine encodes it."""

    @abstractmethod
    def json_object(self, pairs: Sequence[tuple[str, exp.Expression]]) -> exp.Expression:
        """An object of (name, JSON value) pairs, in order, as text."""

    @abstractmethod
    def json_array(self, values: Sequence[exp.Expression]) -> exp.Expression:
        """An array of JSON values, as text."""

    @abstractmethod
    def json_text(self, value: exp.Expression) -> exp.Expression:
        """A JSON value as its JSON text (NULL for null): arrays in csv/tsv cells."""

    # -- text -------------------------------------------------------------------------------------

    @abstractmethod
    def ip_number(self, ref: exp.Expression) -> exp.Expression:
        """An ip4 as its unsigned 32-bit integer."""

    @abstractmethod
    def dotted(self, ref: exp.Expression) -> exp.Expression:
        """An ip4 as dotted text (``127.0.0.1``)."""

    @abstractmethod
    def float_text(self, ref: exp.Expression) -> exp.Expression:
        """A float8 as Python's ``repr`` spells it; NULL when not finite."""

    @abstractmethod
    def bool_text(self, ref: exp.Expression) -> exp.Expression:
        """``true``/``false``."""

    @abstractmethod
    def to_text(self, ref: exp.Expression) -> exp.Expression:
        """Any other value (integers, durations) as text."""

    @abstractmethod
    def timestamp_text(
        self, ref: exp.Expression, zone: int | str, *, iso: bool, suffix: str
    ) -> exp.Expression:
        """A timestamp as the wall clock of ``zone`` (a fixed offset in seconds, or an IANA
        name), ``yyyy-MM-dd HH:mm:ss.SSS`` or, ``iso``, ``yyyy-MM-ddTHH:mm:ss.SSS`` followed by
        the offset: ``suffix`` for a fixed zone, ``±HH:MM`` of the row's own offset otherwise."""

    @abstractmethod
    def base64(self, ref: exp.Expression) -> exp.Expression:
        """A ``bytes`` or ``dc`` result column as standard base64 text (padded)."""

    @abstractmethod
    def matches(self, text: exp.Expression, pattern: str) -> exp.Expression:
        """Whether the regular expression ``pattern`` matches somewhere in ``text``."""

    @abstractmethod
    def finish(self, text: exp.Expression) -> exp.Expression:
        """The line as the engine's text type."""
