"""The link a sync stores for a member record is what the plain version of `_member_link` made.

`hub.federation.ingest._member_link` runs for every member of every sync and is written for
speed (one pass over the routing fields, a type-keyed JSON `default`, the extension field
names found once per record shape). The plain version it replaced is kept here, with the
helpers it used, as the reference: on generated records, odd values included (ID numbers
with spaces, full-width digits or a wrong check digit, dates as text, date or datetime,
numbers where text belongs, extension fields, nested values), both give the same row, key
order and JSON text included, or both refuse the record with the same exception type (which
names the DataIssue's message).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import PartialDate, Record
from connectors.extensions import EXTENSION_PREFIX
from hub.federation.identity import hmac_sha256_hex, member_key, phone_hash
from hub.federation.ingest import (
    _auxiliary_column,
    _content_text,
    _json_default,
    _member_link,
    _partial_date,
    source_updated_at,
)
from hub.federation.member_rows import ROUTING_FIELDS
from hub.model import Side

SECRET = b"k" * 40
NOW = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


# ---- the plain version (as it was before the fast one) -------------------------------------

def _plain_default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _plain_content_hash(secret: bytes, record: Record) -> str:
    text = json.dumps(dict(record.values), sort_keys=True, default=_plain_default)
    return hmac_sha256_hex(secret, text.encode("utf-8"))


def _plain_extensions(record: Record) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    names = [n for n in record.values if n.startswith(EXTENSION_PREFIX)]
    if not names:
        return None
    for name in names:
        value = record.values[name]
        if value is None:
            continue
        if isinstance(value, (PartialDate, date, datetime)):
            value = _plain_default(value)
        elif not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"extension {name} has a {type(value).__name__}")
        out[name[len(EXTENSION_PREFIX):]] = value
    return out or None


def _plain_member_link(
    record: Record, side: Side, secret: bytes, now: datetime, auxiliary: frozenset[str],
) -> dict[str, Any]:
    values = record.values
    key: str | None = None
    raw_id = values.get("id_number")
    if isinstance(raw_id, str) and raw_id.strip():
        try:
            key = member_key(secret, raw_id)
        except ValueError:
            key = None
    birth = _partial_date(values.get("birth_date"))
    phone = values.get("phone")
    routing: dict[str, Any] = {
        "name": values.get("name"),
        "birth_date": str(birth) if birth else None,
        "phone_hash": phone_hash(secret, str(phone)) if phone else None,
        **{f: values.get(f) for f in ROUTING_FIELDS[3:]},
    }
    for name, value in routing.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be text")
    return {
        "source": record.source,
        "entity": "member",
        "local_id": record.local_id,
        "member_key": key,
        "fields": sorted([k for k, v in values.items() if v is not None]),
        "routing": {k: v for k, v in routing.items() if v is not None},
        "content_hash": _plain_content_hash(secret, record),
        "fetched_at": now,
        "source_updated_at": source_updated_at(record),
        "match_name": (values.get("name") or None),
        "match_birth_date": birth.to_date() if birth else None,
        "match_phone_hash": routing["phone_hash"],
        "side": side.value,
        "auxiliary": _auxiliary_column(auxiliary),
        "extensions": _plain_extensions(record),
    }


# ---- generated records ---------------------------------------------------------------------

_EAST = timezone(timedelta(hours=8))
_text = st.text(alphabet=st.sampled_from("张三 \"\\\n\t-xX0123456789０１ｘ٣a"), max_size=12)
_datetimes = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1),
                          timezones=st.sampled_from([None, UTC, _EAST]))
_partial_dates = st.one_of(
    st.builds(PartialDate, st.integers(1900, 2100)),
    st.builds(PartialDate, st.integers(1900, 2100), st.integers(1, 12)),
    st.dates(min_value=date(1900, 1, 1)).map(PartialDate.from_date),
)
_odd = st.one_of(
    st.none(), _text, st.integers(-10**20, 10**20), st.floats(allow_nan=False), st.booleans(),
    st.dates(), _datetimes, _partial_dates,
    st.lists(st.integers(), max_size=2), st.dictionaries(_text, st.integers(), max_size=2),
)
def _mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
    """`usual` nine times in ten, else `odd` (a record refused for one odd value would
    otherwise be most of them)."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 0 else usual)


