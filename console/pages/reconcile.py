"""双向对账: start a quarterly run with a counterpart, watch it run (htmx polls the progress),
read the categories with their counts (the XLSX's sheet names), confirm or reject the candidate
matches (疑似匹配), countersign the report and download the workbook.

Signing happens here, on the console's server: the report the hub returns (a General JSON JWS
the hub signed) gets this party's signature with the key the console holds
(`ConsoleHub.credentials.key`, never sent to a browser), by hub.report_signing — the same hub
core primitive the hub's own tools use — and goes back in `signReconciliation`. The workbook
comes from the hub's `GET /reconciliations/{id}.xlsx` with a fresh token of the official, and
is passed through to the browser as it is. Once both parties have signed, the quarter's
obligation (每季度通联流动党员台账) is fulfilled: the page shows it from `obligations`.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.chinatime import CST
from console.downloads import fetch_document
from console.hub import HubFailure
from console.messages import explain, party_name
from console.sessions import Session
from console.web import (
    SECURITY_HEADERS,
    Page,
    checked_form,
    console_of,
    hub_of,
    render,
    require_official,
)
from hub.errors import ContractError
from hub.report_signing import countersign_report

__all__ = ["PAGE", "ROUTES", "CATEGORIES", "SHEET_NAMES", "current_quarter"]

PAGE = Page("reconcile", "双向对账", "/reconcile")
ROWS_SHOWN = 50

#: the categories in report order, with the XLSX's sheet names and the report's terms
#: (hub/reconcile/export.py SHEET_NAMES / CATEGORY_TERMS; tests keep the two in step)
CATEGORIES = ("MATCHED", "DIFFERING", "STATUS_CONFLICT", "ORIGIN_ONLY", "DESTINATION_ONLY",
              "CANDIDATE", "DUPLICATE", "BAD_ROW")
SHEET_NAMES = {
    "MATCHED": "一致", "DIFFERING": "字段不一致", "STATUS_CONFLICT": "状态冲突",
    "ORIGIN_ONLY": "仅流出地有（流入地未掌握）", "DESTINATION_ONLY": "仅流入地有（流出地无记录）",
    "CANDIDATE": "疑似匹配待确认", "DUPLICATE": "同方重复", "BAD_ROW": "问题行",
}
CATEGORY_TERMS = {
    "MATCHED": "匹配且一致", "DIFFERING": "匹配但字段不一致", "STATUS_CONFLICT": "联系状态冲突",
    "ORIGIN_ONLY": "外出，流入地未掌握", "DESTINATION_ONLY": "流入地发现，流出地无记录",
    "CANDIDATE": "疑似匹配（待人工确认）", "DUPLICATE": "同一方重复记录",
    "BAD_ROW": "问题行（已报告并保留）",
}
STATE_NAMES = {"queued": "排队中", "running": "对账中", "done": "已完成，待会签",
               "failed": "失败", "signed": "各方已会签"}
STAGE_NAMES = {"reading": "读取台账", "matching": "比对", "signing": "签署报告",
               "writing": "写入结果", "done": "完成"}
FIELD_NAMES = {"name": "姓名", "gender": "性别", "birth_date": "出生日期", "phone": "联系电话",
               "status": "联系状态", "origin_org_id": "组织关系所在党组织",
               "origin_region_code": "流出地", "destination_region_code": "流入地",
               "destination_org_id": "流入地党组织"}
REASON_NAMES = {"name": "姓名相同", "name_variant": "姓名异体字", "name_homophone": "姓名同音",
                "birth_date": "出生日期相同", "phone": "电话相同"}
DECISION_NAMES = {"confirmed": "已确认为同一人", "rejected": "已否定"}
_PERIOD = re.compile(r"^(20\d\d)Q([1-4])$")
_RUN_ID = re.compile(r"^[0-9a-f]{8,64}$")
_PAIR = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
#: the largest ledger file the form takes (the hub's own limit is higher; a county's ledger
#: of tens of thousands of rows fits)
MAX_LEDGER_BYTES = 10_000_000
#: the standard ledger template (标准台账模板) the form accepts: its columns, in order
TEMPLATE_COLUMNS = ("编号", "姓名", "身份证号码", "出生日期", "联系状态", "流出地", "流入地")


def template_mapping(side: str) -> str:
    """The mapping (TOML, kind = "ledger") of the standard template, for this party's side:
    the console sends it with the file, so an official never writes one."""
    return f"""[source]
name = "console_{side}_ledger"
kind = "ledger"
side = "{side}"

[connection]
file = "ledger.csv"
format = "csv"

[entities.member]
local_id = "编号"
required = ["id_number", "name"]

