"""浙里-like provincial platform of Zhejiang (浙江省流动党员管理平台), as a real HTTP server.

Different on purpose: snake_case JSON in `{"success": true, "result": {"total", "rows"}}`,
page/size paging, coded values (gender 1/2, status 01-04, activity types 01-09), yyyymmdd
dates, naive Beijing times, and every request signed with appKey + timestamp + HMAC-SHA256
exactly as docs/architecture.md documents:

    sign = hex HMAC-SHA256(secret, "&".join(f"{k}={v}" for k, v in sorted(params)))

over all query parameters except `sign` itself (so including appKey and timestamp). A missing
or wrong signature, an unknown appKey, or a timestamp more than `max_skew` seconds from now is
refused with 401 and a JSON error saying which.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from aiohttp import web

from hub.demo._idcard import corrupt_check_char
from hub.demo.generator import World
from hub.demo.model import Activity, Attendance, Defect, Organization, SystemMember
from hub.demo.places import ORG_BY_ID
from hub.demo.systems._http import (
    Collection,
    RestServer,
    json_response,
    parse_since,
    world_collections,
)

__all__ = ["ZhejiangPlatform", "SYSTEM", "sign", "signed_params", "member_json"]

SYSTEM = "zhejiang"
_CST = timezone(timedelta(hours=8))
_STATUS = {"in_contact": "01", "lost_contact": "02", "returned": "03", "transferred_out": "04"}
_ORG_TYPE = {"committee": "10", "destination_branch": "31", "floating_branch": "32",
             "origin_branch": "33"}
_ACTIVITY_TYPE = {
    "branch_member_meeting": "01", "branch_committee_meeting": "02", "party_group_meeting": "03",
    "party_lecture": "04", "themed_party_day": "05", "organization_life_meeting": "06",
    "democratic_review": "07", "volunteer_service": "08", "training": "09",
}
_SIGN_STATUS = {"present": "1", "online": "2", "excused": "3", "absent": "0"}
#: like the real platform: pages are cut to 50 rows and by-id batches to 40 ids, whatever the
#: client asks for (the demo mapping asks 200 and 100), so the demo exercises a connector that
#: pages by the platform's own end signals and re-asks short batches
MAX_SIZE = 50
MAX_IDS = 40


def sign(params: Mapping[str, str], secret: str) -> str:
    """The platform's signature over every parameter except `sign`."""
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def signed_params(
    params: Mapping[str, str], *, app_key: str, secret: str, timestamp: int | None = None
) -> dict[str, str]:
    """`params` plus appKey, timestamp (Unix milliseconds) and sign: what a client sends."""
    out = {**params, "appKey": app_key,
           "timestamp": str(timestamp if timestamp is not None else int(time.time() * 1000))}
    out["sign"] = sign(out, secret)
    return out


def _naive_cst(value: datetime) -> str:
    return value.astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S")


def member_json(m: SystemMember) -> dict[str, Any]:
    """A member as the platform serves it, with the row's planted defect applied."""
    p = m.person
    row: dict[str, Any] = {
        "member_id": m.local_id,
        "name": p.destination_name,
        "gender_code": "1" if p.gender == "male" else "2",
        "birth_date": f"{p.birth_date:%Y%m%d}",
        "id_card_no": p.id_number,
        "phone": p.phone,
        "status_code": _STATUS[p.destination_status],
        "origin_org_code": p.origin_org_id,
        "origin_org_name": ORG_BY_ID[p.origin_org_id].name,
        "origin_area_code": p.origin_region_code,
        "area_code": p.destination_region_code,
        "live_address": p.destination_address,
        "work_unit": p.employer,
        "occupation": p.occupation,
        "inflow_month": f"{p.destination_since:%Y%m}",
        "org_code": p.destination_org_id,
        "return_business_flag": "1" if p.intends_return_business else "0",
        "village_cadre_flag": "1" if p.willing_village_cadre else "0",
        "update_time": _naive_cst(p.destination_updated_at),
    }
    if m.defect is Defect.INVALID_ID_NUMBER:
        row["id_card_no"] = corrupt_check_char(p.id_number)
    elif m.defect is Defect.INVALID_DATE:
        row["birth_date"] = f"{p.birth_date.year}1345"
    elif m.defect is Defect.UNKNOWN_CODE:
        row["gender_code"] = "9"
    elif m.defect is Defect.MISSING_VALUE:
        row["name"] = ""
    return row


