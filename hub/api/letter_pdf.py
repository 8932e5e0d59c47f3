"""`GET /letters/{id}.pdf`: an evaluation letter (年终发函) as a PDF, for its two parties only.

The same token as `/graphql` (`Authorization: Bearer <party token>`, single use); the letter is
served only to its sender or recipient while the member is in the caller's scope, else 404
with the same body whether or not it exists. Every answer is one audit entry (allowed, with
the member key; denied; or rejected for a bad token), as a GraphQL read of the letter would
be. Rendering (hub.exchange.letter_pdf, ~0.5 s for the font) runs in a worker thread, so the
event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api.context import Context
from hub.api.runtime import Runtime
from hub.api.types.letters import visible_letter
from hub.audit.log import AuditEvent, Decision
from hub.audit.privacy import operation_hash
from hub.clock import utcnow
from hub.contracts.trust import Trust
from hub.errors import AuthenticationError, HubError, NotFound
from hub.exchange.letter_pdf import LetterSignature, render_letter_pdf
from hub.exchange.letters import Letter

__all__ = ["letter_pdf", "ROUTE"]

ROUTE = "/letters/{id:int}.pdf"
_OPERATION = operation_hash("GET /letters/{id}.pdf")
_FIELD = "EvaluationLetter.pdf"
log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]},
                        status_code=status, headers={"Cache-Control": "no-store"})


def _pdf(letter: Letter) -> bytes:
    def sig(info: object) -> LetterSignature | None:
        if info is None:
            return None
        return LetterSignature(info.party, info.kid, info.signed_at)  # type: ignore[attr-defined]

    return render_letter_pdf(letter.document, digest=letter.digest,
                             signature=sig(letter.signature),
                             acknowledgement=sig(letter.acknowledgement))


async def letter_pdf(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    trust = runtime.enforcement
    if not isinstance(trust, Trust):
        return _error(404, "NOT_FOUND", "letters need the hub to run under signed contracts")
    try:
        caller = await trust.authenticate(request)
    except AuthenticationError as exc:
        await trust.record_rejection(request, "unauthenticated")
        return _error(401, exc.code, str(exc))
    except HubError as exc:
        return _error(401, "UNAUTHENTICATED", f"request token refused: {exc}")
    ctx = Context(runtime=runtime, caller=caller, request=request,
                  policy=await trust.policy_for(caller))
    number = int(request.path_params["id"])
    try:
        letter = await visible_letter(ctx, number)
    except NotFound as exc:
        await trust.audit_log.append(AuditEvent(
            at=utcnow(), party=caller.party, user=caller.user, purpose=caller.purpose,
            decision=Decision.DENIED, operation_hash=_OPERATION, fields_denied=[_FIELD]))
        return _error(404, exc.code, str(exc))
    member = letter.document.member_key
    await trust.audit_log.append(AuditEvent(
        at=utcnow(), party=caller.party, user=caller.user, purpose=caller.purpose,
        decision=Decision.ALLOWED, operation_hash=_OPERATION,
        contract_digests=ctx.decisions.contract_digests(), member_keys=[member],
        fields_allowed=[_FIELD]))
    data = await asyncio.to_thread(_pdf, letter)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="letter-{number}.pdf"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
