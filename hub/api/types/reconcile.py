"""GraphQL for two-way reconciliation (双向对账, 撞库): `startReconciliation` (a background job),
`reconciliation(id)` (state, progress, counts, and the rows per category as Relay
connections), `confirmMatch` / `rejectMatch` (a person's decision on a candidate pair, kept for
the contract's next runs) and `signReconciliation` (a party's countersignature of the report).

Every one needs the caller to be a party of the run (or, to start it, of an active contract
with the counterparty) holding the contract's `reconciliation` record permission
(hub.reconcile.access); anyone else gets NOT_FOUND for a run, never whether it exists. Rows
pass hub.reconcile.privacy: a party sees the other side's values only as its contracts grant,
and rows about members no contract gives it only as counts. Merged into the published schema by
hub.api.schema (`QUERY_TYPES`, `MUTATION_TYPES`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from hub.api.context import Context
from hub.api.types.pagination import Connection, page_window
from hub.audit.log import AuditEvent, Decision
from hub.audit.privacy import operation_hash
from hub.canonical_json import b64url_decode, strict_loads
from hub.contracts.keys import load_private_key
from hub.contracts.trust import Trust
from hub.errors import AccessDenied, ContractError, LimitExceeded, NotFound, RequestError
from hub.exchange import Draft, Entry, ReconciliationSigned, append
from hub.jws import parse_general
from hub.model import Side
from hub.policy.base import Agreement
from hub.reconcile.access import (
    check_scope,
    reconciliation_agreements,
    roles_in,
)
from hub.reconcile.inputs import LedgerInvalid, ledger_mapping, read_ledger_file
from hub.reconcile.ledger import Ledger
from hub.reconcile.matching import CATEGORIES, Parameters, RowScope
from hub.reconcile.privacy import visible_row
from hub.reconcile.report import nest, verify_report
from hub.reconcile.service import SideInput, run_job
from hub.reconcile.store import (
    Run,
    RunState,
    check_period,
    create_run,
    decide,
    decisions_for,
    get_run,
    rows_of_run,
    running_run,
    runs_of_party,
    store_envelope,
)
from hub.store.models import OrganizationRow

__all__ = ["QUERY_TYPES", "MUTATION_TYPES", "ReconciliationQuery", "ReconciliationMutation",
           "visible_run", "visible_rows", "signer_parties"]

#: base64 of a ledger handed in through GraphQL (the request body limit applies first)
MAX_LEDGER_BYTES = 20_000_000
#: background jobs, kept referenced until they finish (asyncio keeps only weak references)
_JOBS: set[asyncio.Task[None]] = set()


@strawberry.enum(description="对账结果类别。 Category of a reconciliation row.")
class ReconciliationCategory(enum.Enum):
    MATCHED = strawberry.enum_value("matched", description="匹配且一致。 Matched, consistent.")
    DIFFERING = strawberry.enum_value("differing", description="匹配但字段不一致。 Matched, "
                                      "with differing fields.")
    STATUS_CONFLICT = strawberry.enum_value("status_conflict", description="联系状态冲突（一方"
                                            "失联、另一方正常联系）。 One side lost contact, the "
                                            "other is in contact.")
    ORIGIN_ONLY = strawberry.enum_value("origin_only", description="外出，流入地未掌握。 Only "
                                        "the origin has the member: the destination should "
                                        "look for them.")
    DESTINATION_ONLY = strawberry.enum_value("destination_only", description="流入地发现，流出"
                                             "地无记录。 Only the destination has the member.")
    CANDIDATE = strawberry.enum_value("candidate", description="疑似匹配，待人工确认。 A "
                                      "candidate pair (no valid ID on one side) for a person "
                                      "to confirm or reject.")
    DUPLICATE = strawberry.enum_value("duplicate", description="同一方重复记录。 The same ID "
                                      "number twice on one side.")
    BAD_ROW = strawberry.enum_value("bad_row", description="问题行（报告并保留）。 A row with a "
                                    "bad value, reported and kept.")


@strawberry.type(description="对账中一方的一条记录（按协议授予显示）。 One side's record in a "
                 "reconciliation row, as the caller's contracts allow.")
class ReconciliationRecord:
    system: str | None = strawberry.field(description="所在系统。 System (source or file).")
    local_id: str | None = strawberry.field(description="记录编号。 The record's id there.")
    row: int | None = strawberry.field(description="文件行号。 Row in the file handed in.")
    name: str | None = strawberry.field(description="姓名。 Name.")
    gender: str | None = strawberry.field(description="性别。 Gender.")
    birth_date: str | None = strawberry.field(description="出生日期。 Birth date (ISO, partial).")
    phone: str | None = strawberry.field(description="联系电话（脱敏）。 Phone, masked.")
    status: str | None = strawberry.field(description="联系状态。 Contact status.")
    origin_organization: str | None = strawberry.field(
        description="组织关系所在党组织代码。 Origin organisation code.")
    origin_region: str | None = strawberry.field(description="流出地代码。 Origin region code.")
    destination_region: str | None = strawberry.field(
        description="流入地代码。 Destination region code.")
    destination_organization: str | None = strawberry.field(
        description="流入地党组织代码。 Destination organisation code.")

    @classmethod
    def of(cls, part: dict[str, Any] | None) -> ReconciliationRecord | None:
        if part is None:
            return None
        row = part.get("row")
        return cls(system=part.get("source"), local_id=part.get("local_id"),
                   row=row if isinstance(row, int) else None, name=part.get("name"),
                   gender=part.get("gender"), birth_date=part.get("birth_date"),
                   phone=part.get("phone"), status=part.get("status"),
                   origin_organization=part.get("origin_org_id"),
                   origin_region=part.get("origin_region_code"),
                   destination_region=part.get("destination_region_code"),
                   destination_organization=part.get("destination_org_id"))


@strawberry.type(description="一个不一致字段。 A field the two sides disagree on.")
class ReconciliationDifference:
    field: str = strawberry.field(description="字段（规范名）。 Canonical field name.")
    origin: str | None = strawberry.field(description="流出地的值。 The origin's value.")
    destination: str | None = strawberry.field(description="流入地的值。 The destination's value.")
    authority: str = strawberry.field(description="以哪方为准：origin | destination | newest。 "
                                      "Which side has authority for the field.")


@strawberry.type(description="问题行：文件、行、列与原因。 A bad row: file, row, column and why.")
class ReconciliationBadRow:
    side: str = strawberry.field(description="所在方。 origin | destination.")
    location: str = strawberry.field(description="文件或来源。 File (and sheet) or source.")
    row: int | None = strawberry.field(description="行号。 Row number as Excel shows it.")
    column: str | None = strawberry.field(description="列。 Column.")
    code: str = strawberry.field(description="问题代码。 Issue code.")
    message: str = strawberry.field(description="说明。 What is wrong.")


@strawberry.type(description="对账结果的一行。 One row of a reconciliation.")
class ReconciliationRow:
    category: ReconciliationCategory = strawberry.field(description="类别。 Category.")
    member_key: strawberry.ID | None = strawberry.field(description="成员键（身份证号的键控哈希）。"
                                                        " Member key, when an ID matched.")
    pair: strawberry.ID | None = strawberry.field(description="疑似匹配对编号，用于 confirmMatch /"
                                                  " rejectMatch。 Candidate pair id.")
    via: str | None = strawberry.field(description="匹配方式：id | confirmed。 How the pair was "
                                       "matched.")
    score: int | None = strawberry.field(description="匹配度（千分制）。 Candidate score, per "
                                         "mille.")
    reasons: list[str] = strawberry.field(description="评分理由。 Reasons for the score (name, "
                                          "name_variant, name_homophone, birth_date, phone...).")
    differences: list[ReconciliationDifference] = strawberry.field(
        description="不一致字段及双方的值。 Differing fields, both values, the authority.")
    origin: ReconciliationRecord | None = strawberry.field(description="流出地记录。 The "
                                                           "origin's record.")
    destination: ReconciliationRecord | None = strawberry.field(description="流入地记录。 The "
                                                                "destination's record.")
    bad_row: ReconciliationBadRow | None = strawberry.field(description="问题行详情。 For "
                                                            "BAD_ROW: where and why.")
    decision: str | None = strawberry.field(
        default=None, description="对疑似匹配的决定（confirmed | rejected，协议下的最新决定；"
        "下次对账生效）；未决定为空。 For a CANDIDATE: the decision people made on the pair under "
        "the run's contract (applied from the next run), null while undecided.")

    @classmethod
    def of(cls, row: dict[str, Any], decision: str | None = None) -> ReconciliationRow:
        bad = None
        if row.get("category") == "bad_row":
            bad = ReconciliationBadRow(side=row["side"], location=row["where"], row=row["row"],
                                       column=row["column"], code=row["code"],
                                       message=row["message"])
        return cls(
            category=ReconciliationCategory(row["category"]),
            member_key=strawberry.ID(row["key"]) if row.get("key") else None,
            pair=strawberry.ID(row["pair"]) if row.get("pair") else None,
            via=row.get("via"), score=row.get("score"), reasons=list(row.get("reasons") or ()),
            differences=[ReconciliationDifference(
                field=d["field"], origin=None if d["origin"] is None else str(d["origin"]),
                destination=None if d["destination"] is None else str(d["destination"]),
                authority=d["authority"]) for d in row.get("differences") or ()],
            origin=ReconciliationRecord.of(row.get("origin")),
            destination=ReconciliationRecord.of(row.get("destination")), bad_row=bad,
            decision=decision)


@strawberry.type(description="某类别的数量。 How many rows a category holds.")
class ReconciliationCount:
    category: ReconciliationCategory = strawberry.field(description="类别。 Category.")
    count: int = strawberry.field(description="数量（对各方相同）。 Count, the same for every "
                                  "party.")


@strawberry.type(description="报告上的一个签名。 A signature on the report.")
class ReconciliationSignature:
    party: str = strawberry.field(description="签名方（或枢纽）。 Signing party, or the hub.")
    kid: str = strawberry.field(description="密钥 ID。 Key id.")


@strawberry.type(description="一次双向对账（后台任务及其签名报告）。 A two-way reconciliation "
                 "run: a background job and its signed report.")
class Reconciliation:
    id: strawberry.ID = strawberry.field(description="编号。 Run id.")
    state: str = strawberry.field(description="状态：queued | running | done | failed | signed。"
                                  " State.")
    stage: str | None = strawberry.field(description="当前阶段。 Current stage.")
    progress: float = strawberry.field(description="进度 0–1。 Progress, 0..1.")
    period: str = strawberry.field(description="对账期间（季度）。 Period, e.g. 2026Q3.")
    contract_id: str = strawberry.field(description="依据的协议。 The contract it runs under.")
    origin_party: str = strawberry.field(description="流出地一方。 Origin party.")
    destination_party: str = strawberry.field(description="流入地一方。 Destination party.")
    counts: list[ReconciliationCount] = strawberry.field(description="各类别数量。 Counts per "
                                                         "category (once done).")
    error: str | None = strawberry.field(description="失败原因。 Why it failed.")
    error_code: str | None = strawberry.field(description="失败代码。 Error code of a failure.")
    report: str | None = strawberry.field(description="签名报告（General JSON JWS，RFC 8785 "
                                          "规范化载荷）。 The signed report: a General JSON JWS "
                                          "whose payload is RFC 8785 canonical JSON.")
    signed_by_every_party: bool = strawberry.field(description="各方均已签名（履行季度对账义务）。"
                                                   " Signed by every party: fulfils the "
                                                   "quarterly obligation.")
    _run: strawberry.Private[Run]

    @strawberry.field(description="某类别的行（按协议可见，Relay 分页）。 The rows of one category"
                      " the caller may see, as a Relay connection.")
    async def rows(self, info: Info, category: ReconciliationCategory,
                   first: int | None = None,
                   after: str | None = None) -> Connection[ReconciliationRow]:
        ctx: Context = info.context
        limits = ctx.runtime.limits
        offset, limit = page_window(first, after, default=limits.default_page_size,
                                    maximum=limits.max_page_size)
        visible = await _visible_rows(ctx, self._run, str(category.value))
        page = visible[offset:offset + limit + 1]
        ctx.access.touched(r["key"] for r in page[:limit] if r.get("key"))

        async def count() -> int:
            return len(visible)

        decided = (await decisions_for(ctx.runtime.session_factory, self._run.contract_id)
                   if category is ReconciliationCategory.CANDIDATE else {})
        return Connection[ReconciliationRow].build(
            [ReconciliationRow.of(r, decided.get(str(r.get("pair")))) for r in page],
            offset, limit, count)

    @strawberry.field(description="报告上的签名。 Signatures on the report.")
    def signatures(self, info: Info) -> list[ReconciliationSignature]:
        if self._run.envelope is None:
            return []
        registry = _trust(info.context).registry
        out = []
        for entry in parse_general(self._run.envelope).signatures:
            try:
                party = registry.key(entry.kid).party
            except ContractError:
                party = "?"
            out.append(ReconciliationSignature(party=party, kid=entry.kid))
        return out

    @classmethod
    def of(cls, run: Run) -> Reconciliation:
        return cls(
            id=strawberry.ID(run.id), state=run.state, stage=run.stage,
            progress=run.progress / 1000, period=run.period, contract_id=run.contract_id,
            origin_party=run.origin_party, destination_party=run.destination_party,
            counts=[ReconciliationCount(category=ReconciliationCategory(c), count=n)
                    for c, n in (run.counts or {}).items() if c in CATEGORIES],
            error=run.error, error_code=run.error_code,
            report=json.dumps(run.envelope) if run.envelope is not None else None,
            signed_by_every_party=run.state == RunState.SIGNED, _run=run)


@strawberry.input(description="本方为本次对账提交的台账文件。 A ledger file the caller hands in "
                  "for this run (its own side).")
class LedgerFileInput:
    filename: str = strawberry.field(description="文件名（.csv 或 .xlsx）。 File name, .csv or "
                                     ".xlsx.")
    content_base64: str = strawberry.field(description="文件内容（base64）。 File content, "
                                           "base64.")
    mapping: str = strawberry.field(description="字段映射（TOML，kind = \"ledger\"）。 The mapping "
                                    "(TOML, a ledger mapping).")
    encoding: str | None = strawberry.field(default=None, description="CSV 编码：utf-8 | gbk | "
                                            "gb18030。 CSV encoding.")


@strawberry.input(description="发起对账。 Start a reconciliation.")
class StartReconciliationInput:
    counterparty: str = strawberry.field(description="对方参与方 ID。 The other party.")
    period: str = strawberry.field(description="期间（季度），如 2026Q3。 Quarter, e.g. 2026Q3.")
    contract_id: str | None = strawberry.field(default=None, description="协议 ID（默认：双方间"
                                               "授予对账权限的协议）。 Contract id (default: the "
                                               "one between the parties granting it).")
    origin_region_codes: list[str] | None = strawberry.field(
        default=None, description="流出地范围（默认协议范围）。 Origin regions (default: the "
        "contract's scope).")
    origin_org_ids: list[str] | None = strawberry.field(
        default=None, description="流出地党组织范围。 Origin organisations.")
    destination_region_codes: list[str] | None = strawberry.field(
        default=None, description="流入地范围。 Destination regions.")
    ledger: LedgerFileInput | None = strawberry.field(
        default=None, description="本方台账文件（默认：本方已配置的系统）。 The caller's ledger "
        "file (default: its configured sources, from the index).")


@strawberry.type(description="对疑似匹配的决定。 A decision on a candidate pair.")
class MatchDecision:
    pair: strawberry.ID = strawberry.field(description="匹配对编号。 Pair id.")
    decision: str = strawberry.field(description="confirmed | rejected。 The decision.")
    party: str = strawberry.field(description="决定方。 Deciding party.")


def _trust(ctx: Context) -> Trust:
    enforcement = ctx.runtime.enforcement
    if not isinstance(enforcement, Trust) or not ctx.decisions.grants_records:
        ctx.access.refused()
        raise AccessDenied("reconciliation needs the hub to run under signed contracts",
                           fields=["Mutation.startReconciliation"])
    return enforcement


async def _run_for(ctx: Context, run_id: str) -> Run:
    """The run, if the caller is one of its parties with the permission now; else NOT_FOUND."""
    _trust(ctx)
    try:
        run = await get_run(ctx.runtime.session_factory, str(run_id))
    except NotFound:
        ctx.access.refused()
        raise NotFound("no such reconciliation") from None
    party = ctx.caller.party
    if party not in run.parties:
        ctx.access.refused()
        raise NotFound("no such reconciliation")
    counterparty = next(iter(run.parties - {party}))
    if not any(a.id == run.contract_id
               for a in reconciliation_agreements(ctx.decisions, counterparty)):
        ctx.access.refused()
        raise NotFound("no such reconciliation")
    return run


async def visible_run(ctx: Context, run_id: str) -> Run:
    """The run as `reconciliation(id)` admits it (hub.api.reconcile_xlsx serves its workbook)."""
    return await _run_for(ctx, run_id)


async def visible_rows(ctx: Context, run: Run, category: str) -> list[dict[str, Any]]:
    """The rows of one category the caller may see, nested as people read them."""
    return await _visible_rows(ctx, run, category)


def signer_parties(trust: Trust, run: Run) -> list[str]:
    """Who signed the run's report so far, as "party (kid)", the hub first."""
    if run.envelope is None:
        return []
    out = []
    for entry in parse_general(run.envelope).signatures:
        try:
            party = trust.registry.key(entry.kid).party
        except ContractError:
            party = "?"
        out.append(f"{party} ({entry.kid})")
    return out


