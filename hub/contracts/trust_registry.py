"""The trust registry: which parties exist and which Ed25519 keys speak for them, when.

The registry is a JSON document signed by the hub operator's key (General JWS). Everything
else — contract signatures, revocations, request tokens — is verified against it, so it is
the one place trust is decided, and it fails closed:
- a registry older than the one already accepted (lower `version`) is refused (downgrade);
- after `expires_at` every verification raises `RegistryExpired` until a fresh one is signed;
- a key is usable for signatures made inside its `not_before`..`not_after` window (two keys of
  one party may overlap: that is rotation), and not for signatures made at or after its
  `revoked_at` (revocation effective time; earlier signatures stay valid).
- a signature's claimed time proves nothing (whoever holds a revoked key can back-date), so
  verifiers also pass `presented_at`, the hub's own record of when it first saw the signature
  (a token: now; a contract signature: when the hub registered it): a signature presented at
  or after the key's `revoked_at` or `not_after` is refused, whatever time it claims.

Drafts are plain dicts edited by `new_registry`/`add_party`/`add_key`/`revoke_key`, then
`sign_registry` turns a draft into the signed document that `load_registry` reads.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hub.canonical_json import strict_loads
from hub.clock import format_time, parse_time, utcnow
from hub.contracts.keys import public_jwk, public_key_from_jwk
from hub.errors import ContractError
from hub.jws import parse_general, sign_general, verify_signature

__all__ = [
    "RegistryError",
    "RegistryExpired",
    "RegistryDowngrade",
    "UnknownParty",
    "UnknownKey",
    "KeyNotValid",
    "KeyRevoked",
    "PartyKey",
    "Party",
    "Registry",
    "CLOCK_SKEW",
    "new_registry",
    "add_party",
    "add_key",
    "revoke_key",
    "sign_registry",
    "verify_registry",
    "load_registry",
]

REGISTRY_TYPE = "yanxing.registry"
#: signatures dated further than this in the future are refused (clocks drift, a little)
CLOCK_SKEW = timedelta(seconds=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_REGION = re.compile(r"^\d{6}$")


class RegistryError(ContractError):
    """The registry, or a key or party looked up in it, cannot be trusted."""


class RegistryExpired(RegistryError):
    """The registry is past `expires_at`: the hub fails closed until a fresh one is signed."""


class RegistryDowngrade(RegistryError):
    """The registry's version is lower than the one already accepted."""


class UnknownParty(RegistryError):
    """No such party in the registry."""


class UnknownKey(RegistryError):
    """No key with this kid in the registry."""


class KeyNotValid(RegistryError):
    """The signature's time lies outside the key's validity window (or in the future)."""


class KeyRevoked(RegistryError):
    """The key was revoked at or before the signature's time."""


@dataclass(frozen=True, slots=True)
class PartyKey:
    kid: str
    party: str
    public_key: Ed25519PublicKey
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None = None

    def check_usable(self, signed_at: datetime, now: datetime) -> None:
        """Raise unless a signature made at `signed_at` (checked `now`) may use this key."""
        if signed_at > now + CLOCK_SKEW:
            raise KeyNotValid(
                f"signature by key {self.kid!r} is dated {format_time(signed_at)}, in the "
                "future: check the signer's clock"
            )
        if self.revoked_at is not None and signed_at >= self.revoked_at:
            raise KeyRevoked(
                f"key {self.kid!r} of party {self.party!r} was revoked at "
                f"{format_time(self.revoked_at)}; sign with the party's current key"
            )
        if not self.not_before <= signed_at < self.not_after:
            raise KeyNotValid(
                f"key {self.kid!r} of party {self.party!r} is valid from "
                f"{format_time(self.not_before)} to {format_time(self.not_after)}, not at "
                f"{format_time(signed_at)}"
            )


    def check_presented(self, presented_at: datetime) -> None:
        """Raise if the hub first saw a signature by this key at or after its revocation or
        expiry: a back-dated signing time does not bring a revoked key back."""
        if self.revoked_at is not None and presented_at >= self.revoked_at:
            raise KeyRevoked(
                f"key {self.kid!r} of party {self.party!r} was revoked at "
                f"{format_time(self.revoked_at)}; nothing it signs is accepted after that, "
                "whatever signing time it claims: sign with the party's current key"
            )
        if presented_at >= self.not_after:
            raise KeyNotValid(
                f"key {self.kid!r} of party {self.party!r} expired at "
                f"{format_time(self.not_after)}; nothing it signs is accepted after that, "
                "whatever signing time it claims: sign with the party's current key"
            )


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name: str
    region_codes: tuple[str, ...]
    roles: tuple[str, ...]
    keys: tuple[PartyKey, ...]


