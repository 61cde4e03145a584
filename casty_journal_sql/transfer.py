"""Move journals between databases and JSON lines: ``copy``, ``export``, ``import``.

Rows move **verbatim**: persistence ids, sequence numbers, write timestamps,
type names and versions, the retention marker and the stored JSON payloads
are copied as they are, never decoded and re-encoded (so a copy needs none of
the application's classes). Only the journal-wide ``offset`` is assigned
anew by the target; events are copied in the source's offset order, so the
target's order across entities is the source's.

**Resumable and idempotent.** Events are written in batches, one transaction
each. Before a batch is written the target's highest sequence number of each
of its entities is read (under the same lock as ``SqlJournal`` appends on
PostgreSQL) and rows at or below it are skipped. Each entity's rows arrive in
sequence order, so after an interruption the target holds a prefix of each
entity and running the same copy or import again continues where it stopped;
running it once more writes nothing. Snapshots are upserted.

**Checked.** After a copy every entity of the source is compared with the
target: number of event rows, highest sequence number, total payload length
and newest snapshot (:class:`~casty_journal_sql.inspect.Fingerprint`). An
export ends with a record holding its counts; an import compares them.

The JSON lines format (one JSON object per line)::

    {"format": "casty-journal-export", "version": 1, "source": "...", "exported_at": 1733220000.0}
    {"type": "event", "persistence_id": "counter:hits", "sequence_nr": 1, "event_type": "casty.counter.Added",
     "event_version": 1, "payload": "{\\"$t\\":\\"casty.counter.Added\\",\\"delta\\":1}",
     "written_at": 1733220000.5, "deleted": false}
    {"type": "snapshot", "persistence_id": "...", "sequence_nr": 100, "state_type": "int", "state_version": 1,
     "payload": "100", "written_at": 1733220001.0}
    {"type": "end", "events": 1, "snapshots": 1}

``payload`` is the stored JSON text as a string (``jq '.payload | fromjson'``
shows it decoded).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL

from casty.errors import InvalidArgument, JournalError, SchemaError
from casty_journal_sql import migrate
from casty_journal_sql.engine import write_transaction
from casty_journal_sql.inspect import EventRow, Fingerprint, JournalReader, SnapshotRow
from casty_journal_sql.journal import _APPEND_LOCK_SALT
from casty_journal_sql.schema import MAX_PERSISTENCE_ID_LENGTH, events, snapshots

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "JournalWriter",
    "Mismatch",
    "Progress",
    "TransferResult",
    "compare_rows",
    "copy_journal",
    "export_journal",
    "import_journal",
]

T = TypeVar("T")
R = TypeVar("R", EventRow, SnapshotRow)

EXPORT_FORMAT = "casty-journal-export"
EXPORT_VERSION = 1

Progress = Callable[[str, int | None, int], None]
"""``progress(phase, total, advance)``: a phase starts with ``advance == -1`` and its total."""


def _no_progress(phase: str, total: int | None, advance: int) -> None:
    return None


class JournalWriter(JournalReader):
    """A :class:`JournalReader` that can also write raw rows (the target of a copy or import)."""

    def __init__(self, url: str | URL, *, schema: str | None = None, page_size: int = 1000) -> None:
        super().__init__(url, schema=schema, page_size=page_size, read_only=False)
        self._lock_key = zlib.crc32(_APPEND_LOCK_SALT + (schema or "").encode()) & 0x7FFFFFFF

    async def open(self, *, migrate_schema: bool = False) -> None:
        if self._sqlite and not migrate_schema and not Path(self._url.database or "").exists():
            how = migrate.migrate_command(self._url)
            raise SchemaError(
                f"no journal at {self.url}: the file does not exist; create it with `{how}` or pass --migrate"
            )
        try:
            await super().open(migrate_schema=migrate_schema)
        except SchemaError as exc:
            raise SchemaError(f"{exc}, or pass --migrate") from exc

    async def insert_events(self, rows: Sequence[EventRow]) -> tuple[int, int]:
        """Insert the rows the target does not hold yet; return ``(inserted, skipped)``.

        A row is skipped when its sequence number is not above the target's
        highest one for its entity (it was copied before).
        """
        if not rows:
            return 0, 0
        pids = list(dict.fromkeys(r.persistence_id for r in rows))
        with self.db_errors("writing events"):
            async with write_transaction(self.engine) as conn:
                if not self._sqlite:
                    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self._lock_key})
                highest: dict[str, int] = {}
                for start in range(0, len(pids), 500):
                    chunk = pids[start : start + 500]
                    result = await conn.execute(
                        sa.select(events.c.persistence_id, sa.func.max(events.c.sequence_nr))
                        .where(events.c.persistence_id.in_(chunk))
                        .group_by(events.c.persistence_id)
                    )
                    highest.update((pid, int(seq)) for pid, seq in result)
                values = [
                    {
                        "persistence_id": r.persistence_id,
                        "sequence_nr": r.sequence_nr,
                        "event_type": r.event_type,
                        "event_version": r.event_version,
                        "payload": r.payload,
                        "written_at": r.written_at,
                        "deleted": r.deleted,
                    }
                    for r in rows
                    if r.sequence_nr > highest.get(r.persistence_id, 0)
                ]
                if values:
                    await conn.execute(events.insert(), values)
        return len(values), len(rows) - len(values)

    async def upsert_snapshots(self, rows: Sequence[SnapshotRow]) -> int:
        """Store the snapshots, replacing any at the same ``(persistence_id, sequence_nr)``."""
        if not rows:
            return 0
        values = [
            {
                "persistence_id": r.persistence_id,
                "sequence_nr": r.sequence_nr,
                "state_type": r.state_type,
                "state_version": r.state_version,
                "payload": r.payload,
                "written_at": r.written_at,
            }
            for r in rows
        ]
        insert: Any = sqlite_dialect.insert(snapshots) if self._sqlite else pg_dialect.insert(snapshots)
        stmt = insert.on_conflict_do_update(
            index_elements=[snapshots.c.persistence_id, snapshots.c.sequence_nr],
            set_={
                "state_type": insert.excluded.state_type,
                "state_version": insert.excluded.state_version,
                "payload": insert.excluded.payload,
                "written_at": insert.excluded.written_at,
            },
        )
        with self.db_errors("writing snapshots"):
            async with write_transaction(self.engine) as conn:
                await conn.execute(stmt, values)
        return len(values)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An entity whose copy differs from its source."""

    persistence_id: str
    detail: str


