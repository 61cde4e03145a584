from __future__ import annotations

from pathlib import Path

import pytest

from casty import ActorSystem, Distributed
from casty.errors import InvalidArgument, JournalUnavailable


async def test_distributed_needs_a_gateway() -> None:
    with pytest.raises(InvalidArgument, match="gateway"):
        Distributed(object())  # type: ignore[arg-type]
    async with ActorSystem() as system:
        with pytest.raises(InvalidArgument, match="EventJournal"):
            Distributed(system, journal="sqlite:///x.db")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "a:b", 3, None])
async def test_bad_structure_names(bad: object) -> None:
    async with ActorSystem() as system:
        d = Distributed(system)
        with pytest.raises(InvalidArgument):
            d.counter(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"shards": 0}, {"shards": "3"}, {"timeout": 0}, {"timeout": -1.0}])
async def test_bad_factory_arguments(kwargs: dict[str, object]) -> None:
    async with ActorSystem() as system:
        with pytest.raises(InvalidArgument):
            Distributed(system).counter("c", **kwargs)  # type: ignore[arg-type]


async def test_map_needs_two_type_arguments() -> None:
    async with ActorSystem() as system:
        with pytest.raises(InvalidArgument):
            Distributed(system).map[str]("m")  # type: ignore[index]


def test_unknown_url_scheme() -> None:
    from casty_journal_sql import SqlJournal

    with pytest.raises(InvalidArgument, match="sqlite"):
        SqlJournal("mysql://localhost/db")
    with pytest.raises(InvalidArgument):
        SqlJournal("not a url")


async def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    from casty_journal_sql import SqlJournal

    path = tmp_path / "notes.txt"
    path.write_text("these are not the pages of a database\n" * 100)
    journal = SqlJournal(f"sqlite+aiosqlite:///{path}")
    async with ActorSystem() as system:
        c = Distributed(system, journal=journal).counter("c")
        with pytest.raises(JournalUnavailable, match="not a database"):
            await c.increment()
    await journal.close()
    assert path.read_text().startswith("these are not")  # untouched
