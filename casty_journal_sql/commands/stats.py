"""``casty-journal stats``: entities, events and bytes per structure type.

::

    casty-journal stats --url postgresql+asyncpg://app@db/app
    casty-journal stats --type map --json
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from casty_journal_sql.commands.common import JsonOption, SchemaOption, UrlOption, handle_errors
from casty_journal_sql.commands.support import (
    KindOption,
    PrefixOption,
    human_bytes,
    iso_json,
    iso_time,
    out_console,
    resolve_prefix,
    run,
)
from casty_journal_sql.inspect import JournalReader, KindStats

__all__ = ["register", "stats"]


async def _stats(url: str, schema: str | None, prefix: str) -> tuple[list[KindStats], float | None]:
    async with JournalReader(url, schema=schema) as reader:
        return await reader.stats(prefix), await reader.last_write()


@handle_errors
def stats(
    url: UrlOption,
    prefix: PrefixOption = "",
    kind: KindOption = None,
    schema: SchemaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Count entities, events, snapshots and their payload bytes per structure type."""
    rows, last = run(_stats(url, schema, resolve_prefix(prefix, kind)))
    total = KindStats(
        "total",
        sum(r.entities for r in rows),
        sum(r.events for r in rows),
        sum(r.event_bytes for r in rows),
        sum(r.snapshots for r in rows),
        sum(r.snapshot_bytes for r in rows),
    )
    if as_json:

        def obj(r: KindStats) -> dict[str, object]:
            return {
                "kind": r.kind,
                "entities": r.entities,
                "events": r.events,
                "event_bytes": r.event_bytes,
                "snapshots": r.snapshots,
                "snapshot_bytes": r.snapshot_bytes,
            }

        typer.echo(
            json.dumps(
                {
                    "kinds": [obj(r) for r in rows],
                    "total": obj(total),
                    "last_write": last,
                    "last_write_utc": None if last is None else iso_json(last),
                },
                ensure_ascii=False,
            )
        )
        return
    table = Table(
        "Type",
        "Entities",
        "Events",
        "Event bytes",
        "Snapshots",
        "Snapshot bytes",
        caption=f"last write {iso_time(last)}",
        show_footer=False,
    )
    for r in [*rows, total]:
        table.add_row(
            r.kind or "(no prefix)",
            str(r.entities),
            str(r.events),
            human_bytes(r.event_bytes),
            str(r.snapshots),
            human_bytes(r.snapshot_bytes),
            end_section=r is rows[-1] if rows else False,
            style="bold" if r is total else None,
        )
    out_console().print(table)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
