"""Check a journal's integrity: the logic behind ``casty-journal verify``.

:func:`verify` reads every event row once, entity by entity in sequence order
(bounded memory: one entity's state at a time), and reports each problem with
the persistence id and sequence number it concerns:

``gap``
    sequence numbers of an entity that are missing between two stored events;
``missing_events``
    the first stored event is past 1 (or only a retention marker is left) and
    no snapshot covers the deleted ones;
``undecodable_event`` / ``undecodable_snapshot``
    a payload the codec cannot decode (bad JSON, unknown type name, …);
``reducer_failed``
    the entity's ``evolve`` raised on a stored event;
``snapshot_mismatch``
    a snapshot differs from the state obtained by replaying the events up to
    its sequence number (compared as canonical encoded JSON, see
    :func:`casty_journal_sql.replay.canonical`);
``snapshot_ahead``
    a snapshot at a sequence number the entity never reached;
``orphan_snapshot``
    a snapshot of an entity that has no event row at all.

Snapshots can be compared only for entities whose reducer is known: the seven
built-in structures, plus the kinds given in ``entity_types``; the others are
counted as unchecked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from casty.distributed.facade import STRUCTURES
from casty.persistence.codec import Codec
from casty.persistence.entity import EntityType
from casty_journal_sql.inspect import EventRow, JournalReader, SnapshotRow, structure_kind
from casty_journal_sql.replay import canonical

__all__ = ["Problem", "VerifyReport", "verify"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the journal, at ``persistence_id`` / ``sequence_nr``."""

    persistence_id: str
    sequence_nr: int | None
    kind: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "persistence_id": self.persistence_id,
            "sequence_nr": self.sequence_nr,
            "problem": self.kind,
            "detail": self.detail,
        }


@dataclass(slots=True)
class VerifyReport:
    """What :func:`verify` looked at and found."""

    entities: int = 0
    events: int = 0
    snapshots: int = 0
    snapshots_checked: int = 0
    snapshots_unchecked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    max_problems: int = 1000

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entities": self.entities,
            "events": self.events,
            "snapshots": self.snapshots,
            "snapshots_checked": self.snapshots_checked,
            "snapshots_unchecked": self.snapshots_unchecked,
            "problem_count": self.problem_count,
            "problems": [p.to_json() for p in self.problems],
        }


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Entity:
    """The running check of one entity while its rows stream by."""

    __slots__ = ("entity_type", "last_seq", "pid", "replayable", "snapshots", "state")

    def __init__(
        self, pid: str, entity_type: EntityType[Any, Any, Any] | None, snapshots: list[SnapshotRow]
    ) -> None:
        self.pid = pid
        self.entity_type = entity_type
        self.snapshots = {s.sequence_nr: s for s in snapshots}
        self.last_seq = 0
        self.replayable = False
        self.state: Any = None


