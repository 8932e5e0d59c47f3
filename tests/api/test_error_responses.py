"""Never a 500, never a traceback to the client (issue 6 §2), through real HTTP on a hub under
signed contracts: absurd token claims are 401 UNAUTHENTICATED, unparseable bodies and unknown
operations 400 BAD_REQUEST, bad variables BAD_USER_INPUT, a failed audit write 503
AUDIT_UNAVAILABLE with no data, and ordinary refusals leave no traceback in the log."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hub.canonical_json import b64url, canonical
from hub.contracts.keys import load_private_key
from hub.contracts.tokens import TOKEN_TYPE
from tests.api.conftest import World
from tests.api.trusted import Trusted

JSON = "application/json"
TRACEBACK_MARKERS = ("Traceback", 'File "', "sqlalchemy", "Error at 0x", "[SQL:")
NOW = 1_760_000_000  # a plausible NumericDate (2025)


def _claims(trusted: Trusted, **override: Any) -> dict[str, Any]:
    return {"iss": "wenjiang", "sub": "official-1", "aud": trusted.demo.hub_id,
            "iat": NOW, "exp": NOW + 60, "jti": "j-1", "purpose": "co-management", **override}


def _signed(trusted: Trusted, claims: dict[str, Any], header_iat: Any = None) -> str:
    """A token signed with wenjiang's real key: the claims are what is wrong, not the
    signature. The header's iat follows the claim unless given."""
    kid, path = trusted.demo.party_keys["wenjiang"]
    header = {"alg": "EdDSA", "kid": kid, "typ": TOKEN_TYPE,
              "iat": claims.get("iat") if header_iat is None else header_iat}
    protected = b64url(canonical(header))
    payload = b64url(canonical(claims))
    signature = load_private_key(path).sign(f"{protected}.{payload}".encode("ascii"))
    return f"{protected}.{payload}.{b64url(signature)}"


def _assert_clean(body: str) -> None:
    for marker in TRACEBACK_MARKERS:
        assert marker not in body, body


async def _post_token(trusted: Trusted, token: str) -> Any:
    return await trusted.world.client.post(
        "/graphql", json={"query": "{ __typename }"},
        headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("override, claim", [
    ({"exp": 9007199254740991}, "exp"),          # 2**53 - 1: the year 285 million
    ({"exp": 10**15}, "exp"),
    ({"exp": -5}, "exp"),
    ({"exp": NOW + 60.5}, "exp"),
    ({"exp": True}, "exp"),
    ({"exp": str(NOW + 60)}, "exp"),
    ({"exp": None}, "exp"),
    ({"sub": 7}, "sub"),
    ({"purpose": ""}, "purpose"),
    ({"jti": ["a"]}, "jti"),
])
async def test_absurd_claims_are_401_with_the_claim_named(
    trusted: Trusted, override: dict[str, Any], claim: str
) -> None:
    r = await _post_token(trusted, _signed(trusted, _claims(trusted, **override),
                                           header_iat=NOW))
    assert r.status_code == 401, r.text
    [error] = r.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "malformed"}
    assert f"claim {claim!r}" in error["message"]
    _assert_clean(r.text)


@pytest.mark.parametrize("iat", [-1, -9007199254740991, 9007199254740991, 253402300800])
async def test_absurd_signing_time_is_401(trusted: Trusted, iat: int) -> None:
    """A negative or overflowing `iat` (claim and header alike) is refused as malformed."""
    r = await _post_token(trusted, _signed(trusted, _claims(trusted, iat=iat, exp=NOW)))
    assert r.status_code == 401, r.text
    assert r.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED",
                                                   "reason": "malformed"}
    _assert_clean(r.text)


@pytest.mark.parametrize("part", ["header", "payload"])
async def test_deeply_nested_token_json_is_401(trusted: Trusted, part: str) -> None:
    """A few KB of "[[[[..." inside the token used to exhaust the JSON parser's stack."""
    deep = b64url(b"[" * 5000 + b"]" * 5000)
    good = _signed(trusted, _claims(trusted)).split(".")
    token = ".".join([deep, good[1], good[2]] if part == "header" else [good[0], deep, good[2]])
    r = await _post_token(trusted, token)
    assert r.status_code == 401, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("body, message", [
    (b'{"query": ' + b"[" * 45_000 + b"]" * 45_000 + b"}", "nested too deeply"),
    (b'{"query": "{ __typename }", "variables": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001,
     "nested too deeply"),
    (b'{"query": "\xff\xfe{ __typename }"}', "not valid JSON"),
    (b'{"query": "{ __typename \\ud800 }"}', "surrogate"),
    (b'"{ __typename }"', "JSON object"),
    (b"null", "JSON object"),
    (b'{"query": 5}', "no `query`"),
    (b'{"query": "{ __typename }", "variables": "x"}', "`variables`"),
    (b'{"query": "{ __typename }", "operationName": 5}', "`operationName`"),
    (b'{"query": "{ __typename }", "operationName": "Nope"}', "no operation named 'Nope'"),
    (b'{"query": "fragment F on Query { __typename }"}', "no operation"),
])
async def test_bad_bodies_are_400_bad_request(trusted: Trusted, body: bytes,
                                              message: str) -> None:
    r = await trusted.world.client.post("/graphql", content=body, headers={
        "content-type": JSON, "Authorization": f"Bearer {trusted.demo.token_for('wenjiang')}"})
    assert r.status_code == 400, r.text
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST" and message in error["message"], error
    _assert_clean(r.text)


