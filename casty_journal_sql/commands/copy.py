"""``casty-journal copy --from URL --to URL``: move a journal between SQLite and PostgreSQL.

Rows are copied verbatim (ids, sequence numbers, timestamps, stored JSON);
the copy is resumable (run it again after an interruption) and idempotent,
and every entity is compared between source and target at the end::

    casty-journal copy --from sqlite+aiosqlite:///app.db --to postgresql+asyncpg://app@db/app --migrate
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from casty.errors import InvalidArgument
from casty_journal_sql.commands.common import EXIT_FAILURE, JsonOption, handle_errors
from casty_journal_sql.commands.support import (
    KindOption,
    PrefixOption,
    ProgressBar,
    out_console,
    plural,
    resolve_prefix,
    run,
    short,
)
from casty_journal_sql.engine import parse_url
from casty_journal_sql.inspect import JournalReader
from casty_journal_sql.transfer import JournalWriter, TransferResult, copy_journal

__all__ = ["copy", "register"]


async def _copy(
    source_url: str,
    source_schema: str | None,
    target_url: str,
    target_schema: str | None,
    prefix: str,
    migrate: bool,
    batch_size: int,
    compare: bool,
    show_progress: bool,
) -> tuple[TransferResult, str, str]:
    async with JournalReader(source_url, schema=source_schema) as source:
        target = JournalWriter(target_url, schema=target_schema)
        await target.open(migrate_schema=migrate)
        try:
            with ProgressBar(enabled=show_progress) as bar:
                result = await copy_journal(
                    source,
                    target,
                    prefix=prefix,
                    batch_size=batch_size,
                    compare_payloads=compare,
                    progress=bar,
                )
        finally:
            await target.close()
        return result, source.url, target.url


@handle_errors
def copy(
    source: Annotated[str, typer.Option("--from", help="URL of the journal to copy.", metavar="URL")],
    target: Annotated[str, typer.Option("--to", help="URL of the journal to copy into.", metavar="URL")],
    source_schema: Annotated[
        str | None, typer.Option("--from-schema", help="PostgreSQL schema of the source.", metavar="SCHEMA")
    ] = None,
    target_schema: Annotated[
        str | None, typer.Option("--to-schema", help="PostgreSQL schema of the target.", metavar="SCHEMA")
    ] = None,
    prefix: PrefixOption = "",
    kind: KindOption = None,
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Create or upgrade the target's schema first.")
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 1000,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare-payloads",
            help="After the copy also compare every row field by field (reads both journals again).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Copy events and snapshots verbatim into another journal; resumable, checked at the end."""
    a, b = parse_url(source), parse_url(target)
    if a == b and source_schema == target_schema:
        raise InvalidArgument("--from and --to name the same journal")
    result, shown_from, shown_to = run(
        _copy(
            source,
            source_schema,
            target,
            target_schema,
            resolve_prefix(prefix, kind),
            migrate,
            batch_size,
            compare,
            not as_json,
        )
    )
    if as_json:
        typer.echo(json.dumps({"from": shown_from, "to": shown_to, **result.to_json()}, ensure_ascii=False))
    else:
        console = out_console()
        events = plural(result.events_written, "event")
        snaps = plural(result.snapshots_written, "snapshot")
        copied = f"copied {events} ({result.events_skipped} already present) and {snaps}"
        console.print(Text(f"{copied} from {shown_from} to {shown_to}"), soft_wrap=True)
        checked = plural(result.entities_checked, "entity", "entities")
        if result.mismatches:
            table = Table("Persistence id", "Difference", title="Entities that differ after the copy")
            for m in result.mismatches[:1000]:
                table.add_row(short(m.persistence_id, 200), short(m.detail, 400))
            console.print(table)
            failed = f"FAILED: {len(result.mismatches)} of {checked} differ"
            console.print(Text(failed, style="bold red"), soft_wrap=True)
        else:
            console.print(Text(f"checked {checked}: source and target match", style="green"), soft_wrap=True)
    if result.mismatches:
        raise typer.Exit(EXIT_FAILURE)


def register(app: typer.Typer) -> None:
    app.command("copy")(copy)