@dataclass(slots=True)
class TransferResult:
    """Counts of a copy or import; ``mismatches`` lists what the final check found."""

    events_read: int = 0
    events_written: int = 0
    events_skipped: int = 0
    snapshots_read: int = 0
    snapshots_written: int = 0
    entities_checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "events_read": self.events_read,
            "events_written": self.events_written,
            "events_already_present": self.events_skipped,
            "snapshots_read": self.snapshots_read,
            "snapshots_written": self.snapshots_written,
            "entities_checked": self.entities_checked,
            "ok": not self.mismatches,
            "mismatches": [{"persistence_id": m.persistence_id, "detail": m.detail} for m in self.mismatches],
        }


def _describe(source: Fingerprint, target: Fingerprint | None) -> str | None:
    if target is None:
        return f"missing in the target ({source.rows} event rows in the source)"
    diffs = []
    for label, a, b in (
        ("event rows", source.rows, target.rows),
        ("highest sequence number", source.highest_sequence_nr, target.highest_sequence_nr),
        ("payload characters", source.payload_chars, target.payload_chars),
        ("newest snapshot", source.latest_snapshot, target.latest_snapshot),
    ):
        if a != b:
            diffs.append(f"{label} {a} in the source, {b} in the target")
    return "; ".join(diffs) or None


