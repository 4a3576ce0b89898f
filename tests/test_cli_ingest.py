"""``linqd ingest`` in-process (no server on the data directory): plain and gzip files, CRLF and
a last line without newline, then ``linqd query`` sees the lines in order; clear errors for a
missing file and an invalid tag."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner, Result

from linqd.cli import main

TAG = "my.app.file"
LINES = ["first line", "second, with CRLF", 'thïrd {"json": true}', "last without newline"]
# LF, CRLF, LF, and no newline at the end of the file.
RAW = 'first line\nsecond, with CRLF\r\nthïrd {"json": true}\nlast without newline'.encode()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def ingest(data_dir: Path, path: Path, *extra: str) -> Result:
    return invoke("ingest", str(path), "--data-dir", str(data_dir), *extra)


def messages(data_dir: Path, table: str = TAG) -> list[dict[str, object]]:
    result = invoke(
        "query",
        f"from {table} select message",
        "--data-dir",
        str(data_dir),
        "--format",
        "json",
        "--from",
        "1d",
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_ingest_plain_file(tmp_path: Path) -> None:
    source = tmp_path / "events.log"
    source.write_bytes(RAW)
    data_dir = tmp_path / "data"
    result = ingest(data_dir, source, "--tag", TAG)
    assert result.exit_code == 0, result.output
    assert f"4 events stored in {TAG}" in result.output
    assert [row["message"] for row in messages(data_dir)] == LINES


def test_ingest_gzip_file(tmp_path: Path) -> None:
    source = tmp_path / "events.log.gz"
    source.write_bytes(gzip.compress(RAW))
    data_dir = tmp_path / "data"
    result = ingest(data_dir, source, "--tag", TAG)
    assert result.exit_code == 0, result.output
    assert f"4 events stored in {TAG}" in result.output
    assert [row["message"] for row in messages(data_dir)] == LINES


def test_ingest_twice_appends_in_order(tmp_path: Path) -> None:
    plain, packed = tmp_path / "a.log", tmp_path / "b.log.gz"
    plain.write_bytes(RAW)
    packed.write_bytes(gzip.compress(b"gz one\ngz two\n"))
    data_dir = tmp_path / "data"
    assert ingest(data_dir, plain, "--tag", TAG).exit_code == 0
    second = ingest(data_dir, packed, "--tag", TAG)
    assert second.exit_code == 0, second.output
    assert f"2 events stored in {TAG}" in second.output
    assert [row["message"] for row in messages(data_dir)] == [*LINES, "gz one", "gz two"]


def test_ingest_hostname_and_hyphenated_tag(tmp_path: Path) -> None:
    source = tmp_path / "access.log"
    source.write_text("GET /\n")
    data_dir = tmp_path / "data"
    result = ingest(data_dir, source, "--tag", "web.apache.access-lt", "--host", "edge-1")
    assert result.exit_code == 0, result.output
    query = invoke(
        "query",
        "from web.apache.accessLt select hostname, message",
        "--data-dir",
        str(data_dir),
        "--format",
        "json",
        "--from",
        "1d",
    )
    assert query.exit_code == 0, query.output
    rows = [json.loads(line) for line in query.output.splitlines() if line.strip()]
    assert [(row["hostname"], row["message"]) for row in rows] == [("edge-1", "GET /")]


def test_ingest_empty_file_stores_nothing(tmp_path: Path) -> None:
    source = tmp_path / "empty.log"
    source.write_bytes(b"")
    result = ingest(tmp_path / "data", source, "--tag", TAG)
    assert result.exit_code == 0, result.output
    assert f"0 events stored in {TAG}" in result.output


def test_ingest_missing_file_fails_without_traceback(tmp_path: Path) -> None:
    result = ingest(tmp_path / "data", tmp_path / "nope.log", "--tag", TAG)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "nope.log" in result.output
    assert "does not exist" in result.output
    assert not isinstance(result.exception, (OSError, AssertionError))


def test_ingest_invalid_tag_fails_with_a_clear_message(tmp_path: Path) -> None:
    source = tmp_path / "events.log"
    source.write_bytes(RAW)
    data_dir = tmp_path / "data"
    result = ingest(data_dir, source, "--tag", "notatag")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "Invalid tag `notatag`" in result.output
    assert isinstance(result.exception, SystemExit)


def test_ingest_into_a_test_drop_table_says_nothing_was_stored(tmp_path: Path) -> None:
    source = tmp_path / "events.log"
    source.write_bytes(RAW)
    data_dir = tmp_path / "data"
    result = ingest(data_dir, source, "--tag", "test.drop.file")
    assert result.exit_code == 0, result.output
    assert "4 events accepted for test.drop.file and dropped" in result.output
    assert messages(data_dir, "test.drop.file") == []
