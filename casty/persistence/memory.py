"""``InMemoryJournal``: the event journal kept in this process's memory.

Used when ``Distributed(..., journal=None)`` and in tests. It follows the
same contract as the SQL journal (fenced appends, retention, snapshots) but
nothing survives the process.

    >>> import asyncio
    >>> async def demo():
    ...     j = InMemoryJournal()
    ...     await j.append("counter:hits", [1, 2], expected_sequence_nr=0)
    ...     return [e.event async for e in j.read("counter:hits")]
    >>> asyncio.run(demo())
    [1, 2]
"""

from __future__ import annotations

import time
from array import array
from collections.abc import AsyncIterator, Sequence
from typing import Any

from casty.errors import ConcurrencyConflict, InvalidArgument, JournalError
from casty.persistence.codec import Codec, default_codec
from casty.persistence.journal import PersistedEvent, Snapshot

__all__ = ["InMemoryJournal"]


class _Log:
    """The stored events of one entity: ``events[i]`` has sequence number ``first + i``.

    Timestamps and global offsets live in arrays, so a stored event costs the
    garbage collector one object (the event itself), not a row object too.
    """

    __slots__ = ("events", "first", "offsets", "times")

    def __init__(self, first: int) -> None:
        self.first = first
        self.events: list[Any] = []
        self.times = array("d")
        self.offsets = array("q")

    def row(self, persistence_id: str, index: int) -> PersistedEvent:
        return PersistedEvent(
            persistence_id, self.first + index, self.events[index], self.times[index], self.offsets[index]
        )


class InMemoryJournal:
    """An :class:`~casty.persistence.EventJournal` held in a dict.

    With ``prune_on_snapshot=True`` (what ``Distributed(journal=None)`` uses)
    events covered by a snapshot are dropped, so memory stays bounded.
    Events are stored as the objects given (they should be immutable).
    Snapshots are stored as encoded copies, so an entity that later updates
    its state in place cannot corrupt them, and a state that cannot be encoded
    fails at ``save_snapshot`` exactly as it would in a SQL journal.
    """

    synchronous = True
    """Every method completes without suspending (no I/O): the entity runtime
    then handles a command in the sender's call instead of switching tasks."""

    def __init__(
        self, *, keep_snapshots: int = 2, prune_on_snapshot: bool = False, codec: Codec | None = None
    ) -> None:
        if keep_snapshots < 1:
            raise InvalidArgument("keep_snapshots must be at least 1")
        self._keep = keep_snapshots
        self._prune_on_snapshot = prune_on_snapshot
        self._codec = codec or default_codec
        # Events become PersistedEvent only when read: appending stays cheap.
        self._events: dict[str, _Log] = {}
        self._highest: dict[str, int] = {}
        self._global: dict[int, tuple[str, int]] = {}  # offset -> (persistence_id, sequence_nr)
        self._offset = 0
        self._snapshots: dict[str, list[tuple[int, Any, float]]] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError("journal is closed")

    async def append(self, persistence_id: str, events: Sequence[Any], expected_sequence_nr: int) -> int:
        return self.append_now(persistence_id, events, expected_sequence_nr)

    def append_now(self, persistence_id: str, events: Sequence[Any], expected_sequence_nr: int) -> int:
        """:meth:`append` without a coroutine (this journal never waits)."""
        if self._closed:
            raise JournalError("journal is closed")
        highest = self._highest.get(persistence_id, 0)
        if expected_sequence_nr != highest:
            raise ConcurrencyConflict(persistence_id, expected_sequence_nr, highest)
        if not events:
            return highest
        now = time.time()
        log = self._events.get(persistence_id)
        if log is None:
            log = self._events[persistence_id] = _Log(highest + 1)
        elif not log.events:
            log.first = highest + 1
        offset = self._offset
        everything = self._global
        stored, times, offsets = log.events, log.times, log.offsets
        for event in events:
            highest += 1
            offset += 1
            stored.append(event)
            times.append(now)
            offsets.append(offset)
            everything[offset] = (persistence_id, highest)
        self._offset = offset
        self._highest[persistence_id] = highest
        return highest

    async def read(
        self, persistence_id: str, from_sequence_nr: int = 1, to_sequence_nr: int | None = None
    ) -> AsyncIterator[PersistedEvent]:
        self._check_open()
        log = self._events.get(persistence_id)
        if log is None or not log.events:
            return
        upper = to_sequence_nr if to_sequence_nr is not None else 1 << 62
        first = log.first
        lo = max(0, from_sequence_nr - first)
        hi = min(len(log.events), upper - first + 1)
        # Copy the slices first: changes while the caller iterates do not leak in.
        stored, times, offsets = log.events[lo:hi], log.times[lo:hi], log.offsets[lo:hi]
        seq = first + lo
        for i, event in enumerate(stored):
            yield PersistedEvent(persistence_id, seq + i, event, times[i], offsets[i])

    async def highest_sequence_nr(self, persistence_id: str) -> int:
        self._check_open()
        return self._highest.get(persistence_id, 0)

    async def delete_events(self, persistence_id: str, to_sequence_nr: int) -> None:
        self._check_open()
        log = self._events.get(persistence_id)
        if log is None or not log.events:
            return
        drop = min(len(log.events), max(0, to_sequence_nr - log.first + 1))
        if not drop:
            return
        everything = self._global
        for offset in log.offsets[:drop]:
            everything.pop(offset, None)
        del log.events[:drop]
        del log.times[:drop]
        del log.offsets[:drop]
        log.first += drop

    async def save_snapshot(self, persistence_id: str, sequence_nr: int, state: Any) -> None:
        self._check_open()
        encoded = self._codec.encode(state)
        snaps = self._snapshots.setdefault(persistence_id, [])
        snaps = [s for s in snaps if s[0] != sequence_nr]
        snaps.append((sequence_nr, encoded, time.time()))
        snaps.sort(key=lambda s: s[0])
        self._snapshots[persistence_id] = snaps[-self._keep :]
        if self._prune_on_snapshot:
            await self.delete_events(persistence_id, sequence_nr)

    async def load_snapshot(self, persistence_id: str) -> Snapshot | None:
        self._check_open()
        snaps = self._snapshots.get(persistence_id)
        if not snaps:
            return None
        seq, encoded, ts = snaps[-1]
        return Snapshot(persistence_id, seq, self._codec.decode(encoded), ts)

    async def recovery_point(self, persistence_id: str) -> tuple[Snapshot | None, int]:
        """The latest snapshot and the highest sequence number (see :class:`EventJournal`)."""
        self._check_open()
        return await self.load_snapshot(persistence_id), self._highest.get(persistence_id, 0)

    async def snapshot_count(self, persistence_id: str) -> int:
        """How many snapshots are kept for ``persistence_id`` (for tests and tools)."""
        return len(self._snapshots.get(persistence_id, ()))

    async def persistence_ids(self, prefix: str = "") -> AsyncIterator[str]:
        self._check_open()
        for pid in sorted(self._highest):
            if pid.startswith(prefix):
                yield pid

    async def read_all(self, from_offset: int = 0, limit: int | None = None) -> AsyncIterator[PersistedEvent]:
        self._check_open()
        count = 0
        for offset in list(self._global):
            if offset <= from_offset:
                continue
            if limit is not None and count >= limit:
                return
            where = self._global.get(offset)
            if where is None:
                continue
            log = self._events.get(where[0])
            if log is None:
                continue
            index = where[1] - log.first
            if 0 <= index < len(log.events):
                count += 1
                yield log.row(where[0], index)

    async def close(self) -> None:
        self._closed = True
