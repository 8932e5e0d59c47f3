"""What an operations team sees of a running hub: Prometheus metrics, OpenTelemetry spans and
one structured log line per request.

One `Observer` per app (hub.app builds it), with its own `CollectorRegistry`, so that tests
building many apps in one process never collide on the global registry. It hooks in at the
boundaries that already exist, without touching the federation code: every request at the
/graphql route, every source read at the connector instance (`observe_registry`), every
audit append at the enforcement's audit log (`observe_audit`).

Operation names come from clients, so as label values they are bounded: the first
`max_operation_names` distinct names that look like GraphQL names are kept, anything after
that (or anything that is not a name) is counted as "other".
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry.context import Context as TraceContext
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import INVALID_SPAN, Link, Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

__all__ = ["Observer", "OperationNames", "JsonFormatter", "REQUEST_LOG", "logging_config",
           "metrics_route",
           "otlp_exporter"]

#: the logger of the one line per request (fields in `extra`, formatted by JsonFormatter)
REQUEST_LOG = logging.getLogger("hub.request")

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")

#: request-log fields copied from the record's `extra` (nothing else the record carries)
_LOG_FIELDS = ("request_id", "party", "operation", "duration_ms", "outcome", "status",
               "method", "path")


class OperationNames:
    """Bounded label values for client-chosen operation names."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not _NAME.match(name):
            return "other"
        if name in self._seen:
            return name
        if len(self._seen) >= self.limit:
            return "other"
        self._seen.add(name)
        return name


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request fields. A
    traceback is included only for records that carry one (unexpected failures, never the
    ordinary denials, which are logged as outcomes)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _LOG_FIELDS:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def otlp_exporter(endpoint: str) -> SpanExporter:
    """The OTLP/HTTP exporter (package opentelemetry-exporter-otlp-proto-http, extra `otlp`).
    Imported only when `[hub] otlp_endpoint` is set, so a hub without it needs no exporter."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter: SpanExporter = OTLPSpanExporter(endpoint=endpoint)
    return exporter


class _RecordWhenExported(Sampler):
    """Records spans once a span processor is attached, not before: a span nobody exports
    still cost ~0.1 ms to build (three a request); a dropped one ~0.03 ms."""

    def __init__(self) -> None:
        self.recording = False

    def should_sample(
        self, parent_context: TraceContext | None, trace_id: int, name: str,
        kind: SpanKind | None = None, attributes: Attributes = None,
        links: Sequence[Link] | None = None, trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampler = ALWAYS_ON if self.recording else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links,
                                     trace_state)

    def get_description(self) -> str:
        return "RecordWhenExported"


class Observer:
    """The metrics, the tracer and the request log of one app."""

    def __init__(self, *, exporter: SpanExporter | None = None,
                 max_operation_names: int = 100) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operations = OperationNames(max_operation_names)
        r = self.registry
        self.requests = Counter("yanxing_requests_total", "GraphQL requests by operation name "
                                "and outcome (an error code, or ok)", ["operation", "outcome"],
                                registry=r)
        self.request_seconds = Histogram("yanxing_request_duration_seconds",
                                         "GraphQL request latency", ["operation"], registry=r)
        self.rejected = Counter("yanxing_rejected_requests_total", "requests refused before "
                                "execution (HTTP 4xx/5xx without data) by error code",
                                ["code"], registry=r)
        self.source_calls = Counter("yanxing_source_calls_total", "reads from each source by "
                                    "outcome (ok, or the error class)", ["source", "outcome"],
                                    registry=r)
        self.source_seconds = Histogram("yanxing_source_call_duration_seconds",
                                        "latency of each source read", ["source"], registry=r)
        self.audit_seconds = Histogram("yanxing_audit_append_duration_seconds",
                                       "latency of one audit log append", registry=r)
        self.audit_failures = Counter("yanxing_audit_append_failures_total",
                                      "audit appends that raised", registry=r)
        self.sync_age = Gauge("yanxing_source_sync_age_seconds", "seconds since the last "
                              "successful read from each source", ["source"], registry=r)
        self.rate_limited = Counter("yanxing_rate_limited_requests_total", "requests answered "
                                    "429 RATE_LIMITED, by bucket (address or party)",
                                    ["scope"], registry=r)
        self.shed = Counter("yanxing_shed_requests_total", "requests answered 503 OVERLOADED "
                            "(queue_full or queue_timeout)", ["reason"], registry=r)
        self.in_flight = Gauge("yanxing_requests_in_flight", "/graphql requests running now",
                               registry=r)
        self.queued = Gauge("yanxing_requests_queued", "/graphql requests waiting for a slot",
                            registry=r)
        self.breaker_state = Gauge("yanxing_source_breaker_state", "each source's circuit "
                                   "breaker: 0 closed, 1 half-open, 2 open", ["source"],
                                   registry=r)
        self.outbox_depth = Gauge("yanxing_outbox_deliveries", "write-back deliveries not "
                                  "delivered yet, by source and state (pending, failed)",
                                  ["source", "state"], registry=r)
        self._last_ok: dict[str, float] = {}
        self._registry: Any = None
        self._sampler = _RecordWhenExported()
        self.provider = TracerProvider(sampler=self._sampler)
        if exporter is not None:
            self.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer: Tracer = self.provider.get_tracer("yanxing.hub")

    def _span(self, name: str) -> AbstractContextManager[Span]:
        """A span made current, or while nothing exports spans none at all: a span the sampler
        drops still cost its context switch-in and -out (~25 calls each, three a request);
        nothing in the hub reads the current span but the exporter."""
        if not self._sampler.recording:
            return nullcontext(INVALID_SPAN)
        return self.tracer.start_as_current_span(name)

    def add_span_processor(self, processor: Any) -> None:
        """Export spans to `processor` (the OTLP exporter's; tests plug a
        SimpleSpanProcessor(InMemorySpanExporter()) in here): spans are recorded from now on."""
        self.provider.add_span_processor(processor)
        self._sampler.recording = True

    def attach(self, runtime: Any) -> None:
        """Hook into the runtime's sources and audit log; idempotent and cheap, so the
        endpoint calls it per request (the enforcement may be set after the app is built)."""
        if runtime.enforcement is not None:
            self.observe_audit(runtime.enforcement)
        if runtime.registry is not self._registry:
            self.observe_registry(runtime.registry)
            self._registry = runtime.registry

    # -- sources ---------------------------------------------------------------------------
    def observe_registry(self, registry: Any) -> None:
        """Time every `read` of every source in `registry` (wraps the connector instance's
        bound method once; the registry and the fetch code stay as they are)."""
        for entry in registry:
            connector = entry.connector
            if getattr(connector, "_yanxing_observed", False):
                continue
            connector.read = self._timed_read(entry.name, connector.read)
            connector._yanxing_observed = True

    def _timed_read(self, source: str, read: Callable[[Any], Awaitable[Any]]
                    ) -> Callable[[Any], Awaitable[Any]]:
        async def observed_read(request: Any) -> Any:
            with self._span("source.read") as span:
                span.set_attribute("yanxing.source", source)
                span.set_attribute("yanxing.entity", str(getattr(request, "entity", "")))
                started = time.perf_counter()
                outcome = "ok"
                try:
                    result = await read(request)
                except BaseException as exc:
                    outcome = type(exc).__name__
                    span.set_status(StatusCode.ERROR, outcome)
                    raise
                finally:
                    self.source_seconds.labels(source).observe(time.perf_counter() - started)
                    self.source_calls.labels(source, outcome).inc()
                self._last_ok[source] = time.time()
                return result
        return observed_read

    async def refresh_outbox(self, runtime: Any) -> None:
        """The outbox's depth per source and state, read from the database at scrape time
        (so every replica reports the same rows); a state that emptied goes back to 0."""
        from hub.exchange.outbox import DeliveryState, depth

        try:
            counts = await depth(runtime.session_factory)
        except Exception:  # no outbox table, or the database is down: /readyz says so
            return
        for labels in list(self.outbox_depth._metrics):
            self.outbox_depth.labels(*labels).set(0)
        for (source, state), count in counts.items():
            if state in DeliveryState.ALL:
                self.outbox_depth.labels(source, state).set(count)

    def refresh_sync_age(self) -> None:
        now = time.time()
        for source, at in self._last_ok.items():
            self.sync_age.labels(source).set(now - at)

    def watch_concurrency(self, limit: Any) -> None:
        """Read the in-flight and queued counts of a hub.api.overload.ConcurrencyLimit at
        each scrape."""
        self.in_flight.set_function(lambda: limit.in_flight)
        self.queued.set_function(lambda: limit.queued)

    def refresh_breakers(self) -> None:
        """Each attached source's breaker state, as a number (at each scrape)."""
        for entry in self._registry or ():
            self.breaker_state.labels(entry.name).set(
                _BREAKER_LEVEL.get(entry.breaker.state.value, 0))

    # -- audit -----------------------------------------------------------------------------
    def observe_audit(self, enforcement: Any) -> None:
        """Time every append to the enforcement's audit log, if it has one."""
        log = getattr(enforcement, "audit_log", None)
        if log is None or getattr(log, "_yanxing_observed", False):
            return
        append = log.append

        async def observed_append(event: Any) -> Any:
            with self._span("audit.append"):
                started = time.perf_counter()
                try:
                    return await append(event)
                except BaseException:
                    self.audit_failures.inc()
                    raise
                finally:
                    self.audit_seconds.observe(time.perf_counter() - started)

        log.append = observed_append
        log._yanxing_observed = True

    # -- requests --------------------------------------------------------------------------
    @contextmanager
    def request_span(self, method: str) -> Iterator[Span]:
        with self._span("graphql.request") as span:
            span.set_attribute("http.request.method", method)
            yield span

    def finish_request(self, request: Request, response: Response, span: Span,
                       started: float, request_id: str) -> None:
        """Count, label the span and write the request's log line. Only names and codes:
        never the document, its variables or anything a record holds."""
        state = request.state
        operation = self.operations.label(getattr(state, "operation_name", None))
        party = getattr(state, "party", None) or "anonymous"
        outcome = _outcome(response)
        duration = time.perf_counter() - started
        self.requests.labels(operation, outcome).inc()
        self.request_seconds.labels(operation).observe(duration)
        if response.status_code >= 400:
            self.rejected.labels(outcome).inc()
        span.set_attribute("graphql.operation.name", operation)
        span.set_attribute("yanxing.party", party)
        span.set_attribute("yanxing.outcome", outcome)
        span.set_attribute("http.response.status_code", response.status_code)
        if outcome != "ok":
            span.set_status(StatusCode.ERROR, outcome)
        REQUEST_LOG.info("request", extra={
            "request_id": request_id, "party": party, "operation": operation,
            "duration_ms": round(duration * 1000, 2), "outcome": outcome,
            "status": response.status_code, "method": request.method, "path": request.url.path,
        })


