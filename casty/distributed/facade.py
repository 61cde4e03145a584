"""``Distributed``: the entry point that hands out the seven structures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, get_origin

from casty.actors.behavior import Behavior
from casty.actors.ref import Tellable
from casty.distributed.barrier import BARRIER, Barrier
from casty.distributed.client import check_timeout
from casty.distributed.counter import COUNTER, Counter
from casty.distributed.dictionary import DICT_ENTRY, Dict
from casty.distributed.lock import Lock
from casty.distributed.queue import QUEUE, Queue
from casty.distributed.semaphore import PERMITS, Semaphore
from casty.distributed.set import SET, Set
from casty.errors import InvalidArgument
from casty.persistence.entity import EntityType
from casty.persistence.journal import EventJournal
from casty.persistence.memory import InMemoryJournal
from casty.persistence.runtime import entity_behavior
from casty.sharding.envelope import ShardEnvelope
from casty.sharding.gateway import EntityGateway
from casty.sharding.hashing import check_shards

__all__ = ["Distributed", "persistence_id"]

T = TypeVar("T")

STRUCTURES: dict[str, EntityType[Any, Any, Any]] = {
    "counter": COUNTER,
    "map": DICT_ENTRY,
    "set": SET,
    "queue": QUEUE,
    "lock": PERMITS,
    "semaphore": PERMITS,
    "barrier": BARRIER,
}
"""Structure kind → reducer; the kind is the first part of every persistence id."""


def persistence_id(kind: str, name: str, entity_id: str) -> str:
    """``kind:name`` for one-entity structures, ``map:name:key`` for map entries."""
    return f"{kind}:{name}" if kind != "map" else f"map:{name}:{entity_id}"


class Distributed:
    """Hands out distributed structures backed by sharded, event-sourced entities.

        >>> import asyncio
        >>> from casty import ActorSystem, Distributed
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         d = Distributed(system)                 # in memory; pass journal= to persist
        ...         return await d.counter("hits").increment()
        >>> asyncio.run(main())
        1

    ``gateway`` is anything that reaches sharded entities (an ``ActorSystem``).
    ``journal`` makes every structure durable (``casty_journal_sql.SqlJournal``);
    ``None`` keeps them in this process's memory. Structures with the same kind
    and name share their data, whichever ``Distributed`` created them. Idle
    entities are passivated after ``passivate_after`` seconds, and at most
    about ``max_entities`` stay alive per structure.
    """

    def __init__(
        self,
        gateway: EntityGateway,
        *,
        journal: EventJournal | None = None,
        passivate_after: float | None = 60.0,
        max_entities: int | None = 50_000,
    ) -> None:
        if not isinstance(gateway, EntityGateway):
            raise InvalidArgument(
                f"Distributed needs an entity gateway such as an ActorSystem, got {type(gateway).__name__}"
            )
        if journal is not None and not isinstance(journal, EventJournal):
            raise InvalidArgument(f"journal must implement EventJournal, got {type(journal).__name__}")
        self.gateway = gateway
        self.journal: EventJournal = (
            journal if journal is not None else InMemoryJournal(prune_on_snapshot=True)
        )
        self.passivate_after = passivate_after
        self.max_entities = max_entities

    # -- regions ----------------------------------------------------------------
    def _region(self, kind: str, name: str, shards: int) -> Tellable[ShardEnvelope[Any]]:
        if type(name) is not str or not name or ":" in name or "\x00" in name or len(name) > 120:
            raise InvalidArgument(
                "a structure name must be a non-empty str of at most 120 characters"
                f" without ':', got {name!r}"
            )
        check_shards(shards)
        entity_type = STRUCTURES[kind]
        journal = self.journal

        def factory(entity_id: str) -> Behavior[Any]:
            return entity_behavior(entity_type, persistence_id(kind, name, entity_id), journal)

        return self.gateway.shard_region(
            f"{kind}:{name}",
            factory,
            shards=shards,
            passivate_after=self.passivate_after,
            max_entities=self.max_entities,
        )

    # -- structures ---------------------------------------------------------------
    def counter(self, name: str, *, shards: int = 100, timeout: float = 5.0) -> Counter:
        """A :class:`~casty.Counter` named ``name``."""
        return Counter(self.gateway, self._region("counter", name, shards), name, check_timeout(timeout))

    def lock(self, name: str, *, shards: int = 100, timeout: float = 5.0, lease: float | None = None) -> Lock:
        """A :class:`~casty.Lock` named ``name`` (a new owner per call)."""
        return Lock(
            self.gateway, self._region("lock", name, shards), name, check_timeout(timeout), lease=lease
        )

    def semaphore(
        self, name: str, permits: int, *, shards: int = 100, timeout: float = 5.0, lease: float | None = None
    ) -> Semaphore:
        """A :class:`~casty.Semaphore` named ``name`` with ``permits`` permits (a new owner per call)."""
        region = self._region("semaphore", name, shards)
        return Semaphore(self.gateway, region, name, check_timeout(timeout), permits=permits, lease=lease)

    def barrier(
        self, name: str, *, node_id: str | None = None, shards: int = 10, timeout: float = 60.0
    ) -> Barrier:
        """A :class:`~casty.Barrier` named ``name``; ``node_id`` names this party."""
        region = self._region("barrier", name, shards)
        return Barrier(self.gateway, region, name, check_timeout(timeout), node_id=node_id)

    @property
    def map(self) -> _Typed[Dict[Any, Any]]:
        """``d.map[K, V](name, *, shards=100, timeout=5.0)`` → :class:`~casty.Dict`."""
        return _Typed(self, "map", 2)

    @property
    def set(self) -> _Typed[Set[Any]]:
        """``d.set[V](name, *, shards=100, timeout=5.0)`` → :class:`~casty.Set`."""
        return _Typed(self, "set", 1)

    @property
    def queue(self) -> _Typed[Queue[Any]]:
        """``d.queue[V](name, *, shards=100, timeout=5.0)`` → :class:`~casty.Queue`."""
        return _Typed(self, "queue", 1)

    def _make(self, kind: str, types: tuple[Any, ...], name: str, shards: int, timeout: float) -> Any:
        region = self._region(kind, name, shards)
        timeout = check_timeout(timeout)
        checked = tuple(_runtime_type(t) for t in types)
        if kind == "map":
            return Dict(
                self.gateway,
                region,
                name,
                timeout,
                key_type=checked[0],
                value_type=checked[1],
                journal=self.journal,
            )
        client = Set if kind == "set" else Queue
        return client(self.gateway, region, name, timeout, value_type=checked[0])


def _runtime_type(hint: Any) -> type | None:
    """The class to check values against, or ``None`` when a hint cannot be checked cheaply."""
    if hint is Any or get_origin(hint) is not None or not isinstance(hint, type):
        return None
    if hint is float:
        return None  # ints are fine where floats are expected
    return hint


class _Typed(Generic[T]):
    """``d.map[K, V]`` / ``d.set[V]`` / ``d.queue[V]``: a factory that knows the value types."""

    __slots__ = ("_arity", "_d", "_kind")

    def __init__(self, d: Distributed, kind: str, arity: int) -> None:
        self._d, self._kind, self._arity = d, kind, arity

    def __getitem__(self, types: Any) -> Callable[..., T]:
        if self._arity == 1:
            types = (types,)
        elif not isinstance(types, tuple) or len(types) != self._arity:
            raise InvalidArgument(f"use d.{self._kind}[KeyType, ValueType](name)")

        def make(name: str, *, shards: int = 100, timeout: float = 5.0) -> T:
            return self._d._make(self._kind, types, name, shards, timeout)  # type: ignore[no-any-return]

        return make

    def __call__(self, name: str, *, shards: int = 100, timeout: float = 5.0) -> T:
        return self[(Any,) * self._arity if self._arity > 1 else Any](name, shards=shards, timeout=timeout)
