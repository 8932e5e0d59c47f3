"""Turn one raw source row into a canonical `Record` plus the `DataIssue`s found in it.

Shared by the rest, ledger and sql connectors so that a bad ID number, date or code is
reported the same way whichever system it came from: the field becomes None, the issue
says where (system, file/page, row, column) and what to fix, and the row is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import Any, Final

from connectors._values import ValueProblem, convert, is_blank, mask_raw, raw_text
from connectors.base import DataIssue, Location, Record
from connectors.mapping import EntityMapping, FieldMapping

__all__ = ["MISSING", "RecordBuilder", "dig"]

#: what a row getter returns for a column the source does not have at all
MISSING: Final = object()


def dig(body: Any, dotted: str | None) -> Any:
    """body["data"]["items"] for "data.items" (a digit steps into a list); MISSING when a step
    is absent. The row getter of JSON-shaped sources: `partial(dig, item)`."""
    if not dotted:
        return body
    if type(body) is dict and "." not in dotted:  # the common case: a plain key of an object
        return body.get(dotted, MISSING)
    for part in dotted.split("."):
        if isinstance(body, Mapping) and part in body:
            body = body[part]
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return MISSING
    return body


class RecordBuilder:
    """Converts rows of one entity of one source; `fields` narrows what is converted."""

    def __init__(self, source: str, entity: EntityMapping, tz: tzinfo = UTC) -> None:
        self.source = source
        self.entity = entity
        self.tz = tz
        #: `selected` per requested field set (a page asks the same of every row)
        self._selected: dict[frozenset[str] | None, list[FieldMapping]] = {}

    def selected(self, fields: frozenset[str] | None) -> list[FieldMapping]:
        """The mapped fields a request asked for (all when `fields` is None), extension
        fields ("ext.<name>") included."""
        found = self._selected.get(fields)
        if found is None:
            mapped = [*self.entity.fields.values(), *self.entity.extensions.values()]
            found = [f for f in mapped if fields is None or f.field in fields]
            if len(self._selected) < 64:
                self._selected[fields] = found
        return list(found)

    def local_id(self, raw: Any) -> str | None:
        """The local id as text (Excel's 12.0 -> "12"), or None when blank or not an id at
        all (a JSON object, list or boolean would otherwise become a made-up id like
        "{'a': 1}"): the row then gets a MISSING_KEY issue like a blank one."""
        if raw is MISSING or is_blank(raw) or isinstance(raw, (bool, dict, list, tuple, set)):
            return None
        return raw_text(raw)

    def issue(
        self,
        code: str,
        message: str,
        location: Location,
        *,
        column: str | None = None,
        local_id: str | None = None,
        value: str | None = None,
    ) -> DataIssue:
        return DataIssue(
            self.source, self.entity.name, code, message, location, column, local_id, value
        )

    def build(
        self,
        get: Callable[[str], Any],
        location: Location,
        fields: frozenset[str] | None = None,
        *,
        fetched_at: datetime | None = None,
        item: dict[str, Any] | None = None,
    ) -> tuple[Record | None, list[DataIssue]]:
        """Convert one row; None (with a MISSING_KEY issue) when the row has no local id.
        `item`: the JSON object `get` digs in (`partial(dig, item)`), when it is a dict: its
        plain keys are then read from it directly, as dig would read them."""
        issues: list[DataIssue] = []
        local_id = self.local_id(get(self.entity.local_id))
        if local_id is None:
            issues.append(self.issue(
                "MISSING_KEY",
                f"row has no usable {self.entity.local_id} (blank, or not a text or number): "
                "fill in the record's id so it can be linked",
                location,
                column=self.entity.local_id,
            ))
            return None, issues
        values: dict[str, Any] = {}
        for spec in self.selected(fields):
            column = spec.column
            if item is not None and column and "." not in column:
                raw = item.get(column, MISSING)  # dig's own first step for a plain key
            else:
                raw = get(column)
            if raw is MISSING:
                values[spec.field] = None
                continue
            if type(raw) is str and spec.type == "string" and not spec.codes:
                # what convert does with text for a string field without codes, inlined: most
                # of a record's fields are this, and the call cost more than the work
                values[spec.field] = raw.strip() or None
                if values[spec.field] is None and spec.field in self.entity.required:
                    issues.append(self.issue(
                        "MISSING_VALUE", f"{spec.column} is required but empty", location,
                        column=spec.column, local_id=local_id,
                    ))
                continue
            try:
                values[spec.field] = convert(
                    raw,
                    value_type=spec.type,
                    entity=self.entity.name,
                    field=spec.field,
                    codes=spec.codes,
                    formats=spec.formats,
                    tz=self.tz,
                )
            except ValueProblem as problem:
                values[spec.field] = None
                issues.append(self.issue(
                    problem.code, f"{spec.column}: {problem.message}", location,
                    column=spec.column, local_id=local_id, value=mask_raw(spec.type, raw),
                ))
                continue
            if values[spec.field] is None and spec.field in self.entity.required:
                issues.append(self.issue(
                    "MISSING_VALUE", f"{spec.column} is required but empty", location,
                    column=spec.column, local_id=local_id,
                ))
        record = Record(
            self.source, self.entity.name, local_id, values,
            fetched_at or datetime.now(UTC), location,
        )
        return record, issues

    def build_rows(
        self,
        rows: Iterable[tuple[Callable[[str], Any], Location]],
        fields: frozenset[str] | None,
        issues: list[DataIssue],
    ) -> list[Record | None]:
        """`build` each (getter, location) of one page, in order, with one fetched_at for all;
        the issues found are appended to `issues`."""
        now = datetime.now(UTC)
        out: list[Record | None] = []
        for get, location in rows:
            record, found = self.build(get, location, fields, fetched_at=now)
            issues.extend(found)
            out.append(record)
        return out

    def build_objects(
        self, items: Iterable[Any], where: str, fields: frozenset[str] | None,
        issues: list[DataIssue],
    ) -> list[Record | None]:
        """`build_rows` of a page of JSON objects (row `n` at `Location(where, n)`), each read
        with `dig`: a plain key of a dict straight from it, the rest through dig."""
        now = datetime.now(UTC)
        out: list[Record | None] = []
        for index, item in enumerate(items, start=1):
            record, found = self.build(
                partial(dig, item), Location(where, index), fields, fetched_at=now,
                item=item if type(item) is dict else None,
            )
            issues.extend(found)
            out.append(record)
        return out
