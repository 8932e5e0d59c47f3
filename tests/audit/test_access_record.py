"""The audit log takes a plain `AccessRecord`, never the API's request Context."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.audit import AccessRecord, Decision, access_event

KEY = "a" * 64
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _record(**changes: object) -> AccessRecord:
    base: dict[str, object] = dict(party="wenjiang", user="u1", purpose="own-records",
                                   document="{ a }", operation_name=None,
                                   fields_asked=frozenset({"Member.name", "Member.phone"}))
    return AccessRecord(**{**base, **changes})  # type: ignore[arg-type]


def test_decision_follows_what_the_operation_did() -> None:
    assert _record().decision is Decision.ALLOWED
    assert _record(fields_denied=frozenset({"Member.phone"})).decision is Decision.PARTIAL
    assert _record(members_hidden=1).decision is Decision.PARTIAL
    assert _record(rejected="bad_request").decision is Decision.REJECTED
    assert _record(refused=True, rejected="x").decision is Decision.DENIED


def test_event_keeps_keys_and_field_names_only() -> None:
    event = access_event(_record(fields_denied=frozenset({"Member.phone"}),
                                 members_touched=frozenset({KEY}), contract_digests=("d1",)),
                         now=NOW)
    assert (event.at, event.party, event.decision) == (NOW, "wenjiang", Decision.PARTIAL)
    assert event.fields_allowed == ["Member.name"] and event.fields_denied == ["Member.phone"]
    assert event.member_keys == [KEY] and list(event.contract_digests) == ["d1"]
    assert access_event(_record(rejected="bad_request"), now=NOW).fields_allowed == ()
