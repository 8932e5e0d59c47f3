"""Property test (issue 6 §2): whatever a client sends to /graphql of a hub under signed
contracts — random or malformed tokens, random bytes, random or deeply nested JSON, random
variables for real operations — the answer is never a 500, never carries traceback or driver
text, and every error in it has `extensions.code` (never INTERNAL_ERROR: no input is a reason
for an unexpected failure).

One app serves every example (building the trusted world per example would take minutes);
valid tokens are minted per example, so the replay cache never refuses a legitimate one.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.canonical_json import b64url
from hub.contracts.keys import load_private_key
from hub.contracts.tokens import TOKEN_TYPE
from tests.api.conftest import make_world, trusted  # noqa: F401  (pytest fixtures)
from tests.api.trusted import Trusted

#: text that would mean an internal error reached the client
MARKERS = ("Traceback", 'File "', "sqlalchemy", "Error at 0x", "[SQL:")
#: statuses a well-behaved hub answers with; 500 (and any other 5xx) is a failure
ALLOWED_STATUSES = {200, 400, 401, 405, 413, 415}

FUZZ = settings(max_examples=50, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _encode(value: Any) -> bytes:
    """JSON bytes as a careless client would write them (not canonical, so the hub's strict
    parsing is exercised too)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8",
                                                                             "surrogatepass")


def _check(response: Any, sent: bytes) -> None:
    assert response.status_code in ALLOWED_STATUSES, (response.status_code, response.text)
    text = response.text
    for marker in MARKERS:
        # a syntax error may quote the client's own text back: only the hub's text counts
        if marker.encode() not in sent:
            assert marker not in text, text
    body = response.json()
    assert isinstance(body, dict), body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str), error
        # no input is a reason for an unexpected failure: each gets a code saying what is wrong
        assert code != "INTERNAL_ERROR", error


# ------------------------------------------------------------------ tokens

b64_chars = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                    max_size=60)
header_bytes = st.binary(max_size=200).map(
    lambda b: bytes(c for c in b if c not in b"\r\n\x00"))


@st.composite
def structured_tokens(draw: st.DrawFn, signer: Any, kid: str) -> str:
    """Valid-looking tokens: a real header and real claim names, with random values, signed
    with a party's real key (so the claims, not the signature, are what gets checked)."""
    header: dict[str, Any] = {"alg": "EdDSA", "kid": kid, "typ": TOKEN_TYPE}
    claims: dict[str, Any] = {"iss": "wenjiang", "sub": "fuzz", "aud": "yanxing-hub",
                              "jti": draw(st.uuids()).hex, "purpose": "co-management"}
    for name in ("iat", "exp"):
        claims[name] = draw(st.one_of(st.integers(-(2**64), 2**64), json_values))
    header["iat"] = draw(st.one_of(st.just(claims["iat"]), json_values))
    for name in draw(st.lists(st.sampled_from(sorted(claims)), max_size=3)):
        claims[name] = draw(json_values)
    for name in draw(st.lists(st.sampled_from(sorted(header)), max_size=2)):
        header[name] = draw(json_values)
    protected, payload = b64url(_encode(header)), b64url(_encode(claims))
    signature = signer.sign(f"{protected}.{payload}".encode("ascii"))
    return f"{protected}.{payload}.{b64url(signature)}"


def tokens(signer: Any, kid: str) -> st.SearchStrategy[bytes]:
    jws_looking = st.lists(b64_chars, min_size=1, max_size=5).map(".".join)
    encoded_json = st.tuples(json_values, json_values, st.binary(max_size=64)).map(
        lambda t: f"{b64url(_encode(t[0]))}.{b64url(_encode(t[1]))}.{b64url(t[2])}")
    deep = st.integers(1, 3000).map(lambda n: b64url(b"[" * n + b"]" * n) + ".e30.AA")
    token = st.one_of(jws_looking, encoded_json, deep, structured_tokens(signer, kid))
    return st.one_of(
        token.map(lambda t: f"Bearer {t}".encode()),
        header_bytes,
        header_bytes.map(lambda b: b"Bearer " + b),
    )


