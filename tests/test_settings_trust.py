"""The [trust] keys of issue 6 §3 in yanxing.toml: replay_cache, replay_cache_prefix and
own_data_purposes, with safe defaults and every problem reported at once (no password shown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.contracts.demo import build_demo_trust
from hub.errors import ConfigError
from hub.settings import load_settings
from tests.cli.test_cli_serve_trust import PARTIES, _trust_table, _write


def test_defaults_share_the_replay_cache_through_the_database(tmp_path: Path) -> None:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    trust = load_settings(_write(tmp_path, _trust_table(demo, tmp_path))).trust
    assert trust is not None
    assert trust.replay_cache == "database"
    assert trust.replay_cache_prefix == "yanxing:replay:"
    assert trust.own_data_purposes == ("own-records",)


@pytest.mark.parametrize("value", ['"memory"', '"database"', '"redis://127.0.0.1:6379/3"',
                                   '"rediss://user:pw@redis.example:6380"',
                                   '"unix:///run/redis.sock"'])
def test_replay_cache_accepts(tmp_path: Path, value: str) -> None:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    trust = load_settings(_write(tmp_path, _trust_table(demo, tmp_path,
                                                        replay_cache=value))).trust
    assert trust is not None and trust.replay_cache == value.strip('"')


def test_bad_trust_replay_and_purpose_keys_are_reported_together(tmp_path: Path) -> None:
    demo = build_demo_trust(tmp_path / "trust", PARTIES)
    config = _write(tmp_path, _trust_table(
        demo, tmp_path, replay_cache='"redis://u:hunter2@127.0.0.1:6379/x"',
        replay_cache_prefix='""', own_data_purposes='["Own Records", 3]'))
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    problems = "\n".join(info.value.problems)
    assert "trust.replay_cache must be" in problems
    assert "hunter2" not in problems
    assert "trust.replay_cache_prefix" in problems
    assert "trust.own_data_purposes" in problems
    assert len(info.value.problems) == 3
    for bad in ('"memcached://x"', '42', '"redis://"'):
        config = _write(tmp_path, _trust_table(demo, tmp_path, replay_cache=bad))
        with pytest.raises(ConfigError, match=r"trust.replay_cache must be"):
            load_settings(config)
