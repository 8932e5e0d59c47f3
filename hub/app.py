"""The Starlette application: /graphql, GraphiQL, static assets, /healthz and /readyz.

`create_app(settings)` opens the index engine and every source connector in the lifespan and
closes them there (starlette `lifespan`); `create_app(runtime)` serves an already-open
`Runtime` (tests, the demo, benchmarks) and closes it at shutdown.
`authenticate` is the hook stage 2 fills with the party-token verifier; it returns the `Caller`
or raises `AuthenticationError` (HTTP 401).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import strawberry
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hub.api.graphiql import graphiql_html
from hub.api.http import Authenticate, GraphQLEndpoint, anonymous
from hub.api.limits import Limits
from hub.api.runtime import Runtime
from hub.api.schema import published_schema
from hub.federation.registry import HealthStatus, SourceEntry, SourceRegistry
from hub.policy.base import Policy
from hub.settings import Settings
from hub.store.session import create_engine, create_session_factory, init_db

__all__ = ["create_app", "open_runtime", "STATIC_DIR"]

STATIC_DIR = Path(__file__).parent / "api" / "static"


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, policy: Policy | None = None) -> AsyncIterator[Runtime]:
    """Open the engine and every configured source; close them all on exit."""
    from connectors.factory import open_connector

    engine = create_engine(settings.hub.database_url)
    registry = SourceRegistry()
    try:
        await init_db(engine)
        limits = Limits.from_object(settings.limits)
        for source in settings.sources:
            registry.add(SourceEntry(
                name=source.name, side=source.side, connector=open_connector(source.mapping),
                owner=source.owner, title=source.title, timeout=limits.source_timeout_seconds,
            ))
        runtime = Runtime(
            engine=engine, session_factory=create_session_factory(engine), registry=registry,
            limits=limits, hash_key=settings.hub.secret_bytes,
        )
        if policy is not None:
            runtime.policy = policy
        yield runtime
    finally:
        await registry.aclose()
        await engine.dispose()


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def healthz(request: Request) -> Response:
    """The process is alive (no dependencies checked: restarts would not fix them)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to answer: the index is reachable and every source answers a ping."""
    runtime = _runtime(request)
    details: dict[str, object] = {}
    ready = True
    try:
        async with runtime.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 5.0)
        details["database"] = {"status": "ok"}
    except Exception as exc:  # any failure means not ready; say which kind, not the URL
        ready = False
        details["database"] = {"status": "down", "error": type(exc).__name__}
    sources: dict[str, object] = {}
    for name, health in (await runtime.registry.ping_all()).items():
        sources[name] = {"status": health.status.value, "code": health.code}
        ready = ready and health.status is HealthStatus.OK
    details["sources"] = sources
    return JSONResponse({"status": "ready" if ready else "not ready", **details},
                        status_code=200 if ready else 503)


async def graphiql(request: Request) -> Response:
    return HTMLResponse(graphiql_html())


def create_app(
    config: Settings | Runtime,
    *,
    authenticate: Authenticate | None = None,
    policy: Policy | None = None,
    schema: strawberry.Schema | None = None,
) -> Starlette:
    """The hub's ASGI app over `config` (Settings: opened in the lifespan; Runtime: as given)."""
    endpoint = GraphQLEndpoint(schema or published_schema(), _runtime, authenticate or anonymous)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if isinstance(config, Runtime):
            try:
                yield
            finally:
                await config.registry.aclose()
                await config.engine.dispose()
            return
        async with open_runtime(config, policy) as runtime:
            app.state.runtime = runtime
            yield

    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            Route("/", graphiql, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )
    if isinstance(config, Runtime):
        if policy is not None:
            config.policy = policy
        app.state.runtime = config
    return app
