"""The standard cases of the conformance kit: each a small object with a `name` and a `test()`.

Cases are selected by the capabilities a connector declares (as hasura's ndc-test does), so a
read-only ledger is never asked to write and a REST source without by_keys is not asked for a
batch read; a case whose capability is absent is skipped with the reason. A REST member entity
without by_keys fails (its live fields could never be read) unless its mapping declares
`index_only = true`.

The cases read the way the hub does: pages of the mapping's real `pagination.size` (a small
test page size hides a platform that caps pages below it) and by-id batches of the mapping's
full `by_keys.max` (a platform that answers fewer ids than asked). A failure says what was
expected and what came.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base import Capability, Connector, DataIssue, ReadRequest, Record, WriteRequest
from connectors.errors import ConnectorError, SourceError
from connectors.mapping import EntityMapping

__all__ = [
    "CaseConfig",
    "Case",
    "CASES",
    "read_all",
    "read_pages",
    "HUB_PAGE_SIZE",
    "HUB_BATCH_SIZE",
]

#: what the hub asks when the mapping does not say: the sync's default page size
#: (limits.sync_page_size) and a by-id batch as large as a mapping's default `max`
HUB_PAGE_SIZE = 500
HUB_BATCH_SIZE = 100


@dataclass(frozen=True, slots=True)
class CaseConfig:
    """What the cases need to know about the source under test."""

    entity: str = "member"
    #: how many records the source holds for `entity` (None: not checked)
    expected_count: int | None = None
    #: the source has rows with data problems: at least one DataIssue must be reported
    expect_issues: bool = False
    page_size: int = 2
    #: declared fields the source under test leaves empty in every record on purpose (others
    #: must have a value somewhere: a misspelt column would otherwise map to nothing silently)
    empty_fields: frozenset[str] = frozenset()


async def read_all(
    connector: Connector, config: CaseConfig, **kwargs: Any
) -> tuple[list[Record], list[DataIssue]]:
    """Page through the entity to the end (bounded, so a cursor that never ends fails the test)."""
    records, issues, _ = await read_pages(connector, config, **kwargs)
    return records, issues


async def read_pages(
    connector: Connector, config: CaseConfig, *, page_size: int | None = None, **kwargs: Any
) -> tuple[list[Record], list[DataIssue], int | None]:
    """`read_all`, plus the source's own `total` (the last page that gave one)."""
    records: list[Record] = []
    issues: list[DataIssue] = []
    total: int | None = None
    cursor: str | None = None
    for _ in range(10_000):
        result = await connector.read(ReadRequest(
            config.entity, cursor=cursor, page_size=page_size or config.page_size, **kwargs))
        assert all(r is not None for r in result.records), "a page never contains None slots"
        records.extend(r for r in result.records if r is not None)
        issues.extend(result.issues)
        total = result.total if result.total is not None else total
        if result.next_cursor is None:
            return records, issues, total
        assert result.next_cursor != cursor, "the cursor did not advance"
        cursor = result.next_cursor
    raise AssertionError("paging did not end after 10,000 pages")


def entity_mapping(connector: Connector, entity: str) -> EntityMapping | None:
    """The entity's mapping when the connector is mapping-driven (rest, ledger, sql)."""
    mapping = getattr(connector, "mapping", None)
    entities = getattr(mapping, "entities", None)
    return entities.get(entity) if entities is not None else None


def hub_page_size(connector: Connector, entity: str) -> int:
    """The page size the hub's sync really asks for: the mapping's `pagination.size`."""
    spec = entity_mapping(connector, entity)
    return (
        spec.pagination.size if spec is not None and spec.pagination is not None else HUB_PAGE_SIZE
    )


