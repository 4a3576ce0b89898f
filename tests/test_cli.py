"""The ``linqd`` command through click's test runner: help everywhere, demo data, queries in every
format, clear errors (never a traceback), tables, retention and the generated docs."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from linqd.cli import main
from linqd.clock import SystemClock
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore
from linqd.linq.functions import docs

EVENTS = 3_000
ECOM_ROWS = 2_400  # demo's share of the 3,000 events for demo.ecommerce.data


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


COMMANDS = sorted(_command_paths(main))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "data"
    result = invoke("demo", "--events", str(EVENTS), "--days", "1", "--data-dir", str(path))
    assert result.exit_code == 0, result.output
    assert "demo.ecommerce.data" in result.output
    assert f"{ECOM_ROWS:,}" in result.output
    return path


def query(data_dir: Path, linq: str, *extra: str) -> Result:
    return invoke("query", linq, "--data-dir", str(data_dir), *extra)


# -- help ----------------------------------------------------------------------------------------


def test_top_level_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    for name in ("demo", "query", "tables", "retention", "docs"):
        assert name in result.output


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_subcommand_has_help(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert " ".join(path) in result.output


def test_expected_commands_exist() -> None:
    for path in [("demo",), ("query",), ("tables",), ("retention",), ("docs", "functions")]:
        assert path in COMMANDS


# -- demo and query ------------------------------------------------------------------------------


def test_query_table_format(data_dir: Path) -> None:
    result = query(data_dir, "from demo.ecommerce.data group by method select count() as n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["method", "|", "n"]
    assert set(lines[1]) <= {"-", "+"}
    body = [line.split("|") for line in lines[2:-1]]
    assert [m.strip() for m, _ in body] == ["GET", "POST"]
    assert sum(int(n) for _, n in body) == ECOM_ROWS
    assert lines[-1] == "(2 rows)"


def test_query_csv_format(data_dir: Path) -> None:
    result = query(
        data_dir,
        "from demo.ecommerce.data group by statusCode select count() as n",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(result.output)))
    assert table[0] == ["statusCode", "n"]
    codes = [int(code) for code, _ in table[1:]]
    assert codes == sorted(codes)
    assert sum(int(n) for _, n in table[1:]) == ECOM_ROWS


def test_query_json_format(data_dir: Path) -> None:
    result = query(
        data_dir,
        "from demo.ecommerce.data where statusCode = 404 select eventdate, statusCode, uri",
        "--format",
        "json",
        "--limit",
        "5",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert 1 <= len(rows) <= 5
    for row in rows:
        assert set(row) == {"eventdate", "statusCode", "uri"}
        assert row["statusCode"] == 404
        assert isinstance(row["eventdate"], int)
    stamps = [r["eventdate"] for r in rows]
    assert stamps == sorted(stamps)


def test_query_limit(data_dir: Path) -> None:
    result = query(data_dir, "from demo.ecommerce.data select uri", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "(3 rows)"


def test_query_with_from_and_to(data_dir: Path) -> None:
    result = query(
        data_dir,
        "from demo.ecommerce.data group select count() as n",
        "--from",
        "1h",
        "--to",
        "now",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    (_, (count,)) = list(csv.reader(io.StringIO(result.output)))
    assert 0 <= int(count) < ECOM_ROWS


# -- errors --------------------------------------------------------------------------------------


def test_bad_query_prints_the_caret_and_no_traceback(data_dir: Path) -> None:
    result = query(data_dir, "from demo.ecommerce.data where nosuch = 1")
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert "Unknown identifier `nosuch'" in result.output
    assert "  from demo.ecommerce.data where nosuch = 1" in result.output
    assert "\n                                 ^^^^^^" in result.output
    assert "Traceback" not in result.output


def test_syntax_error_says_what_was_expected(data_dir: Path) -> None:
    result = query(data_dir, "from demo.ecommerce.data where")
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert "Was expecting one of:" in result.output
    assert "^" in result.output
    assert "Traceback" not in result.output


def test_unknown_table(data_dir: Path) -> None:
    result = query(data_dir, "from no.such.table")
    assert result.exit_code != 0
    assert "Unknown table `no.such.table`" in result.output
    assert "Traceback" not in result.output


def test_bad_from_date_is_a_clear_error(data_dir: Path) -> None:
    result = query(data_dir, "from demo.ecommerce.data", "--from", "not-a-date")
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert "error:" in result.output
    assert "from" in result.output.lower()
    assert "Traceback" not in result.output


def test_bad_format_is_a_usage_error(data_dir: Path) -> None:
    result = query(data_dir, "from demo.ecommerce.data", "--format", "xml")
    assert result.exit_code == 2
    assert "xml" in result.output


# -- tables and retention ------------------------------------------------------------------------


def test_tables_lists_tables_and_columns(data_dir: Path) -> None:
    result = invoke("tables", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for table in (
        "demo.ecommerce.data",
        "siem.logtrust.alert.info",
        "siem.logtrust.web.activity",
        "siem.logtrust.web.navigation",
    ):
        assert any(line.startswith(table) for line in lines), table
    assert any(line.split() == ["clientIpAddress", "ip4"] for line in lines)
    assert any(line.split() == ["eventdate", "timestamp"] for line in lines)


def test_retention_sets_and_reports(data_dir: Path) -> None:
    result = invoke("retention", "siem.logtrust.web.navigation", "30", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    assert "siem.logtrust.web.navigation: retention 30 d; 0 old events removed" in result.output
    listed = invoke("tables", "--data-dir", str(data_dir))
    assert "siem.logtrust.web.navigation  (retention 30 d)" in listed.output
    cleared = invoke("retention", "siem.logtrust.web.navigation", "0", "--data-dir", str(data_dir))
    assert cleared.exit_code == 0, cleared.output
    assert "retention unlimited" in cleared.output


def test_retention_of_an_unknown_table_fails_cleanly(data_dir: Path) -> None:
    result = invoke("retention", "no.such.table", "3", "--data-dir", str(data_dir))
    assert result.exit_code != 0
    assert "Unknown table `no.such.table`" in result.output
    assert "Traceback" not in result.output


def test_retention_needs_a_non_negative_number(data_dir: Path) -> None:
    result = invoke("retention", "demo.ecommerce.data", "-1", "--data-dir", str(data_dir))
    assert result.exit_code == 2


# -- docs ----------------------------------------------------------------------------------------


def test_docs_functions() -> None:
    result = invoke("docs", "functions")
    assert result.exit_code == 0, result.output
    assert result.output == docs.render_markdown()
    for name in ("count", "has", "nvl"):
        assert f"`{name}" in result.output


# -- known bugs ----------------------------------------------------------------------------------


def test_bare_group_without_select(data_dir: Path) -> None:
    result = query(data_dir, "from demo.ecommerce.data group")
    assert result.exit_code == 0, result.output
    assert str(ECOM_ROWS) in result.output


def test_domains_tokens_and_saved_queries(tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = str(tmp_path / "data")
    created = runner.invoke(main, ["domain", "create", "acme", "--data-dir", data_dir])
    assert created.exit_code == 0, created.output
    assert "apiSecret:" in created.output
    listed = runner.invoke(main, ["domain", "list", "--data-dir", data_dir])
    assert listed.output.split() == ["acme"]
    again = runner.invoke(main, ["domain", "create", "acme", "--data-dir", data_dir])
    assert again.exit_code != 0 and "Traceback" not in again.output
    token = runner.invoke(
        main,
        ["token", "create", "--domain", "acme", "--tables", "demo.**", "--data-dir", data_dir],
    )
    assert token.exit_code == 0 and len(token.output.strip()) == 32
    alerts = runner.invoke(
        main,
        [
            "token",
            "create",
            "--domain",
            "acme",
            "--kind",
            "alerts",
            "--name",
            "me@example.com",
            "--data-dir",
            data_dir,
        ],
    )
    assert alerts.exit_code == 0, alerts.output
    data = open_data_dir(Path(data_dir), SystemClock())
    try:
        info = DomainStore(data.meta, SystemClock()).token_info(alerts.output.strip())
    finally:
        data.close()
    assert info is not None and (info.kind.value, info.name) == ("alerts", "me@example.com")
    rotated = runner.invoke(main, ["domain", "rotate-keys", "acme", "--data-dir", data_dir])
    assert rotated.exit_code == 0 and "apiKey:" in rotated.output
    saved = runner.invoke(
        main,
        [
            "saved",
            "add",
            "errors",
            "from demo.ecommerce.data where statusCode >= 500",
            "--domain",
            "acme",
            "--data-dir",
            data_dir,
        ],
    )
    assert saved.exit_code == 0, saved.output
    bad = runner.invoke(
        main, ["saved", "add", "bad", "from", "--domain", "acme", "--data-dir", data_dir]
    )
    assert bad.exit_code != 0
    listing = runner.invoke(main, ["saved", "list", "--domain", "acme", "--data-dir", data_dir])
    assert "errors\tfrom demo.ecommerce.data where statusCode >= 500" in listing.output


def test_alerts_backtest(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data = open_data_dir(data_dir, SystemClock())
    try:
        DomainStore(data.meta, SystemClock()).create_domain("self")
        hour = 3_600_000
        base = SystemClock().now_ms() // hour * hour - 2 * hour
        data.store.append(
            "my.app.cli",
            {"hostname": ["a", "a", "b"], "message": ["x", "y", "z"]},
            client="self",
            eventdates=[base + 1_000, base + 2_000, base + 3_000],
        )
    finally:
        data.close()
    definition = tmp_path / "def.json"
    definition.write_text(
        json.dumps(
            {
                "name": "two from a host",
                "subcategory": "cli",
                "message": "$hostname: $count",
                "alertCorrelationContext": {
                    "querySourceCode": "from my.app.cli",
                    "priority": 3,
                    "correlationTrigger": {
                        "kind": "several",
                        "period": 60_000,
                        "threshold": 1,
                        "keys": ["hostname"],
                    },
                },
            }
        )
    )
    runner = CliRunner()
    args = ["alerts", "backtest", str(definition), "--data-dir", str(data_dir)]
    result = runner.invoke(main, [*args, "--from", str(base), "--to", str(base + hour)])
    assert result.exit_code == 0, result.output
    fired = json.loads(result.output)
    assert [(f["eventdate"], f["message"]) for f in fired] == [(base, "a: 2")]
    assert fired[0]["extraData"]["count"] == 2
    bad = definition.with_name("bad.json")
    bad.write_text("{")
    result = runner.invoke(
        main, ["alerts", "backtest", str(bad), "--data-dir", str(data_dir), "--from", "1d"]
    )
    assert result.exit_code != 0 and "not JSON" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["domain", "create", "acme"],
        ["domain", "list"],
        ["token", "create", "--domain", "self"],
        ["saved", "list"],
        ["tables"],
    ],
)
def test_commands_that_create_the_data_directory_make_it_private(
    tmp_path: Path, args: list[str]
) -> None:
    """The API secret lives in meta.sqlite: 0700 and 0600 from the first command, not from
    the first `serve`."""
    data_dir = tmp_path / "fresh"
    if args[0] == "token":
        assert invoke("domain", "create", "self", "--data-dir", str(data_dir)).exit_code == 0
    previous = os.umask(0o022)
    try:
        invoke(*args, "--data-dir", str(data_dir))
    finally:
        os.umask(previous)
    assert data_dir.stat().st_mode & 0o777 == 0o700
    for name in ("meta.sqlite", "meta.sqlite-wal", "meta.sqlite-shm"):
        if (data_dir / name).exists():
            assert (data_dir / name).stat().st_mode & 0o777 == 0o600, name
    assert (data_dir / "meta.sqlite").exists()


# -- serve's outbound rules ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["10.1.2.3/16", "not a host", "10.0.0.0/33"])
def test_serve_refuses_a_malformed_outbound_rule(tmp_path: Path, rule: str) -> None:
    for option in ("--outbound-allow", "--outbound-deny"):
        result = invoke("serve", "--data-dir", str(tmp_path / "data"), option, rule)
        assert result.exit_code == 2, result.output
        assert option in result.output
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_the_servers_rules_come_from_its_settings(tmp_path: Path) -> None:
    import ipaddress

    from linqd.config import Settings
    from linqd.sinks import destination_rules

    (tmp_path / "files").mkdir()
    rules = destination_rules(
        Settings(
            data_dir=tmp_path,
            outbound_allow=("127.0.0.1",),
            outbound_deny=("10.0.0.0/8",),
            destination_files_dir=tmp_path / "files" / ".." / "files",
        )
    )
    assert rules.files_dir == (tmp_path / "files").resolve()
    assert rules.outbound.allows(ipaddress.ip_address("127.0.0.1"))
    assert not rules.outbound.allows(ipaddress.ip_address("10.1.2.3"))
    assert not destination_rules(Settings(data_dir=tmp_path)).outbound.allows(
        ipaddress.ip_address("127.0.0.1")
    )


@pytest.mark.parametrize("path", list(_command_paths(main)), ids=" ".join)
def test_every_subcommand_that_opens_a_data_dir_takes_store(path: tuple[str, ...]) -> None:
    help_text = invoke(*path, "--help").output
    if "--data-dir" in help_text:
        assert "--store" in help_text and "--clickhouse-cluster" in help_text


def test_demo_tables_and_retention_on_chdb(tmp_path: Path) -> None:
    store = ["--data-dir", str(tmp_path), "--store", "chdb:events"]
    made = invoke("demo", "--events", "300", "--days", "1", *store)
    assert made.exit_code == 0, made.output
    listed = invoke("tables", *store)
    assert listed.exit_code == 0, listed.output
    assert "demo.ecommerce.data" in listed.output
    assert (tmp_path / "events").is_dir() and not (tmp_path / "events.duckdb").exists()
    kept = invoke("retention", "demo.ecommerce.data", "3", *store)
    assert kept.exit_code == 0, kept.output


def test_an_unknown_store_is_one_clear_error(tmp_path: Path) -> None:
    result = invoke("tables", "--data-dir", str(tmp_path), "--store", "mysql://x")
    assert result.exit_code == 2
    assert "Unknown store" in result.output and "Traceback" not in result.output


def test_serve_refuses_a_geoip_dir_that_cannot_serve(tmp_path: Path) -> None:
    missing = tmp_path / "geoip"
    result = invoke("serve", "--geoip-dir", str(missing), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 2
    assert "Invalid value for '--geoip-dir'" in result.output
    assert f"--geoip-dir {missing} is not a folder" in result.output
    missing.mkdir()
    (missing / "GeoLite2-City.mmdb").write_bytes(b"\0" * 64)
    result = invoke("serve", "--geoip-dir", str(missing), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 2
    assert "GeoLite2-City.mmdb is not a readable MaxMind DB file" in result.output
    assert not (tmp_path / "d").exists()  # refused before anything is opened