async def _runs_visible_to(ctx: Context, party: str) -> list[Run]:
    """The party's runs whose contract lets it reconcile with the other party now (what
    `_run_for` admits one at a time), newest first."""
    allowed: dict[str, set[str]] = {}
    out = []
    for run in await runs_of_party(ctx.runtime.session_factory, party):
        counterparty = next(iter(run.parties - {party}), party)
        if counterparty not in allowed:
            allowed[counterparty] = {a.id for a in reconciliation_agreements(ctx.decisions,
                                                                             counterparty)}
        if run.contract_id in allowed[counterparty]:
            out.append(run)
    return out


async def _visible_rows(ctx: Context, run: Run, category: str) -> list[dict[str, Any]]:
    rows = (await rows_of_run(ctx.runtime.session_factory, run.id, category))[category]
    out = []
    for row in rows:
        shown = visible_row(ctx.decisions, nest(row), origin_party=run.origin_party,
                            destination_party=run.destination_party,
                            hash_key=ctx.runtime.hash_key)
        if shown is not None:
            out.append(shown)
    return out


def _choose_contract(ctx: Context, counterparty: str, contract_id: str | None) -> Agreement:
    found = reconciliation_agreements(ctx.decisions, counterparty)
    if contract_id is not None:
        found = [c for c in found if c.id == contract_id]
    if not found:
        ctx.access.refused("Mutation.startReconciliation")
        raise AccessDenied(
            f"no active contract between this party and {counterparty!r} grants it the "
            "`reconciliation` record permission", fields=["Mutation.startReconciliation"])
    return found[0]


