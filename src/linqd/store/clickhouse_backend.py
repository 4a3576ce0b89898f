"""The two ways to reach ClickHouse, behind one small interface (``Backend``).

- ``ChdbBackend``: ClickHouse's engine in this process (chdb), persisted in a directory. chdb
  binds one engine to one directory per process; any number of connections to it may run
  queries in parallel, but a connection runs one query at a time and a killed streaming query
  leaves its connection unusable. So every statement gets a connection of its own (opening one
  costs a fraction of a millisecond) with the store's settings applied by ``SET``, and one
  anchor connection keeps the engine up while the store is open.
- ``HttpBackend``: a ClickHouse server over HTTP with clickhouse-connect, results in Arrow. The
  password goes into the client's Authorization header only; no error text or log line of this
  module carries it (it is also scrubbed from server texts, should a server echo it).

Both answer Arrow tables, run a streamed query lazily (``start`` is called by the reading
thread, so a slow first block blocks the reader, not the caller of ``EventStore.stream``) and
stop one with ``KILL QUERY``: by ``query_id`` over HTTP, by a ``log_comment`` tag on chdb (chdb
assigns its own query ids). chdb's ``StreamingResult.cancel`` was tried and is not used: called
from another thread while the reader waits for a block, it blocks until the query ends and
leaves the reader a corrupt chunk; ``KILL QUERY`` stops it within a block.

Engine failures leave a backend as ``EngineFailure`` (the engine's text, password-free); the
store turns them into linqd errors, so no chdb or clickhouse-connect exception escapes.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa
from sqlglot import exp

from . import clickhouse_ddl as ddl

Settings = Mapping[str, int | str]
CLOSE_WAIT_S = 10.0
Params = Mapping[str, int | str]

_CODE_PREFIX = re.compile(r"^.*?Code: \d+\. DB::Exception: ", re.DOTALL)
_VERSION_TRAILER = re.compile(r"\s*\(version [^)]*\)\s*$")
_URL_TRAILER = re.compile(r"\s*\(for url [^)]*\)\s*$")


class EngineFailure(Exception):
    """A statement ClickHouse refused or could not run; ``text`` is its message."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def clean_text(text: str) -> str:
    """ClickHouse's message without its ``Code: N. DB::Exception:`` prefix and trailers."""
    text = text.strip()
    text = _URL_TRAILER.sub("", text)
    text = _VERSION_TRAILER.sub("", text)
    return _CODE_PREFIX.sub("", text)


def arrow_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def read_arrow(data: bytes) -> pa.Table:
    """An ArrowStream body as a table (an empty body, from a statement without a result, is an
    empty table)."""
    if not data:
        return pa.table({})
    return pa.ipc.open_stream(data).read_all()