@pytest.mark.parametrize("accept, status", [("application/json", 200),
                                            ("application/graphql-response+json", 400)])
async def test_several_operations_need_an_operation_name(trusted: Trusted, accept: str,
                                                         status: int) -> None:
    """GraphQL spec (GetOperation); strawberry used to run the first operation silently."""
    document = "query A { members { totalCount } } query B { __typename }"
    headers = {"accept": accept,
               "Authorization": f"Bearer {trusted.demo.token_for('wenjiang')}"}
    r = await trusted.world.client.post("/graphql", json={"query": document}, headers=headers)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST" and "operationName" in error["message"]
    headers["Authorization"] = f"Bearer {trusted.demo.token_for('wenjiang')}"
    named = await trusted.world.client.post(
        "/graphql", json={"query": document, "operationName": "B"}, headers=headers)
    assert named.json() == {"data": {"__typename": "Query"}}


async def test_deeply_nested_get_variables_are_400(trusted: Trusted) -> None:
    r = await trusted.world.client.get("/graphql", params={
        "query": "{ __typename }", "variables": "[" * 5000 + "]" * 5000,
    }, headers={"Authorization": f"Bearer {trusted.demo.token_for('wenjiang')}"})
    assert r.status_code == 400 and "nested too deeply" in r.text


MEMBERS = "query($n: Int!) { members(first: $n) { totalCount } }"
ACTIVITIES = "query($s: DateTime) { activities(filter: {since: $s}) { totalCount } }"


@pytest.mark.parametrize("query, variables, expected", [
    (MEMBERS, {"n": "abc"}, "Int cannot represent non-integer value"),
    (MEMBERS, {"n": 1.5}, "Int cannot represent non-integer value"),
    (MEMBERS, {}, "Expected a value of non-null type 'Int!'"),
    (MEMBERS, {"n": None}, "non-null type 'Int!'"),
    (ACTIVITIES, {"s": "yesterday"}, "DateTime"),
    (ACTIVITIES, {"s": 5}, "DateTime"),
])
async def test_bad_variables_are_bad_user_input(trusted: Trusted, query: str,
                                                variables: dict[str, Any],
                                                expected: str) -> None:
    body = await trusted.gql(query, variables, party="wenjiang")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}, error
    assert error["message"].startswith("Variable '$") and expected in error["message"], error
    _assert_clean(str(body))


@pytest.mark.parametrize("query, variables", [
    ("query($a: Int) { __typename }", {"a": 1}),                          # never used
    ("query($a: String) { members(first: $a) { totalCount } }", {"a": "1"}),  # wrong type
    ("query($a: Int, $a: Int) { members(first: $a) { totalCount } }", {"a": 1}),
])
async def test_variable_declaration_errors_stay_validation_errors(
    trusted: Trusted, query: str, variables: dict[str, Any]
) -> None:
    body = await trusted.gql(query, variables, party="wenjiang")
    assert body["data"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_audit_write_failure_withholds_the_answer(
    trusted: Trusted, caplog: pytest.LogCaptureFixture
) -> None:
    """The audit table disappears under a running hub (a real SQLite or PostgreSQL database):
    the answer, which the hub could not audit, is not given; the client learns nothing of the
    SQL or the audit row, and the log says why without them."""
    query = "{ members(first: 2) { totalCount nodes { name } } }"
    ok = await trusted.gql(query, party="wenjiang")
    assert ok["data"]["members"]["totalCount"] == 60
    engine = trusted.world.runtime.engine
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_gone"))
    try:
        with caplog.at_level(logging.INFO):
            r = await trusted.post(query, party="wenjiang")
            mutation = await trusted.post(
                """mutation($k: ID!) { recordCheckIn(memberKey: $k, organization: "WJ-YQ",
                note: "扫码报到") { id memberKey } }""", {"k": trusted.world.keys[0]},
                party="wenjiang")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_entries_gone RENAME TO audit_entries"))
    for response in (r, mutation):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "AUDIT_UNAVAILABLE"}
        _assert_clean(response.text)
        for leaked in ("张0", "audit_entries", "INSERT", "wenjiang", "official"):
            assert leaked not in response.text
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "audit write failed" in logged and "audit_entries" in logged
    assert not any(rec.exc_info for rec in caplog.records)
    for leaked in ("INSERT", "demo-official", "co-management", "[SQL:", trusted.world.keys[0]):
        assert leaked not in logged, logged
    # the hub recovers once the table is back
    assert (await trusted.gql(query, party="wenjiang"))["data"]["members"]["totalCount"] == 60


