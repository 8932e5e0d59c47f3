"""The in-memory MockConnector passes the conformance kit, write cases included: the double the
hub's tests rely on behaves like a real source. Also opened from a mapping (`kind = "mock"`)
through the same kind registry as every other connector."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import Capability, WriteRequest
from connectors.factory import open_connector
from connectors.mapping import parse_mapping
from connectors.mock import MockConnector
from connectors.testing import connector_test_class, make_id_number

ROWS = [
    {"local_id": f"m{i:02d}", "name": f"成员{i}", "id_number": make_id_number(sequence=i),
     "updated_at": datetime(2024, 5, i, tzinfo=UTC)}
    for i in range(1, 8)
]


async def _mock(tmp_path: Path) -> MockConnector:
    return MockConnector("mock-members", {"member": ROWS})


TestMockConformance = connector_test_class(_mock, expected_count=7, name="TestMockConformance")


def _mapping(tmp_path: Path) -> Path:
    rows = [{"id": r["local_id"], "xm": r["name"], "sfz": r["id_number"]} for r in ROWS]
    (tmp_path / "rows.json").write_text(json.dumps({"member": rows}), encoding="utf-8")
    return tmp_path / "mock.toml"


async def _mock_from_mapping(tmp_path: Path):
    path = _mapping(tmp_path)
    mapping = parse_mapping({
        "source": {"name": "mock-file", "kind": "mock", "side": "origin"},
        "connection": {"file": "rows.json"},
        "entities": {"member": {"local_id": "id", "fields": {"name": "xm", "id_number": "sfz"}}},
    }, path=path)
    return open_connector(mapping)


TestMockKindConformance = connector_test_class(
    _mock_from_mapping, expected_count=7, name="TestMockKindConformance")


async def test_the_mock_kind_declares_write(tmp_path: Path) -> None:
    connector = await _mock_from_mapping(tmp_path)
    assert connector.kind == "mock" and Capability.WRITE in connector.capabilities


async def test_the_write_case_fails_a_connector_that_writes_twice() -> None:
    import pytest

    from connectors.base import WriteResult
    from connectors.testing import CASES, CaseConfig

    (case,) = [c for c in CASES if c.name == "writes_are_idempotent"]

    class _Forgetful(MockConnector):
        """Declares WRITE but takes every retry as a new write."""

        async def write(self, request: WriteRequest) -> WriteResult:
            if request.action not in self.write_actions:
                return await super().write(request)
            return WriteResult(request.action)

    with pytest.raises(AssertionError, match="checkin: the same idempotency key twice"):
        await case.test(_Forgetful("lossy", {"member": ROWS}, write_actions=["checkin"]),
                        CaseConfig())
    whole = MockConnector("whole", {"member": ROWS}, write_actions=["checkin"])
    await case.test(whole, CaseConfig())
    assert len(whole.writes) == 1  # two writes with one key: one taken
