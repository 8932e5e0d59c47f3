"""A real `yanxing serve` process over the demo world: its stderr (uvicorn's access log and
every error it logs) holds none of the names, ID numbers and phones callers sent, and the log it
wrote verifies with `yanxing audit verify --config` (anchor file included)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx

from hub.cli import main
from hub.demo.launch import start_demo

OWNER = "xuzhou-county-org"
SENT = ["王小明", "13912345678", "510521199001011234"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_served_hub_logs_no_personal_data(tmp_path: Path) -> None:
    async with start_demo(tmp_path / "demo", port=0, members=30) as hub:
        assert hub.trust is not None
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", "--config", str(hub.config_path),
            "--port", str(port), env={**os.environ, **hub.env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        url = f"http://127.0.0.1:{port}/graphql"
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                for _ in range(200):
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/healthz")).is_success:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)

                def auth() -> dict[str, str]:
                    assert hub.trust is not None
                    return {"Authorization": f"Bearer {hub.trust.token_for(OWNER)}"}

                answer = (await client.post(url, json={"query": "{ members(first: 1) { nodes "
                          "{ name idNumber phone } } }"}, headers=auth())).json()
                seeded = [v for node in answer["data"]["members"]["nodes"] for v in node.values()
                          if v]
                assert len(seeded) >= 2
                values = [*seeded, *SENT]
                for value in values:
                    literal = f'{{ members(filter: {{name: "{value}"}}) {{ totalCount }} }}'
                    await client.get(url, params={"query": literal}, headers=auth())
                    await client.post(url, json={"query": literal[:-3]}, headers=auth())
                    await client.post(url, json={"query": literal.replace("totalCount",
                                                                          "nosuch")},
                                      headers=auth())
                    await client.post(url, json={"query": "query Q($n: Int) { members(first: "
                                                 "$n) { totalCount } }",
                                                 "variables": {"n": value}}, headers=auth())
                    await client.post(url, json={"query": "{ __typename }"},
                                      headers={b"Authorization": f"Bearer {value}".encode()})
        finally:
            process.terminate()
            out, err = await process.communicate()
        # uvicorn writes its access log to stdout, everything else to stderr
        stderr = (out + err).decode("utf-8", "replace")
        assert "GET /graphql?(query not logged)" in stderr, stderr  # the access log is there
        # `serve` logs JSON by default ([hub] log_format): one hub.request line per request
        lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        requests = [line for line in lines if line.get("logger") == "hub.request"]
        assert len(requests) == 1 + 5 * len(values), requests[:3]
        first = requests[0]
        assert first["party"] == OWNER and first["outcome"] == "ok" and first["status"] == 200
        assert first["operation"] == "anonymous" and first["duration_ms"] >= 0
        assert len(first["request_id"]) == 32
        outcomes = {line["outcome"] for line in requests}
        assert {"GRAPHQL_VALIDATION_FAILED", "UNAUTHENTICATED"} <= outcomes, outcomes
        assert not any("traceback" in line for line in requests)
        leaked = [v for v in values if v in stderr]
        assert leaked == [], [line for line in stderr.splitlines()
                              if any(v in line for v in leaked)]
        loop = asyncio.get_running_loop()
        # an auditor's machine: no hub secret, no source credentials needed
        code = await loop.run_in_executor(
            None, main, ["audit", "verify", "--config", str(hub.config_path)])
        assert code == 0
        assert (hub.config_path.parent / "audit-anchor.jsonl").is_file()
