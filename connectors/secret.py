"""A wrapper that keeps credentials out of logs, reprs and error messages.

Like starlette's `Secret`, but `str()` is masked too: a connection dict printed in a traceback
or a debug log must never show a token, an HMAC secret or a database password. Call
`reveal()` at the one place the value is sent.
"""

from __future__ import annotations

__all__ = ["Secret", "reveal"]


class Secret:
    """A secret string; `repr`/`str` show `display` (default "**********")."""

    __slots__ = ("_value", "_display")

    def __init__(self, value: str, *, display: str = "**********") -> None:
        self._value = value
        self._display = display

    def reveal(self) -> str:
        """The real value, for the request header, the signature or the engine URL only."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self._display!r})"

    def __str__(self) -> str:
        return self._display

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def reveal(value: str | Secret) -> str:
    """The plain value of a setting that may or may not have been wrapped."""
    return value.reveal() if isinstance(value, Secret) else value