def _decode(ledger: LedgerFileInput) -> bytes:
    if len(ledger.content_base64) > MAX_LEDGER_BYTES:
        raise LedgerInvalid(f"{ledger.filename}: the file is over {MAX_LEDGER_BYTES} bytes")
    try:
        return base64.b64decode(ledger.content_base64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeError):
        raise LedgerInvalid(f"{ledger.filename}: contentBase64 is not base64") from None


async def _read_upload(ctx: Context, ledger: LedgerFileInput, side: Side) -> Ledger:
    """Read the handed-in file now, so a bad file is refused before any run exists."""
    name = Path(ledger.filename).name
    if not name or name != ledger.filename or name.startswith("."):
        raise LedgerInvalid("filename must be a plain file name such as 台账.csv")
    data = _decode(ledger)
    with tempfile.TemporaryDirectory(prefix="yanxing-reconcile-") as tmp:
        path = Path(tmp) / name
        await asyncio.to_thread(path.write_bytes, data)
        mapping = ledger_mapping(ledger.mapping, path, encoding=ledger.encoding)
        assert ctx.caller.party is not None
        return await read_ledger_file(path, mapping, side=side, secret=ctx.runtime.hash_key,
                                      owners=frozenset({ctx.caller.party}))


def _hub_key(trust: Trust) -> tuple[Any, str]:
    path = trust.config.hub_private_key_path
    if path is None:
        raise RequestError("the hub has no signing key ([trust] hub_private_key): it cannot "
                           "sign reconciliation reports")
    return load_private_key(path), trust.config.hub_kid or trust.registry.hub_kid


