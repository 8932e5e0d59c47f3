"""What operations see, through real HTTP: /metrics (loopback only), a span per request with
child spans per source read and audit append, and one JSON log line per request that carries
no personal data."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import httpx
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub.api.observe import REQUEST_LOG, JsonFormatter, Observer, OperationNames
from tests.api.trusted import Trusted

MEMBERS = "query Page { members(first: 3) { nodes { id name idNumber phone } } }"


def observer_of(t: Trusted) -> Observer:
    transport: Any = t.world.client._transport
    observer: Observer = transport.app.state.observer
    return observer


async def metrics_text(t: Trusted) -> str:
    response = await t.world.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_count_requests_sources_and_audit(trusted: Trusted) -> None:
    await trusted.gql(MEMBERS, party="wenjiang")
    await trusted.post("{ members { nodes { name }", party="wenjiang")  # a syntax error
    await trusted.world.client.post("/graphql", json={"query": "{ __typename }"})  # no token
    await trusted.trust.audit_log.drain()
    text = await metrics_text(trusted)
    assert 'yanxing_requests_total{operation="Page",outcome="ok"} 1.0' in text
    assert 'yanxing_requests_total{operation="anonymous",outcome="UNAUTHENTICATED"} 1.0' in text
    assert 'yanxing_rejected_requests_total{code="UNAUTHENTICATED"} 1.0' in text
    assert 'yanxing_request_duration_seconds_bucket{le="+Inf",operation="Page"} 1.0' in text
    assert 'yanxing_source_calls_total{outcome="ok",source=' in text
    assert "yanxing_source_call_duration_seconds_count{source=" in text
    assert "yanxing_source_sync_age_seconds{source=" in text
    count = [line for line in text.splitlines()
             if line.startswith("yanxing_audit_append_duration_seconds_count")]
    assert count and float(count[0].split()[-1]) >= 3


async def test_metrics_are_not_public(trusted: Trusted) -> None:
    transport: Any = trusted.world.client._transport
    app = transport.app
    outside = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=outside, base_url="http://hub") as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert "yanxing" not in response.text


async def test_operation_names_are_bounded_label_values(trusted: Trusted) -> None:
    for i in range(130):
        await trusted.post(f"query Q{i} {{ __typename }}", party="wenjiang")
    await trusted.post('query bad { __typename }', party="wenjiang")
    text = await metrics_text(trusted)
    names = {line.split('operation="')[1].split('"')[0] for line in text.splitlines()
             if line.startswith("yanxing_requests_total{")}
    assert len(names) <= 101
    assert "other" in names
    labels = OperationNames(limit=2)
    assert [labels.label(n) for n in ("a", "b", "c", "a", "x y", None)] == \
        ["a", "b", "other", "a", "other", "anonymous"]


async def test_spans_per_request_source_read_and_audit_append(trusted: Trusted) -> None:
    exporter = InMemorySpanExporter()
    observer_of(trusted).add_span_processor(SimpleSpanProcessor(exporter))
    await trusted.gql(MEMBERS, party="wenjiang")
    await trusted.trust.audit_log.drain()
    spans = exporter.get_finished_spans()
    requests = [s for s in spans if s.name == "graphql.request"]
    assert len(requests) == 1
    root = requests[0]
    assert root.attributes is not None
    assert root.attributes["graphql.operation.name"] == "Page"
    assert root.attributes["yanxing.party"] == "wenjiang"
    children = [s for s in spans if s.parent is not None
                and s.parent.span_id == root.context.span_id]
    names = {s.name for s in children}
    assert "source.read" in names, [s.name for s in spans]
    assert "audit.append" in names, [s.name for s in spans]


async def test_one_json_line_per_request_without_personal_data(trusted: Trusted) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    REQUEST_LOG.addHandler(handler)
    REQUEST_LOG.setLevel(logging.INFO)
    try:
        page = await trusted.gql(MEMBERS, party="wenjiang")
        seeded = [v for node in page["data"]["members"]["nodes"]
                  for k, v in node.items() if k != "id" and v]
        assert seeded
        for value in seeded:
            await trusted.post(f'query Find {{ members(filter: {{name: "{value}"}}) '
                               "{ totalCount } }", party="wenjiang")
            await trusted.post("query V($n: String) { members(filter: {name: $n}) "
                               "{ totalCount } }", {"n": value}, party="luxian")
        await trusted.world.client.post("/graphql", json={"query": "{ __typename }"},
                                        headers={"X-Request-Id": "trace-abc-123"})
    finally:
        REQUEST_LOG.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 1 + 2 * len(seeded) + 1
    first = lines[0]
    assert first["operation"] == "Page" and first["party"] == "wenjiang"
    assert first["outcome"] == "ok" and first["status"] == 200
    assert isinstance(first["duration_ms"], float) and len(first["request_id"]) == 32
    assert lines[-1]["request_id"] == "trace-abc-123"
    assert lines[-1]["outcome"] == "UNAUTHENTICATED" and "traceback" not in lines[-1]
    logged = stream.getvalue()
    for value in seeded:
        assert value not in logged
