"""Server-sent events (text/event-stream) for a page's EventSource.

The wire format (HTML Living Standard, "Server-sent events"): fields `event:`, `id:`,
`data:` (one line each; a multi-line value is several `data:` lines, joined with newlines by
the browser), `retry:` (reconnect delay, ms), a blank line ending each event, and comment
lines starting with `:` that the browser ignores (used as a heartbeat). A browser reconnects
on its own after the stream ends and sends the last `id:` it saw as `Last-Event-ID`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse

from console.web import SECURITY_HEADERS

__all__ = ["event", "comment", "retry", "stream_response"]


def _clean(value: str) -> str:
    """A field value on one line: CR and LF would end the field (and could forge another)."""
    return value.replace("\r", " ").replace("\n", " ")


def event(data: str, *, name: str | None = None, event_id: str | None = None) -> str:
    lines = []
    if name:
        lines.append(f"event: {_clean(name)}")
    if event_id is not None:
        lines.append(f"id: {_clean(event_id)}")
    lines.extend(f"data: {line}" for line in data.replace("\r", "").split("\n"))
    return "\n".join(lines) + "\n\n"


def comment(text: str = "") -> str:
    return f": {_clean(text)}\n\n"


def retry(milliseconds: int) -> str:
    return f"retry: {int(milliseconds)}\n\n"


def stream_response(events: AsyncIterator[str]) -> StreamingResponse:
    """The stream with the console's headers; `X-Accel-Buffering: no` asks a proxy in front
    (nginx) not to hold the events back."""
    return StreamingResponse(events, media_type="text/event-stream; charset=utf-8",
                             headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"})
