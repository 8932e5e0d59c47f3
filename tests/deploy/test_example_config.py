"""deploy/yanxing.toml is a configuration `yanxing` accepts: production mode, serving under
[trust] with the Redis replay cache, every secret from the environment, every trust path a
mounted file. Loaded by hub.settings.load_settings (what `yanxing serve` and `db upgrade` do)
with the environment set and placeholder files where the container mounts them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.settings import load_settings
from tests.deploy.layout import EXAMPLE_CONFIG, MOUNTS, REPLAY_CACHE, deploy_like_config, example

ENV = {"YANXING_DATABASE_URL": "postgresql+asyncpg://yanxing:pw@postgres:5432/yanxing",
       "YANXING_SECRET": "an-example-secret-of-forty-bytes-0123456"}


def _fake_trust_files(tmp: Path) -> dict[str, Path]:
    files = {}
    for name in ("registry", "hub_public_key", "hub_private_key"):
        files[name] = tmp / f"fake-{name}"
        files[name].write_text("placeholder: only load_settings reads this\n", encoding="utf-8")
    return files


def test_example_config_loads_in_production_under_trust(tmp_path: Path) -> None:
    layout = deploy_like_config(tmp_path / "container", redis_url=REPLAY_CACHE,
                                prefix="yanxing:replay:", **_fake_trust_files(tmp_path))
    settings = load_settings(layout.config, env=ENV)
    assert not settings.hub.mode.is_development and not settings.hub.mode.open_access
    assert not settings.hub.mode.introspection
    assert settings.hub.database_url == ENV["YANXING_DATABASE_URL"]
    assert settings.hub.secret_bytes == ENV["YANXING_SECRET"].encode()
    assert settings.hub.public_url == "https://yanxing.example.gov.cn"
    trust = settings.trust
    assert trust is not None and trust.enforce
    assert trust.replay_cache == REPLAY_CACHE  # shared by every replica, not "memory"
    assert trust.registry_path == layout.mounted("/etc/yanxing-trust/registry.json")
    assert trust.hub_private_key_path == layout.mounted("/run/secrets/yanxing/hub-1.key.pem")
    assert trust.audit_anchor == layout.mounted("/var/lib/yanxing/audit-anchor.jsonl")


def test_example_config_holds_no_secret_and_names_what_is_missing(tmp_path: Path) -> None:
    raw = example()
    assert raw["hub"]["database_url"] == "${YANXING_DATABASE_URL}"
    assert raw["hub"]["secret"] == "${YANXING_SECRET}"
    assert raw["hub"]["mode"] == "production"
    # every trust path is an absolute path under a mounted folder
    for key in ("registry", "hub_public_key", "hub_private_key", "audit_anchor"):
        assert any(raw["trust"][key].startswith(f"{m}/") for m in MOUNTS), key
    layout = deploy_like_config(tmp_path / "container", redis_url=REPLAY_CACHE,
                                prefix="yanxing:replay:", **_fake_trust_files(tmp_path))
    with pytest.raises(ConfigError) as info:
        load_settings(layout.config, env={})
    problems = "\n".join(info.value.problems)
    assert "YANXING_DATABASE_URL is not set" in problems
    assert "YANXING_SECRET is not set" in problems


def test_every_limit_and_trust_key_is_written_out_and_documented() -> None:
    """The example writes every [limits] and [trust] key out (limits at their defaults), and
    deploy/README.md's tables name each: a new setting shows up here until it is documented."""
    from dataclasses import fields

    from hub.settings import TRUST_KEYS, Limits, RateLimits

    raw = example()
    readme = (EXAMPLE_CONFIG.parent / "README.md").read_text(encoding="utf-8")
    for limit in fields(Limits):
        if limit.name == "rate":  # the [limits.rate] table, below
            continue
        assert raw["limits"].get(limit.name) == limit.default, \
            f"deploy/yanxing.toml [limits] should write out {limit.name} = {limit.default}"
        assert f"| `{limit.name}` | {limit.default} |" in readme, \
            f"deploy/README.md's [limits] table lacks {limit.name} (default {limit.default})"
    rates = RateLimits()
    for rate in fields(RateLimits):
        if rate.name == "parties":
            continue
        assert raw["limits"]["rate"].get(rate.name) == getattr(rates, rate.name), \
            f"deploy/yanxing.toml [limits.rate] should write out {rate.name}"
        assert f"| `{rate.name}` | {getattr(rates, rate.name)} |" in readme, \
            f"deploy/README.md's [limits.rate] table lacks {rate.name}"
    assert set(raw["trust"]) == set(TRUST_KEYS), set(TRUST_KEYS) ^ set(raw["trust"])
    for key in TRUST_KEYS:
        assert f"| `{key}` |" in readme, f"deploy/README.md's [trust] table lacks {key}"
