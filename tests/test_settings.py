"""yanxing.toml: a valid file loads into frozen settings; every bad one lists all its problems."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.model import Side
from hub.settings import Limits, Settings, load_settings

SECRET = "s" * 40
ENV = {"YANXING_SECRET": SECRET}


def mapping(name: str, side: str = "origin") -> str:
    return f"""
[source]
name = "{name}"
kind = "sql"
title = "县流动党员信息库"
side = "{side}"

[connection]
url = "sqlite+aiosqlite:///county.db"

[entities.member]
path = "members"
local_id = "id"

[entities.member.fields]
name = "xm"
id_number = "sfzh"
"""


def write(tmp_path: Path, config: str, **mappings: str) -> Path:
    (tmp_path / "mappings").mkdir(exist_ok=True)
    for file, text in mappings.items():
        (tmp_path / "mappings" / f"{file}.toml").write_text(text, encoding="utf-8")
    path = tmp_path / "yanxing.toml"
    path.write_text(config, encoding="utf-8")
    return path


GOOD = """
[hub]
database_url = "sqlite+aiosqlite:///var/yanxing.db"
secret = "${YANXING_SECRET}"
public_url = "http://127.0.0.1:8000/"

[limits]
max_depth = 8
source_timeout_seconds = 2

[[sources]]
mapping = "mappings/county.toml"
owner = "luxian-zzb"
[sources.connection]
url = "sqlite+aiosqlite:///other.db"

[[sources]]
mapping = "mappings/chengdu.toml"
owner = "chengdu-operator"
"""


def test_good_file_loads_with_defaults_and_resolved_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD, county=mapping("county"), chengdu=mapping("chengdu", "destination")
    )
    settings = load_settings(path, env=ENV)
    assert settings.hub.secret_bytes == SECRET.encode()
    assert settings.hub.public_url == "http://127.0.0.1:8000"
    assert settings.hub.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'yanxing.db'}"
    assert settings.limits == Limits(max_depth=8, source_timeout_seconds=2.0)
    assert settings.limits.max_page_size == 100  # default kept
    assert settings.source_names == ("county", "chengdu")
    county = settings.source("county")
    assert (county.side, county.owner) == (Side.ORIGIN, "luxian-zzb")
    # relative to yanxing.toml, where it is written, not to the mapping's folder
    url = county.mapping.connection["url"].reveal()
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    assert settings.source("chengdu").side is Side.DESTINATION
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.limits.max_depth = 99  # type: ignore[misc]


def test_secret_never_shows_in_repr(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://yx:hunter2-password@db/yanxing"
    path = write(tmp_path, f'[hub]\nsecret = "{SECRET}"\ndatabase_url = "{url}"\n')
    settings = load_settings(path, env={})
    assert SECRET not in repr(settings) and SECRET not in str(settings.hub.secret)
    assert "hunter2" not in repr(settings) and "hunter2" not in settings.hub.database_url_display
    assert settings.hub.database_url == url


def test_unknown_source_name_lists_the_configured_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD, county=mapping("county"), chengdu=mapping("chengdu", "destination")
    )
    with pytest.raises(ConfigError, match="configured sources: county, chengdu"):
        load_settings(path, env=ENV).source("zheli")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = """
colour = "blue"

[hub]
database_url = "mysql://root@localhost/x"
secret = "short"
public_url = "ftp://example"
debug = true

[limits]
max_depth = "deep"
max_page_size = 1000000
max_cost = true
timeout = 3

[[sources]]
mapping = "mappings/missing.toml"
owner = "x"

[[sources]]
mapping = "mappings/a.toml"

[[sources]]
mapping = "mappings/broken.toml"
owner = "y"
[sources.connection]
bogus = 1

[[sources]]
mapping = "mappings/a.toml"
owner = "z"