def _sources_of(ctx: Context, party: str, side: Side) -> tuple[str, ...]:
    return tuple(sorted(e.name for e in ctx.runtime.registry
                        if e.owner == party and e.side is side))


@strawberry.type
class ReconciliationQuery:
    @strawberry.field(description="一次对账（须为对账一方并有协议对账权限）。 A reconciliation "
                      "run, to its parties holding a contract's `reconciliation` permission.")
    async def reconciliation(self, info: Info, id: strawberry.ID) -> Reconciliation:
        return Reconciliation.of(await _run_for(info.context, str(id)))

    @strawberry.field(description="本方参与的对账（新者在前；须有协议对账权限）。 The "
                      "reconciliation runs the caller is a party of, under a contract that "
                      "grants it the `reconciliation` permission now; newest first.")
    async def reconciliations(self, info: Info, first: int | None = None,
                              after: str | None = None) -> Connection[Reconciliation]:
        ctx: Context = info.context
        _trust(ctx)
        limits = ctx.runtime.limits
        offset, limit = page_window(first, after, default=limits.default_page_size,
                                    maximum=limits.max_page_size)
        party = ctx.caller.party
        assert party is not None
        visible = await _runs_visible_to(ctx, party)

        async def count() -> int:
            return len(visible)

        return Connection[Reconciliation].build(
            [Reconciliation.of(r) for r in visible[offset:offset + limit + 1]], offset, limit,
            count)


