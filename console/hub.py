"""Calls to the hub as the signed-in official: one party client, a fresh token per call.

Every token carries the official's user id as `sub` and the console page's purpose, so the
hub's audit log says which official did what, and each call sends `X-Request-Id:
console-<page>-<random>` so a request in the audit can be traced to the page it came from.
A refusal comes back as `HubFailure` holding the sentence an official reads (console.messages);
an answer with data and errors (a system down) comes back as data plus those sentences.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from console.config import ConsoleConfig
from console.messages import explain_error
from console.officials import Official
from hub.client import AsyncHubClient, HubClientError, PartyCredentials, RetryPolicy

__all__ = ["ConsoleHub", "HubAnswer", "HubFailure"]


class HubFailure(Exception):
    """The hub refused or could not answer: `sentence` is for the official, `code` for tests
    and logs."""

    def __init__(self, code: str, sentence: str) -> None:
        super().__init__(sentence)
        self.code = code
        self.sentence = sentence


@dataclass(frozen=True)
class HubAnswer:
    data: dict[str, Any]
    #: sentences for partial results (which system was unavailable), empty when complete
    warnings: tuple[str, ...] = ()
    codes: frozenset[str] = frozenset()


class ConsoleHub:
    """The console's one way to the hub."""

    def __init__(self, config: ConsoleConfig, *, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.credentials = PartyCredentials.from_key_file(
            config.key_file, party=config.party, kid=config.kid, audience=config.audience,
            user="console", purpose=config.purpose)
        self.http = http or httpx.AsyncClient(timeout=35.0)
        self.url = config.hub_url + "/graphql"

    def client(self, official: Official, page: str = "") -> AsyncHubClient:
        credentials = dataclasses.replace(self.credentials, user=official.user,
                                          purpose=self.config.purpose_for(page))
        return AsyncHubClient(self.url, credentials, http=self.http,
                              retry=RetryPolicy(attempts=2, base_seconds=0.2, max_seconds=2.0))

    async def call(self, official: Official, page: str, query: str,
                   variables: Mapping[str, Any] | None = None) -> HubAnswer:
        """Run `query` as `official` from console page `page`."""
        request_id = f"console-{page}-{secrets.token_hex(6)}"
        try:
            result = await self.client(official, page).execute(query, variables,
                                                         request_id=request_id)
        except HubClientError as exc:
            body = exc.body if isinstance(getattr(exc, "body", None), dict) else None
            first = ((body or {}).get("errors") or [{}])[0] if body else {}
            if not isinstance(first, dict) or not first:
                first = {"extensions": {"code": exc.code}}
            raise HubFailure(exc.code, explain_error(first)) from exc
        warnings = tuple(dict.fromkeys(explain_error(e) for e in result.errors))
        return HubAnswer(result.data, warnings, frozenset(result.codes))

    async def page_data(self, official: Official, page: str, query: str,
                        variables: Mapping[str, Any] | None = None) -> HubAnswer:
        """Like `call`, but a top-level refusal with no data (every error, no field answered)
        is a failure too: a page without its data says why instead of showing blanks."""
        answer = await self.call(official, page, query, variables)
        if answer.codes and all(v is None for v in answer.data.values()):
            raise HubFailure(sorted(answer.codes)[0], answer.warnings[0])
        return answer

    async def aclose(self) -> None:
        await self.http.aclose()
