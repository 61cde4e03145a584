"""``replay`` and ``verify`` of a user-defined entity, named by ``--entity module:attribute``."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from casty import ActorSystem, ShardEnvelope
from casty.actors import ask
from casty.persistence.runtime import Request, entity_behavior
from casty_journal_sql import SqlJournal

from .conftest import cli, run_async

MODULE = textwrap.dedent(
    """
    from dataclasses import dataclass

    from casty import Effect, EntityType
    from casty.persistence import serializable


    @serializable("clitest.cart.ItemAdded")
    @dataclass(frozen=True)
    class ItemAdded:
        sku: str
        quantity: int


    @dataclass
    class Cart:
        items: dict[str, int]


    def decide(cart: Cart, command: tuple[str, int]) -> Effect[ItemAdded]:
        sku, quantity = command
        return Effect.persist(ItemAdded(sku, quantity)).then_reply(cart.items.get(sku, 0) + quantity)


    def evolve(cart: Cart, event: ItemAdded) -> Cart:
        return Cart({**cart.items, event.sku: cart.items.get(event.sku, 0) + event.quantity})


    CART = EntityType(name="cart", initial=lambda: Cart({}), decide=decide, evolve=evolve, snapshot_every=4)
    """
)


@pytest.fixture
def cart_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A user module in the current directory (as a user's own package would be)."""
    name = f"clitest_carts_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


async def _shop(url: str, module: Any) -> None:
    journal = SqlJournal(url)
    async with ActorSystem() as system:
        region = system.shard_region(
            "cart", lambda eid: entity_behavior(module.CART, f"cart:{eid}", journal), shards=4
        )
        for sku, quantity in [("apple", 2), ("pear", 1), ("apple", 3), ("fig", 5), ("pear", 1), ("fig", 1)]:
            await ask(region, lambda r, c=(sku, quantity): ShardEnvelope("alice", Request(c, r)), timeout=5)
    await journal.close()


def test_replay_and_verify_a_user_entity(cart_module: Any, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    run_async(_shop(url, cart_module))
    spec = f"{cart_module.__name__}:CART"

    without = cli("replay", "cart:alice", "--url", url)
    assert without.exit_code == 2 and "--entity module:attribute" in without.stderr

    result = cli("replay", "cart:alice", "--entity", spec, "--json", "--url", url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["entity_type"] == "cart" and data["sequence_nr"] == 6
    assert data["state"]["items"] == {"apple": 5, "fig": 6, "pear": 2}
    assert data["snapshot_sequence_nr"] == 4 and data["events_replayed"] == 2

    early = json.loads(
        cli("replay", "cart:alice", "--entity", spec, "--to-seq", "3", "--json", "--url", url).stdout
    )
    assert early["state"]["items"] == {"apple": 5, "pear": 1} and early["snapshot_sequence_nr"] is None
    human = cli("replay", "cart:alice", "--entity", spec, "--url", url)
    assert "cart reducer, snapshot at 4 + 2 events" in human.stdout and "'fig': 6" in human.stdout

    events = cli("events", "cart:alice", "--url", url, "--import", cart_module.__name__)
    assert events.exit_code == 0 and "ItemAdded(sku='fig', quantity=5)" in events.stdout

    # Without the reducer verify cannot compare the snapshot; with --entity it does.
    plain = json.loads(cli("verify", "--json", "--url", url).stdout)
    assert plain["ok"] and plain["snapshots_checked"] == 0 and plain["snapshots_unchecked"] == 1
    checked = json.loads(cli("verify", "--json", "--entity", f"cart={spec}", "--url", url).stdout)
    assert checked["ok"] and checked["snapshots_checked"] == 1

    bad_import = cli("events", "cart:alice", "--url", url, "--import", "no_such_module_xyz")
    assert bad_import.exit_code == 2 and "cannot import --import no_such_module_xyz" in bad_import.stderr
