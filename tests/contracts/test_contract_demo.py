"""The demo trust world: real files, contracts that activate, answers that differ per party."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import hub.contracts
from hub.contracts import (
    ContractPolicy,
    ContractState,
    ContractStore,
    MemoryReplayCache,
    SubjectWithOwners,
    build_demo_trust,
    load_registry,
    verify_token,
)
from hub.policy.base import Transform
from hub.store.session import create_engine, create_session_factory, init_db

PARTIES = [
    ("chengdu-operator", "成都市委组织部（蓉城先锋）", ["510100"]),
    ("xuzhou-county", "叙州区委组织部", ["511504"]),
    ("deyang", "德阳市委组织部", ["510600"]),
    ("meishan", "眉山市委组织部", ["511400"]),
]


def test_public_surface() -> None:
    for name in hub.contracts.__all__:
        assert hasattr(hub.contracts, name), name


async def test_demo_trust_end_to_end(tmp_path: Path) -> None:
    trust = build_demo_trust(tmp_path / "trust", PARTIES)
    for _kid, path in trust.party_keys.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    registry = load_registry(trust.registry_path, trust.hub_key.public_key())
    assert set(registry.parties) == {p[0] for p in PARTIES}
    assert len(trust.contracts) == 2

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        await init_db(engine)
        store = ContractStore(create_session_factory(engine))
        for envelope in trust.envelopes():
            record = await store.submit(envelope, registry)
            assert record.state is ContractState.ACTIVE
        regions = {p.id: p.region_codes for p in registry.parties.values()}
        policy = await ContractPolicy.from_store(store, party_regions=regions)
    finally:
        await engine.dispose()

    cache = MemoryReplayCache()
    origin = await verify_token(trust.token_for("xuzhou-county"), registry, trust.hub_id,
                                cache)
    destination = await verify_token(trust.token_for("chengdu-operator"), registry,
                                     trust.hub_id, cache)
    member = SubjectWithOwners("k", None, "511504", "510115", "in_contact",
                               owners=frozenset({"xuzhou-county", "chengdu-operator"}))
    # the same field, answered differently per party
    assert policy.transform(origin, member, "Destination", "employer",
                            "chengdu-operator") is Transform.FULL
    assert policy.transform(destination, member, "Destination", "employer",
                            "chengdu-operator") is Transform.FULL
    assert policy.transform(destination, member, "Member", "birthDate",
                            "xuzhou-county") is Transform.YEAR
    assert policy.transform(origin, member, "Member", "birthDate",
                            "xuzhou-county") is Transform.FULL
    assert policy.transform(destination, member, "FourClarities", "willingVillageCadre",
                            "xuzhou-county") is Transform.DENY
    deyang_member = SubjectWithOwners("k2", None, "510623", "510104", None,
                                      owners=frozenset({"chengdu-operator"}))
    deyang = await verify_token(trust.token_for("deyang"), registry, trust.hub_id, cache)
    assert policy.can_see(deyang, deyang_member)
    assert not policy.can_see(origin, deyang_member)


def test_demo_contracts_lint_clean_against_the_published_schema() -> None:
    from datetime import UTC, datetime

    from hub.contracts.demo import four_party_contract, two_party_contract
    from hub.contracts.lint import known_fields_from_sdl, lint_contract

    sdl = Path(__file__).resolve().parents[2] / "schema" / "yanxing.graphql"
    known = known_fields_from_sdl(sdl.read_text(encoding="utf-8"))
    window: dict[str, Any] = {"not_before": datetime(2025, 1, 1, tzinfo=UTC),
              "not_after": datetime(2026, 1, 1, tzinfo=UTC)}
    for doc in (two_party_contract(PARTIES[0], PARTIES[1], **window),
                four_party_contract(PARTIES[0], PARTIES[1:], **window)):
        report = lint_contract(doc, known)
        assert report.ok and report.conflicts == (), report.lines()
