"""hub.client against a real hub on a real port (issue 12 §4): a fresh signed token per
request, typed errors with extensions.code, retries on 429/503 honouring Retry-After (and
none for what the caller must fix), partial results as data, and the sync and async APIs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import SourceUnavailable as SourceDown
from hub.app import create_app
from hub.client import (
    AsyncHubClient,
    ContractDenied,
    HubClient,
    HubClientError,
    HubUnreachable,
    Overloaded,
    PartyCredentials,
    RateLimited,
    RetryPolicy,
    Unauthenticated,
)
from hub.client.party import _Call
from hub.contracts.demo import DEMO_PURPOSE
from hub.settings import Limits, Mode, PartyRate, RateLimits
from tests.api.served import serve
from tests.api.test_overload import Gate
from tests.api.trusted import Trusted, make_trusted

NAMES = "{ members(first: 3) { totalCount nodes { key name } } }"
LIVE = "{ members(first: 3) { nodes { key destination { employer } } } }"
PROFILE = "query($k: ID!) { member(key: $k) { name } }"


def credentials(t: Trusted, party: str, *, purpose: str = DEMO_PURPOSE) -> PartyCredentials:
    kid, path = t.demo.party_keys[party]
    return PartyCredentials.from_key_file(path, party=party, kid=kid, audience=t.demo.hub_id,
                                          user="official-7", purpose=purpose)


NO_JITTER = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=5.0,
                        jitter=lambda low, high: high)


@pytest.fixture
async def hub(make_world: Callable[..., Any], tmp_path: Path
              ) -> AsyncIterator[tuple[Trusted, str]]:
    t = await make_trusted(make_world, tmp_path, timeout=30.0, limits=Limits(
        rate=RateLimits(parties=(("deyang", PartyRate(0.5, 1)),)),
        max_concurrent_requests=1, max_queued_requests=0))
    try:
        async with serve(create_app(t.world.runtime, mode=Mode.development())) as url:
            yield t, url
    finally:
        await t.trust.close()


async def test_sync_client_signs_a_fresh_token_per_request(hub: tuple[Trusted, str]) -> None:
    t, url = hub
    with HubClient(url, credentials(t, "wenjiang")) as client:
        first = await asyncio.to_thread(client.execute, NAMES)
        second = await asyncio.to_thread(client.execute, NAMES)  # a replayed token: 401
    assert first.data == second.data and not first.partial
    assert first.data["members"]["totalCount"] > 0
    assert first.request_id and first.request_id != second.request_id


async def test_typed_errors_carry_the_code_and_are_not_retried(
        hub: tuple[Trusted, str]) -> None:
    t, url = hub
    slept: list[float] = []
    async with AsyncHubClient(url, credentials(t, "wenjiang", purpose="sightseeing"),
                              retry=NO_JITTER, sleep=_recorder(slept)) as client:
        with pytest.raises(Unauthenticated) as refused:
            await client.execute(NAMES)
    assert refused.value.code == "UNAUTHENTICATED" and refused.value.status == 401
    assert refused.value.reason == "purpose_not_allowed"
    async with AsyncHubClient(url, credentials(t, "deyang"), retry=NO_JITTER,
                              sleep=_recorder(slept)) as client:
        with pytest.raises(ContractDenied) as denied:
            await client.execute(PROFILE, {"k": t.world.keys[0]})
    assert denied.value.code == "CONTRACT_DENIED" and isinstance(denied.value, HubClientError)
    assert slept == []  # the caller's to fix: no retry


async def test_rate_limited_is_retried_after_retry_after(hub: tuple[Trusted, str]) -> None:
    """deyang's bucket holds one request and refills one every 2 s: the second call is
    refused with Retry-After 2, and the client waits that long (not its 10 ms backoff)."""
    t, url = hub
    slept: list[float] = []
    async with AsyncHubClient(url, credentials(t, "deyang"), retry=NO_JITTER,
                              sleep=_recorder(slept, real=True)) as client:
        await client.execute("{ sources { name } }")
        second = await client.execute("{ sources { name } }")
    assert second.data["sources"]
    assert slept and slept[0] >= 2.0
    async with AsyncHubClient(url, credentials(t, "deyang"),
                              retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(RateLimited) as limited:
            await client.execute("{ sources { name } }")
    assert limited.value.status == 429 and (limited.value.retry_after or 0) >= 1


async def test_overloaded_is_retried_and_then_served(hub: tuple[Trusted, str]) -> None:
    """One slot, no queue: while a live read holds the slot the client is shed (503); its
    sleep lets the held request finish, and the retry is served."""
    t, url = hub
    gate = Gate(t.world.city)
    async with AsyncHubClient(url, credentials(t, "wenjiang"), retry=NO_JITTER) as holder:
        held = asyncio.create_task(holder.execute(LIVE))
        while gate.inside == 0:
            await asyncio.sleep(0.01)
        waits: list[float] = []

        async def release(seconds: float) -> None:
            waits.append(seconds)
            gate.opened.set()
            await held

        async with AsyncHubClient(url, credentials(t, "wenjiang"), retry=NO_JITTER,
                                  sleep=release) as client:
            served = await client.execute(NAMES)
    assert served.data["members"]["nodes"] and waits and waits[0] >= 1.0  # Retry-After: 1
    assert not (await held).partial


async def test_overloaded_after_the_last_attempt_is_raised(hub: tuple[Trusted, str]) -> None:
    t, url = hub
    gate = Gate(t.world.city)
    async with AsyncHubClient(url, credentials(t, "wenjiang")) as holder:
        held = asyncio.create_task(holder.execute(LIVE))
        while gate.inside == 0:
            await asyncio.sleep(0.01)
        slept: list[float] = []
        async with AsyncHubClient(url, credentials(t, "wenjiang"), retry=NO_JITTER,
                                  sleep=_recorder(slept)) as client:
            with pytest.raises(Overloaded) as shed:
                await client.execute(NAMES)
        gate.opened.set()
        await held
    assert shed.value.code == "OVERLOADED" and shed.value.status == 503
    assert len(slept) == NO_JITTER.attempts - 1


async def test_partial_results_are_data_with_errors(hub: tuple[Trusted, str]) -> None:
    t, url = hub
    t.world.city.fail = lambda request: SourceDown("city", "maintenance")
    async with AsyncHubClient(url, credentials(t, "wenjiang")) as client:
        result = await client.execute(LIVE)
    assert result.partial and "SOURCE_UNAVAILABLE" in result.codes
    assert result.data["members"]["nodes"]


async def test_an_unreachable_hub_is_retried_for_queries_only() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    creds = PartyCredentials("p", "p-1", Ed25519PrivateKey.generate(), "hub", "u", "x")
    slept: list[float] = []
    async with AsyncHubClient(f"http://127.0.0.1:{port}", creds, retry=NO_JITTER,
                              sleep=_recorder(slept)) as client:
        with pytest.raises(HubUnreachable):
            await client.execute("{ sources { name } }")
        assert len(slept) == 2
        with pytest.raises(HubUnreachable):
            await client.execute('mutation { recordCheckIn(memberKey: "k", organization: "o")'
                                 " { party } }")
        assert len(slept) == 2  # a mutation may have run: never sent twice blindly


def test_what_is_retried_depends_on_whether_the_operation_ran() -> None:
    query = _Call("query Q { a }", None, None, NO_JITTER)
    mutation = _Call("mutation M { a }", None, None, NO_JITTER)
    named = _Call("query Q { a } mutation M { a }", None, "M", NO_JITTER)
    for code, query_retries, mutation_retries in (
            ("RATE_LIMITED", True, True), ("OVERLOADED", True, True),
            ("AUDIT_UNAVAILABLE", True, False), ("REQUEST_TIMEOUT", True, False),
            ("CONTRACT_DENIED", False, False), ("UNAUTHENTICATED", False, False)):
        error = HubClientError(code, "")
        assert query.retryable(error) is query_retries, code
        assert mutation.retryable(error) is mutation_retries, code
        assert named.retryable(error) is mutation_retries, code
    # the wait: Retry-After when it is longer than the backoff, never past max_seconds
    assert NO_JITTER.wait(0, 3.0) == 3.0 and NO_JITTER.wait(1, None) == 0.02
    assert NO_JITTER.wait(0, 600.0) == 5.0


def test_the_client_imports_no_server_code() -> None:
    code = ("import sys, hub.client; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'starlette', 'strawberry', 'uvicorn', 'connectors') or "
            "m.startswith(('hub.api', 'hub.contracts', 'hub.store', 'hub.federation'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _recorder(slept: list[float], *, real: bool = False) -> Callable[[float], Any]:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if real:
            await asyncio.sleep(seconds)

    return sleep
