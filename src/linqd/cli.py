"""The ``linqd`` command. Every subcommand takes ``--data-dir``, ``--store`` and ``--help``;
errors are printed as one clear message (a LINQ error with its caret) and a non-zero exit, never
a traceback."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from .client import remote_query
from .clock import SystemClock
from .config import Settings
from .datadir import (
    DEFAULT_DATA_DIR,
    META_FILE,
    DataDir,
    ensure_private_dir,
    has_events,
    open_data_dir,
)
from .domains import DomainStore, TokenKind
from .errors import LinqdError, LinqError
from .linq import types
from .linq.ir import ResultColumn
from .meta import MetaStore
from .query import encode
from .query.dates import resolve_range
from .query.run import run_query
from .store import catalog

F = TypeVar("F", bound=Callable[..., Any])

EXAMPLE_QUERY = (
    "from demo.ecommerce.data where statusCode >= 400 "
    "group every 1h by statusCode select count() as errors limit 10"
)


HOW_TO_QUERY = """
The console is starting on {url}/ui (Ctrl-C stops it): user {consoleUser}, password
{consolePassword}. The Devo Query API answers on {url}; the credentials of the domain `self`
are in {data_dir}/credentials.json.

  curl -s {url}/search/query -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' \\
       -d '{{"from": "1d", "to": "now", "mode": {{"type": "json/simple"}},
            "query": "from demo.ecommerce.data group by method select count() as n"}}'

  UNSECURE_HTTP=TRUE devo-api query --address {url}/search/query \\
       --key {apiKey} --secret {apiSecret} \\
       --query 'from demo.ecommerce.data select eventdate, uri limit 3' --from 1h

  .venv/bin/linqd query 'from siem.logtrust.web.activity group by level select count() as n'
"""


def check_geoip_dir(directory: Path) -> None:
    """Refuse to start over a --geoip-dir that cannot serve (the databases are read at the
    first geolocation query, too late to tell the operator)."""
    from .geoip import GeoIPError, scan

    try:
        scan(directory)
    except GeoIPError as error:
        raise click.BadParameter(str(error), param_hint="'--geoip-dir'") from None


def _outbound_rules(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """Refuse a malformed --outbound-allow/--outbound-deny at start-up, not at first use."""
    from .outbound import OutboundPolicy

    try:
        OutboundPolicy.parse(allow=value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _remember(ctx: click.Context, param: click.Parameter, value: object) -> object:
    # Kept in the context's meta, which every sub-context shares: commands that invoke others
    # (``run``) hand them the same store without repeating the options.
    ctx.meta[f"linqd.{param.name}"] = value
    return value


def data_dir_option(func: F) -> F:
    decorated = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_DATA_DIR,
        show_default=True,
        help="Directory holding meta.sqlite (and events.duckdb with the default store).",
    )(func)
    decorated = click.option(
        "--store",
        "store_spec",
        default="duckdb",
        show_default=True,
        envvar="LINQD_STORE",
        expose_value=False,
        is_eager=True,
        callback=_remember,
        help="Where events are kept: duckdb, chdb:DIR, clickhouse://USER@HOST:8123/DB or "
        "https://USER@HOST:8443/DB (password: $LINQD_CLICKHOUSE_PASSWORD).",
    )(decorated)
    decorated = click.option(
        "--meta",
        "meta_target",
        default=None,
        envvar="LINQD_META",
        expose_value=False,
        is_eager=True,
        callback=_remember,
        help="Where metadata is kept: meta.sqlite in the data directory by default, or "
        "postgresql://USER@HOST:5432/DB, shared by several nodes (password: $PGPASSWORD or "
        "~/.pgpass).",
    )(decorated)
    done: F = click.option(
        "--clickhouse-cluster",
        "store_cluster",
        default=None,
        envvar="LINQD_CLICKHOUSE_CLUSTER",
        expose_value=False,
        is_eager=True,
        callback=_remember,
        help="Create ClickHouse tables ON CLUSTER NAME (replicated local tables, distributed "
        "tables over them).",
    )(decorated)
    return done


def store_choice() -> tuple[str, str | None]:
    """The ``--store`` spec and ``--clickhouse-cluster`` of the running command."""
    meta = click.get_current_context().meta
    return str(meta.get("linqd.store_spec") or "duckdb"), meta.get("linqd.store_cluster")


def meta_choice(data_dir: Path) -> str:
    """The ``--meta`` target of the running command (the data directory's SQLite file by
    default)."""
    chosen = click.get_current_context().meta.get("linqd.meta_target")
    return str(chosen) if chosen else str(data_dir / META_FILE)


class LinqdGroup(click.Group):
    """Turns linqd's own errors into a message and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LinqError as error:
            click.echo(error.render(), err=True)
            sys.exit(2)
        except LinqdError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


