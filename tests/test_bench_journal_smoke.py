"""``benchmarks/bench_journal.py --quick`` runs end to end and prints every table (no timing checks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_journal.py"


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault(
        "CASTY_BENCH_POSTGRES_URL",
        os.environ.get("CASTY_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test"),
    )
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--tmpdir", str(tmp_path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_quick_run_on_both_backends(tmp_path: Path) -> None:
    done = run("--backend", "both", tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "synchronous=FULL" in out
    assert "== sqlite: durable writes" in out
    assert "== sqlite: recovery of one entity with 5,000 events, no snapshot ==" in out
    for line in ("raw: 1 transaction per row x100", "casty counter.increment x100", "casty entity recovery"):
        assert line in out
    assert "== targets ==" in out
    if "skipping PostgreSQL" not in out:
        assert "== postgres: durable writes" in out and "synchronous_commit=" in out
    assert list(tmp_path.iterdir()) == []  # temporary databases are removed


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    done = run("--backend", "mysql", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