[[sources]]
mapping = 7
owner = ""
"""
    path = write(tmp_path, bad, a=mapping("dup"), broken=mapping("broken"))
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    text = "\n".join(info.value.problems)
    expected = [
        "unknown key 'colour'",
        "unknown key 'debug'",
        "unsupported database 'mysql'",
        "hub.secret is too short",
        "hub.public_url must be an http(s) URL",
        "limits.max_depth must be an integer",
        "limits.max_page_size = 1000000 is outside",
        "limits.max_cost must be an integer",
        "unknown key 'timeout'",
        "sources[0].mapping: file not found",
        "sources[1].owner is required",
        "sources[2]:",  # the mapping loader's own problem, kept
        "'bogus' was unexpected",
        "sources[3]: duplicate source name 'dup' (also sources[1])",
        "sources[4].mapping must be a string",
        "sources[4].owner must name the owning party",
    ]
    missing = [e for e in expected if e not in text]
    assert not missing, f"not reported: {missing}\n--- got:\n{text}"
    assert info.value.code == "CONFIG_INVALID"
    assert all(p.startswith(str(path)) for p in info.value.problems)


def test_missing_environment_variable_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, '[hub]\nsecret = "${YANXING_SECRET}"\n')
    with pytest.raises(ConfigError, match="environment variable YANXING_SECRET is not set"):
        load_settings(path, env={})
    assert load_settings(path, env=ENV).hub.secret.reveal() == SECRET


def test_env_default_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, f'[hub]\nsecret = "${{NOPE:-{SECRET}}}"\n')
    assert load_settings(path, env={}).hub.secret.reveal() == SECRET


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.toml", env=ENV)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[hub]\nsecret = "x"\nbroken = = 3\n')
    with pytest.raises(ConfigError, match="line 3"):
        load_settings(path, env=ENV)


def test_hub_table_and_secret_are_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "[limits]\n"), env={})
    assert any("[hub] table is required" in p for p in info.value.problems)
    assert any("hub.secret is required" in p for p in info.value.problems)


def test_sync_driver_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, f'[hub]\nsecret = "{SECRET}"\ndatabase_url = "sqlite:///x.db"\n')
    with pytest.raises(ConfigError, match=r"sqlite\+aiosqlite"):
        load_settings(path, env={})


def test_for_demo_validates_too() -> None:
    assert Settings.for_demo().hub.secret_bytes
    with pytest.raises(ConfigError, match="too short"):
        Settings.for_demo(secret="x")


def test_overloading_limits_have_safe_defaults_and_are_range_checked(tmp_path: Path) -> None:
    """The issue 6 limits: defaults that refuse the review's DoS documents, each settable
    in [limits] and checked like the others (every problem at once)."""
    defaults = Limits()
    assert (defaults.max_fields, defaults.max_aliases, defaults.max_directives,
            defaults.max_list_size) == (2_000, 30, 50, 100)
    assert (defaults.request_timeout_seconds, defaults.health_cache_seconds,
            defaults.shutdown_timeout_seconds) == (30.0, 5.0, 10.0)
    good = ('[hub]\nsecret = "' + "s" * 40 + '"\n[limits]\nmax_fields = 500\nmax_aliases = 5\n'
            "max_directives = 10\nmax_list_size = 20\nrequest_timeout_seconds = 2.5\n"
            "health_cache_seconds = 0\nshutdown_timeout_seconds = 3\n")
    limits = load_settings(write(tmp_path, good), env={}).limits
    assert limits == Limits(max_fields=500, max_aliases=5, max_directives=10, max_list_size=20,
                            request_timeout_seconds=2.5, health_cache_seconds=0.0,
                            shutdown_timeout_seconds=3.0)
    bad = ('[hub]\nsecret = "' + "s" * 40 + '"\n[limits]\nmax_fields = 0\nmax_aliases = -1\n'
           'max_directives = "many"\nmax_list_size = 1000000\nrequest_timeout_seconds = 0\n'
           "health_cache_seconds = 99999\nshutdown_timeout_seconds = true\n")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, bad), env={})
    text = "\n".join(info.value.problems)
    for expected in ("limits.max_fields = 0 is outside", "limits.max_aliases = -1 is outside",
                     "limits.max_directives must be an integer",
                     "limits.max_list_size = 1000000 is outside",
                     "limits.request_timeout_seconds = 0 is outside",
                     "limits.health_cache_seconds = 99999 is outside",
                     "limits.shutdown_timeout_seconds must be a number"):
        assert expected in text


def test_breaker_limits_have_safe_defaults_and_are_range_checked(tmp_path: Path) -> None:
    """The issue 12 breaker and retry budget: safe defaults, settable, range-checked."""
    defaults = Limits()
    assert (defaults.breaker_failures, defaults.breaker_reset_seconds,
            defaults.retry_budget_ratio) == (5, 10.0, 0.1)
    head = '[hub]\nsecret = "' + "s" * 40 + '"\n[limits]\n'
    good = head + "breaker_failures = 3\nbreaker_reset_seconds = 2\nretry_budget_ratio = 0\n"
    limits = load_settings(write(tmp_path, good), env={}).limits
    assert (limits.breaker_failures, limits.breaker_reset_seconds,
            limits.retry_budget_ratio) == (3, 2.0, 0.0)
    bad = head + "breaker_failures = 0\nbreaker_reset_seconds = 0\nretry_budget_ratio = 2\n"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, bad), env={})
    text = "\n".join(info.value.problems)
    for expected in ("limits.breaker_failures = 0 is outside",
                     "limits.breaker_reset_seconds = 0 is outside",
                     "limits.retry_budget_ratio = 2 is outside"):
        assert expected in text


def test_hub_federation_is_on_by_default_and_validated(tmp_path: Path) -> None:
    """`[hub] federation`: the subgraph schema is served unless turned off; a non-boolean is
    reported with the other problems."""
    path = write(tmp_path, f'[hub]\nsecret = "{SECRET}"\n')
    assert load_settings(path, env={}).hub.federation is True
    path = write(tmp_path, f'[hub]\nsecret = "{SECRET}"\nfederation = false\n')
    assert load_settings(path, env={}).hub.federation is False
    path = write(tmp_path, f'[hub]\nsecret = "{SECRET}"\nfederation = "yes"\nmode = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    problems = "\n".join(info.value.problems)
    assert "hub.federation must be true or false, got 'yes'" in problems
    assert "hub.mode" in problems


def test_observability_keys_have_safe_defaults_and_are_validated(tmp_path: Path) -> None:
    """`[hub] metrics_allow` (loopback only), `otlp_endpoint` (off), `log_format` (the
    command's default); every bad value is reported at once."""
    hub = load_settings(write(tmp_path, f'[hub]\nsecret = "{SECRET}"\n'), env={}).hub
    assert hub.metrics_allow == ("127.0.0.1/32", "::1/128")
    assert hub.otlp_endpoint is None and hub.log_format is None
    path = write(tmp_path, f'[hub]\nsecret = "{SECRET}"\nmetrics_allow = ["10.0.0.0/8"]\n'
                           'otlp_endpoint = "http://collector:4318/v1/traces"\n'
                           'log_format = "text"\n')
    hub = load_settings(path, env={}).hub
    assert hub.metrics_allow == ("10.0.0.0/8",)
    assert hub.otlp_endpoint == "http://collector:4318/v1/traces" and hub.log_format == "text"
    path = write(tmp_path, f'[hub]\nsecret = "{SECRET}"\nmetrics_allow = ["everyone"]\n'
                           'otlp_endpoint = "collector"\nlog_format = "xml"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    problems = "\n".join(info.value.problems)
    assert "hub.metrics_allow: 'everyone' is not a CIDR network" in problems
    assert "hub.otlp_endpoint must be an http(s) URL" in problems
    assert 'hub.log_format must be "json" or "text"' in problems


def test_a_relative_connection_url_resolves_against_yanxing_toml(tmp_path: Path) -> None:
    """Issue 10: it resolved against the mapping's folder and silently created an empty SQLite
    file there; now it is yanxing.toml's folder, and a missing SQLite file is refused."""
    import asyncio

    from connectors.base import ReadRequest
    from connectors.errors import ConnectorConfigError
    from connectors.factory import open_connector

    path = write(
        tmp_path, GOOD, county=mapping("county"), chengdu=mapping("chengdu", "destination")
    )
    county = load_settings(path, env=ENV).source("county")
    assert county.mapping.connection["url"].reveal().endswith(f"{tmp_path}/other.db")

    async def first_read() -> None:
        connector = open_connector(county.mapping)
        try:
            await connector.read(ReadRequest("member", page_size=1))
        finally:
            await connector.aclose()

    with pytest.raises(ConnectorConfigError, match=r"other\.db does not exist"):
        asyncio.run(first_read())
    assert not (tmp_path / "other.db").exists()
    assert not (tmp_path / "mappings" / "other.db").exists()
