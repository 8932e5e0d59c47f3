"""`yanxing registry publish` against a running hub over real HTTP (uvicorn): the registry that
revokes a key is used by the very next request; `yanxing serve` then refuses to start with the
older registry file (a downgrade), with a message and exit 2, and so does publishing one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.cli import main
from hub.clock import utcnow
from hub.contracts.demo import build_demo_trust
from hub.settings import load_settings
from tests.api.test_keys_and_tokens import next_registry
from tests.cli.test_cli_serve_trust import PARTIES, _trust_table, _write

QUERY = {"query": "{ contracts { id state } }"}


@asynccontextmanager
async def _serving(config: Path) -> AsyncIterator[str]:
    import uvicorn

    from hub.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(load_settings(config)), host="127.0.0.1",
                                           port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/graphql"
    finally:
        server.should_exit = True
        await task


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_publish_takes_effect_on_the_next_request_and_restart_refuses_older(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # signed a minute ago: the contracts submitted at each start predate the revocation
    demo = build_demo_trust(tmp_path / "trust", PARTIES, now=utcnow() - timedelta(minutes=1))
    config = _write(tmp_path, _trust_table(demo, tmp_path))
    kid, _ = demo.party_keys["luxian"]
    published = tmp_path / "registry-v2.json"
    async with _serving(config) as url, httpx.AsyncClient(timeout=30) as client:
        before = await client.post(url, json=QUERY, headers=_auth(demo.token_for("luxian")))
        assert before.status_code == 200, before.text
        # revoked from now on (a second after the start: times are whole seconds), so the
        # contracts the hub registered at its start still count
        await asyncio.sleep(1.1)
        envelope, _ = next_registry(demo, revoke=kid)
        published.write_text(json.dumps(envelope), encoding="utf-8")
        code = await asyncio.to_thread(
            main, ["registry", "publish", str(published), "--config", str(config)])
        assert code == 0
        assert "registry version 2 published" in capsys.readouterr().out
        after = await client.post(url, json=QUERY, headers=_auth(demo.token_for("luxian")))
        assert after.status_code == 401, after.text
        assert after.json()["errors"][0]["extensions"]["reason"] == "key_revoked"
        other = await client.post(url, json=QUERY, headers=_auth(demo.token_for("wenjiang")))
        assert other.status_code == 200, other.text

    # restart with the old registry file (version 1): refused before the server starts
    import uvicorn

    def must_not_serve(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("serve started with a downgraded registry")

    monkeypatch.setattr(uvicorn, "run", must_not_serve)
    assert await asyncio.to_thread(main, ["serve", "--config", str(config), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "registry version 1 is older than version 2" in err, err
    assert "Traceback" not in err
    # publishing the older one again is refused the same way
    assert await asyncio.to_thread(
        main, ["registry", "publish", str(demo.registry_path), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "older than version 2" in err and "Traceback" not in err
    # with the published registry installed as trust.registry, the hub starts again
    demo.registry_path.write_text(published.read_text(encoding="utf-8"), encoding="utf-8")
    async with _serving(config) as url, httpx.AsyncClient(timeout=30) as client:
        again = await client.post(url, json=QUERY, headers=_auth(demo.token_for("wenjiang")))
        assert again.status_code == 200, again.text


def test_publish_refuses_a_registry_not_signed_by_the_hub_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hub.contracts.trust_registry import sign_registry
    from hub.jws import parse_general

    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    config = _write(tmp_path, _trust_table(demo, tmp_path))
    draft = dict(parse_general(json.loads(demo.registry_path.read_text("utf-8"))).payload)
    draft["version"] = 9
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(sign_registry(draft, Ed25519PrivateKey.generate())), "utf-8")
    assert main(["registry", "publish", str(forged), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "not signed by the hub key" in err and "Traceback" not in err
    no_trust = _write(tmp_path, "")
    assert main(["registry", "publish", str(forged), "--config", str(no_trust)]) == 2
    assert "no [trust] table" in capsys.readouterr().err
