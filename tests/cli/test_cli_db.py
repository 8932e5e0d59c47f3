"""`yanxing db upgrade / current` and `yanxing serve`'s refusal of a database behind the
migrations' head, through the real CLI, on SQLite and (marked `store`) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from hub.cli import main
from hub.errors import SchemaOutOfDate
from hub.settings import load_settings
from hub.store.migrate import head_revision
from hub.store.session import create_engine
from hub.tables import METADATA
from tests.store.legacy import create_0_1_0_tables

pytestmark = pytest.mark.store

SECRET = "d" * 40
ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "yanxing.toml"
    path.write_text(f'[hub]\ndatabase_url = "{db_url}"\nsecret = "{SECRET}"\n'
                    'open_access = true\n', encoding="utf-8")
    return path


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _create_all(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(create_0_1_0_tables)
    finally:
        await engine.dispose()


def test_upgrade_then_current(db_url: str, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, db_url)
    assert main(["db", "current", "--config", str(config)]) == 1
    assert "no hub schema" in capsys.readouterr().out
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert f"upgraded (empty) -> {head_revision()}" in capsys.readouterr().out
    assert set(METADATA.tables) <= asyncio.run(_tables(db_url))
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "already at head" in capsys.readouterr().out
    assert main(["db", "current", "--db", db_url]) == 0
    assert f"{head_revision()} (at head)" in capsys.readouterr().out


def test_serve_refuses_a_database_behind_head(db_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(app))
    config = _config(tmp_path, db_url)
    # an empty database, then one with 0.1.0's tables made by create_all (no revision)
    for prepare in (None, _create_all):
        if prepare is not None:
            asyncio.run(prepare(db_url))
        assert main(["serve", "--config", str(config), "--port", "0"]) == 2
        err = capsys.readouterr().err
        assert "yanxing db upgrade" in err and "SCHEMA_OUT_OF_DATE" in err, err
        assert "Traceback" not in err and SECRET not in err
        assert started == []
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert main(["serve", "--config", str(config), "--port", "0"]) == 0
    assert len(started) == 1


def test_serve_process_exits_2_with_the_advice(tmp_path: Path) -> None:
    """The installed entry point, as an operator runs it: no traceback, exit 2."""
    config = _config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    result = subprocess.run(
        [sys.executable, "-m", "hub", "serve", "--config", str(config), "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2, result.stderr
    assert "run `yanxing db upgrade" in result.stderr and "Traceback" not in result.stderr


async def test_the_app_itself_refuses_when_asked_not_to_migrate(tmp_path: Path) -> None:
    from hub.app import open_runtime

    settings = load_settings(_config(tmp_path, "sqlite+aiosqlite:///hub.db"))
    with pytest.raises(SchemaOutOfDate):
        async with open_runtime(settings, migrate=False):
            pass  # pragma: no cover
    async with open_runtime(settings) as runtime:  # the demo's and tests' default: upgrade
        assert runtime.engine is not None
    async with open_runtime(settings, migrate=False):
        pass


@pytest.mark.parametrize("url, expected", [
    ("not a url", "--db is not a database URL"),
    ("mysql+aiomysql://u@h/x", "unsupported database 'mysql'"),
    ("postgresql://postgres@127.0.0.1/x", "use the async driver"),
    ("postgresql+asyncpg://u:hunter22@127.0.0.1:1/x", "cannot use the database at "
     "postgresql+asyncpg://u:***@127.0.0.1:1/x"),
])
def test_bad_or_unreachable_database_exits_2_without_traceback(
        url: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("upgrade", "current"):
        assert main(["db", action, "--db", url]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err and "hunter22" not in err, err
