"""What a source flags in a live answer (an item without an id, a bad value) is recorded as a
data-quality issue, as a sync would record it: never silently missing (issue 6)."""

from __future__ import annotations

from connectors.base import DataIssue, Location, ReadRequest, ReadResult
from connectors.mock import MockConnector
from tests.api.conftest import World


class _FlaggingConnector(MockConnector):
    """A source whose by-id answers carry one item without an id (reported as the REST
    connector reports it: a MISSING_KEY issue next to the records)."""

    async def read(self, request: ReadRequest) -> ReadResult:
        result = await super().read(request)
        if request.keys is None:
            return result
        issue = DataIssue("city", "member", "MISSING_KEY",
                          "row has no usable memberId (blank, or not a text or number)",
                          Location("GET /members ids", 2), column="memberId")
        return ReadResult(result.records, result.next_cursor, [*result.issues, issue])


async def test_live_read_issues_become_data_quality_issues(world: World) -> None:
    entry = world.runtime.registry.get("city")
    assert entry is not None
    entry.connector = _FlaggingConnector("city", {"member": list(world.city._rows["member"]
                                                                .values())})
    body = await world.gql("{ members(first: 2) { nodes { name destination { employer } } } }")
    assert "errors" not in body, body
    issues = await world.gql("{ dataQualityIssues { totalCount nodes { system code column "
                             "location row } } }")
    assert issues["data"]["dataQualityIssues"]["nodes"] == [{
        "system": "city", "code": "MISSING_KEY", "column": "memberId",
        "location": "GET /members ids", "row": 2}]
