"""Migrations from an installed wheel, run from outside the repository.

Builds casty's wheel (offline: ``pip wheel --no-deps --no-build-isolation
--no-index``), installs it into a fresh virtual environment whose third-party
dependencies come from this interpreter's site-packages (a ``.pth`` file, so
nothing is downloaded), then runs the installed ``casty-journal`` console
script from a temporary directory: ``migrate upgrade`` and ``migrate
current`` on SQLite (and PostgreSQL when a server answers), and a small
program that appends to the migrated journal. This proves the Alembic
revisions ship inside the wheel and are found without the source tree.

Marked ``slow`` (about 10-20 s: one wheel build and one venv per session);
deselect with ``-m "not slow"``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from casty_journal_sql import migrate

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
_SKIP_DIRS = {
    ".git",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    "build",
    "dist",
    "tests",
    "benchmarks",
    "docs",
}


@dataclass(frozen=True)
class InstalledVenv:
    root: Path
    python: Path
    cli: Path
    workdir: Path  # outside the repository, where the commands run

    def run(self, *args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CASTY_JOURNAL"))}
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _build_backend_problem() -> str | None:
    """Why the wheel cannot be built offline here, or ``None``."""
    missing = [name for name in ("setuptools", "wheel") if importlib.util.find_spec(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (pip install 'setuptools>=68' wheel, or casty[dev])"
    return None


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"cannot build the wheel offline: {reason}", pytrace=False)
    pytest.skip(f"cannot build the wheel offline: {reason}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledVenv]:
    problem = _build_backend_problem()
    if problem is not None:
        _fail_or_skip(problem)
    base = tmp_path_factory.mktemp("wheel")
    # Build from a copy so the build leaves nothing in (and races nothing in) the checkout.
    source = base / "src"
    shutil.copytree(
        REPO,
        source,
        ignore=lambda folder, names: [
            n for n in names if n in _SKIP_DIRS or n.endswith((".egg-info", ".pyc", ".db"))
        ],
    )
    dist = base / "dist"
    build = subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if build.returncode != 0:
        _fail_or_skip(f"pip wheel failed:\n{build.stdout}\n{build.stderr}")
    [wheel] = dist.glob("casty-*.whl")

    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=60)
    python = root / "bin" / "python"
    venv_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies (SQLAlchemy, aiosqlite, alembic, typer, …) come from this
    # interpreter's site-packages. A path in a .pth file is appended after the
    # venv's own site-packages and its own .pth files are not run, so this
    # environment's editable install of casty stays invisible.
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (venv_site / "_casty_test_dependencies.pth").write_text("".join(f"{p}\n" for p in deps))
    install = subprocess.run(
        [*PIP, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    workdir = base / "elsewhere"
    workdir.mkdir()
    yield InstalledVenv(root, python, root / "bin" / "casty-journal", workdir)


def test_the_installed_packages_come_from_the_wheel(installed: InstalledVenv) -> None:
    probe = installed.run(
        installed.python,
        "-c",
        "import casty, casty_journal_sql, casty_journal_sql.migrate as m; "
        "print(casty.__file__); print(casty_journal_sql.__file__); print(m.script_location())",
    )
    assert probe.returncode == 0, probe.stderr
    paths = probe.stdout.split()
    assert len(paths) == 3
    for path in paths:
        assert path.startswith(str(installed.root)), f"{path} is not inside the fresh venv"
        assert not path.startswith(str(REPO))
    assert installed.cli.is_file()


def test_migrate_upgrade_and_current_on_sqlite_from_the_installed_wheel(installed: InstalledVenv) -> None:
    db = installed.workdir / "x.db"
    url = f"sqlite+aiosqlite:///{db}"
    head = migrate.head_revision()

    before = installed.run(installed.cli, "migrate", "current", "--url", url, "--json")
    assert before.returncode == 0, before.stdout + before.stderr

    up = installed.run(installed.cli, "migrate", "upgrade", "--url", url)
    assert up.returncode == 0, up.stdout + up.stderr
    assert db.is_file()

    current = installed.run(installed.cli, "migrate", "current", "--url", url)
    assert current.returncode == 0, current.stdout + current.stderr
    assert head in current.stdout

    history = installed.run(installed.cli, "migrate", "history")
    assert history.returncode == 0 and head in history.stdout

    # The migrated journal works without auto-migration, from the installed package.
    program = (
        "import asyncio, sys\n"
        "from casty_journal_sql import SqlJournal\n"
        "async def main():\n"
        "    async with SqlJournal(sys.argv[1], auto_migrate=False) as j:\n"
        "        await j.append('counter:hits', [1, 2], 0)\n"
        "        print([pe.event async for pe in j.read('counter:hits')])\n"
        "asyncio.run(main())\n"
    )
    used = installed.run(installed.python, "-c", program, url)
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip() == "[1, 2]"

    down = installed.run(installed.cli, "migrate", "downgrade", "--url", url, "base", "--yes")
    assert down.returncode == 0, down.stdout + down.stderr


@pytest.mark.postgres
def test_migrate_upgrade_and_current_on_postgres_from_the_installed_wheel(
    installed: InstalledVenv, postgres_url: str, pg_schema: str
) -> None:
    args = ("--url", postgres_url, "--schema", pg_schema)
    up = installed.run(installed.cli, "migrate", "upgrade", *args)
    assert up.returncode == 0, up.stdout + up.stderr
    current = installed.run(installed.cli, "migrate", "current", *args)
    assert current.returncode == 0, current.stdout + current.stderr
    assert migrate.head_revision() in current.stdout
