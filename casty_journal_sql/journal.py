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
every entity in the batch, appends whose ``expected_sequence_nr`` does not
match fail with :class:`~casty.errors.ConcurrencyConflict` (a later append of
the same entity in the same batch is checked against the result of the earlier
one), and the rest are inserted with one multi-row insert. While a batch
commits the next one accumulates, so under load each commit (and each fsync)
carries many appends. If the batch transaction fails anyway, its appends are
retried one transaction each, so every caller gets its own outcome and the
journal keeps working.

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
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

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
    make_engine,
    parse_url,
    write_transaction,
)
from casty_journal_sql.schema import MAX_PERSISTENCE_ID_LENGTH, events, snapshots

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
        await self._engine.dispose()

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
        self._check_open()
        _check_pid(persistence_id)
        if (
            isinstance(expected_sequence_nr, bool)
            or not isinstance(expected_sequence_nr, int)
            or expected_sequence_nr < 0
        ):
            raise InvalidArgument(f"expected_sequence_nr must be an int >= 0, got {expected_sequence_nr!r}")
        if isinstance(events, str | bytes) or not isinstance(events, Sequence):
            raise InvalidArgument(f"events must be a sequence of events, not {type(events).__name__}")
        codec = self._codec
        rows: list[tuple[str, int, str]] = []
        for index, ev in enumerate(events):
            try:
                payload = codec.dumps(ev)
            except SerializationError as exc:
                raise SerializationError(
                    f"event {index} appended to {persistence_id!r} cannot be stored: {exc}"
                ) from exc
            rows.append((codec.type_name(ev), codec.type_version(ev), payload))
        await self._ensure_ready()
        loop = asyncio.get_running_loop()
        item = _PendingAppend(persistence_id, rows, expected_sequence_nr, loop.create_future())
        queue = self._start_writer()
        await queue.put(item)
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
        """Check and insert ``batch`` in one transaction; sets each item's result or error."""
        pids = list(dict.fromkeys(item.persistence_id for item in batch))
        now = time.time()
        async with write_transaction(self._engine) as conn:
            if not self._sqlite:
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self._lock_key})
            highest: dict[str, int] = {}
            for chunk in _chunks(pids, 500):
                result = await conn.execute(
                    sa.select(events.c.persistence_id, sa.func.max(events.c.sequence_nr))
                    .where(events.c.persistence_id.in_(chunk))
                    .group_by(events.c.persistence_id)
                )
                for pid, seq in result:
                    highest[pid] = int(seq)
            rows: list[dict[str, Any]] = []
            for item in batch:
                current = highest.get(item.persistence_id, 0)
                if item.expected != current:
                    item.error = ConcurrencyConflict(item.persistence_id, item.expected, current)
                    continue
                for offset, (etype, version, payload) in enumerate(item.rows, start=1):
                    rows.append(
                        {
                            "persistence_id": item.persistence_id,
                            "sequence_nr": current + offset,
                            "event_type": etype,
                            "event_version": version,
                            "payload": payload,
                            "written_at": now,
                            "deleted": False,
                        }
                    )
                current += len(item.rows)
                highest[item.persistence_id] = current
                item.result = current
            if rows:
                await conn.execute(events.insert(), rows)
        self.batches_committed += 1
        self.appends_committed += sum(1 for item in batch if item.error is None)

    # -- reads ----------------------------------------------------------------

    async def read(
        self, persistence_id: str, from_sequence_nr: int = 1, to_sequence_nr: int | None = None
    ) -> AsyncIterator[PersistedEvent]:
        """Stream the events of one entity in order, bounds inclusive.

        Fetches ``page_size`` rows per query (keyset pagination on the
        sequence number), so an entity's events are never all in memory.
        Raises :class:`~casty.errors.DecodeError` naming the persistence id and
        sequence number of an event that cannot be decoded.
        """
        await self._ensure_ready()
        _check_pid(persistence_id)
        lower = max(int(from_sequence_nr), 1)
        upper = _NO_UPPER_BOUND if to_sequence_nr is None else int(to_sequence_nr)
        cols = (
            events.c.sequence_nr,
            events.c.payload,
            events.c.written_at,
            events.c.offset,
        )
        while lower <= upper:
            stmt = (
                sa.select(*cols)
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
                    page = (await conn.execute(stmt)).all()
            self.rows_read += len(page)
            for seq, payload, written_at, offset in page:
                yield PersistedEvent(
                    persistence_id,
                    int(seq),
                    self._decode(persistence_id, int(seq), payload),
                    float(written_at),
                    int(offset),
                )
            if len(page) < self._page_size:
                return
            lower = int(page[-1][0]) + 1

    def _decode(self, persistence_id: str, sequence_nr: int, payload: str, what: str = "") -> Any:
        try:
            return self._codec.loads(payload)
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            raise DecodeError(persistence_id, sequence_nr, f"{what}{reason}") from exc

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
            payload = self._codec.dumps(state)
        except SerializationError as exc:
            raise SerializationError(f"snapshot of {persistence_id!r} cannot be stored: {exc}") from exc
        values = {
            "persistence_id": persistence_id,
            "sequence_nr": sequence_nr,
            "state_type": self._codec.type_name(state),
            "state_version": self._codec.type_version(state),
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


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
