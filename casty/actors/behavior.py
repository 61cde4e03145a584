"""Behaviors as values: what an actor does with its next message.

A behavior is an immutable value. Handlers return the behavior for the next
message: :data:`Behaviors.same` to keep the current one, :data:`Behaviors.stopped`
to stop, or a new behavior to switch state — no mutable actor classes needed::

    >>> import asyncio
    >>> from casty.actors import ActorSystem, Behaviors
    >>> def counter(total: int):
    ...     async def on_message(ctx, msg):
    ...         if msg == "get":
    ...             print(total)
    ...             return Behaviors.same
    ...         return counter(total + msg)
    ...     return Behaviors.receive(on_message)
    >>> async def main():
    ...     async with ActorSystem() as system:
    ...         ref = system.spawn(counter(0))
    ...         ref.tell(2); ref.tell(3); ref.tell("get")
    ...         await system.drain(ref)
    >>> asyncio.run(main())
    5
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from casty._fastinit import fast_init

if TYPE_CHECKING:
    from casty.actors.context import ActorContext

__all__ = ["Behavior", "Behaviors", "SupervisorStrategy"]

M = TypeVar("M")


class Behavior(Generic[M]):
    """Base class of behavior values. Build them with :class:`Behaviors`."""

    __slots__ = ()


@fast_init
@dataclass(frozen=True, slots=True)
class Receive(Behavior[M]):
    """Handle each message with an async ``handler(ctx, message)``."""

    handler: Callable[[ActorContext[M], M], Awaitable[Behavior[M]]]
    on_stop: Callable[[ActorContext[M]], None] | None = None
    handle_now: Callable[[ActorContext[M], M], bool] | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Setup(Behavior[M]):
    """Run ``factory(ctx)`` when the actor starts (and on every restart)."""

    factory: Callable[[ActorContext[M]], Behavior[M] | Awaitable[Behavior[M]]]
    immediate: bool = False


@dataclass(frozen=True, slots=True)
class SupervisorStrategy:
    """What to do when a behavior raises.

    ``restart`` re-runs the actor's initial behavior (its ``setup``), at most
    ``max_restarts`` times within ``within`` seconds, then stops it;
    ``stop`` stops it at once. The failing message is dropped; the system and
    other actors are unaffected.
    """

    action: str
    max_restarts: int = 10
    within: float = 60.0

    @staticmethod
    def restart(max_restarts: int = 10, within: float = 60.0) -> SupervisorStrategy:
        """Restart on failure, up to ``max_restarts`` within ``within`` seconds."""
        return SupervisorStrategy("restart", max_restarts, within)

    @staticmethod
    def stop() -> SupervisorStrategy:
        """Stop the actor on failure (the default for unsupervised actors)."""
        return SupervisorStrategy("stop")


@fast_init
@dataclass(frozen=True, slots=True)
class Supervise(Behavior[M]):
    """Run ``behavior`` under ``strategy``."""

    behavior: Behavior[M]
    strategy: SupervisorStrategy


class _Marker(Behavior[Any]):
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"Behaviors.{self._name}"


SAME: Behavior[Any] = _Marker("same")
STOPPED: Behavior[Any] = _Marker("stopped")


class Behaviors:
    """Constructors of behavior values (Akka Typed style)."""

    same: Behavior[Any] = SAME
    """Keep the current behavior for the next message."""

    stopped: Behavior[Any] = STOPPED
    """Stop the actor after this message."""

    @staticmethod
    def receive(
        handler: Callable[[ActorContext[M], M], Awaitable[Behavior[M]]],
        *,
        on_stop: Callable[[ActorContext[M]], None] | None = None,
        handle_now: Callable[[ActorContext[M], M], bool] | None = None,
    ) -> Behavior[M]:
        """A behavior that handles each message with ``await handler(ctx, message)``.

        ``on_stop(ctx)`` runs once when the actor stops. ``handle_now(ctx, message)``
        is an optional synchronous fast path: when a message arrives while the
        actor is idle, it is offered to ``handle_now`` in the sender's call;
        returning ``True`` means it was fully handled (the behavior stays the
        same), ``False`` queues it for ``handler`` as usual. It must not block
        or wait; an exception counts as a failure of the actor (supervision).
        """
        return Receive(handler, on_stop, handle_now)

    @staticmethod
    def setup(
        factory: Callable[[ActorContext[M]], Behavior[M] | Awaitable[Behavior[M]]], *, immediate: bool = False
    ) -> Behavior[M]:
        """A behavior computed when the actor starts; ``factory`` may be async.

        ``immediate=True`` promises a synchronous, non-blocking ``factory``: it
        then runs inside ``spawn``, and an actor whose behavior is ready that
        way starts without an asyncio task until a message has to wait in its
        mailbox (see :mod:`casty.actors.cell`).
        """
        return Setup(factory, immediate)

    @staticmethod
    def supervise(behavior: Behavior[M], strategy: SupervisorStrategy | None = None) -> Behavior[M]:
        """Run ``behavior`` so that a failure restarts it (default) or stops it."""
        return Supervise(behavior, strategy or SupervisorStrategy.restart())
