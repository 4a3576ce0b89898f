"""The alert engine: event-driven ``each`` rules over a live stream, and period rules (several,
low, inactivity) over a stored history, each figure beside an anchor measured in the same run.

(a) 100 ``each`` rules on one table (80 equalities ``message = "error <k>"``, 20 contains and
    host filters, a few matching often: about 4 % of the events fire) while 500,000 events
    arrive in 2,000-event appends made as fast as possible from one thread, the engine running
    its own scheduler threads on the system clock. Figure: events / (time from the first append
    until every rule's sequence position has reached the last streamed event; not
    ``store.last_seq``, which the engine's own rows in siem.logtrust.alert.info move on).
    Anchor: the same 100 filters as hand-written DuckDB SQL, each run once over the 500,000
    stored rows, rows fetched (events / total time of the 100 queries). Target >= 100,000
    events/s. The firings stored, and the alert-table rows, must equal the anchor's matching
    rows rule by rule: a benchmark that loses alerts is worthless. The same appends into a store
    without an engine are timed too, for context.
(b) 30 several, 30 low and 30 inactivity rules (keys or none, filters, periods of 10 s to
    10 min) defined before a 1,000,000-event history spread over 20 minutes of eventdates; the
    simulated clock is moved to its end and ``evaluate_periods`` passes run until every period
    is closed (the definitions are compiled before the clock starts). Figure: rules x events /
    elapsed (rule-events/s). Anchor: ElastAlert2's ``FrequencyRule`` fed the same events
    in-process by ``_elastalert_anchor.py``: 3 rules shaped like the several rules, each timed
    over every event; its rule-events/s is its rate per rule (rules run one after another).
    Targets: >= 1,000,000 rule-events/s and a ratio >= 10. Each rule's firings are checked
    against a count in hand-written DuckDB SQL.

ElastAlert2 pins urllib3 1.x, so it is not a dependency of linqd: the first run makes
``benchmarks/.elastalert-venv`` (``python -m venv`` + ``pip install elastalert2==2.19.0 pytz``;
2.19.0 imports pytz without declaring it), which takes a minute or two. If that fails, the
anchor falls back, saying so, to a re-implementation of FrequencyRule's algorithm.

    make bench    # or: .venv/bin/python benchmarks/alerts.py (about 70 s on 2 cores)
    LINQD_BENCH_ALERT_STREAM=100000 LINQD_BENCH_ALERT_HISTORY=200000 \\
        .venv/bin/python benchmarks/alerts.py    # a quicker, smaller run
    LINQD_BENCH_ALERT_EA_EVENTS=200000 ...       # time the anchor over the first 200,000 only
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


from _elastalert_anchor import HOSTS, history  # noqa: E402
from linqd.alerts.engine import AlertEngine  # noqa: E402
from linqd.alerts.repo import AlertRepository  # noqa: E402
from linqd.alerts.triggered import TriggeredAlertRepository  # noqa: E402
from linqd.alerts.validate import check_query, read_definition  # noqa: E402
from linqd.clock import Clock, SimulatedClock, SystemClock  # noqa: E402
from linqd.datadir import DataDir, open_data_dir  # noqa: E402
from linqd.meta.schema import triggered_alerts  # noqa: E402

STREAM_EVENTS = int(os.environ.get("LINQD_BENCH_ALERT_STREAM", "500000"))
HISTORY_EVENTS = int(os.environ.get("LINQD_BENCH_ALERT_HISTORY", "1000000"))
EA_EVENTS = int(os.environ.get("LINQD_BENCH_ALERT_EA_EVENTS", str(HISTORY_EVENTS)))
APPEND = 2_000
DOMAIN = "self"
STREAM_TABLE = "my.app.bench"
HISTORY_TABLE = "my.app.history"
SECOND = 1_000
MINUTE = 60 * SECOND
DAY = 86_400_000
T0 = 1_800_000_000_000  # a whole hour: every period below starts here
SPAN_MS = 20 * MINUTE
LATENESS_MS = 2_000
CATCH_UP_LIMIT_S = 600.0
EA_VENV = HERE / ".elastalert-venv"
EA_REQUIREMENTS = ("elastalert2==2.19.0", "pytz")  # 2.19.0 imports pytz without declaring it

Rule = tuple[str, str]  # (LINQ filter, the same filter as hand-written DuckDB SQL)


def each_rules() -> list[Rule]:
    rules: list[Rule] = [(f'message = "error {k}"', f"message = 'error {k}'") for k in range(80)]
    contains = (
        "status=503",  # 0.5 % of the events
        "timeout",  # 0.3 %
        "slow query",  # 0.2 %
        "user=u13",  # 1 %
        "error 9",  # 0.11 %
        "panic",
        "status=500",
        "OutOfMemory",
        "segfault",
        "denied",
        "item/999 status=503",
        "took=4999ms",
        "after 29s",
    )
    rules += [(f'message -> "{text}"', f"contains(message, '{text}')") for text in contains]
    rules += [
        (
            'hostname = "db-3", message -> "error"',
            "hostname = 'db-3' AND contains(message, 'error')",
        ),
        (
            'hostname = "web-7", message -> "status=503"',
            "hostname = 'web-7' AND contains(message, 'status=503')",
        ),
        (
            'hostname = "db-0", message -> "slow query"',
            "hostname = 'db-0' AND contains(message, 'slow query')",
        ),
        ('hostname = "cache-1"', "hostname = 'cache-1'"),
        (
            'hostname -> "db-", message -> "timeout"',
            "contains(hostname, 'db-') AND contains(message, 'timeout')",
        ),
        ('message -> "u96"', "contains(message, 'u96')"),
        (
            'hostname = "web-0", message -> "error 1"',
            "hostname = 'web-0' AND contains(message, 'error 1')",
        ),
    ]
    assert len(rules) == 100, len(rules)
    return rules


# -- shared ---------------------------------------------------------------------------------------


class Bench:
    """A data directory with the alert repositories, as the server wires them."""

    def __init__(self, path: Path, clock: Clock, meta: str | None = None) -> None:
        """``meta``: a ``--meta`` target (the data directory's SQLite file by default)."""
        self.clock = clock
        self.data: DataDir = open_data_dir(path, clock, meta=meta)
        self.store = self.data.store
        self.definitions = AlertRepository(self.data.meta, clock)
        self.triggered = TriggeredAlertRepository(self.data.meta, clock)

    def table(self, name: str) -> int:
        """Create ``name`` (a definition may only name an existing table) with one event a day
        before anything measured; its sequence number."""
        return self.store.append(
            name,
            {"hostname": ["seed"], "message": ["seed"]},
            client=DOMAIN,
            eventdates=[self.clock.now_ms() - DAY],
        ).last_seq

    def define(self, name: str, query: str, trigger: Mapping[str, Any], message: str) -> str:
        spec = read_definition(
            {
                "name": name,
                "subcategory": "bench",
                "message": message,
                "alertCorrelationContext": {
                    "querySourceCode": query,
                    "priority": 5,
                    "correlationTrigger": dict(trigger),
                },
            }
        )
        check_query(
            spec, self.store.schema, now_ms=self.clock.now_ms(), may_read=_any, engine="duckdb"
        )
        return self.definitions.create(DOMAIN, spec, "bench@example.com").id

    def firings(self) -> dict[str, int]:
        """Stored firings per definition id."""
        table = triggered_alerts
        with self.data.meta.transaction() as conn:
            rows = conn.execute(
                select(table.c.definition_id, func.count())
                .where(table.c.domain == DOMAIN)
                .group_by(table.c.definition_id)
            ).all()
        return {str(id_): int(n) for id_, n in rows}

    def alert_rows(self) -> int:
        row = (
            self.store.reader()
            .execute('SELECT count(*) FROM "siem.logtrust.alert.info" WHERE client = ?', [DOMAIN])
            .fetchone()
        )
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.data.close()


def _any(table: str) -> bool:
    return True


def _compare(
    name: str, ids: Mapping[str, str], got: Mapping[str, int], want: Mapping[str, int]
) -> bool:
    """Print each rule whose stored firings differ from the hand-written count."""
    wrong = [
        (label, got.get(id_, 0), want[label])
        for label, id_ in ids.items()
        if got.get(id_, 0) != want[label]
    ]
    for label, have, expected in wrong[:10]:
        print(f"  MISMATCH {name} {label}: {have:,} firings stored, {expected:,} expected")
    return not wrong


# -- (a) each rules over a stream -----------------------------------------------------------------


def appends_alone(path: Path, batches: list[dict[str, list[str]]]) -> float:
    """Seconds the same appends take into a store without an alert engine (for context)."""
    data = open_data_dir(path, SystemClock())
    started = time.perf_counter()
    for columns in batches:
        data.store.append(STREAM_TABLE, columns, client=DOMAIN)
    elapsed = time.perf_counter() - started
    data.close()
    shutil.rmtree(path)
    return elapsed


def stream_figure(path: Path) -> bool:
    bench = Bench(path / "engine", SystemClock())
    seed = bench.table(STREAM_TABLE)
    rules = each_rules()
    ids = {
        linq: bench.define(
            f"each {index}",
            f"from {STREAM_TABLE} where {linq}",
            {"kind": "each"},
            "$hostname: $message",
        )
        for index, (linq, _) in enumerate(rules)
    }
    batches = []
    events = history(STREAM_EVENTS, 0, SPAN_MS)
    for start in range(0, STREAM_EVENTS, APPEND):
        chunk = [next(events) for _ in range(min(APPEND, STREAM_EVENTS - start))]
        batches.append({"hostname": [e[1] for e in chunk], "message": [e[2] for e in chunk]})
    alone_s = appends_alone(path / "plain", batches)

    engine = AlertEngine(bench.store, bench.definitions, bench.triggered, bench.clock).start()
    try:
        # The first pass loads and compiles the definitions; the stream starts after it.
        _wait(lambda: min(_positions(engine) or [-1]) >= seed)
        started = time.perf_counter()
        last = seed
        for columns in batches:
            last = bench.store.append(STREAM_TABLE, columns, client=DOMAIN).last_seq
        appended_s = time.perf_counter() - started
        _wait(lambda: min(_positions(engine) or [-1]) >= last)
        elapsed = time.perf_counter() - started
        errors = {s["error"] for s in engine.status(DOMAIN) if s["error"]}
    finally:
        engine.close()
    assert not errors, errors

    reader = bench.store.reader()
    want: dict[str, int] = {}
    anchor_s = 0.0
    for linq, sql in rules:
        query = (
            f'SELECT eventdate, hostname, message, _seq FROM "{STREAM_TABLE}" '
            f"WHERE client = '{DOMAIN}' AND _seq > {seed} AND ({sql})"
        )
        began = time.perf_counter()
        found = reader.execute(query).fetchall()
        anchor_s += time.perf_counter() - began
        want[linq] = len(found)
    got = bench.firings()
    stored, expected, rows = sum(got.values()), sum(want.values()), bench.alert_rows()
    ok = _compare("each", ids, got, want) and rows == expected
    bench.close()

    rate, anchor = STREAM_EVENTS / elapsed, STREAM_EVENTS / anchor_s
    print(
        f"each rules over a stream: {rate:,.0f} events/s (anchor: {anchor:,.0f} events/s, "
        f"ratio {rate / anchor:.2f}; target >= 100,000 events/s)"
    )
    print(
        f"  {len(rules)} rules, {STREAM_EVENTS:,} events in {APPEND:,}-event appends: appended in "
        f"{appended_s:.2f} s ({alone_s:.2f} s without the engine), every rule caught up "
        f"{elapsed:.2f} s after the first append; the 100 SQL filters took {anchor_s:.2f} s"
    )
    print(
        f"  firings: {stored:,} stored, {rows:,} rows in siem.logtrust.alert.info; anchor "
        f"{expected:,} matching rows -> {'equal' if ok else 'DIFFERENT'}"
    )
    return ok


def _positions(engine: AlertEngine) -> list[int] | None:
    """Each rule's position, from the engine's memory (with several nodes engineStatus reads
    the metadata store: polled, it would load what it measures)."""
    status = engine.status(DOMAIN, here=True)
    if not status or any(s["sequence"] is None for s in status):
        return None
    return [int(s["sequence"]) for s in status]


def _wait(done: Callable[[], bool]) -> None:
    deadline = time.perf_counter() + CATCH_UP_LIMIT_S
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the alert engine did not catch up in {CATCH_UP_LIMIT_S:.0f} s")
        time.sleep(0.005)


# -- (b) several / low / inactivity over a history ------------------------------------------------

Period = tuple[str, str, str, dict[str, Any]]  # (kind, LINQ filter, SQL filter, trigger)


def period_rules() -> list[Period]:
    """Thresholds near each filter's mean count per period and key, so that some periods fire."""
    per_ms = HISTORY_EVENTS / SPAN_MS
    hosts = len(HOSTS)
    rules: list[Period] = []
    several = (
        ("", "", ["hostname"], 1.0 / hosts),
        ('message -> "error"', "contains(message, 'error')", None, 0.01),
        ('message -> "status=503"', "contains(message, 'status=503')", ["hostname"], 0.005 / hosts),
    )
    for i in range(30):
        linq, sql, keys, share = several[i % 3]
        period = (10 * SECOND, 30 * SECOND, MINUTE, 5 * MINUTE)[i % 4]
        mean = per_ms * period * share
        factor = (1.05, 1.1, 1.2, 1.4, 2.0)[i // 6]
        trigger = {"kind": "several", "period": period, "threshold": max(1, int(mean * factor))}
        if keys:
            trigger["keys"] = keys
        rules.append(("several", linq, sql, trigger))
    for i in range(30):
        period = (30 * SECOND, MINUTE, 5 * MINUTE)[i % 3]
        variant = i % 3 if i < 27 else 3
        if variant == 0:
            linq, sql, share = f'message = "error {i}"', f"message = 'error {i}'", 0.0001
        elif variant == 1:
            host = f"db-{i % 10}"
            linq, sql, share = f'hostname = "{host}"', f"hostname = '{host}'", 1.0 / hosts
        elif variant == 2:
            linq, sql, share = 'message -> "timeout"', "contains(message, 'timeout')", 0.003
        else:
            linq, sql, share = "", "", 1.0
        mean = per_ms * period * share
        threshold = int(mean * (0.5, 0.8, 0.95)[i // 3 % 3])
        rules.append(("low", linq, sql, {"kind": "low", "period": period, "threshold": threshold}))
    inactive = (
        ("", "", "hostname"),
        ('message -> "status=503"', "contains(message, 'status=503')", "hostname"),
        ('message -> "error"', "contains(message, 'error')", "message"),
        ('message -> "slow query"', "contains(message, 'slow query')", "hostname"),
        ('hostname -> "db-"', "contains(hostname, 'db-')", "hostname"),
    )
    for i in range(30):
        linq, sql, key = inactive[i % 5]
        period = (5 * MINUTE, 10 * MINUTE)[i // 5 % 2]
        rules.append(
            ("inactivity", linq, sql, {"kind": "inactivity", "period": period, "keys": [key]})
        )
    return rules


def expected_firings(bench: Bench, rule: Period) -> int:
    """The rule's firings over the history, counted in hand-written SQL."""
    kind, _, sql, trigger = rule
    period = int(trigger["period"])
    first, end = T0 // period, (T0 + SPAN_MS) // period
    where = (
        f"client = '{DOMAIN}' AND eventdate >= epoch_ms({T0}) "
        f"AND eventdate < epoch_ms({T0 + SPAN_MS})" + (f" AND ({sql})" if sql else "")
    )
    table = f'"{HISTORY_TABLE}"'
    bucket = f"epoch_ms(eventdate) // {period}"
    keys = "".join(f", {k}" for k in trigger.get("keys") or ())
    if kind == "several":
        query = (
            f"SELECT count(*) FROM (SELECT {bucket} AS b{keys}, count(*) AS n FROM {table} "
            f"WHERE {where} GROUP BY ALL) WHERE n > {trigger['threshold']}"
        )
    elif kind == "low":
        query = (
            f"SELECT count(*) FROM range({first}, {end}) AS r(b) LEFT JOIN (SELECT {bucket} AS b, "
            f"count(*) AS n FROM {table} WHERE {where} GROUP BY ALL) AS c USING (b) "
            f"WHERE coalesce(c.n, 0) <= {trigger['threshold']}"
        )
    else:  # a key seen in one period and not in the next (closed) one
        key = trigger["keys"][0]
        query = (
            f"WITH k AS (SELECT DISTINCT {bucket} AS b, {key} AS key FROM {table} WHERE {where}) "
            f"SELECT count(*) FROM k WHERE b + 1 < {end} AND NOT EXISTS "
            f"(SELECT 1 FROM k AS n WHERE n.b = k.b + 1 AND n.key = k.key)"
        )
    row = bench.store.reader().execute(query).fetchone()
    return int(row[0]) if row else 0


def periods_figure(path: Path) -> tuple[float, list[str], bool]:
    clock = SimulatedClock(T0)
    bench = Bench(path, clock)
    bench.table(HISTORY_TABLE)
    rules = period_rules()
    ids: dict[str, str] = {}
    for index, rule in enumerate(rules):
        kind, linq, _, trigger = rule
        query = f"from {HISTORY_TABLE}" + (f" where {linq}" if linq else "")
        ids[str(index)] = bench.define(
            f"{kind} {index}", query, trigger, "$count $hostname $lastSeen"
        )
    events = history(HISTORY_EVENTS, T0, SPAN_MS)
    for start in range(0, HISTORY_EVENTS, 100_000):
        chunk = [next(events) for _ in range(min(100_000, HISTORY_EVENTS - start))]
        bench.store.append(
            HISTORY_TABLE,
            {"hostname": [e[1] for e in chunk], "message": [e[2] for e in chunk]},
            client=DOMAIN,
            eventdates=[e[0] for e in chunk],
        )
    engine = AlertEngine(
        bench.store, bench.definitions, bench.triggered, clock, lateness_ms=LATENESS_MS
    )
    engine.evaluate_periods()  # loads and compiles the definitions; no period is closed yet
    clock.now = T0 + SPAN_MS + LATENESS_MS
    started = time.perf_counter()
    passes = 0
    while True:
        engine.evaluate_periods()
        passes += 1
        status = engine.status(DOMAIN)
        if all(s["nextPeriodEnd"] + LATENESS_MS > clock.now for s in status):
            break
    elapsed = time.perf_counter() - started
    errors = {s["error"] for s in status if s["error"]}
    assert not errors, errors
    engine.close()

    want = {str(index): expected_firings(bench, rule) for index, rule in enumerate(rules)}
    got = bench.firings()
    ok = _compare("period rule", ids, got, want)
    by_kind: dict[str, int] = {}
    for index, rule in enumerate(rules):
        by_kind[rule[0]] = by_kind.get(rule[0], 0) + got.get(ids[str(index)], 0)
    bench.close()
    lines = [
        f"  {len(rules)} rules x {HISTORY_EVENTS:,} events over 20 minutes: every period closed "
        f"in {elapsed:.2f} s ({passes} passes)",
        "  firings: "
        + ", ".join(f"{n:,} {kind}" for kind, n in by_kind.items())
        + f"; hand-written SQL counts {sum(want.values()):,} -> {'equal' if ok else 'DIFFERENT'}",
    ]
    return len(rules) * HISTORY_EVENTS / elapsed, lines, ok


# -- (b)'s anchor: ElastAlert2 ---------------------------------------------------------------------


def elastalert_python() -> Path | None:
    """The side virtual environment's interpreter, made on first use; None when it cannot be."""
    python = EA_VENV / "bin" / "python"
    ready = EA_VENV / "READY"
    if ready.exists():
        return python
    print(f"installing {' '.join(EA_REQUIREMENTS)} into {EA_VENV} (once) ...", flush=True)
    shutil.rmtree(EA_VENV, ignore_errors=True)
    steps = (
        [sys.executable, "-m", "venv", str(EA_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", *EA_REQUIREMENTS],
        [str(python), "-c", "import elastalert.ruletypes"],
    )
    for index, step in enumerate(steps):
        if index == 1:  # keep linters and git out of it, as Python >= 3.13's venv does
            (EA_VENV / ".gitignore").write_text("*\n")
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            print(f"  ElastAlert2 INSTALL FAILED ({' '.join(step[:4])}): {error}")
            return None
        if done.returncode != 0:
            tail = "\n    ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            print(f"  ElastAlert2 INSTALL FAILED ({' '.join(step[:4])}):\n    {tail}")
            return None
    ready.write_text("ok\n")
    return python


def elastalert_anchor() -> dict[str, Any]:
    """ElastAlert2's FrequencyRule per-rule rate over the first EA_EVENTS events of the history:
    rules shaped like the several rules (per host, in all; 10 s and 1 min windows)."""
    per_ms = HISTORY_EVENTS / SPAN_MS
    hosts = len(HOSTS)
    params = {
        "events": HISTORY_EVENTS,
        "measured": EA_EVENTS,
        "start_ms": T0,
        "span_ms": SPAN_MS,
        "rules": [
            {
                "query_key": "hostname",
                "num_events": int(per_ms * MINUTE / hosts * 1.1),
                "timeframe_s": 60,
            },
            {"query_key": None, "num_events": int(per_ms * MINUTE * 0.98), "timeframe_s": 60},
            {
                "query_key": "hostname",
                "num_events": int(per_ms * 10 * SECOND / hosts * 1.2),
                "timeframe_s": 10,
            },
        ],
    }
    python = elastalert_python()
    command = [
        str(python or sys.executable),
        str(HERE / "_elastalert_anchor.py"),
        json.dumps(params),
    ]
    if python is None:
        print(
            "  FALLING BACK to a re-implementation of FrequencyRule's algorithm (not ElastAlert2)"
        )
        command.append("--fallback")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the ElastAlert2 anchor failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="linqd-alerts-bench-"))
    try:
        stream_ok = stream_figure(folder / "stream")
        rate, lines, periods_ok = periods_figure(folder / "history")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    anchor = elastalert_anchor()
    anchor_rate = float(anchor["rule_events_per_s"])
    real = str(anchor["implementation"]).startswith("elastalert2")
    print(
        f"several/low/inactivity rules: {rate:,.0f} rule-events/s (anchor: {anchor_rate:,.0f} "
        f"rule-events/s{'' if real else ' RE-IMPLEMENTED, NOT ElastAlert2'}, ratio "
        f"{rate / anchor_rate:.2f}; target >= 1,000,000 rule-events/s, ratio >= 10)"
    )
    print("\n".join(lines))
    seconds = ", ".join(f"{r['seconds']:.2f} s ({r['matches']} matches)" for r in anchor["rules"])
    print(
        f"  anchor: {anchor['implementation']} FrequencyRule, {len(anchor['rules'])} rules x "
        f"{anchor['events']:,} events in 10,000-event add_data pages: {seconds}"
    )
    if not (stream_ok and periods_ok):
        print("FIRINGS DIFFER FROM THE HAND-WRITTEN COUNTS")
        sys.exit(1)


if __name__ == "__main__":
    main()