async def copy_journal(
    source: JournalReader,
    target: JournalWriter,
    *,
    prefix: str = "",
    batch_size: int = 1000,
    compare_payloads: bool = False,
    progress: Progress = _no_progress,
) -> TransferResult:
    """Copy every event and snapshot of ``source`` (ids starting with ``prefix``) into ``target``.

    ``compare_payloads`` additionally compares every row field by field after
    the copy (reads both journals once more).
    """
    if batch_size < 1:
        raise InvalidArgument(f"--batch-size must be >= 1, got {batch_size}")
    result = TransferResult()
    progress("events", await source.count_events(prefix), -1)
    batch: list[EventRow] = []
    async for row in source.events_by_offset(prefix):
        batch.append(row)
        if len(batch) >= batch_size:
            await _flush_events(target, batch, result, progress)
            batch = []
    await _flush_events(target, batch, result, progress)

    progress("snapshots", await source.count_snapshots(prefix), -1)
    snaps: list[SnapshotRow] = []
    async for snap in source.all_snapshots(prefix):
        snaps.append(snap)
        if len(snaps) >= batch_size:
            await _flush_snapshots(target, snaps, result, progress)
            snaps = []
    await _flush_snapshots(target, snaps, result, progress)

    progress("checking", None, -1)
    async for page in source.fingerprints(prefix):
        theirs = await target.fingerprints_of([f.persistence_id for f in page])
        for mine in page:
            detail = _describe(mine, theirs.get(mine.persistence_id))
            if detail is not None:
                result.mismatches.append(Mismatch(mine.persistence_id, detail))
        result.entities_checked += len(page)
        progress("checking", None, len(page))
    if compare_payloads:
        known = {m.persistence_id for m in result.mismatches}
        for m in await compare_rows(source, target, prefix=prefix, progress=progress):
            if m.persistence_id not in known:
                result.mismatches.append(m)
    return result


async def _next(it: AsyncIterator[T]) -> T | None:
    try:
        return await it.__anext__()
    except StopAsyncIteration:
        return None


def _row_key(row: EventRow | SnapshotRow) -> tuple[str, int]:
    return (row.persistence_id, row.sequence_nr)


def _event_fields(row: EventRow) -> tuple[Any, ...]:
    return (row.event_type, row.event_version, row.payload, row.written_at, row.deleted)


def _snapshot_fields(row: SnapshotRow) -> tuple[Any, ...]:
    return (row.state_type, row.state_version, row.payload, row.written_at)


async def _merge_compare(
    what: str,
    mine: AsyncIterator[R],
    theirs: AsyncIterator[R],
    fields: Callable[[R], tuple[Any, ...]],
    found: dict[str, str],
    progress: Progress,
) -> None:
    """Walk two (persistence id, sequence number)-ordered streams side by side.

    Records the first difference of each entity of ``mine`` in ``found``;
    entities only in ``theirs`` are ignored (the target may hold other data).
    Both backends order ids by code point, as Python compares strings.
    """
    a, b = await _next(mine), await _next(theirs)
    previous: str | None = None
    done = 0
    while a is not None:
        if b is not None and b.persistence_id < a.persistence_id:
            if b.persistence_id == previous:
                found.setdefault(previous, f"{what} {b.sequence_nr} is in the target only")
            b = await _next(theirs)
            continue
        if b is None or _row_key(a) < _row_key(b):
            found.setdefault(a.persistence_id, f"{what} {a.sequence_nr} is missing in the target")
        elif _row_key(b) < _row_key(a):
            found.setdefault(b.persistence_id, f"{what} {b.sequence_nr} is in the target only")
            b = await _next(theirs)
            continue
        else:
            if fields(a) != fields(b):
                found.setdefault(
                    a.persistence_id, f"{what} {a.sequence_nr} differs (type, payload, time or deletion)"
                )
            b = await _next(theirs)
        previous = a.persistence_id
        a = await _next(mine)
        done += 1
        if done % 1000 == 0:
            progress("comparing", None, 1000)
    if b is not None and previous is not None and b.persistence_id == previous:
        found.setdefault(previous, f"{what} {b.sequence_nr} is in the target only")
    progress("comparing", None, done % 1000)


