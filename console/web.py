"""Rendering and the guards every page shares: signed-in official, CSRF token, safe headers.

Pages are rendered on the server (Jinja2, autoescaped) and enhanced with htmx; nothing is
loaded from outside the console (the Content-Security-Policy allows only 'self'). A form is
accepted only with its session's CSRF token (a hidden field, or the `X-CSRF-Token` header htmx
sends from the page's <body hx-headers>), compared in constant time; cookies are HttpOnly and
SameSite=Strict on top of that.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console.hub import ConsoleHub, HubFailure
from console.messages import party_name
from console.officials import OfficialDirectory
from console.sessions import COOKIE, Session, SessionStore

__all__ = ["Console", "Page", "PageHandler", "render", "require_official", "checked_form",
           "SECURITY_HEADERS", "Forbidden"]

TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "script-src 'self'; connect-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Page:
    """One page of the console: its slug (also in every request id it sends), its Chinese
    title in the navigation, and the roles a party must hold in some contract to see it
    (origin 流出地, destination 流入地, observer 观察方)."""

    slug: str
    title: str
    path: str
    roles: frozenset[str] = frozenset({"origin", "destination"})


@dataclass
class Console:
    """What every handler needs: the hub, the officials, the sessions, the pages."""

    hub: ConsoleHub
    officials: OfficialDirectory
    sessions: SessionStore
    party: str
    party_name: str
    secure_cookies: bool
    pages: list[Page] = field(default_factory=list)
    #: the contract roles of the console's party (origin/destination/observer), read once
    party_roles: frozenset[str] | None = None

    def visible_pages(self) -> list[Page]:
        if self.party_roles is None:  # the hub was not reachable yet: every page, each says why
            return list(self.pages)
        return [p for p in self.pages if p.roles & self.party_roles]


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


_environment.globals["name_of_party"] = party_name


def environment() -> jinja2.Environment:
    return _environment


def console_of(request: Request) -> Console:
    console = request.app.state.console
    assert isinstance(console, Console)
    return console


def session_of(request: Request) -> Session | None:
    return console_of(request).sessions.find(request.cookies.get(COOKIE))


def render(request: Request, template: str, *, status: int = 200,
           **context: Any) -> HTMLResponse:
    """`template` with the page frame's context (official, CSRF token, navigation, flash)."""
    console = console_of(request)
    session = request.scope.get("console.session")
    flash: list[tuple[str, str]] = []
    if session is not None:
        flash, session.flash = session.flash, []
    html = environment().get_template(template).render(
        request=request, session=session, official=session.official if session else None,
        csrf=session.csrf if session else "", party_name=console.party_name,
        nav=console.visible_pages(), flash=flash, current=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=dict(SECURITY_HEADERS))


PageHandler = Callable[[Request, Session], Awaitable[Response]]


class Forbidden(Exception):
    """A form without its session's CSRF token, or a page the party's roles do not open."""


def require_official(page: Page | None = None) -> Callable[[PageHandler],
                                                          Callable[[Request], Awaitable[Response]]]:
    """Decorate a handler that needs a signed-in official (and, with `page`, a party role
    that opens it). Without a live session: GET goes to the sign-in page and back; anything
    else is refused with 401 (htmx then reloads to the sign-in page)."""

    def decorate(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(handler)
        async def guarded(request: Request) -> Response:
            session = session_of(request)
            if session is None:
                if request.method == "GET" and "hx-request" not in request.headers:
                    target = quote(request.url.path + (f"?{request.url.query}"
                                                       if request.url.query else ""))
                    return RedirectResponse(f"/login?next={target}", status_code=303,
                                            headers=dict(SECURITY_HEADERS))
                return HTMLResponse("登录已失效，请重新登录。", status_code=401,
                                    headers={**SECURITY_HEADERS, "HX-Redirect": "/login"})
            request.scope["console.session"] = session
            console = console_of(request)
            if page is not None and console.party_roles is not None \
                    and not (page.roles & console.party_roles):
                return render(request, "error.html", status=403, title=page.title,
                              message="本方在现行协议中的身份不办理这项工作。")
            try:
                return await handler(request, session)
            except HubFailure as failure:
                template = "fragment_error.html" if "hx-request" in request.headers \
                    else "error.html"
                return render(request, template, status=200,
                              title=page.title if page else "出错了",
                              message=failure.sentence, code=failure.code)
            except Forbidden:
                return render(request, "error.html", status=403, title="请求被拒绝",
                              message="表单已过期或不是从本工作台提交的，请刷新页面后重新填写。",
                              code="CSRF")
        return guarded
    return decorate


async def checked_form(request: Request, session: Session) -> FormData:
    """The posted form, only when it carries this session's CSRF token."""
    form = await request.form()
    sent = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
    if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(),
                                                               session.csrf.encode()):
        raise Forbidden()
    return form


def hub_of(request: Request) -> ConsoleHub:
    return console_of(request).hub
