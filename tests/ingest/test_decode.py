"""Decoding a batch for one table: raw tables untouched, JSON objects coerced to the built-in
tables' column types, Apache combined lines for demo.ecommerce.data, and unreadable messages
handed back for the raw side table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import anystore
from linqd.clock import SimulatedClock
from linqd.ingest.decode import (
    coercer,
    decode_batch,
    parse_apache,
    to_ip4,
)
from linqd.linq import types as t
from linqd.meta import MetaStore
from linqd.store import catalog
from linqd.store.catalog import UNPARSED_SUFFIX, Column, TableSchema
from linqd.store.open import open_store


def builtin(name: str) -> TableSchema:
    schema = catalog.builtin(name)
    assert schema is not None
    return schema


ECOM = builtin("demo.ecommerce.data")
ACTIVITY = builtin("siem.logtrust.web.activity")
NAVIGATION = builtin("siem.logtrust.web.navigation")
ALERT_INFO = builtin("siem.logtrust.alert.info")

DEVO_DEMO_LINE = (
    '174.210.60.241 - - [10/Feb/2021:11:54:01 +0000] "GET /category.screen?category_id=GIFTS'
    '&JSESSIONID=SD1SL4FF10ADFF10 HTTP 1.1" 200 1413 "http://www.google.com/product.screen?'
    'product_id=FL-DSH-01" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)" '
    '"3djv1l0ebi7cmsai1131pf2a65:-" 293'
)


def one(schema: TableSchema, message: str) -> dict[str, object]:
    decoded = decode_batch(schema, ["h"], [message])
    assert decoded.rows == 1, decoded
    return {name: values[0] for name, values in decoded.columns.items()}


# -- raw tables ------------------------------------------------------------------------------------


def test_raw_table_passes_the_lists_through_untouched() -> None:
    hosts = ["vm", "vm", "h1"]
    messages = ["hello world", "{not json", "info msg\x00"]
    decoded = decode_batch(catalog.raw_schema("my.app.test"), hosts, messages)
    assert decoded.columns["hostname"] is hosts
    assert decoded.columns["message"] is messages
    assert list(decoded.row_indexes) == [0, 1, 2]
    assert decoded.rows == 3
    assert decoded.failures == 0
    assert not decoded.unparsed_messages


def test_raw_table_with_an_empty_batch() -> None:
    decoded = decode_batch(catalog.raw_schema("my.app.test"), [], [])
    assert decoded.rows == 0
    assert decoded.columns == {"hostname": [], "message": []}


def test_hosts_and_messages_must_match() -> None:
    with pytest.raises(ValueError):
        decode_batch(catalog.raw_schema("my.app.test"), ["a"], [])


# -- JSON for the built-in tables ------------------------------------------------------------------


def test_json_for_ecommerce_with_coercions() -> None:
    row = one(
        ECOM,
        json.dumps(
            {
                "clientIpAddress": "10.0.0.1",
                "timestamp": "10/Feb/2021:11:54:01 +0000",
                "method": "GET",
                "uri": "/",
                "protocol": "HTTP 1.1",
                "statusCode": "200",
                "bytesTransferred": 1413.0,
                "referralUri": None,
                "userAgent": {"name": "curl"},
                "cookie": ["a", 1],
                "timeTaken": "twelve",
                "unknownKey": "ignored",
            }
        ),
    )
    assert row == {
        "clientIpAddress": 0x0A000001,
        "timestamp": "10/Feb/2021:11:54:01 +0000",
        "method": "GET",
        "uri": "/",
        "protocol": "HTTP 1.1",
        "statusCode": 200,
        "bytesTransferred": 1413,
        "referralUri": None,
        "userAgent": '{"name":"curl"}',
        "cookie": '["a",1]',
        "timeTaken": None,
    }


def test_json_counts_values_that_do_not_fit() -> None:
    decoded = decode_batch(ECOM, ["h"], ['{"uri": "/", "timeTaken": "x", "statusCode": true}'])
    assert decoded.rows == 1
    assert decoded.bad_values == 2
    assert decoded.columns["timeTaken"] == [None]
    assert decoded.columns["statusCode"] == [None]


def test_json_for_web_activity_int4_columns() -> None:
    row = one(
        ACTIVITY,
        json.dumps(
            {
                "level": "INFO",
                "srcPort": 443,
                "serverPort": "8080",
                "contentLength": 2**31,  # out of int4 range
                "responseTime": 12.5,  # not integral
                "responseLength": -5,
                "userid": 42,
                "result": True,
            }
        ),
    )
    assert row["level"] == "INFO"
    assert row["srcPort"] == 443
    assert row["serverPort"] == 8080
    assert row["contentLength"] is None
    assert row["responseTime"] is None
    assert row["responseLength"] == -5
    assert row["userid"] == "42"
    assert row["result"] == "true"
    assert row["url"] is None  # absent keys are null


def test_json_for_web_navigation() -> None:
    row = one(NAVIGATION, '{"userid": "u1", "domain": "self", "userEmail": "a@b.c"}')
    assert (row["userid"], row["domain"], row["userEmail"]) == ("u1", "self", "a@b.c")


def test_json_for_alert_info_float_and_ip4() -> None:
    row = one(
        ALERT_INFO,
        json.dumps(
            {
                "priority": "5",
                "srcIp": 2130706433,
                "dstIp": "256.1.1.1",
                "status": 0,
                "extraData": {"k": "v"},
            }
        ),
    )
    assert row["priority"] == 5.0
    assert isinstance(row["priority"], float)
    assert row["srcIp"] == 2130706433
    assert row["dstIp"] is None
    assert row["status"] == 0
    assert row["extraData"] == '{"k":"v"}'


def test_json_with_a_trailing_nul_and_spaces() -> None:
    row = one(NAVIGATION, '  {"userid": "u1"}\x00')
    assert row["userid"] == "u1"


def test_coercers_by_type() -> None:
    assert coercer(t.BOOL)("TRUE") is True
    assert coercer(t.BOOL)(0) is False
    assert coercer(t.INT8)("-12") == -12
    assert coercer(t.INT8)("1e3") == 1000
    assert coercer(t.FLOAT8)(" 2.5 ") == 2.5
    assert coercer(t.TIMESTAMP)(1612958045049) == 1612958045049
    assert coercer(t.TIMESTAMP)("2021-02-10 11:54:05.049") == 1612958045049
    assert coercer(t.TIMESTAMP)("2021-02-10T12:54:05.049+01:00") == 1612958045049
    assert coercer(t.JSON)([1, 2]) == "[1,2]"
    for ltype, value in [
        (t.BOOL, "maybe"),
        (t.BOOL, 2),
        (t.INT8, 2**63),
        (t.INT4, "1.5"),
        (t.FLOAT8, True),
        (t.FLOAT8, "x"),
        (t.IP4, "1.2.3"),
        (t.IP4, -1),
        (t.IP4, 2**32),
        (t.TIMESTAMP, "yesterday"),
        (t.TIMESTAMP, False),
    ]:
        with pytest.raises((ValueError, TypeError, OverflowError)):
            coercer(ltype)(value)


@given(st.integers(0, 2**32 - 1))
def test_ip4_dotted_round_trip(number: int) -> None:
    dotted = ".".join(str((number >> shift) & 255) for shift in (24, 16, 8, 0))
    assert to_ip4(dotted) == number
    assert to_ip4(number) == number


# -- unparseable messages --------------------------------------------------------------------------


def test_unparseable_messages_go_to_the_unparsed_lists() -> None:
    messages = [
        '{"userid": "u1"}',
        "plain text",
        '{"broken": ',
        "[1, 2]",
        '{"noSuchColumn": 1}',
        '{"userEmail": "x@y.z"}',
    ]
    hosts = [f"h{i}" for i in range(len(messages))]
    decoded = decode_batch(NAVIGATION, hosts, messages)
    assert list(decoded.row_indexes) == [0, 5]
    assert decoded.columns["userid"] == ["u1", None]
    assert decoded.columns["userEmail"] == [None, "x@y.z"]
    assert list(decoded.unparsed_indexes) == [1, 2, 3, 4]
    assert list(decoded.unparsed_hosts) == ["h1", "h2", "h3", "h4"]
    assert list(decoded.unparsed_messages) == messages[1:5]
    assert decoded.failures == 4


def test_side_table_convention_stores_into_a_raw_table(tmp_path: Path, store_spec: str) -> None:
    store = open_store(
        store_spec, tmp_path, MetaStore(tmp_path / "m.sqlite"), SimulatedClock(1_000)
    )
    try:
        decoded = decode_batch(ECOM, ["h1", "h2"], [DEVO_DEMO_LINE, "garbage"])
        store.append(ECOM.name, decoded.columns, client="self")
        store.append(
            ECOM.name + UNPARSED_SUFFIX,
            {"hostname": decoded.unparsed_hosts, "message": decoded.unparsed_messages},
            client="self",
        )
        got = anystore.rows(
            store, 'SELECT clientIpAddress, "protocol", timeTaken FROM "demo.ecommerce.data"'
        )
        assert got == [(to_ip4("174.210.60.241"), "HTTP 1.1", 293)]
        raw = anystore.rows(store, 'SELECT hostname, message FROM "demo.ecommerce.data.unparsed"')
        assert raw == [("h2", "garbage")]
    finally:
        store.close()


def test_typed_custom_table_reads_json_too() -> None:
    schema = TableSchema(
        "my.synthesis.example.customtable",
        (
            Column("example_field_str", t.STR),
            Column("example_field_int", t.INT8),
            Column("example_field_ip4", t.IP4),
            Column("when", t.TIMESTAMP),
        ),
    )
    row = one(
        schema,
        '{"example_field_str": "a", "example_field_int": "7", "example_field_ip4": "127.0.0.1",'
        ' "when": "1970-01-01 00:00:01"}',
    )
    assert row == {
        "example_field_str": "a",
        "example_field_int": 7,
        "example_field_ip4": 2130706433,
        "when": 1000,
    }


# -- Apache combined lines -------------------------------------------------------------------------


def test_devo_demo_line() -> None:
    row = one(ECOM, DEVO_DEMO_LINE)
    assert row == {
        "clientIpAddress": (174 << 24) | (210 << 16) | (60 << 8) | 241,
        "timestamp": "10/Feb/2021:11:54:01 +0000",
        "method": "GET",
        "uri": "/category.screen?category_id=GIFTS&JSESSIONID=SD1SL4FF10ADFF10",
        "protocol": "HTTP 1.1",
        "statusCode": 200,
        "bytesTransferred": 1413,
        "referralUri": "http://www.google.com/product.screen?product_id=FL-DSH-01",
        "userAgent": "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
        "cookie": "3djv1l0ebi7cmsai1131pf2a65:-",
        "timeTaken": 293,
    }


def test_plain_apache_combined_line_with_slash_protocol() -> None:
    row = one(
        ECOM,
        '10.1.2.3 - frank [10/Feb/2021:11:54:01 +0000] "POST /cart HTTP/1.1" 302 - "-" '
        '"curl/8.0 \\"x\\""',
    )
    assert row["method"] == "POST"
    assert row["uri"] == "/cart"
    assert row["protocol"] == "HTTP 1.1"
    assert row["statusCode"] == 302
    assert row["bytesTransferred"] == 0
    assert row["referralUri"] == "-"
    assert row["userAgent"] == 'curl/8.0 \\"x\\"'
    assert row["cookie"] is None
    assert row["timeTaken"] is None


def test_apache_line_with_time_taken_but_no_cookie() -> None:
    row = one(
        ECOM,
        '91.205.189.15 - - [18/Mar/2022:18:22:16] "GET /oldlink?itemId=EST-14 HTTP 1.1" 200 1665 '
        '"http://www.buttercupgames.com/" "Mozilla/5.0" 159',
    )
    assert (row["cookie"], row["timeTaken"], row["protocol"]) == (None, 159, "HTTP 1.1")


def test_common_log_format_without_referer_and_agent() -> None:
    row = one(ECOM, '127.0.0.1 - - [10/Feb/2021:11:54:01 +0000] "GET / HTTP/1.0" 404 12')
    assert (row["uri"], row["protocol"], row["statusCode"], row["userAgent"]) == (
        "/",
        "HTTP 1.0",
        404,
        None,
    )


def test_apache_request_that_cannot_be_split_and_a_host_name() -> None:
    record = parse_apache('client.example - - [x] "-" 400 0 "-" "-"')
    assert record is not None
    assert record["method"] is None and record["uri"] is None
    decoded = decode_batch(ECOM, ["h"], ['client.example - - [x] "garbage" 400 0'])
    assert decoded.rows == 1
    assert decoded.columns["clientIpAddress"] == [None]
    assert decoded.columns["uri"] == ["garbage"]
    assert decoded.bad_values == 1


def test_not_an_apache_line() -> None:
    assert parse_apache("hello world") is None
    assert parse_apache('1.2.3.4 - - [x] "GET / HTTP/1.1" 200') is None
    decoded = decode_batch(ECOM, ["h"], ["hello world"])
    assert decoded.failures == 1
    assert decoded.rows == 0
    assert all(values == [] for values in decoded.columns.values())
