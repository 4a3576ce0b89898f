"""LINQ source → tokens, each with its span (line and column for error messages)."""

from __future__ import annotations

import math
import re

from ..errors import LinqSyntaxError, Span
from .limits import Meter, refuse
from .tokens import KEYWORDS, OPERATORS, T, Token

DURATION_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
                     "w": 604_800_000}  # fmt: skip

_WHITESPACE = re.compile(r"\s+")
_COMMENT = re.compile(r"//[^\n]*")
_IP4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?(?![\w.])")
_DURATION = re.compile(r"(?:\d+(?:ms|s|m|h|d|w))+(?![\w.])")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_NUMBER = re.compile(r"(\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?![\w])")
_IDENT = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$@]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0",
            "b": "\b", "f": "\f"}  # fmt: skip

MAX_NUMBER_LENGTH = 64


def duration_ms(text: str) -> int:
    return sum(int(n) * DURATION_UNITS_MS[unit] for n, unit in _DURATION_PART.findall(text))


class Lexer:
    def __init__(self, source: str, meter: Meter | None = None) -> None:
        self.meter = meter or Meter()
        if len(source) > self.meter.budget.max_chars:
            limit = self.meter.budget.max_chars
            raise refuse(f"Query longer than {limit} characters", None, source)
        self.source = source
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def _span(self, start: int, end: int) -> Span:
        return Span(start, end, self.line, start - self.line_start + 1)

    def _advance_to(self, end: int) -> None:
        newlines = self.source.count("\n", self.pos, end)
        if newlines:
            self.line += newlines
            self.line_start = self.source.rindex("\n", self.pos, end) + 1
        self.pos = end

    def error(self, message: str, start: int) -> LinqSyntaxError:
        span = self._span(start, start + 1)
        return LinqSyntaxError(
            f"{message} at line {span.line}, column {span.column}", span, self.source
        )

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        src = self.source
        while True:
            for skip in (_WHITESPACE, _COMMENT):
                m = skip.match(src, self.pos)
                while m and m.end() > self.pos:
                    self._advance_to(m.end())
                    m = _WHITESPACE.match(src, self.pos) or _COMMENT.match(src, self.pos)
            if self.pos >= len(src):
                out.append(Token(T.EOF, "", self._span(self.pos, self.pos)))
                return out
            token = self._next()
            out.append(token)
            self.meter.tick(token.span)
            if len(out) > self.meter.budget.max_tokens:
                limit = self.meter.budget.max_tokens
                raise refuse(f"Query longer than {limit} tokens", token.span, src)

    def _next(self) -> Token:
        src, start = self.source, self.pos
        char = src[start]
        if char in "\"'":
            return self._string(char)
        if char == "`":
            end = src.find("`", start + 1)
            if end < 0:
                raise self.error("Unterminated quoted identifier", start)
            return self._make(T.QUOTED_IDENT, end + 1, src[start + 1 : end])
        if char.isdigit() or (char == "." and start + 1 < len(src) and src[start + 1].isdigit()):
            m = _IP4.match(src, start)
            if m:
                octets = [int(g) for g in m.groups()[:4]]
                prefix = m.group(5)
                if all(o <= 255 for o in octets) and (prefix is None or int(prefix) <= 32):
                    kind = T.IP4 if prefix is None else T.CIDR
                    return self._make(kind, m.end(), m.group(0))
            digits = re.match(r"[\d.a-zA-Z]*", src[start : start + MAX_NUMBER_LENGTH + 1])
            if digits and len(digits.group(0)) > MAX_NUMBER_LENGTH:
                raise self.error("Number too long", start)
            m = _DURATION.match(src, start)
            if m:
                return self._make(T.DURATION, m.end(), duration_ms(m.group(0)))
            m = _NUMBER.match(src, start)
            if m:
                text = m.group(0)
                if "." in text or "e" in text or "E" in text:
                    value = float(text)
                    if not math.isfinite(value):
                        raise self.error("Number out of range", start)
                    return self._make(T.FLOAT, m.end(), value)
                return self._make(T.INT, m.end(), int(text))
            raise self.error(f"Bad number {src[start : start + 20].split()[0]!r}", start)
        m = _IDENT.match(src, start)
        if m:
            text = m.group(0)
            kind = T.KEYWORD if text in KEYWORDS else T.IDENT
            return self._make(kind, m.end(), text)
        for op in OPERATORS:
            if src.startswith(op, start):
                return self._make(T.OP, start + len(op), op)
        raise self.error(f"Unexpected character {char!r}", start)

    def _make(self, kind: T, end: int, value: object) -> Token:
        start = self.pos
        token = Token(kind, self.source[start:end], self._span(start, end), value)
        self._advance_to(end)
        return token

    def _string(self, quote: str) -> Token:
        # Double quotes process backslash escapes; single quotes keep backslashes literal (a
        # regex is written `re('\.zip$')`), but `\'` still escapes the quote itself.
        src, start = self.source, self.pos
        i = start + 1
        parts: list[str] = []
        while i < len(src):
            char = src[i]
            if char == quote:
                return self._make(T.STRING, i + 1, "".join(parts))
            if char == "\\" and i + 1 < len(src):
                nxt = src[i + 1]
                if quote == '"':
                    if nxt == "u" and re.match(r"[0-9a-fA-F]{4}", src[i + 2 : i + 6]):
                        parts.append(chr(int(src[i + 2 : i + 6], 16)))
                        i += 6
                        continue
                    parts.append(_ESCAPES.get(nxt, "\\" + nxt))
                    i += 2
                    continue
                if nxt == "'":
                    parts.append("'")
                    i += 2
                    continue
            parts.append(char)
            i += 1
        raise self.error("Unterminated string", start)


def tokenize(source: str, meter: Meter | None = None) -> list[Token]:
    return Lexer(source, meter).tokens()
