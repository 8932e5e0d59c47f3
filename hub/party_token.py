"""A party's request token: what a party signs to call the hub (hub core).

The token format lives here, below everything that uses it: the hub's verifier
(hub.contracts.tokens), `yanxing token`, the demo, and the party client (hub.client), which
must sign tokens without importing the server. A token is a compact EdDSA JWS (hub.jws) typed
`yanxing-request+jwt` whose claims are issuer (the party), subject (the official), audience
(the hub), issued-at, expiry (at most 10 minutes later), a random id (`jti`, single use) and
the purpose.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.clock import to_epoch, utcnow
from hub.errors import ContractError
from hub.jws import sign_compact

__all__ = ["TOKEN_TYPE", "MAX_LIFETIME", "mint_token", "load_private_key"]

TOKEN_TYPE = "yanxing-request+jwt"
MAX_LIFETIME = timedelta(seconds=600)


def mint_token(
    party: str,
    user: str,
    purpose: str,
    private_key: Ed25519PrivateKey,
    kid: str,
    audience: str,
    ttl: int = 300,
    *,
    now: datetime | None = None,
) -> str:
    """Sign a request token as `party` (used by party-side clients and `yanxing token`)."""
    if not 0 < ttl <= MAX_LIFETIME.total_seconds():
        raise ContractError(f"ttl must be 1..{int(MAX_LIFETIME.total_seconds())} seconds")
    now = now or utcnow()
    claims = {
        "iss": party, "sub": user, "aud": audience, "iat": to_epoch(now),
        "exp": to_epoch(now) + ttl, "jti": secrets.token_urlsafe(16), "purpose": purpose,
    }
    return sign_compact(claims, private_key, kid, iat=now, extra_header={"typ": TOKEN_TYPE})


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ContractError(f"cannot read private key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ContractError(f"{path} is not an Ed25519 private key")
    return key
