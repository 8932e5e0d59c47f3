"""Live batched fetch: one read per source, authority merge, failures as values."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.errors import SourceUnavailable
from connectors.mock import MockConnector
from hub.federation.fetch import Link, LiveFetcher
from hub.federation.sources import HealthStatus, SourceEntry, SourceRegistry
from hub.model import Side

OLD = datetime(2024, 1, 1, tzinfo=UTC)
NEW = datetime(2025, 1, 1, tzinfo=UTC)


def _registry(**kwargs: MockConnector) -> SourceRegistry:
    sides = {"county": Side.ORIGIN, "city": Side.DESTINATION}
    return SourceRegistry(
        SourceEntry(name, sides[name], conn, owner=f"{name}-party", timeout=0.2)
        for name, conn in kwargs.items()
    )


def _sources() -> tuple[MockConnector, MockConnector]:
    county = MockConnector("county", {"member": [
        {"local_id": f"c{i}", "name": f"origin-{i}", "employer": "old employer",
         "status": "in_contact", "updated_at": NEW}
        for i in range(50)
    ]})
    city = MockConnector("city", {"member": [
        {"local_id": f"d{i}", "name": f"dest-{i}", "employer": "new employer",
         "status": "lost_contact", "phone": "13800000000", "updated_at": OLD}
        for i in range(50)
    ]})
    return county, city


def _links(n: int = 50) -> dict[str, list[Link]]:
    return {f"k{i}": [Link("county", f"c{i}"), Link("city", f"d{i}")] for i in range(n)}


async def test_one_read_per_source_and_authority_merge() -> None:
    county, city = _sources()
    fetcher = LiveFetcher(_registry(county=county, city=city))
    result = await fetcher.fetch_members(_links(), frozenset({"name", "employer", "status"}))
    assert len(county.calls) == 1 and len(city.calls) == 1
    assert len(county.calls[0].keys or []) == 50
    assert county.calls[0].fields == frozenset({"name", "employer", "status", "updated_at"})
    m = result.members["k7"]
    # origin wins membership facts even though the destination record is older/newer
    assert m.get("name") == "origin-7" and m.source_of("name") == "county"
    assert m.get("status") == "in_contact"
    # destination wins the employer although the origin value is newer
    assert m.get("employer") == "new employer" and m.source_of("employer") == "city"
    by_system = {r.system: r for r in m.records}
    assert by_system["city"].used == {"employer"}
    assert by_system["county"].used == {"name", "status"}
    assert result.errors == {}


async def test_fields_beyond_request_are_stripped() -> None:
    county, city = _sources()
    fetcher = LiveFetcher(_registry(county=county, city=city))
    result = await fetcher.fetch_members(_links(1), frozenset({"employer"}))
    assert result.members["k0"].get("phone") is None
    assert result.members["k0"].get("name") is None


async def test_failing_source_is_a_value_not_an_exception() -> None:
    county, city = _sources()
    city.fail = lambda request: SourceUnavailable("city", "down for maintenance")
    registry = _registry(county=county, city=city)
    result = await LiveFetcher(registry).fetch_members(_links(3), None)
    assert result.errors["city"].code == "SOURCE_UNAVAILABLE"
    m = result.members["k1"]
    assert m.get("employer") == "old employer"  # the origin's value remains
    assert "city" in m.failed
    assert registry.get("city").health.status is HealthStatus.DOWN  # type: ignore[union-attr]


async def test_timeout_and_garbage() -> None:
    county, city = _sources()
    city.latency = 1.0
    county._rows["member"]["c0"]["birth_date"] = 12345  # not a date: garbage
    result = await LiveFetcher(_registry(county=county, city=city)).fetch_members(_links(2))
    assert result.errors["city"].code == "SOURCE_TIMEOUT"
    assert result.errors["county"].code == "SOURCE_INVALID"
    assert result.members["k0"].values == {}


async def test_cache_avoids_second_read_in_same_request() -> None:
    county, city = _sources()
    fetcher = LiveFetcher(_registry(county=county, city=city))
    await fetcher.fetch_members(_links(5))
    await fetcher.fetch_members(_links(5))
    assert len(county.calls) == 1 and len(city.calls) == 1
