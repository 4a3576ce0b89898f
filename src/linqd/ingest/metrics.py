"""The ingestion pipeline's counters as Prometheus metrics, for ``GET /metrics``.

A ``prometheus_client`` collector reads ``PipelineStats`` at every scrape rather than keeping
counters of its own: the pipeline stays the one place that counts, under its own lock, and the
exposition (names, label escaping, ``# HELP``/``# TYPE`` lines, the text format) is the
library's. Each server builds its own ``CollectorRegistry`` (``ingest_registry``), never the
library's global one, so two pipelines in one process (tests) never share a metric. The answer
is always the text format 0.0.4, whatever a scraper's Accept header asks: every Prometheus
reads it, and OpenMetrics would rename the counters' families (no ``_total`` in ``# TYPE``).

Metrics, all counters since the server started but the last one:

- ``linqd_ingest_events_received_total{table}``, ``..._stored_total{table}``,
  ``..._unparsed_total{table}`` (kept raw in ``<table>.unparsed``), ``..._rejected_total{table}``
  (kept aside in ``linqd.ingest.rejected`` instead of the table),
  ``linqd_ingest_events_dropped_total{table}`` (accepted and discarded by design: the
  ``test.drop.*`` tables) and ``linqd_ingest_bytes_total{table}`` (bytes received);
- ``linqd_ingest_rejected_total``: input rejected before it was an event of a table (framing
  errors, invalid tags) or refused for the table it named;
- ``linqd_ingest_events_lost_total``: events of flushes that could be neither stored nor kept
  aside (their senders were told);
- ``linqd_ingest_pending_rows`` (a gauge): rows waiting for the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .pipeline import PipelineStats

# (metric, help text, TableCounters attribute), one labelled counter each.
_PER_TABLE = (
    ("linqd_ingest_events_received_total", "Events received, by table.", "received"),
    ("linqd_ingest_events_stored_total", "Events stored, by table.", "stored"),
    ("linqd_ingest_events_unparsed_total", "Events kept raw (parse failed).", "unparsed"),
    (
        "linqd_ingest_events_rejected_total",
        "Events kept aside in linqd.ingest.rejected, by table.",
        "rejected",
    ),
    (
        "linqd_ingest_events_dropped_total",
        "Events dropped by design (test.drop.*), by table.",
        "dropped",
    ),
    ("linqd_ingest_bytes_total", "Bytes received, by table.", "bytes"),
)


class IngestCollector(Collector):
    """The pipeline's counters, read afresh at each scrape."""

    def __init__(self, stats: Callable[[], PipelineStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        tables = sorted(stats.tables.items())
        for name, help_text, attribute in _PER_TABLE:
            family = CounterMetricFamily(name, help_text, labels=("table",))
            for table, counters in tables:
                family.add_metric((table,), getattr(counters, attribute))
            yield family
        yield CounterMetricFamily(
            "linqd_ingest_rejected_total",
            "Input rejected (framing errors, invalid tags).",
            value=stats.rejected_total,
        )
        yield CounterMetricFamily(
            "linqd_ingest_events_lost_total",
            "Events neither stored nor kept aside (failed flushes).",
            value=stats.lost_total,
        )
        yield GaugeMetricFamily(
            "linqd_ingest_pending_rows", "Rows waiting for the writer.", value=stats.pending_rows
        )


def ingest_registry(stats: Callable[[], PipelineStats]) -> CollectorRegistry:
    """A registry of its own holding only the pipeline's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngestCollector(stats))
    return registry
