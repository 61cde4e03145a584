"""``entities``, ``events``, ``replay``, ``snapshots`` and ``stats`` on journals written by the structures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import STRUCTURE_IDS, Target, cli


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_entities_lists_every_structure(written: Target) -> None:
    result = cli("entities", "--json", *written.args)
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    assert [r["persistence_id"] for r in rows] == STRUCTURE_IDS
    by_id = {r["persistence_id"]: r for r in rows}
    assert by_id["counter:hits"]["events"] == 1006 and by_id["counter:hits"]["highest_sequence_nr"] == 1006
    assert by_id["map:users:alice"]["kind"] == "map" and by_id["map:users:alice"]["events"] == 120
    assert by_id["queue:jobs"]["highest_sequence_nr"] == 4
    assert all(r["last_written_at"] > 0 and r["last_written_at_utc"].endswith("+00:00") for r in rows)

    table = cli("entities", *written.args)
    assert table.exit_code == 0
    for pid in STRUCTURE_IDS:
        assert pid in table.stdout
    assert "Highest seq" in table.stdout and "Last write (UTC)" in table.stdout


def test_entities_filters_and_pages(written: Target) -> None:
    maps = _lines(cli("entities", "--json", "--type", "map", *written.args).stdout)
    assert [r["persistence_id"] for r in maps] == ["map:users:alice", "map:users:bob"]
    prefixed = _lines(cli("entities", "--json", "--prefix", "se", *written.args).stdout)
    assert [r["persistence_id"] for r in prefixed] == ["semaphore:db", "set:tags"]
    both = _lines(cli("entities", "--json", "--type", "map", "--prefix", "map:users:b", *written.args).stdout)
    assert [r["persistence_id"] for r in both] == ["map:users:bob"]

    seen: list[str] = []
    after: list[str] = []
    for _ in range(10):
        page = cli("entities", "--json", "--limit", "3", *after, *written.args)
        assert page.exit_code == 0
        ids = [r["persistence_id"] for r in _lines(page.stdout)]
        seen.extend(ids)
        if "more entities follow" not in page.stderr:
            break
        assert f"--after {ids[-1]}" in page.stderr
        after = ["--after", ids[-1]]
    assert seen == STRUCTURE_IDS

    conflict = cli("entities", "--type", "map", "--prefix", "set:", *written.args)
    assert conflict.exit_code == 2 and "cannot match --type map" in conflict.stderr
    bad_type = cli("entities", "--type", "nope", *written.args)
    assert bad_type.exit_code == 2


def test_events_table_and_json(written: Target) -> None:
    result = cli("events", "map:users:alice", "--from", "2", "--to", "4", *written.args)
    assert result.exit_code == 0, result.output
    assert "clitest.User" not in result.stdout  # the event type column names the event
    assert "casty.map.ValuePut" in result.stdout or "ValuePut" in result.stdout
    assert "User(name='Alice', age=1)" in result.stdout and "age=3" in result.stdout
    assert "age=4" not in result.stdout

    lines = _lines(cli("events", "map:users:alice", "--json", "--from", "119", *written.args).stdout)
    assert [e["sequence_nr"] for e in lines] == [119, 120]
    assert lines[-1]["persistence_id"] == "map:users:alice"
    assert lines[-1]["payload"]["value"] == {"$t": "clitest.User", "name": "Alice", "age": 119}
    assert lines[-1]["offset"] > lines[0]["offset"]

    limited = cli("events", "counter:hits", "--json", "--limit", "10", *written.args)
    assert len(_lines(limited.stdout)) == 10 and "--from 11" in limited.stderr
    everything = cli("events", "counter:hits", "--json", "--limit", "0", *written.args)
    assert len(_lines(everything.stdout)) == 1006


def test_replay_every_builtin_structure(written: Target) -> None:
    states = {}
    for pid in STRUCTURE_IDS:
        result = cli("replay", pid, "--json", *written.args)
        assert result.exit_code == 0, (pid, result.output)
        states[pid] = json.loads(result.stdout)
    assert states["counter:hits"]["state"] == 1000
    assert states["counter:hits"]["snapshot_sequence_nr"] is not None
    assert states["map:users:alice"]["state"]["value"] == {"$t": "clitest.User", "name": "Alice", "age": 119}
    assert states["map:users:bob"]["state"] is None
    members = states["set:tags"]["state"]["$set"]
    assert len(members) == 504 and "tag-007" not in members and members == sorted(members)
    assert states["queue:jobs"]["state"]["items"] == {"$deque": ["test", "ship"]}
    assert states["lock:deploy"]["state"]["holders"] == {}
    assert len(states["semaphore:db"]["state"]["holders"]["$map"]) == 1
    assert states["barrier:phase"]["entity_type"] == "barrier"

    human = cli("replay", "queue:jobs", *written.args)
    assert human.exit_code == 0
    assert "queue:jobs at sequence number 4 of 4" in human.stdout and "'ship'" in human.stdout


def test_replay_to_a_sequence_number_with_and_without_snapshots(written: Target) -> None:
    early = json.loads(cli("replay", "counter:hits", "--to-seq", "7", "--json", *written.args).stdout)
    assert early["state"] == 7 and early["events_replayed"] == 7 and early["snapshot_sequence_nr"] is None

    with_snapshot = json.loads(cli("replay", "counter:hits", "--json", *written.args).stdout)
    scratch = json.loads(cli("replay", "counter:hits", "--no-snapshot", "--json", *written.args).stdout)
    assert with_snapshot["state"] == scratch["state"] == 1000
    assert scratch["snapshot_sequence_nr"] is None and scratch["events_replayed"] == 1006
    assert with_snapshot["events_replayed"] < 1006

    tags = json.loads(cli("replay", "set:tags", "--json", *written.args).stdout)
    tags_scratch = json.loads(cli("replay", "set:tags", "--no-snapshot", "--json", *written.args).stdout)
    assert tags["state"] == tags_scratch["state"]

    zero = json.loads(cli("replay", "queue:jobs", "--to-seq", "0", "--json", *written.args).stdout)
    assert zero["state"]["items"] == {"$deque": []}


def test_snapshots_and_stats(written: Target) -> None:
    snaps = cli("snapshots", "counter:hits", "--json", *written.args)
    assert snaps.exit_code == 0, snaps.output
    rows = _lines(snaps.stdout)
    assert len(rows) >= 1 and all(1000 <= r["sequence_nr"] <= 1006 for r in rows)
    assert rows[-1]["payload"] == rows[-1]["sequence_nr"]  # a counter's state is its value
    table = cli("snapshots", "set:tags", *written.args)
    assert table.exit_code == 0 and "tag-" in table.stdout
    none = cli("snapshots", "queue:jobs", *written.args)
    assert none.exit_code == 0 and "no snapshots" in none.stdout

    stats = json.loads(cli("stats", "--json", *written.args).stdout)
    kinds = {k["kind"]: k for k in stats["kinds"]}
    assert set(kinds) == {"barrier", "counter", "lock", "map", "queue", "semaphore", "set"}
    assert kinds["map"]["entities"] == 2 and kinds["counter"]["events"] == 1006
    assert kinds["counter"]["event_bytes"] > 1006 * 20 and kinds["set"]["snapshots"] >= 1
    assert stats["total"]["entities"] == 8 and stats["last_write"] is not None
    only_maps = json.loads(cli("stats", "--json", "--type", "map", *written.args).stdout)
    assert [k["kind"] for k in only_maps["kinds"]] == ["map"]
    human = cli("stats", *written.args)
    assert human.exit_code == 0 and "total" in human.stdout and "KiB" in human.stdout


@pytest.mark.parametrize("command", [["events"], ["replay"], ["snapshots"]])
def test_unknown_id_is_a_usage_error(written: Target, command: list[str]) -> None:
    result = cli(*command, "counter:does-not-exist", *written.args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: unknown persistence id 'counter:does-not-exist' in {_shown(written)}"
    ]


def _shown(target: Target) -> str:
    return target.url if target.schema is None else f"{target.url} (schema {target.schema})"


def test_replay_refuses_what_it_cannot_do(written: Target) -> None:
    beyond = cli("replay", "queue:jobs", "--to-seq", "99", *written.args)
    assert beyond.exit_code == 2 and "past the highest sequence number" in beyond.stderr
    unknown_kind = cli("replay", "cart:42", *written.args)
    assert unknown_kind.exit_code == 2 and "--entity module:attribute" in unknown_kind.stderr
    bad_spec = cli("replay", "queue:jobs", "--entity", "nonsense", *written.args)
    assert bad_spec.exit_code == 2 and "module:attribute" in bad_spec.stderr
    missing_module = cli("replay", "queue:jobs", "--entity", "no_such_module_xyz:THING", *written.args)
    assert missing_module.exit_code == 2 and "cannot import" in missing_module.stderr
    not_entity = cli("replay", "queue:jobs", "--entity", "json:dumps", *written.args)
    assert not_entity.exit_code == 2 and "not a casty EntityType" in not_entity.stderr


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_commands_never_write_a_sqlite_journal(sqlite_written: Target) -> None:
    assert sqlite_written.path is not None
    before = _digest(sqlite_written.path)
    for args in (
        ["entities"],
        ["events", "counter:hits"],
        ["replay", "set:tags"],
        ["snapshots", "counter:hits"],
        ["stats"],
        ["verify"],
        ["export", "-"],
    ):
        assert cli(*args, *sqlite_written.args).exit_code == 0, args
    assert _digest(sqlite_written.path) == before


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    for args in (["entities"], ["stats"], ["verify"], ["replay", "counter:x"], ["export", "-"]):
        result = cli(*args, "--url", f"sqlite+aiosqlite:///{path}")
        assert result.exit_code == 3, args
        expected = f"error: no journal at sqlite+aiosqlite:///{path}: the file does not exist"
        assert result.stderr.strip() == expected
    assert not path.exists()


def test_unmigrated_sqlite_file_says_which_command_migrates(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    result = cli("entities", "--url", f"sqlite+aiosqlite:///{path}")
    assert result.exit_code == 3
    assert "no journal schema" in result.stderr and "casty-journal migrate upgrade --url" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == b""  # not migrated behind the user's back


def test_not_a_database_and_bad_urls(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database, just some text " * 50)
    result = cli("stats", "--url", f"sqlite+aiosqlite:///{junk}")
    assert result.exit_code == 3 and "file is not a database" in result.stderr
    for url in ("mysql://u@h/db", "not a url", "sqlite+aiosqlite://"):
        bad = cli("entities", "--url", url)
        assert bad.exit_code == 2, url
        assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    missing = cli("entities")
    assert missing.exit_code == 2 and "--url" in missing.output
    from_env = cli("entities", "--json", env={"CASTY_JOURNAL_URL": f"sqlite+aiosqlite:///{junk}"})
    assert from_env.exit_code == 3


def test_unreachable_postgres_is_one_line_and_exit_3() -> None:
    result = cli("entities", "--url", "postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "127.0.0.1:1" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.postgres
def test_postgres_schema_missing_is_exit_3(pg_target: Target) -> None:
    result = cli("verify", *pg_target.args)
    assert result.exit_code == 3
    assert f"no journal schema in {_shown(pg_target)}" in result.stderr
    assert f"--schema {pg_target.schema}" in result.stderr
    tables = pg_target.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = :s", {"s": pg_target.schema}
    )
    assert tables == [(0,)]  # nothing was created
