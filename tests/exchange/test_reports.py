"""Workflow 2, 报告 (双报): 温江 (destination) records a member's reports at its branch; 泸县
(origin) sees them, confirms or rejects them at the member's origin branch; confirmed changes
show in the four clarities; an absence report counts as attendance by report."""

from __future__ import annotations

from typing import Any

from hub.api.types.node import to_global_id
from hub.exchange import absences_by_report
from tests.api.trusted import Trusted
from tests.exchange.conftest import ledger_rows
from tests.exchange.test_ledger_guard import codes

SUBMIT = """mutation($k: ID!, $o: ID!, $kind: ReportKind!, $period: String, $text: String,
                    $address: String, $employer: String, $occupation: String, $phone: String,
                    $activity: ID, $key: String) {
  submitReport(memberKey: $k, organization: $o, kind: $kind, period: $period, text: $text,
               address: $address, employer: $employer, occupation: $occupation,
               phone: $phone, activity: $activity, idempotencyKey: $key) {
    replayed entry { number action organizations payload } member { key } } }"""

CONFIRM = """mutation($r: Int!, $a: Boolean!, $s: Int) {
  confirmReport(report: $r, accepted: $a, supersedes: $s) {
    entry { number answers organizations payload supersedes } member { key } } }"""

WORK = """query($k: ID!) { member(key: $k) { fourClarities { work { employer occupation } }
  destination { address } } }"""


async def submit(t: Trusted, kind: str, *, party: str = "wenjiang", org: str = "WJ-YQ",
                 member: int = 0, **fields: Any) -> dict[str, Any]:
    variables = {"k": t.world.keys[member], "o": org, "kind": kind, **fields}
    return await t.gql(SUBMIT, variables, party=party)


async def confirm(t: Trusted, report: int, accepted: bool = True, *, party: str = "luxian",
                  supersedes: int | None = None) -> dict[str, Any]:
    return await t.gql(CONFIRM, {"r": report, "a": accepted, "s": supersedes}, party=party)


def number(body: dict[str, Any], field: str = "submitReport") -> int:
    assert "errors" not in body, body
    return int(body["data"][field]["entry"]["number"])


async def test_a_monthly_report_and_its_confirmation(served: Trusted) -> None:
    body = await submit(served, "MONTHLY", period="2026-11", text="本月参加社区志愿服务两次")
    entry = body["data"]["submitReport"]["entry"]
    assert entry["action"] == "report" and entry["organizations"] == ["WJ-YQ", "LX-YS"]
    assert entry["payload"] == {"kind": "monthly", "period": "2026-11",
                                "text": "本月参加社区志愿服务两次"}
    done = await confirm(served, entry["number"])
    answer = done["data"]["confirmReport"]["entry"]
    assert answer["answers"] == entry["number"] and answer["organizations"] == ["LX-YS"]
    assert answer["payload"] == {"accepted": True}
    twice = await confirm(served, entry["number"], accepted=False)
    assert codes(twice) == {"BAD_USER_INPUT"} and "supersede" in twice["errors"][0]["message"]
    changed = await confirm(served, entry["number"], accepted=False,
                            supersedes=answer["number"])
    assert changed["data"]["confirmReport"]["entry"]["supersedes"] == answer["number"]


async def test_the_origin_records_reports_too(served: Trusted) -> None:
    body = await submit(served, "MONTHLY", party="luxian", org="LX-YS", period="2026-10",
                        text="电话汇报")
    assert body["data"]["submitReport"]["entry"]["organizations"] == ["LX-YS"]


async def test_a_change_shows_in_the_four_clarities_once_confirmed(served: Trusted) -> None:
    key = served.world.keys[0]
    before = await served.gql(WORK, {"k": key}, party="luxian")
    assert before["data"]["member"]["fourClarities"]["work"]["employer"] == "温江制造厂"
    report = number(await submit(served, "EMPLOYER_CHANGE", employer="涌泉物流公司",
                                 occupation="司机"))
    pending = await served.gql(WORK, {"k": key}, party="luxian")
    assert pending["data"]["member"]["fourClarities"]["work"]["employer"] == "温江制造厂"
    number(await confirm(served, report), "confirmReport")
    after = await served.gql(WORK, {"k": key}, party="luxian")
    assert after["data"]["member"]["fourClarities"]["work"] == {
        "employer": "涌泉物流公司", "occupation": "司机"}
    # a rejected change never shows
    other = number(await submit(served, "ADDRESS_CHANGE", address="温江区某路1号", member=1))
    number(await confirm(served, other, accepted=False), "confirmReport")
    kept = await served.gql(WORK, {"k": served.world.keys[1]}, party="wenjiang")
    assert kept["data"]["member"]["destination"]["address"] == "温江区涌泉街道1号"


