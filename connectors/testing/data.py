"""Small helpers for building real test sources: valid ID numbers and member rows."""

from __future__ import annotations

from connectors.idcard import check_digit

__all__ = ["make_id_number"]


def make_id_number(region: str = "510521", birth: str = "19850307", sequence: int = 1) -> str:
    """A valid GB 11643 number; odd `sequence` gives a man, even a woman (顺序码)."""
    first17 = f"{region}{birth}{sequence % 1000:03d}"
    return first17 + check_digit(first17)
