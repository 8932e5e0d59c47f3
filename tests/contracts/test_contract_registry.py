"""Trust registry: hub signature, downgrade, expiry, rotation with overlap, revocation time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from contract_world import NOW, World
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.canonical_json import b64url, canonical
from hub.contracts.trust_registry import (
    KeyNotValid,
    KeyRevoked,
    RegistryDowngrade,
    RegistryError,
    RegistryExpired,
    UnknownKey,
    UnknownParty,
    add_key,
    add_party,
    load_registry,
    revoke_key,
    sign_registry,
    verify_registry,
)


def test_verified_registry_resolves_keys(world: World) -> None:
    key = world.registry.resolve("wj-1", NOW, NOW)
    assert key.party == "wenjiang"
    assert world.registry.party("xuzhou").region_codes == ("511504",)
    assert world.registry.resolve("hub-1", NOW, NOW).party == "yanxing-hub"


def test_load_from_file(world: World, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(world.envelope))
    assert load_registry(path, world.hub_key.public_key(), now=NOW).version == 1


def test_signed_by_another_key_refused(world: World) -> None:
    with pytest.raises(RegistryError, match="not signed by the hub key"):
        verify_registry(world.envelope, Ed25519PrivateKey.generate().public_key(), now=NOW)


def test_registry_edited_after_signing_refused(world: World) -> None:
    payload = json.loads(canonical(world.draft | {"issued_at": "2025-06-01T08:00:00Z"}))
    payload["parties"][0]["region_codes"] = ["110101"]
    forged = dict(world.envelope, payload=b64url(canonical(payload)))
    with pytest.raises(RegistryError, match="changed after signing"):
        verify_registry(forged, world.hub_key.public_key(), now=NOW)


def test_downgrade_refused(world: World) -> None:
    v2 = sign_registry(world.draft | {"version": 2}, world.hub_key, now=NOW)
    assert verify_registry(v2, world.hub_key.public_key(), current_version=2, now=NOW).version == 2
    with pytest.raises(RegistryDowngrade, match="version 1 is older than the accepted version 2"):
        verify_registry(world.envelope, world.hub_key.public_key(), current_version=2, now=NOW)


def test_expired_registry_fails_closed(world: World) -> None:
    later = world.registry.expires_at
    with pytest.raises(RegistryExpired, match="expired"):
        verify_registry(world.envelope, world.hub_key.public_key(), now=later)
    with pytest.raises(RegistryExpired):
        world.registry.resolve("wj-1", NOW, later)  # every lookup, not only loading


def test_unknown_key_and_party(world: World) -> None:
    with pytest.raises(UnknownKey, match="add-key"):
        world.registry.resolve("nobody-1", NOW, NOW)
    with pytest.raises(UnknownParty):
        world.registry.party("nobody")


def test_rotation_with_overlap(world: World) -> None:
    new = Ed25519PrivateKey.generate()
    draft = add_key(world.draft, "wenjiang", new.public_key(), "wj-2",
                    not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=700))
    registry = world.resign(draft | {"expires_at": "2027-01-01T00:00:00Z"})
    # during the overlap both keys speak for the party
    assert registry.resolve("wj-1", NOW, NOW).party == "wenjiang"
    assert registry.resolve("wj-2", NOW, NOW).party == "wenjiang"
    # after wj-1's window only wj-2 does
    after = NOW + timedelta(days=400)
    with pytest.raises(KeyNotValid, match="valid from"):
        registry.resolve("wj-1", after, after)
    assert registry.resolve("wj-2", after, after).kid == "wj-2"


def test_key_used_at_or_after_revocation_refused(world: World) -> None:
    revoked_at = NOW - timedelta(hours=1)
    registry = world.resign(revoke_key(world.draft, "xz-1", revoked_at))
    assert registry.resolve("xz-1", revoked_at - timedelta(seconds=1), NOW).kid == "xz-1"
    for signed_at in (revoked_at, NOW):
        with pytest.raises(KeyRevoked, match="revoked at"):
            registry.resolve("xz-1", signed_at, NOW)


def test_future_dated_signature_refused(world: World) -> None:
    with pytest.raises(KeyNotValid, match="future"):
        world.registry.resolve("wj-1", NOW + timedelta(hours=1), NOW)


def test_draft_rules(world: World) -> None:
    with pytest.raises(RegistryError, match="already"):
        add_party(world.draft, "wenjiang", "dup", [])
    with pytest.raises(RegistryError, match="6-digit"):
        add_party(world.draft, "deyang", "德阳", ["5106"])
    with pytest.raises(RegistryError, match="unique"):
        add_key(world.draft, "xuzhou", Ed25519PrivateKey.generate().public_key(), "wj-1",
                not_before=NOW, not_after=NOW + timedelta(days=1))
    with pytest.raises(UnknownKey):
        revoke_key(world.draft, "nope", NOW)
