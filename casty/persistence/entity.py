"""``EntityType``: an entity defined once, as pure functions over typed events.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Added:
    ...     amount: int
    >>> adder = EntityType(
    ...     name="adder",
    ...     initial=0,
    ...     decide=lambda total, n: Effect.persist(Added(n)).then_reply(total + n),
    ...     evolve=lambda total, event: total + event.amount,
    ... )
    >>> adder.replay([Added(2), Added(3)])
    5

The runtime (:func:`casty.persistence.runtime.entity_behavior`) does all I/O:
recovery, persisting, snapshots, replies, timers. The same definition runs
durable (with an SQL journal) or in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from casty.errors import InvalidArgument
from casty.persistence.effect import Effect

__all__ = ["EntityType"]

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


@dataclass(frozen=True)
class EntityType(Generic[S, C, E]):
    """The definition of one kind of event-sourced entity.

    - ``initial``: the state of a new entity, or a zero-argument factory of it.
    - ``decide(state, command) -> Effect``: pure; which events, what reply.
    - ``evolve(state, event) -> state``: pure reducer. For large collections it
      may update ``state`` in place and return it: the runtime never reuses a
      state it handed to ``evolve`` and rebuilds from the journal if a write fails.
    - ``snapshot_every``: save a snapshot after this many events (``None``: never).
    - ``delete_events_on_snapshot``: retention — drop events a snapshot covers.
    - ``wakeup(state)``: wall-clock time (``time.time()``) at which the entity
      must be told ``tick(now)``; leases and waiter deadlines use it, so time
      reaches the reducers only through commands and stays replayable.
    - ``abandon(request_id, value, now)``: the command to run when a parked
      caller can no longer receive ``value`` (it gave up or its process is
      gone) — e.g. give back a lock granted to nobody.
    """

    name: str
    initial: S | Callable[[], S]
    decide: Callable[[S, C], Effect[E]]
    evolve: Callable[[S, E], S]
    snapshot_every: int | None = 100
    delete_events_on_snapshot: bool = False
    wakeup: Callable[[S], float | None] | None = None
    tick: Callable[[float], C] | None = None
    abandon: Callable[[str, Any, float], C | None] | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise InvalidArgument("an entity type needs a non-empty str name")
        if self.snapshot_every is not None and self.snapshot_every < 1:
            raise InvalidArgument("snapshot_every must be at least 1 or None")
        if (self.wakeup is None) != (self.tick is None):
            raise InvalidArgument("wakeup and tick must be given together")

    def new_state(self) -> S:
        """A fresh initial state."""
        init = self.initial
        return init() if callable(init) else init

    def replay(self, events: Iterable[E], state: S | None = None) -> S:
        """Fold ``events`` into ``state`` (default: a fresh initial state)."""
        current = self.new_state() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current
