"""The CLI on the journal that ``examples/quickstart.py`` writes (SQLite), and its copy to PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import Target, cli

ROOT = Path(__file__).resolve().parents[2]
IMPORT = ["--import", "examples.quickstart"]  # registers quickstart.Job, quickstart.Done, …


@pytest.fixture(scope="module")
def quickstart_journal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Target, dict[str, Any]]:
    """Run the quickstart in its own process; its journal and the summary it printed."""
    db = tmp_path_factory.mktemp("quickstart") / "quickstart.db"
    proc = subprocess.run(
        [sys.executable, "-m", "examples.quickstart", "--db", str(db), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return Target(f"sqlite+aiosqlite:///{db}", path=db), summary


def _state(target: Target, pid: str) -> Any:
    result = cli("replay", pid, "--json", *IMPORT, *target.args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["state"]


def _check_against_summary(target: Target, summary: dict[str, Any]) -> None:
    assert _state(target, "counter:processed") == summary["jobs"]
    assert _state(target, "counter:duplicates") == summary["duplicates"]
    for level, count in summary["levels"].items():
        if count:
            assert _state(target, f"counter:level-{level.lower()}") == count
    assert len(_state(target, "set:done")["$set"]) == summary["jobs"]
    assert _state(target, "lock:summary")["holders"] == {}


def test_inspect_and_verify_the_quickstart_journal(quickstart_journal: tuple[Target, dict[str, Any]]) -> None:
    target, summary = quickstart_journal
    stats = json.loads(cli("stats", "--json", *target.args).stdout)
    kinds = {k["kind"] for k in stats["kinds"]}
    assert {"counter", "map", "queue", "set", "lock", "semaphore"} <= kinds
    counters = [
        e["persistence_id"]
        for e in map(
            json.loads, cli("entities", "--json", "--type", "counter", *target.args).stdout.splitlines()
        )
    ]
    assert "counter:processed" in counters and "counter:duplicates" in counters
    _check_against_summary(target, summary)
    result = cli("verify", *IMPORT, *target.args)
    assert result.exit_code == 0, result.output
    assert "OK: no problems found" in result.stdout


@pytest.mark.postgres
def test_quickstart_journal_copied_to_postgres(
    quickstart_journal: tuple[Target, dict[str, Any]], pg_target: Target
) -> None:
    source, summary = quickstart_journal
    copied = cli(
        "copy", "--from", source.url, "--to", pg_target.url, "--to-schema", str(pg_target.schema), "--migrate"
    )
    assert copied.exit_code == 0, copied.output
    assert "source and target match" in copied.stdout
    _check_against_summary(pg_target, summary)
    assert _state(pg_target, "queue:jobs") == _state(source, "queue:jobs")
    assert cli("verify", *IMPORT, *pg_target.args).exit_code == 0
