"""The LINQ lexer: token kinds, literal values, escapes, durations, addresses, operators, comments
and the line/column of every token."""

from __future__ import annotations

import pytest

from linqd.errors import LinqError, LinqSyntaxError
from linqd.linq.lexer import duration_ms, tokenize
from linqd.linq.tokens import KEYWORDS, OPERATORS, T, Token


def kinds(text: str) -> list[tuple[T, str]]:
    return [(t.type, t.text) for t in tokenize(text)[:-1]]


def one(text: str) -> Token:
    tokens = tokenize(text)
    assert len(tokens) == 2, tokens
    assert tokens[1].type is T.EOF
    return tokens[0]


# -- names and keywords ------------------------------------------------------------------------


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_keywords_are_keyword_tokens(word: str) -> None:
    token = one(word)
    assert token.type is T.KEYWORD
    assert token.text == word
    assert token.is_keyword(word)


@pytest.mark.parametrize("word", ["From", "WHERE", "day", "timestamp", "eventdate", "x_1", "$a@b"])
def test_other_words_are_identifiers(word: str) -> None:
    # Clause keywords are lower case; function names stay usable as column names.
    token = one(word)
    assert token.type is T.IDENT
    assert token.text == word


def test_back_quoted_identifier_keeps_any_character() -> None:
    token = one("`timeTaken>200`")
    assert token.type is T.QUOTED_IDENT
    assert token.value == "timeTaken>200"
    assert one("`web.iis.access-w3c-all`").value == "web.iis.access-w3c-all"
    assert one("`in`").value == "in"


def test_dotted_table_name() -> None:
    assert kinds("from demo.ecommerce.data") == [
        (T.KEYWORD, "from"),
        (T.IDENT, "demo"),
        (T.OP, "."),
        (T.IDENT, "ecommerce"),
        (T.OP, "."),
        (T.IDENT, "data"),
    ]


# -- strings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('"plain"', "plain"),
        ('""', ""),
        ('"a\\"b"', 'a"b'),
        ('"back\\\\slash"', "back\\slash"),
        ('"\\n\\t\\r"', "\n\t\r"),
        ('"\\u0041\\u00e9"', "Aé"),
        ('"\\\\.(zip|js)$"', "\\.(zip|js)$"),  # spec §3: a regex needs a doubled backslash
        ('"it\'s"', "it's"),
        ('"\\q"', "\\q"),  # an unknown escape keeps its backslash
        ('"// not a comment"', "// not a comment"),
        ('"multi\nline"', "multi\nline"),
    ],
)
def test_double_quoted_strings_process_escapes(source: str, value: str) -> None:
    token = one(source)
    assert token.type is T.STRING
    assert token.value == value


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'plain'", "plain"),
        ("''", ""),
        ("'\\.(zip)$'", "\\.(zip)$"),  # spec §3: the backslash is literal
        ("'\\n'", "\\n"),
        ("'a\\\\b'", "a\\\\b"),
        ("'it\\'s'", "it's"),  # only the quote itself can be escaped
        ("'say \"hi\"'", 'say "hi"'),
        ("'<obs>'", "<obs>"),
    ],
)
def test_single_quoted_strings_keep_backslashes(source: str, value: str) -> None:
    token = one(source)
    assert token.type is T.STRING
    assert token.value == value


@pytest.mark.parametrize("source", ['"abc', "'abc", '"abc\\"', "`abc"])
def test_unterminated_strings_and_names(source: str) -> None:
    with pytest.raises(LinqSyntaxError, match=r"Unterminated .* at line 1, column 1"):
        tokenize(source)


# -- numbers, durations, addresses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "kind", "value"),
    [
        ("404", T.INT, 404),
        ("0", T.INT, 0),
        ("007", T.INT, 7),
        ("50000000", T.INT, 50_000_000),
        ("1.5", T.FLOAT, 1.5),
        ("6.0", T.FLOAT, 6.0),
        ("1.33", T.FLOAT, 1.33),
        (".5", T.FLOAT, 0.5),
        ("1.", T.FLOAT, 1.0),
        ("1e3", T.FLOAT, 1000.0),
        ("2.5E-2", T.FLOAT, 0.025),
    ],
)
def test_numbers(source: str, kind: T, value: object) -> None:
    token = one(source)
    assert token.type is kind
    assert token.value == value
    assert type(token.value) is type(value)


@pytest.mark.parametrize(
    ("source", "ms"),
    [
        ("1ms", 1),
        ("250ms", 250),
        ("15s", 15_000),
        ("5m", 300_000),
        ("10m", 600_000),
        ("1h", 3_600_000),
        ("3h", 10_800_000),
        ("1d", 86_400_000),
        ("5d", 432_000_000),
        ("1w", 604_800_000),
        ("0s", 0),
        ("15h45m50s", (15 * 3600 + 45 * 60 + 50) * 1000),
        ("1d12h", 36 * 3_600_000),
        ("2m30s500ms", 150_500),
        ("1h1ms", 3_600_001),
    ],
)
def test_durations(source: str, ms: int) -> None:
    token = one(source)
    assert token.type is T.DURATION
    assert token.value == ms
    assert token.text == source
    assert duration_ms(source) == ms


