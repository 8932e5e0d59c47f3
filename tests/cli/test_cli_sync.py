"""`yanxing sync` end to end: a real yanxing.toml, a real county SQLite database, a real index."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.cli import main
from hub.store.models import MemberRow, SourceLinkRow
from hub.store.session import create_engine, create_session_factory

SECRET = "c" * 40

MAPPING = """
[source]
name = "county"
kind = "sql"
title = "泸县流动党员信息库"
side = "origin"

[connection]
url = "sqlite+aiosqlite:///{db}"

[entities.member]
path = "members"
local_id = "id"

[entities.member.fields]
name = "xm"
id_number = "sfzh"
status = {{ column = "zt", codes = {{ "正常联系" = "in_contact", "失联" = "lost_contact" }} }}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db = tmp_path / "county.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE members (id TEXT PRIMARY KEY, xm TEXT, sfzh TEXT, zt TEXT)")
        conn.executemany(
            "INSERT INTO members VALUES (?, ?, ?, ?)",
            [("1", "张三", "11010519491231002X", "正常联系"),
             ("2", "李四", "510521199001010017", "失联"),
             ("3", "王五", "123", "正常联系")],  # invalid ID: kept unlinked
        )
    (tmp_path / "county.toml").write_text(MAPPING.format(db=db), encoding="utf-8")
    path = tmp_path / "yanxing.toml"
    path.write_text(
        f'[hub]\nsecret = "{SECRET}"\ndatabase_url = "sqlite+aiosqlite:///index.db"\n\n'
        '[[sources]]\nmapping = "county.toml"\nowner = "luxian-zzb"\n',
        encoding="utf-8",
    )
    return path


async def _counts(index: Path) -> tuple[int, int]:
    engine = create_engine(f"sqlite+aiosqlite:///{index}")
    try:
        async with create_session_factory(engine)() as session:
            members = (
                await session.execute(select(func.count()).select_from(MemberRow))
            ).scalar_one()
            links = (
                await session.execute(select(func.count()).select_from(SourceLinkRow))
            ).scalar_one()
        return int(members), int(links)
    finally:
        await engine.dispose()


def test_sync_all_prints_a_summary_and_indexes(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\r" not in out  # not a terminal: no progress line
    header, _rule, row = out.splitlines()[:3]
    assert header.split() == ["source", "status", "mode", "records", "linked", "unlinked",
                              "issues", "pages", "seconds"]
    assert row.split()[:6] == ["county", "ok", "full", "3", "2", "1"]
    assert asyncio.run(_counts(config.parent / "index.db")) == (2, 3)
    assert main(["sync", "county", "--config", str(config), "--changed"]) == 0  # idempotent


def test_unknown_source_lists_configured_names(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "zheli", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no source named 'zheli'" in err and "configured sources: county" in err


def test_bad_config_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "yanxing.toml"
    path.write_text(
        '[hub]\nsecret = "short"\n[[sources]]\nmapping = "nope.toml"\n', encoding="utf-8"
    )
    assert main(["sync", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "hub.secret is too short" in err and "nope.toml" in err and "Traceback" not in err


def test_failing_source_exits_1_with_its_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(config.parent / "county.db") as conn:
        conn.execute("DROP TABLE members")
    assert main(["sync", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[2].split()[:2] == ["county", "failed"]
    assert "county:" in out.splitlines()[-1] and "[SOURCE_" in out.splitlines()[-1]


class _Tty:
    """A text sink that says it is a terminal."""

    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_progress_line_only_on_a_terminal(tty: bool) -> None:
    from hub.cli.sync import _ProgressLine
    from hub.federation.sync import SyncProgress

    sink = _Tty(tty)
    line = _ProgressLine(sink)  # type: ignore[arg-type]
    line(SyncProgress("county", "member", 2, 1000))
    assert ("county · member: 1000 records, page 2" in sink.text) is tty
    assert sink.text.startswith("\r") is tty
