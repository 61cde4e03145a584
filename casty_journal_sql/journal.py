"""``SqlJournal``: the durable event journal on SQLite or PostgreSQL.

One SQLAlchemy Core (async) code path serves ``sqlite+aiosqlite:///file.db``
(embedded; several processes on one host may share the file) and
``postgresql+asyncpg://…`` (clusters). See :mod:`casty_journal_sql.engine` for
the connection settings (WAL, ``synchronous=FULL``, busy timeout) and
:mod:`casty_journal_sql.schema` for the tables.

Usage::

    async with SqlJournal("sqlite+aiosqlite:///app.db") as journal:
        await journal.append("counter:hits", [Incremented(1)], expected_sequence_nr=0)
        async for pe in journal.read("counter:hits"):
            ...

**Group commit.** ``append`` encodes its events in the caller's task (so an
unserializable event fails only that caller, with
:class:`~casty.errors.SerializationError`) and queues them. One writer task
takes everything queued — up to ``batch_max`` appends — and writes it in a
single transaction: one query reads the current highest sequence number of
every entity in the batch (one index seek per entity, whatever its history),
appends whose ``expected_sequence_nr`` does not match fail with
:class:`~casty.errors.ConcurrencyConflict` (a later append of the same entity
in the same batch is checked against the result of the earlier one), and the
rest are inserted with one statement. While a batch commits the next one
accumulates, so under load each commit (and each fsync) carries many appends.
If the batch transaction fails anyway, its appends are retried one
transaction each, so every caller gets its own outcome and the journal keeps
working. On SQLite the whole batch transaction runs as one call on a
dedicated writer thread with its own ``sqlite3`` connection (same settings);
through ``aiosqlite`` each statement, fetch and cursor would be a separate
hand-off between threads, and those, not the disk, bounded the throughput.

An ``append`` returns once its transaction has committed: with SQLite's
``synchronous=FULL`` and PostgreSQL's default ``synchronous_commit=on`` the
events are then on disk and survive a crash of the process or of the machine.

**Reads** are paged (``page_size`` rows per query, keyset pagination on the
sequence number) and read ahead: the next page is fetched while the caller
consumes the current one.

**Ordering.** Every append transaction first takes a PostgreSQL transaction
advisory lock, so event-writing transactions commit one after another and an
``offset`` becomes visible only after every smaller one: a reader tailing
:meth:`SqlJournal.read_all` never skips an event that committed late. (SQLite
serializes writers by itself.) Group commit makes this lock cheap: one
acquisition per batch.

**Schema.** On first use the journal checks the Alembic revision of the
database. A SQLite file without journal tables is migrated automatically
(unless ``auto_migrate=False``); elsewhere a missing or outdated schema raises
:class:`~casty.errors.SchemaError` naming the command that fixes it
(``casty-journal migrate upgrade --url …``) unless ``auto_migrate=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from casty.errors import (
    CastyError,
    ConcurrencyConflict,
    DecodeError,
    InvalidArgument,
    JournalError,
    JournalUnavailable,
    SerializationError,
)
from casty.persistence.codec import Codec, default_codec
from casty.persistence.journal import PersistedEvent, Snapshot
from casty_journal_sql import migrate
from casty_journal_sql.engine import (
    check_sqlite_path,
    describe_error,
    display_url,
    is_sqlite,
    is_unavailable_error,
    make_blocking_sqlite_engine,
    make_engine,
    parse_url,
    write_transaction,
)
from casty_journal_sql.schema import (
    EVENTS_TABLE,
    MAX_PERSISTENCE_ID_LENGTH,
    SNAPSHOTS_TABLE,
    events,
    snapshots,
)

__all__ = ["SqlJournal"]

_APPEND_LOCK_SALT = b"casty_journal_sql.append:"
_NO_UPPER_BOUND = (1 << 63) - 1


@dataclass(slots=True)
class _PendingAppend:
    """One queued ``append`` call: its encoded events and the caller's future."""

    persistence_id: str
    rows: list[tuple[str, int, str]]  # (event_type, event_version, payload)
    expected: int
    future: asyncio.Future[int]
    result: int | None = None
    error: BaseException | None = None


_STOP = object()


