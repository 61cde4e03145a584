"""The event-sourced entity runtime: recovery, persist-then-reply, snapshots, timers.

:func:`entity_behavior` turns an :class:`EntityType` into an actor behavior.
Commands arrive as :class:`Request` messages. A burst of queued requests is
decided in one go and its events are appended in **one** journal write, so a
hot entity costs one round trip per burst, not per command. Replies are sent
only after the write succeeded: an answered command is durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from casty._fastinit import fast_init
from casty.actors.behavior import SAME, STOPPED, Behavior, Behaviors, SupervisorStrategy
from casty.actors.context import ActorContext
from casty.actors.reply import ReplyTo
from casty.errors import CastyError, EntityFailure, SerializationError
from casty.persistence.effect import Failure, Notify, Park, Reply
from casty.persistence.entity import EntityType
from casty.persistence.journal import EventJournal
from casty.sharding.envelope import Passivate

__all__ = ["Request", "entity_behavior"]

S = TypeVar("S")
C = TypeVar("C")
_log = logging.getLogger("casty.persistence")
_RESTART = SupervisorStrategy.restart(max_restarts=20, within=10.0)
_NO_PENDING: dict[str, Any] = {}  # shared and never written: most entities never park a caller


@fast_init
@dataclass(frozen=True, slots=True)
class Request(Generic[C]):
    """A command for an entity and where to send its answer (``None``: nowhere)."""

    command: C
    reply_to: ReplyTo[Any] | None = None


def entity_behavior(
    entity_type: EntityType[Any, Any, Any],
    persistence_id: str,
    journal: EventJournal,
    *,
    max_batch: int = 256,
) -> Behavior[Any]:
    """The behavior of one entity ``persistence_id`` of ``entity_type``.

    On start (and on restart after a failure) it recovers: latest snapshot plus
    a streamed replay of the events after it.
    """

    if _is_synchronous(journal):
        starter = _StartNow(entity_type, persistence_id, journal, max_batch)
        return Behaviors.supervise(Behaviors.setup(starter, immediate=True), _RESTART)

    async def start(ctx: ActorContext[Any]) -> Behavior[Any]:
        runtime = _Runtime(entity_type, persistence_id, journal, ctx, max_batch)
        try:
            await runtime.recover()
        except Exception as exc:
            _log.error("recovery of %s failed: %s", persistence_id, exc)
            return _refusing(exc if isinstance(exc, CastyError) else _failure(persistence_id, exc))
        return Behaviors.receive(runtime.handle, on_stop=runtime.stopped)

    return Behaviors.supervise(Behaviors.setup(start), _RESTART)


class _StartNow:
    """The immediate setup of an entity on a synchronous journal (one object, no closures).

    A synchronous journal never waits: the entity recovers inside ``spawn``,
    handles commands in the sender's call, and needs no task until a message
    has to queue.
    """

    __slots__ = ("entity_type", "journal", "max_batch", "persistence_id")

    def __init__(
        self,
        entity_type: EntityType[Any, Any, Any],
        persistence_id: str,
        journal: EventJournal,
        max_batch: int,
    ) -> None:
        self.entity_type = entity_type
        self.persistence_id = persistence_id
        self.journal = journal
        self.max_batch = max_batch

    def __call__(self, ctx: ActorContext[Any]) -> Behavior[Any]:
        pid = self.persistence_id
        runtime = _Runtime(self.entity_type, pid, self.journal, ctx, self.max_batch)
        try:
            _drive(runtime.recover())
        except Exception as exc:
            _log.error("recovery of %s failed: %s", pid, exc)
            return _refusing(exc if isinstance(exc, CastyError) else _failure(pid, exc))
        return Behaviors.receive(runtime.handle, on_stop=runtime.stopped, handle_now=runtime.handle_now)


def _refusing(error: CastyError) -> Behavior[Any]:
    """After a failed recovery: answer what is queued with ``error``, then stop.

    The next message starts a new incarnation, which tries to recover again.
    """

    async def refuse(ctx: ActorContext[Any], message: Any) -> Behavior[Any]:
        for request in [message, *ctx.drain(ctx.queued)]:
            if isinstance(request, Request) and request.reply_to is not None:
                request.reply_to.fail(error)
        return STOPPED

    return Behaviors.receive(refuse)


class _Runtime(Generic[S]):
    __slots__ = (
        "ctx",
        "journal",
        "max_batch",
        "pending",
        "pid",
        "seq",
        "snapshot_seq",
        "state",
        "timer",
        "timer_at",
        "type",
    )

    def __init__(
        self,
        entity_type: EntityType[S, Any, Any],
        persistence_id: str,
        journal: EventJournal,
        ctx: ActorContext[Any],
        max_batch: int,
    ) -> None:
        self.type = entity_type
        self.pid = persistence_id
        self.journal = journal
        self.ctx = ctx
        self.max_batch = max_batch
        self.state: S = entity_type.new_state()
        self.seq = 0
        self.snapshot_seq = 0
        self.pending: dict[str, ReplyTo[Any]] = _NO_PENDING  # its own dict on the first park
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at: float | None = None

    # -- recovery ------------------------------------------------------------
    async def recover(self) -> None:
        evolve = self.type.evolve
        journal = self.journal
        if _has_recovery_point(journal):
            # One round trip for the snapshot and the highest number; a new
            # entity (the common case when keys are created) needs no other.
            snapshot, highest = await journal.recovery_point(self.pid)  # type: ignore[attr-defined]
        else:
            snapshot, highest = await journal.load_snapshot(self.pid), -1
        if snapshot is not None:
            state, seq = snapshot.state, snapshot.sequence_nr
        else:
            state, seq = self.type.new_state(), 0
        self.snapshot_seq = seq
        replayed = 0
        if highest < 0 or highest > seq:
            async for stored in journal.read(self.pid, seq + 1):
                state = evolve(state, stored.event)
                seq = stored.sequence_nr
                replayed += 1
        if highest >= 0:
            seq = max(seq, highest)
        elif seq == 0:
            seq = await journal.highest_sequence_nr(self.pid)
        self.state, self.seq = state, seq
        if replayed:
            await self._maybe_snapshot()
        self._arm_timer()

    # -- message handling ------------------------------------------------------
    async def handle(self, ctx: ActorContext[Any], message: Any) -> Behavior[Any]:
        if message is Passivate:
            if self.pending or ctx.queued:
                return SAME
            return STOPPED
        batch: list[Request[Any]] = [message]
        if ctx.queued:
            batch.extend(m for m in ctx.drain(self.max_batch - 1) if m is not Passivate)
        await self._process(batch)
        return SAME

    def handle_now(self, ctx: ActorContext[Any], message: Any) -> bool:
        """Handle one request at once, in the sender's call (journals that never wait only).

        The common case — ``decide``, ``evolve``, append, replies — runs
        straight through; anything unusual (a failing ``decide`` or
        ``evolve``, a refused append, a due snapshot) runs the general
        coroutine, which with a ``synchronous`` journal never suspends.
        """
        if type(message) is not Request:
            return False
        entity_type = self.type
        try:
            effect = entity_type.decide(self.state, message.command)
        except Exception:
            _drive(self._process([message]))  # decide is pure: the general path reports the error
            return True
        events = effect.events
        if events:
            state = self.state
            evolve = entity_type.evolve
            try:
                for event in events:
                    state = evolve(state, event)
            except Exception as exc:
                _log.exception("evolve of %s failed", self.pid)
                _drive(self._fail_batch([message], _failure(self.pid, exc)))
                return True
            try:
                self.seq = self.journal.append_now(self.pid, events, self.seq)  # type: ignore[attr-defined]
            except Exception as exc:
                _drive(self._fail_batch([message], exc))
                return True
            self.state = state
        actions = effect.actions
        if len(actions) == 1 and type(actions[0]) is Reply and not self.pending:
            # The common case: one answer to this caller.
            target = message.reply_to
            if target is not None:
                value = actions[0].value
                if type(value) is Failure:
                    target.fail(value.error)
                else:
                    target.succeed(value)
        elif actions or self.pending:
            self._run_actions(((message, actions),))
        if events:
            every = entity_type.snapshot_every
            if every is not None and self.seq - self.snapshot_seq >= every:
                _drive(self._maybe_snapshot())
        if entity_type.wakeup is not None:
            self._arm_timer()
        return True

    async def _process(self, batch: list[Request[Any]]) -> None:
        decide, evolve = self.type.decide, self.type.evolve
        state = self.state
        events: list[Any] = []
        actions: list[tuple[Request[Any], tuple[Any, ...]]] = []
        for request in batch:
            try:
                effect = decide(state, request.command)
            except CastyError as exc:
                actions.append((request, (Reply(Failure(exc)),)))
                continue
            except Exception as exc:
                _log.exception("decide of %s failed on %r", self.pid, request.command)
                actions.append((request, (Reply(Failure(_failure(self.pid, exc))),)))
                continue
            if effect.events:
                try:
                    for event in effect.events:
                        state = evolve(state, event)
                except Exception as exc:
                    _log.exception("evolve of %s failed", self.pid)
                    await self._fail_batch(batch, _failure(self.pid, exc))
                    return
                events.extend(effect.events)
            if effect.actions:
                actions.append((request, effect.actions))
        if events:
            try:
                self.seq = await self.journal.append(self.pid, events, self.seq)
            except SerializationError as exc:
                if len(batch) > 1:
                    # Nothing was written: rebuild, then retry each command alone
                    # so only the one with the bad value fails.
                    await self.recover()  # forget the in-memory state: the journal is the truth
                    for request in batch:
                        await self._process([request])
                    return
                await self._fail_batch(batch, exc)
                return
            except Exception as exc:
                await self._fail_batch(batch, exc)
                return
        self.state = state
        self._run_actions(actions)
        if events:
            await self._maybe_snapshot()
        self._arm_timer()

    def _run_actions(self, actions: Iterable[tuple[Request[Any], tuple[Any, ...]]]) -> None:
        """Send replies, park and notify callers: each request with its effect's actions, in order."""
        pending = self.pending
        for request, request_actions in actions:
            for action in request_actions:
                kind = type(action)
                if kind is Reply:
                    target = request.reply_to
                    if target is not None:
                        value = action.value
                        if type(value) is Failure:
                            target.fail(value.error)
                        else:
                            target.succeed(value)
                elif kind is Park:
                    if request.reply_to is not None:
                        if pending is _NO_PENDING:
                            pending = self.pending = {}
                        pending[action.request_id] = request.reply_to
                elif kind is Notify:
                    target = pending.pop(action.request_id, None)
                    if target is not None and target.is_waiting:
                        _deliver(target, action.value)
                    elif not isinstance(action.value, Failure):
                        self._abandoned(action.request_id, action.value)
        if pending:
            for rid in [rid for rid, target in pending.items() if not target.is_waiting]:
                del pending[rid]

    def _abandoned(self, request_id: str, value: Any) -> None:
        if self.type.abandon is None:
            return
        command = self.type.abandon(request_id, value, time.time())
        if command is not None:
            self.ctx.send_to_self(Request(command))

    async def _fail_batch(self, batch: list[Request[Any]], error: BaseException) -> None:
        if not isinstance(error, CastyError):
            error = _failure(self.pid, error)
        for request in batch:
            if request.reply_to is not None:
                request.reply_to.fail(error)
        await self.recover()  # forget the in-memory state: the journal is the truth

    # -- snapshots and timers --------------------------------------------------
    async def _maybe_snapshot(self) -> None:
        every = self.type.snapshot_every
        if every is None or self.seq - self.snapshot_seq < every:
            return
        try:
            await self.journal.save_snapshot(self.pid, self.seq, self.state)
            self.snapshot_seq = self.seq
            if self.type.delete_events_on_snapshot:
                await self.journal.delete_events(self.pid, self.seq)
        except Exception:
            # Not fatal: the events are safe; the next attempt comes after `every` more.
            _log.exception("snapshot of %s at %d failed", self.pid, self.seq)
            self.snapshot_seq = self.seq

    def _arm_timer(self) -> None:
        wakeup = self.type.wakeup
        if wakeup is None:
            return
        at = wakeup(self.state)
        if at == self.timer_at:
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.timer_at = at
        if at is not None:
            delay = max(0.0, at - time.time()) + 0.001
            self.timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self.timer = None
        self.timer_at = None
        tick = self.type.tick
        assert tick is not None
        self.ctx.send_to_self(Request(tick(time.time())))

    def stopped(self, ctx: ActorContext[Any]) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for target in self.pending.values():
            target.fail(EntityFailure(f"entity {self.pid!r} stopped while the call was waiting"))
        self.pending = _NO_PENDING


def _has_recovery_point(journal: EventJournal) -> bool:
    """The journal's class offers the optional ``recovery_point`` (see :class:`EventJournal`)."""
    return callable(getattr(type(journal), "recovery_point", None))


def _is_synchronous(journal: EventJournal) -> bool:
    """The journal's *class* says it never waits and offers ``append_now``.

    Looked up on the class, not the instance, so a wrapper that forwards
    attributes to an in-memory journal (``__getattr__``) is not mistaken
    for one: its own ``append`` must run.
    """
    cls = type(journal)
    return getattr(cls, "synchronous", False) is True and callable(getattr(cls, "append_now", None))


def _drive(coro: Coroutine[Any, Any, None]) -> None:
    """Run a runtime coroutine that cannot suspend (its journal is ``synchronous``) to its end."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("a journal that declares itself synchronous suspended")


def _deliver(target: ReplyTo[Any], value: Any) -> None:
    if type(value) is Failure:
        target.fail(value.error)
    else:
        target.succeed(value)


def _failure(pid: str, exc: BaseException) -> EntityFailure:
    err = EntityFailure(f"entity {pid!r} failed: {type(exc).__name__}: {exc}")
    err.__cause__ = exc
    return err
