"""Alembic migrations of the journal schema and the ``casty-journal migrate`` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from typer.testing import CliRunner

from casty.errors import InvalidArgument, JournalUnavailable
from casty_journal_sql import SqlJournal, migrate
from casty_journal_sql.cli import app
from casty_journal_sql.engine import parse_url

TABLES = {"casty_events", "casty_snapshots"}


async def _tables(journal: SqlJournal) -> set[str]:
    """The journal tables present in the database (without opening the journal)."""
    if journal.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    async with journal.engine.connect() as conn:
        rows = (await conn.execute(sa.text(sql))).all()
    return {r[0] for r in rows} & TABLES


def test_history_lists_the_initial_revision() -> None:
    revisions = migrate.history()
    assert revisions[0].revision == "0001_initial" and revisions[0].down_revision is None
    assert revisions[-1].is_head and revisions[-1].revision == migrate.head_revision()
    assert Path(migrate.script_location(), "env.py").is_file()


def test_migrations_are_found_from_outside_the_repository(tmp_path: Path) -> None:
    code = "from casty_journal_sql import migrate; print(migrate.head_revision())"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == migrate.head_revision()


async def test_upgrade_from_empty_then_downgrade_to_base(sql_backend: Any) -> None:
    url, schema = sql_backend.url, sql_backend.schema
    assert await migrate.current_async(url, schema=schema) is None
    assert await migrate.upgrade_async(url, schema=schema) == migrate.head_revision()
    assert await migrate.upgrade_async(url, schema=schema) == migrate.head_revision()  # idempotent
    journal = sql_backend.make(auto_migrate=False)
    assert await _tables(journal) == TABLES
    await journal.append("m", [1, 2], 0)
    assert await journal.current_revision() == migrate.head_revision()
    await journal.close()

    assert await migrate.downgrade_async(url, "base", schema=schema) is None
    assert await migrate.current_async(url, schema=schema) is None
    probe = sql_backend.make(auto_migrate=False)
    assert await _tables(probe) == set()
    await probe.close()
    # upgrade again after a downgrade works from scratch
    assert await migrate.upgrade_async(url, schema=schema) == migrate.head_revision()
    again = sql_backend.make(auto_migrate=False)
    assert await again.highest_sequence_nr("m") == 0
    await again.close()


async def test_downgrade_to_base_drops_the_tables(sql_backend: Any) -> None:
    url, schema = sql_backend.url, sql_backend.schema
    await migrate.upgrade_async(url, schema=schema)
    await migrate.downgrade_async(url, "base", schema=schema)
    journal = sql_backend.make(auto_migrate=False)
    with pytest.raises(Exception, match="schema is missing"):
        await journal.open()


async def test_bad_url_and_sync_api_inside_a_loop() -> None:
    with pytest.raises(InvalidArgument):
        await migrate.upgrade_async("mysql://x/y")
    with pytest.raises(RuntimeError, match="_async"):
        migrate.current("sqlite+aiosqlite:///x.db")  # inside a running loop


def test_bad_revision_is_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="nope"):
        migrate.upgrade(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", "nope")


def test_sync_api_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    assert migrate.current(url) is None
    assert not (tmp_path / "sync.db").exists()  # looking does not create the file
    assert migrate.upgrade(url) == migrate.head_revision()
    assert migrate.current(url) == migrate.head_revision()
    assert migrate.downgrade(url, "base") is None
    assert migrate.current(url) is None


def test_unreachable_database_is_journal_unavailable() -> None:
    with pytest.raises(JournalUnavailable):
        migrate.upgrade("postgresql+asyncpg://u@127.0.0.1:1/db")


def test_behind_head_message_names_the_command() -> None:
    status = migrate.SchemaStatus(has_tables=True, has_version_table=True, revision="0000_older")
    err = migrate.schema_error("behind", status, parse_url("postgresql+asyncpg://u:pw@h/db"), "tenant")
    assert "casty-journal migrate upgrade --url postgresql+asyncpg://u:***@h/db --schema tenant" in str(err)
    assert "0000_older" in str(err) and "pw" not in str(err)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_env_py_runs_with_a_url_in_the_alembic_config(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    """Plain Alembic commands work too (env.py makes its own async engine)."""
    if kind == "sqlite":
        url, schema = f"sqlite+aiosqlite:///{tmp_path / 'env.db'}", None
    else:
        url, schema = request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
    command.upgrade(migrate.alembic_config(url=url, schema=schema), "head")
    assert migrate.current(url, schema=schema) == migrate.head_revision()
    command.downgrade(migrate.alembic_config(url=url, schema=schema), "base")
    assert migrate.current(url, schema=schema) is None


# -- CLI ---------------------------------------------------------------------------


runner = CliRunner()


def _cli_target(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> list[str]:
    if kind == "sqlite":
        return ["--url", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"]
    url = request.getfixturevalue("postgres_url")
    schema = request.getfixturevalue("pg_schema")
    return ["--url", url, "--schema", schema]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_cli_upgrade_current_history_downgrade(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    target = _cli_target(request, tmp_path, kind)
    head = migrate.head_revision()

    result = runner.invoke(app, ["migrate", "current", *target])
    assert result.exit_code == 0, result.output
    assert "no journal schema" in result.output

    result = runner.invoke(app, ["migrate", "upgrade", *target])
    assert result.exit_code == 0, result.output
    assert f"to {head}" in result.output

    result = runner.invoke(app, ["migrate", "upgrade", *target])
    assert result.exit_code == 0 and "already at" in result.output

    result = runner.invoke(app, ["migrate", "current", *target])
    assert result.exit_code == 0 and result.output.strip() == f"{head} (head)"

    result = runner.invoke(app, ["migrate", "current", "--json", *target])
    assert json.loads(result.output)["revision"] == head

    result = runner.invoke(app, ["migrate", "history", *target])
    assert result.exit_code == 0
    assert "0001_initial" in result.output and "current" in result.output

    result = runner.invoke(app, ["migrate", "downgrade", "base", *target], input="n\n")
    assert result.exit_code != 0  # not confirmed: nothing happens
    assert runner.invoke(app, ["migrate", "current", *target]).output.strip() == f"{head} (head)"

    result = runner.invoke(app, ["migrate", "downgrade", "base", "--yes", *target])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["migrate", "current", "--json", *target])
    assert json.loads(result.output)["revision"] is None


def test_cli_url_from_environment(tmp_path: Path) -> None:
    env = {"CASTY_JOURNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'env.db'}"}
    result = runner.invoke(app, ["migrate", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.db").exists()


def test_cli_history_without_a_database() -> None:
    result = runner.invoke(app, ["migrate", "history", "--json"], env={"CASTY_JOURNAL_URL": ""})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["revision"] == "0001_initial"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["migrate", "upgrade", "--url", "mysql://u@h/db"], 2, "unsupported journal URL scheme"),
        (["migrate", "current", "--url", "postgresql+asyncpg://u:pw@127.0.0.1:1/db"], 3, "127.0.0.1:1"),
        (["migrate", "upgrade", "--url", "sqlite+aiosqlite:////no/such/dir/x.db"], 3, "does not exist"),
    ],
)
def test_cli_errors_are_one_red_line_and_an_exit_code(args: list[str], code: int, needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert needle in result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output + result.stderr
    assert "pw" not in result.stderr


def test_cli_not_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 200)
    result = runner.invoke(app, ["migrate", "upgrade", "--url", f"sqlite+aiosqlite:///{path}"])
    assert result.exit_code == 3
    assert "not a database" in result.stderr


def test_cli_unknown_revision_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["migrate", "upgrade", "zzz", "--url", f"sqlite+aiosqlite:///{tmp_path / 'z.db'}"]
    )
    assert result.exit_code == 2
    assert "zzz" in result.stderr


def test_cli_missing_url_is_a_usage_error() -> None:
    result = runner.invoke(app, ["migrate", "upgrade"], env={"CASTY_JOURNAL_URL": ""})
    assert result.exit_code == 2
