"""The console's officials (user id, display name, role) and their argon2id password hashes.

Verifying a password costs tens of milliseconds on purpose (argon2id), so it runs in a
thread; an unknown user is checked against a dummy hash all the same, so the answer's timing
does not tell which user ids exist. After `MAX_FAILURES` wrong passwords in a row a user id is
locked for `LOCK_SECONDS`: guessing is slow for anyone who tries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from console.config import OfficialEntry

__all__ = ["Official", "OfficialDirectory", "hash_password", "MAX_FAILURES", "LOCK_SECONDS"]

MAX_FAILURES = 5
LOCK_SECONDS = 300
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password anyone has")

ROLE_NAMES = {"secretary": "党支部书记", "staff": "组织部工作人员", "observer": "观察方工作人员"}


@dataclass(frozen=True)
class Official:
    """A signed-in official: `user` becomes the `sub` of every token the console signs."""

    user: str
    name: str
    role: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


def hash_password(password: str) -> str:
    """An argon2id hash for console.toml (`yanxing console hash-password`)."""
    return _HASHER.hash(password)


class OfficialDirectory:
    """Who may sign in, and the failure counts that lock a user id for a while."""

    def __init__(self, entries: Iterable[OfficialEntry],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._entries = {e.user: e for e in entries}
        self._failures: dict[str, tuple[int, float]] = {}
        self._clock = clock

    def get(self, user: str) -> Official | None:
        entry = self._entries.get(user)
        return Official(entry.user, entry.name, entry.role) if entry else None

    def locked(self, user: str) -> bool:
        count, since = self._failures.get(user, (0, 0.0))
        if count >= MAX_FAILURES and self._clock() - since < LOCK_SECONDS:
            return True
        if count >= MAX_FAILURES:
            self._failures.pop(user, None)
        return False

    async def authenticate(self, user: str, password: str) -> Official | None:
        """The official when `password` is theirs; None otherwise (also while locked)."""
        if self.locked(user):
            return None
        entry = self._entries.get(user)
        ok = await asyncio.to_thread(_verify, entry.password_hash if entry else _DUMMY,
                                     password)
        if ok and entry is not None:
            self._failures.pop(user, None)
            return Official(entry.user, entry.name, entry.role)
        count, _ = self._failures.get(user, (0, 0.0))
        self._failures[user] = (count + 1, self._clock())
        return None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
