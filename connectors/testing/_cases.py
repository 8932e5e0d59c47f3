"""The standard cases of the conformance kit: each a small object with a `name` and a `test()`.

Cases are selected by the capabilities a connector declares (as hasura's ndc-test does), so a
read-only ledger is never asked to write and a REST source without by_keys is not asked for a
batch read; a case whose capability is absent is skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

from connectors.base import Capability, Connector, DataIssue, ReadRequest, Record
from connectors.errors import SourceError

__all__ = ["CaseConfig", "Case", "CASES", "read_all"]


@dataclass(frozen=True, slots=True)
class CaseConfig:
    """What the cases need to know about the source under test."""

    entity: str = "member"
    #: how many records the source holds for `entity` (None: not checked)
    expected_count: int | None = None
    #: the source has rows with data problems: at least one DataIssue must be reported
    expect_issues: bool = False
    page_size: int = 2


async def read_all(connector: Connector, config: CaseConfig, **kwargs: Any) -> tuple[list[Record], list[DataIssue]]:
    """Page through the entity to the end (bounded, so a cursor that never ends fails the test)."""
    records: list[Record] = []
    issues: list[DataIssue] = []
    cursor: str | None = None
    for _ in range(10_000):
        result = await connector.read(
            ReadRequest(config.entity, cursor=cursor, page_size=config.page_size, **kwargs)
        )
        assert all(r is not None for r in result.records), "a page never contains None slots"
        records.extend(r for r in result.records if r is not None)
        issues.extend(result.issues)
        if result.next_cursor is None:
            return records, issues
        assert result.next_cursor != cursor, "the cursor did not advance"
        cursor = result.next_cursor
    raise AssertionError("paging did not end after 10,000 pages")


class Case:
    name: ClassVar[str]
    requires: ClassVar[Capability | None] = None

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        raise NotImplementedError


class DescribeListsEntity(Case):
    name = "describe_lists_entity"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        schema = await connector.describe()
        assert schema.name == connector.name
        assert schema.kind == connector.kind
        assert config.entity in schema.entities
        assert schema.entities[config.entity].fields, "the entity maps no fields"
        assert Capability.READ in schema.capabilities
        assert schema.capabilities == connector.capabilities


class PagingVisitsEveryRecordOnce(Case):
    name = "paging_visits_every_record_once"
    requires = Capability.READ

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        records, _ = await read_all(connector, config)
        ids = [r.local_id for r in records]
        assert len(ids) == len(set(ids)), f"records seen twice: {sorted(i for i in set(ids) if ids.count(i) > 1)}"
        if config.expected_count is not None:
            assert len(ids) == config.expected_count
        # a source may cap the page size; a different page size must still give the same set
        bigger, _ = await read_all(connector, CaseConfig(config.entity, page_size=config.page_size * 3 + 1))
        assert {r.local_id for r in bigger} == set(ids), "the page size changed the result"


class RecordsCarryProvenance(Case):
    name = "records_carry_provenance"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        result = await connector.read(ReadRequest(config.entity, page_size=5))
        assert result.records, "the source under test must hold records"
        for record in result.records:
            assert record is not None
            assert record.source == connector.name and record.entity == config.entity
            assert isinstance(record.local_id, str) and record.local_id
            assert record.fetched_at.tzinfo is not None


class ReadByKeysAligned(Case):
    name = "read_by_keys_aligned"
    requires = Capability.READ_BY_KEYS

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        first = await connector.read(ReadRequest(config.entity, page_size=3))
        ids = [r.local_id for r in first.records if r]
        assert len(ids) >= 2, "the source under test needs at least 2 records"
        keys = [ids[1], "no-such-key-0000", ids[0], ids[1]]
        result = await connector.read(ReadRequest(config.entity, keys=keys))
        assert len(result.records) == len(keys), "one slot per key"
        got = [r.local_id if r else None for r in result.records]
        assert got == [ids[1], None, ids[0], ids[1]]
        empty = await connector.read(ReadRequest(config.entity, keys=[]))
        assert empty.records == []


class FieldsHonoured(Case):
    name = "fields_honoured"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        schema = await connector.describe()
        wanted = sorted(schema.entities[config.entity].fields)[0]
        result = await connector.read(ReadRequest(config.entity, page_size=5, fields=frozenset({wanted})))
        assert result.records
        for record in result.records:
            assert record is not None and set(record.values) <= {wanted}, record.values.keys()
        if Capability.READ_BY_KEYS in connector.capabilities:
            key = result.records[0].local_id  # type: ignore[union-attr]
            batch = await connector.read(ReadRequest(config.entity, keys=[key], fields=frozenset({wanted})))
            assert batch.records[0] is not None and set(batch.records[0].values) <= {wanted}


class ReadChanges(Case):
    name = "read_changes"
    requires = Capability.READ_CHANGES

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        everything, _ = await read_all(connector, config)
        past, _ = await read_all(connector, config, since=datetime(1990, 1, 1, tzinfo=timezone.utc))
        future, _ = await read_all(connector, config, since=datetime(2999, 1, 1, tzinfo=timezone.utc))
        assert {r.local_id for r in past} == {r.local_id for r in everything}
        # records without a usable updated_at may still be returned; dated ones must not
        assert all(r.values.get("updated_at") is None for r in future)


class BadRowsAreIssues(Case):
    name = "bad_rows_are_issues"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        records, issues = await read_all(connector, config)
        for issue in issues:
            assert issue.source == connector.name and issue.entity == config.entity
            assert issue.code and issue.message and str(issue.location)
        if config.expect_issues:
            assert issues, "the source has bad rows but no DataIssue was reported"
            assert records, "bad rows must not hide the good ones"


class UnknownEntityFails(Case):
    name = "unknown_entity_fails"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        try:
            await connector.read(ReadRequest("no_such_entity"))
        except SourceError:
            return
        raise AssertionError("reading an unknown entity must raise a SourceError")


class AcloseIdempotent(Case):
    name = "aclose_idempotent"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        await connector.read(ReadRequest(config.entity, page_size=1))
        await connector.aclose()
        await connector.aclose()


CASES: tuple[Case, ...] = (
    DescribeListsEntity(), PagingVisitsEveryRecordOnce(), RecordsCarryProvenance(),
    ReadByKeysAligned(), FieldsHonoured(), ReadChanges(), BadRowsAreIssues(),
    UnknownEntityFails(), AcloseIdempotent(),
)

