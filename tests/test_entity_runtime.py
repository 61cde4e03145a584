"""The entity runtime with a user-defined entity: persist-then-reply, failures, snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from casty import ActorSystem, Effect, EntityType, InMemoryJournal, ShardEnvelope
from casty.actors import ask
from casty.errors import EntityFailure, JournalError, SerializationError
from casty.persistence import PersistedEvent, serializable
from casty.persistence.runtime import Request, entity_behavior


@serializable("tests.Deposited")
@dataclass(frozen=True)
class Deposited:
    amount: int


@dataclass(frozen=True)
class Deposit:
    amount: Any


@dataclass(frozen=True)
class Balance:
    pass


def decide(balance: int, command: object) -> Effect[Deposited]:
    match command:
        case Deposit(amount) if amount == 13:
            raise RuntimeError("unlucky")
        case Deposit(amount):
            return Effect.persist(Deposited(amount)).then_reply(balance + _value(amount))
        case Balance():
            return Effect.reply(balance)
    raise TypeError(command)


def _value(amount: Any) -> int:
    return amount if isinstance(amount, int) else 0


ACCOUNT = EntityType(
    name="account", initial=0, decide=decide, evolve=lambda b, e: b + _value(e.amount), snapshot_every=10
)


class CountingJournal:
    """Wraps a journal and counts the events that ``read`` streams."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.events_read = 0
        self.fail_appends = False

    async def append(self, pid: str, events: Sequence[Any], expected: int) -> int:
        if self.fail_appends:
            raise JournalError("disk on fire")
        return await self.inner.append(pid, events, expected)  # type: ignore[no-any-return]

    async def read(
        self, pid: str, from_seq: int = 1, to_seq: int | None = None
    ) -> AsyncIterator[PersistedEvent]:
        async for pe in self.inner.read(pid, from_seq, to_seq):
            self.events_read += 1
            yield pe

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def call(system: ActorSystem, region: Any, entity: str, command: Any) -> Any:
    return await ask(region, lambda r: ShardEnvelope(entity, Request(command, r)), timeout=2)


def region_for(system: ActorSystem, journal: Any, name: str = "account") -> Any:
    return system.shard_region(
        name, lambda eid: entity_behavior(ACCOUNT, f"account:{eid}", journal), shards=10
    )


async def test_user_entity_persists_and_recovers_from_snapshot_plus_tail() -> None:
    inner = InMemoryJournal()
    journal = CountingJournal(inner)
    async with ActorSystem() as system:
        region = region_for(system, journal)
        for _ in range(25):
            await call(system, region, "acct-1", Deposit(2))
        assert await call(system, region, "acct-1", Balance()) == 50
    assert (await inner.load_snapshot("account:acct-1")).sequence_nr == 20  # type: ignore[union-attr]
    journal.events_read = 0
    async with ActorSystem() as system:
        region = region_for(system, journal)
        assert await call(system, region, "acct-1", Balance()) == 50
    assert journal.events_read == 5  # only the tail after the snapshot


async def test_failing_decide_answers_with_entity_failure_and_entity_keeps_working() -> None:
    async with ActorSystem() as system:
        region = region_for(system, InMemoryJournal())
        await call(system, region, "a", Deposit(5))
        with pytest.raises(EntityFailure, match="unlucky"):
            await call(system, region, "a", Deposit(13))
        assert await call(system, region, "a", Deposit(1)) == 6


async def test_unserializable_event_fails_only_its_caller(tmp_path: Path) -> None:
    from casty_journal_sql import SqlJournal

    journal = SqlJournal(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
    async with ActorSystem() as system:
        region = region_for(system, journal)
        results = await asyncio.gather(
            call(system, region, "b", Deposit(1)),
            call(system, region, "b", Deposit(object())),
            call(system, region, "b", Deposit(2)),
            return_exceptions=True,
        )
        # the three commands are decided as one batch; only the bad one fails
        assert results[0] == 1 and results[2] == 3
        assert isinstance(results[1], SerializationError)
        assert await call(system, region, "b", Balance()) == 3
    await journal.close()


async def test_journal_failure_fails_the_batch_and_loses_nothing_acknowledged() -> None:
    journal = CountingJournal(InMemoryJournal())
    async with ActorSystem() as system:
        region = region_for(system, journal)
        assert await call(system, region, "c", Deposit(10)) == 10
        journal.fail_appends = True
        with pytest.raises(JournalError, match="disk on fire"):
            await call(system, region, "c", Deposit(5))
        journal.fail_appends = False
        assert await call(system, region, "c", Balance()) == 10  # the failed write is not in the state
        assert await call(system, region, "c", Deposit(1)) == 11