async def compare_rows(
    source: JournalReader, target: JournalReader, *, prefix: str = "", progress: Progress = _no_progress
) -> list[Mismatch]:
    """Compare every event and snapshot row of ``source`` with ``target``, field by field."""
    found: dict[str, str] = {}
    progress("comparing", await source.count_events(prefix) + await source.count_snapshots(prefix), -1)
    await _merge_compare(
        "event",
        source.events_by_entity(prefix),
        target.events_by_entity(prefix),
        _event_fields,
        found,
        progress,
    )
    await _merge_compare(
        "snapshot",
        source.all_snapshots(prefix),
        target.all_snapshots(prefix),
        _snapshot_fields,
        found,
        progress,
    )
    return [Mismatch(pid, detail) for pid, detail in sorted(found.items())]


async def _flush_events(
    target: JournalWriter, batch: list[EventRow], result: TransferResult, progress: Progress
) -> None:
    if not batch:
        return
    written, skipped = await target.insert_events(batch)
    result.events_read += len(batch)
    result.events_written += written
    result.events_skipped += skipped
    progress("events", None, len(batch))


async def _flush_snapshots(
    target: JournalWriter, batch: list[SnapshotRow], result: TransferResult, progress: Progress
) -> None:
    if not batch:
        return
    result.snapshots_read += len(batch)
    result.snapshots_written += await target.upsert_snapshots(batch)
    progress("snapshots", None, len(batch))


# -- JSON lines -------------------------------------------------------------------


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def event_record(row: EventRow) -> dict[str, Any]:
    return {
        "type": "event",
        "persistence_id": row.persistence_id,
        "sequence_nr": row.sequence_nr,
        "event_type": row.event_type,
        "event_version": row.event_version,
        "payload": row.payload,
        "written_at": row.written_at,
        "deleted": row.deleted,
    }


def snapshot_record(row: SnapshotRow) -> dict[str, Any]:
    return {
        "type": "snapshot",
        "persistence_id": row.persistence_id,
        "sequence_nr": row.sequence_nr,
        "state_type": row.state_type,
        "state_version": row.state_version,
        "payload": row.payload,
        "written_at": row.written_at,
    }


async def export_journal(
    reader: JournalReader, out: TextIO, *, prefix: str = "", progress: Progress = _no_progress
) -> tuple[int, int]:
    """Write the journal (ids starting with ``prefix``) to ``out`` as JSON lines; return the counts."""
    out.write(
        _line(
            {
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "source": reader.url,
                "prefix": prefix,
                "exported_at": time.time(),
            }
        )
    )
    progress("events", await reader.count_events(prefix), -1)
    n_events = 0
    pending = 0
    async for row in reader.events_by_offset(prefix):
        out.write(_line(event_record(row)))
        n_events += 1
        pending += 1
        if pending >= 500:
            progress("events", None, pending)
            pending = 0
    progress("events", None, pending)
    progress("snapshots", await reader.count_snapshots(prefix), -1)
    n_snaps = 0
    async for snap in reader.all_snapshots(prefix):
        out.write(_line(snapshot_record(snap)))
        n_snaps += 1
        progress("snapshots", None, 1)
    out.write(_line({"type": "end", "events": n_events, "snapshots": n_snaps}))
    out.flush()
    return n_events, n_snaps


class _RecordError(InvalidArgument):
    pass


