"""A simulated system that already speaks GraphQL (strawberry, served by uvicorn on 127.0.0.1).

It behaves like the platforms the graphql kind is for, including their awkward parts: pages are
capped at 5 whatever `first` asks, `membersByIds` answers at most 4 ids per call, `member(id)`
answers one, and every request needs the bearer token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import strawberry
import uvicorn
from strawberry.asgi import GraphQL
from strawberry.types import Info

from connectors.testing import make_id_number

TOKEN = "gql-token-1"
PAGE_CAP, BATCH_CAP = 5, 4
ROWS: list[dict[str, Any]] = [
    {"id": f"g{i:02d}", "name": f"学员{i}", "idCard": make_id_number("330106", "19900101", i),
     "sex": "M" if i % 2 else "F", "updatedAt": f"2024-06-{i:02d}T08:00:00+08:00"}
    for i in range(1, 13)
] + [{"id": "g99", "name": "坏", "idCard": "330106199001011", "sex": "?",
      "updatedAt": "2024-06-30T08:00:00+08:00"}]


@strawberry.type
class Member:
    id: strawberry.ID
    name: str
    id_card: str = strawberry.field(name="idCard")
    sex: str
    updated_at: str = strawberry.field(name="updatedAt")


@strawberry.type
class PageInfo:
    end_cursor: str | None = strawberry.field(name="endCursor")


@strawberry.type
class MemberPage:
    nodes: list[Member]
    page_info: PageInfo = strawberry.field(name="pageInfo")
    total_count: int = strawberry.field(name="totalCount")


def _member(row: dict[str, Any]) -> Member:
    return Member(id=strawberry.ID(row["id"]), name=row["name"], id_card=row["idCard"],
                  sex=row["sex"], updated_at=row["updatedAt"])


def _authorised(info: Info) -> None:
    if info.context["request"].headers.get("authorization") != f"Bearer {TOKEN}":
        raise PermissionError("not authorised")


@strawberry.type
class Query:
    @strawberry.field
    def members(self, info: Info, first: int, after: str | None = None,
                since: str | None = None) -> MemberPage:
        _authorised(info)
        rows = [r for r in ROWS if since is None or r["updatedAt"] > since]
        start = int(after or 0)
        page = rows[start : start + min(first, PAGE_CAP)]
        end = start + len(page)
        return MemberPage(nodes=[_member(r) for r in page],
                          page_info=PageInfo(end_cursor=str(end) if end < len(rows) else None),
                          total_count=len(rows))

    @strawberry.field(name="membersByIds")
    def members_by_ids(self, info: Info, ids: list[strawberry.ID]) -> list[Member]:
        _authorised(info)
        by_id = {r["id"]: r for r in ROWS}
        return [_member(by_id[i]) for i in ids[:BATCH_CAP] if i in by_id]

    @strawberry.field
    def member(self, info: Info, id: strawberry.ID) -> Member | None:
        _authorised(info)
        return next((_member(r) for r in ROWS if r["id"] == id), None)


SCHEMA = strawberry.Schema(query=Query)


@asynccontextmanager
async def serve_upstream() -> AsyncIterator[str]:
    """The upstream's endpoint URL while it runs."""
    server = uvicorn.Server(uvicorn.Config(GraphQL(SCHEMA), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task
