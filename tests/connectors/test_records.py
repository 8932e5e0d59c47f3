"""A page of JSON objects converts alike through `RecordBuilder.build_objects` (plain keys
read straight from the dict) and through `build_rows` with a `dig` getter per row (how every
JSON row was read before): same records, same issues, odd values and shapes included."""

from __future__ import annotations

import tomllib
from collections import OrderedDict
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors._records import RecordBuilder, dig
from connectors.base import DataIssue, Location, Record
from connectors.mapping import parse_mapping

_CHENGDU = Path(__file__).resolve().parents[2] / "hub/demo/mappings/chengdu.toml"
_RAW = tomllib.loads(_CHENGDU.read_text(encoding="utf-8"))
_RAW["entities"] = {"member": _RAW["entities"]["member"]}
_RAW["entities"]["member"]["fields"]["employer"] = "work.company"  # a dotted column too
_MAPPING = parse_mapping(_RAW, env={"CHENGDU_TOKEN": "t"})
_ENTITY = _MAPPING.entities["member"]
_COLUMNS = sorted({f.column for f in _ENTITY.fields.values()} | {_ENTITY.local_id, "work"})

_values = st.one_of(
    st.none(), st.text(max_size=8), st.integers(-5, 10**20), st.booleans(),
    st.floats(allow_nan=False),  # timestamps past year 9999 and infinities included
    st.sampled_from(["511502196901249136", "1969-01-24", "M", "NORMAL", "510104", " ",
                     "2023-03-21T04:02:58+08:00", "13800000000"]),
    st.fixed_dictionaries({"company": st.one_of(st.none(), st.text(max_size=4))}),
    st.lists(st.integers(), max_size=2),
)
_items = st.one_of(
    st.dictionaries(st.sampled_from(_COLUMNS), _values),
    st.dictionaries(st.sampled_from(_COLUMNS), _values).map(OrderedDict),  # not a plain dict
)


def _outcome(records: list[Record | None], issues: list[DataIssue]) -> Any:
    return ([None if r is None else (r.source, r.entity, r.local_id, list(r.values.items()),
                                     r.location) for r in records], issues)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(_items, max_size=5),
       fields=st.sampled_from([None, frozenset({"name", "employer", "birth_date"})]))
def test_objects_convert_as_dug_rows(items: list[Any], fields: frozenset[str] | None) -> None:
    builder = RecordBuilder("chengdu", _ENTITY)
    issues_objects: list[DataIssue] = []
    objects = builder.build_objects(items, "page 1", fields, issues_objects)
    issues_rows: list[DataIssue] = []
    rows = builder.build_rows(
        ((partial(dig, item), Location("page 1", n)) for n, item in enumerate(items, 1)),
        fields, issues_rows)
    assert _outcome(objects, issues_objects) == _outcome(rows, issues_rows)


def test_a_timestamp_past_year_9999_is_a_data_issue_of_its_row() -> None:
    """A platform's `updateTime` of 1e20 (or an infinite float) once raised OverflowError out
    of the conversion and failed the page's read; now the row is kept with INVALID_DATE."""
    builder = RecordBuilder("chengdu", _ENTITY)
    column, name = _ENTITY.fields["updated_at"].column, _ENTITY.fields["name"].column
    items = [{_ENTITY.local_id: "a1", column: 10**20, name: "张三"},
             {_ENTITY.local_id: "a2", column: float("inf"), name: "李四"},
             {_ENTITY.local_id: "a3", column: 1714528800, name: "王五"}]
    issues: list[DataIssue] = []
    records = builder.build_objects(items, "page 1", None, issues)
    assert [r.local_id for r in records if r is not None] == ["a1", "a2", "a3"]
    assert [(r.values["updated_at"], r.values["name"]) for r in records if r is not None][:2] \
        == [(None, "张三"), (None, "李四")]
    assert [(i.code, i.local_id, i.column) for i in issues] == [
        ("INVALID_DATE", "a1", column), ("INVALID_DATE", "a2", column)]