async def test_refusals_stay_refusals_when_the_audit_write_fails(
    trusted: Trusted, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad token, a bad body or an unrunnable operation is refused whether or not its
    audit entry can be written: no 500, no traceback; the log says the audit write failed."""
    engine = trusted.world.runtime.engine
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_gone"))
    try:
        with caplog.at_level(logging.INFO):
            bad_token = await trusted.post("{ members { totalCount } }", token="not.a.token")
            bad_body = await trusted.world.client.post(
                "/graphql", content=b"{", headers={"content-type": "application/json"})
            unrunnable = await trusted.post("query A { __typename } query B { __typename }",
                                            party="wenjiang")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_entries_gone RENAME TO audit_entries"))
    assert bad_token.status_code == 401, bad_token.text
    assert bad_body.status_code == 400, bad_body.text
    # a GraphQL request error, answered as application/json (HTTP 200) with its code
    assert [e["extensions"]["code"] for e in unrunnable.json()["errors"]] == ["BAD_REQUEST"]
    for response in (bad_token, bad_body, unrunnable):
        _assert_clean(response.text)
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "audit write failed" in logged
    assert not any(rec.exc_info for rec in caplog.records)


async def test_ordinary_refusals_leave_no_traceback_in_the_log(
    trusted: Trusted, caplog: pytest.LogCaptureFixture
) -> None:
    profile = """query($k: ID!) { member(key: $k) { key name destination { employer } } }"""
    with caplog.at_level(logging.DEBUG):
        codes = set()
        cases: list[tuple[str, dict[str, Any] | None, str]] = [
            (profile, {"k": trusted.world.keys[1]}, "deyang"),            # CONTRACT_DENIED
            (MEMBERS, {"n": "x"}, "wenjiang"),                          # BAD_USER_INPUT
            (MEMBERS, {"n": 1000}, "wenjiang"),                         # LIMIT_EXCEEDED
            ("{ members { nope } }", None, "wenjiang"),                 # validation
            ("{ members {", None, "wenjiang"),                          # syntax
        ]
        for query, variables, party in cases:
            body = (await trusted.post(query, variables, party=party)).json()
            codes |= {e["extensions"]["code"] for e in body["errors"]}
        r = await _post_token(trusted, "not.a.token")                   # UNAUTHENTICATED
        codes |= {e["extensions"]["code"] for e in r.json()["errors"]}
    assert codes == {"CONTRACT_DENIED", "BAD_USER_INPUT", "LIMIT_EXCEEDED",
                     "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "UNAUTHENTICATED"}
    assert not [rec for rec in caplog.records if rec.exc_info], caplog.text
    assert "Traceback" not in caplog.text
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR], caplog.text


async def test_unexpected_failures_still_answer_graphql_errors(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The last line of defence, with a pluggable authenticator standing in for a failing
    trust check: a HubError of another kind is 401 UNAUTHENTICATED; a bug is a 500 with a
    GraphQL error body and its traceback in the server log only."""
    from hub.app import create_app
    from hub.errors import ContractError

    async def untrusted(request: Any) -> Any:
        raise ContractError("registry is not signed by the hub key you trust")

    async def broken(request: Any) -> Any:
        raise RuntimeError("bug with a secret: 13800001111")

    for authenticate, status, code in ((untrusted, 401, "UNAUTHENTICATED"),
                                       (broken, 500, "INTERNAL_ERROR")):
        app = create_app(world.runtime, authenticate=authenticate)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub") as client:
            with caplog.at_level(logging.ERROR, logger="hub.api"):
                r = await client.post("/graphql", json={"query": "{ __typename }"})
        assert r.status_code == status, r.text
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == code
        _assert_clean(r.text)
        assert "13800001111" not in r.text
    assert "Traceback" in caplog.text and "bug with a secret" in caplog.text
