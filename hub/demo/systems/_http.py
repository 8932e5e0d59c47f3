"""A small aiohttp server base for the simulated platforms: 127.0.0.1, ephemeral port, and
injected latency or failures so the hub's partial-failure paths are tested against a real
socket rather than a stub.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

if TYPE_CHECKING:
    from hub.demo.generator import World
    from hub.demo.model import Activity, Attendance, Organization, SystemMember

__all__ = [
    "RestServer",
    "Collection",
    "world_collections",
    "parse_since",
    "encode_cursor",
    "decode_cursor",
    "json_response",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def json_response(body: Any, status: int = 200) -> web.Response:
    """UTF-8 JSON with Chinese as characters, as the real platforms send it."""
    return web.json_response(body, status=status, dumps=_dumps)


def encode_cursor(last_id: str) -> str:
    """Opaque to clients, like real platforms' cursors: base64url of the last id served."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """Raise ValueError for anything this server did not hand out."""
    padded = cursor + "=" * (-len(cursor) % 4)
    return base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()


def parse_since(text: str, *, naive_tz: timezone = UTC) -> datetime:
    """Accept ISO 8601 with "+08:00" or "+0800" (and a "+" turned into a space by a client
    that forgot to encode it), or a naive time in `naive_tz`."""
    text = text.strip().replace(" ", "+") if "T" in text else text.strip()
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S%z")):
        try:
            value = parse(text)
            break
        except ValueError:
            continue
    else:
        value = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return value if value.tzinfo else value.replace(tzinfo=naive_tz)


@dataclass(slots=True)
class Collection:
    """Rows of one entity, sorted by id, with their change times for changed-since reads."""

    id_key: str
    rows: list[dict[str, Any]]
    updated: list[datetime]
    _index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        order = sorted(range(len(self.rows)), key=lambda i: str(self.rows[i][self.id_key]))
        self.rows = [self.rows[i] for i in order]
        self.updated = [self.updated[i] for i in order]
        self._index = {str(r[self.id_key]): i for i, r in enumerate(self.rows)}

    def by_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Rows for the ids that exist, in the order asked; unknown ids are simply absent."""
        return [self.rows[self._index[i]] for i in ids if i in self._index]

    def select(self, since: datetime | None) -> list[dict[str, Any]]:
        if since is None:
            return self.rows
        return [r for r, u in zip(self.rows, self.updated) if u > since]

    def after(self, rows: list[dict[str, Any]], last_id: str | None) -> int:
        """Index of the first row whose id sorts after `last_id` (rows are sorted by id)."""
        if last_id is None:
            return 0
        lo, hi = 0, len(rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if str(rows[mid][self.id_key]) <= last_id:
                lo = mid + 1
            else:
                hi = mid
        return lo


#: an endpoint of a simulated platform: (URL name, id key of its rows, row builder)
Endpoint = tuple[str, str, Callable[[Any], dict[str, Any]]]


def world_collections(
    world: World,
    system: str,
    *,
    members: Endpoint,
    orgs: Endpoint,
    activities: Endpoint,
    attendance: Endpoint,
) -> dict[str, Collection]:
    """`system`'s share of `world` as one `Collection` per endpoint, in that order.

    Each platform names its endpoints, ids and JSON its own way; what changes when is the
    same for all: a member row with the person's destination record, an attendance row with
    its activity.
    """
    member_rows: list[SystemMember] = list(world.members_in(system))
    activity_rows: list[Activity] = world.activities(system)
    attendance_rows: list[Attendance] = list(world.attendance(system))
    org_rows: list[Organization] = world.organizations(system)
    activity_updated = {a.local_id: a.updated_at for a in activity_rows}

    def collection(
        endpoint: Endpoint, rows: Sequence[Any], updated: list[datetime]
    ) -> tuple[str, Collection]:
        name, id_key, to_json = endpoint
        return name, Collection(id_key, [to_json(r) for r in rows], updated)

    return dict(
        [
            collection(
                members, member_rows, [m.person.destination_updated_at for m in member_rows]
            ),
            collection(orgs, org_rows, [o.updated_at for o in org_rows]),
            collection(activities, activity_rows, [a.updated_at for a in activity_rows]),
            collection(
                attendance,
                attendance_rows,
                [activity_updated[a.activity_id] for a in attendance_rows],
            ),
        ]
    )


class RestServer:
    """Base of the simulated REST platforms. Subclasses add routes and `authenticate`.

    `latency` seconds are added to every request; `fail_rate` of requests answer 503 and
    `garbage_rate` answer 200 with an HTML maintenance page instead of JSON. Both can be
    changed while the server runs. `requests` counts data requests served (after auth), so
    tests can assert batching.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        garbage_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.latency = latency
        self.fail_rate = fail_rate
        self.garbage_rate = garbage_rate
        self.requests = 0
        self._rng = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- hooks ----------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """Override: the platform's endpoints."""
        raise NotImplementedError

    def authenticate(self, request: web.Request) -> web.Response | None:
        """Override: None when the request may proceed, else the platform's 401 response."""
        return None

    def error_response(self, status: int, message: str) -> web.Response:
        """Override: the platform's error body shape."""
        return json_response({"message": message}, status=status)

    # -- running --------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        if (denied := self.authenticate(request)) is not None:
            return denied
        if self.fail_rate and self._rng.random() < self.fail_rate:
            return self.error_response(503, "系统繁忙，请稍后再试")
        if self.garbage_rate and self._rng.random() < self.garbage_rate:
            return web.Response(text="<html><body>系统维护中</body></html>",
                                content_type="text/html")
        self.requests += 1
        try:
            return await handler(request)
        except ValueError as exc:
            return self.error_response(400, f"参数错误: {exc}")

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self.routes())
        return app

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Listen on `host`:`port` (0 = a free port chosen by the OS; see `.port`)."""
        runner = web.AppRunner(self.build_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
