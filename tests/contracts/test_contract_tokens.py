"""Request tokens: every refusal has its reason; replay, expiry and audience are enforced."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from contract_world import NOW, World
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.canonical_json import b64url, canonical
from hub.contracts.tokens import (
    MemoryReplayCache,
    ReplayCache,
    TokenRejected,
    mint_token,
    verify_token,
)
from hub.contracts.trust_registry import revoke_key
from hub.errors import AuthenticationError
from hub.policy.base import Caller

AUD = "yanxing-hub"


def _token(world: World, *, kid: str = "xz-1", party: str = "xuzhou", ttl: int = 300,
           audience: str = AUD, now=NOW) -> str:
    key = world.keys.get(kid) or Ed25519PrivateKey.generate()
    return mint_token(party, "official-007", "co-management", key, kid, audience, ttl, now=now)


def _reason(world: World, token: str, *, now=NOW, cache: ReplayCache | None = None) -> str:
    with pytest.raises(TokenRejected) as info:
        asyncio.run(verify_token(token, world.registry, AUD, cache or MemoryReplayCache(), now))
    assert isinstance(info.value, AuthenticationError) and info.value.code == "UNAUTHENTICATED"
    return info.value.reason


def test_valid_token_gives_caller(world: World) -> None:
    caller = asyncio.run(verify_token(_token(world), world.registry, AUD, MemoryReplayCache(),
                                      NOW))
    assert caller == Caller(party="xuzhou", user="official-007", purpose="co-management",
                            token_id=caller.token_id)
    assert caller.token_id


def test_replayed(world: World) -> None:
    cache = MemoryReplayCache()
    token = _token(world)
    asyncio.run(verify_token(token, world.registry, AUD, cache, NOW))
    assert _reason(world, token, now=NOW + timedelta(seconds=1), cache=cache) == "replayed"


def test_expired(world: World) -> None:
    assert _reason(world, _token(world, ttl=60), now=NOW + timedelta(seconds=60)) == "expired"


def test_wrong_audience(world: World) -> None:
    assert _reason(world, _token(world, audience="other-hub")) == "wrong_audience"


def test_unknown_kid(world: World) -> None:
    assert _reason(world, _token(world, kid="xz-9")) == "unknown_kid"


def test_key_revoked(world: World) -> None:
    world.resign(revoke_key(world.draft, "xz-1", NOW - timedelta(seconds=1)))
    assert _reason(world, _token(world)) == "key_revoked"


def test_registry_expired(world: World) -> None:
    later = world.registry.expires_at
    assert _reason(world, _token(world, now=later), now=later) == "registry_expired"


def test_key_of_another_party(world: World) -> None:
    assert _reason(world, _token(world, kid="wj-1", party="xuzhou")) == "wrong_issuer"


def test_bad_signature(world: World) -> None:
    head, payload, sig = _token(world).split(".")
    other = _token(world, kid="wj-1", party="wenjiang").split(".")[2]
    assert _reason(world, f"{head}.{payload}.{other}") == "bad_signature"
    assert sig != other


def test_lifetime_over_ten_minutes_refused(world: World) -> None:
    from hub.jws import sign_compact

    now = NOW
    claims = {"iss": "xuzhou", "sub": "u", "aud": AUD, "iat": int(now.timestamp()),
              "exp": int(now.timestamp()) + 3600, "jti": "j", "purpose": "p"}
    token = sign_compact(claims, world.keys["xz-1"], "xz-1", iat=now,
                         extra_header={"typ": "yanxing-request+jwt"})
    assert _reason(world, token) == "lifetime"
    with pytest.raises(Exception, match="ttl"):
        _token(world, ttl=601)


@pytest.mark.parametrize(("alg", "reason"), [("none", "algorithm_not_allowed"),
                                             ("HS256", "algorithm_not_allowed")])
def test_algorithm_not_allowed(world: World, alg: str, reason: str) -> None:
    head = b64url(canonical({"alg": alg, "kid": "xz-1", "iat": 1, "typ": "yanxing-request+jwt"}))
    body = _token(world).split(".")[1]
    assert _reason(world, f"{head}.{body}.AAAA") == reason


@pytest.mark.parametrize("token", ["", "Bearer x", "a.b.c"])
def test_malformed(world: World, token: str) -> None:
    assert _reason(world, token) == "malformed"


async def test_replay_cache_forgets_after_expiry() -> None:
    cache = MemoryReplayCache()
    assert await cache.remember("j", NOW + timedelta(seconds=10), NOW)
    assert not await cache.remember("j", NOW + timedelta(seconds=10), NOW + timedelta(seconds=5))
    later = NOW + timedelta(seconds=120)
    assert await cache.remember("other", later + timedelta(seconds=10), later)
    assert len(cache) == 1  # "j" purged once expired
    assert isinstance(cache, ReplayCache)
