"""``casty-quickstart`` end to end, in real processes: counts, kill -9 and resume, bad input."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 120
FAST = ("--workers", "12", "--permits", "8")
"""More concurrency than the defaults: more appends share each SQLite commit."""
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "none")
REQUEST = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) ')


def quickstart(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "examples.quickstart", *map(str, args)]


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(quickstart(*args), cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)


def summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON line that ``--json`` prints last."""
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def write_log(path: Path, lines: int, *, seed: int) -> dict[str, Any]:
    """A log of ``lines`` lines with known duplicates, levels and blank lines; the counts to expect."""
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
    text: list[str] = []
    for i in range(lines):
        if i % 10 == 9:
            text.append(text[i - 3])  # an exact duplicate of an earlier line
        elif i % 25 == 24:
            text.append("   ")  # blank (whitespace only)
        elif i % 13 == 0:
            text.append(f"    at shop.Handler.run(Handler.java:{seed + i})")  # no level
        else:
            level = levels[(i * 7 + seed) % len(levels)]
            text.append(
                f"2026-03-14 10:{i // 60:02d}:{i % 60:02d},{seed:03d} {level:<5} [web-{i % 4}] "
                f'10.0.0.{i % 250} "GET /api/items/{seed * 1000 + i} HTTP/1.1" 200 {i % 90}ms'
            )
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return expected_counts(text)


def expected_counts(text: list[str]) -> dict[str, Any]:
    """What the quickstart must find in lines formatted ``date time LEVEL ...``."""
    jobs = [t for t in text if t.strip()]
    unique = list(dict.fromkeys(jobs))
    by_level: Counter[str] = Counter()
    for line in unique:
        words = line.split()
        by_level[words[2] if len(words) > 2 and words[2] in LEVELS else "none"] += 1
    return {
        "lines": len(text),
        "jobs": len(jobs),
        "unique": len(unique),
        "duplicates": len(jobs) - len(unique),
        "levels": {level: by_level[level] for level in LEVELS},
        "requests": sum(1 for line in unique if REQUEST.search(line)),
    }


