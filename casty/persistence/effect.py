"""``Effect``: what an entity's ``decide`` asks the runtime to do.

``decide`` is pure: it looks at the state and a command and returns an
``Effect`` value — events to persist and what to answer. The runtime persists
the events, folds them into the state with ``evolve`` and only then sends the
replies, so an answer always describes durable state::

    >>> Effect.persist("incremented").then_reply(1)
    Effect(events=('incremented',), actions=(Reply(value=1),))
    >>> Effect.reply(0).events
    ()

A command that cannot be answered yet (a blocked ``acquire``) *parks* its
caller under a request id; a later command's effect *notifies* that id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from casty._fastinit import fast_init

__all__ = ["Effect", "Failure", "Notify", "Park", "Reply"]

E = TypeVar("E", covariant=True)
T = TypeVar("T")
F = TypeVar("F")


@fast_init
@dataclass(frozen=True, slots=True)
class Failure:
    """An answer that makes the caller's ``await`` raise ``error``."""

    error: BaseException


@fast_init
@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the command's own caller with ``value`` (or raise a :class:`Failure`)."""

    value: Any


@fast_init
@dataclass(frozen=True, slots=True)
class Park:
    """Keep the command's caller waiting under ``request_id``."""

    request_id: str


@fast_init
@dataclass(frozen=True, slots=True)
class Notify:
    """Answer the caller parked under ``request_id`` with ``value``."""

    request_id: str
    value: Any


Action = Reply | Park | Notify


@fast_init
@dataclass(frozen=True, slots=True)
class Effect(Generic[E]):
    """Events to persist, then replies to send, in order."""

    events: tuple[E, ...] = ()
    actions: tuple[Action, ...] = ()

    @staticmethod
    def persist(*events: T) -> Effect[T]:
        """Persist ``events`` (then add replies with ``then_reply``/``and_notify``)."""
        return Effect(events)

    @staticmethod
    def reply(value: Any) -> Effect[Any]:
        """Persist nothing; answer ``value``."""
        return Effect((), (Reply(value),))

    @staticmethod
    def fail(error: BaseException) -> Effect[Any]:
        """Persist nothing; make the caller's ``await`` raise ``error``."""
        return Effect((), (Reply(Failure(error)),))

    @staticmethod
    def none() -> Effect[Any]:
        """Persist nothing, answer nothing (for ticks and fire-and-forget commands)."""
        return _NONE

    def then_reply(self, value: Any) -> Effect[E]:
        """Also answer the caller with ``value`` once the events are stored."""
        actions = self.actions
        return Effect(self.events, (*actions, Reply(value)) if actions else (Reply(value),))

    def then_fail(self, error: BaseException) -> Effect[E]:
        """Also make the caller's ``await`` raise ``error`` once the events are stored."""
        return Effect(self.events, (*self.actions, Reply(Failure(error))))

    def then_park(self, request_id: str) -> Effect[E]:
        """Keep the caller waiting under ``request_id`` (answered by a later ``and_notify``)."""
        return Effect(self.events, (*self.actions, Park(request_id)))

    def and_notify(self, request_id: str, value: Any) -> Effect[E]:
        """Answer the caller parked under ``request_id`` once the events are stored."""
        return Effect(self.events, (*self.actions, Notify(request_id, value)))

    def also(self, other: Effect[F]) -> Effect[E | F]:
        """This effect followed by ``other``."""
        return Effect((*self.events, *other.events), self.actions + other.actions)


_NONE: Effect[Any] = Effect()
