"""A federation built for the fan-out benchmark: N sources that each know the same 50 members
and each answer after `latency` seconds, behind the real app (real SQLite index, real schema).

Sources are `connectors.mock.MockConnector`s: real implementations of the connector contract
whose only job here is to be slow by a known amount, so the hub's own cost shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from connectors.mock import MockConnector
from hub.api.runtime import Runtime
from hub.app import create_app
from hub.federation.identity import member_key
from hub.federation.sources import SourceEntry, SourceRegistry
from hub.model import Side
from hub.settings import Mode
from hub.store.models import MemberRow, SourceLinkRow
from hub.store.session import create_engine, create_session_factory, init_db

SECRET = b"bench-fanout-secret-0123456789abcdef"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(i: int) -> str:
    body = f"5105211990{1 + i % 12:02d}{1 + i % 28:02d}{i:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


@dataclass
class FanoutWorld:
    runtime: Runtime
    connectors: list[MockConnector]
    local_ids: list[str]

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(self.runtime, mode=Mode.development())  # no trust in this bench
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield client

    async def aclose(self) -> None:
        await self.runtime.registry.aclose()
        await self.runtime.engine.dispose()


async def build_fanout_world(
    directory: Path, *, sources: int, members: int, latency: float
) -> FanoutWorld:
    engine = create_engine(f"sqlite+aiosqlite:///{directory / 'fanout.db'}")
    await init_db(engine)
    factory = create_session_factory(engine)
    now = datetime.now(UTC)
    names = [f"s{n}" for n in range(sources)]
    rows: list[dict[str, Any]] = [
        {"local_id": f"m{i:03d}", "id_number": _id_number(i), "name": f"成员{i:03d}",
         "phone": f"138{i:08d}", "status": "in_contact", "employer": f"单位{i}",
         "destination_address": f"地址{i}", "occupation": "技工", "updated_at": now}
        for i in range(members)
    ]
    async with factory() as session:
        for row in rows:
            key = member_key(SECRET, row["id_number"])
            session.add(MemberRow(key=key, name=row["name"], birth_date=date(1990, 1, 1),
                                  status="in_contact", origin_region_code="510521",
                                  updated_at=now, indexed_at=now))
            for n, name in enumerate(names):
                session.add(SourceLinkRow(
                    source=name, local_id=row["local_id"], member_key=key, fields=[],
                    routing={}, content_hash="-", fetched_at=now,
                    side="origin" if n % 2 == 0 else "destination",
                ))
        await session.commit()
    connectors = [MockConnector(name, {"member": rows}, latency=latency) for name in names]
    registry = SourceRegistry(
        SourceEntry(name, Side.ORIGIN if n % 2 == 0 else Side.DESTINATION, c, owner=f"party-{n}",
                    timeout=5.0)
        for n, (name, c) in enumerate(zip(names, connectors))
    )
    runtime = Runtime(engine=engine, session_factory=factory, registry=registry, hash_key=SECRET)
    return FanoutWorld(runtime, connectors, [r["local_id"] for r in rows])
