"""Workflow 1, 报到 with a check-in code: 温江 issues a code for its branch WJ-YQ, renders it
as a QR code, and records a member's check-in by it; forged, expired, other-organisation and
other-party codes are refused with their own codes, audited, and write nothing."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update

from hub.clock import utcnow
from hub.exchange import entry_by_id
from hub.exchange.checkin import CheckInCodeIssued, code_for
from hub.store.models import MemberRow
from tests.api.trusted import Trusted
from tests.exchange.conftest import audit_bodies, ledger_rows
from tests.exchange.test_ledger_guard import codes

ISSUE = """mutation($o: ID!, $v: Int!, $key: String) {
  issueCheckInCode(organization: $o, validFor: $v, idempotencyKey: $key) {
    code expiresAt qrPath replayed entry { number action memberKey payload }
    organization { code } } }"""

BY_CODE = """mutation($k: ID!, $c: String, $o: ID) {
  recordCheckIn(memberKey: $k, code: $c, organization: $o) {
    entry { number answers organizations } member { key } } }"""


async def issue(t: Trusted, party: str = "wenjiang", org: str = "WJ-YQ",
                valid_for: int = 3600, key: str | None = None) -> dict[str, Any]:
    return await t.gql(ISSUE, {"o": org, "v": valid_for, "key": key}, party=party)


async def by_code(t: Trusted, code: str | None, *, party: str = "wenjiang", member: int = 0,
                  org: str | None = None) -> dict[str, Any]:
    return await t.gql(BY_CODE, {"k": t.world.keys[member], "c": code, "o": org}, party=party)


async def test_issue_a_code_and_check_in_by_it(served: Trusted) -> None:
    key = served.world.keys[3]
    async with served.world.runtime.session_factory.begin() as session:
        await session.execute(update(MemberRow).where(MemberRow.key == key)
                              .values(destination_org_id=None))
    issued = await issue(served, key="code-1")
    assert "errors" not in issued, issued
    receipt = issued["data"]["issueCheckInCode"]
    assert receipt["entry"]["action"] == "checkin_code" and receipt["entry"]["memberKey"] is None
    assert receipt["entry"]["payload"] == {"validFor": 3600}
    assert receipt["organization"] == {"code": "WJ-YQ"}
    assert receipt["code"].startswith("YXC1.")
    assert receipt["qrPath"] == f"/checkin-code/WJ-YQ?code={quote(receipt['code'])}"
    again = (await issue(served, key="code-1"))["data"]["issueCheckInCode"]
    assert again["replayed"] and again["code"] == receipt["code"]

    done = await by_code(served, receipt["code"], member=3)
    assert "errors" not in done, done
    entry = done["data"]["recordCheckIn"]["entry"]
    assert entry["answers"] == receipt["entry"]["number"]
    assert entry["organizations"] == ["WJ-YQ"]
    async with served.world.runtime.session_factory() as session:
        linked = await session.scalar(select(MemberRow.destination_org_id)
                                      .where(MemberRow.key == key))
    assert linked == "WJ-YQ"  # the check-in links the member to the branch in the index


async def test_who_may_issue(served: Trusted) -> None:
    assert codes(await issue(served, "luxian", "LX-YS")) == {"CONTRACT_DENIED"}  # no checkin
    assert codes(await issue(served, "wenjiang", "LX-YS")) == {"CONTRACT_DENIED"}  # not its own
    assert codes(await issue(served, valid_for=10)) == {"BAD_USER_INPUT"}
    assert codes(await issue(served, valid_for=10**9)) == {"BAD_USER_INPUT"}
    assert await ledger_rows(served) == []


async def test_bad_codes_are_refused_and_audited(served: Trusted) -> None:
    receipt = (await issue(served))["data"]["issueCheckInCode"]
    code = receipt["code"]
    head, claims, mac = code.split(".")
    forged = f"{head}.{claims}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    issued = await entry_by_id(served.world.runtime.session_factory,
                               receipt["entry"]["number"])
    assert issued is not None
    stale = replace(issued, recorded_at=utcnow() - timedelta(hours=2),
                    payload=CheckInCodeIssued(valid_for=60))
    expired = code_for(served.world.runtime.hash_key, stale)
    before = len(await ledger_rows(served))
    cases = [
        (await by_code(served, forged), "CHECKIN_CODE_INVALID"),
        (await by_code(served, "YXC1.e30.x"), "CHECKIN_CODE_INVALID"),
        (await by_code(served, "not a code"), "CHECKIN_CODE_INVALID"),
        (await by_code(served, expired), "CHECKIN_CODE_EXPIRED"),
        (await by_code(served, code, org="LX-YS"), "CHECKIN_CODE_WRONG_ORGANIZATION"),
        (await by_code(served, code, party="luxian"), "CHECKIN_CODE_INVALID"),
    ]
    for body, code_name in cases:
        assert codes(body) == {code_name}, body
        assert body["data"] is None
    assert len(await ledger_rows(served)) == before
    bodies = await audit_bodies(served)
    assert [b["decision"] for b in bodies[-len(cases):]] == ["denied"] * len(cases)
    neither = await by_code(served, None)
    assert codes(neither) == {"BAD_USER_INPUT"}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_the_qr_code_is_served_to_its_issuer_only(served: Trusted) -> None:
    receipt = (await issue(served))["data"]["issueCheckInCode"]
    client = served.world.client

    async def get(path: str, party: str | None = "wenjiang") -> Any:
        headers = {"Authorization": f"Bearer {served.demo.token_for(party)}"} if party else {}
        return await client.get(path, headers=headers)

    svg = await get(receipt["qrPath"])
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["cache-control"] == "no-store"
    root = ET.fromstring(svg.content)
    assert root.tag.endswith("svg") and any(e.tag.endswith("path") for e in root.iter())
    png = await get(receipt["qrPath"] + "&format=png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    width, height = png_size(png.content)
    # a version-N QR code has 17 + 4N modules, plus a 4-module border, 6 pixels each
    assert width == height and (width // 6 - 8 - 17) % 4 == 0 and width // 6 - 8 > 21

    for path, party, status, code in [
        (receipt["qrPath"], "luxian", 403, "CONTRACT_DENIED"),
        (receipt["qrPath"], None, 401, "UNAUTHENTICATED"),
        (receipt["qrPath"].replace("/WJ-YQ?", "/LX-YS?"), "wenjiang", 400,
         "CHECKIN_CODE_WRONG_ORGANIZATION"),
        (receipt["qrPath"] + "&format=gif", "wenjiang", 400, "BAD_USER_INPUT"),
        ("/checkin-code/WJ-YQ", "wenjiang", 400, "BAD_USER_INPUT"),
        ("/checkin-code/WJ-YQ?code=YXC1.e30.x", "wenjiang", 400, "CHECKIN_CODE_INVALID"),
        ("/checkin-code/WJ%25?code=x", "wenjiang", 400, "BAD_USER_INPUT"),
    ]:
        response = await get(path, party)
        assert response.status_code == status, (path, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == code
