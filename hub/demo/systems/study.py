"""A 学习强国-like study platform (党员教育学习平台), as a real HTTP server answering in XML.

Different on purpose, as study platforms are: XML answers (`<response><code>0</code><data
total=".."><learner userId="..">..`), queries as POST requests with a JSON body
(`{"pageNo": 1, "pageSize": 20}`, `{"userIds": [..]}`), OAuth2 client credentials (a token
from `POST /oauth2/token` with HTTP Basic client authentication, valid `token_lifetime`
seconds), and caps like the real ones: pages of at most 20 rows and by-id batches of at most 10
ids, whatever the client asks.

It is an auxiliary system (hub.demo.mappings/study.toml says `authority = "auxiliary"`): members
register themselves, so its names follow their own typing and its phones and timestamps are
the newest; it keeps no membership facts. It lists every learner and their study records
(学习记录: course, platform, hours, completed at, score).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from aiohttp import web
from lxml import etree

from hub.demo._study import (
    StudyMember,
    StudyRecord,
    studies,
    study_member,
    study_name,
    study_records,
)
from hub.demo.generator import World
from hub.demo.systems._http import Collection, RestServer

__all__ = ["StudyPlatform", "SYSTEM", "MAX_PAGE", "MAX_IDS", "TOKEN_PATH"]

SYSTEM = "study"
_CST = timezone(timedelta(hours=8))
MAX_PAGE = 20
MAX_IDS = 10
TOKEN_PATH = "/oauth2/token"


def _ts(value: datetime) -> str:
    return value.astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S")


def _learner(m: StudyMember) -> dict[str, Any]:
    p = m.person
    return {"userId": m.local_id, "realName": study_name(p), "idCard": p.id_number,
            "mobile": p.phone, "lastModified": _ts(m.updated_at)}


def _record(r: StudyRecord) -> dict[str, Any]:
    return {"recordId": r.local_id, "userIdCard": r.member.person.id_number,
            "courseName": r.course, "platformName": r.platform,
            "creditHours": f"{r.hours:g}", "finishTime": _ts(r.completed_at),
            "score": "" if r.score is None else f"{r.score:g}",
            "lastModified": _ts(r.updated_at)}


def _xml(tag: str, rows: Iterable[Mapping[str, Any]], id_key: str, total: int,
         extra: Mapping[str, str] | None = None) -> bytes:
    """`<response><code>0</code><data total=..><tag id_key=..>..</tag>..</data></response>`."""
    root = etree.Element("response")
    etree.SubElement(root, "code").text = "0"
    etree.SubElement(root, "message").text = "success"
    data = etree.SubElement(root, "data", total=str(total))
    for key, value in (extra or {}).items():
        data.set(key, value)
    for row in rows:
        item = etree.SubElement(data, tag, {id_key: str(row[id_key])})
        for key, value in row.items():
            if key != id_key:
                etree.SubElement(item, key).text = str(value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def xml_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/xml",
                        charset="utf-8")


class StudyPlatform(RestServer):
    """`async with StudyPlatform(world, client_id=..., client_secret=...) as platform:`."""

    #: endpoint -> (XML tag, id attribute, the JSON body's ids key)
    ENDPOINTS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "learners": ("learner", "userId", "userIds"),
        "study-records": ("record", "recordId", "recordIds"),
    }

    def __init__(self, world: World, *, client_id: str, client_secret: str,
                 token_lifetime: int = 3600, latency: float = 0.0) -> None:
        super().__init__(latency=latency, seed=world.seed)
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_lifetime = token_lifetime
        #: token -> expiry (monotonic seconds)
        self._tokens: dict[str, float] = {}
        #: tokens issued, and data requests refused for a bad token (tests read both)
        self.tokens_issued = 0
        self.refused = 0
        learners = [study_member(p) for p in world.members() if studies(p)]
        records = [r for m in learners for r in study_records(m)]
        self.collections: dict[str, Collection] = {
            "learners": Collection("userId", [_learner(m) for m in learners],
                                   [m.updated_at for m in learners]),
            "study-records": Collection("recordId", [_record(r) for r in records],
                                        [r.updated_at for r in records]),
        }

    def revoke_tokens(self) -> None:
        """Forget every issued token (as a platform does on a key rotation): the next data
        request with an old token gets 401."""
        self._tokens.clear()

    def routes(self) -> list[web.RouteDef]:
        out = [web.post(TOKEN_PATH, self._token)]
        for name in self.ENDPOINTS:
            out.append(web.post(f"/api/v2/{name}/list", self._list))
            out.append(web.post(f"/api/v2/{name}/batch", self._batch))
        return out

    def error_response(self, status: int, message: str) -> web.Response:
        root = etree.Element("response")
        etree.SubElement(root, "code").text = str(status)
        etree.SubElement(root, "message").text = message
        return xml_response(bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")),
                            status)

    def authenticate(self, request: web.Request) -> web.Response | None:
        if request.path == TOKEN_PATH:
            return None  # the token endpoint checks the client credentials itself
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        expiry = self._tokens.get(token)
        if expiry is None or time.monotonic() >= expiry:
            self.refused += 1
            return self.error_response(401, "访问令牌无效或已过期")
        return None

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        header = request.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            user = password = ""
        if not header.startswith("Basic ") or not (
                hmac.compare_digest(user, self.client_id)
                and hmac.compare_digest(password, self._client_secret)):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.token_lifetime
        self.tokens_issued += 1
        return web.json_response({"access_token": token, "token_type": "Bearer",
                                  "expires_in": self.token_lifetime})

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.text())
        except ValueError:
            raise ValueError("请求体不是 JSON") from None
        if not isinstance(body, dict):
            raise ValueError("请求体必须是 JSON 对象")
        return body

    def _endpoint(self, request: web.Request) -> tuple[str, Collection]:
        name = request.path.split("/")[3]
        return name, self.collections[name]

    async def _list(self, request: web.Request) -> web.Response:
        name, collection = self._endpoint(request)
        body = await self._body(request)
        page, size = body.get("pageNo", 1), body.get("pageSize", MAX_PAGE)
        if not isinstance(page, int) or not isinstance(size, int) or page < 1 or size < 1:
            raise ValueError("pageNo 和 pageSize 必须是正整数")
        size = min(size, MAX_PAGE)
        rows = collection.rows[(page - 1) * size : page * size]
        tag, id_key, _ = self.ENDPOINTS[name]
        return xml_response(_xml(tag, rows, id_key, len(collection.rows),
                                 {"pageNo": str(page), "pageSize": str(size)}))

    async def _batch(self, request: web.Request) -> web.Response:
        name, collection = self._endpoint(request)
        tag, id_key, ids_key = self.ENDPOINTS[name]
        ids = (await self._body(request)).get(ids_key)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"{ids_key} 必须是字符串数组")
        rows = collection.by_ids(ids[:MAX_IDS])
        return xml_response(_xml(tag, rows, id_key, len(rows)))


#: for tests: the learner and record builders by endpoint
ROW_BUILDERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "learners": _learner, "study-records": _record}
