"""The actor cell: one mailbox plus one asyncio task running behaviors.

**Immediate handling.** A behavior may offer a synchronous ``handle_now``
(see :meth:`Behaviors.receive`). When a message arrives while the actor is
idle — its task waits on an empty mailbox — and it is not already handling
one, the cell offers the message to ``handle_now`` right in the sender's
call; if it accepts, the message is handled then and there, with no task
switch. Nothing changes for the actor's guarantees: messages are still
handled one at a time, in arrival order (the mailbox is empty, so this one
is next), and a failure goes through supervision like any other (the task
restarts or stops the actor). The in-memory entity runtime uses it, which
makes an ``ask`` of an idle in-memory entity cost no context switch.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from casty.actors.behavior import SAME, STOPPED, Behavior, Receive, Setup, Supervise, SupervisorStrategy
from casty.actors.context import ActorContext
from casty.errors import ActorStopped, MailboxFull

if TYPE_CHECKING:
    from casty.actors.ref import ActorRef
    from casty.actors.system import ActorSystem

__all__ = ["Cell"]

M = TypeVar("M")
_log = logging.getLogger("casty.actors")
_STOP_DEFAULT = SupervisorStrategy.stop()
_MAX_INLINE_DEPTH = 4
"""How many actors may be handling a message immediately on one call stack."""


class _Crash:
    """Queued by :meth:`Cell._crashed`: the task fails as if handling ``message`` raised ``error``."""

    __slots__ = ("error", "message")

    def __init__(self, message: Any, error: Exception) -> None:
        self.message = message
        self.error = error


class Cell(Generic[M]):
    """Runs one actor: messages are handled one at a time, in arrival order."""

    __slots__ = (
        "_idle_waiter",
        "_inline",
        "_ready",
        "_restarts",
        "activity",
        "capacity",
        "ctx",
        "failed",
        "initial",
        "mailbox",
        "name",
        "now",
        "on_stop",
        "ref",
        "stopped",
        "system",
        "task",
    )

    def __init__(
        self,
        system: ActorSystem,
        name: str,
        initial: Behavior[M],
        capacity: int,
        on_stop: Callable[[Cell[M], list[M]], None] | None,
    ) -> None:
        from casty.actors.ref import ActorRef

        self.system = system
        self.name = name
        self.initial = initial
        self.capacity = capacity
        self.mailbox: deque[M] | None = None  # made when a message must wait; dropped when idle
        self._idle_waiter: asyncio.Future[None] | None = None
        self._inline = False
        self._ready: tuple[Behavior[M], SupervisorStrategy] | None = None  # started, no task yet
        self.now: Callable[[ActorContext[M], M], bool] | None = None
        self.stopped = False
        self.failed = False
        self.activity = 0
        self.on_stop = on_stop
        self.ref: ActorRef[M] = ActorRef(self)
        self.ctx: ActorContext[M] = ActorContext(self)
        self._restarts: deque[float] | None = None
        self.task: asyncio.Task[None] | None = None

    # -- mailbox ----------------------------------------------------------
    def enqueue(self, message: M) -> None:
        if self.stopped:
            raise ActorStopped(f"actor {self.name!r} has stopped")
        mailbox = self.mailbox
        now = self.now
        if (
            now is not None
            and (self._idle_waiter is not None or self._ready is not None)
            and not mailbox
            and not self._inline
        ):
            system = self.system
            if system._inline_depth < _MAX_INLINE_DEPTH:
                self._inline = True
                system._inline_depth += 1
                try:
                    handled = now(self.ctx, message)
                except Exception as exc:
                    self._crashed(message, exc)
                    return
                finally:
                    self._inline = False
                    system._inline_depth -= 1
                if handled:
                    self.activity += 1
                    return
        if mailbox is None:
            mailbox = self.mailbox = deque()
        elif len(mailbox) >= self.capacity:
            raise MailboxFull(f"mailbox of {self.name!r} is full ({self.capacity} messages)")
        mailbox.append(message)
        self._wake()

    def _wake(self) -> None:
        """A message waits in the mailbox: wake the parked task, or start one."""
        waiter = self._idle_waiter
        if waiter is not None:
            self._idle_waiter = None
            if not waiter.done():
                waiter.set_result(None)
        elif self._ready is not None:
            ready, self._ready = self._ready, None
            self.now = None
            self._spawn_task(ready=ready)

    def _crashed(self, message: M, exc: Exception) -> None:
        """``handle_now`` raised: let the task apply supervision, as if the handler had failed."""
        self.activity += 1
        self.now = None
        if self.mailbox is None:
            self.mailbox = deque()
        self.mailbox.appendleft(_Crash(message, exc))  # type: ignore[arg-type]
        self._wake()

    def deliver_timer(self, message: M) -> None:
        if not self.stopped:
            try:
                self.enqueue(message)
            except MailboxFull:
                _log.warning("timer message to %s dropped: mailbox full", self.name)

    def take_queued(self, max_messages: int) -> list[M]:
        mailbox = self.mailbox
        if not mailbox:
            return []
        n = min(max_messages, len(mailbox))
        return [mailbox.popleft() for _ in range(n)]

    @property
    def is_idle(self) -> bool:
        """Waiting for a message with an empty mailbox."""
        return (self._idle_waiter is not None or self._ready is not None) and not self.mailbox

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        """Start the actor: at once when its setup is ``immediate``, else in its task."""
        partial: tuple[Behavior[M], SupervisorStrategy] | None = None
        behavior, strategy = self.initial, _STOP_DEFAULT
        try:
            while True:
                if isinstance(behavior, Supervise):
                    strategy = behavior.strategy
                    behavior = behavior.behavior
                elif isinstance(behavior, Setup) and behavior.immediate:
                    produced = behavior.factory(self.ctx)
                    if inspect.isawaitable(produced):
                        raise TypeError("an immediate setup factory returned an awaitable")
                    behavior = produced
                else:
                    break
        except Exception as exc:
            self._spawn_task(failed=exc)  # the task reports it, as if the start had failed there
            return
        if isinstance(behavior, Receive):
            self._ready = (behavior, strategy)
            self.now = behavior.handle_now
            return  # no task until a message has to wait
        if behavior is not self.initial:
            partial = (behavior, strategy)
        self._spawn_task(partial=partial)

    def _spawn_task(
        self,
        *,
        ready: tuple[Behavior[M], SupervisorStrategy] | None = None,
        partial: tuple[Behavior[M], SupervisorStrategy] | None = None,
        failed: Exception | None = None,
    ) -> None:
        self.task = asyncio.get_running_loop().create_task(
            self._run(ready, partial, failed), name=f"casty:{self.name}"
        )
        # A task cancelled before its first step never runs its finally block.
        self.task.add_done_callback(lambda _task: self._finish())

    async def _resolve(
        self, behavior: Behavior[M], strategy: SupervisorStrategy
    ) -> tuple[Behavior[M], SupervisorStrategy]:
        while True:
            if isinstance(behavior, Supervise):
                strategy = behavior.strategy
                behavior = behavior.behavior
            elif isinstance(behavior, Setup):
                produced = behavior.factory(self.ctx)
                behavior = await produced if inspect.isawaitable(produced) else produced
            else:
                return behavior, strategy

    async def _run(
        self,
        ready: tuple[Behavior[M], SupervisorStrategy] | None = None,
        partial: tuple[Behavior[M], SupervisorStrategy] | None = None,
        failed: Exception | None = None,
    ) -> None:
        strategy = _STOP_DEFAULT
        current: Behavior[M] = STOPPED
        try:
            if ready is not None:
                current, strategy = ready
            elif failed is not None:
                _log.error("actor %s failed while starting", self.name, exc_info=failed)
                if not self._may_restart(strategy):
                    self.failed = True
                    return
                current, strategy = await self._start(strategy)
            else:
                current, strategy = await self._start(strategy, partial)
            while current is not STOPPED:
                mailbox = self.mailbox
                if not mailbox:
                    self.mailbox = None  # an idle actor keeps no empty deque (memory per entity)
                    assert isinstance(current, Receive)
                    waiter = asyncio.get_running_loop().create_future()
                    self._idle_waiter = waiter
                    self.now = current.handle_now
                    try:
                        await waiter
                    finally:
                        self.now = None
                    continue
                message: Any = mailbox.popleft()
                assert isinstance(current, Receive)
                try:
                    if type(message) is _Crash:
                        raise message.error
                    self.activity += 1
                    nxt = await current.handler(self.ctx, message)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failed = message.message if type(message) is _Crash else message
                    _log.error("actor %s failed handling %r", self.name, type(failed).__name__, exc_info=exc)
                    if not self._may_restart(strategy):
                        self.failed = True
                        current = STOPPED
                        break
                    current, strategy = await self._start(strategy)
                    continue
                if nxt is SAME:
                    continue
                if nxt is STOPPED:
                    break
                current, strategy = await self._resolve(nxt, strategy)
        except asyncio.CancelledError:
            pass
        except Exception:
            self.failed = True
            _log.exception("actor %s failed to start; stopped", self.name)
        finally:
            self._stop_hook(current)
            self._finish()

    async def _start(
        self, strategy: SupervisorStrategy, partial: tuple[Behavior[M], SupervisorStrategy] | None = None
    ) -> tuple[Behavior[M], SupervisorStrategy]:
        while True:
            try:
                if partial is not None:
                    behavior, partial = partial, None
                    return await self._resolve(*behavior)
                return await self._resolve(self.initial, strategy)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("actor %s failed while starting", self.name)
                if not self._may_restart(strategy):
                    self.failed = True
                    return STOPPED, strategy

    def _may_restart(self, strategy: SupervisorStrategy) -> bool:
        if strategy.action != "restart" or self.system.is_shutting_down:
            return False
        now = time.monotonic()
        restarts = self._restarts
        if restarts is None:
            restarts = self._restarts = deque()
        while restarts and now - restarts[0] > strategy.within:
            restarts.popleft()
        if len(restarts) >= strategy.max_restarts:
            _log.error(
                "actor %s restarted %d times in %.0fs; stopping it", self.name, len(restarts), strategy.within
            )
            return False
        restarts.append(now)
        return True

    def _stop_hook(self, behavior: Behavior[M]) -> None:
        if isinstance(behavior, Receive) and behavior.on_stop is not None:
            try:
                behavior.on_stop(self.ctx)
            except Exception:
                _log.exception("on_stop of %s failed", self.name)

    def _finish(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        leftover = list(self.mailbox or ())
        self.mailbox = None
        self.system._cell_stopped(self)
        if self.on_stop is not None:
            try:
                self.on_stop(self, leftover)
            except Exception:
                _log.exception("stop callback of %s failed", self.name)

    def stop(self) -> None:
        """Stop the actor now (its current message, if any, is interrupted)."""
        if self.task is not None:
            if not self.task.done():
                self.task.cancel()
        elif self._ready is not None:  # started at once and never needed a task
            ready, self._ready = self._ready, None
            self.now = None
            self._stop_hook(ready[0])
            self._finish()