@strawberry.type
class ReconciliationMutation:
    @strawberry.mutation(description="发起双向对账（后台运行）。 Start a two-way reconciliation "
                         "in the background; needs a contract's `reconciliation` record "
                         "permission between the two parties.")
    async def start_reconciliation(self, info: Info,
                                   input: StartReconciliationInput) -> Reconciliation:
        ctx: Context = info.context
        trust = _trust(ctx)
        period = check_period(input.period)
        contract = _choose_contract(ctx, input.counterparty, input.contract_id)
        party = ctx.caller.party
        assert party is not None
        roles = roles_in(contract, party, input.counterparty)
        assert roles is not None
        origin_party, destination_party = roles
        scope = check_scope(contract, RowScope(
            tuple(input.origin_org_ids or ()), tuple(input.origin_region_codes or ()),
            tuple(input.destination_region_codes or ())))
        busy = await running_run(ctx.runtime.session_factory, contract.id, period)
        if busy is not None:
            raise LimitExceeded(f"reconciliation {busy} of this contract for {period} is still "
                                "running: wait for it (reconciliation(id) shows its progress)")
        own_side = Side.ORIGIN if party == origin_party else Side.DESTINATION
        hub_key, hub_kid = _hub_key(trust)
        uploaded = await _read_upload(ctx, input.ledger, own_side) if input.ledger else None
        sides: dict[Side, SideInput | Ledger] = {}
        for side, owner in ((Side.ORIGIN, origin_party), (Side.DESTINATION, destination_party)):
            if uploaded is not None and side is own_side:
                sides[side] = uploaded
            else:
                sides[side] = SideInput(side, owner, _sources_of(ctx, owner, side))
        sessions = ctx.runtime.session_factory
        run_id = await create_run(
            sessions, contract_id=contract.id, contract_digest=contract.digest,
            origin_party=origin_party, destination_party=destination_party, period=period,
            scope=scope.as_json(), started_by=party, user=ctx.caller.user)
        task = asyncio.create_task(run_job(
            sessions, run_id, origin=sides[Side.ORIGIN], destination=sides[Side.DESTINATION],
            params=Parameters(period, scope), secret=ctx.runtime.hash_key,
            contract={"id": contract.id, "digest": contract.digest}, hub_key=hub_key,
            hub_kid=hub_kid))
        _JOBS.add(task)
        task.add_done_callback(_JOBS.discard)
        return Reconciliation.of(await get_run(sessions, run_id))

    @strawberry.mutation(description="确认疑似匹配（保留至下次对账）。 Confirm a candidate pair; "
                         "kept for the contract's later runs.")
    async def confirm_match(self, info: Info, reconciliation: strawberry.ID,
                            pair: strawberry.ID) -> MatchDecision:
        return await _decide(info.context, str(reconciliation), str(pair), "confirmed")

    @strawberry.mutation(description="否定疑似匹配（下次对账不再提出）。 Reject a candidate pair; "
                         "never proposed again under this contract.")
    async def reject_match(self, info: Info, reconciliation: strawberry.ID,
                           pair: strawberry.ID) -> MatchDecision:
        return await _decide(info.context, str(reconciliation), str(pair), "rejected")

    @strawberry.mutation(description="会签对账报告：提交加上本方签名的 General JSON JWS。 "
                         "Countersign the report: submit its General JSON JWS with this "
                         "party's signature added.")
    async def sign_reconciliation(self, info: Info, id: strawberry.ID,
                                  envelope: str) -> Reconciliation:
        ctx: Context = info.context
        trust = _trust(ctx)
        run = await _run_for(ctx, str(id))
        if run.envelope is None or run.state not in (RunState.DONE, RunState.SIGNED):
            raise RequestError(f"the reconciliation is {run.state}: only a finished run's "
                               "report can be signed")
        try:
            submitted = strict_loads(envelope)
            stored = parse_general(run.envelope)
            given = parse_general(submitted)
        except ContractError as exc:
            raise ContractError(f"the submitted report is not a General JSON JWS: {exc}") \
                from None
        if given.payload_b64 != stored.payload_b64:
            ctx.access.refused("Mutation.signReconciliation")
            raise ContractError("the submitted report differs from the hub's: sign the report "
                                "exactly as `reconciliation { report }` returns it")
        merged = stored.to_json()
        known = {(s["protected"], s["signature"]) for s in merged["signatures"]}
        for s in given.to_json()["signatures"]:
            if (s["protected"], s["signature"]) not in known:
                merged["signatures"].append(s)
                known.add((s["protected"], s["signature"]))
        verified = verify_report(merged, trust.registry)
        if ctx.caller.party not in verified.parties:
            ctx.access.refused("Mutation.signReconciliation")
            raise AccessDenied("the submitted report carries no signature of the calling party",
                               fields=["Mutation.signReconciliation"])
        all_signed = verified.signed_by_every_party()
        await store_envelope(ctx.runtime.session_factory, run.id, merged, all_signed=all_signed)
        if all_signed:
            await _record_in_ledger(ctx, trust, run, stored.payload_b64, sorted(verified.parties))
        return Reconciliation.of(await get_run(ctx.runtime.session_factory, run.id))


