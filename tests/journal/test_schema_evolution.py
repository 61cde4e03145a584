"""Schema evolution: old events and snapshots stay readable when the code changes.

Every stored event and snapshot carries a type name and a schema version (in
the payload and in their own columns). These tests write rows with one version
of the code (a private :class:`Codec` with the old classes registered), then
read them back with the next version (a new ``Codec`` with the new classes,
upcasters and aliases) on SQLite and PostgreSQL, directly and through the
entity runtime. They also check that a row the code cannot read is a
:class:`DecodeError` naming the persistence id and sequence number, never a
silent skip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from casty import ActorSystem, Effect, EntityType, ShardEnvelope
from casty.actors import ask
from casty.errors import DecodeError, SerializationError
from casty.persistence import Codec
from casty.persistence.runtime import Request, entity_behavior

# -- version 1 of an application's events and state ------------------------------


@dataclass(frozen=True)
class ItemAddedV1:
    sku: str
    qty: int


@dataclass(frozen=True)
class CartV1:
    items: dict[str, int]


# -- version 2: a price was added to the event ------------------------------------


@dataclass(frozen=True)
class ItemAddedV2:
    sku: str
    qty: int
    price_cents: int


# -- version 3: ``qty`` renamed to ``quantity``; the cart keeps a total -------------


@dataclass(frozen=True)
class ItemAdded:
    sku: str
    quantity: int
    price_cents: int


@dataclass(frozen=True)
class Cart:
    items: dict[str, int]
    total_cents: int


def v1_codec() -> Codec:
    codec = Codec()
    codec.register(ItemAddedV1, name="shop.ItemAdded")
    codec.register(CartV1, name="shop.Cart")
    return codec


def v2_codec() -> Codec:
    codec = Codec()
    codec.register(
        ItemAddedV2, name="shop.ItemAdded", version=2, upcasters={1: lambda f: {**f, "price_cents": 0}}
    )
    codec.register(CartV1, name="shop.Cart")
    return codec


def _qty_to_quantity(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    out["quantity"] = out.pop("qty")
    return out


def current_codec() -> Codec:
    """The newest code: every old version of the event and the state is upcast on read."""
    codec = Codec()
    codec.register(
        ItemAdded,
        name="shop.ItemAdded",
        version=3,
        upcasters={1: lambda f: {**f, "price_cents": 0}, 2: _qty_to_quantity},
    )
    codec.register(Cart, name="shop.Cart", version=2, upcasters={1: lambda f: {**f, "total_cents": 0}})
    return codec


async def events_of(journal: Any, pid: str, from_seq: int = 1) -> list[Any]:
    return [pe.event async for pe in journal.read(pid, from_seq)]


async def test_old_events_and_snapshots_are_upcast_to_the_current_classes(
    sql_backend: Any, raw_sql: Any
) -> None:
    raw = sql_backend.make()  # only for raw SQL
    old = sql_backend.make(codec=v1_codec())
    assert await old.append("cart-1", [ItemAddedV1("apple", 2), ItemAddedV1("pear", 1)], 0) == 2
    await old.save_snapshot("cart-1", 2, CartV1({"apple": 2, "pear": 1}))
    await old.close()

    rows = await raw_sql(
        raw, "SELECT sequence_nr, event_type, event_version, payload FROM casty_events ORDER BY sequence_nr"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "shop.ItemAdded", 1), (2, "shop.ItemAdded", 1)]
    assert json.loads(rows[0][3]) == {"$t": "shop.ItemAdded", "sku": "apple", "qty": 2}
    assert await raw_sql(raw, "SELECT state_type, state_version FROM casty_snapshots") == [("shop.Cart", 1)]

    # Version 2 of the code appends one event at version 2.
    middle = sql_backend.make(codec=v2_codec())
    assert await events_of(middle, "cart-1") == [ItemAddedV2("apple", 2, 0), ItemAddedV2("pear", 1, 0)]
    await middle.append("cart-1", [ItemAddedV2("fig", 5, 30)], 2)
    await middle.close()

    # The current code reads versions 1 and 2 in one stream, and the old snapshot.
    current = sql_backend.make(codec=current_codec())
    assert await events_of(current, "cart-1") == [
        ItemAdded("apple", 2, 0),
        ItemAdded("pear", 1, 0),
        ItemAdded("fig", 5, 30),
    ]
    assert [pe.event async for pe in current.read_all()][-1] == ItemAdded("fig", 5, 30)
    snapshot = await current.load_snapshot("cart-1")
    assert snapshot is not None and snapshot.state == Cart({"apple": 2, "pear": 1}, 0)
    # New rows are written at the current version; old rows are not rewritten.
    await current.append("cart-1", [ItemAdded("kiwi", 1, 99)], 3)
    await current.save_snapshot("cart-1", 4, Cart({"kiwi": 1}, 99))
    versions = await raw_sql(current, "SELECT sequence_nr, event_version FROM casty_events ORDER BY 1")
    assert versions == [(1, 1), (2, 1), (3, 2), (4, 3)]
    snaps = await raw_sql(current, "SELECT sequence_nr, state_version FROM casty_snapshots ORDER BY 1")
    assert snaps == [(2, 1), (4, 2)]


async def test_nested_values_are_upcast_too(sql_backend: Any) -> None:
    old = sql_backend.make(codec=v1_codec())
    await old.append(
        "nested", [{"batch": [ItemAddedV1("a", 1)], "by_sku": {("a", 1): ItemAddedV1("a", 1)}}], 0
    )
    current = sql_backend.make(codec=current_codec())
    [event] = await events_of(current, "nested")
    assert event == {"batch": [ItemAdded("a", 1, 0)], "by_sku": {("a", 1): ItemAdded("a", 1, 0)}}


# -- renaming and moving classes ----------------------------------------------------


@dataclass(frozen=True)
class PriceChanged:
    """Stands for a class that moved to another module and got a new name."""

    sku: str
    cents: int


async def test_a_class_registered_under_a_stable_name_can_be_renamed_freely(sql_backend: Any) -> None:
    before = Codec()
    before.register(ItemAddedV1, name="shop.ItemAdded")
    journal = sql_backend.make(codec=before)
    await journal.append("renamed", [ItemAddedV1("a", 1)], 0)

    @dataclass(frozen=True)
    class SomethingElseEntirely:  # another module, another name, same stored name
        sku: str
        qty: int

    after = Codec()
    after.register(SomethingElseEntirely, name="shop.ItemAdded")
    assert await events_of(sql_backend.make(codec=after), "renamed") == [SomethingElseEntirely("a", 1)]


async def test_a_moved_class_reads_its_old_default_name_through_aliases(
    sql_backend: Any, raw_sql: Any
) -> None:
    # An unregistered class is stored under its ``module.QualName``; that module is gone now.
    journal = sql_backend.make(codec=Codec())
    await journal.append("moved", [PriceChanged("a", 5)], 0)
    await raw_sql(
        journal,
        "UPDATE casty_events SET payload = :p, event_type = :t",
        {
            "p": '{"$t":"myapp.old_module.PriceUpdate","sku":"a","cents":5}',
            "t": "myapp.old_module.PriceUpdate",
        },
    )
    await journal.save_snapshot("moved", 1, {"last": PriceChanged("a", 5)})
    await raw_sql(
        journal,
        "UPDATE casty_snapshots SET payload = :p",
        {"p": '{"last":{"$t":"myapp.old_module.PriceUpdate","sku":"a","cents":5}}'},
    )

    # Without an alias the old name cannot be resolved: a clear error, nothing skipped.
    with pytest.raises(DecodeError) as info:
        await events_of(sql_backend.make(codec=Codec()), "moved")
    assert (info.value.persistence_id, info.value.sequence_nr) == ("moved", 1)
    assert "myapp.old_module.PriceUpdate" in str(info.value) and "aliases" in str(info.value)

    codec = Codec()
    codec.register(PriceChanged, name="shop.PriceChanged", aliases=("myapp.old_module.PriceUpdate",))
    renamed = sql_backend.make(codec=codec)
    assert await events_of(renamed, "moved") == [PriceChanged("a", 5)]
    snapshot = await renamed.load_snapshot("moved")
    assert snapshot is not None and snapshot.state == {"last": PriceChanged("a", 5)}
    # New rows use the new stable name.
    await renamed.append("moved", [PriceChanged("b", 6)], 1)
    rows = await raw_sql(renamed, "SELECT event_type FROM casty_events ORDER BY sequence_nr")
    assert rows == [("myapp.old_module.PriceUpdate",), ("shop.PriceChanged",)]


def test_registering_a_known_class_again_updates_every_name_it_had() -> None:
    codec = Codec()
    stored = codec.dumps(PriceChanged("a", 1))  # cached under its default name
    default_name = json.loads(stored)["$t"]
    codec.register(PriceChanged, name="shop.PriceChanged")
    assert codec.loads(stored) == PriceChanged("a", 1)
    assert json.loads(codec.dumps(PriceChanged("a", 1)))["$t"] == "shop.PriceChanged"
    assert default_name != "shop.PriceChanged"


# -- registration mistakes are caught early --------------------------------------------


def test_a_version_needs_an_upcaster_from_every_older_version() -> None:
    codec = Codec()
    with pytest.raises(SerializationError, match=r"missing \[1, 2\]"):
        codec.register(ItemAdded, name="x", version=3)
    with pytest.raises(SerializationError, match=r"missing \[2\]"):
        codec.register(ItemAdded, name="x", version=3, upcasters={1: lambda f: f})
    with pytest.raises(SerializationError, match="keyed by the old versions"):
        codec.register(ItemAdded, name="x", version=2, upcasters={1: lambda f: f, 2: lambda f: f})
    with pytest.raises(SerializationError, match="not callable"):
        codec.register(ItemAdded, name="x", version=2, upcasters={1: "nope"})  # type: ignore[dict-item]
    with pytest.raises(SerializationError, match="type name"):
        codec.register(ItemAdded, name="$t")


# -- rows the code cannot read ----------------------------------------------------------


async def test_a_failing_upcaster_is_a_decode_error_naming_pid_and_seq(sql_backend: Any) -> None:
    old = sql_backend.make(codec=v1_codec())
    await old.append("bad-upcast", [ItemAddedV1("a", 1), ItemAddedV1("b", 2)], 0)
    await old.save_snapshot("bad-upcast", 2, CartV1({}))

    def strict(fields: dict[str, Any]) -> dict[str, Any]:
        if fields["sku"] == "b":
            raise ValueError("no price known for b")
        return {**fields, "price_cents": 1}

    codec = Codec()
    codec.register(ItemAddedV2, name="shop.ItemAdded", version=2, upcasters={1: strict})
    codec.register(Cart, name="shop.Cart", version=2, upcasters={1: lambda f: f})  # forgets total_cents
    journal = sql_backend.make(codec=codec)
    seen: list[Any] = []
    with pytest.raises(DecodeError, match="no price known for b") as info:
        async for pe in journal.read("bad-upcast"):
            seen.append(pe.event)
    assert seen == [ItemAddedV2("a", 1, 1)]
    assert (info.value.persistence_id, info.value.sequence_nr) == ("bad-upcast", 2)
    assert "version 1 to 2" in str(info.value)
    with pytest.raises(DecodeError, match="total_cents") as snap_info:
        await journal.load_snapshot("bad-upcast")
    assert (snap_info.value.persistence_id, snap_info.value.sequence_nr) == ("bad-upcast", 2)
    assert "snapshot" in str(snap_info.value)


async def test_a_row_from_newer_code_is_a_decode_error(sql_backend: Any) -> None:
    newer = sql_backend.make(codec=current_codec())
    await newer.append("from-the-future", [ItemAdded("a", 1, 2)], 0)
    older = sql_backend.make(codec=v2_codec())
    with pytest.raises(DecodeError, match="version 3, newer than this code's 2") as info:
        await events_of(older, "from-the-future")
    assert (info.value.persistence_id, info.value.sequence_nr) == ("from-the-future", 1)


async def test_a_malformed_version_tag_is_a_decode_error(sql_backend: Any, raw_sql: Any) -> None:
    journal = sql_backend.make(codec=current_codec())
    await journal.append("odd", [ItemAdded("a", 1, 2)], 0)
    await raw_sql(journal, "UPDATE casty_events SET payload = :p", {"p": '{"$t":"shop.ItemAdded","$v":"3"}'})
    with pytest.raises(DecodeError, match="malformed version") as info:
        await events_of(journal, "odd")
    assert info.value.sequence_nr == 1


# -- through the entity runtime ------------------------------------------------------------


@dataclass(frozen=True)
class AddItem:
    sku: str
    quantity: int
    price_cents: int


@dataclass(frozen=True)
class GetCart:
    pass


def _decide(cart: Cart, command: object) -> Effect[ItemAdded]:
    match command:
        case AddItem(sku, quantity, price):
            return Effect.persist(ItemAdded(sku, quantity, price)).then_reply(None)
        case GetCart():
            return Effect.reply(cart)
    raise TypeError(command)


def _evolve(cart: Cart, event: ItemAdded) -> Cart:
    items = dict(cart.items)
    items[event.sku] = items.get(event.sku, 0) + event.quantity
    return Cart(items, cart.total_cents + event.quantity * event.price_cents)


CART = EntityType(name="cart", initial=Cart({}, 0), decide=_decide, evolve=_evolve, snapshot_every=None)


async def call(region: Any, entity: str, command: Any) -> Any:
    return await ask(region, lambda r: ShardEnvelope(entity, Request(command, r)), timeout=5)


async def test_an_entity_recovers_from_old_events_with_the_current_code(
    sql_backend: Any, raw_sql: Any
) -> None:
    old = sql_backend.make(codec=v1_codec())
    await old.append("cart:c1", [ItemAddedV1("apple", 2), ItemAddedV1("pear", 1)], 0)
    await old.save_snapshot("cart:c1", 1, CartV1({"apple": 2}))
    current = sql_backend.make(codec=current_codec())
    async with ActorSystem() as system:
        region = system.shard_region(
            "cart", lambda eid: entity_behavior(CART, f"cart:{eid}", current), shards=4
        )
        # snapshot (version 1 state, upcast) + the event after it (version 1 event, upcast)
        assert await call(region, "c1", GetCart()) == Cart({"apple": 2, "pear": 1}, 0)
        await call(region, "c1", AddItem("fig", 2, 50))
        assert await call(region, "c1", GetCart()) == Cart({"apple": 2, "pear": 1, "fig": 2}, 100)

    # An undecodable row stops recovery with an error that names it; callers get that error.
    await raw_sql(current, "UPDATE casty_events SET payload = '{broken' WHERE sequence_nr = 2")
    fresh = sql_backend.make(codec=current_codec())
    async with ActorSystem() as system:
        region = system.shard_region(
            "cart", lambda eid: entity_behavior(CART, f"cart:{eid}", fresh), shards=4
        )
        with pytest.raises(DecodeError) as info:
            await call(region, "c1", GetCart())
        assert (info.value.persistence_id, info.value.sequence_nr) == ("cart:c1", 2)
