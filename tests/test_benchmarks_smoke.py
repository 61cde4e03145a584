"""Smoke test: every benchmark script runs in ``--quick`` mode and prints its tables.

No timing is asserted: only that each script completes and prints the
expected table headers (so the scripts cannot rot unnoticed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

SCRIPTS = {
    "bench_structures.py": (
        ["--backends", "memory,sqlite"],
        [
            "== baselines ==",
            "asyncio round trip x1",
            "== structures: memory, 1 caller ==",
            "== structures: memory, 100 concurrent callers over 100 entities ==",
            "== structures: sqlite, 1 caller ==",
            "counter.increment",
            "barrier.arrive round",
            "vs asyncio",
            "vs redis INCR",
            "== targets ==",
        ],
    ),
    "bench_runtime.py": (
        ["--backends", "memory,sqlite"],
        [
            "== tell to one actor ==",
            "== entity creation: map put on new keys ==",
            "== memory per entity (map keys) ==",
            "vs increment",
        ],
    ),
    "bench_memory.py": ([], ["durable map keys (SQLite)", "peak RSS MB", "peak RSS:"]),
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_script_runs_in_quick_mode(script: str, tmp_path: Path) -> None:
    extra, headers = SCRIPTS[script]
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--tmpdir", str(tmp_path), *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    for header in headers:
        assert header in done.stdout, f"{script}: {header!r} missing from\n{done.stdout[-3000:]}"
