"""deploy/compose.yaml, checked the way `docker compose config` would read it (YAML, merge
keys), without Docker: the hub waits for a one-shot migration that waits for a healthy
PostgreSQL; PostgreSQL, Redis and the hub have healthchecks; the database, Redis and the audit
anchor live on named volumes; the configuration, trust files and key are mounted where
deploy/yanxing.toml expects them; and no secret value is written in the file."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.deploy.layout import CONFIG_PATH, DEPLOY, REPLAY_CACHE, example

COMPOSE = DEPLOY / "compose.yaml"
#: `${NAME}`, `${NAME:-default}`, `${NAME:?message}`: compose interpolation, not a value
_INTERPOLATION = re.compile(r"\$\{[A-Z_][A-Z0-9_]*(?:(?::?[-?])[^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # resolves <<: merge keys
    assert isinstance(loaded, dict)
    return loaded


def _targets(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    mounts: dict[str, dict[str, Any]] = {}
    for volume in service.get("volumes", []):
        assert isinstance(volume, dict), f"use the long volume syntax: {volume!r}"
        mounts[volume["target"]] = volume
    for secret in service.get("secrets", []):
        mounts[secret["target"]] = {"type": "secret", **secret}
    return mounts


def test_services_and_their_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"hub", "migrate", "postgres", "redis"}
    assert services["hub"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["command"] == ["db", "upgrade", "--config", CONFIG_PATH]
    assert services["migrate"]["restart"] == "no"  # one-shot: it must be able to complete
    serve = services["hub"]["command"]
    assert serve[:3] == ["serve", "--config", CONFIG_PATH]
    assert serve[serve.index("--host") + 1] == "0.0.0.0"
    # migrate runs the hub's very image with the hub's configuration
    for key in ("image", "build", "environment", "volumes", "secrets"):
        assert services["migrate"][key] == services["hub"][key], key


def test_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "/healthz" in " ".join(services["hub"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_volumes_and_mounts_match_the_configuration(compose: dict[str, Any]) -> None:
    services = compose["services"]
    named = set(compose["volumes"])
    assert _targets(services["postgres"])["/var/lib/postgresql/data"]["source"] in named
    assert _targets(services["redis"])["/data"]["source"] in named
    assert "--appendonly" in services["redis"]["command"]  # used token ids survive a restart
    hub = _targets(services["hub"])
    trust = example()["trust"]
    anchor_dir = str(PurePosixPath(trust["audit_anchor"]).parent)
    assert hub[anchor_dir]["type"] == "volume" and hub[anchor_dir]["source"] in named
    assert hub[CONFIG_PATH] == {"type": "bind", "source": "./yanxing.toml",
                                "target": CONFIG_PATH, "read_only": True}
    assert (DEPLOY / hub[CONFIG_PATH]["source"]).resolve() == (DEPLOY / "yanxing.toml").resolve()
    trust_dir = str(PurePosixPath(trust["registry"]).parent)
    assert str(PurePosixPath(trust["hub_public_key"]).parent) == trust_dir
    assert hub[trust_dir]["type"] == "bind" and hub[trust_dir]["read_only"] is True
    key = hub[trust["hub_private_key"]]
    assert key["type"] == "secret" and "file" in compose["secrets"][key["source"]]
    # the replay cache the configuration names is this file's Redis service
    assert trust["replay_cache"] == REPLAY_CACHE and "redis" in services
    # the hub's root filesystem is read-only; /tmp is a tmpfs
    assert services["hub"]["read_only"] is True and "/tmp" in services["hub"]["tmpfs"]
    assert services["hub"]["cap_drop"] == ["ALL"]


def _strings(value: Any, where: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{where}[{i}]")]
    return [(where, str(value))]


def test_no_inline_secret_values(compose: dict[str, Any]) -> None:
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|DATABASE_URL|_KEY", re.I)
    for name, service in compose["services"].items():
        for var, value in service.get("environment", {}).items():
            if secretish.search(var):
                assert _INTERPOLATION.search(str(value)), f"{name}.{var} holds a value"
                # a URL's password is interpolated too, never written
                without = _INTERPOLATION.sub("", str(value))
                assert not re.search(r"://[^/@:]+:[^/@${}]+@", without), (name, var)
    for where, value in _strings(compose):
        assert "BEGIN" not in value and "PRIVATE KEY" not in value, where
    # secrets come from files outside the repository (deploy/.gitignore)
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert {".env", "secrets/", "trust/"} <= set(ignored)
    for secret in compose["secrets"].values():
        assert Path(secret["file"]).parts[0] == "secrets", secret  # Path drops the "."


def test_env_example_holds_placeholders_only(compose: dict[str, Any]) -> None:
    values = dict(line.split("=", 1) for line in (DEPLOY / "env.example").read_text(
        encoding="utf-8").splitlines() if line and not line.startswith("#"))
    for name in ("POSTGRES_PASSWORD", "YANXING_SECRET"):
        assert values[name].startswith("CHANGE-ME"), name
    interpolated = {name for _, value in _strings(compose)
                    for name in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", value)}
    assert interpolated - {"YANXING_IMAGE"} <= set(values), interpolated - set(values)