@dataclass(frozen=True)
class Started:
    """A streamed query once it runs: its schema, its batches, and how the reading thread lets
    go of it before its end (idempotent; stops the query, frees its connection)."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    abandon: Callable[[], None] = lambda: None


class Backend(ABC):
    """What the ClickHouse store needs from a connection to ClickHouse."""

    @abstractmethod
    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        """Run a query and return its whole result."""

    @abstractmethod
    def start(self, sql: str, params: Params | None, tag: str) -> Started:
        """Start a query tagged ``tag`` (for ``kill``); its batches arrive as they come."""

    @abstractmethod
    def kill(self, tag: str) -> None:
        """Stop the query tagged ``tag`` if it runs (from any thread)."""

    @abstractmethod
    def command(self, sql: str) -> None:
        """Run a statement without a result (DDL, DELETE)."""

    @abstractmethod
    def insert(self, table: str, data: pa.Table, settings: Settings) -> None:
        """Insert ``data`` into ``table``; returns once ClickHouse accepted it."""

    @abstractmethod
    def close(self) -> None: ...


# -- chdb ------------------------------------------------------------------------------------------


class ChdbBackend(Backend):
    """ClickHouse's engine in process, its data in ``path``."""

    KILL_COLUMN = "Settings['log_comment']"

    def __init__(self, path: str, settings: Settings) -> None:
        import chdb

        self._chdb = chdb
        self._path = path
        self._setup = ddl.sql(ddl.set_settings(settings)) if settings else ""
        self._closed = False
        self._closing = threading.Condition()
        self._live: set[Any] = set()
        try:
            self._anchor = chdb.connect(path)
        except Exception as error:  # chdb raises RuntimeError and its own ChdbError
            raise EngineFailure(f"cannot open chdb directory: {error}") from None

    def _open(self) -> Any:
        # A connection after close() would start ClickHouse's engine over this directory
        # again, and chdb serves one directory per process: the next store could not open.
        with self._closing:
            if self._closed:
                raise EngineFailure("the store is closed")
            conn = self._chdb.connect(self._path)
            self._live.add(conn)
            return conn

    def _release(self, conn: Any) -> None:
        try:
            conn.close()
        finally:
            with self._closing:
                self._live.discard(conn)
                self._closing.notify_all()

    def _connect(self, extra: Settings | None = None) -> Any:
        conn = self._open()
        try:
            if self._setup:
                conn.query(self._setup)
            if extra:
                conn.query(ddl.sql(ddl.set_settings(extra)))
        except Exception as error:
            self._release(conn)
            raise EngineFailure(str(error)) from None
        return conn

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        conn = self._connect()
        try:
            result = conn.query(sql, "ArrowStream", params=_str_params(params))
            return read_arrow(result.bytes())
        except Exception as error:
            raise EngineFailure(str(error)) from None
        finally:
            self._release(conn)

    def start(self, sql: str, params: Params | None, tag: str) -> Started:
        conn = self._connect({"log_comment": tag})
        try:
            stream = conn.send_query(sql, "ArrowStream", params=_str_params(params))
            first = self._next_chunk(stream)
        except BaseException:
            self._release(conn)
            raise
        if first is None:
            # A streamed query without rows sends no chunk at all, so no schema: ask for the
            # schema alone (LIMIT 0 reads nothing).
            self._release(conn)
            schema = self.query(f"SELECT * FROM ({sql}) LIMIT 0", params).schema
            return Started(schema, iter(()))
        abandon = _Abandon(partial(self._release, conn), stream)
        return Started(first.schema, self._rest(stream, first, abandon), abandon)

    def _next_chunk(self, stream: Any) -> pa.Table | None:
        try:
            chunk = stream.fetch()
        except Exception as error:
            raise EngineFailure(str(error)) from None
        if chunk is None:
            return None
        # Each chunk of a streamed ArrowStream query is a whole Arrow stream of its own.
        return read_arrow(chunk.bytes())

    def _rest(self, stream: Any, first: pa.Table, abandon: _Abandon) -> Iterator[pa.RecordBatch]:
        try:
            yield from first.to_batches()
            while (table := self._next_chunk(stream)) is not None:
                yield from table.to_batches()
            abandon.finished = True
        finally:
            abandon()

    def kill(self, tag: str) -> None:
        conn = self._open()
        try:
            conn.query(ddl.command(ddl.KillQuery(self.KILL_COLUMN, tag), ddl.Layout()))
        except Exception as error:
            raise EngineFailure(str(error)) from None
        finally:
            self._release(conn)

    def command(self, sql: str) -> None:
        conn = self._connect()
        try:
            conn.query(sql)
        except Exception as error:
            raise EngineFailure(str(error)) from None
        finally:
            self._release(conn)

    def insert(self, table: str, data: pa.Table, settings: Settings) -> None:
        statement = ddl.command(ddl.InsertInto(table, data.column_names, settings), ddl.Layout())
        conn = self._connect()
        try:
            inserter = conn.send_insert(statement, "ArrowStream")
            try:
                inserter.append(arrow_bytes(data))
            except BaseException:
                inserter.cancel()
                raise
            inserter.finish()
        except Exception as error:
            raise EngineFailure(str(error)) from None
        finally:
            self._release(conn)

    def close(self) -> None:
        # ClickHouse's engine stops with the last connection to it: wait for the ones still
        # in use (a KILL on its way, a query letting go) so that the next store can open.
        with self._closing:
            self._closed = True
            self._closing.wait_for(lambda: not self._live, timeout=CLOSE_WAIT_S)
        self._anchor.close()