@FUZZ
@given(data=st.data())
async def test_random_tokens_never_crash(trusted: Trusted, data: st.DataObject) -> None:
    kid, path = trusted.demo.party_keys["wenjiang"]
    authorization = data.draw(tokens(load_private_key(path), kid), label="authorization")
    r = await trusted.world.client.post(
        "/graphql", json={"query": "{ members(first: 1) { totalCount } }"},
        headers={b"Authorization": authorization})
    _check(r, authorization)
    assert r.status_code in (200, 401)


# ------------------------------------------------------------------ bodies

@st.composite
def deep_json(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(1, 45_000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    inner = opener * depth + b"1" + closer * depth
    where = draw(st.sampled_from(["body", "query", "variables", "operationName"]))
    if where == "body":
        return inner
    return b'{"query": "{ __typename }", "' + where.encode() + b'": ' + inner + b"}"


params = st.fixed_dictionaries({}, optional={
    "query": st.one_of(json_values, st.text(max_size=80),
                       st.sampled_from(["{ __typename }", "{ members { totalCount } }",
                                        "query A { __typename } query B { __typename }",
                                        "mutation { __typename }", "subscription { x }",
                                        "fragment F on Query { __typename }"])),
    "variables": json_values,
    "operationName": st.one_of(json_values, st.sampled_from(["A", "B", "Nope"])),
    "extensions": json_values,
})

bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(_encode),
    params.map(_encode),
    deep_json(),
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b'{"query": "{ __typename \\ud800 }"}', b"\xef\xbb\xbf{}", b""]),
)


@FUZZ
@given(body=bodies, content_type=st.sampled_from(
    ["application/json", "application/graphql-request+json", "text/plain", ""]))
async def test_random_bodies_never_crash(trusted: Trusted, body: bytes,
                                         content_type: str) -> None:
    token = trusted.demo.token_for("wenjiang")
    r = await trusted.world.client.post("/graphql", content=body, headers={
        "content-type": content_type, "Authorization": f"Bearer {token}"})
    _check(r, body)


# ------------------------------------------------------------------ variables

OPERATIONS = [
    "query($n: Int!) { members(first: $n) { totalCount nodes { key name } } }",
    "query($k: ID!) { member(key: $k) { key name destination { employer } } }",
    "query($f: MemberFilter, $n: Int, $a: String) { members(filter: $f, first: $n, after: $a) "
    "{ totalCount } }",
    "query($s: DateTime, $u: DateTime, $o: String) { activities(filter: "
    "{since: $s, until: $u, organization: $o}) { totalCount } }",
    "query($id: ID!) { node(id: $id) { id } }",
    "query($k: [ID!]!) { accessLog(memberKeys: $k) { decision } }",
    "query($p: Boolean!) { sources(ping: $p) { name } }",
    "mutation($k: ID!, $o: ID!, $t: String) { recordCheckIn(memberKey: $k, organization: $o, "
    "note: $t) { id } }",
]
NAMES = ["n", "k", "f", "a", "s", "u", "o", "id", "p", "t", "zz"]
member_filter = st.fixed_dictionaries({}, optional={
    "originRegion": json_values, "destinationRegion": json_values, "status": st.one_of(
        json_values, st.sampled_from(["IN_CONTACT", "RETURNED", "nope"])),
    "name": json_values, "originOrganization": json_values, "bogus": json_values,
})
variable_values = st.one_of(json_values, member_filter,
                            st.lists(st.text(max_size=70), max_size=3),
                            st.sampled_from(["2025-01-01T00:00:00Z", "2025-13-45", "0", ""]))


@FUZZ
@given(operation=st.sampled_from(OPERATIONS),
       variables=st.one_of(st.dictionaries(st.sampled_from(NAMES), variable_values, max_size=4),
                           json_values))
async def test_random_variables_never_crash(trusted: Trusted, operation: str,
                                            variables: Any) -> None:
    body = _encode({"query": operation, "variables": variables})
    token = trusted.demo.token_for("wenjiang")
    r = await trusted.world.client.post("/graphql", content=body, headers={
        "content-type": "application/json", "Authorization": f"Bearer {token}"})
    _check(r, body)
