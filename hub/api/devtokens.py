"""Development mode's token route: `GET /dev/token?party=ID[&purpose=P]` mints a fresh token.

Party tokens are single use and signed with the party's private key, which a real hub never
holds. On a developer's machine it helps to have one place that signs for the parties being
tried out, so that GraphiQL's party picker (and a front end under development) can send a
fresh token with every request, introspection included. `[hub] dev_party_keys` lists the
private key files; each is matched to its party and key id in the trust registry by its public
key (a key the registry does not know is a startup error, not a silent skip). The settings
refuse the key list outside development mode, and `create_app` serves the route only there.
The demo (`yanxing demo`) signs for its own parties the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.contracts.keys import load_private_key
from hub.contracts.tokens import mint_token
from hub.errors import ConfigError
from hub.settings import PURPOSE

__all__ = ["DevTokens", "Mint", "token_route", "DEV_TOKEN_TTL"]

#: seconds a development token lives (one request needs one; GraphiQL asks per request)
DEV_TOKEN_TTL = 120

#: (party, purpose or None for the party's default) -> a fresh token
Mint = Callable[[str, str | None], Awaitable[str]]


@dataclass
class DevTokens:
    """Signing keys of the parties a development hub may mint tokens for."""

    audience: str
    #: party id -> (kid, private key)
    keys: dict[str, tuple[str, Ed25519PrivateKey]] = field(repr=False)
    #: party id -> display name (for the picker)
    names: dict[str, str]
    #: party id -> the purposes its tokens may carry now (contract purposes first)
    purposes: Callable[[str], Awaitable[Sequence[str]]]

    @classmethod
    def from_key_files(cls, paths: Sequence[Path], trust: Any) -> DevTokens:
        """Match each key file to a party key of `trust.registry` (hub.contracts.trust.Trust)
        by its public key; ConfigError naming every file the registry does not know."""
        registry = trust.registry
        by_public = {key.public_key.public_bytes_raw(): (party.id, key.kid)
                     for party in registry.parties.values() for key in party.keys}
        keys: dict[str, tuple[str, Ed25519PrivateKey]] = {}
        problems: list[str] = []
        for path in paths:
            try:
                private = load_private_key(path)
            except Exception as exc:
                problems.append(f"hub.dev_party_keys: {exc}")
                continue
            found = by_public.get(private.public_key().public_bytes_raw())
            if found is None:
                problems.append(f"hub.dev_party_keys: {path} is the key of no party in the "
                                "trust registry")
                continue
            keys[found[0]] = (found[1], private)
        if problems:
            raise ConfigError(problems)
        names = {pid: registry.parties[pid].name for pid in keys}
        return cls(trust.audience, keys, names, trust.purposes_for)

    @property
    def parties(self) -> list[tuple[str, str]]:
        return [(pid, self.names[pid]) for pid in sorted(self.keys)]

    async def mint(self, party: str, purpose: str | None = None) -> str:
        kid, key = self.keys[party]
        if purpose is None:
            allowed = await self.purposes(party)
            purpose = allowed[0] if allowed else "own-records"
        return mint_token(party, "dev-user", purpose, key, kid, self.audience, DEV_TOKEN_TTL)


def token_route(parties: Callable[[Request], Sequence[tuple[str, str]]],
                mint: Callable[[Request], Mint | None]
                ) -> Callable[[Request], Awaitable[Response]]:
    """The route over whatever signs in this app (the demo's parties, or `DevTokens`)."""

    async def dev_token(request: Request) -> Response:
        """A fresh party token (development mode only), never cached."""
        minter = mint(request)
        known = {pid for pid, _ in parties(request)}
        party = request.query_params.get("party", "")
        if minter is None or party not in known:
            return JSONResponse({"errors": [{
                "message": f"unknown party {party[:64]!r}: this hub signs for "
                           f"{', '.join(sorted(known)) or 'no party'}",
                "extensions": {"code": "BAD_REQUEST"}}], "parties": sorted(known)},
                status_code=404)
        purpose = request.query_params.get("purpose") or None
        if purpose is not None and not PURPOSE.match(purpose):
            return JSONResponse({"errors": [{
                "message": f"purpose must match {PURPOSE.pattern}",
                "extensions": {"code": "BAD_REQUEST"}}]}, status_code=400)
        token = await minter(party, purpose)
        return JSONResponse({"party": party, "token": token},
                            headers={"Cache-Control": "no-store"})

    return dev_token