[entities.member.fields]
name = "姓名"
id_number = "身份证号码"
birth_date = "出生日期"
status = "联系状态"
origin_region_code = "流出地"
destination_region_code = "流入地"
"""

CONTRACTS = """
query ConsoleReconcileContracts { contracts { id title state parties { party role } } }
"""

RUNS = """
query ConsoleReconciliations($first: Int, $after: String) {
  reconciliations(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id period state progress originParty destinationParty signedByEveryParty
            counts { category count } }
  }
}
"""

_RECORD = "system localId row name gender birthDate phone status originRegion destinationRegion"
RUN = f"""
query ConsoleReconciliation($id: ID!, $category: ReconciliationCategory!, $first: Int) {{
  reconciliation(id: $id) {{
    id state stage progress period contractId originParty destinationParty error errorCode
    signedByEveryParty
    counts {{ category count }}
    signatures {{ party kid }}
    rows(category: $category, first: $first) {{
      totalCount
      nodes {{
        category memberKey pair via score reasons decision
        differences {{ field origin destination authority }}
        origin {{ {_RECORD} }}
        destination {{ {_RECORD} }}
        badRow {{ side location row column code message }}
      }}
    }}
  }}
}}
"""

PROGRESS = """
query ConsoleReconciliationProgress($id: ID!) {
  reconciliation(id: $id) { id state stage progress error errorCode }
}
"""

REPORT = "query ConsoleReconciliationReport($id: ID!) { reconciliation(id: $id) { state report } }"

OBLIGATION = """
query ConsoleReconcileObligation($filter: ObligationFilter) {
  obligations(filter: $filter, first: 40) {
    nodes { key contractTitle party periodStart state fulfilledBy }
  }
}
"""

START = """
mutation ConsoleStartReconciliation($input: StartReconciliationInput!) {
  startReconciliation(input: $input) { id state }
}
"""

DECIDE = {
    "confirm": """
mutation ConsoleConfirmMatch($run: ID!, $pair: ID!) {
  confirmMatch(reconciliation: $run, pair: $pair) { pair decision party }
}
""",
    "reject": """
