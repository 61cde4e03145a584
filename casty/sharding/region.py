"""``ShardRegion``: hosts the entities of one type on this node.

Entities are started lazily by the first message addressed to them and
*passivated* (stopped, their state safe in the journal) when idle for
``passivate_after`` seconds or when more than ``max_entities`` are alive.
Routing is a dict lookup done in the sender's call: no extra actor hop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from casty.actors.ref import Tellable
from casty.errors import ActorStopped, InvalidArgument
from casty.sharding.envelope import Passivate, ShardEnvelope
from casty.sharding.hashing import check_shards, shard_of

if TYPE_CHECKING:
    from casty.actors.behavior import Behavior
    from casty.actors.cell import Cell
    from casty.actors.system import ActorSystem

__all__ = ["ShardRegion"]

M = TypeVar("M")
_log = logging.getLogger("casty.sharding")


class _Entry:
    """A live entity of a region; also its actor's stop callback (no closure per entity)."""

    __slots__ = ("cell", "entity_id", "passivating", "region", "seen")

    def __init__(self, region: ShardRegion[Any], entity_id: str) -> None:
        self.region = region
        self.entity_id = entity_id
        self.cell: Cell[Any] = None  # type: ignore[assignment]  # set right after spawn
        self.seen = -1
        self.passivating = False

    def __call__(self, cell: Cell[Any], leftover: list[Any]) -> None:
        self.region._stopped(self.entity_id, cell, leftover)


class ShardRegion(Tellable[ShardEnvelope[M]], Generic[M]):
    """Routes :class:`ShardEnvelope` messages to entities, starting them on demand."""

    def __init__(
        self,
        system: ActorSystem,
        type_name: str,
        entity_factory: Callable[[str], Behavior[M]],
        *,
        shards: int,
        passivate_after: float | None = 60.0,
        max_entities: int | None = 50_000,
    ) -> None:
        self.system = system
        self.type_name = type_name
        self.shards = check_shards(shards)
        if passivate_after is not None and not passivate_after > 0:
            raise InvalidArgument("passivate_after must be positive seconds or None")
        if max_entities is not None and max_entities < 1:
            raise InvalidArgument("max_entities must be at least 1 or None")
        self.passivate_after = passivate_after
        self.max_entities = max_entities
        self._factory = entity_factory
        self._entities: dict[str, _Entry] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._spawned_since_trim = 0
        self._closed = False
        self.started = 0
        self.passivated = 0

    # -- routing ------------------------------------------------------------
    def tell(self, message: ShardEnvelope[M]) -> None:
        """Deliver an envelope to its entity, starting the entity if needed."""
        entry = self._entities.get(message.entity_id)
        if entry is None:
            entry = self._start(message.entity_id)
        entry.cell.enqueue(message.message)

    def shard_of(self, entity_id: str) -> int:
        """The shard of ``entity_id`` in this region."""
        return shard_of(entity_id, self.shards)

    def _start(self, entity_id: str) -> _Entry:
        if self._closed:
            raise ActorStopped(f"shard region {self.type_name!r} is closed")
        if type(entity_id) is not str:
            raise InvalidArgument(f"entity id must be a str, got {type(entity_id).__name__}")
        entry = _Entry(self, entity_id)
        ref = self.system.spawn(
            self._factory(entity_id),
            f"{self.type_name}/{shard_of(entity_id, self.shards)}/{entity_id}",
            on_stop=entry,
        )
        entry.cell = ref._cell
        self._entities[entity_id] = entry
        self.started += 1
        if self._sweeper is None and self.passivate_after is not None:
            self._schedule_sweep()
        if self.max_entities is not None and len(self._entities) > self.max_entities:
            self._spawned_since_trim += 1
            if self._spawned_since_trim >= max(1, self.max_entities // 100):
                self._spawned_since_trim = 0
                self._trim()
        return entry

    def _stopped(self, entity_id: str, cell: Cell[Any], leftover: list[Any]) -> None:
        entry = self._entities.get(entity_id)
        if entry is not None and entry.cell is cell:
            del self._entities[entity_id]
            self.passivated += 1
        if leftover and cell.failed:
            _log.error(
                "entity %s of %s failed; %d queued messages dropped", entity_id, self.type_name, len(leftover)
            )
        elif leftover and not self._closed and not self.system.is_shutting_down:
            for message in leftover:
                if message is not Passivate:
                    self.tell(ShardEnvelope(entity_id, message))

    # -- passivation --------------------------------------------------------
    def _schedule_sweep(self) -> None:
        assert self.passivate_after is not None
        interval = max(0.01, self.passivate_after / 2)
        self._sweeper = asyncio.get_running_loop().call_later(interval, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        if self._closed:
            return
        for entry in list(self._entities.values()):
            cell = entry.cell
            if cell.activity == entry.seen and cell.is_idle:
                self._passivate(entry)
            else:
                entry.seen = cell.activity
                entry.passivating = False
        if self._entities:
            self._schedule_sweep()

    def _trim(self) -> None:
        assert self.max_entities is not None
        excess = len(self._entities) - self.max_entities + self.max_entities // 100
        for entry in list(self._entities.values())[: excess * 2]:
            if excess <= 0:
                break
            if entry.cell.is_idle and not entry.passivating:
                self._passivate(entry)
                excess -= 1

    def _passivate(self, entry: _Entry) -> None:
        if entry.passivating or entry.cell.stopped:
            return
        entry.passivating = True
        try:
            entry.cell.enqueue(Passivate)
        except Exception:  # a full mailbox is not idle; try again next sweep
            entry.passivating = False

    # -- inspection / lifecycle ----------------------------------------------
    @property
    def live_entities(self) -> int:
        """Entities currently running on this node."""
        return len(self._entities)

    def close(self) -> None:
        """Stop routing; the system stops the entities."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
