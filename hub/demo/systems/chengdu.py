"""蓉城先锋-like destination platform of Chengdu (成都市流入地平台), as a real HTTP server.

What makes it different from the others, on purpose: camelCase JSON in
`{"code": 0, "data": {"items": [...], "nextCursor": ...}}`, opaque cursor paging
(`?cursor=&limit=`), batch reads by `?ids=a,b,c`, `updatedSince` for changed-since reads, a
bearer token, ISO dates with +08:00 and its own codes (gender M/F, contactStatus NORMAL...).
It lists the members who arrived in Chengdu (destination side: new phone, new employer), the
Chengdu branches, their activities and attendance.

It also takes writes, as the hub's write-back needs: `POST /api/v1/checkins` records a
check-in (报到), deduplicated by the `Idempotency-Key` header (a retry answers the first
result with `Idempotent-Replayed: true`; the same key with another body is 422), and
`GET /api/v1/checkins` lists what arrived, so the demo shows a check-in made in the hub in
the platform's own API. For tests, `reject_writes` makes it refuse every write (a platform
that will not take them) and `answer_delay` answers a write late after taking it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from hub.demo._idcard import corrupt_check_char
from hub.demo.generator import World
from hub.demo.model import Activity, Attendance, Defect, Organization, SystemMember
from hub.demo.places import ORG_BY_ID
from hub.demo.systems._http import (
    Collection,
    RestServer,
    decode_cursor,
    encode_cursor,
    json_response,
    parse_since,
    world_collections,
)

__all__ = ["ChengduPlatform", "SYSTEM", "member_json"]

SYSTEM = "chengdu"
_CST = timezone(timedelta(hours=8))
_STATUS = {
    "in_contact": "NORMAL", "lost_contact": "LOST", "returned": "RETURNED",
    "transferred_out": "TRANSFERRED",
}
_ORG_TYPE = {
    "committee": "党委", "destination_branch": "流入地党支部",
    "floating_branch": "流动党员党支部", "origin_branch": "流出地党支部",
}
_ACTIVITY_TYPE = {
    "branch_member_meeting": "支部党员大会", "branch_committee_meeting": "支委会",
    "party_group_meeting": "党小组会", "party_lecture": "党课", "themed_party_day": "主题党日",
    "organization_life_meeting": "组织生活会", "democratic_review": "民主评议党员",
    "volunteer_service": "志愿服务", "training": "培训",
}
_SIGN = {"present": "SIGN", "online": "ONLINE", "excused": "LEAVE", "absent": "ABSENT"}
MAX_LIMIT = 500


def _ts(value: datetime) -> str:
    return value.astimezone(_CST).isoformat(timespec="seconds")


def member_json(m: SystemMember) -> dict[str, Any]:
    """A member as the platform serves it, with the row's planted defect applied."""
    p = m.person
    row: dict[str, Any] = {
        "memberId": m.local_id,
        "realName": p.destination_name,
        "gender": "M" if p.gender == "male" else "F",
        "birthday": p.birth_date.isoformat(),
        "idCard": p.id_number,
        "mobile": p.phone,
        "contactStatus": _STATUS[p.destination_status],
        "originOrgCode": p.origin_org_id,
        "originOrgName": ORG_BY_ID[p.origin_org_id].name,
        "originAreaCode": p.origin_region_code,
        "areaCode": p.destination_region_code,
        "address": p.destination_address,
        "company": p.employer,
        "job": p.occupation,
        "inflowDate": p.destination_since.isoformat(),
        "partyOrgCode": p.destination_org_id,
        "returnIntention": p.intends_return_business,
        "cadreIntention": p.willing_village_cadre,
        "updateTime": _ts(p.destination_updated_at),
    }
    if m.defect is Defect.INVALID_ID_NUMBER:
        row["idCard"] = corrupt_check_char(p.id_number)
    elif m.defect is Defect.INVALID_DATE:
        row["birthday"] = f"{p.birth_date.year}-02-30"
    elif m.defect is Defect.UNKNOWN_CODE:
        row["gender"] = "U"
    elif m.defect is Defect.MISSING_VALUE:
        row["realName"] = None
    return row


def _org_json(o: Organization) -> dict[str, Any]:
    return {
        "orgCode": o.org_id, "orgName": o.name, "orgType": _ORG_TYPE[o.kind],
        "areaCode": o.region_code, "parentCode": o.parent_id, "secretaryName": o.secretary,
        "secretaryMobile": o.contact_phone, "updateTime": _ts(o.updated_at),
    }


def _activity_json(a: Activity) -> dict[str, Any]:
    return {
        "activityId": a.local_id, "orgCode": a.org_id, "activityType": _ACTIVITY_TYPE[a.kind],
        "title": a.title, "startTime": _ts(a.start_time), "onlineFlag": a.online,
        "shouldAttend": a.expected, "actualAttend": a.present, "leaveCount": a.excused,
        "onlineCount": a.online_count, "guestCount": a.guests, "updateTime": _ts(a.updated_at),
    }