PAGE = "{ members(first: 50) { nodes { key fourClarities { work { employer occupation } } } } }"


async def test_a_confirmed_change_shows_on_a_page_of_members_too(served: Trusted) -> None:
    """A page reads its members' index rows itself (hub.api.pages), each with whether the
    ledger holds a report of it (hub.api.loaders): the confirmed change shows there as on the
    member alone, and every other member keeps its sources' values."""
    key = served.world.keys[0]
    before = await served.gql(PAGE, party="luxian")
    assert "errors" not in before, before
    report = number(await submit(served, "EMPLOYER_CHANGE", employer="涌泉物流公司",
                                 occupation="司机"))
    number(await confirm(served, report), "confirmReport")
    after = await served.gql(PAGE, party="luxian")
    assert "errors" not in after, after
    old = {n["key"]: n for n in before["data"]["members"]["nodes"]}
    new = {n["key"]: n for n in after["data"]["members"]["nodes"]}
    assert old.keys() == new.keys() and key in new
    assert old[key]["fourClarities"]["work"]["employer"] == "温江制造厂"
    assert new[key]["fourClarities"]["work"] == {"employer": "涌泉物流公司", "occupation": "司机"}
    assert {k: n for k, n in new.items() if k != key} == \
        {k: n for k, n in old.items() if k != key}


async def test_reported_values_are_read_like_the_member_fields(served: Trusted) -> None:
    report = number(await submit(served, "PHONE_CHANGE", phone="13700001111"))
    query = "{ exchangeEntries(filter: {actions: [\"report\"]}) { nodes { number payload } } }"
    mine = await served.gql(query, party="wenjiang")
    origin = await served.gql(query, party="luxian")
    assert mine["data"]["exchangeEntries"]["nodes"][0]["payload"]["phone"] == "13700001111"
    seen = origin["data"]["exchangeEntries"]["nodes"][0]
    assert seen["number"] == report and seen["payload"]["phone"] == "137****1111"  # masked


async def test_denials_and_bad_reports_write_nothing(served: Trusted) -> None:
    assert codes(await submit(served, "MONTHLY", party="deyang", org="WJ-YQ",
                              period="2026-11", text="x")) == {"NOT_FOUND"}
    assert codes(await submit(served, "MONTHLY", org="LX-YS", period="2026-11",
                              text="x")) == {"CONTRACT_DENIED"}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("MONTHLY", {"text": "x"}, "period"),
        ("MONTHLY", {"period": "2026-13", "text": "x"}, "period"),
        ("MONTHLY", {"period": "2026-11"}, "text"),
        ("MONTHLY", {"period": "2026-11", "text": "x", "address": "y"}, "address"),
        ("PHONE_CHANGE", {"phone": "call me"}, "phone"),
        ("ADDRESS_CHANGE", {}, "address"),
        ("EMPLOYER_CHANGE", {"employer": "很" * 201}, "employer"),
        ("ABSENCE", {}, "activity"),
        ("ABSENCE", {"activity": to_global_id("Member", "x")}, "activity"),
        ("ABSENCE", {"activity": to_global_id("Activity", "nosuch:1")}, "activity"),
    ]
    for kind, fields, field in cases:
        body = await submit(served, kind, **fields)
        assert codes(body) == {"BAD_USER_INPUT"}, (kind, fields, body)
        assert field in body["errors"][0]["message"], body
    assert codes(await submit(served, "NOSUCH")) == {"BAD_USER_INPUT"}  # enum: variable error
    assert codes(await confirm(served, 9999)) == {"NOT_FOUND"}
    assert await ledger_rows(served) == []
    report = number(await submit(served, "MONTHLY", period="2026-11", text="x"))
    # 温江 may not confirm at 泸县's branch
    assert codes(await confirm(served, report, party="wenjiang")) == {"CONTRACT_DENIED"}
    assert codes(await confirm(served, report, party="deyang")) == {"NOT_FOUND"}
    assert len(await ledger_rows(served)) == 1


async def test_an_absence_report_counts_as_attendance_by_report(served: Trusted) -> None:
    activity = to_global_id("Activity", "city:a1")
    first = number(await submit(served, "ABSENCE", activity=activity, text="在外地出差",
                                member=5))
    number(await submit(served, "ABSENCE", activity=activity, member=6))
    sessions = served.world.runtime.session_factory
    found = await absences_by_report(sessions, ["city:a1", "city:other"])
    keys = served.world.keys
    assert found == {"city:a1": {keys[5], keys[6]}, "city:other": set()}
    number(await confirm(served, first, accepted=False), "confirmReport")
    assert (await absences_by_report(sessions, ["city:a1"]))["city:a1"] == {keys[6]}
