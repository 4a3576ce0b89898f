"""Token types of LINQ."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..errors import Span


class T(Enum):
    IDENT = "<ID>"
    QUOTED_IDENT = "<QUOTED_ID>"
    STRING = "<STRING>"
    INT = "<INT>"
    FLOAT = "<FLOAT>"
    DURATION = "<DURATION>"
    IP4 = "<IP4>"
    CIDR = "<NET4>"
    KEYWORD = "<KEYWORD>"
    OP = "<OP>"
    EOF = "<EOF>"


# Words the parser treats as clause or literal keywords. Function names such as `day` or
# `timestamp` are not keywords: they stay usable as column names.
KEYWORDS = frozenset(
    {
        "from", "where", "select", "as", "group", "every", "by", "limit", "offset", "order",
        "asc", "desc", "pragma", "and", "or", "not", "in", "true", "false", "null",
    }
)  # fmt: skip

# Longest first so that `->>` wins over `->` and `%%` over `%`.
OPERATORS = (
    ">>>", "->>", "<<", ">>", "->", "<-", "<=", ">=", "!=", "/=", "%%", "?:", "==",
    "=", "<", ">", "+", "-", "*", "/", "\\", "%", "~", "&", "|", "^", "!",
    "(", ")", "[", "]", "{", "}", ",", ".", ":", ";",
)  # fmt: skip

CLAUSE_KEYWORDS = ("where", "select", "group", "every", "limit", "offset", "order", "pragma")


@dataclass(frozen=True)
class Token:
    type: T
    text: str
    span: Span = field(compare=False)
    value: object = None

    def is_keyword(self, *words: str) -> bool:
        return self.type is T.KEYWORD and self.text in words

    def is_op(self, *ops: str) -> bool:
        return self.type is T.OP and self.text in ops

    def describe(self) -> str:
        if self.type is T.EOF:
            return "<EOF>"
        if self.type is T.KEYWORD or self.type is T.OP:
            return f"'{self.text}'"
        return f"{self.type.value} '{self.text}'"
