"""``casty-journal events ID``: one entity's events, as a table or JSON lines.

::

    casty-journal events counter:hits --url sqlite+aiosqlite:///app.db
    casty-journal events map:users:alice --from 10 --to 20
    casty-journal events queue:jobs --json | jq '.payload'
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from casty.errors import InvalidArgument
from casty.persistence.codec import default_codec
from casty_journal_sql.commands.common import JsonOption, SchemaOption, UrlOption, handle_errors
from casty_journal_sql.commands.support import (
    ImportOption,
    import_modules,
    iso_json,
    iso_time,
    note,
    out_console,
    run,
    short,
)
from casty_journal_sql.inspect import EventRow, JournalReader

__all__ = ["event_json", "events", "register"]

IdArgument = Annotated[
    str, typer.Argument(help="The persistence id, e.g. counter:hits or map:users:alice.", metavar="ID")
]


def event_json(row: EventRow) -> dict[str, Any]:
    """One event as a JSON object; ``payload`` is the stored JSON (text when it is not JSON)."""
    out: dict[str, Any] = {
        "persistence_id": row.persistence_id,
        "sequence_nr": row.sequence_nr,
        "offset": row.offset,
        "written_at": row.written_at,
        "written_at_utc": iso_json(row.written_at),
        "event_type": row.event_type,
        "event_version": row.event_version,
    }
    try:
        out["payload"] = json.loads(row.payload)
    except ValueError as exc:
        out["payload"] = row.payload
        out["error"] = f"payload is not valid JSON: {exc}"
    return out


def _describe(payload: str) -> Text:
    try:
        return short(repr(default_codec.loads(payload)), 300)
    except Exception as exc:
        text = Text(f"undecodable: {exc}", style="bold red")
        text.append("\n")
        text.append(short(payload, 300))
        return text


async def _read(
    url: str,
    schema: str | None,
    pid: str,
    lower: int,
    upper: int | None,
    limit: int,
    emit: Callable[[EventRow], None] | None,
) -> tuple[list[EventRow], int, int | None]:
    """The rows (kept only without ``emit``), the highest sequence number, the next one if more follow."""
    async with JournalReader(url, schema=schema) as reader:
        summary = await reader.entity(pid)
        if summary is None and not await reader.exists(pid):
            raise InvalidArgument(f"unknown persistence id {pid!r} in {reader.url}")
        highest = 0 if summary is None else summary.highest_sequence_nr
        rows: list[EventRow] = []
        shown = 0
        async for row in reader.events(pid, lower, upper, limit=None if limit == 0 else limit + 1):
            if limit and shown == limit:
                return rows, highest, row.sequence_nr
            shown += 1
            if emit is None:
                rows.append(row)
            else:
                emit(row)  # JSON lines are streamed: bounded memory for --limit 0
        return rows, highest, None


@handle_errors
def events(
    persistence_id: IdArgument,
    url: UrlOption,
    from_seq: Annotated[int, typer.Option("--from", min=1, help="First sequence number.")] = 1,
    to_seq: Annotated[
        int | None, typer.Option("--to", min=1, help="Last sequence number (inclusive).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many events (0: all).")] = 1000,
    imports: ImportOption = None,
    schema: SchemaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one entity's events in a range of sequence numbers (--json: one JSON object per line)."""
    if to_seq is not None and to_seq < from_seq:
        raise InvalidArgument(f"--to {to_seq} is before --from {from_seq}")
    import_modules(imports)

    def emit(row: EventRow) -> None:
        typer.echo(json.dumps(event_json(row), ensure_ascii=False))

    rows, highest, next_seq = run(
        _read(url, schema, persistence_id, from_seq, to_seq, limit, emit if as_json else None)
    )
    if not as_json:
        console = out_console()
        if rows:
            table = Table("Seq", "Written (UTC)", "Type", "Event", title=persistence_id)
            for row in rows:
                etype = row.event_type if row.event_version == 1 else f"{row.event_type} v{row.event_version}"
                table.add_row(
                    str(row.sequence_nr), iso_time(row.written_at), short(etype), _describe(row.payload)
                )
            console.print(table)
        else:
            span = f"{from_seq}..{to_seq if to_seq is not None else highest}"
            console.print(
                Text(
                    f"{persistence_id}: no stored events in {span} (highest sequence number "
                    f"{highest}; older events may have been deleted after a snapshot)"
                )
            )
    if next_seq is not None:
        note(f"more events follow: add --from {next_seq} (or --limit 0 for all)")


def register(app: typer.Typer) -> None:
    app.command("events")(events)