class SqlJournal:
    """An :class:`~casty.persistence.EventJournal` stored in SQLite or PostgreSQL.

    Parameters:

    ``url``
        ``sqlite+aiosqlite:///path/to/file.db`` or
        ``postgresql+asyncpg://user:password@host:5432/database``. Anything else
        raises :class:`~casty.errors.InvalidArgument`.
    ``codec``
        encodes events and snapshots to JSON (default:
        :data:`casty.persistence.codec.default_codec`).
    ``keep_snapshots``
        how many of the latest snapshots of an entity are kept.
    ``auto_migrate``
        ``None`` (default): create the schema in a SQLite file that has no
        journal tables, otherwise require an up-to-date schema. ``True``:
        upgrade any backend to the newest revision on first use. ``False``:
        never migrate.
    ``batch_max``
        at most this many ``append`` calls share one transaction.
    ``page_size``
        rows fetched per query by the streaming reads.
    ``schema``
        PostgreSQL only: keep the tables in this schema (``search_path``).
    ``pool_size``, ``max_overflow``, ``pool_timeout``, ``echo``
        passed to SQLAlchemy's engine.
    ``busy_timeout``
        SQLite only: seconds a writer waits for the file lock.
    ``connect_timeout``
        PostgreSQL only: seconds to wait for a connection.

    Counters for tests and monitoring: :attr:`rows_read` (event rows fetched
    by :meth:`read`), :attr:`batches_committed` (write transactions committed
    by the group-commit writer) and :attr:`appends_committed`.

    The database is first touched by the first operation (or
    :meth:`open`), which raises :class:`~casty.errors.JournalUnavailable`
    when it cannot be reached or is not a database and
    :class:`~casty.errors.SchemaError` when its schema is missing or old.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        codec: Codec | None = None,
        keep_snapshots: int = 2,
        auto_migrate: bool | None = None,
        batch_max: int = 500,
        page_size: int = 1000,
        schema: str | None = None,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
        echo: bool = False,
        busy_timeout: float = 30.0,
        connect_timeout: float = 10.0,
    ) -> None:
        if not isinstance(keep_snapshots, int) or keep_snapshots < 1:
            raise InvalidArgument(f"keep_snapshots must be an int >= 1, got {keep_snapshots!r}")
        if not isinstance(batch_max, int) or batch_max < 1:
            raise InvalidArgument(f"batch_max must be an int >= 1, got {batch_max!r}")
        if not isinstance(page_size, int) or page_size < 1:
            raise InvalidArgument(f"page_size must be an int >= 1, got {page_size!r}")
        if auto_migrate not in (None, True, False):
            raise InvalidArgument(f"auto_migrate must be None, True or False, got {auto_migrate!r}")
        self._url = parse_url(url)
        self._sqlite = is_sqlite(self._url)
        self._schema = schema
        self._engine: AsyncEngine = make_engine(
            self._url,
            schema=schema,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            echo=echo,
            busy_timeout=busy_timeout,
            connect_timeout=connect_timeout,
        )
        # SQLite: the group-commit writer runs each batch transaction in one call on
        # its own thread (see _write_batch); everything else uses the async engine.
        self._blocking_engine: sa.Engine | None = (
            make_blocking_sqlite_engine(self._url, busy_timeout=busy_timeout) if self._sqlite else None
        )
        self._write_thread: ThreadPoolExecutor | None = None
        self._writer_dbapi: Any = None  # the writer thread's SQLite connection
        self._pg_writer: AsyncConnection | None = None  # the writer's PostgreSQL connection
        self._codec = codec or default_codec
        self._keep = keep_snapshots
        self._auto_migrate = auto_migrate
        self._batch_max = batch_max
        self._page_size = page_size
        self._lock_key = zlib.crc32(_APPEND_LOCK_SALT + (schema or "").encode()) & 0x7FFFFFFF
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None
        self._queue: asyncio.Queue[_PendingAppend | object] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._points: list[tuple[str, asyncio.Future[tuple[Snapshot | None, int]]]] = []
        self._points_task: asyncio.Task[None] | None = None
        self.rows_read = 0
        """Event rows fetched by :meth:`read` since the journal was created."""
        self.batches_committed = 0
        """Write transactions committed by the group-commit writer."""
        self.appends_committed = 0
        """``append`` calls that were stored."""

    # -- lifecycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return display_url(self._url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._url.get_backend_name()

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for tools; the journal owns and disposes it)."""
        return self._engine

    async def __aenter__(self) -> SqlJournal:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect and check (or create) the schema now instead of on first use."""
        await self._ensure_ready()

    async def close(self) -> None:
        """Write every append queued so far, then release the connections.

        Later calls raise :class:`~casty.errors.JournalError`. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        if writer is not None and not writer.done() and self._queue is not None:
            await self._queue.put(_STOP)
            await asyncio.wait({writer})  # drains the queue; never raises the writer's outcome
        if self._points_task is not None and not self._points_task.done():
            await asyncio.wait({self._points_task})  # answers the recovery reads already asked
        await self._drop_pg_writer(False)
        await self._engine.dispose()
        thread, self._write_thread = self._write_thread, None
        if thread is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(thread, self._close_writer_thread)
            thread.shutdown(wait=False)
        elif self._blocking_engine is not None:
            self._blocking_engine.dispose()

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError("journal is closed")

    async def _ensure_ready(self) -> None:
        self._check_open()
        if self._ready:
            return
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if self._ready:
                return
            await self._check_schema()
            self._ready = True

    async def _check_schema(self) -> None:
        check_sqlite_path(self._url)
        try:
            async with self._engine.connect() as conn:
                status = await conn.run_sync(migrate.inspect_schema)
        except CastyError:
            raise
        except Exception as exc:
            raise JournalUnavailable(f"cannot open the journal at {self.url}: {describe_error(exc)}") from exc
        problem = migrate.schema_problem(status, self._url)
        if problem is None:
            return
        allowed = self._auto_migrate is True or (
            self._auto_migrate is None and self._sqlite and problem == "missing"
        )
        if not allowed:
            raise migrate.schema_error(problem, status, self._url, self._schema)
        await self._upgrade("head")

    async def _upgrade(self, revision: str) -> None:
        async with migrate.migration_transaction(self._engine, self._url, schema=self._schema) as conn:
            # Re-check under the lock: another process may have migrated meanwhile.
            status = await conn.run_sync(migrate.inspect_schema)
            if migrate.schema_problem(status, self._url) is not None or revision != "head":
                await conn.run_sync(migrate.run_upgrade, revision)

    async def create_schema(self) -> None:
        """Upgrade the database to the newest schema revision (via Alembic)."""
        self._check_open()
        await self._upgrade("head")
        self._ready = True

    async def current_revision(self) -> str | None:
        """The Alembic revision of the database (``None`` when it has no journal schema)."""
        self._check_open()
        with self._db_errors("reading the schema revision"):
            async with self._engine.connect() as conn:
                status = await conn.run_sync(migrate.inspect_schema)
        return status.revision

    @contextlib.contextmanager
    def _db_errors(self, action: str) -> Iterator[None]:
        """Turn driver/SQLAlchemy errors into casty errors with one clear line."""
        try:
            yield
        except CastyError:
            raise
        except Exception as exc:
            if is_unavailable_error(exc):
                raise JournalUnavailable(
                    f"{action} failed: journal database {self.url} unavailable: {describe_error(exc)}"
                ) from exc
            raise JournalError(f"{action} failed on {self.url}: {describe_error(exc)}") from exc

    # -- append (group commit) ----------------------------------------------

    async def append(self, persistence_id: str, events: Sequence[Any], expected_sequence_nr: int) -> int:
        """Append ``events`` after ``expected_sequence_nr``; return the new highest number.

        Atomic and fenced: raises :class:`~casty.errors.ConcurrencyConflict`
        (storing nothing) when ``expected_sequence_nr`` is not the entity's
        current highest sequence number.
        """
        if self._closed:
            raise JournalError("journal is closed")
        _check_pid(persistence_id)
        if type(expected_sequence_nr) is not int or expected_sequence_nr < 0:
            raise InvalidArgument(f"expected_sequence_nr must be an int >= 0, got {expected_sequence_nr!r}")
        if type(events) is not list and type(events) is not tuple:
            if isinstance(events, str | bytes) or not isinstance(events, Sequence):
                raise InvalidArgument(f"events must be a sequence of events, not {type(events).__name__}")
        dumps_typed = self._codec.dumps_typed
        rows: list[tuple[str, int, str]] = []
        for index, ev in enumerate(events):
            try:
                rows.append(dumps_typed(ev))
            except SerializationError as exc:
                raise SerializationError(
                    f"event {index} appended to {persistence_id!r} cannot be stored: {exc}"
                ) from exc
        if not self._ready:
            await self._ensure_ready()
        queue = self._queue
        if queue is None or self._writer is None or self._writer.done():
            queue = self._start_writer()
        item = _PendingAppend(
            persistence_id, rows, expected_sequence_nr, asyncio.get_running_loop().create_future()
        )
        if queue.full():
            await queue.put(item)  # back-pressure: wait for the writer
        else:
            queue.put_nowait(item)
        return await item.future

    def _start_writer(self) -> asyncio.Queue[_PendingAppend | object]:
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self._batch_max * 20)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_loop(self._queue), name="casty-sql-journal-writer"
            )
        return self._queue

    async def _write_loop(self, queue: asyncio.Queue[_PendingAppend | object]) -> None:
        stopping = False
        while not stopping:
            first = await queue.get()
            if first is _STOP:
                break
            assert isinstance(first, _PendingAppend)
            batch = [first]
            while len(batch) < self._batch_max and not queue.empty():
                nxt = queue.get_nowait()
                if nxt is _STOP:
                    stopping = True
                    break
                assert isinstance(nxt, _PendingAppend)
                batch.append(nxt)
            try:
                await self._flush(batch)
            except BaseException as exc:  # a bug or cancellation: never strand a caller
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(
                            JournalError(f"append to {item.persistence_id!r} failed: {exc!r}")
                        )
                if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                    raise
        # Anything queued after close() started cannot be written any more.
        while not queue.empty():
            left = queue.get_nowait()
            if isinstance(left, _PendingAppend) and not left.future.done():
                left.future.set_exception(JournalError("journal is closed"))

    async def _flush(self, batch: list[_PendingAppend]) -> None:
        batch = [item for item in batch if not item.future.done()]  # callers that gave up
        if not batch:
            return
        try:
            await self._write_batch(batch)
        except Exception as batch_exc:
            if is_unavailable_error(batch_exc):
                # The database is gone: retrying each append would only wait for
                # each connection attempt in turn. The outcome is unknown if the
                # connection broke during COMMIT; the fence tells on the next append.
                for item in batch:
                    item.error = self._append_error(item, batch_exc)
            else:
                # The whole transaction failed: give every append its own transaction,
                # so each caller gets its own result (success, conflict or error).
                down: BaseException | None = None
                for item in batch:
                    item.result = item.error = None
                    if down is not None:
                        item.error = self._append_error(item, down)
                        continue
                    try:
                        await self._write_batch([item])
                    except Exception as exc:
                        item.error = self._append_error(item, exc)
                        if is_unavailable_error(exc):
                            down = exc
        for item in batch:
            if item.future.done():
                continue
            if item.error is not None:
                item.future.set_exception(item.error)
            elif item.result is not None:
                item.future.set_result(item.result)
            else:  # pragma: no cover - defensive
                item.future.set_exception(JournalError(f"append to {item.persistence_id!r} lost its result"))

    def _append_error(self, item: _PendingAppend, exc: BaseException) -> BaseException:
        if isinstance(exc, CastyError):
            return exc
        if _is_unique_violation(exc):
            # Another writer inserted the same (persistence_id, sequence_nr) first.
            return ConcurrencyConflict(item.persistence_id, item.expected)
        if is_unavailable_error(exc):
            return JournalUnavailable(
                f"append to {item.persistence_id!r} failed: journal database {self.url} unavailable: "
                f"{describe_error(exc)}"
            )
        return JournalError(f"append to {item.persistence_id!r} failed on {self.url}: {describe_error(exc)}")

    async def _write_batch(self, batch: list[_PendingAppend]) -> None:
        """Check and insert ``batch`` in one transaction; sets each item's result or error.

        SQLite: the whole transaction (``BEGIN IMMEDIATE``, the check, the
        insert, ``COMMIT``) is one call on the writer thread, with the
        ``sqlite3`` module. Through ``aiosqlite`` every statement, fetch and
        cursor would be a separate thread hand-off, each waiting for the event
        loop (and the GIL) in turn: that, not the disk, bounded throughput.
        PostgreSQL: the same statements on the async engine, after the advisory
        lock that orders appends (see the module docstring).
        """
        now = time.time()
        if self._blocking_engine is not None:
            if self._write_thread is None:
                self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="casty-sqlite-writer")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._write_thread, self._write_batch_blocking, batch, now)
        else:
            await self._write_batch_async(batch, now)
        self.batches_committed += 1
        self.appends_committed += sum(1 for item in batch if item.error is None)

    async def _write_batch_async(self, batch: list[_PendingAppend], now: float) -> None:
        """PostgreSQL: the batch transaction on the writer's own connection.

        The writer keeps one connection across batches instead of taking one
        from the pool (and pinging it) for each. If that connection turns out
        dead before anything was committed — the server restarted while it sat
        idle — the batch is retried once on a new connection; a failure while
        committing is reported (its outcome is unknown; the fence tells on the
        next append).
        """
        for attempt in (1, 2):
            conn = self._pg_writer
            fresh = conn is None
            if conn is None:
                conn = self._pg_writer = await self._engine.connect()
            committing = False
            try:
                async with conn.begin():
                    await conn.run_sync(_write_batch_pg, batch, now, self._lock_key)
                    committing = True
                return
            except Exception as exc:
                await self._drop_pg_writer(is_unavailable_error(exc))
                if committing or fresh or attempt == 2 or not is_unavailable_error(exc):
                    raise
                for item in batch:
                    item.result = item.error = None

    async def _drop_pg_writer(self, dead: bool) -> None:
        conn, self._pg_writer = self._pg_writer, None
        if conn is not None:
            with contextlib.suppress(Exception):
                if dead:
                    await conn.invalidate()
                else:
                    await conn.close()

    def _write_batch_blocking(self, batch: list[_PendingAppend], now: float) -> None:
        """The SQLite batch transaction, on the writer thread, on the driver's connection.

        The writer keeps one ``sqlite3`` connection (set up by the engine's
        ``connect`` listener: WAL, ``synchronous=FULL``, busy timeout) and runs
        the few statements itself; a driver error is raised as SQLAlchemy would
        wrap it, so the error mapping is the same as on the async engine.
        """
        raw = self._writer_dbapi
        if raw is None:
            assert self._blocking_engine is not None
            raw = self._writer_dbapi = self._blocking_engine.raw_connection()
        dbapi: Any = raw.driver_connection
        statement = "BEGIN IMMEDIATE"
        try:
            cursor = dbapi.cursor()
            try:
                cursor.execute(statement)
                pids = list(dict.fromkeys(item.persistence_id for item in batch))
                highest: dict[str, int] = {}
                for chunk in _chunks(pids, 500):
                    statement = _highest_sqlite(len(chunk))
                    for pid, seq in cursor.execute(statement, chunk):
                        if seq is not None:
                            highest[pid] = int(seq)
                rows = _fence(batch, highest, now)
                if rows:
                    statement = _INSERT_SQLITE
                    cursor.executemany(statement, rows)
                statement = "COMMIT"
                cursor.execute(statement)
            finally:
                cursor.close()
        except BaseException as exc:
            with contextlib.suppress(Exception):  # a closed connection cannot even say
                if dbapi.in_transaction:
                    dbapi.rollback()
            if isinstance(exc, sqlite3.Error):
                if not isinstance(exc, sqlite3.IntegrityError):
                    self._drop_writer_connection()  # reconnect for the next batch
                raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
            raise

    def _drop_writer_connection(self) -> None:
        """On the writer thread: close the writer's SQLite connection (if any)."""
        raw, self._writer_dbapi = self._writer_dbapi, None
        if raw is not None:
            dbapi = raw.driver_connection
            with contextlib.suppress(Exception):
                raw.detach()  # out of SQLAlchemy's hands: no reset (rollback) on a dead connection
            with contextlib.suppress(Exception):
                dbapi.close()

    def _close_writer_thread(self) -> None:
        """On the writer thread: release its connection and the blocking engine."""
        raw, self._writer_dbapi = self._writer_dbapi, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()
        if self._blocking_engine is not None:
            self._blocking_engine.dispose()

    # -- reads ----------------------------------------------------------------

    async def read(
        self, persistence_id: str, from_sequence_nr: int = 1, to_sequence_nr: int | None = None
    ) -> AsyncIterator[PersistedEvent]:
        """Stream the events of one entity in order, bounds inclusive.

        Fetches ``page_size`` rows per query (keyset pagination on the
        sequence number), so an entity's events are never all in memory. While
        the caller consumes one page the next one is already being fetched, so
        a replay waits for the database only at the start.
        Raises :class:`~casty.errors.DecodeError` naming the persistence id and
        sequence number of an event that cannot be decoded.
        """
        await self._ensure_ready()
        _check_pid(persistence_id)
        lower = max(int(from_sequence_nr), 1)
        upper = _NO_UPPER_BOUND if to_sequence_nr is None else int(to_sequence_nr)
        if lower > upper:
            return
        page_size = self._page_size
        loads = self._codec.loads
        page = await self._read_page(persistence_id, lower, upper)
        ahead: asyncio.Task[list[Any]] | None = None
        try:
            while True:
                if len(page) == page_size and page[-1][0] < upper:
                    ahead = asyncio.ensure_future(self._read_page(persistence_id, page[-1][0] + 1, upper))
                for seq, payload, written_at, offset in page:
                    try:
                        event = loads(payload)
                    except Exception as exc:
                        raise _decode_error(persistence_id, seq, exc) from exc
                    yield PersistedEvent(persistence_id, seq, event, written_at, offset)
                if ahead is None:
                    return
                page, ahead = await ahead, None
        finally:
            if ahead is not None:  # the caller stopped early (or failed): drop the prefetch
                ahead.cancel()
                ahead.add_done_callback(_ignore_outcome)

    async def _read_page(self, persistence_id: str, lower: int, upper: int) -> list[Any]:
        """One page of ``(sequence_nr, payload, written_at, offset)`` rows of one entity."""
        stmt = (
            sa.select(events.c.sequence_nr, events.c.payload, events.c.written_at, events.c.offset)
            .where(
                events.c.persistence_id == persistence_id,
                events.c.sequence_nr >= lower,
                events.c.sequence_nr <= upper,
                events.c.deleted == sa.false(),
            )
            .order_by(events.c.sequence_nr)
            .limit(self._page_size)
        )
        with self._db_errors(f"reading {persistence_id!r}"):
            async with self._engine.connect() as conn:
                page: list[Any] = list((await conn.execute(stmt)).all())
        self.rows_read += len(page)
        return page

    def _decode(self, persistence_id: str, sequence_nr: int, payload: str, what: str = "") -> Any:
        try:
            return self._codec.loads(payload)
        except Exception as exc:
            raise _decode_error(persistence_id, sequence_nr, exc, what) from exc

    async def highest_sequence_nr(self, persistence_id: str) -> int:
        """The highest sequence number ever appended (0 for an unknown id); never decreases."""
        await self._ensure_ready()
        _check_pid(persistence_id)
        with self._db_errors(f"reading the highest sequence number of {persistence_id!r}"):
            async with self._engine.connect() as conn:
                value = await conn.scalar(
                    sa.select(sa.func.max(events.c.sequence_nr)).where(
                        events.c.persistence_id == persistence_id
                    )
                )
        return 0 if value is None else int(value)

    async def delete_events(self, persistence_id: str, to_sequence_nr: int) -> None:
        """Delete the events up to and including ``to_sequence_nr``.

        The row holding the entity's highest sequence number is kept (marked
        deleted, so reads skip it) so the highest number never decreases and
        is never handed out again.
        """
        await self._ensure_ready()
        _check_pid(persistence_id)
        to_seq = int(to_sequence_nr)
        if to_seq < 1:
            return
        with self._db_errors(f"deleting events of {persistence_id!r}"):
            async with write_transaction(self._engine) as conn:
                highest = await conn.scalar(
                    sa.select(sa.func.max(events.c.sequence_nr)).where(
                        events.c.persistence_id == persistence_id
                    )
                )
                if highest is None:
                    return
                highest = int(highest)
                await conn.execute(
                    events.delete().where(
                        events.c.persistence_id == persistence_id,
                        events.c.sequence_nr <= to_seq,
                        events.c.sequence_nr < highest,
                    )
                )
                if to_seq >= highest:
                    await conn.execute(
                        events.update()
                        .where(events.c.persistence_id == persistence_id, events.c.sequence_nr == highest)
                        .values(deleted=True)
                    )

    # -- snapshots ----------------------------------------------------------

    async def save_snapshot(self, persistence_id: str, sequence_nr: int, state: Any) -> None:
        """Store (or replace) the snapshot at ``sequence_nr``; keep only the latest ``keep_snapshots``."""
        self._check_open()
        _check_pid(persistence_id)
        if isinstance(sequence_nr, bool) or not isinstance(sequence_nr, int) or sequence_nr < 0:
            raise InvalidArgument(f"sequence_nr must be an int >= 0, got {sequence_nr!r}")
        try:
            state_type, state_version, payload = self._codec.dumps_typed(state)
        except SerializationError as exc:
            raise SerializationError(f"snapshot of {persistence_id!r} cannot be stored: {exc}") from exc
        values = {
            "persistence_id": persistence_id,
            "sequence_nr": sequence_nr,
            "state_type": state_type,
            "state_version": state_version,
            "payload": payload,
            "written_at": time.time(),
        }
        await self._ensure_ready()
        with self._db_errors(f"saving a snapshot of {persistence_id!r}"):
            async with write_transaction(self._engine) as conn:
                await conn.execute(self._upsert_snapshot(values))
                cutoff = await conn.scalar(
                    sa.select(snapshots.c.sequence_nr)
                    .where(snapshots.c.persistence_id == persistence_id)
                    .order_by(snapshots.c.sequence_nr.desc())
                    .limit(1)
                    .offset(self._keep - 1)
                )
                if cutoff is not None:
                    await conn.execute(
                        snapshots.delete().where(
                            snapshots.c.persistence_id == persistence_id,
                            snapshots.c.sequence_nr < cutoff,
                        )
                    )

    def _upsert_snapshot(self, values: dict[str, Any]) -> sa.Executable:
        update = {k: values[k] for k in ("state_type", "state_version", "payload", "written_at")}
        keys = [snapshots.c.persistence_id, snapshots.c.sequence_nr]
        if self._sqlite:
            return (
                sqlite_dialect.insert(snapshots)
                .values(values)
                .on_conflict_do_update(index_elements=keys, set_=update)
            )
        return (
            pg_dialect.insert(snapshots)
            .values(values)
            .on_conflict_do_update(index_elements=keys, set_=update)
        )

    async def load_snapshot(self, persistence_id: str) -> Snapshot | None:
        """The latest snapshot of an entity, or ``None``; a bad payload raises :class:`DecodeError`."""
        await self._ensure_ready()
        _check_pid(persistence_id)
        with self._db_errors(f"loading the snapshot of {persistence_id!r}"):
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(snapshots.c.sequence_nr, snapshots.c.payload, snapshots.c.written_at)
                        .where(snapshots.c.persistence_id == persistence_id)
                        .order_by(snapshots.c.sequence_nr.desc())
                        .limit(1)
                    )
                ).first()
        if row is None:
            return None
        seq = int(row[0])
        state = self._decode(persistence_id, seq, row[1], "the snapshot: ")
        return Snapshot(persistence_id, seq, state, float(row[2]))

    async def recovery_point(self, persistence_id: str) -> tuple[Snapshot | None, int]:
        """The latest snapshot and the highest sequence number of an entity, in one query.

        What the entity runtime needs to start an entity: events are read
        only when some follow the snapshot. Concurrent calls are answered
        together — one query for up to 500 entities — like group-committed
        appends, so many entities starting at once cost few round trips.
        """
        await self._ensure_ready()
        _check_pid(persistence_id)
        future: asyncio.Future[tuple[Snapshot | None, int]] = asyncio.get_running_loop().create_future()
        self._points.append((persistence_id, future))
        if self._points_task is None or self._points_task.done():
            self._points_task = asyncio.get_running_loop().create_task(
                self._load_points(), name="casty-sql-journal-recovery"
            )
        return await future

    async def _load_points(self) -> None:
        while self._points:
            batch, self._points = self._points[:500], self._points[500:]
            pids = list(dict.fromkeys(pid for pid, future in batch if not future.done()))
            if not pids:
                continue
            try:
                with self._db_errors("reading recovery points"):
                    async with self._engine.connect() as conn:
                        rows = await conn.run_sync(_recovery_rows, pids, self._sqlite)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            found = {row[0]: row for row in rows}
            for pid, future in batch:
                if future.done():
                    continue
                _, highest, snap_seq, payload, written_at = found.get(pid, (pid, None, None, None, None))
                try:
                    snapshot = None
                    if snap_seq is not None:
                        state = self._decode(pid, int(snap_seq), payload, "the snapshot: ")
                        snapshot = Snapshot(pid, int(snap_seq), state, float(written_at))
                except Exception as exc:
                    future.set_exception(exc)
                    continue
                future.set_result((snapshot, 0 if highest is None else int(highest)))

    async def snapshot_count(self, persistence_id: str) -> int:
        """How many snapshots are kept for ``persistence_id`` (for tests and tools)."""
        await self._ensure_ready()
        with self._db_errors(f"counting snapshots of {persistence_id!r}"):
            async with self._engine.connect() as conn:
                value = await conn.scalar(
                    sa.select(sa.func.count()).where(snapshots.c.persistence_id == persistence_id)
                )
        return int(value or 0)

    # -- inspection -----------------------------------------------------------

    async def persistence_ids(self, prefix: str = "") -> AsyncIterator[str]:
        """Stream every persistence id that has (or had) events, sorted by code point.

        Only ids starting with ``prefix`` when given. Paginated by ``page_size``.
        """
        await self._ensure_ready()
        if not isinstance(prefix, str):
            raise InvalidArgument(f"prefix must be a string, not {type(prefix).__name__}")
        after: str | None = None
        while True:
            cond = events.c.persistence_id >= prefix if after is None else events.c.persistence_id > after
            stmt = (
                sa.select(events.c.persistence_id)
                .where(cond)
                .group_by(events.c.persistence_id)
                .order_by(events.c.persistence_id)
                .limit(self._page_size)
            )
            with self._db_errors("listing persistence ids"):
                async with self._engine.connect() as conn:
                    page = [row[0] for row in await conn.execute(stmt)]
            for pid in page:
                if not pid.startswith(prefix):
                    return
                yield pid
            if len(page) < self._page_size:
                return
            after = page[-1]

    async def read_all(self, from_offset: int = 0, limit: int | None = None) -> AsyncIterator[PersistedEvent]:
        """Stream every event of every entity in global order, from ``offset > from_offset``.

        Resumable: pass the last ``offset`` seen. Never skips an event that
        committed late (see the module docstring). Paginated by ``page_size``.
        """
        await self._ensure_ready()
        after = int(from_offset)
        remaining = None if limit is None else int(limit)
        while remaining is None or remaining > 0:
            size = self._page_size if remaining is None else min(self._page_size, remaining)
            stmt = (
                sa.select(
                    events.c.offset,
                    events.c.persistence_id,
                    events.c.sequence_nr,
                    events.c.payload,
                    events.c.written_at,
                )
                .where(events.c.offset > after, events.c.deleted == sa.false())
                .order_by(events.c.offset)
                .limit(size)
            )
            with self._db_errors("reading the journal"):
                async with self._engine.connect() as conn:
                    page = (await conn.execute(stmt)).all()
            for offset, pid, seq, payload, written_at in page:
                yield PersistedEvent(
                    pid, int(seq), self._decode(pid, int(seq), payload), float(written_at), int(offset)
                )
            if len(page) < size:
                return
            after = int(page[-1][0])
            if remaining is not None:
                remaining -= len(page)


