"""Request tokens: a party vouches, per request, for which official asks and why.

A token is a compact JWS (EdDSA only) whose claims are
`iss` (party id), `sub` (the official's user id), `aud` (this hub's id), `iat`, `exp`
(at most 10 minutes later), `jti` (unique; refused on replay) and `purpose`.
It is verified against the trust registry by `kid`: the key must belong to `iss`, be valid
and unrevoked at `iat` *and now* (an `iat` is the signer's claim: after a key's `revoked_at` no
token it signs is accepted, however it is dated), and the registry must be current. Every
refusal is a `TokenRejected` (UNAUTHENTICATED, HTTP 401) whose `reason` a developer can act on.

The replay cache is asynchronous so that it can be shared by every hub process (Redis or the
hub's database, hub.contracts.replay); `MemoryReplayCache` is for tests and the demo only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from hub.clock import EPOCH_MAX, from_epoch, is_numeric_date, utcnow
from hub.contracts.trust_registry import (
    CLOCK_SKEW,
    KeyNotValid,
    KeyRevoked,
    Registry,
    RegistryExpired,
    UnknownKey,
)
from hub.errors import AuthenticationError, ContractError
from hub.jws import AlgorithmNotAllowed, parse_compact, verify_compact
from hub.party_token import MAX_LIFETIME, TOKEN_TYPE, mint_token
from hub.policy.base import Caller

__all__ = [
    "TOKEN_TYPE",
    "MAX_LIFETIME",
    "TokenRejected",
    "ReplayCache",
    "MemoryReplayCache",
    "mint_token",
    "verify_token",
]

_STRING_CLAIMS = ("iss", "sub", "aud", "jti", "purpose")
_TIME_CLAIMS = ("iat", "exp")
_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti", "purpose")


class TokenRejected(AuthenticationError):
    """The request token was refused; `reason` is a stable slug (expired, replayed, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"request token refused ({reason}): {message}")


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers token ids until they expire. One per hub, shared by every process that
    verifies tokens, or replays across workers and restarts go unnoticed (Redis and database
    implementations: hub.contracts.replay). A cache that cannot answer raises `TokenRejected`
    (`replay_cache_unavailable`): it fails closed."""

    async def remember(self, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record `jti` atomically; False if it was already recorded and has not expired."""
        ...


class MemoryReplayCache:
    """In-process replay cache: correct for one process only (tests and `yanxing demo`)."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._next_purge: datetime | None = None

    async def remember(self, jti: str, expires_at: datetime, now: datetime) -> bool:
        # no await inside: atomic on the event loop
        if self._next_purge is None or now >= self._next_purge:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            self._next_purge = now + timedelta(seconds=60)
        seen = self._seen.get(jti)
        if seen is not None and seen > now:
            return False
        self._seen[jti] = expires_at
        return True

    async def aclose(self) -> None:
        """Nothing to release (the shared caches hold connections)."""

    def __len__(self) -> int:
        return len(self._seen)


def _checked_claims(claims: Any) -> dict[str, Any]:
    """The claims, if every one is there with its type and a sane value; `TokenRejected`
    (malformed, naming the claim) otherwise. Runs before any time arithmetic: an absurd
    NumericDate (2**53, negative, a float, a bool) must be refused here, not overflow later."""
    if not isinstance(claims, dict) or any(c not in claims for c in _CLAIMS):
        raise TokenRejected("missing_claims", f"claims {list(_CLAIMS)} are all required")
    for name in _STRING_CLAIMS:
        if not isinstance(claims[name], str) or not claims[name]:
            raise TokenRejected("malformed", f"claim {name!r} must be a non-empty string")
    for name in _TIME_CLAIMS:
        if not is_numeric_date(claims[name]):
            raise TokenRejected(
                "malformed", f"claim {name!r} must be an integer NumericDate: whole seconds "
                f"since 1970 (UTC), at most {EPOCH_MAX}")
    return claims


async def verify_token(
    token: str,
    registry: Registry,
    audience: str,
    replay_cache: ReplayCache | None,
    now: datetime | None = None,
) -> Caller:
    """Verify a request token and return who calls; raise `TokenRejected` otherwise.
    `replay_cache` None: check again a token already accepted (a subscription's, before each
    batch of events) without spending it a second time."""
    now = now or utcnow()
    try:
        jws = parse_compact(token)
    except AlgorithmNotAllowed as exc:
        raise TokenRejected("algorithm_not_allowed", str(exc)) from exc
    except ContractError as exc:
        raise TokenRejected("malformed", f"{exc}; send 'Authorization: Bearer <JWS>'") from exc
    if jws.header.get("typ") != TOKEN_TYPE:
        raise TokenRejected("wrong_type", f"header typ must be {TOKEN_TYPE!r}")
    claims = _checked_claims(jws.payload)
    if claims["iat"] != jws.header["iat"]:
        raise TokenRejected("malformed", "header iat and claim iat differ")
    if claims["aud"] != audience:
        raise TokenRejected(
            "wrong_audience", f"token is for {claims['aud']!r}, this hub is {audience!r}"
        )
    issued, expires = from_epoch(claims["iat"]), from_epoch(claims["exp"])
    if expires - issued > MAX_LIFETIME or expires <= issued:
        raise TokenRejected("lifetime", "exp - iat must be between 1 and 600 seconds")
    if now >= expires:
        raise TokenRejected("expired", f"token expired at {expires.isoformat()}; mint a new one")
    if issued > now + CLOCK_SKEW:
        raise TokenRejected("not_yet_valid", "token is issued in the future: check the clock")
    try:
        # presented now: a token dated before its key's revocation is still refused after it
        key = registry.resolve(jws.kid, issued, now, presented_at=now)
    except RegistryExpired as exc:
        raise TokenRejected("registry_expired", str(exc)) from exc
    except UnknownKey as exc:
        raise TokenRejected("unknown_kid", str(exc)) from exc
    except KeyRevoked as exc:
        raise TokenRejected("key_revoked", str(exc)) from exc
    except KeyNotValid as exc:
        raise TokenRejected("key_not_valid", str(exc)) from exc
    if key.party != claims["iss"]:
        raise TokenRejected(
            "wrong_issuer", f"key {jws.kid!r} belongs to {key.party!r}, not {claims['iss']!r}"
        )
    if not verify_compact(jws, key.public_key):
        raise TokenRejected("bad_signature", "signature does not verify with the registry key")
    # scoped by issuer: one party cannot burn another's token ids
    if replay_cache is not None and \
            not await replay_cache.remember(f"{claims['iss']}\x00{claims['jti']}", expires, now):
        raise TokenRejected("replayed", f"token id {claims['jti']!r} was already used")
    return Caller(party=claims["iss"], user=claims["sub"], purpose=claims["purpose"],
                  token_id=claims["jti"])