mutation ConsoleRejectMatch($run: ID!, $pair: ID!) {
  rejectMatch(reconciliation: $run, pair: $pair) { pair decision party }
}
""",
}

SIGN = """
mutation ConsoleSignReconciliation($id: ID!, $envelope: String!) {
  signReconciliation(id: $id, envelope: $envelope) { state signedByEveryParty signatures { party } }
}
"""


def current_quarter(now: datetime | None = None) -> str:
    """The quarter running now on the Beijing clock, e.g. 2026Q4."""
    at = (now or datetime.now(UTC)).astimezone(CST)
    return f"{at.year}Q{(at.month - 1) // 3 + 1}"


def previous_quarter(period: str) -> str:
    year, quarter = int(period[:4]), int(period[-1])
    return f"{year - 1}Q4" if quarter == 1 else f"{year}Q{quarter - 1}"


def quarter_start(period: str) -> datetime:
    year, quarter = int(period[:4]), int(period[-1])
    return datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=CST)


def counterparts(contracts: list[dict[str, Any]], party: str) -> list[tuple[str, str, str]]:
    """(party id, contract title, this party's side) of each party holding the opposite side
    (origin / destination) to this one in an active contract: whom it may reconcile with."""
    out: dict[str, tuple[str, str]] = {}
    for contract in contracts:
        if str(contract.get("state", "")).lower() != "active":
            continue
        roles = {p["party"]: p["role"] for p in contract.get("parties") or ()}
        mine = roles.get(party)
        if mine not in ("origin", "destination"):
            continue
        other = "destination" if mine == "origin" else "origin"
        for p, role in roles.items():
            if role == other and p not in out:
                out[p] = (contract.get("title") or contract["id"], mine)
    return [(p, title, side) for p, (title, side) in sorted(out.items())]


@require_official(PAGE)
async def reconcile_page(request: Request, session: Session) -> Response:
    hub = hub_of(request)
    party = console_of(request).party
    after = request.query_params.get("after") or None
    runs = await hub.page_data(session.official, PAGE.slug, RUNS, {"first": 20, "after": after})
    contracts = await hub.call(session.official, PAGE.slug, CONTRACTS)
    now = current_quarter()
    return render(request, "reconcile.html", title=PAGE.title,
                  runs=runs.data.get("reconciliations"),
                  warnings=runs.warnings + contracts.warnings,
                  counterparts=counterparts(contracts.data.get("contracts") or [], party),
                  periods=[now, previous_quarter(now), previous_quarter(previous_quarter(now))],
                  default_period=previous_quarter(now), states=STATE_NAMES,
                  categories=CATEGORIES, sheets=SHEET_NAMES, pname=party_name,
                  columns=TEMPLATE_COLUMNS)


async def _ledger(form: Any, side: str) -> tuple[dict[str, Any] | None, str | None]:
    """The ledger file handed in with the form (LedgerFileInput), or a problem to say."""
    upload = form.get("ledger")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, None
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not name.lower().endswith((".csv", ".xlsx")) or name.startswith("."):
        return None, "台账文件应为 .csv 或 .xlsx 格式。"
    data = await upload.read(MAX_LEDGER_BYTES + 1)
    if len(data) > MAX_LEDGER_BYTES:
        return None, "台账文件超过 10 MB，请按流出地党组织分开提交。"
    if not data:
        return None, "台账文件是空的。"
    encoding = str(form.get("encoding") or "utf-8")
    if encoding not in ("utf-8", "gbk", "gb18030"):
        encoding = "utf-8"
    return {"filename": name, "contentBase64": base64.b64encode(data).decode("ascii"),
            "mapping": template_mapping(side),
            "encoding": encoding if name.lower().endswith(".csv") else None}, None


@require_official(PAGE)
async def start_run(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    counterparty = str(form.get("counterparty") or "").strip()
    period = str(form.get("period") or "").strip().upper()
    if not _PERIOD.match(period):
        session.flash.append(("error", "期间应为季度，例如 2026Q3。"))
        return RedirectResponse("/reconcile", status_code=303)
    hub = hub_of(request)
    contracts = await hub.call(session.official, PAGE.slug, CONTRACTS)
    sides = {p: side for p, _, side in counterparts(contracts.data.get("contracts") or [],
                                                    console_of(request).party)}
    if counterparty not in sides:
        session.flash.append(("error", "请选择对账的对方（现行协议中与本方互为流出地、"
                                       "流入地的一方）。"))
        return RedirectResponse("/reconcile", status_code=303)
    ledger, problem = await _ledger(form, sides[counterparty])
    if problem:
        session.flash.append(("error", problem))
        return RedirectResponse("/reconcile", status_code=303)
    run_input: dict[str, Any] = {"counterparty": counterparty, "period": period}
    if ledger is not None:
        run_input["ledger"] = ledger
    try:
        answer = await hub.call(session.official, PAGE.slug, START, {"input": run_input})
    except HubFailure as failure:
        sentence = explain("RECONCILIATION_RUNNING") if failure.code == "LIMIT_EXCEEDED" \
            else failure.sentence
        session.flash.append(("error", f"未能发起对账：{sentence}"))
        return RedirectResponse("/reconcile", status_code=303)
    run = answer.data["startReconciliation"]
    source = "本方提交的台账文件" if ledger is not None else "双方已接入的系统"
    session.flash.append(("ok", f"已发起与{party_name(counterparty)}的 {period} 对账"
                                f"（本方数据：{source}），正在后台比对。"))
    return RedirectResponse(f"/reconcile/{run['id']}", status_code=303)


def _run_id(request: Request) -> str:
    run = str(request.path_params["run"])
    if not _RUN_ID.match(run):
        raise HubFailure("NOT_FOUND", explain("NOT_FOUND"))
    return run


async def _obligation(request: Request, session: Session, run: dict[str, Any]
                      ) -> dict[str, Any] | None:
    """The quarterly reconciliation obligation the run fulfils once both have signed."""
    answer = await hub_of(request).call(
        session.official, PAGE.slug, OBLIGATION,
        {"filter": {"contractId": run["contractId"], "action": "reconciliation"}})
    start = quarter_start(run["period"])
    for node in (answer.data.get("obligations") or {}).get("nodes") or ():
        began = datetime.fromisoformat(node["periodStart"].replace("Z", "+00:00"))
        if began == start:
            return dict(node)
    return None


@require_official(PAGE)
async def run_page(request: Request, session: Session) -> Response:
    run_id = _run_id(request)
    category = request.query_params.get("category", "CANDIDATE")
    if category not in CATEGORIES:
        category = "CANDIDATE"
    answer = await hub_of(request).page_data(
        session.official, PAGE.slug, RUN, {"id": run_id, "category": category,
                                           "first": ROWS_SHOWN})
    run = answer.data["reconciliation"]
    party = console_of(request).party
    counts = {c["category"]: c["count"] for c in run["counts"]}
    signed_by = [s["party"] for s in run["signatures"]]
    obligation = await _obligation(request, session, run) if run["state"] in (
        "done", "signed") else None
    contracts = await hub_of(request).call(session.official, PAGE.slug, CONTRACTS)
    contract_title = next((c.get("title") for c in contracts.data.get("contracts") or ()
                           if c.get("id") == run["contractId"]), None) or run["contractId"]
    return render(request, "reconcile_run.html", title=PAGE.title, run=run, counts=counts,
                  contract_title=contract_title,
                  category=category, categories=CATEGORIES, sheets=SHEET_NAMES,
                  terms=CATEGORY_TERMS, states=STATE_NAMES, stages=STAGE_NAMES,
                  fields=FIELD_NAMES, reasons=REASON_NAMES, decisions=DECISION_NAMES,
                  warnings=answer.warnings, pname=party_name, me=party,
                  i_signed=party in signed_by, signed_by=signed_by, obligation=obligation,
                  running=run["state"] in ("queued", "running"))


@require_official(PAGE)
async def run_progress(request: Request, session: Session) -> Response:
    """The htmx fragment polled while the run works; once it stops, the page reloads."""
    run_id = _run_id(request)
    answer = await hub_of(request).page_data(session.official, PAGE.slug, PROGRESS,
                                             {"id": run_id})
    run = answer.data["reconciliation"]
    response = render(request, "reconcile_progress.html", run=run, states=STATE_NAMES,
                      stages=STAGE_NAMES, running=run["state"] in ("queued", "running"))
    if run["state"] not in ("queued", "running"):
        response.headers["HX-Refresh"] = "true"
    return response


@require_official(PAGE)
async def decide_pair(request: Request, session: Session) -> Response:
    await checked_form(request, session)
    run_id = _run_id(request)
    pair, decision = str(request.path_params["pair"]), str(request.path_params["decision"])
    back = RedirectResponse(f"/reconcile/{run_id}?category=CANDIDATE", status_code=303)
    if decision not in DECIDE or not _PAIR.match(pair):
        session.flash.append(("error", "没有这一项操作。"))
        return back
    try:
        answer = await hub_of(request).call(session.official, PAGE.slug, DECIDE[decision],
                                            {"run": run_id, "pair": pair})
    except HubFailure as failure:
        session.flash.append(("error", f"未能记录对疑似匹配的决定：{failure.sentence}"))
        return back
    made = answer.data[f"{decision}Match"]["decision"]
    session.flash.append(("ok", f"疑似匹配 {pair[:8]}… {DECISION_NAMES.get(made, made)}，"
                                "下次对账起按此比对。"))
    return back


@require_official(PAGE)
async def sign_run(request: Request, session: Session) -> Response:
    await checked_form(request, session)
    run_id = _run_id(request)
    back = RedirectResponse(f"/reconcile/{run_id}", status_code=303)
    hub = hub_of(request)
    answer = await hub.page_data(session.official, PAGE.slug, REPORT, {"id": run_id})
    report = answer.data["reconciliation"].get("report")
    if not report:
        session.flash.append(("error", "对账尚未完成，还没有可会签的报告。"))
        return back
    credentials = hub.credentials
    try:
        envelope = countersign_report(json.loads(report), credentials.key, credentials.kid)
    except (ContractError, ValueError):
        session.flash.append(("error", f"未能会签：{explain('CONTRACT_INVALID')}"))
        return back
    try:
        signed = await hub.call(session.official, PAGE.slug, SIGN,
                                {"id": run_id, "envelope": json.dumps(envelope)})
    except HubFailure as failure:
        session.flash.append(("error", f"未能会签：{failure.sentence}"))
        return back
    result = signed.data["signReconciliation"]
    done = "，各方均已会签，本季度对账义务已履行" if result["signedByEveryParty"] else \
        "，待对方会签"
    session.flash.append(("ok", f"本方已会签对账报告{done}。"))
    return back


@require_official(PAGE)
async def download_xlsx(request: Request, session: Session) -> Response:
    """The hub's workbook of the run, fetched as this official (console.downloads) and
    passed through; a refusal reads as its sentence."""
    run_id = _run_id(request)
    document = await fetch_document(hub_of(request), session.official, PAGE.slug,
                                    f"/reconciliations/{run_id}.xlsx")
    return Response(document.content, media_type=document.content_type, headers={
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="reconciliation-{run_id[:8]}.xlsx"'})


ROUTES = [
    Route("/reconcile", reconcile_page, methods=["GET"]),
    Route("/reconcile/start", start_run, methods=["POST"]),
    Route("/reconcile/{run:str}.xlsx", download_xlsx, methods=["GET"]),
    Route("/reconcile/{run:str}/progress", run_progress, methods=["GET"]),
    Route("/reconcile/{run:str}/sign", sign_run, methods=["POST"]),
    Route("/reconcile/{run:str}/pairs/{pair:str}/{decision:str}", decide_pair,
          methods=["POST"]),
    Route("/reconcile/{run:str}", run_page, methods=["GET"]),
]

