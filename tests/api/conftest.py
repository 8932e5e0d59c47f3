"""A small federation for API tests: a real SQLite index, two MockConnectors, the real app.

`world` indexes N members present in both an origin system (county, 泸县) and a destination
system (city, 成都温江) whose records disagree on some fields, plus one member known to the
origin only. Rows are written with the store models directly, as a sync would leave them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from connectors.base import PartialDate
from connectors.mock import MockConnector
from hub.api.limits import Limits
from hub.api.runtime import Runtime
from hub.app import create_app
from hub.federation.identity import member_key
from hub.federation.sources import SourceEntry, SourceRegistry
from hub.model import Side
from hub.settings import Mode
from hub.store.models import ActivityRow, AttendanceRow, MemberRow, OrganizationRow, SourceLinkRow

OLD = datetime(2024, 1, 1, tzinfo=UTC)
NEW = datetime(2025, 6, 1, tzinfo=UTC)
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(i: int, region: str = "510521") -> str:
    body = f"{region}1990{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W)) % 11]


@dataclass
class World:
    county: MockConnector
    city: MockConnector
    keys: list[str]          # ordered as the API orders members (by name, then key)
    runtime: Runtime
    client: httpx.AsyncClient

    async def gql(self, query: str, variables: dict[str, Any] | None = None,
                  **headers: str) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()


def member_values(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    origin = {
        "local_id": f"c{i}", "id_number": id_number(i), "name": f"张{i:03d}",
        "gender": "male" if i % 2 else "female", "birth_date": PartialDate(1990, 1 + i % 12),
        "phone": f"138{i:08d}", "status": "in_contact", "origin_org_id": "LX-YS",
        "origin_org_name": "涌水村党支部", "origin_region_code": "510521",
        "employer": "老东家", "updated_at": NEW,
    }
    destination = {
        "local_id": f"d{i}", "id_number": id_number(i), "name": f"张{i:03d}(城)",
        "phone": f"139{i:08d}", "status": "lost_contact", "destination_region_code": "510115",
        "destination_address": f"温江区涌泉街道{i}号", "employer": "温江制造厂",
        "occupation": "技工", "destination_since": PartialDate(2016, 3),
        "destination_org_id": "WJ-YQ", "intends_return_business": i % 3 == 0,
        "willing_village_cadre": True, "updated_at": OLD,
    }
    return origin, destination


async def build_world(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine, secret: bytes,
    # `timeout` is the connectors' HTTP timeout, not a deadline for this coroutine
    n: int = 60, limits: Limits | None = None, timeout: float = 0.5,  # noqa: ASYNC109
) -> tuple[MockConnector, MockConnector, list[str], Runtime]:
    origins, destinations, rows = [], [], []
    now = datetime.now(UTC)
    async with session_factory() as session:
        session.add_all([
            OrganizationRow(org_id="LX-YS", name="涌水村党支部", kind="origin_branch",
                            region_code="510521", parent_id="LX", secretary="李书记",
                            contact_phone="13900001111",
                            sources=[{"system": "county", "localId": "LX-YS",
                                      "fetchedAt": now.isoformat(), "fields": ["name"]}]),
            OrganizationRow(org_id="LX", name="泸县委", kind="committee", region_code="510521"),
            OrganizationRow(org_id="WJ-YQ", name="涌泉街道流入党员党支部",
                            kind="destination_branch", region_code="510115",
                            sources=[{"system": "city", "localId": "WJ-YQ",
                                      "fetchedAt": now.isoformat(), "fields": ["name"]}]),
        ])
        for i in range(n + 1):
            origin, destination = member_values(i)
            key = member_key(secret, origin["id_number"])
            origins.append(origin)
            both = i < n  # the last member is known to the origin only
            if both:
                destinations.append(destination)
            session.add(MemberRow(
                key=key, name=origin["name"], birth_date=date(1990, 1 + i % 12, 1),
                status="in_contact" if i % 5 else "returned", origin_org_id="LX-YS",
                origin_region_code="510521",
                destination_region_code="510115" if both else None,
                destination_org_id="WJ-YQ" if both else None, updated_at=NEW, indexed_at=now,
            ))
            rows.append((origin["name"], key))
            session.add(SourceLinkRow(source="county", local_id=f"c{i}", member_key=key,
                                      fields=[], routing={}, content_hash="x", fetched_at=now,
                                      side="origin"))
            if both:
                session.add(SourceLinkRow(source="city", local_id=f"d{i}", member_key=key,
                                          fields=[], routing={}, content_hash="x",
                                          fetched_at=now, side="destination"))
        session.add(ActivityRow(
            key="city:a1", source="city", local_id="a1", org_id="WJ-YQ", kind="themed_party_day",
            title="主题党日：走访流动党员", start_time=NEW, online=False, expected=46, present=37,
            excused=7, online_count=2, guests=10, fetched_at=now,
        ))
        session.add_all([
            AttendanceRow(source="city", local_id=f"at{i}", activity_key="city:a1",
                          member_key=rows[i][1], mode="online" if i == 0 else "present",
                          fetched_at=now)
            for i in range(3)
        ])
        await session.commit()
    county = MockConnector("county", {"member": origins})
    city = MockConnector("city", {"member": destinations})
    registry = SourceRegistry([
        SourceEntry("county", Side.ORIGIN, county, owner="luxian", title="泸县数据库",
                    timeout=timeout),
        SourceEntry("city", Side.DESTINATION, city, owner="wenjiang", title="蓉城先锋",
                    timeout=timeout),
    ])
    runtime = Runtime(engine=engine, session_factory=session_factory, registry=registry,
                      limits=limits or Limits(), hash_key=secret)
    return county, city, [k for _, k in sorted(rows)], runtime


@pytest.fixture
def make_world(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine, secret: bytes,
) -> Callable[..., Any]:
    clients: list[httpx.AsyncClient] = []

    async def make(**kwargs: Any) -> World:
        county, city, keys, runtime = await build_world(session_factory, engine, secret, **kwargs)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime, mode=Mode.development())),
            base_url="http://hub"
        )
        clients.append(client)
        return World(county, city, keys, runtime, client)

    return make


@pytest.fixture
async def world(make_world: Callable[..., Any]) -> AsyncIterator[World]:
    w = await make_world()
    yield w
    await w.client.aclose()


@pytest.fixture
async def trusted(make_world: Callable[..., Any], tmp_path: Any) -> AsyncIterator[Any]:
    """The world served under signed contracts (tests/api/trusted.py)."""
    from tests.api.trusted import make_trusted

    t = await make_trusted(make_world, tmp_path)
    yield t
    await t.trust.close()
    await t.world.client.aclose()