def _org_json(o: Organization) -> dict[str, Any]:
    return {
        "org_code": o.org_id, "org_name": o.name, "org_type_code": _ORG_TYPE[o.kind],
        "area_code": o.region_code, "parent_code": o.parent_id or "",
        "secretary_name": o.secretary, "secretary_phone": o.contact_phone,
        "update_time": _naive_cst(o.updated_at),
    }


def _activity_json(a: Activity) -> dict[str, Any]:
    return {
        "activity_id": a.local_id, "org_code": a.org_id,
        "activity_type_code": _ACTIVITY_TYPE[a.kind], "activity_name": a.title,
        "start_time": _naive_cst(a.start_time), "is_online": "1" if a.online else "0",
        "should_count": a.expected, "actual_count": a.present, "leave_count": a.excused,
        "online_count": a.online_count, "guest_count": a.guests,
        "update_time": _naive_cst(a.updated_at),
    }


def _attendance_json(a: Attendance) -> dict[str, Any]:
    return {"sign_id": a.local_id, "activity_id": a.activity_id, "id_card_no": a.id_number,
            "sign_status": _SIGN_STATUS[a.mode]}


class ZhejiangPlatform(RestServer):
    """`async with ZhejiangPlatform(world, app_key=..., secret=...) as platform:`."""

    #: batch-read parameter of each endpoint
    ID_PARAMS: ClassVar[dict[str, str]] = {"party_members": "member_ids", "party_orgs": "org_codes",
                 "org_activities": "activity_ids", "activity_signs": "sign_ids"}

    def __init__(
        self,
        world: World,
        *,
        app_key: str,
        secret: str,
        max_skew: float = 300.0,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        garbage_rate: float = 0.0,
    ) -> None:
        super().__init__(latency=latency, fail_rate=fail_rate, garbage_rate=garbage_rate,
                         seed=world.seed)
        if not app_key or not secret:
            raise ValueError("app_key and secret are required")
        self.app_key = app_key
        self._secret = secret
        self.max_skew = max_skew
        self.collections: dict[str, Collection] = world_collections(
            world, SYSTEM,
            members=("party_members", "member_id", member_json),
            orgs=("party_orgs", "org_code", _org_json),
            activities=("org_activities", "activity_id", _activity_json),
            attendance=("activity_signs", "sign_id", _attendance_json),
        )

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"/openapi/v2/{name}", self._list) for name in self.collections]

    def error_response(self, status: int, message: str, code: str = "ERROR") -> web.Response:
        return json_response(
            {"success": False, "error_code": code if status != 503 else "SERVICE_BUSY",
             "message": message}, status=status)

    def authenticate(self, request: web.Request) -> web.Response | None:
        query = request.query
        if "sign" not in query or "appKey" not in query or "timestamp" not in query:
            return self.error_response(401, "缺少签名参数 appKey/timestamp/sign", "SIGN_MISSING")
        if not hmac.compare_digest(query["appKey"], self.app_key):
            return self.error_response(401, "appKey 无效", "APP_KEY_INVALID")
        try:
            stamp = float(query["timestamp"])
        except ValueError:
            return self.error_response(401, "timestamp 格式错误", "TIMESTAMP_INVALID")
        if stamp > 1e11:  # milliseconds
            stamp /= 1000
        if not math.isfinite(stamp) or abs(time.time() - stamp) > self.max_skew:
            return self.error_response(401, "请求已过期：timestamp 与服务器时间相差过大",
                                       "TIMESTAMP_EXPIRED")
        params = {k: v for k, v in query.items()}
        if not hmac.compare_digest(sign(params, self._secret), query["sign"].lower()):
            return self.error_response(401, "签名错误", "SIGN_INVALID")
        return None

    async def _list(self, request: web.Request) -> web.Response:
        name = request.path.rsplit("/", 1)[1]
        collection = self.collections[name]
        query = request.query
        if ids := query.get(self.ID_PARAMS[name]):
            rows = collection.by_ids([i for i in ids.split(",") if i][:MAX_IDS])
            return json_response(
                {"success": True, "result": {"total": len(rows), "rows": rows}})
        page = int(query.get("page", "1"))
        size = min(int(query.get("size", "20")), MAX_SIZE)
        if page < 1 or size < 1:
            raise ValueError("page 和 size 必须大于 0")
        since = None
        if query.get("update_time_begin"):
            since = parse_since(query["update_time_begin"], naive_tz=_CST)
        selected = collection.select(since)
        rows = selected[(page - 1) * size : page * size]
        return json_response({"success": True, "result": {
            "total": len(selected), "page": page, "size": size, "rows": rows}})