#: BreakerState values as gauge levels (hub.federation.breaker)
_BREAKER_LEVEL = {"closed": 0, "half_open": 1, "open": 2}


def _outcome(response: Response) -> str:
    """"ok", or the first error's extensions.code (the codes are the hub's own words). A body
    without the bytes `"errors"` has no errors member (in JSON text those bytes are a key or a
    whole string value, never part of a longer string): it is not parsed (a 50-member page
    is ~10 KB of JSON to read again for nothing)."""
    raw = getattr(response, "body", None)
    if isinstance(raw, (bytes, bytearray, memoryview)) and b'"errors"' not in bytes(raw):
        return "ok" if response.status_code < 400 else f"http_{response.status_code}"
    try:
        body = json.loads(bytes(response.body))
    except (ValueError, AttributeError):
        return "ok" if response.status_code < 400 else f"http_{response.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        code = (errors[0].get("extensions") or {}).get("code")
        if isinstance(code, str) and _NAME.match(code):
            return code
        return "ERROR"
    return "ok" if response.status_code < 400 else f"http_{response.status_code}"


def _allowed(host: str | None, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
             ) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def metrics_route(observer: Observer, allow: Sequence[str]
                  ) -> Callable[[Request], Awaitable[Response]]:
    """GET /metrics for clients inside `allow` (CIDRs; `[hub] metrics_allow`), 404 for anyone
    else, so that the route does not even show that it exists. The client address is the
    socket's peer (uvicorn's, which honours --forwarded-allow-ips only when told to)."""
    networks = [ipaddress.ip_network(cidr, strict=False) for cidr in allow]

    async def metrics(request: Request) -> Response:
        client = request.client
        if not _allowed(client.host if client is not None else None, networks):
            return PlainTextResponse("Not Found", status_code=404)
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            observer.attach(runtime)
        observer.refresh_sync_age()
        observer.refresh_breakers()
        if runtime is not None:
            await observer.refresh_outbox(runtime)
        return Response(generate_latest(observer.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


def logging_config(log_format: str) -> dict[str, Any]:
    """uvicorn's `log_config` for `[hub] log_format`: its own loggers plus `hub` (the request
    lines and errors), all on stderr, as JSON objects or as uvicorn's text lines."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        for name in config["formatters"]:
            config["formatters"][name] = {"()": "hub.api.observe.JsonFormatter"}
    config["handlers"]["hub"] = {"class": "logging.StreamHandler", "formatter": "default",
                                 "stream": "ext://sys.stderr"}
    config["loggers"]["hub"] = {"handlers": ["hub"], "level": "INFO", "propagate": False}
    return config
