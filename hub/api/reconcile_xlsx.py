"""`GET /reconciliations/{id}.xlsx`: a reconciliation run's workbook (双向对账表), for its parties.

The same token as `/graphql` (`Authorization: Bearer <party token>`, single use). The run is
served only to a party of it holding a contract's `reconciliation` permission now (exactly
whom `reconciliation(id)` answers), else 404 with the same body whether or not it exists. The
workbook is the party's own view: 汇总 first, then one sheet per category with every row the
party may see (hub.reconcile.privacy, as `Reconciliation.rows` shows them) and, on the summary,
who has signed. Every answer is one audit entry (allowed, with the member keys of the rows;
denied; or rejected for a bad token), as the GraphQL reads of the rows would be. The workbook
is written in a worker thread (openpyxl is pure Python), so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.context import Context
from hub.api.runtime import Runtime
from hub.api.types.reconcile import signer_parties, visible_rows, visible_run
from hub.audit.log import AuditEvent, Decision
from hub.audit.privacy import operation_hash
from hub.clock import utcnow
from hub.contracts.trust import Trust
from hub.errors import AuthenticationError, HubError
from hub.reconcile.export import write_xlsx
from hub.reconcile.matching import CATEGORIES
from hub.reconcile.store import Run, RunState

__all__ = ["reconciliation_xlsx", "ROUTE", "XLSX_TYPE"]

ROUTE = "/reconciliations/{id:str}.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_OPERATION = operation_hash("GET /reconciliations/{id}.xlsx")
_FIELD = "Reconciliation.xlsx"
_MEMBER_KEY = re.compile(r"^[0-9a-f]{64}$")
#: a run with a report: the workbook needs the signed document's inputs and counts
_WITH_REPORT = (RunState.DONE, RunState.SIGNED)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=status, headers={"Cache-Control": "no-store"})


def _workbook(document: Mapping[str, Any], rows: Mapping[str, Sequence[Mapping[str, Any]]],
              signers: Sequence[str]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="yanxing-xlsx-") as tmp:
        path = write_xlsx(Path(tmp) / "report.xlsx", document, rows, signers=signers)
        return path.read_bytes()


async def reconciliation_xlsx(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    trust = runtime.enforcement
    if not isinstance(trust, Trust):
        return _error(404, "NOT_FOUND", "reconciliations need the hub to run under signed "
                      "contracts")
    try:
        caller = await trust.authenticate(request)
    except AuthenticationError as exc:
        await trust.record_rejection(request, "unauthenticated")
        return _error(401, exc.code, str(exc))
    except HubError as exc:
        return _error(401, "UNAUTHENTICATED", f"request token refused: {exc}")
    ctx = Context(runtime=runtime, caller=caller, request=request,
                  policy=await trust.policy_for(caller))

    async def denied(exc: HubError) -> JSONResponse:
        await trust.audit_log.append(AuditEvent(
            at=utcnow(), party=caller.party, user=caller.user, purpose=caller.purpose,
            decision=Decision.DENIED, operation_hash=_OPERATION, fields_denied=[_FIELD]))
        return _error(404, "NOT_FOUND", str(exc))

    try:
        run: Run = await visible_run(ctx, str(request.path_params["id"])[:64])
    except HubError as exc:  # NotFound, or AccessDenied without the record permission
        return await denied(exc)
    if run.state not in _WITH_REPORT or run.document is None:
        return _error(409, "STATE_CONFLICT", f"the reconciliation is {run.state}: its workbook "
                      "exists once the run is done")
    rows = {c: await visible_rows(ctx, run, c) for c in CATEGORIES}
    keys = sorted({str(r["key"]) for shown in rows.values() for r in shown
                   if _MEMBER_KEY.match(str(r.get("key") or ""))})
    await trust.audit_log.append(AuditEvent(
        at=utcnow(), party=caller.party, user=caller.user, purpose=caller.purpose,
        decision=Decision.ALLOWED, operation_hash=_OPERATION,
        contract_digests=ctx.decisions.contract_digests(), member_keys=keys,
        fields_allowed=[_FIELD]))
    signers = signer_parties(trust, run)
    data = await asyncio.to_thread(_workbook, run.document, rows, signers)
    return Response(data, media_type=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="reconciliation-{run.period}-'
                               f'{run.id[:8]}.xlsx"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})