@dataclass(frozen=True, slots=True)
class Registry:
    """A verified registry. Look keys up with `resolve`, which also enforces expiry."""

    hub_id: str
    hub_kid: str
    hub_key: Ed25519PublicKey
    version: int
    issued_at: datetime
    expires_at: datetime
    parties: Mapping[str, Party]

    def check_current(self, now: datetime) -> None:
        if now >= self.expires_at:
            raise RegistryExpired(
                f"trust registry version {self.version} expired at "
                f"{format_time(self.expires_at)}: the hub operator must sign a new one "
                "(yanxing registry sign)"
            )

    def party(self, party_id: str) -> Party:
        try:
            return self.parties[party_id]
        except KeyError:
            raise UnknownParty(f"party {party_id!r} is not in the trust registry") from None

    def key(self, kid: str) -> PartyKey:
        for party in self.parties.values():
            for key in party.keys:
                if key.kid == kid:
                    return key
        if kid == self.hub_kid:
            # the hub key is the trust anchor, held out of band: its only limit is the expiry
            return PartyKey(kid, self.hub_id, self.hub_key, _EPOCH, self.expires_at)
        raise UnknownKey(
            f"key {kid!r} is not in the trust registry (version {self.version}): "
            "register it with `yanxing registry add-key`"
        )

    def resolve(self, kid: str, signed_at: datetime, now: datetime, *,
                presented_at: datetime | None = None) -> PartyKey:
        """The key `kid` if the registry is current and the key may sign at `signed_at`.
        `presented_at`: when the hub first saw the signature (its own clock, not the signer's
        claim); the key must still be unrevoked and unexpired then. None only for offline
        checks of a document's claimed times (never to admit a signature)."""
        self.check_current(now)
        key = self.key(kid)
        key.check_usable(signed_at, now)
        if presented_at is not None:
            key.check_presented(presented_at)
        return key


# ---------------------------------------------------------------- drafts


def new_registry(
    hub_id: str, hub_kid: str, *, expires_at: datetime, version: int = 1
) -> dict[str, Any]:
    """An empty draft. `hub_kid` names the hub key whose public half verifiers hold."""
    _check_id(hub_id, "hub id")
    return {
        "type": REGISTRY_TYPE,
        "hub": {"id": hub_id, "kid": hub_kid},
        "version": version,
        "expires_at": format_time(expires_at),
        "parties": [],
    }


def add_party(
    draft: Mapping[str, Any],
    party_id: str,
    name: str,
    region_codes: Iterable[str],
    roles: Iterable[str] = (),
) -> dict[str, Any]:
    _check_id(party_id, "party id")
    doc = copy.deepcopy(dict(draft))
    if any(p["id"] == party_id for p in doc["parties"]):
        raise RegistryError(f"party {party_id!r} already exists")
    regions = sorted(set(region_codes))
    for code in regions:
        if not _REGION.match(code):
            raise RegistryError(f"region code {code!r} is not a 6-digit GB/T 2260 code")
    doc["parties"].append(
        {"id": party_id, "name": name, "region_codes": regions, "roles": sorted(set(roles)),
         "keys": []}
    )
    return doc


def add_key(
    draft: Mapping[str, Any],
    party_id: str,
    public_key: Ed25519PublicKey,
    kid: str,
    *,
    not_before: datetime,
    not_after: datetime,
) -> dict[str, Any]:
    """Add a key; adding a second one with an overlapping window is how a party rotates."""
    doc = copy.deepcopy(dict(draft))
    if not_after <= not_before:
        raise RegistryError("key validity window is empty: not_after must follow not_before")
    if kid == doc["hub"]["kid"] or any(k["kid"] == kid for p in doc["parties"] for k in p["keys"]):
        raise RegistryError(f"kid {kid!r} is already used: key ids are unique in a registry")
    party = _draft_party(doc, party_id)
    party["keys"].append(
        {
            "kid": kid,
            "jwk": public_jwk(public_key),
            "not_before": format_time(not_before),
            "not_after": format_time(not_after),
            "status": "active",
            "revoked_at": None,
        }
    )
    return doc


def revoke_key(draft: Mapping[str, Any], kid: str, revoked_at: datetime) -> dict[str, Any]:
    """Mark `kid` revoked from `revoked_at` on: signatures made at or after it are refused."""
    doc = copy.deepcopy(dict(draft))
    for party in doc["parties"]:
        for key in party["keys"]:
            if key["kid"] == kid:
                key["status"] = "revoked"
                key["revoked_at"] = format_time(revoked_at)
                return doc
    raise UnknownKey(f"key {kid!r} is not in this registry draft")


