"""The console app: sign-in and sign-out, static files, and every page module's routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from console.config import ConsoleConfig
from console.hub import ConsoleHub, HubFailure
from console.messages import learn_party_names
from console.officials import Official, OfficialDirectory
from console.pages import PAGE_MODULES
from console.sessions import COOKIE, SessionStore
from console.web import (
    SECURITY_HEADERS,
    Console,
    Forbidden,
    checked_form,
    console_of,
    render,
    session_of,
)

__all__ = ["create_console_app"]

STATIC = Path(__file__).parent / "static"

_ROLES_QUERY = "query ConsoleParty { contracts { state parties { party role name } } }"


def _safe_next(target: str | None) -> str:
    """Only a path on this console (no scheme, no host, no `//evil`): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or urlsplit(target).netloc:
        return "/"
    return target


async def login_page(request: Request) -> Response:
    if session_of(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "login.html", next=_safe_next(request.query_params.get("next")),
                  error=None, user="")


async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    user, password = str(form.get("user") or "").strip(), str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or "/"))
    if not user or not password or len(user) > 64 or len(password) > 256:
        return render(request, "login.html", status=400, next=target, user=user[:64],
                      error="请输入用户名和密码。")
    if console.officials.locked(user):
        return render(request, "login.html", status=429, next=target, user=user,
                      error="密码错误次数过多，该账号已暂时锁定，请 5 分钟后再试。")
    official = await console.officials.authenticate(user, password)
    if official is None:
        return render(request, "login.html", status=401, next=target, user=user,
                      error="用户名或密码不正确。")
    await _learn_party_roles(console, official)
    _session, cookie = console.sessions.start(official)
    response = RedirectResponse(target, status_code=303, headers=dict(SECURITY_HEADERS))
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict",
                        secure=console.secure_cookies, path="/")
    return response


async def _learn_party_roles(console: Console, official: Official) -> None:
    """The console's party's roles in its contracts in force (opens the pages for them)."""
    if console.party_roles is not None:
        return
    with contextlib.suppress(HubFailure):
        answer = await console.hub.call(official, "sign-in", _ROLES_QUERY)
        roles = {p["role"] for c in answer.data.get("contracts") or ()
                 if c.get("state") in {"active", "ACTIVE"}
                 for p in c.get("parties") or () if p.get("party") == console.party}
        console.party_roles = frozenset(roles)
        learn_party_names({p["party"]: p.get("name") for c in answer.data.get("contracts") or ()
                           for p in c.get("parties") or ()})


async def logout(request: Request) -> Response:
    console = console_of(request)
    session = session_of(request)
    if session is not None:
        try:
            await checked_form(request, session)
        except Forbidden:
            return HTMLResponse("表单已过期，请刷新页面后再退出。", status_code=403,
                                headers=dict(SECURITY_HEADERS))
        console.sessions.end(session)
    response = RedirectResponse("/login", status_code=303, headers=dict(SECURITY_HEADERS))
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def home(request: Request) -> Response:
    session = session_of(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    pages = console_of(request).visible_pages()
    if pages:
        return RedirectResponse(pages[0].path, status_code=303)
    request.scope["console.session"] = session
    return render(request, "error.html", title="官员工作台",
                  message="本方在现行协议中没有可在工作台办理的工作。")


def create_console_app(config: ConsoleConfig, *,
                       http: httpx.AsyncClient | None = None) -> Starlette:
    """The console for `config`'s party (`http`: the client to the hub, for tests)."""
    hub = ConsoleHub(config, http=http)
    console = Console(hub, OfficialDirectory(config.officials),
                      SessionStore(config.session_secret, config.session_minutes * 60),
                      config.party, config.party_name, config.secure_cookies,
                      pages=[module.PAGE for module in PAGE_MODULES])
    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    for module in PAGE_MODULES:
        routes.extend(module.ROUTES)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await hub.aclose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.console = console
    return app