def _attendance_json(a: Attendance) -> dict[str, Any]:
    return {"recordId": a.local_id, "activityId": a.activity_id, "idCard": a.id_number,
            "signType": _SIGN[a.mode]}


@dataclass(slots=True)
class CheckinWrite:
    """One check-in the platform took: its own id, the key it came with and the body."""

    checkin_id: str
    key: str
    body: dict[str, Any]
    received_at: datetime


#: the fields a check-in body may carry; memberId or hubMemberKey, and orgCode, are required
_CHECKIN_FIELDS = frozenset(
    {"memberId", "hubMemberKey", "orgCode", "checkinTime", "remark", "hubEntryId"}
)


class ChengduPlatform(RestServer):
    """`async with ChengduPlatform(world, token="...") as platform:` then `platform.url`."""

    def __init__(
        self,
        world: World,
        *,
        token: str,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        garbage_rate: float = 0.0,
    ) -> None:
        super().__init__(latency=latency, fail_rate=fail_rate, garbage_rate=garbage_rate,
                         seed=world.seed)
        if not token:
            raise ValueError("a bearer token is required")
        self._token = token
        self.reject_writes: str | None = None
        #: seconds a write is answered late, AFTER it was taken (an answer lost in flight)
        self.answer_delay = 0.0
        #: check-ins taken, in order, and by idempotency key
        self.checkins: list[CheckinWrite] = []
        self._checkin_by_key: dict[str, CheckinWrite] = {}
        #: every Idempotency-Key a write arrived with, retries included
        self.write_keys: list[str] = []
        self.collections: dict[str, Collection] = world_collections(
            world, SYSTEM,
            members=("members", "memberId", member_json),
            orgs=("orgs", "orgCode", _org_json),
            activities=("activities", "activityId", _activity_json),
            attendance=("attendances", "recordId", _attendance_json),
        )

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"/api/v1/{name}", self._list) for name in self.collections] + [
            web.post("/api/v1/checkins", self._post_checkin),
            web.get("/api/v1/checkins", self._list_checkins),
        ]

    async def _post_checkin(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 200:
            return self.error_response(400, "缺少 Idempotency-Key 请求头")
        self.write_keys.append(key)
        if self.reject_writes is not None:
            return self.error_response(422, self.reject_writes)
        try:
            body = json.loads(await request.text())
        except ValueError:
            return self.error_response(400, "请求体不是 JSON")
        if not isinstance(body, dict) or set(body) - _CHECKIN_FIELDS:
            return self.error_response(400, f"未知字段: {sorted(set(body) - _CHECKIN_FIELDS)}"
                                       if isinstance(body, dict) else "请求体须为对象")
        if not (body.get("memberId") or body.get("hubMemberKey")) or not body.get("orgCode"):
            return self.error_response(400, "memberId 或 hubMemberKey，以及 orgCode 必填")
        if (known := self._checkin_by_key.get(key)) is not None:
            if known.body != body:
                return self.error_response(422, "Idempotency-Key 已用于另一个请求")
            return self._checkin_answer(known, 200, replayed=True)
        write = CheckinWrite(f"CK{len(self.checkins) + 1:06d}", key, body,
                             datetime.now(_CST))
        self.checkins.append(write)
        self._checkin_by_key[key] = write
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return self._checkin_answer(write, 201)

    def _checkin_answer(self, write: CheckinWrite, status: int, *,
                        replayed: bool = False) -> web.Response:
        response = json_response({"code": 0, "data": {"checkinId": write.checkin_id}},
                                 status=status)
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    async def _list_checkins(self, request: web.Request) -> web.Response:
        items = [{"checkinId": w.checkin_id, **w.body, "receivedAt": _ts(w.received_at)}
                 for w in self.checkins]
        return json_response({"code": 0, "data": {"items": items, "nextCursor": None}})

    def authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), self._token):
            return None
        return self.error_response(401, "未授权：缺少或无效的访问令牌 (Authorization: Bearer)")

    def error_response(self, status: int, message: str) -> web.Response:
        return json_response({"code": status, "message": message, "data": None},
                                 status=status)

    async def _list(self, request: web.Request) -> web.Response:
        collection = self.collections[request.path.rsplit("/", 1)[1]]
        query = request.query
        if ids := query.get("ids"):
            items = collection.by_ids([i for i in ids.split(",") if i])
            return json_response({"code": 0, "data": {"items": items, "nextCursor": None}})
        limit = min(int(query.get("limit", "50")), MAX_LIMIT)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        since = parse_since(query["updatedSince"]) if query.get("updatedSince") else None
        rows = collection.select(since)
        cursor = query.get("cursor")
        try:
            last_id = decode_cursor(cursor) if cursor else None
        except (ValueError, UnicodeDecodeError):
            raise ValueError("cursor 无效") from None
        start = collection.after(rows, last_id)
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        next_cursor = encode_cursor(str(page[-1][collection.id_key])) if more and page else None
        return json_response({"code": 0, "data": {"items": page, "nextCursor": next_cursor}})
