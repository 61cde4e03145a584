"""``casty-journal verify``: check a journal for gaps, undecodable rows and bad snapshots.

Exit code 0 when nothing is wrong, 1 when a problem was found (each is listed
with its persistence id and sequence number)::

    casty-journal verify --url sqlite+aiosqlite:///app.db
    casty-journal verify --type queue --json
    casty-journal verify --entity cart=myapp.carts:CART     # also check the snapshots of cart:… ids
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from casty.errors import InvalidArgument
from casty.persistence.codec import default_codec
from casty.persistence.entity import EntityType
from casty_journal_sql.commands.common import (
    EXIT_FAILURE,
    JsonOption,
    SchemaOption,
    UrlOption,
    handle_errors,
)
from casty_journal_sql.commands.support import (
    ImportOption,
    KindOption,
    PrefixOption,
    ProgressBar,
    import_modules,
    note,
    out_console,
    plural,
    resolve_prefix,
    run,
    short,
)
from casty_journal_sql.inspect import JournalReader
from casty_journal_sql.replay import load_entity_type
from casty_journal_sql.verify import VerifyReport
from casty_journal_sql.verify import verify as verify_journal

__all__ = ["register", "verify"]


def _entity_types(specs: list[str] | None) -> dict[str, EntityType[Any, Any, Any]]:
    out: dict[str, EntityType[Any, Any, Any]] = {}
    for spec in specs or []:
        kind, sep, target = spec.partition("=")
        if not sep or not kind or ":" in kind:
            raise InvalidArgument(f"--entity must look like KIND=module:attribute, got {spec!r}")
        out[kind] = load_entity_type(target)
    return out


async def _verify(
    url: str,
    schema: str | None,
    prefix: str,
    types: dict[str, EntityType[Any, Any, Any]],
    max_problems: int,
    show_progress: bool,
) -> VerifyReport:
    async with JournalReader(url, schema=schema) as reader:
        total = await reader.count_events(prefix)
        with ProgressBar(enabled=show_progress) as bar:
            bar("verifying", total, -1)
            return await verify_journal(
                reader,
                default_codec,
                prefix=prefix,
                entity_types=types,
                max_problems=max_problems,
                progress=lambda n: bar("verifying", None, n),
            )


@handle_errors
def verify(
    url: UrlOption,
    prefix: PrefixOption = "",
    kind: KindOption = None,
    entity: Annotated[
        list[str] | None,
        typer.Option(
            "--entity",
            help="KIND=module:attribute: the EntityType of ids 'KIND:…' (repeatable), "
            "so their snapshots are checked too.",
            metavar="KIND=MODULE:ATTR",
        ),
    ] = None,
    imports: ImportOption = None,
    max_problems: Annotated[
        int, typer.Option("--max-problems", min=1, help="List at most this many problems (all are counted).")
    ] = 1000,
    schema: SchemaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check every entity: sequence gaps, undecodable rows, snapshots that differ from a replay.

    Exits with 1 when a problem is found.
    """
    import_modules(imports)
    types = _entity_types(entity)
    report = run(_verify(url, schema, resolve_prefix(prefix, kind), types, max_problems, not as_json))
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        console = out_console()
        if report.problems:
            table = Table("Persistence id", "Seq", "Problem", "Detail", title="Problems")
            for p in report.problems:
                table.add_row(
                    short(p.persistence_id, 200),
                    "-" if p.sequence_nr is None else str(p.sequence_nr),
                    p.kind,
                    short(p.detail, 400),
                )
            console.print(table)
        summary = (
            f"checked {plural(report.entities, 'entity', 'entities')}, {plural(report.events, 'event')}, "
            f"{plural(report.snapshots, 'snapshot')} "
            f"({report.snapshots_checked} compared with a replay, "
            f"{report.snapshots_unchecked} not comparable)"
        )
        console.print(Text(summary), soft_wrap=True)
        if report.ok:
            console.print(Text("OK: no problems found", style="green"))
        else:
            listed = len(report.problems)
            shown = "" if report.problem_count == listed else f" (first {listed} listed)"
            failed = f"FAILED: {plural(report.problem_count, 'problem')} found{shown}"
            console.print(Text(failed, style="bold red"), soft_wrap=True)
    if any("unknown type name" in p.detail for p in report.problems):
        note(
            "hint: rows of the application's own types decode after --import MODULE "
            "(the module that registers them)"
        )
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
