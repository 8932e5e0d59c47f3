"""Issue 6 §3 over HTTP: a revoked key admits nothing presented after its revocation (tokens
and contract signatures, whatever time they claim), a newer registry in the hub's database is
used by the very next request, an older one is refused at start, a token replays neither on
another app nor after a restart (database replay cache), and a purpose no contract of the
caller declares is refused with a reason."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from hub.clock import utcnow
from hub.contracts.demo import DemoTrust, two_party_contract
from hub.contracts.keys import load_private_key
from hub.contracts.lifecycle import make_revocation, sign_contract
from hub.contracts.registry_state import accept_registry
from hub.contracts.store import ContractStore
from hub.contracts.trust import Trust
from hub.contracts.trust_registry import (
    KeyRevoked,
    RegistryDowngrade,
    revoke_key,
    sign_registry,
    verify_registry,
)
from hub.jws import parse_general
from tests.api.trusted import PARTIES, Trusted

QUERY = "{ contracts { id state } }"


def next_registry(demo: DemoTrust, *, revoke: str | None = None, at: Any = None,
                  version: int | None = None) -> tuple[dict[str, Any], Any]:
    """The demo's registry re-signed by the hub as the next version (optionally revoking a
    key at `at`): (signed envelope, verified Registry)."""
    current = json.loads(demo.registry_path.read_text(encoding="utf-8"))
    draft = dict(parse_general(current).payload)
    draft["version"] = version if version is not None else draft["version"] + 1
    if revoke is not None:
        draft = revoke_key(draft, revoke, at or utcnow())
    envelope = sign_registry(draft, demo.hub_key)
    return envelope, verify_registry(envelope, demo.hub_key.public_key())


def _reason(response: Any) -> str | None:
    return response.json()["errors"][0]["extensions"].get("reason")


async def test_back_dated_token_of_a_revoked_key_is_refused(trusted: Trusted) -> None:
    """Revoked two minutes ago; a token claiming to be from three minutes ago (still inside
    its 10-minute lifetime) was accepted: the claimed iat proved nothing."""
    now = utcnow()
    kid, _ = trusted.demo.party_keys["luxian"]
    _, registry = next_registry(trusted.demo, revoke=kid, at=now - timedelta(minutes=2))
    trusted.trust.registry = registry
    back_dated = trusted.demo.token_for("luxian", now=now - timedelta(minutes=3))
    refused = await trusted.post(QUERY, token=back_dated)
    assert refused.status_code == 401, refused.text
    assert _reason(refused) == "key_revoked"
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "whatever signing time it claims" in refused.json()["errors"][0]["message"]
    # another party's key is untouched
    assert (await trusted.post(QUERY, party="wenjiang")).status_code == 200


async def test_contract_signatures_count_only_if_registered_before_the_revocation(
        trusted: Trusted) -> None:
    """A contract signature is judged at the time the hub first saw it: one registered before
    the key's revocation still counts when the envelope is completed later; one first shown
    after it is refused although it claims an earlier signing time; so is a revocation."""
    demo, store = trusted.demo, trusted.trust.store
    now = utcnow()
    window = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=30)}
    wenjiang, luxian = PARTIES[0], PARTIES[1]
    doc = two_party_contract(wenjiang, luxian, **window) | {"id": "wenjiang--luxian-2"}
    lx_kid, lx_file = demo.party_keys["luxian"]
    wj_kid, wj_file = demo.party_keys["wenjiang"]
    registered = sign_contract(doc, load_private_key(lx_file), lx_kid,
                               now=now - timedelta(minutes=10))
    await store.submit(registered, trusted.trust.registry, now=now - timedelta(minutes=9))
    late_doc = doc | {"id": "wenjiang--luxian-3"}
    back_dated = sign_contract(late_doc, load_private_key(lx_file), lx_kid,
                               now=now - timedelta(minutes=10))
    # luxian's key is revoked 5 minutes ago
    _, registry = next_registry(demo, revoke=lx_kid, at=now - timedelta(minutes=5))
    trusted.trust.registry = registry
    # wenjiang and the registrar complete the envelope luxian registered in time: it counts
    completed = sign_contract(sign_contract(doc, load_private_key(wj_file), wj_kid, now=now),
                              demo.hub_key, demo.hub_kid, now=now)
    record = await store.submit(completed, registry, now=now)
    assert record.state.value == "active"
    # the back-dated signature the hub sees only now is refused
    with pytest.raises(KeyRevoked, match="whatever signing time it claims"):
        await store.submit(back_dated, registry, now=now)
    # a revocation signed with the revoked key, dated before the revocation: refused too
    contract = record.contract
    revocation = make_revocation(contract, "back-dated", load_private_key(lx_file), lx_kid,
                                 now=now - timedelta(minutes=6))
    with pytest.raises(KeyRevoked):
        await store.revoke(revocation, registry, now=now)
    body = await trusted.gql(QUERY, party="wenjiang")
    states = {c["id"]: c["state"] for c in body["data"]["contracts"]}
    assert states["wenjiang--luxian-2"] == "active" and "wenjiang--luxian-3" not in states


async def test_published_registry_is_used_by_the_very_next_request(trusted: Trusted) -> None:
    """Another process publishes (writes the hub's database): this one verifies and switches
    before authenticating its next request."""
    kid, _ = trusted.demo.party_keys["luxian"]
    assert (await trusted.post(QUERY, party="luxian")).status_code == 200
    envelope, registry = next_registry(trusted.demo, revoke=kid)
    assert await accept_registry(trusted.world.runtime.session_factory, envelope, registry)
    refused = await trusted.post(QUERY, party="luxian")
    assert refused.status_code == 401 and _reason(refused) == "key_revoked"
    assert trusted.trust.registry.version == registry.version
    assert (await trusted.post(QUERY, party="wenjiang")).status_code == 200


async def test_a_stored_registry_that_does_not_verify_is_not_used(
        trusted: Trusted, caplog: pytest.LogCaptureFixture) -> None:
    """Write access to the database alone cannot install a registry: each process verifies
    what it loads with the hub key it trusts."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    current = json.loads(trusted.demo.registry_path.read_text(encoding="utf-8"))
    draft = dict(parse_general(current).payload)
    draft["version"] += 1
    draft = revoke_key(draft, trusted.demo.party_keys["wenjiang"][0], utcnow())
    forger = Ed25519PrivateKey.generate()
    forged = sign_registry(draft, forger)
    await accept_registry(trusted.world.runtime.session_factory, forged,
                          verify_registry(forged, forger.public_key()))
    for _ in range(2):
        assert (await trusted.post(QUERY, party="wenjiang")).status_code == 200
    assert trusted.trust.registry.version == draft["version"] - 1
    assert sum("is not used" in r.getMessage() for r in caplog.records) == 1


async def test_an_older_registry_is_refused_at_start(trusted: Trusted) -> None:
    """The hub remembers the newest registry it accepted, in its database: a restart with an
    older (validly signed) one, which could bring a revoked key back, is refused."""
    envelope, registry = next_registry(trusted.demo, version=5)
    runtime = trusted.world.runtime
    assert await accept_registry(runtime.session_factory, envelope, registry)
    with pytest.raises(RegistryDowngrade, match="older than version 5"):
        await Trust.open(trusted.demo.trust_config(), runtime.engine, runtime.session_factory,
                         runtime.registry)
    # and a contract cannot be submitted under the older one either
    with pytest.raises(RegistryDowngrade):
        await ContractStore(runtime.session_factory).submit(
            trusted.demo.envelopes()[0], trusted.demo.registry)


async def test_token_replay_is_refused_by_another_app_and_after_a_restart(
        trusted: Trusted) -> None:
    """`replay_cache = "database"` (the default): every app on the hub's database shares it."""
    from dataclasses import replace

    runtime = trusted.world.runtime
    config = replace(trusted.demo.trust_config(submit=False), replay_cache="database")
    first = await Trust.open(config, runtime.engine, runtime.session_factory, runtime.registry)
    token = trusted.demo.token_for("wenjiang")
    runtime.enforcement = first
    assert (await trusted.post(QUERY, token=token)).status_code == 200
    second = await Trust.open(config, runtime.engine, runtime.session_factory,
                              runtime.registry)  # another process, or a restart
    runtime.enforcement = second
    try:
        replayed = await trusted.post(QUERY, token=token)
        assert replayed.status_code == 401 and _reason(replayed) == "replayed"
        assert (await trusted.post(QUERY, party="wenjiang")).status_code == 200
    finally:
        await first.close()
        await second.close()


async def test_purpose_no_contract_declares_is_refused_with_a_reason(trusted: Trusted) -> None:
    """Not silently narrowed to own data: the official learns the purpose is not allowed."""
    refused = await trusted.post(QUERY, token=trusted.demo.token_for("luxian",
                                                                      purpose="marketing"))
    assert refused.status_code == 401, refused.text
    error = refused.json()["errors"][0]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "purpose_not_allowed"}
    assert "'marketing'" in error["message"] and "'co-management'" in error["message"]
    # a contract's purpose, and the own-data purpose, still work
    assert (await trusted.post(QUERY, party="luxian")).status_code == 200
    own = await trusted.post(
        "query($k: ID!) { member(key: $k) { name gender } }", {"k": trusted.world.keys[1]},
        token=trusted.demo.token_for("luxian", purpose="own-records"))
    assert own.status_code == 200 and "errors" not in own.json(), own.text
    assert own.json()["data"]["member"]["name"] == "张001"  # its own source, in full


async def test_own_data_purpose_reaches_only_own_sources(trusted: Trusted) -> None:
    """The own-data purpose is accepted without a contract, so it must never use one:
    wenjiang's contract grants luxian's gender under co-management, not under own-records."""
    query = "query($k: ID!) { member(key: $k) { gender } }"
    key = trusted.world.keys[1]
    shared = await trusted.gql(query, {"k": key}, party="wenjiang")
    assert shared["data"]["member"]["gender"] == "MALE"
    own = await trusted.post(query, {"k": key},
                             token=trusted.demo.token_for("wenjiang", purpose="own-records"))
    assert own.status_code == 200
    assert (own.json()["data"]["member"] or {}).get("gender") is None


async def test_contract_parties_carry_their_registered_names(trusted: Trusted) -> None:
    """An official reads the parties of an agreement by name (as the trust registry records
    them), not only by id."""
    body = (await trusted.post("{ contracts { parties { party role name } } }",
                               party="wenjiang")).json()
    assert "errors" not in body, body
    names = {p["party"]: p["name"] for c in body["data"]["contracts"] for p in c["parties"]}
    registered = {p.id: p.name for p in trusted.trust.registry.parties.values()}
    assert names and all(names[p] == registered[p] for p in names), (names, registered)
