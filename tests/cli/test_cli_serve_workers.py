"""`yanxing serve --workers N`: real worker processes on one port, sharing the replay cache
and the audit chain through the database; refused (exit 2, one line) with a replay cache only
one process sees."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest

from hub.cli import main
from hub.demo.launch import start_demo

PARTY = "xuzhou-county-org"
QUERY = "{ members(first: 2) { nodes { key status } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_workers_refused_with_a_memory_replay_cache(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    async def demo() -> tuple[Path, dict[str, str]]:
        async with start_demo(tmp_path / "demo", port=0, members=20) as hub:
            return hub.config_path, dict(hub.env)

    config, env = asyncio.run(demo())
    assert 'replay_cache = "memory"' in config.read_text(encoding="utf-8")
    old = dict(os.environ)
    os.environ.update(env)
    try:
        code = main(["serve", "--config", str(config), "--port", str(free_port()),
                     "--workers", "2"])
    finally:
        os.environ.clear()
        os.environ.update(old)
    err = capsys.readouterr().err
    assert code == 2
    assert "--workers 2 needs a replay cache every worker sees" in err
    assert "Traceback" not in err


async def test_two_workers_share_tokens_and_one_audit_chain(tmp_path: Path) -> None:
    async with start_demo(tmp_path / "demo", port=0, members=40) as hub:
        assert hub.trust is not None
        trust = hub.trust
        config = hub.config_path
        config.write_text(config.read_text(encoding="utf-8").replace(
            'replay_cache = "memory"', 'replay_cache = "database"'), encoding="utf-8")
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", "--config", str(config), "--port", str(port),
            "--workers", "2", env={**os.environ, **hub.env},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        url = f"http://127.0.0.1:{port}/graphql"
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                for _ in range(300):
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/healthz")).is_success:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                assert len(children(process.pid)) >= 2  # the supervisor's worker processes

                async def ask(token: str) -> httpx.Response:
                    # a fresh connection each time, so requests spread over the workers
                    async with httpx.AsyncClient(timeout=30) as fresh:
                        return await fresh.post(url, json={"query": QUERY},
                                                headers={"Authorization": f"Bearer {token}"})

                answers = await asyncio.gather(*(ask(trust.token_for(PARTY))
                                                 for _ in range(24)))
                assert [a.status_code for a in answers] == [200] * 24
                assert all(a.json()["data"]["members"]["nodes"] for a in answers)
                # one token, sent to every worker at once: exactly one request is served
                token = trust.token_for(PARTY)
                replays = await asyncio.gather(*(ask(token) for _ in range(8)))
                assert sorted(a.status_code for a in replays) == [200] + [401] * 7
                assert all(a.json()["errors"][0]["extensions"]["reason"] == "replayed"
                           for a in replays if a.status_code == 401)
        finally:
            process.terminate()
            await process.communicate()
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, main, ["audit", "verify", "--config",
                                                       str(config)])
        assert code == 0
