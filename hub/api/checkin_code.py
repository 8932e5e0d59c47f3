"""`GET /checkin-code/{org}?code=...&format=svg|png`: a check-in code (报到码) as a QR code.

The branch prints or shows it; a member scans it in the platform they use, which passes the
code to `recordCheckIn(code:)`. The page is the issuing party's only: the request carries its
party token, the code must be genuine, unexpired, for `{org}` and issued by that party, and
the party must still be allowed to issue there (a contract's `checkin` record permission, at
one of its own organisations; hub.api.exchange.may_record_at). The code is a bearer of
nothing but an organisation; the answer is `no-store` anyway.

Errors are JSON like the GraphQL endpoint's (`errors[0].extensions.code`): 401
UNAUTHENTICATED, 400 BAD_USER_INPUT / CHECKIN_CODE_INVALID / CHECKIN_CODE_WRONG_ORGANIZATION,
410 CHECKIN_CODE_EXPIRED, 403 CONTRACT_DENIED, 404 NOT_FOUND (no contracts, no such
organisation).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import segno
from starlette.requests import Request
from starlette.responses import Response

from hub.api.context import Context
from hub.api.exchange import may_record_at
from hub.api.http import error_response
from hub.api.inputs import BadUserInput, check_org_code
from hub.api.runtime import Runtime
from hub.clock import utcnow
from hub.contracts.trust import Trust
from hub.errors import AuthenticationError, HubError
from hub.exchange.checkin import CheckInCodeExpired, CheckInCodeWrongOrganization, verify_code

__all__ = ["checkin_code_route", "render_qr", "FORMATS"]

#: format -> media type
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def render_qr(code: str, fmt: str) -> bytes:
    """The code as a QR code (error correction M: survives a crease or a smudge)."""
    qr = segno.make(code, error="m", micro=False)
    out = io.BytesIO()
    if fmt == "svg":
        qr.save(out, kind="svg", scale=4, border=4, title="报到码 check-in code",
                xmldecl=False)
    else:
        qr.save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def checkin_code_route(
    runtime_of: Callable[[Request], Runtime],
) -> Callable[[Request], Awaitable[Response]]:
    async def checkin_code(request: Request) -> Response:
        runtime = runtime_of(request)
        trust = runtime.enforcement
        if not isinstance(trust, Trust):
            return error_response(404, "NOT_FOUND", "check-in codes need the hub to run under "
                                  "signed contracts")
        try:
            caller = await trust.authenticate(request)
        except AuthenticationError as exc:
            return error_response(401, exc.code, str(exc), reason=getattr(exc, "reason", None),
                                  **{"WWW-Authenticate": "Bearer"})
        fmt = request.query_params.get("format", "svg")
        code = request.query_params.get("code")
        try:
            org = check_org_code(request.path_params["org"], "org")
            if fmt not in FORMATS:
                raise BadUserInput(f"format: one of {', '.join(FORMATS)}")
            if not code:
                raise BadUserInput("code: the check-in code to render (from issueCheckInCode)")
            claims = verify_code(runtime.hash_key, code, utcnow())
            if claims.organization != org:
                raise CheckInCodeWrongOrganization(
                    f"the check-in code is for organisation {claims.organization!r}")
        except CheckInCodeExpired as exc:
            return error_response(410, exc.code, str(exc))
        except HubError as exc:
            return error_response(400, exc.code, str(exc))
        ctx = Context(runtime=runtime, caller=caller, request=request,
                      policy=await trust.policy_for(caller))
        row = await ctx.loaders.organizations.load(org)
        if row is None:
            return error_response(404, "NOT_FOUND", f"no organisation with code {org!r}")
        if claims.party != caller.party or not ctx.decisions.can_record(None, "checkin") or \
                not may_record_at(ctx, None, row):
            return error_response(403, "CONTRACT_DENIED", "only the party that issued this "
                                  "code, while it may record check-ins there, gets its QR code")
        return Response(render_qr(code, fmt), media_type=FORMATS[fmt],
                        headers={"Cache-Control": "no-store"})

    return checkin_code
