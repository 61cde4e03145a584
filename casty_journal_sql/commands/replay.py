"""``casty-journal replay ID``: an entity's state at any sequence number.

The events are folded through the entity's own reducer (``evolve``), starting
from the newest snapshot at or before the target (``--no-snapshot``: from the
initial state). The seven built-in structures are recognised by the id's
prefix; other entities need ``--entity module:attribute``::

    casty-journal replay counter:hits --url sqlite+aiosqlite:///app.db
    casty-journal replay queue:jobs --to-seq 120 --no-snapshot
    casty-journal replay cart:42 --entity myapp.carts:CART --json
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.pretty import Pretty
from rich.text import Text

from casty.persistence.codec import default_codec
from casty_journal_sql.commands.common import JsonOption, SchemaOption, UrlOption, handle_errors
from casty_journal_sql.commands.support import ImportOption, import_modules, out_console, plural, run
from casty_journal_sql.inspect import JournalReader
from casty_journal_sql.replay import ReplayResult, canonical, entity_type_for
from casty_journal_sql.replay import replay as replay_entity

__all__ = ["register", "replay", "replay_json"]


def replay_json(result: ReplayResult) -> dict[str, Any]:
    """The JSON output of ``replay``: ``state`` is the codec's encoding, sets and maps sorted."""
    return {
        "persistence_id": result.persistence_id,
        "entity_type": result.entity_type,
        "sequence_nr": result.sequence_nr,
        "highest_sequence_nr": result.highest_sequence_nr,
        "snapshot_sequence_nr": result.snapshot_sequence_nr,
        "events_replayed": result.events_replayed,
        "state": canonical(default_codec.encode(result.state)),
    }


async def _replay(
    url: str, schema: str | None, pid: str, spec: str | None, to_seq: int | None, use_snapshot: bool
) -> ReplayResult:
    entity_type = entity_type_for(pid, spec)
    async with JournalReader(url, schema=schema) as reader:
        return await replay_entity(
            reader, pid, entity_type, default_codec, to_sequence_nr=to_seq, use_snapshot=use_snapshot
        )


@handle_errors
def replay(
    persistence_id: Annotated[
        str, typer.Argument(help="The persistence id, e.g. counter:hits.", metavar="ID")
    ],
    url: UrlOption,
    to_seq: Annotated[
        int | None, typer.Option("--to-seq", min=0, help="Replay up to this sequence number (default: all).")
    ] = None,
    no_snapshot: Annotated[
        bool, typer.Option("--no-snapshot", help="Ignore snapshots: fold every event from the initial state.")
    ] = False,
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity",
            help="The EntityType of a non-built-in entity, as module:attribute.",
            metavar="MODULE:ATTR",
        ),
    ] = None,
    imports: ImportOption = None,
    max_items: Annotated[
        int, typer.Option("--max-items", min=0, help="Show at most this many items per container (0: all).")
    ] = 100,
    schema: SchemaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fold an entity's events through its reducer and print the state."""
    import_modules(imports)
    result = run(_replay(url, schema, persistence_id, entity, to_seq, not no_snapshot))
    if as_json:
        typer.echo(json.dumps(replay_json(result), ensure_ascii=False))
        return
    if result.snapshot_sequence_nr is None:
        source = f"{plural(result.events_replayed, 'event')} from the initial state"
    else:
        source = f"snapshot at {result.snapshot_sequence_nr} + {plural(result.events_replayed, 'event')}"
    console = out_console()
    console.print(
        Text(
            f"{result.persistence_id} at sequence number {result.sequence_nr} "
            f"of {result.highest_sequence_nr} ({result.entity_type} reducer, {source}):"
        ),
        soft_wrap=True,
    )
    console.print(
        Pretty(result.state, max_length=max_items or None, max_string=None if max_items == 0 else 500)
    )


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