def _field(record: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = record.get(name)
    if isinstance(value, bool) and kind is not bool:
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise _RecordError(f"{where}: field {name!r} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def _parse_key(record: dict[str, Any], where: str, first_seq: int) -> tuple[str, int]:
    """The record's persistence id and sequence number, checked (``>= first_seq``)."""
    pid = _field(record, "persistence_id", str, where)
    if not pid or len(pid) > MAX_PERSISTENCE_ID_LENGTH or "\x00" in pid:
        raise _RecordError(f"{where}: invalid persistence_id {pid!r}")
    seq = _field(record, "sequence_nr", int, where)
    if seq < first_seq:
        raise _RecordError(f"{where}: sequence_nr must be >= {first_seq}, got {seq}")
    return pid, seq


def _parse_event(record: dict[str, Any], where: str) -> EventRow:
    pid, seq = _parse_key(record, where, 1)
    return EventRow(
        0,
        pid,
        seq,
        _field(record, "event_type", str, where),
        _field(record, "event_version", int, where),
        _field(record, "payload", str, where),
        float(_field(record, "written_at", (int, float), where)),
        bool(_field(record, "deleted", bool, where)),
    )


def _parse_snapshot(record: dict[str, Any], where: str) -> SnapshotRow:
    pid, seq = _parse_key(record, where, 0)
    return SnapshotRow(
        pid,
        seq,
        _field(record, "state_type", str, where),
        _field(record, "state_version", int, where),
        _field(record, "payload", str, where),
        float(_field(record, "written_at", (int, float), where)),
    )


async def import_journal(
    lines: Iterable[str],
    target: JournalWriter,
    *,
    name: str = "<input>",
    batch_size: int = 1000,
) -> TransferResult:
    """Load JSON lines made by :func:`export_journal` into ``target`` (resumable, idempotent).

    Raises :class:`InvalidArgument` naming the line of a malformed record and
    :class:`JournalError` when the input ends without its end record or its
    counts disagree with the records read (what was read is written anyway).
    """
    if batch_size < 1:
        raise InvalidArgument(f"--batch-size must be >= 1, got {batch_size}")
    result = TransferResult()
    batch: list[EventRow] = []
    snaps: list[SnapshotRow] = []
    end: dict[str, Any] | None = None
    header_seen = False
    progress = _no_progress  # the caller shows progress by wrapping ``lines``
    for number, text in enumerate(lines, start=1):
        where = f"{name} line {number}"
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise InvalidArgument(f"{where}: not JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise InvalidArgument(f"{where}: expected a JSON object")
        if not header_seen:
            if record.get("format") != EXPORT_FORMAT:
                raise InvalidArgument(f"{where}: not a casty journal export (no {EXPORT_FORMAT!r} header)")
            if record.get("version") != EXPORT_VERSION:
                raise InvalidArgument(
                    f"{where}: export format version {record.get('version')!r} is not supported "
                    f"(this casty reads version {EXPORT_VERSION})"
                )
            header_seen = True
            continue
        if end is not None:
            raise InvalidArgument(f"{where}: records after the end record")
        kind = record.get("type")
        if kind == "event":
            batch.append(_parse_event(record, where))
            if len(batch) >= batch_size:
                await _flush_events(target, batch, result, progress)
                batch = []
        elif kind == "snapshot":
            snaps.append(_parse_snapshot(record, where))
            if len(snaps) >= batch_size:
                await _flush_events(target, batch, result, progress)
                batch = []
                await _flush_snapshots(target, snaps, result, progress)
                snaps = []
        elif kind == "end":
            end = record
        else:
            raise InvalidArgument(f"{where}: unknown record type {kind!r}")
    await _flush_events(target, batch, result, progress)
    await _flush_snapshots(target, snaps, result, progress)
    if not header_seen:
        raise InvalidArgument(f"{name} is empty: no casty journal export header")
    if end is None:
        raise JournalError(
            f"{name} ends without its end record: the export was cut short; the "
            f"{result.events_read} events and {result.snapshots_read} snapshots it holds were imported"
        )
    if end.get("events") != result.events_read or end.get("snapshots") != result.snapshots_read:
        raise JournalError(
            f"{name} declares {end.get('events')} events and {end.get('snapshots')} snapshots but holds "
            f"{result.events_read} and {result.snapshots_read}"
        )
    return result
