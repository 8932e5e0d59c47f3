"""蓉城先锋-like destination platform of Chengdu (成都市流入地平台), as a real HTTP server.

What makes it different from the others, on purpose: camelCase JSON in
`{"code": 0, "data": {"items": [...], "nextCursor": ...}}`, opaque cursor paging
(`?cursor=&limit=`), batch reads by `?ids=a,b,c`, `updatedSince` for changed-since reads, a
bearer token, ISO dates with +08:00 and its own codes (gender M/F, contactStatus NORMAL...).
It lists the members who arrived in Chengdu (destination side: new phone, new employer), the
Chengdu branches, their activities and attendance.
"""

from __future__ import annotations

import hmac
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
        self.collections: dict[str, Collection] = world_collections(
            world, SYSTEM,
            members=("members", "memberId", member_json),
            orgs=("orgs", "orgCode", _org_json),
            activities=("activities", "activityId", _activity_json),
            attendance=("attendances", "recordId", _attendance_json),
        )

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"/api/v1/{name}", self._list) for name in self.collections]

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
