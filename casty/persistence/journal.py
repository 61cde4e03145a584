"""The ``EventJournal`` protocol: what every event store backend provides.

A journal stores, per *persistence id* (one entity), an append-only sequence of
events numbered 1, 2, 3, … plus snapshots of the entity's state. Backends:
:class:`casty.persistence.InMemoryJournal` and ``casty_journal_sql.SqlJournal``.
One conformance suite (``tests/journal_conformance``) specifies them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["EventJournal", "PersistedEvent", "Snapshot"]


@dataclass(frozen=True, slots=True)
class PersistedEvent:
    """One stored event.

    ``offset`` is its position in the journal-wide order (used by
    :meth:`EventJournal.read_all`); ``timestamp`` is the write time in seconds
    since the epoch.
    """

    persistence_id: str
    sequence_nr: int
    event: Any
    timestamp: float
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of one entity after applying events up to ``sequence_nr``."""

    persistence_id: str
    sequence_nr: int
    state: Any
    timestamp: float


@runtime_checkable
class EventJournal(Protocol):
    """An event store. All methods are safe to call concurrently.

    ``append`` is atomic and fenced: it stores all ``events`` at sequence numbers
    ``expected_sequence_nr + 1 …`` or nothing, and raises
    :class:`casty.errors.ConcurrencyConflict` when ``expected_sequence_nr`` is
    not the current highest sequence number of ``persistence_id``. Deleting
    events never lowers the highest sequence number, so a number is never reused.

    Optional fast path: a journal whose methods never wait (no I/O, like
    :class:`~casty.persistence.InMemoryJournal`) may set the class attribute
    ``synchronous = True`` and offer ``append_now(persistence_id, events,
    expected_sequence_nr) -> int``, :meth:`append` without a coroutine. The
    entity runtime then handles a command in the sender's call, with no task
    switch. Its coroutine methods must then never suspend either.

    Optional recovery shortcut: ``async recovery_point(persistence_id) ->
    (Snapshot | None, highest_sequence_nr)`` returns what
    :meth:`load_snapshot` and :meth:`highest_sequence_nr` would, in one round
    trip. The runtime then reads events only when some follow the snapshot, so
    starting a brand-new entity costs one query (a backend may also answer
    many concurrent calls with one query).
    """

    async def append(self, persistence_id: str, events: Sequence[Any], expected_sequence_nr: int) -> int:
        """Append ``events`` after ``expected_sequence_nr``; return the new highest number."""
        ...

    def read(
        self, persistence_id: str, from_sequence_nr: int = 1, to_sequence_nr: int | None = None
    ) -> AsyncIterator[PersistedEvent]:
        """Stream the events of one entity in order, bounds inclusive."""
        ...

    async def highest_sequence_nr(self, persistence_id: str) -> int:
        """The highest sequence number ever appended (0 for an unknown id)."""
        ...

    async def delete_events(self, persistence_id: str, to_sequence_nr: int) -> None:
        """Delete events up to and including ``to_sequence_nr`` (retention)."""
        ...

    async def save_snapshot(self, persistence_id: str, sequence_nr: int, state: Any) -> None:
        """Store a snapshot; older snapshots beyond the backend's keep count are pruned."""
        ...

    async def load_snapshot(self, persistence_id: str) -> Snapshot | None:
        """The latest snapshot of an entity, or ``None``."""
        ...

    def persistence_ids(self, prefix: str = "") -> AsyncIterator[str]:
        """Stream every persistence id (optionally only those starting with ``prefix``), sorted."""
        ...

    def read_all(self, from_offset: int = 0, limit: int | None = None) -> AsyncIterator[PersistedEvent]:
        """Stream every event of every entity in global order, from ``offset > from_offset``.

        Resumable: pass the last ``offset`` seen to continue. A tailing reader
        never skips an event whose transaction committed late.
        """
        ...

    async def close(self) -> None:
        """Release connections; the journal cannot be used afterwards."""
        ...
