"""The ``linqd`` command. Every subcommand takes ``--data-dir`` and ``--help``; errors are printed
as one clear message (a LINQ error with its caret) and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .clock import SystemClock
from .datadir import DEFAULT_DATA_DIR, DataDir, has_events, open_data_dir
from .errors import LinqdError, LinqError
from .query import encode
from .query.dates import resolve_range
from .query.run import run_query

F = TypeVar("F", bound=Callable[..., Any])

EXAMPLE_QUERY = (
    "from demo.ecommerce.data where statusCode >= 400 "
    "group every 1h by statusCode select count() as errors limit 10"
)


def data_dir_option(func: F) -> F:
    decorated: F = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_DATA_DIR,
        show_default=True,
        help="Directory holding events.duckdb and meta.sqlite.",
    )(func)
    return decorated


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
    return open_data_dir(data_dir, SystemClock())


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
def query(
    data_dir: Path,
    linq: str,
    from_: str,
    to: str,
    fmt: str,
    limit: int | None,
    time_zone: str | None,
) -> None:
    """Run a LINQ query and print its rows."""
    now = SystemClock().now_ms()
    time_range = resolve_range(from_, to, now_ms=now, tz=time_zone)
    data = _open(data_dir)
    try:
        result = run_query(
            data.store, linq, time_range=time_range, client="self", now_ms=now, limit=limit
        )
        rows = encode.rows_of(result.batches)
        if fmt == "table":
            click.echo(encode.render_table(result.columns, rows))
        elif fmt == "csv":
            for chunk in encode.render_csv(result.columns, rows):
                click.echo(chunk, nl=False)
        else:
            for chunk in encode.render_json_lines(result.columns, rows):
                click.echo(chunk, nl=False)
    finally:
        data.close()


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
@click.pass_context
def run(ctx: click.Context, data_dir: Path, events: int) -> None:
    """Create demo data if the data directory has none, then show an example query."""
    if not has_events(data_dir):
        ctx.invoke(demo, data_dir=data_dir, events=events, days=7.0, seed=42)
    click.echo(f"\n$ linqd query '{EXAMPLE_QUERY}' --from 1d\n")
    ctx.invoke(
        query,
        data_dir=data_dir,
        linq=EXAMPLE_QUERY,
        from_="1d",
        to="now",
        fmt="table",
        limit=None,
        time_zone=None,
    )
