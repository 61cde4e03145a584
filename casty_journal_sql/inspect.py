"""Read-only queries on a casty SQL journal, for the ``casty-journal`` tool.

:class:`JournalReader` reads the journal's tables (:mod:`casty_journal_sql.schema`)
directly — raw rows, counts, bytes, last write times — without decoding
payloads and **without ever writing**: it never migrates, opens a SQLite file
read-only (``mode=ro``, so not even a pragma can change it) and refuses a
SQLite path that does not exist instead of creating an empty database.

    >>> import asyncio
    >>> async def main() -> None:
    ...     async with JournalReader("sqlite+aiosqlite:///does-not-exist.db") as reader:
    ...         pass
    >>> asyncio.run(main())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    casty.errors.JournalUnavailable: no journal at sqlite+aiosqlite:///does-not-exist.db: the file ...

Every query pages through the tables (keyset pagination, ``page_size`` rows
per query), so a journal of any size is read with bounded memory. Persistence
ids compare by code point on both backends (``COLLATE "C"`` on PostgreSQL,
``BINARY`` on SQLite), so orders and ``after`` cursors agree everywhere.

Database and driver errors become :class:`~casty.errors.JournalUnavailable`
(cannot connect / not a database) or :class:`~casty.errors.JournalError`; a
missing or outdated schema is a :class:`~casty.errors.SchemaError` naming the
command that fixes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from casty.errors import CastyError, InvalidArgument, JournalError, JournalUnavailable, SchemaError
from casty_journal_sql import migrate
from casty_journal_sql.engine import (
    describe_error,
    display_url,
    is_sqlite,
    is_unavailable_error,
    make_engine,
    parse_url,
)
from casty_journal_sql.schema import events, snapshots

__all__ = [
    "EntitySummary",
    "EventRow",
    "Fingerprint",
    "JournalReader",
    "KindStats",
    "SnapshotRow",
    "structure_kind",
]


def structure_kind(persistence_id: str) -> str:
    """The kind of an entity: its persistence id up to the first ``:`` (``""`` without one).

    >>> structure_kind("map:users:alice"), structure_kind("counter:hits"), structure_kind("solo")
    ('map', 'counter', '')
    """
    kind, sep, _ = persistence_id.partition(":")
    return kind if sep else ""


@dataclass(frozen=True, slots=True)
class EventRow:
    """One row of ``casty_events``, payload undecoded (the codec's JSON text)."""

    offset: int
    persistence_id: str
    sequence_nr: int
    event_type: str
    event_version: int
    payload: str
    written_at: float
    deleted: bool


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One row of ``casty_snapshots``, payload undecoded."""

    persistence_id: str
    sequence_nr: int
    state_type: str
    state_version: int
    payload: str
    written_at: float


@dataclass(frozen=True, slots=True)
class EntitySummary:
    """One entity: how many events it holds, its highest sequence number, its last write."""

    persistence_id: str
    events: int
    highest_sequence_nr: int
    last_written_at: float

    @property
    def kind(self) -> str:
        return structure_kind(self.persistence_id)


@dataclass(frozen=True, slots=True)
class KindStats:
    """Totals for the entities of one kind (``""``: ids without a ``kind:`` prefix)."""

    kind: str
    entities: int
    events: int
    event_bytes: int
    snapshots: int
    snapshot_bytes: int


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What must match between two copies of one entity's rows.

    Event rows (including a retention marker), their highest sequence number,
    the total length of their payloads in characters, and the newest snapshot.
    """

    persistence_id: str
    rows: int
    highest_sequence_nr: int
    payload_chars: int
    latest_snapshot: int | None


class JournalReader:
    """Read-only access to the tables of a casty SQL journal.

    ``url`` is a journal URL (see :func:`casty_journal_sql.engine.parse_url`);
    ``schema`` the PostgreSQL schema holding the tables. Use it as an async
    context manager, or call :meth:`open` and :meth:`close`.

    Subclasses that write (:class:`casty_journal_sql.transfer.JournalWriter`)
    pass ``read_only=False``.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        schema: str | None = None,
        page_size: int = 1000,
        read_only: bool = True,
    ) -> None:
        if not isinstance(page_size, int) or page_size < 1:
            raise InvalidArgument(f"page_size must be an int >= 1, got {page_size!r}")
        self._url = parse_url(url)
        self._schema = schema
        self._sqlite = is_sqlite(self._url)
        self._read_only = read_only
        self.page_size = page_size
        self._engine: AsyncEngine | None = None
        if self._sqlite and schema is not None:
            raise InvalidArgument("--schema is only supported for PostgreSQL journals")

    # -- lifecycle -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL, password hidden, and the PostgreSQL schema when one is set."""
        shown = display_url(self._url)
        return shown if self._schema is None else f"{shown} (schema {self._schema})"

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._url.get_backend_name()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise JournalError("the journal reader is not open")
        return self._engine

    async def __aenter__(self) -> JournalReader:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self, *, migrate_schema: bool = False) -> None:
        """Connect and check the schema; ``migrate_schema`` upgrades it (writers only)."""
        if self._engine is not None:
            return
        if self._sqlite and self._read_only:
            database = self._url.database or ""
            if not Path(database).exists():
                raise JournalUnavailable(f"no journal at {self.url}: the file does not exist")
        self._engine = self._make_engine()
        try:
            await self._check_schema(migrate_schema)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    def _make_engine(self) -> AsyncEngine:
        try:
            if not self._sqlite:
                return make_engine(self._url, schema=self._schema, pool_size=2, max_overflow=2)
            if not self._read_only:
                return make_engine(self._url, pool_size=2, max_overflow=2)
            # Read-only SQLite: a URI connection with mode=ro; no WAL pragma (that would write).
            path = str(Path(self._url.database or "").resolve())
            ro_url = URL.create(
                "sqlite+aiosqlite",
                database=f"file:{quote(path)}",
                query={"mode": "ro", "uri": "true"},
            )
            return create_async_engine(ro_url, connect_args={"timeout": 30.0})
        except ModuleNotFoundError as exc:
            raise InvalidArgument(
                f"the database driver for {self.url} is not installed ({exc.name}): "
                "pip install 'casty[postgres]' for PostgreSQL"
            ) from exc

    async def _check_schema(self, migrate_schema: bool) -> None:
        with self.db_errors("opening the journal"):
            async with self.engine.connect() as conn:
                status = await conn.run_sync(migrate.inspect_schema)
        problem = migrate.schema_problem(status, self._url)
        if problem is None:
            return
        if migrate_schema:
            with self.db_errors("migrating the journal schema"):
                await migrate.upgrade_async(
                    self._url.render_as_string(hide_password=False), schema=self._schema
                )
            return
        how = migrate.migrate_command(self._url, self._schema)
        if problem == "missing":
            raise SchemaError(f"no journal schema in {self.url}: create it with `{how}`")
        raise SchemaError(
            f"the journal schema in {self.url} is at revision {status.revision!r}, older than "
            f"{migrate.head_revision()!r}: upgrade it with `{how}`"
        )

    @contextlib.contextmanager
    def db_errors(self, action: str) -> Iterator[None]:
        """Turn driver/SQLAlchemy errors into casty errors with one clear line."""
        try:
            yield
        except CastyError:
            raise
        except ModuleNotFoundError as exc:
            raise InvalidArgument(
                f"the database driver for {self.url} is not installed ({exc.name})"
            ) from exc
        except Exception as exc:
            if is_unavailable_error(exc):
                raise JournalUnavailable(
                    f"{action}: cannot use the journal database {self.url}: {describe_error(exc)}"
                ) from exc
            raise JournalError(f"{action} failed on {self.url}: {describe_error(exc)}") from exc

    async def _all(self, stmt: sa.Executable, action: str) -> list[Any]:
        with self.db_errors(action):
            async with self.engine.connect() as conn:
                return list((await conn.execute(stmt)).all())

    async def _scalar(self, stmt: sa.Executable, action: str) -> Any:
        with self.db_errors(action):
            async with self.engine.connect() as conn:
                return await conn.scalar(stmt)

    # -- filters ---------------------------------------------------------------

    @staticmethod
    def prefix_filter(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
        """Rows whose ``column`` starts with ``prefix`` (exact, index-friendly)."""
        if not prefix:
            return sa.true()
        return sa.and_(column >= prefix, sa.func.substr(column, 1, len(prefix)) == prefix)

    def _kind_expr(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        if self._sqlite:
            pos: sa.ColumnElement[int] = sa.func.instr(column, ":")
        else:
            pos = sa.func.strpos(column, ":")
        return sa.case((pos > 0, sa.func.substr(column, 1, pos - 1)), else_="")

    def _bytes_expr(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        if self._sqlite:
            return sa.func.length(sa.cast(column, sa.LargeBinary))
        return sa.func.octet_length(column)

    # -- entities ----------------------------------------------------------------

    def _summary_select(self) -> sa.Select[Any]:
        live = sa.case((events.c.deleted == sa.false(), 1), else_=0)
        return sa.select(
            events.c.persistence_id,
            sa.func.sum(live),
            sa.func.max(events.c.sequence_nr),
            sa.func.max(events.c.written_at),
        ).group_by(events.c.persistence_id)

    async def entities(
        self, prefix: str = "", *, after: str | None = None, limit: int | None = None
    ) -> AsyncIterator[EntitySummary]:
        """Entities whose id starts with ``prefix`` and sorts after ``after``, in id order."""
        remaining = limit
        cursor = after
        while remaining is None or remaining > 0:
            size = self.page_size if remaining is None else min(self.page_size, remaining)
            stmt = self._summary_select().where(self.prefix_filter(events.c.persistence_id, prefix))
            if cursor is not None:
                stmt = stmt.where(events.c.persistence_id > cursor)
            stmt = stmt.order_by(events.c.persistence_id).limit(size)
            page = await self._all(stmt, "listing entities")
            for pid, count, highest, last in page:
                yield EntitySummary(pid, int(count or 0), int(highest), float(last))
            if len(page) < size:
                return
            cursor = page[-1][0]
            if remaining is not None:
                remaining -= len(page)

    async def entity(self, persistence_id: str) -> EntitySummary | None:
        """The summary of one entity, or ``None`` when it has no event rows."""
        stmt = self._summary_select().where(events.c.persistence_id == persistence_id)
        rows = await self._all(stmt, f"reading {persistence_id!r}")
        if not rows:
            return None
        pid, count, highest, last = rows[0]
        return EntitySummary(pid, int(count or 0), int(highest), float(last))

    async def exists(self, persistence_id: str) -> bool:
        """Whether the journal holds any event row or snapshot of ``persistence_id``."""
        if await self.entity(persistence_id) is not None:
            return True
        found = await self._scalar(
            sa.select(snapshots.c.sequence_nr).where(snapshots.c.persistence_id == persistence_id).limit(1),
            f"reading snapshots of {persistence_id!r}",
        )
        return found is not None

    # -- events ------------------------------------------------------------------

    _EVENT_COLUMNS = (
        events.c.offset,
        events.c.persistence_id,
        events.c.sequence_nr,
        events.c.event_type,
        events.c.event_version,
        events.c.payload,
        events.c.written_at,
        events.c.deleted,
    )

    @staticmethod
    def _event_row(row: Sequence[Any]) -> EventRow:
        offset, pid, seq, etype, version, payload, written_at, deleted = row
        return EventRow(
            int(offset), pid, int(seq), etype, int(version), payload, float(written_at), bool(deleted)
        )

    async def events(
        self,
        persistence_id: str,
        from_sequence_nr: int = 1,
        to_sequence_nr: int | None = None,
        *,
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> AsyncIterator[EventRow]:
        """One entity's event rows in sequence order, bounds inclusive."""
        lower = max(int(from_sequence_nr), 0)
        remaining = limit
        while remaining is None or remaining > 0:
            size = self.page_size if remaining is None else min(self.page_size, remaining)
            stmt = sa.select(*self._EVENT_COLUMNS).where(
                events.c.persistence_id == persistence_id, events.c.sequence_nr >= lower
            )
            if to_sequence_nr is not None:
                stmt = stmt.where(events.c.sequence_nr <= int(to_sequence_nr))
            if not include_deleted:
                stmt = stmt.where(events.c.deleted == sa.false())
            stmt = stmt.order_by(events.c.sequence_nr).limit(size)
            page = await self._all(stmt, f"reading the events of {persistence_id!r}")
            for row in page:
                yield self._event_row(row)
            if len(page) < size:
                return
            lower = int(page[-1][2]) + 1
            if remaining is not None:
                remaining -= len(page)

    async def events_by_entity(self, prefix: str = "") -> AsyncIterator[EventRow]:
        """Every event row (retention markers included) ordered by persistence id, then sequence number."""
        async for row in self._by_entity(events, self._EVENT_COLUMNS, prefix, 1, "reading the journal"):
            yield self._event_row(row)

    async def events_by_offset(self, prefix: str = "", *, after_offset: int = 0) -> AsyncIterator[EventRow]:
        """Every event row (retention markers included) in the journal-wide write order."""
        cursor = int(after_offset)
        while True:
            stmt = (
                sa.select(*self._EVENT_COLUMNS)
                .where(events.c.offset > cursor, self.prefix_filter(events.c.persistence_id, prefix))
                .order_by(events.c.offset)
                .limit(self.page_size)
            )
            page = await self._all(stmt, "reading the journal")
            for row in page:
                yield self._event_row(row)
            if len(page) < self.page_size:
                return
            cursor = int(page[-1][0])

    async def count_events(self, prefix: str = "", *, include_deleted: bool = True) -> int:
        """How many event rows the entities starting with ``prefix`` hold."""
        stmt = sa.select(sa.func.count()).select_from(events)
        stmt = stmt.where(self.prefix_filter(events.c.persistence_id, prefix))
        if not include_deleted:
            stmt = stmt.where(events.c.deleted == sa.false())
        return int(await self._scalar(stmt, "counting events") or 0)

    async def last_write(self) -> float | None:
        """When the last event or snapshot was written (seconds since the epoch), ``None`` if empty."""
        ev = await self._scalar(sa.select(sa.func.max(events.c.written_at)), "reading the last write")
        sn = await self._scalar(sa.select(sa.func.max(snapshots.c.written_at)), "reading the last write")
        found = [float(x) for x in (ev, sn) if x is not None]
        return max(found) if found else None

    # -- snapshots -----------------------------------------------------------------

    _SNAPSHOT_COLUMNS = (
        snapshots.c.persistence_id,
        snapshots.c.sequence_nr,
        snapshots.c.state_type,
        snapshots.c.state_version,
        snapshots.c.payload,
        snapshots.c.written_at,
    )

    @staticmethod
    def _snapshot_row(row: Sequence[Any]) -> SnapshotRow:
        pid, seq, stype, version, payload, written_at = row
        return SnapshotRow(pid, int(seq), stype, int(version), payload, float(written_at))

    async def snapshots(self, persistence_id: str, *, to_sequence_nr: int | None = None) -> list[SnapshotRow]:
        """The snapshots of one entity (a journal keeps a few), oldest first."""
        stmt = sa.select(*self._SNAPSHOT_COLUMNS).where(snapshots.c.persistence_id == persistence_id)
        if to_sequence_nr is not None:
            stmt = stmt.where(snapshots.c.sequence_nr <= int(to_sequence_nr))
        stmt = stmt.order_by(snapshots.c.sequence_nr)
        rows = await self._all(stmt, f"reading the snapshots of {persistence_id!r}")
        return [self._snapshot_row(r) for r in rows]

    async def latest_snapshot(
        self, persistence_id: str, *, to_sequence_nr: int | None = None
    ) -> SnapshotRow | None:
        """The newest snapshot of an entity at or before ``to_sequence_nr``."""
        stmt = sa.select(*self._SNAPSHOT_COLUMNS).where(snapshots.c.persistence_id == persistence_id)
        if to_sequence_nr is not None:
            stmt = stmt.where(snapshots.c.sequence_nr <= int(to_sequence_nr))
        stmt = stmt.order_by(snapshots.c.sequence_nr.desc()).limit(1)
        rows = await self._all(stmt, f"reading the snapshots of {persistence_id!r}")
        return self._snapshot_row(rows[0]) if rows else None

    async def snapshots_of(self, persistence_ids: Iterable[str]) -> dict[str, list[SnapshotRow]]:
        """The snapshots of several entities (oldest first each), in one query per 500 ids."""
        out: dict[str, list[SnapshotRow]] = {}
        for chunk in _chunks(list(dict.fromkeys(persistence_ids)), 500):
            stmt = (
                sa.select(*self._SNAPSHOT_COLUMNS)
                .where(snapshots.c.persistence_id.in_(chunk))
                .order_by(snapshots.c.persistence_id, snapshots.c.sequence_nr)
            )
            for row in await self._all(stmt, "reading snapshots"):
                snap = self._snapshot_row(row)
                out.setdefault(snap.persistence_id, []).append(snap)
        return out

    async def all_snapshots(self, prefix: str = "") -> AsyncIterator[SnapshotRow]:
        """Every snapshot row, ordered by persistence id then sequence number."""
        async for row in self._by_entity(snapshots, self._SNAPSHOT_COLUMNS, prefix, 0, "reading snapshots"):
            yield self._snapshot_row(row)

    async def _by_entity(
        self, table: sa.Table, columns: Sequence[Any], prefix: str, pid_column: int, action: str
    ) -> AsyncIterator[Any]:
        """Rows of ``table`` ordered by persistence id then sequence number, a page per query.

        Keyset pagination: each page starts after the (persistence id, sequence
        number) of the previous page's last row, found at ``pid_column`` and the
        column after it.
        """
        pid_col, seq_col = table.c.persistence_id, table.c.sequence_nr
        cursor: tuple[str, int] | None = None
        while True:
            stmt = sa.select(*columns).where(self.prefix_filter(pid_col, prefix))
            if cursor is not None:
                pid, seq = cursor
                stmt = stmt.where(sa.or_(pid_col > pid, sa.and_(pid_col == pid, seq_col > seq)))
            page = await self._all(stmt.order_by(pid_col, seq_col).limit(self.page_size), action)
            for row in page:
                yield row
            if len(page) < self.page_size:
                return
            cursor = (page[-1][pid_column], int(page[-1][pid_column + 1]))

    async def count_snapshots(self, prefix: str = "") -> int:
        stmt = sa.select(sa.func.count()).select_from(snapshots)
        stmt = stmt.where(self.prefix_filter(snapshots.c.persistence_id, prefix))
        return int(await self._scalar(stmt, "counting snapshots") or 0)

    async def orphan_snapshots(self, prefix: str = "") -> list[SnapshotRow]:
        """Snapshots of entities that have no event row at all (at most ``page_size``)."""
        has_events = sa.exists().where(events.c.persistence_id == snapshots.c.persistence_id)
        stmt = (
            sa.select(*self._SNAPSHOT_COLUMNS)
            .where(self.prefix_filter(snapshots.c.persistence_id, prefix), ~has_events)
            .order_by(snapshots.c.persistence_id, snapshots.c.sequence_nr)
            .limit(self.page_size)
        )
        return [self._snapshot_row(r) for r in await self._all(stmt, "reading snapshots")]

    # -- statistics --------------------------------------------------------------------

    async def stats(self, prefix: str = "") -> list[KindStats]:
        """Entities, events and payload bytes per kind (the persistence id up to its first ``:``)."""
        kind = self._kind_expr(events.c.persistence_id).label("kind")
        live = sa.case((events.c.deleted == sa.false(), 1), else_=0)
        ev_stmt = (
            sa.select(
                kind,
                sa.func.count(sa.distinct(events.c.persistence_id)),
                sa.func.sum(live),
                sa.func.sum(
                    sa.case((events.c.deleted == sa.false(), self._bytes_expr(events.c.payload)), else_=0)
                ),
            )
            .where(self.prefix_filter(events.c.persistence_id, prefix))
            .group_by(kind)
        )
        skind = self._kind_expr(snapshots.c.persistence_id).label("kind")
        sn_stmt = (
            sa.select(skind, sa.func.count(), sa.func.sum(self._bytes_expr(snapshots.c.payload)))
            .where(self.prefix_filter(snapshots.c.persistence_id, prefix))
            .group_by(skind)
        )
        totals: dict[str, list[int]] = {}
        for k, entities, count, size in await self._all(ev_stmt, "computing statistics"):
            totals[k or ""] = [int(entities or 0), int(count or 0), int(size or 0), 0, 0]
        for k, count, size in await self._all(sn_stmt, "computing statistics"):
            row = totals.setdefault(k or "", [0, 0, 0, 0, 0])
            row[3], row[4] = int(count or 0), int(size or 0)
        return [KindStats(k, *v) for k, v in sorted(totals.items())]

    # -- fingerprints (copy verification) -------------------------------------------------

    def _fingerprint_select(self) -> sa.Select[Any]:
        return sa.select(
            events.c.persistence_id,
            sa.func.count(),
            sa.func.max(events.c.sequence_nr),
            sa.func.sum(sa.func.length(events.c.payload)),
        ).group_by(events.c.persistence_id)

    async def _latest_snapshots(self, pids: list[str]) -> dict[str, int]:
        stmt = (
            sa.select(snapshots.c.persistence_id, sa.func.max(snapshots.c.sequence_nr))
            .where(snapshots.c.persistence_id.in_(pids))
            .group_by(snapshots.c.persistence_id)
        )
        return {pid: int(seq) for pid, seq in await self._all(stmt, "reading snapshots")}

    async def fingerprints(self, prefix: str = "") -> AsyncIterator[list[Fingerprint]]:
        """Pages of fingerprints of every entity with event rows, in id order."""
        cursor: str | None = None
        while True:
            stmt = self._fingerprint_select().where(self.prefix_filter(events.c.persistence_id, prefix))
            if cursor is not None:
                stmt = stmt.where(events.c.persistence_id > cursor)
            stmt = stmt.order_by(events.c.persistence_id).limit(self.page_size)
            page = await self._all(stmt, "fingerprinting entities")
            latest = await self._latest_snapshots([row[0] for row in page]) if page else {}
            yield [
                Fingerprint(pid, int(n), int(high), int(chars or 0), latest.get(pid))
                for pid, n, high, chars in page
            ]
            if len(page) < self.page_size:
                return
            cursor = page[-1][0]

    async def fingerprints_of(self, persistence_ids: list[str]) -> dict[str, Fingerprint]:
        """Fingerprints of the given entities (missing ones are absent)."""
        out: dict[str, Fingerprint] = {}
        for chunk in _chunks(persistence_ids, 500):
            stmt = self._fingerprint_select().where(events.c.persistence_id.in_(chunk))
            rows = await self._all(stmt, "fingerprinting entities")
            latest = await self._latest_snapshots(chunk)
            for pid, n, high, chars in rows:
                out[pid] = Fingerprint(pid, int(n), int(high), int(chars or 0), latest.get(pid))
        return out


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
