"""``casty-journal snapshots ID``: the snapshots kept for one entity.

::

    casty-journal snapshots counter:hits --url sqlite+aiosqlite:///app.db
    casty-journal snapshots queue:jobs --json
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from casty.errors import InvalidArgument
from casty.persistence.codec import default_codec
from casty_journal_sql.commands.common import JsonOption, SchemaOption, UrlOption, handle_errors
from casty_journal_sql.commands.support import (
    ImportOption,
    human_bytes,
    import_modules,
    iso_json,
    iso_time,
    out_console,
    run,
    short,
)
from casty_journal_sql.inspect import JournalReader, SnapshotRow

__all__ = ["register", "snapshots"]


async def _read(url: str, schema: str | None, pid: str) -> list[SnapshotRow]:
    async with JournalReader(url, schema=schema) as reader:
        if not await reader.exists(pid):
            raise InvalidArgument(f"unknown persistence id {pid!r} in {reader.url}")
        return await reader.snapshots(pid)


def _state(payload: str) -> Text:
    try:
        return short(repr(default_codec.loads(payload)), 300)
    except Exception as exc:
        return Text(f"undecodable: {exc}", style="bold red")


def _json(row: SnapshotRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "persistence_id": row.persistence_id,
        "sequence_nr": row.sequence_nr,
        "written_at": row.written_at,
        "written_at_utc": iso_json(row.written_at),
        "state_type": row.state_type,
        "state_version": row.state_version,
        "bytes": len(row.payload.encode()),
    }
    try:
        out["payload"] = json.loads(row.payload)
    except ValueError as exc:
        out["payload"] = row.payload
        out["error"] = f"payload is not valid JSON: {exc}"
    return out


@handle_errors
def snapshots(
    persistence_id: Annotated[str, typer.Argument(help="The persistence id.", metavar="ID")],
    url: UrlOption,
    imports: ImportOption = None,
    schema: SchemaOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the snapshots kept for an entity, oldest first (--json: one JSON object per line)."""
    import_modules(imports)
    rows = run(_read(url, schema, persistence_id))
    if as_json:
        for row in rows:
            typer.echo(json.dumps(_json(row), ensure_ascii=False))
        return
    console = out_console()
    if not rows:
        console.print(Text(f"{persistence_id}: no snapshots"))
        return
    table = Table("Seq", "Written (UTC)", "Type", "Size", "State", title=persistence_id)
    for row in rows:
        stype = row.state_type if row.state_version == 1 else f"{row.state_type} v{row.state_version}"
        table.add_row(
            str(row.sequence_nr),
            iso_time(row.written_at),
            short(stype),
            human_bytes(len(row.payload.encode())),
            _state(row.payload),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("snapshots")(snapshots)