def test_duration_directly_followed_by_a_letter_is_an_error() -> None:
    with pytest.raises(LinqSyntaxError, match="Bad number"):
        tokenize("5mx")


@pytest.mark.parametrize("source", ["203.0.113.21", "10.0.0.1", "0.0.0.0", "255.255.255.255"])
def test_unquoted_ip4(source: str) -> None:
    token = one(source)
    assert token.type is T.IP4
    assert token.text == source


@pytest.mark.parametrize("source", ["10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0", "1.2.3.4/32"])
def test_unquoted_cidr(source: str) -> None:
    token = one(source)
    assert token.type is T.CIDR
    assert token.text == source


def test_out_of_range_octets_are_not_addresses() -> None:
    assert T.IP4 not in {t.type for t in tokenize("256.1.1.1")}
    assert T.CIDR not in {t.type for t in tokenize("10.0.0.0/33")}


def test_ip_set() -> None:
    assert kinds("{10.0.0.1, 10.0.0.2}") == [
        (T.OP, "{"),
        (T.IP4, "10.0.0.1"),
        (T.OP, ","),
        (T.IP4, "10.0.0.2"),
        (T.OP, "}"),
    ]


# -- operators -----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATORS)
def test_every_operator_is_one_token(op: str) -> None:
    token = one(op)
    assert token.type is T.OP
    assert token.text == op


@pytest.mark.parametrize(
    ("source", "ops"),
    [
        ("a->>b", ["->>"]),
        ("a->b", ["->"]),
        ("a<-b", ["<-"]),
        ("a%%b", ["%%"]),
        ("a%b", ["%"]),
        ("a>>>b", [">>>"]),
        ("a>>b", [">>"]),
        ("a<<b", ["<<"]),
        ("a<=b", ["<="]),
        ("a>=b", [">="]),
        ("a!=b", ["!="]),
        ("a/=b", ["/="]),
        ("a?:b", ["?:"]),
        ("a\\b", ["\\"]),
        ("a/b", ["/"]),
        ("a~b", ["~"]),
        ("a < -1", ["<", "-"]),
        ("a[0]", ["[", "]"]),
    ],
)
def test_longest_operator_wins(source: str, ops: list[str]) -> None:
    assert [t.text for t in tokenize(source) if t.type is T.OP] == ops


# -- comments and whitespace -----------------------------------------------------------------------


def test_comments_run_to_the_end_of_the_line() -> None:
    source = "from a.b // the table\n// a whole line\nwhere x = 1 // trailing"
    assert [t.text for t in tokenize(source)] == ["from", "a", ".", "b", "where", "x", "=", "1", ""]


def test_whitespace_and_newlines_are_not_significant() -> None:
    compact = [t.text for t in tokenize("from a.b where x=1")]
    spread = [t.text for t in tokenize("  from\n\ta.b\r\n  where   x =\n 1\n\n")]
    assert compact == spread


# -- spans ---------------------------------------------------------------------------------------


def test_spans_give_line_and_column_on_multi_line_input() -> None:
    source = 'from demo.ecommerce.data\n  where statusCode = 404\n\tselect "x" as y'
    tokens = tokenize(source)
    where = {(t.text, t.span.line, t.span.column) for t in tokens}
    assert ("from", 1, 1) in where
    assert ("data", 1, 21) in where
    assert ("where", 2, 3) in where
    assert ("statusCode", 2, 9) in where
    assert ("404", 2, 22) in where
    assert ("select", 3, 2) in where
    assert ('"x"', 3, 9) in where
    for token in tokens:
        assert source[token.span.start : token.span.end] == token.text


def test_spans_after_comments_and_multi_line_strings() -> None:
    source = 'from a.b // c\nwhere x = "one\ntwo" and y'
    tokens = tokenize(source)
    y = next(t for t in tokens if t.text == "y")
    assert (y.span.line, y.span.column) == (3, 10)


def test_eof_token_points_past_the_last_character() -> None:
    eof = tokenize("from a\n  ")[-1]
    assert eof.type is T.EOF
    assert (eof.span.line, eof.span.column) == (2, 3)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("from a.b where #", 1, 16),
        ("from a.b\nwhere x = 5mx", 2, 11),
        ("from a.b\n\n   where 'x", 3, 10),
        ("from a.b where x = .5x", 1, 20),
    ],
)
def test_lexer_errors_carry_line_and_column(source: str, line: int, column: int) -> None:
    with pytest.raises(LinqSyntaxError) as info:
        tokenize(source)
    error = info.value
    assert isinstance(error, LinqError)
    assert error.span is not None
    assert (error.span.line, error.span.column) == (line, column)
    assert f"at line {line}, column {column}" in error.message


@pytest.mark.parametrize("suffix", ["", "s"])
def test_huge_integer_literal_is_a_linq_error(suffix: str) -> None:
    with pytest.raises(LinqError):
        tokenize("from a.b where x = " + "1" * 5000 + suffix)
