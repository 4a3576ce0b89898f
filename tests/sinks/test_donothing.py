"""The donothing sink: accepts any params, drops the rows, counts them."""

from __future__ import annotations

from linqd.clock import SimulatedClock
from linqd.sinks import SinkContext, create_sink, validate_destination
from linqd.sinks.base import RowFormat, SinkBatch
from linqd.sinks.donothing import DoNothingParams, DoNothingSink, validate


def test_any_params_are_accepted() -> None:
    assert validate({}) == DoNothingParams()
    assert validate({"friendlyName": "devo-sdk-api-test1"}).friendly_name == "devo-sdk-api-test1"
    assert validate({"friendlyName": 3, "anything": {"at": "all"}}) == DoNothingParams()
    validate_destination("donothing", {"whatever": True})


def test_rows_are_counted_and_dropped() -> None:
    sink = create_sink(
        "donothing", {"friendlyName": "x"}, job_id="j", context=SinkContext(SimulatedClock())
    )
    assert isinstance(sink, DoNothingSink)
    assert sink.spec.row_format is RowFormat.JSON
    sink.send(SinkBatch("j", 0, (), ['{"a":1}', '{"a":2}']))
    sink.send(SinkBatch("j", 1, (), [], last=True))
    assert (sink.batches, sink.rows, sink.extra()) == (2, 2, {})
    sink.close()
    sink.close()