class _Abandon:
    """Lets go of a chdb stream on its reading thread. A stream abandoned midway is cancelled
    through the stream itself: closing the connection alone would wait for the query to run
    to its end, and a KILL from this thread would wait for a reader that is itself (the query
    is parked between chunks)."""

    def __init__(self, release: Callable[[], None], stream: Any) -> None:
        self._release = release
        self._stream = stream
        self.finished = False
        self._done = False

    def __call__(self) -> None:
        if self._done:
            return
        self._done = True
        if not self.finished:
            # Cancelling a stream that ended meanwhile may raise: it is stopped either way.
            with contextlib.suppress(Exception):
                self._stream.cancel()
        self._release()


def _str_params(params: Params | None) -> dict[str, str]:
    return {key: str(value) for key, value in (params or {}).items()}


# -- HTTP (clickhouse-connect) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServerAddress:
    """A ClickHouse server's HTTP interface; the password is passed separately."""

    host: str
    port: int
    username: str
    database: str
    secure: bool


class HttpBackend(Backend):
    """A ClickHouse server over HTTP, through clickhouse-connect."""

    KILL_COLUMN = "query_id"

    def __init__(
        self,
        address: ServerAddress,
        password: str,
        settings: Settings,
        *,
        connect_timeout_s: int = 10,
        send_receive_timeout_s: int = 300,
    ) -> None:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import ClickHouseError

        self._error_types: tuple[type[BaseException], ...] = (ClickHouseError, OSError)
        self._secret = password
        try:
            self._client = clickhouse_connect.get_client(
                host=address.host,
                port=address.port,
                username=address.username,
                password=password,
                database=address.database,
                secure=address.secure,
                settings=dict(settings),
                # Arrow results are compressed inside the format (lz4 frames); HTTP compression
                # on top would only cost CPU.
                compress=False,
                query_limit=0,
                # One client serves concurrent queries: no HTTP session, which ClickHouse
                # would serialise.
                autogenerate_session_id=False,
                show_clickhouse_errors="scrub",
                connect_timeout=connect_timeout_s,
                send_receive_timeout=send_receive_timeout_s,
                dedicated_pool=True,
            )
        except self._error_types as error:
            raise self._failure(error) from None

    def _failure(self, error: BaseException) -> EngineFailure:
        text = str(error)
        marker = "server response: "
        if marker in text:
            text = text[text.index(marker) + len(marker) :]
        if self._secret:
            text = text.replace(self._secret, "***")
        return EngineFailure(clean_text(text))

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        try:
            data = self._client.raw_query(
                sql, parameters=dict(params or {}) or None, fmt="ArrowStream"
            )
            return read_arrow(data)
        except self._error_types as error:
            raise self._failure(error) from None
        except pa.ArrowInvalid as error:
            raise EngineFailure(f"unreadable result: {error}") from None

    def start(self, sql: str, params: Params | None, tag: str) -> Started:
        try:
            response = self._client.raw_stream(
                sql,
                parameters=dict(params or {}) or None,
                settings={"query_id": tag},
                fmt="ArrowStream",
            )
            reader = pa.ipc.open_stream(response)
        except self._error_types as error:
            raise self._failure(error) from None
        except pa.ArrowInvalid as error:
            raise EngineFailure(f"unreadable result: {error}") from None
        body: Any = response  # an HTTP response body: closing it ends the query's answer
        return Started(reader.schema, self._read(reader, body), body.close)

    def _read(self, reader: pa.RecordBatchStreamReader, response: Any) -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except (pa.ArrowInvalid, *self._error_types) as error:
            # ClickHouse reports a failure after the first bytes inside the body, which then is
            # no Arrow stream any more.
            raise EngineFailure(f"the result ended with an error: {error}") from None
        finally:
            response.close()

    def kill(self, tag: str) -> None:
        self.command(ddl.command(ddl.KillQuery(self.KILL_COLUMN, tag), ddl.Layout()))

    def command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except self._error_types as error:
            raise self._failure(error) from None

    def insert(self, table: str, data: pa.Table, settings: Settings) -> None:
        try:
            self._client.raw_insert(
                ddl.sql(exp.Table(this=exp.to_identifier(table, quoted=True))),
                column_names=list(data.column_names),
                insert_block=arrow_bytes(data),
                settings=dict(settings),
                fmt="ArrowStream",
            )
        except self._error_types as error:
            raise self._failure(error) from None

    def close(self) -> None:
        self._client.close()
