"""Authenticators: how a request to a system carries its credentials, one small class per
scheme, picked by the mapping's `[connection.auth] type` (Singer SDK style).

A kind picks one with `authenticator_for(connection["auth"])` and calls `apply(params,
headers)` on every request; a plugin with a scheme of its own subclasses `Authenticator` and
registers it (`register_authenticator`). The built-in REST and GraphQL kinds use this registry;
their mapping schema lists the types they accept (none, bearer, api_key, hmac). Credentials
stay `Secret`s until the moment they are written into a request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from connectors.errors import ConnectorConfigError
from connectors.secret import reveal

__all__ = [
    "Authenticator",
    "NoAuth",
    "BearerToken",
    "ApiKey",
    "HmacSignature",
    "AUTHENTICATORS",
    "register_authenticator",
    "authenticator_for",
    "sign_params",
]


def sign_params(params: Mapping[str, str], secret: str) -> str:
    """hex HMAC-SHA256(secret, "&".join(f"{k}={v}" for k, v in sorted(params.items())))."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class Authenticator:
    """Adds credentials to one request's query `params` and `headers`, in place.
    `settings` is the mapping's `[connection.auth]` table (credentials as Secrets)."""

    type: ClassVar[str]

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        raise NotImplementedError


class NoAuth(Authenticator):
    type = "none"

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        return None


class BearerToken(Authenticator):
    """`Authorization: Bearer <token>`."""

    type = "bearer"

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer {reveal(self.settings['token'])}"


class ApiKey(Authenticator):
    """The key in a header (`header`, default X-Api-Key)."""

    type = "api_key"

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        headers[self.settings.get("header", "X-Api-Key")] = reveal(self.settings["key"])


class HmacSignature(Authenticator):
    """appKey + timestamp + HMAC-SHA256 over the sorted query (`sign_params`), as 浙里 does."""

    type = "hmac"

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        auth = self.settings
        params[auth.get("app_key_param", "appKey")] = str(auth["app_key"])
        params[auth.get("timestamp_param", "timestamp")] = str(int(time.time()))
        params[auth.get("signature_param", "sign")] = sign_params(params, reveal(auth["secret"]))


class OAuth2ClientCredentials(Authenticator):
    """OAuth2 client credentials (connectors.oauth2): the token is fetched, cached and renewed
    asynchronously by the connector (RestConnector._get), which sets the Authorization header
    itself; nothing is added here."""

    type = "oauth2"

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        return None


#: auth type -> its class; `register_authenticator` adds to it
AUTHENTICATORS: dict[str, type[Authenticator]] = {
    cls.type: cls for cls in (NoAuth, BearerToken, ApiKey, HmacSignature,
                              OAuth2ClientCredentials)
}


def register_authenticator(cls: type[Authenticator]) -> type[Authenticator]:
    """Make `cls` the authenticator of `cls.type` (usable as a class decorator)."""
    AUTHENTICATORS[cls.type] = cls
    return cls


def authenticator_for(settings: Mapping[str, Any] | None) -> Authenticator:
    """The authenticator the `[connection.auth]` table asks for (none when there is none)."""
    settings = settings or {"type": "none"}
    kind = str(settings.get("type", "none"))
    try:
        return AUTHENTICATORS[kind](settings)
    except KeyError:
        raise ConnectorConfigError(
            f"unknown auth type {kind!r} (known: {', '.join(sorted(AUTHENTICATORS))})") from None
