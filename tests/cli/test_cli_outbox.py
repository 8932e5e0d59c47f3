"""`yanxing outbox list / retry` through the real CLI on a migrated SQLite database: the
table shows each delivery's state and error, `retry` queues only a failed one, and every
mistake is one line on stderr with exit 2."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.cli import main
from hub.exchange.outbox import DeliveryRow
from hub.store.session import create_engine, create_session_factory, init_db

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "yanxing.toml"
    path.write_text(f'[hub]\ndatabase_url = "{url}"\nsecret = "{"s" * 40}"\n'
                    "open_access = true\n", encoding="utf-8")
    return path


def _row(entry: int, source: str, state: str, **extra: object) -> DeliveryRow:
    return DeliveryRow(entry_id=entry, action="checkin", source=source,
                       idempotency_key=f"yanxing-{entry}", values={}, state=state,
                       attempts=extra.pop("attempts", 0), created_at=NOW, **extra)


async def _seed(url: str) -> None:
    engine = create_engine(url)
    await init_db(engine)
    async with create_session_factory(engine).begin() as session:
        session.add_all([
            _row(1, "chengdu", "delivered", attempts=1, delivered_at=NOW, remote_id="CK000001"),
            _row(1, "zhejiang", "not_applicable",
                 reason="this system cannot take writes: the entry stays in the hub's ledger only"),
            _row(2, "chengdu", "failed", attempts=1, last_error_code="SOURCE_REJECTED",
                 last_error="POST /api/v1/checkins: HTTP 422: 未在本平台登记"),
            _row(3, "chengdu", "pending", attempts=2, next_attempt_at=NOW,
                 last_error_code="SOURCE_UNAVAILABLE", last_error="POST /api/v1/checkins: "
                 "ClientConnectorError"),
        ])
    await engine.dispose()


async def _states(url: str) -> dict[int, tuple[str, int]]:
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        rows = await session.scalars(select(DeliveryRow))
        out = {r.id: (r.state, r.attempts) for r in rows}
    await engine.dispose()
    return out


@pytest.fixture
def config(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    asyncio.run(_seed(url))
    return _config(tmp_path, url), url


def test_list_shows_state_attempts_and_the_systems_error(config, capsys) -> None:
    path, _ = config
    assert main(["outbox", "list", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "entry", "action", "source", "state", "attempts", "next",
                                "attempt", "delivered", "error", "/", "reason"]
    assert set(lines[1]) == {"-", " "}
    assert [line.split()[:6] for line in lines[2:]] == [
        ["4", "3", "checkin", "chengdu", "pending", "2"],
        ["3", "2", "checkin", "chengdu", "failed", "1"],
        ["2", "1", "checkin", "zhejiang", "not_applicable", "0"],
        ["1", "1", "checkin", "chengdu", "delivered", "1"],
    ]
    assert "2026-12-06 08:00:00" in lines[2]
    assert lines[3].endswith("[SOURCE_REJECTED] POST /api/v1/checkins: HTTP 422: 未在本平台登记")
    assert lines[4].endswith("the entry stays in the hub's ledger only")


def test_list_filters_by_state_and_source(config, capsys) -> None:
    path, _ = config
    assert main(["outbox", "list", "--state", "failed", "--config", str(path)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:]] == ["3"]
    assert main(["outbox", "list", "--source", "nowhere", "--config", str(path)]) == 0
    assert capsys.readouterr().out == "no deliveries in that selection\n"


def test_retry_queues_a_failed_delivery_only(config, capsys) -> None:
    path, url = config
    assert main(["outbox", "retry", "3", "--config", str(path)]) == 0
    assert "delivery 3 (entry 2 to chengdu) queued again" in capsys.readouterr().out
    assert asyncio.run(_states(url))[3] == ("pending", 0)
    assert main(["outbox", "retry", "1", "--config", str(path)]) == 2
    assert "delivery 1 is delivered, not failed" in capsys.readouterr().err
    assert main(["outbox", "retry", "99", "--config", str(path)]) == 2
    assert "there is no delivery 99" in capsys.readouterr().err
    assert asyncio.run(_states(url))[1] == ("delivered", 1)


def test_a_database_without_the_schema_says_how_to_fix_it(tmp_path: Path, capsys) -> None:
    path = _config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert main(["outbox", "list", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "yanxing db upgrade" in err and "Traceback" not in err


def test_bad_arguments_exit_2(config, capsys) -> None:
    path, _ = config
    with pytest.raises(SystemExit) as caught:
        main(["outbox", "list", "--state", "lost", "--config", str(path)])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        main(["outbox", "retry", "abc", "--config", str(path)])
    assert "invalid int value" in capsys.readouterr().err