def hub_batch_size(connector: Connector, entity: str) -> int:
    """The by-id batch the hub really asks: the mapping's `by_keys.max`."""
    spec = entity_mapping(connector, entity)
    return spec.by_keys.max if spec is not None and spec.by_keys is not None else HUB_BATCH_SIZE


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
        assert len(ids) == len(set(ids)), (
            f"records seen twice: {sorted(i for i in set(ids) if ids.count(i) > 1)}"
        )
        if config.expected_count is not None:
            assert len(ids) == config.expected_count
        # a source may cap the page size; a different page size must still give the same set
        bigger, _ = await read_all(
            connector, CaseConfig(config.entity, page_size=config.page_size * 3 + 1)
        )
        assert {r.local_id for r in bigger} == set(ids), "the page size changed the result"


class PagingAtTheHubsPageSize(Case):
    """Paging with the mapping's real page size gives the same records as small pages, and as
    many as the source's own `total` says: a platform capping pages below the asked size (20 of
    200) must not end the listing after its first page."""

    name = "paging_at_the_hubs_page_size"
    requires = Capability.READ

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        size = hub_page_size(connector, config.entity)
        small, _ = await read_all(connector, config)
        real, _, total = await read_pages(connector, config, page_size=size)
        got, expected = {r.local_id for r in real}, {r.local_id for r in small}
        assert got == expected, (
            f"paging with the mapping's page size {size}: expected the {len(expected)} records "
            f"seen in pages of {config.page_size}, got {len(got)} "
            f"({len(expected - got)} missing, {len(got - expected)} extra)")
        if config.expected_count is not None:
            assert len(real) == config.expected_count, (
                f"paging with page size {size}: "
                f"expected {config.expected_count} records, got {len(real)}"
            )
        if total is not None:
            assert len(real) == total, (
                f"paging with page size {size}: "
                f"the source's total says {total} records, got {len(real)}"
            )


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


class ReadByKeysFullBatch(Case):
    """A batch of the mapping's full `by_keys.max` ids comes back whole, with the same values
    as paging gave: a platform answering fewer ids than asked must not lose the rest."""

    name = "read_by_keys_full_batch"
    requires = Capability.READ_BY_KEYS

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        listed, _ = await read_all(connector, config)
        by_id = {r.local_id: r for r in listed}
        batch = list(by_id)[: hub_batch_size(connector, config.entity)]
        result = await connector.read(ReadRequest(config.entity, keys=batch))
        assert len(result.records) == len(batch), (
            f"expected one slot per asked id ({len(batch)}), got {len(result.records)}")
        missing = [k for k, r in zip(batch, result.records) if r is None]
        assert not missing, (
            f"asked a batch of {len(batch)} ids: expected {len(batch)} records, got "
            f"{len(batch) - len(missing)} ({len(missing)} missing, e.g. {missing[:3]})")
        for key, record in zip(batch, result.records):
            assert record is not None and record.local_id == key, (
                f"slot of id {key!r}: expected its record, "
                f"got {getattr(record, 'local_id', None)!r}"
            )
            assert dict(record.values) == dict(by_id[key].values), (
                f"record {key!r}: read by id, expected the values paging gave "
                f"{dict(by_id[key].values)!r}, got {dict(record.values)!r}")


class DeclaredFieldsRoundTrip(Case):
    """Every declared field comes back in every record and has a value in some record (a
    misspelt column maps to nothing, silently)."""

    name = "declared_fields_round_trip"
    requires = Capability.READ

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        declared = (await connector.describe()).entities[config.entity].fields
        records, _ = await read_all(connector, config)
        assert records, "the source under test must hold records"
        for record in records:
            absent = declared - set(record.values)
            assert not absent, (
                f"record {record.local_id!r}: expected every declared field, got no "
                f"{sorted(absent)}")
        never = sorted(f for f in declared - config.empty_fields
                       if all(r.values.get(f) is None for r in records))
        assert not never, (
            f"expected a value for every declared field in some record, got none for {never} in "
            f"{len(records)} records: check their columns in the mapping (or list them in "
            "empty_fields if the test source leaves them empty)")


