"""`exchangeEvents` over graphql-transport-ws with a real WebSocket client (aiohttp) against
the hub served by uvicorn: the party token goes in connection_init; a party receives the
entries its contracts let it see (温江 its own check-ins, 泸县 those about its members, 德阳
none), filtered by kind and organisation; each event is audited; protocol mistakes close the
socket with the protocol's codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from tests.api.trusted import Trusted
from tests.exchange.conftest import audit_bodies

PROTOCOL = "graphql-transport-ws"
EVENTS = """subscription($kinds: [String!], $org: ID) {
  exchangeEvents(kinds: $kinds, organization: $org) {
    number action memberKey organizations party payload } }"""
CHECK_IN = """mutation($k: ID!, $o: ID!, $note: String) {
  recordCheckIn(memberKey: $k, organization: $o, note: $note) { entry { number } } }"""


def url_of(t: Trusted) -> str:
    return str(t.world.client.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"


@asynccontextmanager
async def connected(t: Trusted, party: str | None, *,
                    payload: dict[str, Any] | None = None,
                    ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url_of(t), protocols=(PROTOCOL,)) as ws:
            assert ws.protocol == PROTOCOL
            init = payload if payload is not None else (
                {"authorization": f"Bearer {t.demo.token_for(party)}"} if party else {})
            await ws.send_json({"type": "connection_init", "payload": init})
            yield ws


async def acked(ws: aiohttp.ClientWebSocketResponse) -> None:
    assert await ws.receive_json(timeout=5) == {"type": "connection_ack"}


async def subscribe(ws: aiohttp.ClientWebSocketResponse, sub_id: str = "1",
                    **variables: Any) -> None:
    await ws.send_json({"type": "subscribe", "id": sub_id,
                        "payload": {"query": EVENTS, "variables": variables}})


async def next_message(ws: aiohttp.ClientWebSocketResponse) -> Any:
    return await ws.receive_json(timeout=5)


async def silent(ws: aiohttp.ClientWebSocketResponse, seconds: float = 1.0) -> bool:
    try:
        message = await ws.receive(timeout=seconds)
    except TimeoutError:
        return True
    raise AssertionError(f"expected nothing, got {message}")


async def check_in(t: Trusted, member: int = 0, org: str = "WJ-YQ") -> int:
    body = await t.gql(CHECK_IN, {"k": t.world.keys[member], "o": org, "note": "扫码报到"},
                       party="wenjiang")
    assert "errors" not in body, body
    return int(body["data"]["recordCheckIn"]["entry"]["number"])


async def test_parties_receive_the_check_ins_their_contracts_cover(served: Trusted) -> None:
    async with connected(served, "wenjiang") as wenjiang, \
            connected(served, "luxian") as luxian, connected(served, "deyang") as deyang:
        for ws in (wenjiang, luxian, deyang):
            await acked(ws)
            await subscribe(ws, kinds=["checkin"])
        await asyncio.sleep(0.3)  # the subscriptions start at the ledger's current end
        number = await check_in(served)
        for ws in (wenjiang, luxian):
            message = await next_message(ws)
            assert message["type"] == "next" and message["id"] == "1", message
            event = message["payload"]["data"]["exchangeEvents"]
            assert event == {"number": number, "action": "checkin",
                             "memberKey": served.world.keys[0], "organizations": ["WJ-YQ"],
                             "party": "wenjiang", "payload": {"note": "扫码报到"}}
        assert await silent(deyang)  # 德阳's contract covers 510600: not this member
        second = await check_in(served, member=1)
        assert (await next_message(wenjiang))["payload"]["data"]["exchangeEvents"][
            "number"] == second
    bodies = await audit_bodies(served)
    events = [b for b in bodies if "Subscription.exchangeEvents" in b.get("allowed", [])]
    first_member = served.world.keys[0]
    # one audit entry per event delivered, naming the member it showed
    assert sorted(b["party"] for b in events if first_member in b["members"]) == \
        ["luxian", "wenjiang"]
    assert not [b for b in events if b["party"] == "deyang" and b["members"]]


async def test_kinds_and_organization_filter_events(served: Trusted) -> None:
    async with connected(served, "wenjiang") as ws:
        await acked(ws)
        await subscribe(ws, "elsewhere", org="LX-YS")
        await subscribe(ws, "here", org="WJ-YQ")
        await asyncio.sleep(0.3)
        number = await check_in(served)
        message = await next_message(ws)
        assert message["id"] == "here"
        assert message["payload"]["data"]["exchangeEvents"]["number"] == number
        assert await silent(ws)
        await ws.send_json({"type": "complete", "id": "here"})
        await check_in(served, member=2)
        assert await silent(ws)
        await ws.send_json({"type": "ping"})
        assert await next_message(ws) == {"type": "pong"}


async def test_bad_arguments_and_operations_are_errors_with_codes(served: Trusted) -> None:
    async with connected(served, "wenjiang") as ws:
        await acked(ws)
        await subscribe(ws, "kinds", kinds=["teleport"])
        message = await next_message(ws)
        assert message["type"] == "error" and message["id"] == "kinds"
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "teleport" in message["payload"][0]["message"]
        await subscribe(ws, "org", org="bad code!")
        message = await next_message(ws)
        assert (message["type"], message["payload"][0]["extensions"]["code"]) == \
            ("error", "BAD_USER_INPUT")
        await ws.send_json({"type": "subscribe", "id": "q", "payload": {
            "query": "{ contracts { id } }"}})
        message = await next_message(ws)
        assert message["type"] == "error" and message["id"] == "q"
        await ws.send_json({"type": "subscribe", "id": "v", "payload": {
            "query": EVENTS, "variables": {"kinds": 7}}})
        message = await next_message(ws)
        assert message["type"] == "error" and message["id"] == "v"
        await ws.send_json({"type": "subscribe", "id": "n", "payload": {"query": 5}})
        message = await next_message(ws)
        assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"


async def _closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    message = await ws.receive(timeout=5)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING), message
    return ws.close_code


async def test_a_bad_or_missing_token_is_refused_and_audited(served: Trusted) -> None:
    async with connected(served, None, payload={"authorization": "Bearer nope"}) as ws:
        assert await _closed_with(ws) == 4403
    async with connected(served, None) as ws:
        assert await _closed_with(ws) == 4403
    bodies = await audit_bodies(served)
    assert sum(1 for b in bodies if str(b.get("rejected", "")).startswith("unauthenticated")
               or "unauthenticated" in json.dumps(b)) >= 1


async def test_protocol_violations_close_with_the_protocols_codes(served: Trusted) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with session.ws_connect(url_of(served)):
                pass
        async with session.ws_connect(url_of(served), protocols=(PROTOCOL,)) as ws:
            await subscribe(ws)  # before connection_init
            assert await _closed_with(ws) == 4401
        async with session.ws_connect(url_of(served), protocols=(PROTOCOL,)) as ws:
            await ws.send_str("not json")
            assert await _closed_with(ws) == 4400
    async with connected(served, "wenjiang") as ws:
        await acked(ws)
        await ws.send_json({"type": "connection_init"})
        assert await _closed_with(ws) == 4429
    async with connected(served, "wenjiang") as ws:
        await acked(ws)
        await subscribe(ws, "same")
        await subscribe(ws, "same")
        assert await _closed_with(ws) == 4409



async def test_a_key_revoked_while_subscribed_stops_the_events(served: Trusted) -> None:
    """泸县's key is revoked while its subscription runs: the next batch is not sent; the
    subscription ends with UNAUTHENTICATED (key revoked). 温江's goes on."""
    from tests.api.test_keys_and_tokens import next_registry

    async with connected(served, "wenjiang") as wenjiang, \
            connected(served, "luxian") as luxian:
        for ws in (wenjiang, luxian):
            await acked(ws)
            await subscribe(ws, kinds=["checkin"])
        await asyncio.sleep(0.3)
        first = await check_in(served)
        assert (await next_message(wenjiang))["type"] == "next"
        assert (await next_message(luxian))["type"] == "next"
        kid, _ = served.demo.party_keys["luxian"]
        _, registry = next_registry(served.demo, revoke=kid)
        served.trust.registry = registry
        await check_in(served, member=1)
        ended = await next_message(luxian)
        assert ended["type"] == "error", ended
        assert ended["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
        assert "revoked" in ended["payload"][0]["message"], ended
        assert await silent(luxian, 0.5)
        event = await next_message(wenjiang)
        assert event["type"] == "next" and \
            event["payload"]["data"]["exchangeEvents"]["number"] > first


async def test_a_subscription_ends_when_its_token_expires(served: Trusted) -> None:
    """A connection lives no longer than the token it opened with: the first batch after the
    token's expiry ends the subscription (a client reconnects with a fresh token)."""
    short = served.demo.token_for("wenjiang", ttl=6)
    async with connected(served, None, payload={"authorization": f"Bearer {short}"}) as ws:
        await acked(ws)
        await subscribe(ws, kinds=["checkin"])
        await asyncio.sleep(0.3)
        await check_in(served)
        started = await next_message(ws)
        assert started["type"] == "next", started
        await asyncio.sleep(6.2)
        await check_in(served, member=1)
        ended = await next_message(ws)
        assert ended["type"] == "error" and \
            ended["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
        assert "expired" in ended["payload"][0]["message"], ended
