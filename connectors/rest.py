"""Provincial and city platforms (蓉城先锋, 浙里, study platforms…) over REST, with aiohttp.

Everything system-specific comes from the mapping: the URL path and the dotted path to the
record list (or, with `format = "xml"`, XPath paths: connectors._xml), the paging style
(cursor, page/size, offset), the batch-by-ids parameter, the changed-since parameter, whether
those go in the query or in a POST body (`method = "POST"`, `body = "json" | "form"`), and the
authentication (bearer token, API key header, appKey + timestamp + HMAC-SHA256 signature over
the sorted query, or OAuth2 client credentials: connectors.oauth2). aiohttp exceptions are
translated at one boundary (`map_client_error`), most specific first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC
from functools import partial
from typing import Any, ClassVar

import aiohttp

from connectors._mapped import MappedConnector
from connectors._records import MISSING
from connectors._records import dig as _dig
from connectors._writes import row_of
from connectors._xml import XmlRefused, parse_xml, xml_items, xml_path, xml_value
from connectors.auth import authenticator_for, sign_params
from connectors.base import (
    DataIssue,
    Location,
    ReadRequest,
    ReadResult,
    Record,
    WriteRequest,
    WriteResult,
)
from connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    NotSupported,
    SourceInvalid,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
    scrub,
)
from connectors.mapping import EntityMapping, SourceMapping
from connectors.oauth2 import ClientCredentials

__all__ = ["RestConnector", "sign_params", "map_client_error", "CLIENT_ERROR_MAP",
           "DEFAULT_MAX_RESPONSE_BYTES"]

#: the largest answer read from a system unless its [connection] says `max_response_bytes`:
#: a source (or whoever impersonates it) must not make the hub buffer gigabytes
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024

def _aiohttp(name: str) -> type[BaseException] | None:
    """An aiohttp exception class by name; some were added in 3.10 (pyproject allows 3.9)."""
    found = getattr(aiohttp, name, None)
    return found if isinstance(found, type) else None


_ERROR_NAMES: tuple[tuple[str, type[ConnectorError]], ...] = (
    ("ConnectionTimeoutError", SourceTimeout),
    ("SocketTimeoutError", SourceTimeout),
    ("ServerTimeoutError", SourceTimeout),
    ("ContentTypeError", SourceInvalid),
    ("ClientHttpProxyError", SourceUnavailable),           # the proxy failed, not the source
    ("ClientResponseError", SourceInvalid),                # WS handshake, TooManyRedirects, …
    ("InvalidUrlRedirectClientError", SourceInvalid),      # the *source* redirected us badly
    ("NonHttpUrlRedirectClientError", SourceInvalid),
    ("RedirectClientError", SourceInvalid),
    ("InvalidURL", ConnectorConfigError),                  # our base_url/path is wrong
    ("NonHttpUrlClientError", ConnectorConfigError),
    ("ClientPayloadError", SourceInvalid),
    ("ServerFingerprintMismatch", SourceRejected),
    ("ClientSSLError", SourceRejected),                    # certificate / SSL handshake
    ("ClientConnectorDNSError", SourceUnavailable),
    ("ClientProxyConnectionError", SourceUnavailable),
    ("ClientConnectorError", SourceUnavailable),           # connection refused
    ("ServerDisconnectedError", SourceUnavailable),
    ("ClientConnectionResetError", SourceUnavailable),
    ("ServerConnectionError", SourceUnavailable),
    ("UploadAbortedError", SourceUnavailable),
    ("ClientOSError", SourceUnavailable),
    ("ClientConnectionError", SourceUnavailable),
)

#: aiohttp exception -> ours, most specific first (the first isinstance match wins)
CLIENT_ERROR_MAP: tuple[tuple[type[BaseException], type[ConnectorError]], ...] = (
    *((cls, ours) for name, ours in _ERROR_NAMES if (cls := _aiohttp(name)) is not None),
    (asyncio.TimeoutError, SourceTimeout),
    (aiohttp.ClientError, SourceUnavailable),
)


def map_client_error(source: str, exc: BaseException, where: str) -> ConnectorError:
    """Translate an aiohttp (or timeout) exception into the connector error tree."""
    for foreign, ours in CLIENT_ERROR_MAP:
        if isinstance(exc, foreign):
            message = f"{where}: {type(exc).__name__}"
            if ours is ConnectorConfigError:
                return ConnectorConfigError(
                    f"{source}: {message}: the base_url or path is not a valid URL"
                )
            return ours(source, message)
    return SourceUnavailable(source, f"{where}: {type(exc).__name__}")


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    """body["data"]["memberId"] = value for "data.memberId"."""
    *parents, last = dotted.split(".")
    for part in parents:
        child = body.setdefault(part, {})
        if not isinstance(child, dict):  # "a" and "a.b" both mapped: the nested one wins
            child = body[part] = {}
        body = child
    body[last] = value


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None


def _message_of(answer: Any) -> str | None:
    """The system's own error text, where platforms put it."""
    if isinstance(answer, Mapping):
        for key in ("message", "msg", "errmsg", "error", "errorMessage"):
            value = answer.get(key)
            if isinstance(value, str) and value.strip():
                return value
    return None


