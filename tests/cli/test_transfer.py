"""``copy``, ``export`` and ``import``: moving journals between SQLite, PostgreSQL and JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from casty_journal_sql.transfer import JournalWriter

from .conftest import STRUCTURE_IDS, Target, cli


def _states(target: Target) -> dict[str, Any]:
    """Every structure's replayed state (JSON, without the replay's bookkeeping)."""
    out = {}
    for pid in STRUCTURE_IDS:
        result = cli("replay", pid, "--json", *target.args)
        assert result.exit_code == 0, (pid, result.output)
        data = json.loads(result.stdout)
        out[pid] = (data["state"], data["sequence_nr"])
    return out


def _rows(target: Target, command: str, *args: str) -> list[dict[str, Any]]:
    result = cli(command, "--json", *args, *target.args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _events(target: Target, pid: str) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in e.items() if k != "offset"} for e in _rows(target, "events", pid, "--limit", "0")
    ]


def _copy(source: Target, target: Target, *extra: str) -> Any:
    args = ["copy", "--from", source.url, "--to", target.url, "--json", *extra]
    if source.schema:
        args += ["--from-schema", source.schema]
    if target.schema:
        args += ["--to-schema", target.schema]
    return cli(*args)


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back_end_to_end(
    sqlite_copy: Target, pg_target: Target, tmp_path: Path
) -> None:
    # A target without a schema is refused unless --migrate creates it.
    refused = _copy(sqlite_copy, pg_target)
    assert refused.exit_code == 3 and "--migrate" in refused.stderr

    result = _copy(sqlite_copy, pg_target, "--migrate")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and report["events_written"] == 1006 + 122 + 506 + 4 + 3 + 2 + 2
    assert report["events_already_present"] == 0 and report["entities_checked"] == 8
    assert report["snapshots_written"] >= 3

    # Same ids, sequence numbers, timestamps, payloads; same states; the copy verifies.
    assert _rows(pg_target, "entities") == _rows(sqlite_copy, "entities")
    for pid in ("counter:hits", "set:tags", "map:users:alice", "semaphore:db"):
        assert _events(pg_target, pid) == _events(sqlite_copy, pid)
        assert _rows(pg_target, "snapshots", pid) == _rows(sqlite_copy, "snapshots", pid)
    assert _states(pg_target) == _states(sqlite_copy)
    assert cli("verify", *pg_target.args).exit_code == 0

    # Running it again writes nothing (idempotent).
    again = json.loads(_copy(sqlite_copy, pg_target, "--compare-payloads").stdout)
    assert (
        again["ok"]
        and again["events_written"] == 0
        and again["events_already_present"] == report["events_read"]
    )

    # And back into a fresh SQLite file.
    back = Target(f"sqlite+aiosqlite:///{tmp_path / 'back.db'}")
    assert _copy(pg_target, back, "--migrate").exit_code == 0
    assert _states(back) == _states(sqlite_copy)
    assert _rows(back, "entities") == _rows(sqlite_copy, "entities")

    # A corrupted row in the copy: verify names it and fails; copy's check sees the difference.
    pg_target.sql(
        "UPDATE casty_events SET payload = :p WHERE persistence_id = 'set:tags' AND sequence_nr = 42",
        {"p": "{not json"},
    )
    verify = cli("verify", "--json", *pg_target.args)
    assert verify.exit_code == 1
    problems = json.loads(verify.stdout)["problems"]
    assert [(p["persistence_id"], p["sequence_nr"], p["problem"]) for p in problems] == [
        ("set:tags", 42, "undecodable_event")
    ]
    recopy = _copy(sqlite_copy, pg_target)
    assert recopy.exit_code == 1
    assert [m["persistence_id"] for m in json.loads(recopy.stdout)["mismatches"]] == ["set:tags"]


def test_copy_sqlite_to_sqlite_and_its_checks(sqlite_copy: Target, tmp_path: Path) -> None:
    target = Target(f"sqlite+aiosqlite:///{tmp_path / 'target.db'}")
    missing = _copy(sqlite_copy, target)
    assert missing.exit_code == 3 and "does not exist" in missing.stderr and "--migrate" in missing.stderr
    assert not (tmp_path / "target.db").exists()

    human = cli("copy", "--from", sqlite_copy.url, "--to", target.url, "--migrate")
    assert human.exit_code == 0, human.output
    assert "copied 1645 events (0 already present)" in human.stdout
    assert "checked 8 entities: source and target match" in human.stdout
    assert _states(target) == _states(sqlite_copy)

    # A same-length change escapes the counts but not --compare-payloads.
    target.sql(
        "UPDATE casty_events SET payload = replace(payload, :old, :new) "
        "WHERE persistence_id = 'counter:hits' AND sequence_nr = 5",
        {"old": '"delta":1', "new": '"delta":2'},
    )
    assert _copy(sqlite_copy, target).exit_code == 0
    thorough = _copy(sqlite_copy, target, "--compare-payloads")
    assert thorough.exit_code == 1
    (mismatch,) = json.loads(thorough.stdout)["mismatches"]
    assert mismatch == {"persistence_id": "counter:hits", "detail": mismatch["detail"]}
    assert "event 5 differs" in mismatch["detail"]

    same = cli("copy", "--from", sqlite_copy.url, "--to", sqlite_copy.url)
    assert same.exit_code == 2 and "same journal" in same.stderr


def test_copy_of_one_kind_then_the_rest(sqlite_copy: Target, tmp_path: Path) -> None:
    target = Target(f"sqlite+aiosqlite:///{tmp_path / 'partial.db'}")
    first = json.loads(_copy(sqlite_copy, target, "--migrate", "--type", "counter").stdout)
    assert first["ok"] and first["entities_checked"] == 1 and first["events_written"] == 1006
    assert [r["persistence_id"] for r in _rows(target, "entities")] == ["counter:hits"]
    rest = json.loads(_copy(sqlite_copy, target).stdout)
    assert rest["ok"] and rest["events_already_present"] == 1006 and rest["entities_checked"] == 8


def test_an_interrupted_copy_resumes(
    sqlite_copy: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target(f"sqlite+aiosqlite:///{tmp_path / 'resumed.db'}")
    real_insert = JournalWriter.insert_events
    calls = 0

    async def flaky_insert(self: JournalWriter, rows: Any) -> tuple[int, int]:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the copy
        return await real_insert(self, rows)

    monkeypatch.setattr(JournalWriter, "insert_events", flaky_insert)
    interrupted = _copy(sqlite_copy, target, "--migrate", "--batch-size", "100")
    assert interrupted.exit_code == 130 and "interrupted" in interrupted.stderr
    partial = sum(r["events"] for r in _rows(target, "entities"))
    assert partial == 300  # three committed batches, nothing of the fourth
    monkeypatch.setattr(JournalWriter, "insert_events", real_insert)

    resumed = json.loads(_copy(sqlite_copy, target, "--batch-size", "100", "--compare-payloads").stdout)
    assert resumed["ok"] and resumed["events_already_present"] == 300
    assert resumed["events_written"] == 1645 - 300
    assert _states(target) == _states(sqlite_copy)
    assert cli("verify", *target.args).exit_code == 0


@pytest.mark.parametrize("destination", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_export_import_round_trip(
    written: Target, tmp_path: Path, destination: str, request: pytest.FixtureRequest
) -> None:
    dump = tmp_path / "journal.jsonl"
    exported = cli("export", str(dump), *written.args)
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith("exported 1645 events and ")
    assert not (tmp_path / "journal.jsonl.partial").exists()
    lines = dump.read_text(encoding="utf-8").splitlines()
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    assert header["format"] == "casty-journal-export" and header["version"] == 1
    assert end["type"] == "end" and end["events"] == 1645 and len(lines) == 2 + 1645 + end["snapshots"]
    first = json.loads(lines[1])
    assert first["type"] == "event" and isinstance(first["payload"], str)

    if destination == "sqlite":
        target = Target(f"sqlite+aiosqlite:///{tmp_path / 'imported.db'}")
    else:
        target = request.getfixturevalue("pg_target")
    imported = cli("import", str(dump), "--migrate", "--json", *target.args)
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.stdout)
    assert report["events_written"] == 1645 and report["snapshots_written"] == end["snapshots"]
    assert _rows(target, "entities") == _rows(written, "entities")
    assert _states(target) == _states(written)
    assert cli("verify", *target.args).exit_code == 0
    again = json.loads(cli("import", str(dump), "--json", *target.args).stdout)
    assert again["events_written"] == 0 and again["events_already_present"] == 1645


def test_export_to_stdout_import_from_stdin(sqlite_written: Target, tmp_path: Path) -> None:
    exported = cli("export", "-", "--type", "map", *sqlite_written.args)
    assert exported.exit_code == 0
    assert "exported 122 events" in exported.stderr
    target = Target(f"sqlite+aiosqlite:///{tmp_path / 'maps.db'}")
    imported = cli("import", "-", "--migrate", *target.args, input=exported.stdout)
    assert imported.exit_code == 0, imported.output
    assert "imported 122 events (0 already present)" in imported.stdout
    assert [r["persistence_id"] for r in _rows(target, "entities")] == ["map:users:alice", "map:users:bob"]


def test_import_refuses_bad_files_and_resumes_a_cut_one(sqlite_written: Target, tmp_path: Path) -> None:
    dump = tmp_path / "full.jsonl"
    assert cli("export", str(dump), *sqlite_written.args).exit_code == 0
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    target = Target(f"sqlite+aiosqlite:///{tmp_path / 'cut.db'}")

    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:700]), encoding="utf-8")
    result = cli("import", str(cut), "--migrate", *target.args)
    assert result.exit_code == 1 and "cut short" in result.stderr and "699 events" in result.stderr
    finished = json.loads(cli("import", str(dump), "--json", *target.args).stdout)
    assert finished["events_already_present"] == 699 and finished["events_written"] == 1645 - 699
    assert _states(target) == _states(sqlite_written)

    broken = tmp_path / "broken.jsonl"
    broken.write_text(lines[0] + lines[1] + "{oops\n", encoding="utf-8")
    bad = cli("import", str(broken), *target.args)
    assert bad.exit_code == 2 and f"{broken} line 3: not JSON" in bad.stderr

    wrong_field = tmp_path / "field.jsonl"
    record = json.loads(lines[1])
    record["sequence_nr"] = "one"
    wrong_field.write_text(lines[0] + json.dumps(record) + "\n", encoding="utf-8")
    bad_field = cli("import", str(wrong_field), *target.args)
    assert bad_field.exit_code == 2 and "line 2: field 'sequence_nr'" in bad_field.stderr

    not_export = tmp_path / "other.jsonl"
    not_export.write_text('{"hello": "world"}\n', encoding="utf-8")
    other = cli("import", str(not_export), *target.args)
    assert other.exit_code == 2 and "not a casty journal export" in other.stderr

    absent = cli("import", str(tmp_path / "absent.jsonl"), *target.args)
    assert absent.exit_code == 2 and "cannot read" in absent.stderr

    unwritable = cli("export", str(tmp_path / "no-such-dir" / "x.jsonl"), *sqlite_written.args)
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.stderr