@click.group(cls=LinqdGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="linqd")
def main() -> None:
    """linqd: a self-hosted log search server that speaks Devo's LINQ."""


def _open(data_dir: Path) -> DataDir:
    from .server import running_server

    server = running_server(data_dir)
    if server is not None:
        raise LinqdError(
            f"The server at {server.url} (pid {server.pid}) owns {data_dir}; "
            "stop it first, or use its HTTP API"
        )
    spec, cluster = store_choice()
    return open_data_dir(
        data_dir, SystemClock(), store=spec, cluster=cluster, meta=meta_choice(data_dir)
    )


def _domains(data_dir: Path) -> DomainStore:
    """The metadata database alone: SQLite and PostgreSQL are safe to share with running
    servers."""
    ensure_private_dir(data_dir)
    return DomainStore(MetaStore(meta_choice(data_dir)), SystemClock())


@main.command()
@data_dir_option
@click.option(
    "--events",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="How many events to generate.",
)
@click.option(
    "--days",
    type=click.FloatRange(min=0.01),
    default=7.0,
    show_default=True,
    help="Spread the events over the last D days.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
def demo(data_dir: Path, events: int, days: float, seed: int) -> None:
    """Fill the built-in demo tables with realistic synthetic events."""
    from .demo import generate

    data = _open(data_dir)
    try:
        with click.progressbar(length=events, label="Generating demo events") as bar:
            stats = generate(
                data.store,
                events=events,
                days=days,
                now_ms=SystemClock().now_ms(),
                seed=seed,
                progress=bar.update,
            )
    finally:
        data.close()
    for table, count in sorted(stats.rows.items()):
        click.echo(f"{count:>12,}  {table}")


@main.command()
@data_dir_option
@click.argument("linq")
@click.option(
    "--from",
    "from_",
    default="30d",
    show_default=True,
    help="Start: epoch seconds, YYYY-MM-DD[ HH:MM:SS], 1h, 7d, 2ad, today, now()-1h ...",
)
@click.option("--to", default="now", show_default=True, help="End (exclusive), same forms.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most N rows.")
@click.option("--time-zone", default=None, help="Zone for today/endday and date texts.")
@click.option("--url", default=None, help="A linqd (or Devo) Query API base URL to ask.")
def query(
    data_dir: Path,
    linq: str,
    from_: str,
    to: str,
    fmt: str,
    limit: int | None,
    time_zone: str | None,
    url: str | None,
) -> None:
    """Run a LINQ query and print its rows.

    With a server running on the data directory (or with --url), the query goes to the server's
    Query API with the data directory's token (or $LINQD_TOKEN); otherwise it runs in-process.
    """
    from .server import read_credentials, running_server

    server = running_server(data_dir)
    if url is None and server is not None:
        url = server.url
    if url is not None:
        token = os.environ.get("LINQD_TOKEN") or (read_credentials(data_dir) or {}).get("token")
        if not token:
            raise LinqdError("No token: set LINQD_TOKEN or use the server's data directory")
        remote = remote_query(url, token, linq, from_=from_, to=to, limit=limit)
        _print_rows(remote.columns, remote.rows, fmt)
        return
    now = SystemClock().now_ms()
    time_range = resolve_range(from_, to, now_ms=now, tz=time_zone)
    data = _open(data_dir)
    try:
        result = run_query(
            data.store, linq, time_range=time_range, client="self", now_ms=now, limit=limit
        )
        _print_rows(result.columns, encode.rows_of(result.batches), fmt)
    finally:
        data.close()


def _print_rows(columns: Sequence[ResultColumn], rows: Iterable[Sequence[Any]], fmt: str) -> None:
    if fmt == "table":
        click.echo(encode.render_table(columns, rows))
    elif fmt == "csv":
        for chunk in encode.render_csv(columns, rows):
            click.echo(chunk, nl=False)
    else:
        for chunk in encode.render_json_lines(columns, rows):
            click.echo(chunk, nl=False)


@main.command()
@data_dir_option
def nodes(data_dir: Path) -> None:
    """The live nodes sharing --meta, and the alert definitions and jobs each one runs."""
    from .cluster.nodes import shares

    meta = MetaStore(meta_choice(data_dir))
    try:
        now = SystemClock().now_ms()
        rows = [
            (
                node.node_id,
                node.address,
                f"{(now - node.heartbeat_ms) / 1000:.1f} s ago",
                counts.get("alert", 0),
                counts.get("job", 0),
            )
            for node, counts in shares(meta, now)
        ]
    finally:
        meta.close()
    text, count = types.STR, types.INT8
    columns = [
        ResultColumn("node", text),
        ResultColumn("address", text),
        ResultColumn("heartbeat", text),
        ResultColumn("definitions", count),
        ResultColumn("jobs", count),
    ]
    click.echo(encode.render_table(columns, rows))


@main.command()
@data_dir_option
def tables(data_dir: Path) -> None:
    """List the tables and their columns."""
    data = _open(data_dir)
    try:
        retention = data.meta.retention_days()
        for schema in data.store.tables():
            days = retention.get(schema.name)
            keep = f"  (retention {days} d)" if days else ""
            click.echo(f"{schema.name}{keep}")
            for column in schema.all_columns():
                click.echo(f"    {column.name:<24} {column.type}")
    finally:
        data.close()


@main.command()
@data_dir_option
@click.argument("table")
@click.argument("days", type=click.IntRange(min=0))
def retention(data_dir: Path, table: str, days: int) -> None:
    """Keep TABLE's events for DAYS days (0 keeps them forever)."""
    data = _open(data_dir)
    try:
        if data.store.schema(table) is None:
            raise LinqdError(f"Unknown table `{table}`")
        data.meta.set_retention_days(table, days or None)
        deleted = data.store.enforce_retention()
        click.echo(
            f"{table}: retention {days or 'unlimited'} d; {deleted.get(table, 0)} "
            "old events removed"
        )
    finally:
        data.close()


@main.group()
def docs() -> None:
    """Generated documentation."""


@docs.command("functions")
def docs_functions() -> None:
    """Print docs/linq-functions.md, generated from the function catalogue."""
    from .linq.functions.docs import render_markdown

    click.echo(render_markdown(), nl=False)


@main.command()
@data_dir_option
@click.option("--events", type=click.IntRange(min=1), default=200_000, show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.pass_context
def run(ctx: click.Context, data_dir: Path, events: int, port: int) -> None:
    """Create demo data if there is none, show an example query, then serve the API."""
    from .server import ensure_credentials

    if not has_events(data_dir, *store_choice()):
        ctx.invoke(demo, data_dir=data_dir, events=events, days=7.0, seed=42)
    click.echo(f"\n$ linqd query '{EXAMPLE_QUERY}' --from 1d\n")
    ctx.invoke(
        query,
        url=None,
        data_dir=data_dir,
        linq=EXAMPLE_QUERY,
        from_="1d",
        to="now",
        fmt="table",
        limit=None,
        time_zone=None,
    )
    credentials = ensure_credentials(data_dir)
    url = f"http://127.0.0.1:{port}"
    shown = {"consoleUser": "admin", "consolePassword": "(see credentials.json)", **credentials}
    click.echo(HOW_TO_QUERY.format(url=url, data_dir=data_dir, **shown))
    ctx.invoke(
        serve,
        data_dir=data_dir,
        host="127.0.0.1",
        port=port,
        tls_cert=None,
        tls_key=None,
        query_timeout=300.0,
        keepalive_interval=15.0,
        memory_limit="2GB",
        syslog_port=13000,
        syslog_tls_port=None,
        tls_client_ca=None,
        no_syslog=False,
        flush_interval=0.1,
        smtp_host="127.0.0.1",
        smtp_port=25,
        smtp_user=None,
        smtp_starttls=False,
        smtp_from="linqd@localhost",
    )


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM certificate chain (leaf first): serve HTTPS.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--query-timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Cancel queries running longer than this many seconds.",
)
@click.option(
    "--keepalive-interval",
    type=click.FloatRange(min=0.01, max=30),
    default=15.0,
    show_default=True,
    help="Seconds between keep-alive tokens on an idle stream.",
)
@click.option(
    "--syslog-port",
    type=click.IntRange(0, 65535),
    default=13000,
    show_default=True,
    help="Plain TCP syslog collector port.",
)
@click.option(
    "--syslog-tls-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="TLS syslog collector port (needs --tls-cert/--tls-key).",
)
@click.option(
    "--tls-client-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA for syslog client certificates; a certificate's CN names its domain.",
)
@click.option("--no-syslog", is_flag=True, help="Do not start the syslog collector.")
@click.option(
    "--flush-interval",
    type=click.FloatRange(min=0.001, max=3600),
    default=0.1,
    show_default=True,
    help="Commit ingested events at least this often (seconds).",
)
@click.option(
    "--smtp-host",
    default="127.0.0.1",
    show_default=True,
    help="Mail server for email job destinations.",
)
@click.option("--smtp-port", type=click.IntRange(1, 65535), default=25, show_default=True)
@click.option("--smtp-user", default=None, help="SMTP login (password: $LINQD_SMTP_PASSWORD).")
@click.option("--smtp-starttls", is_flag=True, help="Upgrade the SMTP connection with STARTTLS.")
@click.option(
    "--smtp-from",
    default="linqd@localhost",
    show_default=True,
    help="Sender address of result mails.",
)
@click.option(
    "--memory-limit",
    default="2GB",
    show_default=True,
    help="DuckDB memory budget; bigger sorts spill to <data-dir>/spill.",
)
@click.option(
    "--jwt-max-ttl",
    type=click.IntRange(min=1),
    default=86_400,
    show_default=True,
    help="Seconds a JWT's exp may lie ahead (JWTs without exp are refused).",
)
@click.option(
    "--alert-lateness",
    type=click.FloatRange(min=0, max=3600),
    default=2.0,
    show_default=True,
    help="Seconds an alert period stays open after its end for late events.",
)
@click.option(
    "--outbound-allow",
    multiple=True,
    metavar="CIDR|HOST",
    callback=_outbound_rules,
    help="Let webhooks and job destinations reach this network, address or host name "
    "(repeatable; beats the default denial of loopback, link-local and metadata addresses).",
)
@click.option(
    "--outbound-deny",
    multiple=True,
    metavar="CIDR|HOST",
    callback=_outbound_rules,
    help="Keep webhooks and job destinations away from this network, address or host name "
    "(repeatable; the most specific rule wins, deny on a tie).",
)
@click.option(
    "--destination-files-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder whose files Kafka destinations may name (ssl.ca.location...); without it "
    "they take inline PEM only.",
)
@click.option(
    "--geoip-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of MaxMind DB files (GeoLite2/GeoIP2 City, Country, ASN, ISP, "
    "Connection-Type .mmdb) for the geolocation functions; without it, the packaged GeoLite2 "
    "country and AS-organisation data.",
)
@click.option(
    "--max-queries-per-domain",
    type=click.IntRange(min=1),
    default=Settings.max_queries_per_domain,
    show_default=True,
    help="Queries one domain may run at once (more: HTTP 429).",
)
@click.option(
    "--max-continuous-queries-per-domain",
    type=click.IntRange(min=0),
    default=Settings.max_continuous_queries_per_domain,
    show_default=True,
    help="Of those, continuous queries (no end date).",
)
@click.option(
    "--max-document-rows",
    type=click.IntRange(min=1),
    default=Settings.max_document_rows,
    show_default=True,
    help="Rows a msgpack or xls answer may hold.",
)
@click.option(
    "--max-document-bytes",
    type=click.IntRange(min=1),
    default=Settings.max_document_bytes,
    show_default=True,
    help="Bytes of rows a msgpack or xls answer may collect.",
)
@click.option(
    "--output-buffer-bytes",
    type=click.IntRange(min=65_536),
    default=Settings.output_buffer_bytes,
    show_default=True,
    help="Bytes one streamed answer may hold queued for a slow client.",
)
@click.option(
    "--no-audit",
    is_flag=True,
    help="Do not write linqd's own activity (siem.logtrust.web.activity, .web.connection, "
    ".collector.counter).",
)
@click.option(
    "--node-id",
    default=None,
    help="This node's name among several on one --meta PostgreSQL (default: host name:port).",
)
@click.option(
    "--lease-term",
    type=click.FloatRange(min=0.3),
    default=10.0,
    show_default=True,
    help="Seconds a node owns a definition or job without renewing (renewed at a third).",
)
@click.option(
    "--delivery-claim",
    type=click.FloatRange(min=1.0),
    default=300.0,
    show_default=True,
    help="Seconds a node holds an alert delivery it attempts before another node may retry "
    "it; keep it above the longest attempt (method timeouts are at most 60 s).",
)
def serve(
    data_dir: Path,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    query_timeout: float,
    keepalive_interval: float,
    memory_limit: str,
    syslog_port: int,
    syslog_tls_port: int | None,
    tls_client_ca: Path | None,
    no_syslog: bool,
    flush_interval: float,
    smtp_host: str,
    smtp_port: int,
    smtp_user: str | None,
    smtp_starttls: bool,
    smtp_from: str,
    alert_lateness: float,
    jwt_max_ttl: int,
    outbound_allow: tuple[str, ...],
    outbound_deny: tuple[str, ...],
    destination_files_dir: Path | None,
    geoip_dir: Path | None,
    max_queries_per_domain: int,
    max_continuous_queries_per_domain: int,
    max_document_rows: int,
    max_document_bytes: int,
    output_buffer_bytes: int,
    no_audit: bool,
    node_id: str | None,
    lease_term: float,
    delivery_claim: float,
) -> None:
    """Serve Devo's Query API on HOST:PORT (127.0.0.1:8080 by default)."""
    from .server import serve as run_server

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if geoip_dir is not None:
        check_geoip_dir(geoip_dir)
    _open(data_dir).close()  # refuse early when another server owns the directory
    spec, cluster = store_choice()
    settings = Settings(
        data_dir=data_dir,
        store=spec,
        clickhouse_cluster=cluster,
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        query_timeout_s=query_timeout,
        keepalive_interval_s=keepalive_interval,
        memory_limit=memory_limit,
        syslog_port=None if no_syslog else syslog_port,
        syslog_tls_port=None if no_syslog else syslog_tls_port,
        tls_client_ca=tls_client_ca,
        flush_interval_s=flush_interval,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_user=smtp_user,
        smtp_password=os.environ.get("LINQD_SMTP_PASSWORD"),
        smtp_starttls=smtp_starttls,
        smtp_from=smtp_from,
        alert_lateness_ms=int(alert_lateness * 1000),
        jwt_max_ttl_s=jwt_max_ttl,
        outbound_allow=outbound_allow,
        outbound_deny=outbound_deny,
        destination_files_dir=destination_files_dir,
        geoip_dir=geoip_dir,
        max_queries_per_domain=max_queries_per_domain,
        max_continuous_queries_per_domain=max_continuous_queries_per_domain,
        max_document_rows=max_document_rows,
        max_document_bytes=max_document_bytes,
        output_buffer_bytes=output_buffer_bytes,
        audit=not no_audit,
        meta=meta_choice(data_dir),
        node_id=node_id or f"{socket.gethostname()}:{port}",
        lease_term_ms=int(lease_term * 1000),
        delivery_claim_ms=int(delivery_claim * 1000),
    )
    if syslog_tls_port is not None and tls_cert is None:
        raise click.UsageError("--syslog-tls-port needs --tls-cert and --tls-key")
    run_server(settings)


@main.group()
def alerts() -> None:
    """Alert definitions: try them against the stored events."""


@alerts.command("backtest")
@data_dir_option
@click.argument("definition_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--from", "from_", required=True, help="Start: epoch ms, a date, `1d`, `now()-2h` ..."
)
@click.option("--to", default="now", show_default=True, help="End (exclusive), same forms.")
@click.option("--domain", "domain_name", default="self", show_default=True)
@click.option("--url", default=None, help="A running linqd (default: the data directory's).")
def alerts_backtest(
    data_dir: Path, definition_file: Path, from_: str, to: str, domain_name: str, url: str | None
) -> None:
    """Print, as a JSON array, the firings DEFINITION_FILE (a definition as POSTed to the Alerts
    API) would have raised over the stored events between --from and --to."""
    from .alerts.backtest import backtest, firing_json
    from .alerts.model import AlertDefinition
    from .alerts.validate import check_query, read_definition
    from .client import remote_backtest
    from .server import read_credentials, running_server

    try:
        body = json.loads(definition_file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LinqdError(f"{definition_file}: not JSON ({error})") from None
    now = SystemClock().now_ms()
    # Whole numbers are epoch milliseconds, as in the API's backtest (the Query API's dates,
    # where they are seconds, would make the same number mean two things here).
    span = resolve_range(
        "0" if from_.isdigit() else from_, "0" if to.isdigit() else to, now_ms=now, tz=None
    )
    from_ms = int(from_) if from_.isdigit() else span.from_ms
    to_ms = int(to) if to.isdigit() else span.to_ms
    if to_ms is None:
        raise LinqdError("--to must be a date: a backtest covers a closed range")
    server = running_server(data_dir)
    if url is None and server is not None:
        url = server.url
    if url is not None:
        credentials = read_credentials(data_dir) or {}
        token = os.environ.get("LINQD_ALERTS_TOKEN") or credentials.get("standAloneToken")
        if not token:
            raise LinqdError("No alerts token: set LINQD_ALERTS_TOKEN")
        fired = remote_backtest(url, token, body, from_ms=from_ms, to_ms=to_ms)
    else:
        spec = read_definition(body)
        data = _open(data_dir)
        try:
            schemas = data.store.schemas_for(domain_name)
            check_query(
                spec, schemas, now_ms=now, may_read=lambda table: True, engine=data.store.engine
            )
            draft = AlertDefinition("backtest", domain_name, "0", "0", now, now, "", spec)
            fired = [firing_json(f) for f in backtest(draft, data.store, from_ms, to_ms)]
        finally:
            data.close()
    click.echo(json.dumps(fired, indent=2))


@main.group()
def domain() -> None:
    """Domains: every credential and every row belongs to one."""


@domain.command("create")
@data_dir_option
@click.argument("name")
def domain_create(data_dir: Path, name: str) -> None:
    """Create a domain and print its credentials (shown once)."""
    created = _domains(data_dir).create_domain(name)
    click.echo(f"domain:          {created.domain}")
    click.echo(f"apiKey:          {created.api_key}")
    click.echo(f"apiSecret:       {created.api_secret}")
    click.echo(f"token:           {created.token}")
    click.echo(f"standAloneToken: {created.stand_alone_token}")


@domain.command("list")
@data_dir_option
def domain_list(data_dir: Path) -> None:
    """List the domains."""
    for item in _domains(data_dir).list_domains():
        click.echo(item.name)


@domain.command("rotate-keys")
@data_dir_option
@click.argument("name")
def domain_rotate(data_dir: Path, name: str) -> None:
    """Replace a domain's API key and secret; the old pair stops working at once."""
    key, secret = _domains(data_dir).rotate_keys(name)
    click.echo(f"apiKey:    {key}")
    click.echo(f"apiSecret: {secret}")


@main.group()
def token() -> None:
    """Authentication tokens."""


@token.command("create")
@data_dir_option
@click.option("--domain", "domain_name", required=True, help="The token's domain.")
@click.option(
    "--tables",
    multiple=True,
    default=("*.**",),
    show_default=True,
    help="Table globs the token may read (`*` one level, `**` any); repeatable.",
)
@click.option(
    "--kind",
    type=click.Choice([k.value for k in TokenKind]),
    default="api",
    show_default=True,
    help="api: Query API; alerts: standAloneToken; ingest: HTTP.",
)
@click.option(
    "--name",
    default="",
    help="A label; for an alerts token, its owner's e-mail (the ownerEmail of its alerts).",
)
def token_create(
    data_dir: Path, domain_name: str, tables: tuple[str, ...], kind: str, name: str
) -> None:
    """Create a token and print it (shown once)."""
    token = _domains(data_dir).create_token(
        domain_name, kind=TokenKind(kind), tables=tables, name=name
    )
    click.echo(token)


@main.group()
def saved() -> None:
    """Saved queries, run through the Query API's `queryId`."""


@saved.command("add")
@data_dir_option
@click.option("--domain", "domain_name", default="self", show_default=True)
@click.argument("name")
@click.argument("linq")
def saved_add(data_dir: Path, domain_name: str, name: str, linq: str) -> None:
    """Save LINQ under NAME."""
    from .linq import parse

    parse(linq)  # refuse text that does not even parse
    _domains(data_dir).add_saved_query(domain_name, name, linq)
    click.echo(f"saved {name}")


@saved.command("list")
@data_dir_option
@click.option("--domain", "domain_name", default="self", show_default=True)
def saved_list(data_dir: Path, domain_name: str) -> None:
    """List the saved queries."""
    for name, linq in _domains(data_dir).list_saved_queries(domain_name):
        click.echo(f"{name}\t{linq}")


@main.command()
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tag", default="my.app.ingest", show_default=True, help="The table's tag.")
@click.option("--host", "hostname", default="-", show_default=True, help="The hostname column.")
@click.option("--url", default=None, help="A linqd HTTP ingestion base URL to send to.")
def ingest(data_dir: Path, file: Path, tag: str, hostname: str, url: str | None) -> None:
    """Store every line of FILE (plain or .gz) as an event of TAG.

    With a server running on the data directory (or with --url) the lines go to its HTTP
    ingestion API (/stream, with the ingest token of the data directory or $LINQD_INGEST_TOKEN);
    otherwise they are stored in-process.
    """
    from .ingest.loader import ingest_file, ingest_file_over_http
    from .server import read_credentials, running_server

    server = running_server(data_dir)
    if url is None and server is not None:
        url = server.url
    size = file.stat().st_size
    with click.progressbar(length=size, label=f"Ingesting {file.name}") as bar:
        if url is not None:
            credentials = read_credentials(data_dir) or {}
            token = os.environ.get("LINQD_INGEST_TOKEN") or credentials.get("ingestToken")
            domain = credentials.get("domain", "self")
            if not token:
                raise LinqdError("No ingest token: set LINQD_INGEST_TOKEN")
            count = ingest_file_over_http(
                file, url, domain=domain, token=token, tag=tag, host=hostname, progress=bar.update
            )
        else:
            data = _open(data_dir)
            try:
                count = ingest_file(
                    data.store, file, tag=tag, host=hostname, client="self", progress=bar.update
                )
            finally:
                data.close()
    if catalog.dropped(catalog.table_name_for_tag(tag)):
        click.echo(f"{count:,} events accepted for {tag} and dropped (test.drop.* is never stored)")
    else:
        click.echo(f"{count:,} events stored in {tag}")


from .cli_users import user  # noqa: E402  (it builds on the options above)

main.add_command(user)
