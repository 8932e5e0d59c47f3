"""Small-cell suppression for statistics: aggregates that never single out a person.

A provincial department (the observer party) sees counts per organisation, region, month and
category, never persons. A count of 1..k-1 people would single someone out in a small branch,
so such a cell is *suppressed* (primary suppression; k = `min_count`, default 5, never below
`MIN_COUNT_FLOOR`). A total printed beside its cells would give a suppressed cell back by
subtraction (total minus the shown cells), so every published sum (a row's total, a column's
total, the grand total) is checked as an equation: if it holds exactly one suppressed term,
or suppressed cells summing to fewer than k, another term is suppressed too (complementary
suppression: the smallest non-zero cell of the line, else the line's total), until every
equation is safe. Zero cells stay shown: "nobody" identifies nobody.

Rates (participation, check-in) have a numerator and a denominator of people: a rate is
suppressed when the denominator is under k, or when either the people with the attribute or
those without it number 1..k-1 (5 of 6 attended names the one absent to whoever knows the 6).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["DEFAULT_MIN_COUNT", "MIN_COUNT_FLOOR", "TOTAL", "SuppressedTable", "suppress_table",
           "rate_suppressed", "check_min_count"]

#: cells under this many people are suppressed unless configured otherwise
DEFAULT_MIN_COUNT = 5
#: the smallest minimum a configuration may set
MIN_COUNT_FLOOR = 3

R = TypeVar("R", bound=Hashable)
C = TypeVar("C", bound=Hashable)


class _Total:
    """The margin of a table: (row, TOTAL) is a row's total, (TOTAL, TOTAL) the grand one."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOTAL"


TOTAL: _Total = _Total()


def check_min_count(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_COUNT_FLOOR:
        raise ValueError(f"the minimum cell count must be a whole number of at least "
                         f"{MIN_COUNT_FLOOR}")
    return value


@dataclass(frozen=True, slots=True)
class SuppressedTable(Generic[R, C]):
    """Cells and margins with the set of suppressed positions (margins use `TOTAL`)."""

    counts: Mapping[tuple[R | _Total, C | _Total], int]
    suppressed: frozenset[tuple[R | _Total, C | _Total]]
    min_count: int

    def shown(self, row: R | _Total, col: C | _Total) -> int | None:
        """The published value of a position (None: suppressed)."""
        key = (row, col)
        return None if key in self.suppressed else self.counts.get(key, 0)

    @property
    def primary(self) -> frozenset[tuple[R | _Total, C | _Total]]:
        """The positions suppressed for their own count (the rest protect them)."""
        return frozenset(k for k, v in self.counts.items() if 0 < v < self.min_count)


def suppress_table(cells: Mapping[tuple[R, C], int],
                   min_count: int = DEFAULT_MIN_COUNT) -> SuppressedTable[R, C]:
    """Suppress `cells` (row, column) -> count of people, with row, column and grand totals
    published as margins; see the module docstring."""
    k = check_min_count(min_count)
    rows = sorted({r for r, _ in cells}, key=repr)
    cols = sorted({c for _, c in cells}, key=repr)
    counts: dict[tuple[R | _Total, C | _Total], int] = {}
    for (r, c), n in cells.items():
        if n < 0:
            raise ValueError("counts cannot be negative")
        counts[(r, c)] = n
        counts[(r, TOTAL)] = counts.get((r, TOTAL), 0) + n
        counts[(TOTAL, c)] = counts.get((TOTAL, c), 0) + n
        counts[(TOTAL, TOTAL)] = counts.get((TOTAL, TOTAL), 0) + n
    suppressed = {key for key, n in counts.items() if 0 < n < k}
    # each equation: the terms (cells or margins) that sum to its total
    equations: list[tuple[list[tuple[R | _Total, C | _Total]], tuple[R | _Total, C | _Total]]]
    equations = []
    row_lines: list[R | _Total] = [*rows, TOTAL]
    col_lines: list[C | _Total] = [*cols, TOTAL]
    for line_r in row_lines:
        equations.append(([(line_r, c) for c in cols], (line_r, TOTAL)))
    for line_c in col_lines:
        equations.append(([(r, line_c) for r in rows], (TOTAL, line_c)))
    changed = True
    while changed:
        changed = False
        for terms, total in equations:
            present = [t for t in terms if t in counts]
            hidden = [t for t in present if t in suppressed]
            total_hidden = total in suppressed
            unknowns = len(hidden) + total_hidden
            if unknowns == 0 or (unknowns >= 2 and total_hidden):
                continue  # nothing hidden, or two unknowns in one equation
            if unknowns >= 2 and sum(counts[t] for t in hidden) >= k:
                continue  # the hidden cells' sum is revealed, but it is not small
            spare = sorted((t for t in present if t not in suppressed and counts[t] > 0),
                           key=lambda t: (counts[t], repr(t)))
            if spare:
                suppressed.add(spare[0])
            elif not total_hidden:
                suppressed.add(total)
            else:
                continue
            changed = True
    return SuppressedTable(counts, frozenset(suppressed), k)


def rate_suppressed(numerator: int, denominator: int,
                    min_count: int = DEFAULT_MIN_COUNT) -> bool:
    """Whether a rate of people must be suppressed (module docstring)."""
    k = check_min_count(min_count)
    if denominator < k:
        return True
    rest = denominator - numerator
    return 0 < numerator < k or 0 < rest < k
