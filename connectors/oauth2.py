"""OAuth2 client-credentials tokens for REST systems (`auth.type = "oauth2"`).

The hub is a machine client: it trades its client id and secret for an access token at the
system's token URL (RFC 6749 §4.4), keeps the token until shortly before it expires, and asks
for a new one once when the system answers 401 (a token revoked or expired early). Concurrent
requests share one fetch. The secret and the token are `Secret`s: masked wherever they are
printed; neither ever reaches an error message.

    [connection.auth]
    type = "oauth2"
    token_url = "https://platform.example/oauth/token"
    client_id = "yanxing-hub"
    client_secret = "${STUDY_CLIENT_SECRET}"
    scope = "records.read"          # optional
    client_auth = "basic"           # default; "body": client_id/secret in the form instead
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from connectors.errors import SourceInvalid, SourceRejected, SourceUnavailable
from connectors.secret import Secret, reveal

__all__ = ["ClientCredentials", "EXPIRY_MARGIN_SECONDS", "MAX_TOKEN_ANSWER_BYTES"]

#: a token is renewed this long before the expiry the token endpoint stated
EXPIRY_MARGIN_SECONDS = 30.0
#: a token answer is a few hundred bytes; anything past this is refused unread
MAX_TOKEN_ANSWER_BYTES = 64 * 1024
#: when the token endpoint states no `expires_in`, the token is kept this long
DEFAULT_LIFETIME_SECONDS = 300.0


class ClientCredentials:
    """The current access token of one source, fetched and renewed on demand."""

    def __init__(self, source: str, auth: Mapping[str, Any], *,
                 clock: Any = time.monotonic) -> None:
        self.source = source
        self.token_url = str(auth["token_url"])
        self.client_id = str(auth["client_id"])
        self._secret = auth["client_secret"]
        self.scope: str | None = auth.get("scope")
        self.client_auth = str(auth.get("client_auth", "basic"))
        self._clock = clock
        self._token: Secret | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        #: how many tokens were fetched (tests and `mapping check` show it)
        self.fetches = 0

    async def token(self, session: aiohttp.ClientSession) -> str:
        """A valid access token: the cached one, or a fresh one (one fetch for all waiters)."""
        if self._token is not None and self._clock() < self._expires:
            return reveal(self._token)
        async with self._lock:
            if self._token is None or self._clock() >= self._expires:
                await self._fetch(session)
            assert self._token is not None
            return reveal(self._token)

    def invalidate(self, token: str) -> None:
        """The system refused `token` (401): forget it, unless another request already
        replaced it with a newer one."""
        if self._token is not None and reveal(self._token) == token:
            self._token = None

    async def _fetch(self, session: aiohttp.ClientSession) -> None:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {"Accept": "application/json"}
        if self.client_auth == "body":
            form.update(client_id=self.client_id, client_secret=reveal(self._secret))
        else:
            pair = f"{self.client_id}:{reveal(self._secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        where = "POST token_url"
        try:
            async with session.post(self.token_url, data=form, headers=headers) as response:
                status = response.status
                raw = await _read_capped(response)
        except (TimeoutError, aiohttp.ClientError) as exc:
            from connectors.rest import map_client_error

            raise map_client_error(self.source, exc, where) from None
        if raw is None:
            raise SourceInvalid(self.source, f"{where}: the token answer is too large")
        if status in (400, 401, 403):
            raise SourceRejected(
                self.source, f"{where}: HTTP {status}: the token endpoint refused the client "
                "credentials (check client_id, client_secret and scope)")
        if status >= 500:
            raise SourceUnavailable(self.source, f"{where}: HTTP {status}")
        if status >= 300:
            raise SourceRejected(self.source, f"{where}: HTTP {status}")
        self._token, self._expires = self._parse(raw, where)
        self.fetches += 1

    def _parse(self, raw: bytes, where: str) -> tuple[Secret, float]:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise SourceInvalid(self.source, f"{where}: the token answer is not JSON") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceInvalid(self.source, f"{where}: the token answer has no access_token")
        kind = body.get("token_type", "bearer")
        if not isinstance(kind, str) or kind.lower() != "bearer":
            raise SourceInvalid(self.source, f"{where}: token_type {kind!r} is not bearer")
        lifetime = body.get("expires_in", DEFAULT_LIFETIME_SECONDS)
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
            raise SourceInvalid(self.source, f"{where}: expires_in is not a positive number")
        margin = min(EXPIRY_MARGIN_SECONDS, float(lifetime) / 2)
        return Secret(token), self._clock() + float(lifetime) - margin


async def _read_capped(response: aiohttp.ClientResponse) -> bytes | None:
    if response.content_length is not None and response.content_length > MAX_TOKEN_ANSWER_BYTES:
        return None
    data = await response.content.read(MAX_TOKEN_ANSWER_BYTES + 1)
    return None if len(data) > MAX_TOKEN_ANSWER_BYTES else data