def _fence(
    batch: list[_PendingAppend], highest: dict[str, int], now: float
) -> list[tuple[str, int, str, int, str, float]]:
    """Check each append of ``batch`` against ``highest``; the rows to insert for those that pass.

    Sets ``result`` (new highest number) or ``error`` (:class:`ConcurrencyConflict`)
    on every item; a later append of an entity is checked against the
    outcome of an earlier one in the same batch. Updates ``highest``.
    """
    rows: list[tuple[str, int, str, int, str, float]] = []
    for item in batch:
        pid = item.persistence_id
        current = highest.get(pid, 0)
        if item.expected != current:
            item.error = ConcurrencyConflict(pid, item.expected, current)
            continue
        for etype, version, payload in item.rows:
            current += 1
            rows.append((pid, current, etype, version, payload, now))
        highest[pid] = current
        item.result = current
    return rows


def _ignore_outcome(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it


def _decode_error(persistence_id: str, sequence_nr: int, exc: BaseException, what: str = "") -> DecodeError:
    return DecodeError(persistence_id, int(sequence_nr), f"{what}{str(exc) or type(exc).__name__}")


def _check_pid(persistence_id: Any) -> None:
    if not isinstance(persistence_id, str):
        raise InvalidArgument(f"persistence_id must be a string, not {type(persistence_id).__name__}")
    if len(persistence_id) > MAX_PERSISTENCE_ID_LENGTH:
        raise InvalidArgument(
            f"persistence_id is {len(persistence_id)} characters long; at most "
            f"{MAX_PERSISTENCE_ID_LENGTH} are supported: {persistence_id[:40]!r}…"
        )
    if "\x00" in persistence_id:
        raise InvalidArgument(f"persistence_id must not contain NUL characters: {persistence_id!r}")


def _is_unique_violation(exc: BaseException) -> bool:
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is not None:
        return str(code) == "23505"
    return "unique constraint failed" in describe_error(exc).lower()


def _write_batch_pg(conn: sa.Connection, batch: list[_PendingAppend], now: float, lock_key: int) -> None:
    """PostgreSQL, inside a write transaction: lock, fence every append, insert the rest.

    Three constant statements sent straight to the driver (asyncpg prepares
    each once per connection), one round trip each:

    - the transaction advisory lock that orders appends (module docstring);
    - the highest sequence number of every entity in the batch;
    - one ``INSERT … SELECT FROM unnest(arrays)`` for all rows.
    """
    conn.exec_driver_sql(_LOCK_PG, (lock_key,))
    pids = list(dict.fromkeys(item.persistence_id for item in batch))
    highest: dict[str, int] = {}
    for pid, seq in conn.exec_driver_sql(_HIGHEST_PG, (pids,)):
        if seq is not None:
            highest[pid] = int(seq)
    rows = _fence(batch, highest, now)
    if rows:
        conn.exec_driver_sql(_INSERT_PG, tuple(list(column) for column in zip(*rows, strict=True)))


# The highest sequence number of each entity of a batch is read with one index
# seek per id (a correlated max over the unique (persistence_id, sequence_nr)
# index). "max(sequence_nr) ... GROUP BY persistence_id" would read every event
# of those entities instead: a cost that grows with the journal.
_COLUMNS = "persistence_id, sequence_nr, event_type, event_version, payload, written_at, deleted"
_MAX_SEQ = f"(SELECT max(e.sequence_nr) FROM {EVENTS_TABLE} e WHERE e.persistence_id = p.pid)"
_INSERT_SQLITE = f"INSERT INTO {EVENTS_TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0)"
_LOCK_PG = "SELECT pg_advisory_xact_lock($1)"
_HIGHEST_PG = f"SELECT p.pid, {_MAX_SEQ} FROM unnest($1::varchar[]) AS p(pid)"
_INSERT_PG = (
    f"INSERT INTO {EVENTS_TABLE} ({_COLUMNS}) SELECT r.*, false FROM unnest("
    "$1::varchar[], $2::bigint[], $3::varchar[], $4::integer[], $5::text[], $6::double precision[])"
    " AS r"
)


def _recovery_rows(conn: sa.Connection, pids: list[str], sqlite: bool) -> list[Any]:
    """``(pid, highest, snapshot_seq, snapshot_payload, snapshot_written_at)`` per known pid."""
    if sqlite:
        return list(conn.exec_driver_sql(_recovery_sqlite(len(pids)), tuple(pids)))
    return list(conn.exec_driver_sql(_RECOVERY_PG, (pids,)))


# Per id: its highest sequence number and its latest snapshot, each found with
# an index seek (correlated max over the (persistence_id, sequence_nr) keys).
_RECOVERY_SELECT = (
    f"SELECT p.pid, {_MAX_SEQ}, s.sequence_nr, s.payload, s.written_at FROM {{ids}}"
    f" LEFT JOIN {SNAPSHOTS_TABLE} s ON s.persistence_id = p.pid AND s.sequence_nr = "
    f"(SELECT max(s2.sequence_nr) FROM {SNAPSHOTS_TABLE} s2 WHERE s2.persistence_id = p.pid)"
)
_RECOVERY_PG = _RECOVERY_SELECT.format(ids="unnest($1::varchar[]) AS p(pid)")


@functools.lru_cache(maxsize=64)
def _recovery_sqlite(count: int) -> str:
    values = ",".join("(?)" for _ in range(count))
    return f"WITH p(pid) AS (VALUES {values}) " + _RECOVERY_SELECT.format(ids="p")


@functools.lru_cache(maxsize=64)
def _highest_sqlite(count: int) -> str:
    values = ",".join("(?)" for _ in range(count))
    return f"WITH p(pid) AS (VALUES {values}) SELECT p.pid, {_MAX_SEQ} FROM p"


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
