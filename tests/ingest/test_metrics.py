"""The ingestion counters in Prometheus' text format, exactly: names, labels, help and type
lines, values and label escaping, from a given PipelineStats."""

from __future__ import annotations

from prometheus_client import generate_latest

from linqd.ingest.metrics import ingest_registry
from linqd.ingest.pipeline import PipelineStats, TableCounters

STATS = PipelineStats(
    tables={
        "my.app.web": TableCounters(received=5, stored=3, rejected=1, unparsed=1, bytes=420),
        'odd"\\name': TableCounters(received=1, rejected=1, bytes=7),
        "test.drop.ltsender": TableCounters(received=2, dropped=2, bytes=30),
    },
    rejected_total=4,
    pending_rows=2,
    lost_total=6,
)

EXPECTED = """\
# HELP linqd_ingest_events_received_total Events received, by table.
# TYPE linqd_ingest_events_received_total counter
linqd_ingest_events_received_total{table="my.app.web"} 5.0
linqd_ingest_events_received_total{table="odd\\"\\\\name"} 1.0
linqd_ingest_events_received_total{table="test.drop.ltsender"} 2.0
# HELP linqd_ingest_events_stored_total Events stored, by table.
# TYPE linqd_ingest_events_stored_total counter
linqd_ingest_events_stored_total{table="my.app.web"} 3.0
linqd_ingest_events_stored_total{table="odd\\"\\\\name"} 0.0
linqd_ingest_events_stored_total{table="test.drop.ltsender"} 0.0
# HELP linqd_ingest_events_unparsed_total Events kept raw (parse failed).
# TYPE linqd_ingest_events_unparsed_total counter
linqd_ingest_events_unparsed_total{table="my.app.web"} 1.0
linqd_ingest_events_unparsed_total{table="odd\\"\\\\name"} 0.0
linqd_ingest_events_unparsed_total{table="test.drop.ltsender"} 0.0
# HELP linqd_ingest_events_rejected_total Events kept aside in linqd.ingest.rejected, by table.
# TYPE linqd_ingest_events_rejected_total counter
linqd_ingest_events_rejected_total{table="my.app.web"} 1.0
linqd_ingest_events_rejected_total{table="odd\\"\\\\name"} 1.0
linqd_ingest_events_rejected_total{table="test.drop.ltsender"} 0.0
# HELP linqd_ingest_events_dropped_total Events dropped by design (test.drop.*), by table.
# TYPE linqd_ingest_events_dropped_total counter
linqd_ingest_events_dropped_total{table="my.app.web"} 0.0
linqd_ingest_events_dropped_total{table="odd\\"\\\\name"} 0.0
linqd_ingest_events_dropped_total{table="test.drop.ltsender"} 2.0
# HELP linqd_ingest_bytes_total Bytes received, by table.
# TYPE linqd_ingest_bytes_total counter
linqd_ingest_bytes_total{table="my.app.web"} 420.0
linqd_ingest_bytes_total{table="odd\\"\\\\name"} 7.0
linqd_ingest_bytes_total{table="test.drop.ltsender"} 30.0
# HELP linqd_ingest_rejected_total Input rejected (framing errors, invalid tags).
# TYPE linqd_ingest_rejected_total counter
linqd_ingest_rejected_total 4.0
# HELP linqd_ingest_events_lost_total Events neither stored nor kept aside (failed flushes).
# TYPE linqd_ingest_events_lost_total counter
linqd_ingest_events_lost_total 6.0
# HELP linqd_ingest_pending_rows Rows waiting for the writer.
# TYPE linqd_ingest_pending_rows gauge
linqd_ingest_pending_rows 2.0
"""


def test_the_exposition_text() -> None:
    assert generate_latest(ingest_registry(lambda: STATS)).decode() == EXPECTED


def test_each_scrape_reads_the_counters_afresh() -> None:
    current = [STATS]
    registry = ingest_registry(lambda: current[0])
    current[0] = PipelineStats(tables={}, rejected_total=0, pending_rows=0, lost_total=1)
    text = generate_latest(registry).decode()
    assert "linqd_ingest_events_lost_total 1.0" in text.splitlines()
    assert "my.app.web" not in text


def test_no_metric_lands_in_the_librarys_global_registry() -> None:
    ingest_registry(lambda: STATS)
    assert b"linqd_" not in generate_latest()
