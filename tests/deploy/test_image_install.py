"""The Dockerfile's install steps reach readiness, outside Docker: the wheel built and installed
into a fresh venv outside the checkout (tests/wheel_build.py: the Dockerfile's two stages), then
what the containers run, in compose's order: `yanxing db upgrade` (the migrate service / Job),
then `yanxing serve` with deploy/yanxing.toml, its mount points moved under a temporary folder,
against a fresh PostgreSQL database and Redis on 127.0.0.1. /readyz turns ready; a party token
is accepted once and refused on replay through Redis (the cache every replica shares); the
anchor file is created on its volume; SIGTERM stops the hub cleanly.

PostgreSQL: $YANXING_TEST_DATABASE_URL's server (default postgres@127.0.0.1:5432), a new
database dropped afterwards. Redis: $YANXING_TEST_REDIS_URL (default redis://127.0.0.1:6379/7),
keys under a per-run prefix, deleted afterwards. Unreachable: skipped, unless CI=true."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hub.contracts.demo import build_demo_trust
from hub.store.session import create_engine
from tests.deploy.layout import deploy_like_config
from tests.wheel_build import Installed, wait_ready

pytestmark = pytest.mark.slow

PG_ENV = "YANXING_TEST_DATABASE_URL"
REDIS_ENV = "YANXING_TEST_REDIS_URL"
SECRET = "deploy-test-secret-0123456789abcdefghij"
PARTIES = [("wenjiang", "温江区委组织部", ["510115"]), ("luxian", "泸县委组织部", ["510521"])]


def _unreachable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def database_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (what a deployment starts from), dropped afterwards."""
    base = make_url(os.environ.get(PG_ENV, "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"))
    name = f"{base.database or 'yanxing'}_deploy_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        engine = create_engine(base.render_as_string(hide_password=False),
                               isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # asyncpg and SQLAlchemy wrap connection failures variously
        _unreachable(f"PostgreSQL at {base.render_as_string()} is unreachable: "
                     f"{type(exc).__name__}: {exc}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_url() -> Iterator[tuple[str, str]]:
    """Redis' URL and a key prefix of this run's own; its keys are deleted afterwards."""
    import redis

    url = os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379/7")
    client = redis.Redis.from_url(url, socket_connect_timeout=2.0)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        client.close()
        _unreachable(f"Redis at {url} is unreachable: {type(exc).__name__}: {exc}")
    prefix = f"yanxing-deploy-test:{uuid.uuid4().hex[:10]}:"
    try:
        yield url, prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def _post(url: str, token: str | None) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/graphql", method="POST", headers=headers,
                                     data=json.dumps({"query": "{ __typename }"}).encode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_for_url(log: Path, serve: subprocess.Popen[str], timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)",
                          log.read_text(encoding="utf-8"))
        if found:
            return found.group(1)
        assert serve.poll() is None, log.read_text(encoding="utf-8")
        time.sleep(0.2)
    raise AssertionError(f"serve never said where it listens:\n{log.read_text(encoding='utf-8')}")


def test_installed_wheel_migrates_then_serves_the_deploy_config_to_readiness(
        installed_wheel: Installed, database_url: str, redis_url: tuple[str, str],
        tmp_path: Path) -> None:
    import redis

    url, prefix = redis_url
    trust = build_demo_trust(tmp_path / "trust-material", PARTIES)
    layout = deploy_like_config(
        tmp_path / "container", redis_url=url, prefix=prefix, registry=trust.registry_path,
        hub_public_key=trust.hub_public_key_path, hub_private_key=trust.hub_private_key_path)
    hub = installed_wheel.elsewhere(tmp_path / "workdir", YANXING_DATABASE_URL=database_url,
                                    YANXING_SECRET=SECRET)
    config = str(layout.config)

    # serve never migrates: a new database is refused until the migration has run
    refused = hub.yanxing("db", "current", "--config", config)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    upgraded = hub.yanxing("db", "upgrade", "--config", config)
    assert upgraded.returncode == 0 and "upgraded" in upgraded.stdout, upgraded.stderr
    assert hub.yanxing("db", "current", "--config", config).returncode == 0

    log = tmp_path / "serve.log"
    with log.open("w", encoding="utf-8") as out:
        serve = subprocess.Popen(
            [str(hub.bin / "yanxing"), "serve", "--config", config, "--host", "127.0.0.1",
             "--port", "0"], cwd=hub.cwd, env=hub.env, stdout=out, stderr=subprocess.STDOUT,
            text=True)
    try:
        base = _wait_for_url(log, serve)
        status, body = wait_ready(f"{base}/readyz", serve)
        assert status == 200, body
        assert json.loads(body)["database"] == {"status": "ok"}
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.status == 200
        # production under [trust]: no token, no answer
        status, answer = _post(base, None)
        assert status == 401, answer
        kid, key = trust.party_keys["wenjiang"]
        minted = hub.yanxing("token", "--party", "wenjiang", "--user", "official-1",
                             "--purpose", "own-records", "--key", str(key), "--kid", kid,
                             "--audience", trust.hub_id)
        assert minted.returncode == 0, minted.stderr
        token = minted.stdout.strip()
        status, answer = _post(base, token)
        assert status == 200 and answer["data"] == {"__typename": "Query"}, answer
        status, answer = _post(base, token)  # single use, remembered in Redis
        assert status == 401, answer
        client = redis.Redis.from_url(url)
        try:
            assert list(client.scan_iter(match=f"{prefix}*")), "no used token id in Redis"
        finally:
            client.close()
        assert layout.mounted("/var/lib/yanxing/audit-anchor.jsonl").is_file()
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(timeout=30)
        except subprocess.TimeoutExpired as exc:
            serve.kill()
            serve.wait()
            raise AssertionError(
                f"serve ignored SIGTERM:\n{log.read_text(encoding='utf-8')}"
            ) from exc
    output = log.read_text(encoding="utf-8")
    # a graceful stop: uvicorn drains, runs the shutdown, then re-raises SIGTERM on itself (so
    # the exit status says "terminated": 143 in a container, which Kubernetes expects)
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output and "Finished server process" in output
    assert "Traceback" not in output, output