def assert_counts(result: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        assert result[key] == value, (key, result[key], value)


def test_summary_is_right_for_a_known_input(tmp_path: Path) -> None:
    expected = write_log(tmp_path / "app.log", 120, seed=1)
    first = summary(run(tmp_path / "app.log", "--db", tmp_path / "q.db", "--json", *FAST, cwd=tmp_path))
    assert_counts(first, expected)
    assert first["done_now"] == expected["jobs"] and first["done_before"] == 0
    assert first["blank"] == expected["lines"] - expected["jobs"] > 0
    assert first["truncated"] == 0 and first["invalid_utf8"] == 0
    assert sum(first["levels"].values()) == expected["unique"]

    again = run(tmp_path / "app.log", "--db", tmp_path / "q.db", *FAST, cwd=tmp_path)  # human output
    assert again.returncode == 0, again.stderr
    assert "resuming" in again.stdout
    assert f"{expected['jobs']}/{expected['jobs']} jobs were done" in again.stdout
    rows = {
        " ".join(line.split()[:-1]): line.split()[-1] for line in again.stdout.splitlines() if line.strip()
    }
    assert rows["duplicates removed"] == str(expected["duplicates"])
    assert rows["unique lines"] == str(expected["unique"])
    assert rows["done by this run"] == "0"


def wait_for_progress(proc: subprocess.Popen[str], above: int) -> int:
    """Read stdout until a progress line shows more than ``above`` jobs done; return that number."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("progress: "):
            done = int(line.split()[1].split("/")[0])
            if done > above:
                return done
    raise AssertionError(f"the run ended before doing more than {above} jobs (exit code {proc.wait()})")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end (a failed test) are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_and_ctrl_c_mid_run_lose_and_double_count_nothing(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """The bundled sample, default settings and database: killed, interrupted, finished."""
    sample = importlib.resources.files("examples").joinpath("sample.log").read_text(encoding="utf-8")
    expected = expected_counts(sample.splitlines())
    reference = subprocess.Popen(  # an uninterrupted run of the same input, meanwhile
        quickstart("--db", tmp_path / "reference.db", "--json"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    processes.append(reference)

    first = subprocess.Popen(quickstart(), cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    processes.append(first)
    wait_for_progress(first, 0)
    first.send_signal(signal.SIGKILL)
    assert first.wait(TIMEOUT) == -signal.SIGKILL

    second = subprocess.Popen(
        quickstart(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    processes.append(second)
    assert second.stdout is not None
    header = [second.stdout.readline() for _ in range(6)]  # title, maybe "waiting", input, database, ...
    assert any("resuming" in line for line in header), header
    resumed = wait_for_progress(second, 0)
    wait_for_progress(second, resumed)
    second.send_signal(signal.SIGINT)
    out, err = second.communicate(timeout=TIMEOUT)
    assert second.returncode == 130, err
    assert "Progress is saved" in out
    assert "Traceback" not in err

    final = summary(run("--json", cwd=tmp_path))
    out, err = reference.communicate(timeout=TIMEOUT)
    assert reference.returncode == 0, err
    uninterrupted = json.loads(out.strip().splitlines()[-1])

    assert (tmp_path / "casty-quickstart.db").exists()
    assert final["source"] == "sample.log (bundled)"
    assert 0 < final["done_before"] < expected["jobs"]
    assert final["done_before"] + final["done_now"] == expected["jobs"]
    assert final["runs"] == 3
    assert_counts(final, expected)
    for key in ("jobs", "unique", "duplicates", "levels", "requests", "statuses", "paths"):
        assert final[key] == uninterrupted[key], key


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    proc = run(tmp_path / "empty.log", "--db", tmp_path / "q.db", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_binary_data_and_very_long_lines_are_read_with_a_note(tmp_path: Path) -> None:
    data = os.urandom(3000) + b"\n\x00\x01\x02 ERROR \xff\xfe not utf-8\n" + b"x" * 50_000 + b"\nINFO ok\n"
    (tmp_path / "blob.bin").write_bytes(data)
    proc = run(tmp_path / "blob.bin", "--db", tmp_path / "q.db", *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "not valid UTF-8" in proc.stdout
    assert "longer than 4096 bytes" in proc.stdout
    result = summary(run(tmp_path / "blob.bin", "--db", tmp_path / "q.db", "--json", *FAST, cwd=tmp_path))
    assert result["invalid_utf8"] >= 2 and result["truncated"] >= 1
    assert result["jobs"] == result["lines"] - result["blank"]
    assert result["levels"]["INFO"] == 1


@pytest.mark.parametrize("target", ["missing.log", "a-directory"])
def test_missing_file_or_directory_is_one_error_line(tmp_path: Path, target: str) -> None:
    (tmp_path / "a-directory").mkdir()
    proc = run(tmp_path / target, "--db", tmp_path / "q.db", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("casty-quickstart: error: "), proc.stderr
    assert ("no such file" in lines[0]) if target == "missing.log" else ("directory" in lines[0])
    assert not (tmp_path / "q.db").exists()


def test_appended_lines_are_picked_up_and_a_changed_input_is_refused_until_reset(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    expected = write_log(log, 40, seed=5)
    db = tmp_path / "q.db"
    summary(run(log, "--db", db, "--json", *FAST, cwd=tmp_path))
    with log.open("a") as stream:
        stream.write("2026-03-14 11:00:00,000 ERROR [web-1] appended later\n")
    result = summary(run(log, "--db", db, "--json", *FAST, cwd=tmp_path))
    assert result["done_now"] == 1 and result["jobs"] == expected["jobs"] + 1
    assert result["levels"]["ERROR"] == expected["levels"]["ERROR"] + 1

    expected = write_log(log, 30, seed=6)  # other content
    proc = run(log, "--db", db, *FAST, cwd=tmp_path)
    assert proc.returncode == 2
    assert "--reset" in proc.stderr and "Traceback" not in proc.stderr
    assert_counts(summary(run(log, "--db", db, "--reset", "--json", *FAST, cwd=tmp_path)), expected)
