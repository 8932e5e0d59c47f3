"""The Starlette application: /graphql, GraphiQL, static assets, /healthz and /readyz.

`create_app(settings)` opens the index engine and every source connector in the lifespan and
closes them there (starlette `lifespan`); `create_app(runtime)` serves an already-open
`Runtime` (tests, the demo, benchmarks) and closes it at shutdown.
`trust` (hub.settings.TrustConfig; by default `settings.trust`, yanxing.toml's [trust]) turns
on signed contracts: party tokens (HTTP 401 without a good one), a contract policy built per
request, and the audit log. `authenticate` overrides how
the `Caller` is found (it returns one or raises `AuthenticationError`, HTTP 401).
`mode` (hub.settings.Mode; by default `settings.hub.mode`, and production for a Runtime) decides
what the endpoint reveals: GraphiQL, its assets and introspection in development only. A
production app without any authentication (no trust, no enforcement, no `authenticate`) is
refused with ConfigError unless its mode says `open_access`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import strawberry
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from hub.api.checkin_code import checkin_code_route
from hub.api.devtokens import DevTokens, Mint, token_route
from hub.api.frontend import cors_middleware, sdl_route
from hub.api.graphiql import graphiql_html
from hub.api.http import Authenticate, GraphQLEndpoint
from hub.api.letter_pdf import ROUTE as LETTER_PDF_ROUTE
from hub.api.letter_pdf import letter_pdf
from hub.api.log_privacy import install_log_redaction
from hub.api.observe import Observer, metrics_route, otlp_exporter
from hub.api.overload import ConcurrencyLimit
from hub.api.ratelimit import MemoryBuckets, RateLimiter, RedisBuckets
from hub.api.reconcile_xlsx import ROUTE as RECONCILIATION_XLSX_ROUTE
from hub.api.reconcile_xlsx import reconciliation_xlsx
from hub.api.runtime import Runtime
from hub.api.schema import published_schema, subgraph_schema
from hub.api.ws import SubscriptionEndpoint
from hub.errors import ConfigError
from hub.federation.breaker import CircuitBreaker, RetryBudget
from hub.federation.sources import SourceEntry, SourceRegistry
from hub.policy.base import Policy
from hub.settings import Mode, Settings
from hub.store.migrate import require_head
from hub.store.session import create_engine, create_session_factory, init_db

if TYPE_CHECKING:
    from hub.contracts.trust import Trust, TrustConfig
    from hub.exchange.outbox import OutboxConfig

__all__ = ["create_app", "open_runtime", "STATIC_DIR"]

STATIC_DIR = Path(__file__).parent / "api" / "static"


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, policy: Policy | None = None, trust: TrustConfig | None = None,
    *, migrate: bool = True,
) -> AsyncIterator[Runtime]:
    """Open the engine and every configured source (and, with `trust`, the registry, contract
    store and audit log: party tokens, contract policy and audit on every request); close them
    all on exit. `migrate`: upgrade the database to the code's head (demo, tests); False only
    checks that it is there (`yanxing serve`: SchemaOutOfDate otherwise)."""
    from connectors.factory import open_connector

    engine = create_engine(settings.hub.database_url)
    registry = SourceRegistry()
    try:
        if migrate:
            await init_db(engine)
        else:
            await require_head(engine)
        limits = settings.limits
        for source in settings.sources:
            registry.add(SourceEntry(
                name=source.name, side=source.side, connector=open_connector(source.mapping),
                owner=source.owner, title=source.title, timeout=limits.source_timeout_seconds,
                breaker=CircuitBreaker(limits.breaker_failures, limits.breaker_reset_seconds),
                retry_budget=RetryBudget(limits.retry_budget_ratio),
            ))
        runtime = Runtime(
            engine=engine, session_factory=create_session_factory(engine), registry=registry,
            limits=limits, hash_key=settings.hub.secret_bytes,
        )
        if policy is not None:
            runtime.policy = policy
        elif settings.extensions:  # masked and identifying extension fields leave masked
            from hub.api.extension_fields import masking_policy

            runtime.policy = masking_policy(settings.extensions)
        if trust is not None:
            runtime.enforcement = await _open_trust(trust, runtime)
        try:
            yield runtime
        finally:
            await _close_trust(runtime)
    finally:
        await registry.aclose()
        await engine.dispose()


async def _open_trust(trust: TrustConfig, runtime: Runtime) -> Trust:
    from hub.contracts.trust import Trust

    return await Trust.open(trust, runtime.engine, runtime.session_factory, runtime.registry)


async def _close_trust(runtime: Runtime) -> None:
    close = getattr(runtime.enforcement, "close", None)
    if close is not None:
        await close()


def _freeze_startup_objects() -> None:
    """Move everything built at startup (schema, connectors, mappings) out of the collector's
    reach: full collections then scan only per-request garbage, which takes the GC pauses out
    of the latency tail (bench: 50-member page p99 roughly halves)."""
    gc.collect()
    gc.freeze()


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _ws_runtime(websocket: WebSocket) -> Runtime:
    return websocket.app.state.runtime  # type: ignore[no-any-return]


async def healthz(request: Request) -> Response:
    """The process is alive (no dependencies checked: restarts would not fix them)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to answer: the hub's own index database is reachable. Sources are reported in
    the body (health and breaker) but do not make the hub unready: it answers partially when
    one is down, and taking every replica out of rotation for a source's fault would turn one
    failing system into a whole outage. Needs no token, so source health is reused for
    `limits.health_cache_seconds`: probing /readyz in a loop does not become load on the
    sources."""
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
    pinged = await runtime.registry.ping_all(max_age=runtime.limits.health_cache_seconds)
    for name, health in pinged.items():
        sources[name] = {"status": health.status.value, "code": health.code}
    details["sources"] = sources
    details["breakers"] = {e.name: e.breaker.state.value for e in runtime.registry}
    return JSONResponse({"status": "ready" if ready else "not ready", **details},
                        status_code=200 if ready else 503)


DemoTokens = Callable[[str], str]


def create_app(
    config: Settings | Runtime,
    *,
    authenticate: Authenticate | None = None,
    policy: Policy | None = None,
    schema: strawberry.Schema | None = None,
    trust: TrustConfig | None = None,
    demo_tokens: tuple[Sequence[tuple[str, str]], DemoTokens] | None = None,
    mode: Mode | None = None,
    migrate: bool = True,
    federation: bool | None = None,
    observer: Observer | None = None,
    outbox: OutboxConfig | None = None,
) -> Starlette:
    """The hub's ASGI app over `config` (Settings: opened in the lifespan; Runtime: as given).

    `trust`: serve under signed contracts (hub.contracts.trust); Settings default to their
    own `trust` ([trust] in yanxing.toml); without any every caller is anonymous under
    `policy` (the masking policy). A Runtime may carry its enforcement already.
    `demo_tokens` (the demo ONLY): ((party id, name), ...) and a function minting a fresh
    token for a party; adds GET /demo/token?party=ID and a party picker to GraphiQL.
    `mode`: production unless given, or unless Settings say `[hub] mode = "development"`.
    `migrate` (Settings only): upgrade the database in the lifespan; False: refuse to start
    unless it is at the migrations' head (see open_runtime).
    `federation`: serve the Apollo Federation 2 subgraph schema (hub.api.subgraph); by
    default `[hub] federation` for Settings (true unless turned off), off for a bare Runtime.
    `observer` (hub.api.observe): metrics at /metrics (for `[hub] metrics_allow` clients
    only, loopback by default), spans (OTLP to `[hub] otlp_endpoint` if set) and the request
    log line; a fresh one per app unless given (tests pass one to read its spans).
    `outbox` (hub.exchange.outbox.OutboxConfig): how the write-back worker retries; its
    defaults unless given (tests shorten the backoff).
    """
    install_log_redaction()  # no personal data in the server's logs (hub.api.log_privacy)
    if mode is None:
        mode = config.hub.mode if isinstance(config, Settings) else Mode()
    authenticated = authenticate is not None or trust is not None or (
        config.trust is not None if isinstance(config, Settings)
        else config.enforcement is not None)
    _check_mode(mode, authenticated=authenticated, demo=demo_tokens is not None,
                config_path=config.path if isinstance(config, Settings) else None)
    if federation is None:
        federation = config.hub.federation if isinstance(config, Settings) else False
    if schema is None:
        extensions = config.extensions if isinstance(config, Settings) else ()
        if extensions:  # the deployment's own schema: the core one plus Member.extensions
            from hub.api.extension_fields import deployment_schema

            schema = deployment_schema(extensions, federation=federation)
        else:
            schema = subgraph_schema() if federation else published_schema()
    if observer is None:
        endpoint_url = config.hub.otlp_endpoint if isinstance(config, Settings) else None
        observer = Observer(exporter=otlp_exporter(endpoint_url) if endpoint_url else None)
    metrics_allow = config.hub.metrics_allow if isinstance(config, Settings) \
        else ("127.0.0.1/32", "::1/128")
    limits = config.limits
    concurrency = ConcurrencyLimit(limits.max_concurrent_requests, limits.max_queued_requests,
                                   limits.queue_timeout_seconds)
    observer.watch_concurrency(concurrency)
    rate_limiter = RateLimiter(limits.rate, _buckets(config))
    endpoint = GraphQLEndpoint(schema, _runtime, authenticate, mode, observer,
                               rate_limiter=rate_limiter, concurrency=concurrency)
    subscriptions = SubscriptionEndpoint(schema, _ws_runtime, authenticate, mode)
    parties = list(demo_tokens[0]) if demo_tokens is not None else None
    dev_keys = config.hub.dev_party_keys if isinstance(config, Settings) else ()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with serving(app):
                if dev_keys and mode.is_development:
                    dev = DevTokens.from_key_files(dev_keys, app.state.runtime.enforcement)
                    app.state.mint = dev.mint
                    app.state.demo_parties = dev.parties
                yield
        finally:
            observer.provider.shutdown()  # flushes spans still queued for the OTLP exporter
            await rate_limiter.aclose()

    @contextlib.asynccontextmanager
    async def serving(app: Starlette) -> AsyncIterator[None]:
        if isinstance(config, Runtime):
            try:
                if trust is not None:
                    config.enforcement = await _open_trust(trust, config)
                async with delivering(config):
                    _freeze_startup_objects()
                    yield
            finally:
                await _close_trust(config)
                await config.registry.aclose()
                await config.engine.dispose()
            return
        async with open_runtime(config, policy, trust if trust is not None else config.trust,
                                migrate=migrate) as runtime:
            app.state.runtime = runtime
            async with delivering(runtime):
                _freeze_startup_objects()
                yield

    @contextlib.asynccontextmanager
    async def delivering(runtime: Runtime) -> AsyncIterator[None]:
        """Write-back (hub.exchange.outbox) while the app serves: every ledger entry queues
        its deliveries (`not_applicable` ones too, saying the entry stays in the hub), and
        the delivery worker runs when a configured source takes writes."""
        from hub.exchange.outbox import DeliveryWorker

        worker = DeliveryWorker(runtime.session_factory, runtime.registry, outbox)
        runtime.outbox = worker
        if worker.can_deliver:
            worker.start()
        try:
            yield
        finally:
            await worker.stop()
            runtime.outbox = None

    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        WebSocketRoute("/graphql", subscriptions.handle),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_route(observer, metrics_allow), methods=["GET"]),
        Route("/checkin-code/{org}", checkin_code_route(_runtime), methods=["GET"]),
        Route("/schema.graphql", sdl_route(mode, _runtime), methods=["GET"]),
        Route(LETTER_PDF_ROUTE, letter_pdf, methods=["GET"]),  # 年终发函 PDFs (issue 8)
        # 双向对账 workbooks for a run's parties (the console's download, issue 14)
        Route(RECONCILIATION_XLSX_ROUTE, reconciliation_xlsx, methods=["GET"]),
    ]
    if mode.graphiql:
        routes += [Route("/", graphiql, methods=["GET"]),
                   Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")]
    if mode.is_development and (demo_tokens is not None or dev_keys):
        tokens = token_route(lambda request: request.app.state.demo_parties or (),
                             lambda request: getattr(request.app.state, "mint", None))
        routes += [Route("/dev/token", tokens, methods=["GET"]),
                   Route("/demo/token", tokens, methods=["GET"])]  # the demo's old name
    cors_origins = config.hub.cors_origins if isinstance(config, Settings) else ()
    app = Starlette(routes=routes, lifespan=lifespan, middleware=cors_middleware(cors_origins))
    app.state.demo_parties = parties
    if demo_tokens is not None:
        app.state.mint = _demo_mint(demo_tokens[1])
    app.state.observer = observer
    if isinstance(config, Runtime):
        if policy is not None:
            config.policy = policy
        app.state.runtime = config
    return app


def _check_mode(mode: Mode, *, authenticated: bool, demo: bool, config_path: Path | None) -> None:
    """Refuse, before anything opens, an app that would serve production unauthenticated or
    hand out demo tokens (the demo holds every party's private key)."""
    problems: list[str] = []
    where = str(config_path) if config_path is not None else "yanxing.toml"
    if not mode.is_development and not authenticated and not mode.open_access:
        problems.append(
            f"{where}: production mode needs a [trust] table: without one every caller is "
            "anonymous and no contract limits what it sees. Add [trust] (var/demo/yanxing.toml, "
            "written by `yanxing demo`, shows one), or set [hub] open_access = true if a "
            "gateway in front of the hub authenticates every request, or [hub] mode = "
            '"development" for a trial on your own machine')
    if demo and not mode.is_development:
        problems.append(f"{where}: demo party tokens (/demo/token) are served in development "
                        "mode only")
    if problems:
        raise ConfigError(problems)


async def graphiql(request: Request) -> Response:
    return HTMLResponse(graphiql_html(parties=getattr(request.app.state, "demo_parties", None)))


def _demo_mint(tokens: DemoTokens) -> Mint:
    """The demo's signer as the token route's (the demo's tokens carry its own purpose)."""

    async def mint(party: str, purpose: str | None) -> str:
        return tokens(party)

    return mint


def _buckets(config: Settings | Runtime) -> MemoryBuckets | RedisBuckets:
    """Rate-limit buckets in Redis when the hub has one ([hub] redis_url, else a Redis
    [trust] replay_cache), shared by every process; in this process otherwise."""
    url = None
    if isinstance(config, Settings):
        url = config.hub.redis_url
        replay = config.trust.replay_cache if config.trust is not None else None
        if url is None and replay is not None and replay not in ("database", "memory"):
            url = replay
    return RedisBuckets.from_url(url) if url is not None else MemoryBuckets()