async def _own_organization(ctx: Context, party: str) -> str:
    """Where a party-level act is recorded: the first organisation the party's own sources
    hold (by code), or the party id when they hold none."""
    systems = {e.name for e in ctx.runtime.registry if e.owner == party}
    async with ctx.runtime.session_factory() as session:
        rows = await session.execute(select(OrganizationRow.org_id, OrganizationRow.sources)
                                     .order_by(OrganizationRow.org_id))
        for code, sources in rows:
            if any(isinstance(s, dict) and s.get("system") in systems for s in sources or ()):
                return str(code)
    return party


async def _record_in_ledger(ctx: Context, trust: Trust, run: Run, payload_b64: str,
                            signers: list[str]) -> None:
    """The signed report as an exchange ledger entry (action `reconciliation`), made by the
    party whose signature completed it; idempotent per run, so signing again replays it."""
    party = ctx.caller.party
    assert party is not None
    digest = "sha256:" + hashlib.sha256(b64url_decode(payload_b64)).hexdigest()
    draft = Draft(
        payload=ReconciliationSigned(run=run.id, contract_id=run.contract_id,
                                     period=run.period, report=digest,
                                     signers=tuple(signers)),
        organizations=(await _own_organization(ctx, party),), party=party,
        official=ctx.caller.user, purpose=ctx.caller.purpose,
        contracts=(run.contract_digest,), idempotency_key=f"reconciliation:{run.id}")
    document, operation_name = ctx.access.operation

    def event(entry: Entry) -> AuditEvent:
        return AuditEvent(
            at=entry.recorded_at, party=party, user=ctx.caller.user,
            purpose=ctx.caller.purpose, decision=Decision.ALLOWED,
            operation_hash=operation_hash(document or "", operation_name),
            contract_digests=(run.contract_digest,),
            fields_allowed=["Mutation.signReconciliation"], entry=entry.id,
            action="reconciliation")

    await append(trust.audit_log, draft, event)


async def _decide(ctx: Context, run_id: str, pair: str, decision: str) -> MatchDecision:
    run = await _run_for(ctx, run_id)
    candidates = await _visible_rows(ctx, run, "candidate")
    if not any(r.get("pair") == pair for r in candidates):
        raise NotFound("no such candidate pair in this reconciliation")
    assert ctx.caller.party is not None
    await decide(ctx.runtime.session_factory, contract_id=run.contract_id, pair=pair,
                 decision=decision, party=ctx.caller.party, user=ctx.caller.user,
                 run_id=run.id)
    return MatchDecision(pair=strawberry.ID(pair), decision=decision, party=ctx.caller.party)


QUERY_TYPES = (ReconciliationQuery,)
MUTATION_TYPES = (ReconciliationMutation,)