class RestMemberReadsById(Case):
    """A REST member entity needs by_keys: the hub reads live fields by id, so without it
    every live field of the source comes back NOT_SUPPORTED. `index_only = true` says the
    system cannot, on purpose."""

    name = "rest_member_reads_by_id"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        if connector.kind != "rest" or config.entity != "member":
            return
        spec = entity_mapping(connector, config.entity)
        if spec is not None and spec.index_only:
            return
        has = Capability.READ_BY_KEYS in connector.capabilities and (spec is None or spec.by_keys)
        assert has, (
            "a REST member entity: expected by_keys (live fields are read by id), got none; add "
            "[entities.member.by_keys], or index_only = true if the system cannot read by id")


class FieldsHonoured(Case):
    name = "fields_honoured"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        schema = await connector.describe()
        wanted = sorted(schema.entities[config.entity].fields)[0]
        result = await connector.read(
            ReadRequest(config.entity, page_size=5, fields=frozenset({wanted}))
        )
        assert result.records
        for record in result.records:
            assert record is not None, "a page holds a None slot"
            assert set(record.values) <= {wanted}, record.values.keys()
        if Capability.READ_BY_KEYS in connector.capabilities:
            key = result.records[0].local_id  # type: ignore[union-attr]
            batch = await connector.read(
                ReadRequest(config.entity, keys=[key], fields=frozenset({wanted}))
            )
            assert batch.records[0] is not None and set(batch.records[0].values) <= {wanted}


class ReadChanges(Case):
    name = "read_changes"
    requires = Capability.READ_CHANGES

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        everything, _ = await read_all(connector, config)
        past, _ = await read_all(connector, config, since=datetime(1990, 1, 1, tzinfo=UTC))
        future, _ = await read_all(connector, config, since=datetime(2999, 1, 1, tzinfo=UTC))
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


class WritesAreIdempotent(Case):
    """A connector that takes writes (the exchange ledger's write-back, hub.exchange.outbox)
    takes each of its actions once per idempotency key: the same key again is a retry the
    source recognises (`duplicate`, or the same remote id), never a second row; an action it
    has no `[write.<action>]` for is a ConnectorError. The writes reach the system under test:
    run the kit against a test instance of a system, never a production one."""

    name = "writes_are_idempotent"
    requires = Capability.WRITE

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        listed, _ = await read_all(connector, config)
        local_id = listed[0].local_id if listed else "kit-member"
        for action in sorted(connector.write_actions):
            key = f"yanxing-kit-{action}-{uuid.uuid4().hex}"
            values = {
                "entry_id": "1", "action": action, "idempotency_key": key,
                "member_key": "0" * 64, "member_local_id": local_id,
                "organization": "kit-organization", "party": "kit-party", "user": "kit-user",
                "recorded_at": datetime.now(UTC), "answers": None,
                "payload.note": "conformance kit (核对)",
            }
            first = await connector.write(WriteRequest(action, key, values))
            again = await connector.write(WriteRequest(action, key, values))
            assert first.action == action, f"{action}: the result names {first.action!r}"
            assert again.duplicate or (again.remote_id is not None
                                       and again.remote_id == first.remote_id), (
                f"{action}: the same idempotency key twice must be recognised as one write "
                f"(duplicate, or the same remote id); got {first!r} then {again!r}")
        try:
            await connector.write(WriteRequest("no_such_action", "yanxing-kit-none", {}))
        except ConnectorError:
            pass
        else:
            raise AssertionError("writing an action without [write.<action>] must raise a "
                                 "ConnectorError")


class AcloseIdempotent(Case):
    name = "aclose_idempotent"

    async def test(self, connector: Connector, config: CaseConfig) -> None:
        await connector.read(ReadRequest(config.entity, page_size=1))
        await connector.aclose()
        await connector.aclose()


CASES: tuple[Case, ...] = (
    DescribeListsEntity(), PagingVisitsEveryRecordOnce(), PagingAtTheHubsPageSize(),
    RecordsCarryProvenance(), ReadByKeysAligned(), ReadByKeysFullBatch(),
    DeclaredFieldsRoundTrip(), RestMemberReadsById(), FieldsHonoured(), ReadChanges(),
    BadRowsAreIssues(), UnknownEntityFails(), WritesAreIdempotent(), AcloseIdempotent(),
)

