"""Sessions: a random id in a signed, HttpOnly, SameSite=Strict cookie; the state on the server.

The cookie carries only the session id, signed with the console's secret (itsdangerous), so a
cookie cannot be forged or edited into another official's. The session itself (who, its CSRF
token, when last used) lives here, so signing out ends it for good: the old cookie, replayed,
finds nothing. Sessions end after `session_minutes` idle. One console process holds them in
memory; a console behind a load balancer would keep them in Redis (the same interface).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeSerializer

from console.officials import Official

__all__ = ["Session", "SessionStore", "COOKIE"]

COOKIE = "yx_console"


@dataclass
class Session:
    id: str
    official: Official
    csrf: str
    last_seen: float
    #: a one-shot message for the next page (e.g. "已签署"), shown once
    flash: list[tuple[str, str]] = field(default_factory=list)


class SessionStore:
    def __init__(self, secret: str, idle_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._signer = URLSafeSerializer(secret, salt="yanxing-console-session")
        self._sessions: dict[str, Session] = {}
        self._idle = idle_seconds
        self._clock = clock

    def start(self, official: Official) -> tuple[Session, str]:
        """A new session for `official` and its cookie value."""
        self._expire()
        session = Session(secrets.token_urlsafe(32), official, secrets.token_urlsafe(32),
                          self._clock())
        self._sessions[session.id] = session
        return session, self._signer.dumps(session.id)

    def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names; None for a missing, forged or ended one."""
        if not cookie:
            return None
        try:
            session_id = self._signer.loads(cookie)
        except BadSignature:
            return None
        session = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen > self._idle:
            self._sessions.pop(session.id, None)
            return None
        session.last_seen = now
        return session

    def end(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._sessions.items() if now - s.last_seen > self._idle]:
            del self._sessions[key]
