from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import pytest

from casty import ActorSystem, Distributed
from casty.errors import InvalidArgument, SerializationError

from .conftest import Backend


@dataclass(frozen=True)
class User:
    name: str
    age: int


async def test_map_operations(d: Distributed, name: str) -> None:
    users = d.map[str, User](name, shards=10)
    assert await users.get("alice") is None
    assert await users.contains("alice") is False
    assert await users.put("alice", User("Alice", 30)) is None
    assert await users.put("alice", User("Alice", 31)) == User("Alice", 30)
    assert await users.get("alice") == User("Alice", 31)
    assert await users.contains("alice") is True
    assert await users.put_if_absent("alice", User("X", 1)) == User("Alice", 31)
    assert await users.put_if_absent("bob", User("Bob", 5)) is None
    assert await users.delete("alice") is True
    assert await users.delete("alice") is False
    assert await users.get("alice", User("default", 0)) == User("default", 0)
    assert await users.get("bob") == User("Bob", 5)


async def test_map_non_string_keys(d: Distributed, name: str) -> None:
    m = d.map[tuple, int](name)  # type: ignore[type-arg]
    await m.put((1, "a"), 1)
    await m.put((1, "b"), 2)
    assert await m.get((1, "a")) == 1
    assert await m.get((1, "b")) == 2


async def test_map_wrong_types_are_refused(d: Distributed, name: str) -> None:
    users = d.map[str, User](name)
    with pytest.raises(InvalidArgument):
        await users.put(1, User("a", 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        await users.put("a", "not a user")  # type: ignore[arg-type]
    assert await users.put("a", User("a", 1)) is None


async def test_unserializable_value_fails_at_the_call_and_map_keeps_working(
    d: Distributed, name: str
) -> None:
    m = d.map[str, object](name)
    with socket.socket() as sock, pytest.raises(SerializationError, match="socket"):
        await m.put("k", sock)
    with pytest.raises(SerializationError):
        await m.put("k", {"nested": [object()]})
    assert await m.get("k") is None
    assert await m.put("k", {"ok": [1, 2]}) is None
    assert await m.get("k") == {"ok": [1, 2]}


async def test_map_survives_restart(backend: Backend, name: str) -> None:
    journal = await backend.open()
    async with ActorSystem() as system:
        m = Distributed(system, journal=journal).map[str, User](name)
        await asyncio.gather(*(m.put(f"u{i}", User(f"n{i}", i)) for i in range(50)))
        await m.delete("u3")
    await backend.close(journal)
    journal = await backend.open()
    async with ActorSystem() as system:
        m = Distributed(system, journal=journal).map[str, User](name)
        assert await m.get("u7") == User("n7", 7)
        assert await m.get("u3") is None
    await backend.close(journal)


async def test_set_operations(d: Distributed, name: str) -> None:
    tags = d.set[str](name)
    assert await tags.add("a") is True
    assert await tags.add("a") is False
    assert await tags.add("b") is True
    assert await tags.contains("a") is True
    assert await tags.contains("z") is False
    assert await tags.size() == 2
    assert await tags.remove("a") is True
    assert await tags.remove("a") is False
    assert await tags.members() == frozenset({"b"})
    assert await tags.clear() == 1
    assert await tags.size() == 0


async def test_set_bad_members(d: Distributed, name: str) -> None:
    anything = d.set[object](name)
    with pytest.raises(InvalidArgument, match="hashable"):
        await anything.add([1, 2])
    typed = d.set[int](name + "i")
    with pytest.raises(InvalidArgument):
        await typed.add("1")  # type: ignore[arg-type]
    assert await typed.add(1) is True


async def test_set_concurrent_adds_and_restart(backend: Backend, name: str) -> None:
    journal = await backend.open()
    async with ActorSystem() as system:
        s = Distributed(system, journal=journal).set[int](name)
        added = await asyncio.gather(*(s.add(i % 600) for i in range(1200)))
        assert sum(added) == 600
    await backend.close(journal)
    journal = await backend.open()
    async with ActorSystem() as system:
        s = Distributed(system, journal=journal).set[int](name)
        assert await s.size() == 600
        assert await s.contains(599)
    await backend.close(journal)


async def test_map_keys_and_size(d: Distributed, name: str) -> None:
    m = d.map[object, int](name)
    for key in ["a", "~tilde", ("t", 1), 7]:
        await m.put(key, 1)
    await m.delete(7)
    keys = [k async for k in m.keys()]
    assert sorted(map(repr, keys)) == sorted(map(repr, ["a", "~tilde", ("t", 1)]))
    assert await m.size() == 3


async def test_long_keys(d: Distributed, name: str) -> None:
    m = d.map[str, int](name)
    long_key = "https://example.com/" + "x" * 1000
    other = long_key + "y"
    assert await m.put(long_key, 1) is None
    assert await m.put(other, 2) is None
    assert await m.put(long_key, 3) == 1
    assert await m.get(long_key) == 3 and await m.get(other) == 2
    assert sorted([k async for k in m.keys()]) == [long_key, other]


async def test_awkward_values_round_trip_or_fail_clearly(d: Distributed, name: str) -> None:
    m = d.map[str, object](name)
    huge = -(10**5000)
    await m.put("huge", huge)
    assert await m.get("huge") == huge
    cyclic: list[object] = []
    cyclic.append(cyclic)
    deep: list[object] = []
    for _ in range(10_000):
        deep = [deep]
    for bad in (cyclic, deep):
        with pytest.raises(SerializationError, match="nested too deeply"):
            await m.put("bad", bad)
    await m.put("nul\x00key", 1)
    assert await m.get("nul\x00key") == 1
    assert "nul\x00key" in [k async for k in m.keys()]
    ints = d.set[int](name + "i")
    with pytest.raises(InvalidArgument):
        await ints.add(True)
    anything = d.set[object](name + "o")
    assert await anything.add(True) is True
