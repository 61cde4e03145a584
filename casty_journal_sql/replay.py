"""Rebuild an entity's state from the journal, as the runtime does on recovery.

The seven built-in structures are found from the persistence id's prefix
(``counter:hits`` → the counter reducer, see
:data:`casty.distributed.facade.STRUCTURES`); any other entity is named by a
``module:attribute`` spec that points at its :class:`~casty.persistence.EntityType`.

:func:`replay` starts from the newest snapshot at or before the requested
sequence number (or from the initial state) and folds the stored events after
it through ``evolve``, streaming them page by page.

:func:`canonical` puts encoded values in a form where equal values compare
equal as JSON (set members and map entries sorted), which is how ``verify``
compares a snapshot with a replay:

    >>> canonical({"$set": ["b", "a"]}) == canonical({"$set": ["a", "b"]})
    True
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from casty.distributed.facade import STRUCTURES
from casty.errors import DecodeError, InvalidArgument, JournalError
from casty.persistence.codec import Codec
from casty.persistence.entity import EntityType
from casty_journal_sql.inspect import JournalReader, structure_kind

__all__ = [
    "BUILTIN_KINDS",
    "ReplayResult",
    "canonical",
    "decode_payload",
    "entity_type_for",
    "load_entity_type",
    "replay",
]

BUILTIN_KINDS: tuple[str, ...] = tuple(STRUCTURES)
"""Structure kinds the tool knows without ``--entity``: counter, map, set, queue, lock, semaphore, barrier."""


def load_entity_type(spec: str) -> EntityType[Any, Any, Any]:
    """Import ``module:attribute`` (attribute may be dotted) and check it is an ``EntityType``.

    The current directory is importable, as with ``python -m``.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidArgument(f"--entity must look like module:attribute, got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidArgument(f"cannot import module {module_name!r} of --entity {spec}: {exc}") from exc
    except Exception as exc:
        raise InvalidArgument(
            f"importing module {module_name!r} of --entity {spec} failed: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidArgument(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(obj, EntityType):
        raise InvalidArgument(f"--entity {spec} is a {type(obj).__name__}, not a casty EntityType")
    return obj


def entity_type_for(persistence_id: str, spec: str | None = None) -> EntityType[Any, Any, Any]:
    """The reducer of ``persistence_id``: from ``spec`` when given, else its built-in kind."""
    if spec is not None:
        return load_entity_type(spec)
    kind = structure_kind(persistence_id)
    found = STRUCTURES.get(kind)
    if found is None:
        shown = f"kind {kind!r}" if kind else "no 'kind:' prefix"
        raise InvalidArgument(
            f"{persistence_id!r} has {shown}, not a built-in structure ({', '.join(BUILTIN_KINDS)}): "
            "name its EntityType with --entity module:attribute"
        )
    return found


def decode_payload(codec: Codec, persistence_id: str, sequence_nr: int, payload: str) -> Any:
    """Decode a stored payload; raises :class:`DecodeError` naming the row."""
    try:
        return codec.loads(payload)
    except Exception as exc:
        raise DecodeError(persistence_id, sequence_nr, str(exc) or type(exc).__name__) from exc


def canonical(data: Any) -> Any:
    """``data`` (as made by :meth:`Codec.encode`) with unordered collections sorted.

    Sets and frozensets are sorted by their members' JSON, tagged maps by their
    keys' JSON and plain objects by key, so two encodings of equal values are
    equal whatever order the values were built in.
    """
    if isinstance(data, list):
        return [canonical(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        tag = next(iter(data))
        if tag in ("$set", "$frozenset") and isinstance(data[tag], list):
            return {tag: sorted((canonical(v) for v in data[tag]), key=_sort_key)}
        if tag == "$map" and isinstance(data[tag], list):
            pairs = [[canonical(k), canonical(v)] for k, v in data[tag]]
            return {tag: sorted(pairs, key=lambda kv: _sort_key(kv[0]))}
    return {k: canonical(data[k]) for k in sorted(data)}


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """An entity's state at ``sequence_nr``, rebuilt from a snapshot and/or events."""

    persistence_id: str
    entity_type: str
    state: Any
    sequence_nr: int
    highest_sequence_nr: int
    snapshot_sequence_nr: int | None
    events_replayed: int


async def replay(
    reader: JournalReader,
    persistence_id: str,
    entity_type: EntityType[Any, Any, Any],
    codec: Codec,
    *,
    to_sequence_nr: int | None = None,
    use_snapshot: bool = True,
) -> ReplayResult:
    """Fold ``persistence_id``'s events (after the best snapshot) up to ``to_sequence_nr``.

    Raises :class:`InvalidArgument` for an unknown id or a sequence number past
    the highest one, :class:`DecodeError` for an undecodable row and
    :class:`JournalError` when events are missing (a gap, or events deleted by
    retention with no snapshot to start from).
    """
    summary = await reader.entity(persistence_id)
    if summary is None and not await reader.exists(persistence_id):
        raise InvalidArgument(f"unknown persistence id {persistence_id!r} in {reader.url}")
    highest = summary.highest_sequence_nr if summary is not None else 0
    if to_sequence_nr is not None and to_sequence_nr < 0:
        raise InvalidArgument(f"--to-seq must be >= 0, got {to_sequence_nr}")
    target = highest if to_sequence_nr is None else to_sequence_nr
    if target > highest:
        raise InvalidArgument(
            f"--to-seq {target} is past the highest sequence number of {persistence_id!r} ({highest})"
        )
    state: Any = None
    seq = 0
    snapshot_seq: int | None = None
    if use_snapshot and target > 0:
        snap = await reader.latest_snapshot(persistence_id, to_sequence_nr=target)
        if snap is not None:
            try:
                state = decode_payload(codec, persistence_id, snap.sequence_nr, snap.payload)
            except DecodeError as exc:
                raise DecodeError(
                    persistence_id, snap.sequence_nr, f"{exc.reason} (the snapshot; --no-snapshot skips it)"
                ) from exc
            seq = snapshot_seq = snap.sequence_nr
    if snapshot_seq is None:
        state = entity_type.new_state()
    evolve = entity_type.evolve
    replayed = 0
    async for row in reader.events(persistence_id, seq + 1, target, include_deleted=True):
        if row.sequence_nr != seq + 1:
            raise _missing(persistence_id, seq + 1, row.sequence_nr - 1, replayed == 0, use_snapshot)
        if row.deleted:
            raise _missing(persistence_id, seq + 1, row.sequence_nr, True, use_snapshot)
        event = decode_payload(codec, persistence_id, row.sequence_nr, row.payload)
        try:
            state = evolve(state, event)
        except Exception as exc:
            raise JournalError(
                f"the {entity_type.name!r} reducer failed on {persistence_id!r} at sequence number "
                f"{row.sequence_nr}: {type(exc).__name__}: {exc}"
            ) from exc
        seq = row.sequence_nr
        replayed += 1
    if seq != target:
        raise _missing(persistence_id, seq + 1, target, replayed == 0, use_snapshot)
    return ReplayResult(persistence_id, entity_type.name, state, seq, highest, snapshot_seq, replayed)


def _missing(pid: str, first: int, last: int, retention: bool, use_snapshot: bool) -> JournalError:
    span = f"event {first}" if first == last else f"events {first}..{last}"
    if not retention:
        hint = ": the journal has a gap (run `casty-journal verify`)"
    elif use_snapshot:
        hint = " (deleted by retention?) and no snapshot at or before that sequence number covers them"
    else:
        hint = " (deleted by retention?): replay from a snapshot (drop --no-snapshot)"
    return JournalError(f"cannot replay {pid!r}: {span} missing{hint}")
