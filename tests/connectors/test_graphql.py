"""The graphql kind against a real GraphQL system on 127.0.0.1 (tests/connectors/
graphql_upstream.py): the conformance kit through a list argument and through aliases, paging
past the system's page cap, short by-id batches re-asked, and bad mappings and answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ReadRequest
from connectors.errors import ConnectorConfigError, SourceInvalid
from connectors.factory import open_connector
from connectors.graphql import GraphqlConnector, alias_batch_query
from connectors.mapping import parse_mapping
from connectors.testing import connector_test_class, read_all
from tests.connectors.graphql_upstream import BATCH_CAP, ROWS, TOKEN, serve_upstream

LIST_QUERY = """query($first: Int!, $after: String, $since: String) {
  members(first: $first, after: $after, since: $since) {
    nodes { id name idCard sex updatedAt } pageInfo { endCursor } totalCount } }"""


def _doc(url: str, *, by: str = "list", **entity: Any) -> dict[str, Any]:
    member: dict[str, Any] = {
        "query": LIST_QUERY, "records": "members.nodes", "local_id": "id",
        "pagination": {"type": "cursor", "cursor_param": "after", "size_param": "first",
                       "next": "members.pageInfo.endCursor", "total": "members.totalCount",
                       "size": 50},
        "changed_since": {"param": "since"},
        "fields": {"name": "name", "id_number": {"column": "idCard", "type": "id_number"},
                   "gender": {"column": "sex", "codes": {"M": "male", "F": "female"}},
                   "updated_at": "updatedAt"},
    }
    if by == "list":
        member |= {"by_keys": {"param": "ids", "max": 10},
                   "by_keys_query": "query($ids: [ID!]!) { membersByIds(ids: $ids) "
                                    "{ id name idCard sex updatedAt } }",
                   "by_keys_records": "membersByIds"}
    elif by == "alias":
        member |= {"by_keys": {"param": "id", "max": 10},
                   "by_keys_alias": "member(id: $id) { id name idCard sex updatedAt }"}
    member |= entity
    return {
        "source": {"name": "study-gql", "kind": "graphql", "side": "origin"},
        "connection": {"base_url": url, "auth": {"type": "bearer", "token": "${GQL_TOKEN}"}},
        "entities": {"member": member},
    }


def _open(url: str, **kwargs: Any) -> GraphqlConnector:
    connector = open_connector(parse_mapping(_doc(url, **kwargs), env={"GQL_TOKEN": TOKEN}))
    assert isinstance(connector, GraphqlConnector)
    return connector


def _factory(by: str):
    @asynccontextmanager
    async def factory(tmp_path: Path) -> AsyncIterator[GraphqlConnector]:
        async with serve_upstream() as url:
            yield _open(url, by=by)

    return factory


TestGraphqlListArgument = connector_test_class(
    _factory("list"), expected_count=len(ROWS), expect_issues=True,
    name="TestGraphqlListArgument")
TestGraphqlAliases = connector_test_class(
    _factory("alias"), expected_count=len(ROWS), expect_issues=True, name="TestGraphqlAliases")


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async with serve_upstream() as url:
        yield url


async def test_pages_past_the_systems_cap_and_checks_its_total(upstream: str) -> None:
    connector = _open(upstream)
    try:
        first = await connector.read(ReadRequest("member", page_size=50))
        assert len(first.records) == 5 and first.total == len(ROWS) and first.next_cursor
        records, issues = await read_all(connector, _config())
        assert [r.local_id for r in records] == [r["id"] for r in ROWS]
        assert {i.code for i in issues} >= {"INVALID_ID_NUMBER"}
        bad = next(r for r in records if r.local_id == "g99")
        assert bad.values["id_number"] is None  # the issue carries it masked, never the record
    finally:
        await connector.aclose()


def _config():
    from connectors.testing import CaseConfig

    return CaseConfig(page_size=50)


@pytest.mark.parametrize("by", ["list", "alias"])
async def test_a_short_batch_is_asked_again_and_the_cap_learned(upstream: str, by: str) -> None:
    connector = _open(upstream, by=by)
    keys = [r["id"] for r in ROWS[:10]] + ["nobody"]
    try:
        result = await connector.read(ReadRequest("member", keys=keys))
        assert [r.local_id if r else None for r in result.records] == [*keys[:10], None]
        assert [i.code for i in result.issues if i.local_id == "nobody"] == ["RECORD_NOT_FOUND"]
        if by == "list":  # the list argument answers BATCH_CAP ids at most: it learnt that
            assert connector._batch_size(connector.mapping.entities["member"]) == BATCH_CAP
    finally:
        await connector.aclose()


async def test_changed_since_is_a_variable(upstream: str) -> None:
    from datetime import UTC, datetime

    connector = _open(upstream)
    try:
        page = await connector.read(ReadRequest(
            "member", since=datetime(2024, 6, 10, 0, 0, tzinfo=UTC), page_size=50))
        assert {r.local_id for r in page.records if r} == {"g10", "g11", "g12", "g99"}
    finally:
        await connector.aclose()


async def test_graphql_errors_are_source_invalid_with_the_message(upstream: str) -> None:
    connector = open_connector(parse_mapping(_doc(upstream), env={"GQL_TOKEN": "wrong"}))
    try:
        with pytest.raises(SourceInvalid, match="GraphQL errors: not authorised"):
            await connector.read(ReadRequest("member", page_size=5))
    finally:
        await connector.aclose()
    broken = _open(upstream, query="query($first: Int!, $after: String, $since: String) "
                                    "{ nosuchfield(a: $first, b: $after, c: $since) }")
    try:
        with pytest.raises(SourceInvalid, match="Cannot query field 'nosuchfield'"):
            await broken.read(ReadRequest("member", page_size=5))
    finally:
        await broken.aclose()


def test_alias_batch_query_gives_each_id_its_variable() -> None:
    assert alias_batch_query("member(id: $id) { id }", "id", 2) == (
        "query YanxingBatch($k0: ID!, $k1: ID!) "
        "{ k0: member(id: $k0) { id } k1: member(id: $k1) { id } }")


@pytest.mark.parametrize(("change", "problem"), [
    ({"query": ""}, "$.entities.member.query: '' should be non-empty"),
    ({"pagination": {"type": "page", "page_param": "p"}},
     "$.entities.member.pagination.page_param: the query declares no $p"),
    ({"query": "query { members { nodes { id } } }"},
     "$.entities.member.pagination.cursor_param: the query declares no $after"),
    ({"by_keys_alias": "member(id: $id) { id }"},
     "$.entities.member.by_keys: give exactly one of by_keys_query"),
    ({"by_keys_records": None}, "$.entities.member.by_keys_records: None is not of type"),
    ({"path": "/members"}, "$.entities.member.path: not used by a graphql source; remove it"),
    ({"sheet": "x"}, "$.entities.member.sheet: not used by a graphql source; remove it"),
])
def test_bad_graphql_mappings_say_what_to_fix(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        parse_mapping(_doc("http://127.0.0.1:9/graphql", **change), env={"GQL_TOKEN": "t"})
    assert any(problem in p for p in caught.value.problems), caught.value.problems