_id_numbers = _mostly(
    st.sampled_from([
        "511502196901249136", "511502196901249136", "51010519900101123X", "51010519900101123x",
        " 511502196901249136 ",
        "511502-19690124-9136", "５１１５０２196901249136", "511502196901249137", "5115021969",
        "", "  ", "51010519900101123Ｘ",
    ]),
    _odd,
)
_birth_dates = _mostly(
    st.one_of(_partial_dates, st.none(), st.dates(min_value=date(1900, 1, 1)), _datetimes,
              st.sampled_from(["1990", "1990-03", "1990-03-05", " 1990-01-01"])),
    st.one_of(st.sampled_from(["1990-13", "", "x"]), _odd),
)
_phones = _mostly(st.sampled_from(["13800000000", "+86 138-0000-0000", "8613800000000",
                                   "无", "", "１３８", "13800000000 ", None]), _odd)
_updated = _mostly(st.one_of(_datetimes, st.none(), st.sampled_from(
    ["2024-01-01T08:00:00+08:00", "2024-01-01"])), st.one_of(st.just("nope"), _odd))


@st.composite
def _records(draw: st.DrawFn) -> Record:
    values: dict[str, Any] = {}
    for name in draw(st.permutations(["name", "id_number", "birth_date", "phone", "updated_at",
                                      "gender", "destination_since", *ROUTING_FIELDS[3:],
                                      "ext.党费", "ext.since"])):
        if draw(st.integers(0, 9)) == 0:
            continue  # the field is not mapped at all
        if name == "id_number":
            values[name] = draw(_id_numbers)
        elif name in ("birth_date", "destination_since", "ext.since"):
            values[name] = draw(_birth_dates)
        elif name == "phone":
            values[name] = draw(_phones)
        elif name == "updated_at":
            values[name] = draw(_updated)
        elif draw(st.integers(0, 29)) == 0:
            values[name] = draw(_odd)
        else:
            values[name] = draw(st.one_of(st.none(), _text))
    return Record("src", "member", draw(st.text(min_size=1, max_size=5)), values, NOW)


def _outcome(build: Any) -> tuple[str, Any]:
    try:
        row = build()
    except (TypeError, ValueError) as exc:
        return "refused", type(exc)
    return "row", (list(row.items()), json.dumps(row["routing"]),
                   json.dumps(row["extensions"]), json.dumps(row["fields"]))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records(), auxiliary=st.sampled_from([frozenset(), frozenset({"phone"})]))
def test_fast_member_link_is_the_plain_one(record: Record, auxiliary: frozenset[str]) -> None:
    fast = _outcome(lambda: _member_link(record, Side.ORIGIN, SECRET, NOW, auxiliary)[0])
    plain = _outcome(lambda: _plain_member_link(record, Side.ORIGIN, SECRET, NOW, auxiliary))
    assert fast == plain


@settings(max_examples=400, deadline=None)
@given(values=st.dictionaries(st.text(max_size=6), _odd, max_size=8))
def test_content_text_is_json_dumps_with_the_plain_default(values: dict[str, Any]) -> None:
    expected = json.dumps(values, sort_keys=True, default=_plain_default)
    assert _content_text(dict(values)) == expected
    assert json.dumps(values, sort_keys=True, default=_json_default) == expected


def test_a_valid_record_gives_its_link() -> None:
    record = Record("src", "member", "7", {
        "name": "李成勇", "id_number": "511502196901249136",
        "birth_date": PartialDate(1969, 1, 24), "phone": "19857710294",
        "status": "in_contact", "destination_since": PartialDate(2005, 11),
        "updated_at": datetime(2023, 3, 21, 4, 2, 58, tzinfo=_EAST),
        "intends_return_business": False,
    }, NOW)
    row, linked = _member_link(record, Side.DESTINATION, SECRET, NOW)
    assert linked and row == _plain_member_link(record, Side.DESTINATION, SECRET, NOW,
                                                frozenset())
    assert list(row["routing"]) == ["name", "birth_date", "phone_hash", "status"]
    assert row["source_updated_at"] == datetime(2023, 3, 20, 20, 2, 58, tzinfo=UTC)
