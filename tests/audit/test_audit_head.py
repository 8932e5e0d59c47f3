"""`auditHead` over real HTTP: a party keeps the hub's latest signed checkpoint and later
proves with `yanxing audit verify --since-head` that the log only grew; the served hub wrote
the same checkpoint to its anchor file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.cli import main
from tests.api.trusted import Trusted

HEAD = "{ auditHead { sequence hash at kid jws } }"
MEMBERS = "{ members(first: 1) { nodes { name } } }"


async def cli(argv: list[str]) -> int:
    return await asyncio.get_running_loop().run_in_executor(None, main, argv)


async def test_a_saved_head_proves_the_log_only_grew(
        trusted: Trusted, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = await trusted.gql(HEAD, party="wenjiang")
    assert first == {"data": {"auditHead": None}}  # nothing signed yet
    for _ in range(6):
        await trusted.gql(MEMBERS, party="luxian")
    answer = await trusted.gql(HEAD, party="deyang")  # any party, even one owning no source
    head = answer["data"]["auditHead"]
    assert head["sequence"] == 5 and head["kid"] == trusted.demo.hub_kid
    assert len(head["hash"]) == 64 and head["jws"].count(".") == 2
    saved = tmp_path / "deyang-head.json"
    saved.write_text(json.dumps(answer))

    anchor = trusted.trust.config.audit_anchor
    assert anchor is not None and anchor.is_file()
    assert json.loads(anchor.read_text().splitlines()[-1])["jws"] == head["jws"]

    url = trusted.world.runtime.engine.url.render_as_string(hide_password=False)
    await trusted.trust.audit_log.drain()
    argv = ["audit", "verify", "--db", url, "--hub-key",
            str(trusted.demo.hub_public_key_path), "--anchor", str(anchor),
            "--since-head", str(saved)]
    assert await cli(argv) == 0, capsys.readouterr().err
    assert "grew from 1 saved head(s)" in capsys.readouterr().out

    async with trusted.world.runtime.engine.begin() as conn:  # the operator truncates
        await conn.execute(text("DELETE FROM audit_members WHERE seq > 3"))
        await conn.execute(text("DELETE FROM audit_entries WHERE seq > 3"))
        await conn.execute(text("DELETE FROM audit_checkpoints"))
    assert await cli([*argv[:-4], "--since-head", str(saved)]) == 2
    assert ("saved head (entry 5): the hub signed a log of 5 entries" in
            capsys.readouterr().err)


async def test_the_audit_head_needs_a_party(trusted: Trusted) -> None:
    response = await trusted.world.client.post("/graphql", json={"query": HEAD})
    assert response.status_code == 401
