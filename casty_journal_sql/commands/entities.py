"""``casty-journal entities``: the persistence ids of a journal, with counts.

::

    casty-journal entities --url sqlite+aiosqlite:///app.db
    casty-journal entities --type map --limit 50 --after 'map:users:bob'
    casty-journal entities --prefix counter: --json        # JSON lines, one entity each
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from casty_journal_sql.commands.common import JsonOption, SchemaOption, UrlOption, handle_errors
from casty_journal_sql.commands.support import (
    KindOption,
    PrefixOption,
    iso_json,
    iso_time,
    note,
    out_console,
    resolve_prefix,
    run,
    short,
)
from casty_journal_sql.inspect import EntitySummary, JournalReader

__all__ = ["entities", "register"]


async def _list(
    url: str,
    schema: str | None,
    prefix: str,
    after: str | None,
    limit: int,
    emit: Callable[[EntitySummary], None] | None,
) -> tuple[list[EntitySummary], str | None]:
    """The entities (kept only without ``emit``) and the id to continue after when more follow."""
    async with JournalReader(url, schema=schema) as reader:
        found: list[EntitySummary] = []
        shown = 0
        last: str | None = None
        async for e in reader.entities(prefix, after=after, limit=None if limit == 0 else limit + 1):
            if limit and shown == limit:
                return found, last
            shown += 1
            last = e.persistence_id
            if emit is None:
                found.append(e)
            else:
                emit(e)  # JSON lines are streamed: bounded memory for --limit 0
        return found, None


def _json(e: EntitySummary) -> str:
    return json.dumps(
        {
            "persistence_id": e.persistence_id,
            "kind": e.kind,
            "events": e.events,
            "highest_sequence_nr": e.highest_sequence_nr,
            "last_written_at": e.last_written_at,
            "last_written_at_utc": iso_json(e.last_written_at),
        },
        ensure_ascii=False,
    )


@handle_errors
def entities(
    url: UrlOption,
    prefix: PrefixOption = "",
    kind: KindOption = None,
    after: Annotated[
        str | None,
        typer.Option(
            "--after",
            help="Start after this persistence id (the last one of the previous page).",
            metavar="ID",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many entities (0: all).")] = 100,
    schema: SchemaOption = None,
    as_json: JsonOption = False,
) -> None:
    """List persistence ids with their event count, highest sequence number and last write time."""

    def emit(e: EntitySummary) -> None:
        typer.echo(_json(e))

    found, more_after = run(
        _list(url, schema, resolve_prefix(prefix, kind), after, limit, emit if as_json else None)
    )
    if not as_json:
        table = Table("Persistence id", "Kind", "Events", "Highest seq", "Last write (UTC)")
        for e in found:
            table.add_row(
                short(e.persistence_id, 200),
                e.kind or "-",
                str(e.events),
                str(e.highest_sequence_nr),
                iso_time(e.last_written_at),
            )
        console = out_console()
        if found:
            console.print(table)
        else:
            console.print("no entities" + (f" after {after!r}" if after else ""))
    if more_after is not None:
        note(f"more entities follow: add --after {shlex.quote(more_after)}")


def register(app: typer.Typer) -> None:
    app.command("entities")(entities)
