"""Typed payloads: what each ledger action carries, validated before anything is written.

A payload is a frozen dataclass registered for one action with `@action(name, permission=...)`.
Its fields are plain JSON values (str, int, float, bool, None and tuples of str); `validate`
says what is wrong with a clear `PayloadInvalid` naming the field; `to_json` is what the
ledger stores (as RFC 8785 canonical JSON, so the request digest of the same input is the
same bytes) and `from_json` reads it back. `policed` maps payload fields that carry member
data to the (GraphQL type, field) whose contract grants decide who may read them (a reported
phone number is read like `Member.phone`), so the ledger never shows more than the member
fields would.

The permission is a contract `record` action (hub.contracts.model.RECORD_ACTIONS): the guard
(hub.api.exchange.ledger_action) asks `can_record(member, permission)` before the entry is
written. Several ledger actions may share one permission (a report and its confirmation).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from hub.contracts.model import RECORD_ACTIONS
from hub.exchange.errors import PayloadInvalid

__all__ = ["Payload", "ActionSpec", "ACTIONS", "action", "spec_of", "payload_from_json",
           "check_text", "check_choice", "check_int"]


class Payload:
    """Base of the typed payloads (subclasses are frozen dataclasses)."""

    #: set by `@action`
    action: ClassVar[str]
    permission: ClassVar[str]
    #: payload field -> (GraphQL type, field) whose grant decides who reads it
    policed: ClassVar[Mapping[str, tuple[str, str]]] = {}

    def validate(self) -> None:
        """Raise `PayloadInvalid(field, problem)` for the first problem found. Override."""

    def to_json(self) -> dict[str, Any]:
        """The payload as stored: its fields, tuples as lists, None left out."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One ledger action: its name, the contract permission it needs, its payload type."""

    name: str
    permission: str
    payload: type[Payload]


#: every registered action, by name (filled by `@action` as the payload modules load)
ACTIONS: dict[str, ActionSpec] = {}

P = TypeVar("P", bound=type[Payload])


def action(name: str, *, permission: str) -> Callable[[P], P]:
    """Register a payload dataclass as the payload of ledger action `name`."""
    if permission not in RECORD_ACTIONS:
        raise ValueError(f"unknown record permission {permission!r}; one of {RECORD_ACTIONS}")

    def register(cls: P) -> P:
        if name in ACTIONS and ACTIONS[name].payload is not cls:
            raise ValueError(f"ledger action {name!r} is registered twice")
        cls.action = name
        cls.permission = permission
        ACTIONS[name] = ActionSpec(name, permission, cls)
        return cls

    return register


def spec_of(name: str) -> ActionSpec:
    try:
        return ACTIONS[name]
    except KeyError:
        raise ValueError(f"unknown ledger action {name!r}; one of {sorted(ACTIONS)}") from None


def payload_from_json(name: str, data: Mapping[str, Any]) -> Payload:
    """Rebuild (and validate) the payload of action `name` from its stored JSON."""
    cls = spec_of(name).payload
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise PayloadInvalid(unknown[0], f"not a field of the {name} payload")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            values[f.name] = _coerce(f.name, data[f.name], hints[f.name])
    try:
        payload = cls(**values)
    except TypeError as exc:
        raise PayloadInvalid(name, f"missing a required field ({exc})") from None
    payload.validate()
    return payload


def _coerce(field: str, value: Any, hint: Any) -> Any:
    """`value` as the dataclass field's type (JSON lists become tuples); a wrong type is a
    PayloadInvalid naming the field."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list | tuple):
            raise PayloadInvalid(field, "expected a list")
        return tuple(_coerce(field, v, args[0]) for v in value)
    expected = hint if isinstance(hint, type) else object
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise PayloadInvalid(field, f"expected {getattr(expected, '__name__', expected)}")
    return value


# ------------------------------------------------------------ validation helpers

def check_text(field: str, value: str | None, *, max_length: int,
               required: bool = False) -> None:
    """A free text: at most `max_length` characters, no control characters but newlines."""
    if value is None:
        if required:
            raise PayloadInvalid(field, "is required")
        return
    if required and not value.strip():
        raise PayloadInvalid(field, "must not be empty")
    if len(value) > max_length:
        raise PayloadInvalid(field, f"is over {max_length} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise PayloadInvalid(field, "contains control characters")


def check_choice(field: str, value: str | None, choices: tuple[str, ...], *,
                 required: bool = True) -> None:
    if value is None:
        if required:
            raise PayloadInvalid(field, f"is required: one of {', '.join(choices)}")
        return
    if value not in choices:
        raise PayloadInvalid(field, f"{value!r} is not one of {', '.join(choices)}")


def check_int(field: str, value: int | None, *, minimum: int, maximum: int,
              required: bool = False) -> None:
    if value is None:
        if required:
            raise PayloadInvalid(field, "is required")
        return
    if not minimum <= value <= maximum:
        raise PayloadInvalid(field, f"must be between {minimum} and {maximum}")
