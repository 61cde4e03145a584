"""``casty-journal verify``: a clean journal passes; damage is reported by id and sequence number."""

from __future__ import annotations

import json
from typing import Any

import pytest

from casty_journal_sql import SqlJournal

from .conftest import BACKENDS, Target, cli, run_async


def _report(target: Target, *extra: str) -> tuple[int, dict[str, Any]]:
    result = cli("verify", "--json", *extra, *target.args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _problems(report: dict[str, Any]) -> set[tuple[str, int | None, str]]:
    return {(p["persistence_id"], p["sequence_nr"], p["problem"]) for p in report["problems"]}


def test_a_journal_written_by_the_structures_verifies(written: Target) -> None:
    code, report = _report(written)
    assert code == 0 and report["ok"] is True and report["problems"] == []
    assert report["entities"] == 8 and report["events"] == 1006 + 122 + 506 + 4 + 3 + 2 + 2
    # counter, map entry and set snapshots are compared with a replay of the events before them
    assert report["snapshots_checked"] >= 3 and report["snapshots"] >= 3
    human = cli("verify", *written.args)
    assert human.exit_code == 0 and "OK: no problems found" in human.stdout


@pytest.mark.parametrize("damaged", BACKENDS, indirect=True)
def test_a_corrupted_payload_is_named_by_id_and_sequence_number(damaged: Target) -> None:
    damaged.sql(
        "UPDATE casty_events SET payload = :p WHERE persistence_id = 'counter:hits' AND sequence_nr = 3",
        {"p": '{"$t":"casty.counter.Added","delta":'},
    )
    result = cli("verify", *damaged.args)
    assert result.exit_code == 1
    assert "counter:hits" in result.stdout and "undecodable_event" in result.stdout
    assert "FAILED: 1 problem found" in result.stdout
    code, report = _report(damaged)
    assert code == 1 and report["ok"] is False
    assert _problems(report) == {("counter:hits", 3, "undecodable_event")}
    assert "not valid JSON" in report["problems"][0]["detail"]
    # the other entities still verify
    assert _report(damaged, "--type", "map")[0] == 0


@pytest.mark.parametrize("damaged", BACKENDS, indirect=True)
def test_gaps_unknown_types_and_bad_snapshots(damaged: Target) -> None:
    damaged.sql("DELETE FROM casty_events WHERE persistence_id = 'queue:jobs' AND sequence_nr = 2")
    damaged.sql(
        "UPDATE casty_events SET payload = :p WHERE persistence_id = 'lock:deploy' AND sequence_nr = 1",
        {"p": '{"$t":"no.such.Type","x":1}'},
    )
    # Events before a snapshot change: the snapshots no longer match a replay.
    damaged.sql(
        "UPDATE casty_events SET payload = replace(payload, :old, :new) "
        "WHERE persistence_id = 'map:users:alice' AND sequence_nr = 100",
        {"old": '"age":99', "new": '"age":98'},
    )
    set_snapshot = int(
        damaged.sql("SELECT min(sequence_nr) FROM casty_snapshots WHERE persistence_id = 'set:tags'")[0][0]
    )
    damaged.sql(
        "UPDATE casty_events SET payload = replace(payload, :old, :new) "
        "WHERE persistence_id = 'set:tags' AND sequence_nr = 10",
        {"old": '"tag-', "new": '"TAG-'},
    )
    snap = damaged.sql("SELECT max(sequence_nr) FROM casty_snapshots WHERE persistence_id = 'counter:hits'")
    counter_snapshot = int(snap[0][0])
    damaged.sql(
        "UPDATE casty_snapshots SET payload = '12345' WHERE persistence_id = 'counter:hits' "
        "AND sequence_nr = :s",
        {"s": counter_snapshot},
    )
    insert = "INSERT INTO casty_snapshots VALUES (:pid, :seq, 'x', 1, :payload, 0)"
    damaged.sql(insert, {"pid": "set:ghost", "seq": 3, "payload": '{"$set":[]}'})
    damaged.sql(insert, {"pid": "barrier:phase", "seq": 99, "payload": '{"$t":"nope.State"}'})
    code, report = _report(damaged)
    assert code == 1
    assert _problems(report) == {
        ("queue:jobs", 2, "gap"),
        ("lock:deploy", 1, "undecodable_event"),
        ("map:users:alice", 100, "snapshot_mismatch"),
        ("counter:hits", counter_snapshot, "snapshot_mismatch"),
        ("set:tags", set_snapshot, "snapshot_mismatch"),
        ("set:ghost", 3, "orphan_snapshot"),
        ("barrier:phase", 99, "undecodable_snapshot"),
    }
    mismatch = next(p for p in report["problems"] if p["persistence_id"] == "counter:hits")
    assert "12345" in mismatch["detail"]
    limited = cli("verify", "--json", "--max-problems", "2", *damaged.args)
    assert limited.exit_code == 1
    limited_report = json.loads(limited.stdout)
    assert limited_report["problem_count"] == 7 and len(limited_report["problems"]) == 2
    human = cli("verify", "--max-problems", "2", *damaged.args)
    assert "FAILED: 7 problems found (first 2 listed)" in human.stdout


def test_retention_is_not_a_gap_but_an_uncovered_deletion_is(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'retained.db'}"

    async def write() -> None:
        from casty.distributed.counter import Added

        async with SqlJournal(url) as journal:
            await journal.append("counter:kept", [Added(1)] * 5, 0)
            await journal.save_snapshot("counter:kept", 5, 5)
            await journal.delete_events("counter:kept", 5)  # only a retention marker is left
            await journal.append("counter:kept", [Added(2)] * 3, 5)
            await journal.save_snapshot("counter:kept", 8, 11)
            await journal.append("counter:all-gone", [Added(1)] * 4, 0)
            await journal.save_snapshot("counter:all-gone", 4, 4)
            await journal.delete_events("counter:all-gone", 4)
            await journal.append("counter:lost", [Added(1)] * 4, 0)
            await journal.delete_events("counter:lost", 2)  # no snapshot covers events 1..2

    run_async(write())
    target = Target(url)
    code, report = _report(target)
    assert _problems(report) == {("counter:lost", 1, "missing_events")}
    assert report["snapshots_checked"] == 1  # kept@8, replayed from the snapshot at 5
    assert code == 1
    assert json.loads(cli("replay", "counter:kept", "--json", *target.args).stdout)["state"] == 11
    assert json.loads(cli("replay", "counter:all-gone", "--json", *target.args).stdout)["state"] == 4
    scratch = cli("replay", "counter:kept", "--no-snapshot", *target.args)
    assert scratch.exit_code == 1 and "deleted by retention" in scratch.stderr
    lost = cli("replay", "counter:lost", *target.args)
    assert lost.exit_code == 1 and "events 1..2 missing" in lost.stderr
    assert _report(target, "--prefix", "counter:k")[0] == 0


def test_verify_reports_user_snapshots_only_with_their_entity(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'user.db'}"

    async def write() -> None:
        async with SqlJournal(url) as journal:
            await journal.append("cart:1", [1, 2, 3], 0)
            await journal.save_snapshot("cart:1", 3, 999)  # wrong, but unknown reducer: not comparable

    run_async(write())
    code, report = _report(Target(url))
    assert code == 0 and report["snapshots_unchecked"] == 1
    bad_entity = cli("verify", "--entity", "cart", "--url", url)
    assert bad_entity.exit_code == 2 and "KIND=module:attribute" in bad_entity.stderr


def test_replay_names_an_undecodable_snapshot(sqlite_copy: Target) -> None:
    sqlite_copy.sql("UPDATE casty_snapshots SET payload = '{' WHERE persistence_id = 'set:tags'")
    result = cli("replay", "set:tags", *sqlite_copy.args)
    assert result.exit_code == 1
    assert "cannot decode 'set:tags' at sequence number" in result.stderr and "--no-snapshot" in result.stderr
    scratch = cli("replay", "set:tags", "--no-snapshot", "--json", *sqlite_copy.args)
    assert scratch.exit_code == 0 and len(json.loads(scratch.stdout)["state"]["$set"]) == 504