class _Verifier:
    def __init__(
        self,
        reader: JournalReader,
        codec: Codec,
        prefix: str,
        entity_types: Mapping[str, EntityType[Any, Any, Any]],
        report: VerifyReport,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.reader = reader
        self.codec = codec
        self.prefix = prefix
        self.types = {**STRUCTURES, **entity_types}
        self.report = report
        self.progress = progress
        self.snapshot_cache: dict[str, list[SnapshotRow]] = {}

    def problem(self, pid: str, seq: int | None, kind: str, detail: str) -> None:
        self.report.add(Problem(pid, seq, kind, detail))

    def decode(self, pid: str, seq: int, payload: str, what: str) -> tuple[bool, Any]:
        try:
            return True, self.codec.loads(payload)
        except Exception as exc:
            self.problem(pid, seq, f"undecodable_{what}", str(exc) or type(exc).__name__)
            return False, None

    async def run(self) -> None:
        current: _Entity | None = None
        page: list[EventRow] = []
        async for row in self.reader.events_by_entity(self.prefix):
            page.append(row)
            if len(page) >= self.reader.page_size:
                current = await self.consume(page, current)
                page = []
        current = await self.consume(page, current)
        if current is not None:
            self.finish(current)
        for snap in await self.reader.orphan_snapshots(self.prefix):
            self.report.snapshots += 1
            self.report.snapshots_unchecked += 1
            self.decode(snap.persistence_id, snap.sequence_nr, snap.payload, "snapshot")
            self.problem(
                snap.persistence_id,
                snap.sequence_nr,
                "orphan_snapshot",
                "snapshot of an entity that has no event in the journal",
            )

    async def consume(self, page: list[EventRow], current: _Entity | None) -> _Entity | None:
        if not page:
            return current
        # The snapshots of the entities that start in this page, in one query.
        continuing = None if current is None else current.pid
        wanted = list(dict.fromkeys(r.persistence_id for r in page if r.persistence_id != continuing))
        self.snapshot_cache = await self.reader.snapshots_of(wanted) if wanted else {}
        for row in page:
            if current is None or row.persistence_id != current.pid:
                if current is not None:
                    self.finish(current)
                current = self.start(row.persistence_id)
            self.step(current, row)
        if self.progress is not None:
            self.progress(len(page))
        return current

    def start(self, pid: str) -> _Entity:
        self.report.entities += 1
        snaps = self.snapshot_cache.get(pid, [])
        self.report.snapshots += len(snaps)
        entity = _Entity(pid, self.types.get(structure_kind(pid)), snaps)
        for snap in snaps:
            ok, _ = self.decode(pid, snap.sequence_nr, snap.payload, "snapshot")
            if not ok:
                del entity.snapshots[snap.sequence_nr]
                self.report.snapshots_unchecked += 1
        return entity

    def step(self, entity: _Entity, row: EventRow) -> None:
        pid, seq = entity.pid, row.sequence_nr
        self.report.events += 1
        first = entity.last_seq == 0
        if first:
            covered_to = seq if row.deleted else seq - 1
            if covered_to > 0:
                base = entity.snapshots.get(covered_to)
                later = [s for s in entity.snapshots if s >= covered_to]
                if not later:
                    span = f"event {covered_to}" if covered_to == 1 else f"events 1..{covered_to}"
                    self.problem(pid, 1, "missing_events", f"{span} are missing and no snapshot covers them")
                if base is not None and entity.entity_type is not None:
                    entity.state = self.codec.loads(base.payload)
                    entity.replayable = True
                    entity.snapshots.pop(covered_to)
                    self.report.snapshots_unchecked += 1  # the starting point cannot be checked
            elif entity.entity_type is not None:
                entity.state = entity.entity_type.new_state()
                entity.replayable = True
        elif seq != entity.last_seq + 1:
            missing = (
                f"event {entity.last_seq + 1}"
                if seq == entity.last_seq + 2
                else f"events {entity.last_seq + 1}..{seq - 1}"
            )
            self.problem(pid, entity.last_seq + 1, "gap", f"{missing} missing before sequence number {seq}")
            entity.replayable = False
        entity.last_seq = seq
        if row.deleted:
            # A retention marker: its event is gone. Only as the first row, covered by the
            # snapshot the replay started from, does the replay stay valid.
            if not (first and entity.replayable):
                entity.replayable = False
            return
        ok, event = self.decode(pid, seq, row.payload, "event")
        if not ok:
            entity.replayable = False
            return
        if entity.replayable and entity.entity_type is not None:
            try:
                entity.state = entity.entity_type.evolve(entity.state, event)
            except Exception as exc:
                self.problem(pid, seq, "reducer_failed", f"{type(exc).__name__}: {exc}")
                entity.replayable = False
                return
        snap = entity.snapshots.pop(seq, None)
        if snap is not None:
            self.compare(entity, snap)

    def compare(self, entity: _Entity, snap: SnapshotRow) -> None:
        if not entity.replayable or entity.entity_type is None:
            self.report.snapshots_unchecked += 1
            return
        self.report.snapshots_checked += 1
        try:
            replayed = canonical(self.codec.encode(entity.state))
        except Exception as exc:
            self.problem(
                entity.pid,
                snap.sequence_nr,
                "snapshot_mismatch",
                f"the replayed state cannot be encoded: {exc}",
            )
            return
        stored = canonical(self.codec.encode(self.codec.loads(snap.payload)))
        if stored != replayed:
            self.problem(
                entity.pid,
                snap.sequence_nr,
                "snapshot_mismatch",
                f"snapshot {_short(stored)} but replaying the events gives {_short(replayed)}",
            )

    def finish(self, entity: _Entity) -> None:
        for seq in sorted(entity.snapshots):
            self.report.snapshots_unchecked += 1
            if seq > entity.last_seq:
                self.problem(
                    entity.pid,
                    seq,
                    "snapshot_ahead",
                    f"snapshot at sequence number {seq} but the highest event is {entity.last_seq}",
                )


async def verify(
    reader: JournalReader,
    codec: Codec,
    *,
    prefix: str = "",
    entity_types: Mapping[str, EntityType[Any, Any, Any]] | None = None,
    max_problems: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Check every entity starting with ``prefix``; ``progress(n)`` is called per ``n`` rows read.

    ``entity_types`` maps extra kinds (persistence id prefix before ``:``) to
    their reducers so their snapshots are checked too. At most
    ``max_problems`` problems are kept in the report (all are counted).
    """
    report = VerifyReport(max_problems=max_problems)
    await _Verifier(reader, codec, prefix, entity_types or {}, report, progress).run()
    return report
