"""Signing, verification and the stored lifecycle on a real database (SQLite, and PostgreSQL
when YANXING_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from contract_world import NOW, SignAll, World
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.canonical_json import b64url, canonical
from hub.contracts.lifecycle import (
    ContractState,
    make_revocation,
    sign_contract,
    signature_id,
    verify_contract,
)
from hub.contracts.model import contract_digest, parse_contract
from hub.contracts.store import ContractStore
from hub.contracts.trust_registry import KeyRevoked, RegistryExpired, UnknownKey, revoke_key
from hub.errors import ContractError
from hub.jws import parse_general
from hub.store.session import create_engine, create_session_factory, init_db


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[ContractStore]:
    engine = create_engine(db_url)
    await init_db(engine)
    yield ContractStore(create_session_factory(engine))
    await engine.dispose()


# ------------------------------------------------------------ verification


def test_fully_signed_is_active(world: World, contract_doc: dict[str, Any],
                                sign_all: SignAll) -> None:
    verified = verify_contract(sign_all(contract_doc), world.registry, now=NOW)
    assert verified.signing_state is ContractState.ACTIVE
    assert set(verified.signatures) == {"wenjiang", "xuzhou"}
    assert verified.registrar is not None and verified.registrar.party == "yanxing-hub"


def test_party_signature_missing(world: World, contract_doc: dict[str, Any],
                                 sign_all: SignAll) -> None:
    verified = verify_contract(sign_all(contract_doc, kids=("wj-1", "hub")), world.registry,
                               now=NOW)
    assert verified.signing_state is ContractState.PARTIALLY_SIGNED
    assert verified.missing == {"xuzhou"}
    no_registrar = verify_contract(sign_all(contract_doc, kids=("wj-1", "xz-1")),
                                   world.registry, now=NOW)
    assert no_registrar.signing_state is ContractState.PARTIALLY_SIGNED


def test_body_changed_after_signing(world: World, contract_doc: dict[str, Any],
                                    sign_all: SignAll) -> None:
    envelope = sign_all(contract_doc)
    changed = copy.deepcopy(contract_doc)
    changed["permissions"]["read"][1]["fields"]["Member"]["idNumber"] = "full"
    envelope["payload"] = b64url(canonical(changed))
    with pytest.raises(ContractError, match="changed after signing"):
        verify_contract(envelope, world.registry, now=NOW)


def test_non_canonical_contract_payload(world: World, contract_doc: dict[str, Any],
                                        sign_all: SignAll) -> None:
    envelope = sign_all(contract_doc)
    import json

    envelope["payload"] = b64url(json.dumps(contract_doc, ensure_ascii=False).encode())
    with pytest.raises(ContractError, match="not RFC 8785 canonical"):
        verify_contract(envelope, world.registry, now=NOW)


def test_duplicate_keys_in_contract_payload(world: World, contract_doc: dict[str, Any],
                                            sign_all: SignAll) -> None:
    envelope = sign_all(contract_doc)
    text = canonical(contract_doc).replace(b'"id":', b'"id":"other","id":', 1)
    envelope["payload"] = b64url(text)
    with pytest.raises(ContractError, match="duplicate JSON key 'id'"):
        verify_contract(envelope, world.registry, now=NOW)


def test_signature_by_non_party(world: World, contract_doc: dict[str, Any],
                                sign_all: SignAll) -> None:
    with pytest.raises(ContractError, match="'sichuan', which is not a party"):
        verify_contract(sign_all(contract_doc, kids=("wj-1", "sc-1")), world.registry, now=NOW)


def test_two_signatures_by_one_party(world: World, contract_doc: dict[str, Any],
                                     sign_all: SignAll) -> None:
    twice = sign_contract(sign_all(contract_doc), world.keys["wj-1"], "wj-1",
                          now=NOW + timedelta(seconds=1))
    with pytest.raises(ContractError, match="signed contract 'wenjiang-xuzhou' twice"):
        verify_contract(twice, world.registry, now=NOW + timedelta(seconds=1))


def test_unknown_key(world: World, contract_doc: dict[str, Any], sign_all: SignAll) -> None:
    envelope = sign_contract(sign_all(contract_doc, kids=("wj-1",)),
                             Ed25519PrivateKey.generate(), "xz-9", now=NOW)
    with pytest.raises(UnknownKey, match="'xz-9' is not in the trust registry"):
        verify_contract(envelope, world.registry, now=NOW)


def test_key_used_after_its_revocation(world: World, contract_doc: dict[str, Any],
                                       sign_all: SignAll) -> None:
    revoked_at = NOW - timedelta(minutes=5)
    earlier = sign_all(contract_doc, now=revoked_at - timedelta(seconds=1))
    world.resign(revoke_key(world.draft, "xz-1", revoked_at))
    # signed before the revocation and registered by the hub before it: still valid evidence
    seen = {signature_id(e): revoked_at - timedelta(seconds=1)
            for e in parse_general(earlier).signatures}
    assert verify_contract(earlier, world.registry, now=NOW,
                           first_seen=seen).signing_state is ContractState.ACTIVE
    # the same signatures first presented after the revocation: their claimed time proves
    # nothing (issue 6 §3: back-dating), so they are refused
    with pytest.raises(KeyRevoked, match="whatever signing time it claims"):
        verify_contract(earlier, world.registry, now=NOW)
    with pytest.raises(KeyRevoked, match="'xz-1' of party 'xuzhou' was revoked"):
        verify_contract(sign_all(contract_doc, now=NOW), world.registry, now=NOW)


def test_registry_expired_fails_closed(world: World, contract_doc: dict[str, Any],
                                       sign_all: SignAll) -> None:
    with pytest.raises(RegistryExpired):
        verify_contract(sign_all(contract_doc), world.registry, now=world.registry.expires_at)


# ------------------------------------------------------------ stored lifecycle


async def test_signatures_merge_into_active(store: ContractStore, world: World,
                                            contract_doc: dict[str, Any],
                                            sign_all: SignAll) -> None:
    first = await store.submit(sign_all(contract_doc, kids=("wj-1",)), world.registry, now=NOW)
    assert first.state is ContractState.PARTIALLY_SIGNED
    assert await store.active_contracts(NOW) == []
    record = await store.submit(sign_all(contract_doc, kids=("xz-1", "hub")), world.registry,
                                now=NOW)
    assert record.state is ContractState.ACTIVE
    assert set(record.signatures) == {"wenjiang", "xuzhou"}
    assert record.signatures["xuzhou"].kid == "xz-1"
    assert record.registrar is not None
    assert [c.id for c in await store.active_contracts(NOW)] == ["wenjiang-xuzhou"]
    assert [r.digest for r in await store.for_party("xuzhou", now=NOW)] == [record.digest]
    assert await store.for_party("sichuan", now=NOW) == []


async def test_proposed_then_not_in_force_before_validity(
    store: ContractStore, world: World, contract_doc: dict[str, Any], sign_all: SignAll
) -> None:
    contract_doc["validity"]["not_before"] = "2025-07-01T00:00:00Z"
    await store.submit(sign_all(contract_doc), world.registry, now=NOW)
    assert await store.active_contracts(NOW) == []
    assert len(await store.active_contracts(NOW + timedelta(days=31))) == 1


async def test_revocation_seen_by_the_very_next_request(
    store: ContractStore, world: World, contract_doc: dict[str, Any], sign_all: SignAll
) -> None:
    record = await store.submit(sign_all(contract_doc), world.registry, now=NOW)
    assert len(await store.active_contracts(NOW)) == 1
    later = NOW + timedelta(minutes=1)
    revocation = make_revocation(record.contract, "协议终止", world.keys["xz-1"], "xz-1", now=later)
    revoked = await store.revoke(revocation, world.registry, now=later)
    assert revoked.state is ContractState.REVOKED and revoked.revoked_by == "xuzhou"
    assert await store.active_contracts(later) == []
    # terminal: no second revocation, no new signatures
    with pytest.raises(ContractError, match="already revoked"):
        await store.revoke(revocation, world.registry, now=later)
    with pytest.raises(ContractError, match="terminal states are final"):
        await store.submit(sign_all(contract_doc), world.registry, now=later)


async def test_revocation_by_non_party_refused(
    store: ContractStore, world: World, contract_doc: dict[str, Any], sign_all: SignAll
) -> None:
    record = await store.submit(sign_all(contract_doc), world.registry, now=NOW)
    revocation = make_revocation(record.contract, "x", world.keys["sc-1"], "sc-1", now=NOW)
    with pytest.raises(ContractError, match="not a party"):
        await store.revoke(revocation, world.registry, now=NOW)
    assert len(await store.active_contracts(NOW)) == 1


async def test_superseded(store: ContractStore, world: World, contract_doc: dict[str, Any],
                          sign_all: SignAll) -> None:
    v1 = await store.submit(sign_all(contract_doc), world.registry, now=NOW)
    v2_doc = copy.deepcopy(contract_doc) | {"version": 2, "supersedes": v1.digest}
    v2_doc["limits"] = {"max_members_per_request": 50}
    v2 = await store.submit(sign_all(v2_doc), world.registry, now=NOW)
    assert v2.state is ContractState.ACTIVE
    assert (await store.get(v1.digest, now=NOW)).state is ContractState.SUPERSEDED
    active = await store.active_contracts(NOW)
    assert [c.version for c in active] == [2]
    with pytest.raises(ContractError, match="superseded: terminal"):
        await store.submit(sign_all(contract_doc), world.registry, now=NOW)


async def test_second_active_version_must_supersede(
    store: ContractStore, world: World, contract_doc: dict[str, Any], sign_all: SignAll
) -> None:
    await store.submit(sign_all(contract_doc), world.registry, now=NOW)
    rogue = copy.deepcopy(contract_doc) | {"version": 2, "supersedes": "sha256:" + "0" * 64}
    with pytest.raises(ContractError, match="must name it in 'supersedes'"):
        await store.submit(sign_all(rogue), world.registry, now=NOW)


async def test_expired(store: ContractStore, world: World, contract_doc: dict[str, Any],
                       sign_all: SignAll) -> None:
    record = await store.submit(sign_all(contract_doc), world.registry, now=NOW)
    after = record.contract.not_after
    assert await store.active_contracts(after) == []
    assert (await store.get(record.digest, now=after)).state is ContractState.EXPIRED
    revocation = make_revocation(record.contract, "x", world.keys["wj-1"], "wj-1", now=NOW)
    with pytest.raises(ContractError, match="already expired"):
        await store.revoke(revocation, world.registry, now=after)


def test_digest_is_of_canonical_text(contract_doc: dict[str, Any]) -> None:
    assert parse_contract(contract_doc).digest == contract_digest(dict(reversed(
        list(contract_doc.items()))))