class _Unauthorized(SourceRejected):
    """HTTP 401: with OAuth2, the token may have expired early (asked again once)."""


def _numeric(paging: Any) -> frozenset[str]:
    """The paging parameters a JSON body sends as numbers."""
    if paging is None:
        return frozenset()
    names = (paging.size_param, paging.page_param, paging.offset_param, paging.limit_param)
    return frozenset(n for n in names if n)


class RestConnector(MappedConnector):
    """Reads entities from a JSON API; one aiohttp session per connector, opened lazily."""

    kind: ClassVar[str] = "rest"
    source_noun: ClassVar[str] = "system"

    def __init__(self, mapping: SourceMapping) -> None:
        entities = mapping.entities.values()
        super().__init__(
            mapping,
            by_keys=any(e.by_keys for e in entities),
            changes=any(e.changed_since for e in entities),
        )
        conn = mapping.connection
        self._base_url = str(conn["base_url"]).rstrip("/")
        self._timeout = float(conn.get("timeout_seconds", 5.0))
        self._max_bytes = int(conn.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES))
        self._auth: Mapping[str, Any] = conn.get("auth") or {"type": "none"}
        #: "json" (dotted paths) or "xml" (XPath paths, a safe parser: connectors._xml)
        self._format = str(conn.get("format", "json"))
        self._oauth = (ClientCredentials(self.name, self._auth)
                       if self._auth.get("type") == "oauth2" else None)
        self._headers = dict(conn.get("headers") or {})
        self._session: aiohttp.ClientSession | None = None
        #: per entity: the largest by-id batch the source answered whole, once it was seen to
        #: answer a batch short (it caps batches below the mapping's `max`)
        self._learned_batch: dict[str, int] = {}

    # ---- hooks a system-specific subclass may override -----------------------------------

    def authenticate(self, params: dict[str, str], headers: dict[str, str]) -> None:
        """Add credentials to one request's query `params` and `headers` (in place), through
        the authenticator `[connection.auth] type` names (connectors.auth).

        Override for an auth scheme the mapping cannot express, or register an Authenticator.
        """
        authenticator_for(self._auth).apply(params, headers)

    # ---- HTTP ----------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout), headers=self._headers
            )
        return self._session

    async def _get(
        self, path: str, params: dict[str, str], where: str,
        fixed_headers: Mapping[str, str] | None = None,
        *, method: str = "GET", body: str | None = None, numeric: frozenset[str] = frozenset(),
    ) -> Any:
        """Ask and decode the answer (JSON, or XML with `format = "xml"`); every failure
        leaves as a ConnectorError subclass. `fixed_headers` are the mapping's per-request-kind
        headers (before credentials). With `method = "POST"` the `params` travel in the body
        (`body` "json" or "form"; in JSON the `numeric` ones as numbers and the ids as a
        list) and only the credentials stay in the query. With OAuth2 a 401 is answered by
        fetching a new token once."""
        query, payload = (params, None) if method == "GET" else ({}, params)
        for attempt in (1, 2):
            headers: dict[str, str] = dict(fixed_headers or {})
            token = await self._oauth.token(self._client()) if self._oauth else None
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            asked = dict(query)
            self.authenticate(asked, headers)
            try:
                return await self._ask(path, asked, headers, where, method, body, payload,
                                       numeric)
            except _Unauthorized:
                if token is None or attempt == 2:
                    raise
                assert self._oauth is not None
                self._oauth.invalidate(token)  # expired or revoked early: one fresh token
        raise AssertionError("unreachable")  # pragma: no cover

    def _payload(self, body: str | None, payload: Mapping[str, Any],
                 numeric: frozenset[str]) -> dict[str, Any]:
        """aiohttp keyword arguments sending `payload` as a JSON or form body."""
        if body == "form":
            return {"data": dict(payload)}
        values: dict[str, Any] = {}
        for key, value in payload.items():
            if key in numeric and isinstance(value, str) and value.isdigit():
                values[key] = int(value)
            else:
                values[key] = value
        return {"json": values}

    async def _ask(
        self, path: str, params: dict[str, str], headers: dict[str, str], where: str,
        method: str, body: str | None, payload: Mapping[str, Any] | None,
        numeric: frozenset[str],
    ) -> Any:
        sent = self._payload(body, payload, numeric) if payload is not None else {}
        try:
            async with self._client().request(
                method, self._base_url + path, params=params, headers=headers, **sent
            ) as response:
                if response.status in (401, 403):
                    refused = _Unauthorized if response.status == 401 else SourceRejected
                    raise refused(
                        self.name, f"{where}: HTTP {response.status}: check the credentials"
                    )
                if response.status >= 500:
                    raise SourceUnavailable(self.name, f"{where}: HTTP {response.status}")
                if response.status >= 400:
                    raise SourceRejected(self.name, f"{where}: HTTP {response.status}")
                raw = await self._read_capped(response, where)
                encoding = response.charset or "utf-8"
        except ConnectorError:
            raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise map_client_error(self.name, exc, where) from None
        if self._format == "xml":
            try:
                return parse_xml(raw)
            except XmlRefused as exc:
                raise SourceInvalid(self.name, f"{where}: {exc}") from None
        try:
            return json.loads(raw.decode(encoding))
        except (ValueError, LookupError):
            raise SourceInvalid(self.name, f"{where}: the answer is not JSON") from None

    def _dig(self, body: Any, path: str | None) -> Any:
        """The value at a document-level path (dotted JSON, or XPath for XML)."""
        return xml_path(body, path) if self._format == "xml" else _dig(body, path)

    async def _read_capped(self, response: aiohttp.ClientResponse, where: str) -> bytes:
        """The body, refused (SourceInvalid) once it passes `max_response_bytes`: by its
        declared length before reading, else while streaming, so it is never all buffered."""
        limit = self._max_bytes
        too_large = SourceInvalid(
            self.name, f"{where}: the answer is over {limit} bytes (max_response_bytes in its "
            "[connection]); ask its operator for smaller pages, or raise the limit")
        if response.content_length is not None and response.content_length > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _items(self, entity: EntityMapping, body: Any, where: str) -> list[Any]:
        if self._format == "xml":
            elements = xml_items(body, entity.records)
            if elements is None:
                raise SourceInvalid(
                    self.name, f"{where}: no record elements at {entity.records!r}")
            return elements
        items = _dig(body, entity.records)
        if not isinstance(items, list):
            raise SourceInvalid(
                self.name, f"{where}: no record list at {entity.records or 'the top level'!r}"
            )
        for item in items:
            if not isinstance(item, Mapping):
                raise SourceInvalid(self.name, f"{where}: records must be JSON objects")
        return items

    def _convert(
        self, entity: EntityMapping, items: list[Any], where: str, fields: frozenset[str] | None,
        issues: list[DataIssue],
    ) -> list[Record | None]:
        if self._format != "xml":
            return self._builders[entity.name].build_objects(items, where, fields, issues)
        rows = (
            (partial(xml_value, item), Location(where, index))
            for index, item in enumerate(items, start=1)
        )
        return self._builders[entity.name].build_rows(rows, fields, issues)

    # ---- the contract --------------------------------------------------------------------

    def _batch_size(self, entity: EntityMapping) -> int:
        """How many ids one by-id request asks: the mapping's `max`, or, once the source has
        shown it answers fewer (ids it did have came back only when re-asked), the largest
        batch it answered whole."""
        assert entity.by_keys is not None
        learned = self._learned_batch.get(entity.name)
        return min(entity.by_keys.max, learned) if learned else entity.by_keys.max

    async def _read_keys(self, entity: EntityMapping, request: ReadRequest) -> ReadResult:
        """One slot per asked key. A batch answered short is re-asked for the ids it missed in
        smaller batches (halved, or the size it did answer when smaller), down to one id; an id
        not returned even alone is reported (RECORD_NOT_FOUND), never silently dropped."""
        if entity.by_keys is None:
            raise NotSupported(self.name, f"{entity.name} has no batch read by ids (by_keys)")
        spec = entity.by_keys
        path = spec.path or entity.path or ""
        unique = list(dict.fromkeys(request.keys or ()))
        size = self._batch_size(entity)
        issues: list[DataIssue] = []
        found: dict[str, Record] = {}
        whole: list[int] = []
        recovered: list[bool] = []

        async def ask(chunk: list[str]) -> None:
            # never the ids themselves: this text reaches errors, logs and data issues
            where = f"GET {path} ({len(chunk)} {spec.param})"
            ids: Any = chunk if spec.body == "json" else spec.separator.join(chunk)
            params = {**spec.params, spec.param: ids}
            if spec.method == "POST":
                where = f"POST {path} ({len(chunk)} {spec.param})"
            body = await self._get(path, params, where, spec.headers, method=spec.method,
                                   body=spec.body)
            for record in self._convert(entity, self._items(entity, body, where), where,
                                        request.fields, issues):
                if record is not None:
                    found.setdefault(record.local_id, record)
            missing = [k for k in chunk if k not in found]
            if not missing:
                whole.append(len(chunk))
                return
            if len(chunk) == 1:
                return
            answered = len(chunk) - len(missing)
            smaller = max(1, min(len(chunk) // 2, answered or len(chunk)))
            await asyncio.gather(
                *(ask(missing[i : i + smaller]) for i in range(0, len(missing), smaller))
            )
            if any(k in found for k in missing):
                recovered.append(True)  # the source had them: it caps its batches

        await asyncio.gather(*(ask(unique[i : i + size]) for i in range(0, len(unique), size)))
        if recovered and whole:
            self._learned_batch[entity.name] = max(whole)
        for key in unique:
            if key not in found:
                issues.append(DataIssue(
                    self.name, entity.name, "RECORD_NOT_FOUND",
                    "asked by id (again alone after a shorter answer), the system did not return "
                    "this record: it may have been deleted there; the next full sync removes it "
                    "from the index, or check the id mapping (local_id)",
                    Location(f"GET {path} by id {key}"), entity.local_id, key,
                ))
        return ReadResult([found.get(k) for k in request.keys or ()], None, issues)

    async def read(self, request: ReadRequest) -> ReadResult:
        entity = self._entity(request.entity)
        if request.keys is not None:
            return await self._read_keys(entity, request)
        path = entity.path or ""
        params: dict[str, str] = dict(entity.params)
        if request.since is not None:
            if entity.changed_since is None or entity.changed_since.param is None:
                raise NotSupported(self.name, f"{entity.name} has no changed-since parameter")
            since = request.since if request.since.tzinfo else request.since.replace(tzinfo=UTC)
            fmt = entity.changed_since.format
            params[entity.changed_since.param] = since.strftime(fmt) if fmt else since.isoformat()
        paging = entity.pagination
        size = max(request.page_size, 1)
        where = f"GET {path}"
        seen = 0
        if paging is not None:
            size = min(size, paging.size)
            if paging.type == "cursor":
                if paging.size_param:
                    params[paging.size_param] = str(size)
                if request.cursor:
                    params[paging.cursor_param or "cursor"] = request.cursor
                where = f"GET {path} cursor {request.cursor or '(first)'}"
            elif paging.type == "page":
                # the cursor carries the page size (pages stay aligned if page_size changes)
                # and how many records came so far (the source may cap pages below the size)
                page_text, _, rest = (request.cursor or f"{paging.first}/{size}").partition("/")
                fixed, _, seen_text = rest.partition("/")
                page, size = int(page_text), int(fixed or size)
                seen = int(seen_text) if seen_text else (page - paging.first) * size
                params[paging.page_param or "page"] = str(page)
                if paging.size_param:
                    params[paging.size_param] = str(size)
                where = f"GET {path} page {page}"
            else:
                seen = int(request.cursor or 0)
                params[paging.offset_param or "offset"] = str(seen)
                if paging.limit_param:
                    params[paging.limit_param] = str(size)
                where = f"GET {path} offset {seen}"
        if entity.method == "POST":
            where = "POST" + where[3:]
        body = await self._get(path, params, where, entity.headers, method=entity.method,
                               body=entity.body, numeric=_numeric(paging))
        items = self._items(entity, body, where)
        issues: list[DataIssue] = []
        records = self._convert(entity, items, where, request.fields, issues)
        total = self._total(self._dig(body, paging.total)
                            if paging is not None and paging.total else MISSING)
        next_cursor = self._next_cursor(entity, body, request.cursor, len(items), size, seen, total)
        return ReadResult([r for r in records if r is not None], next_cursor, issues, total)

    @staticmethod
    def _total(value: Any) -> int | None:
        """The source's own count of the listing (`value` found where the mapping says)."""
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None
        try:
            return int(value)
        except ValueError:
            return None

    def _next_cursor(
        self, entity: EntityMapping, body: Any, cursor: str | None, count: int, size: int,
        seen: int, total: int | None,
    ) -> str | None:
        """Only the source's own end signals end paging: an empty page, `total` reached, no
        next cursor. A page with fewer rows than asked is NOT one: platforms cap pages below
        the asked size (20 of 200) and would otherwise lose everything after the first page."""
        paging = entity.pagination
        if paging is None or count == 0:
            return None
        if paging.type == "cursor":
            value = self._dig(body, paging.next)
            return None if value is MISSING or value in (None, "") else str(value)
        seen += count
        if total is not None and seen >= total:
            return None
        if paging.type == "page":
            page = int((cursor or str(paging.first)).partition("/")[0])
            return f"{page + 1}/{size}/{seen}"
        return str(seen)

    # ---- write-back ----------------------------------------------------------------------

    async def write(self, request: WriteRequest) -> WriteResult:
        """Send one entry as JSON to `[write.<action>]`'s method and path, with the
        idempotency key in its header, so the system recognises a retry.

        2xx: written (an `Idempotent-Replayed: true` answer says it was a retry the system
        had already taken). 408, 409 (the same key still in flight), 429 and 5xx are
        `SourceUnavailable` (retry later); any other 4xx is `SourceRejected` with the system's
        own message (digits masked): retrying will not help."""
        spec = self._write_spec(request.action)
        path = spec.path or ""
        where = f"{spec.method} {path}"
        body: dict[str, Any] = {}
        for column, value in row_of(spec, request, self.mapping.timezone).items():
            _put(body, column, value)
        headers: dict[str, str] = {**spec.headers, "Content-Type": "application/json",
                                   spec.idempotency_header: request.idempotency_key}
        params: dict[str, str] = {}
        self.authenticate(params, headers)
        try:
            async with self._client().request(
                spec.method, self._base_url + path, params=params, headers=headers,
                data=json.dumps(body, ensure_ascii=False).encode(),
            ) as response:
                status = response.status
                raw = await self._read_capped(response, where)
                replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        except ConnectorError:
            raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise map_client_error(self.name, exc, where) from None
        answer = _json_or_none(raw)
        if status >= 400:
            detail = f"{where}: HTTP {status}" + (
                f": {scrub(message)}" if (message := _message_of(answer)) else "")
            if status in (408, 409, 425, 429) or status >= 500:
                raise SourceUnavailable(self.name, detail, public_detail=detail)
            raise SourceRejected(self.name, detail, public_detail=detail)
        remote = _dig(answer, spec.result_id) if spec.result_id and answer is not None else None
        remote_id = None if remote is MISSING or remote is None else str(remote)
        return WriteResult(request.action, remote_id, replayed)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