def sign_registry(
    draft: Mapping[str, Any], hub_key: Ed25519PrivateKey, *, now: datetime | None = None
) -> dict[str, Any]:
    """Sign the draft as the hub operator; the result is what `load_registry` reads."""
    now = now or utcnow()
    doc = copy.deepcopy(dict(draft))
    doc["issued_at"] = format_time(now)
    _parse(doc, hub_key.public_key())  # refuse to sign what we could not load
    return sign_general(doc, hub_key, doc["hub"]["kid"], iat=now,
                        extra_header={"typ": "yanxing-registry+jws"})


def verify_registry(
    envelope: Any,
    hub_public_key: Ed25519PublicKey,
    *,
    current_version: int | None = None,
    now: datetime | None = None,
) -> Registry:
    """Verify the hub's signature, version and expiry; return the usable `Registry`."""
    now = now or utcnow()
    jws = parse_general(envelope)
    payload = jws.payload
    if not isinstance(payload, dict) or payload.get("type") != REGISTRY_TYPE:
        raise RegistryError("document is not a yanxing trust registry")
    hub_kid = payload.get("hub", {}).get("kid") if isinstance(payload.get("hub"), dict) else None
    good = [
        s for s in jws.signatures
        if s.kid == hub_kid and verify_signature(jws.payload_b64, s, hub_public_key)
    ]
    if len(jws.signatures) != 1 or not good:
        raise RegistryError(
            "registry is not signed by the hub key you trust (or was changed after signing)"
        )
    registry = _parse(payload, hub_public_key)
    if current_version is not None and registry.version < current_version:
        raise RegistryDowngrade(
            f"registry version {registry.version} is older than the accepted version "
            f"{current_version}: refusing a downgrade"
        )
    registry.check_current(now)
    return registry


def load_registry(
    path: Path | str,
    hub_public_key: Ed25519PublicKey,
    *,
    current_version: int | None = None,
    now: datetime | None = None,
) -> Registry:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read trust registry {path}: {exc}") from exc
    return verify_registry(
        strict_loads(data), hub_public_key, current_version=current_version, now=now
    )


# ---------------------------------------------------------------- internals


def _check_id(value: str, what: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise RegistryError(f"{what} {value!r} must match {_ID.pattern}")


def _draft_party(doc: dict[str, Any], party_id: str) -> dict[str, Any]:
    parties: list[dict[str, Any]] = doc["parties"]
    for party in parties:
        if party["id"] == party_id:
            return party
    raise UnknownParty(f"party {party_id!r} is not in this registry draft")


def _parse(doc: Mapping[str, Any], hub_key: Ed25519PublicKey) -> Registry:
    """Turn a registry payload into a `Registry`; any structural problem is a RegistryError."""
    try:
        hub = doc["hub"]
        parties: dict[str, Party] = {}
        for p in doc["parties"]:
            keys = tuple(
                PartyKey(
                    kid=k["kid"],
                    party=p["id"],
                    public_key=public_key_from_jwk(k["jwk"]),
                    not_before=parse_time(k["not_before"]),
                    not_after=parse_time(k["not_after"]),
                    revoked_at=parse_time(k["revoked_at"]) if k.get("revoked_at") else None,
                )
                for k in p["keys"]
            )
            for k in p["keys"]:
                if k["status"] not in ("active", "revoked") or (
                    (k["status"] == "revoked") != bool(k.get("revoked_at"))
                ):
                    raise RegistryError(f"key {k['kid']!r}: status and revoked_at disagree")
            if p["id"] in parties:
                raise RegistryError(f"party {p['id']!r} appears twice")
            parties[p["id"]] = Party(
                id=p["id"], name=p["name"], region_codes=tuple(p["region_codes"]),
                roles=tuple(p["roles"]), keys=keys,
            )
        version = doc["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RegistryError("registry version must be a positive integer")
        kids = [k.kid for p in parties.values() for k in p.keys] + [hub["kid"]]
        if len(kids) != len(set(kids)):
            raise RegistryError("a kid appears twice in the registry")
        return Registry(
            hub_id=hub["id"],
            hub_kid=hub["kid"],
            hub_key=hub_key,
            version=version,
            issued_at=parse_time(doc["issued_at"]),
            expires_at=parse_time(doc["expires_at"]),
            parties=parties,
        )
    except (KeyError, TypeError) as exc:
        raise RegistryError(f"registry document is malformed: missing or bad {exc}") from exc

