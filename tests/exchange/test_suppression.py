"""Small-cell suppression: no suppressed cell can be recovered from what is shown."""

from __future__ import annotations

import itertools
import random

import pytest

from hub.exchange.suppression import (
    MIN_COUNT_FLOOR,
    TOTAL,
    SuppressedTable,
    rate_suppressed,
    suppress_table,
)


def _recoverable(table: SuppressedTable[str, str]) -> set[tuple[object, object]]:
    """Positions an attacker solves from the published equations (row sums, column sums,
    totals), by repeatedly solving equations with one unknown."""
    counts = table.counts
    rows = {r for r, _ in counts if r is not TOTAL}
    cols = {c for _, c in counts if c is not TOTAL}
    known = {k for k in counts if k not in table.suppressed}
    equations: list[tuple[list[tuple[object, object]], tuple[object, object]]] = [
        ([(r, c) for c in cols if (r, c) in counts], (r, TOTAL)) for r in [*rows, TOTAL]]
    equations += [([(r, c) for r in rows if (r, c) in counts], (TOTAL, c))
                  for c in [*cols, TOTAL]]
    solved: set[tuple[object, object]] = set()
    known_any: set[tuple[object, object]] = set(known)
    changed = True
    while changed:
        changed = False
        for terms, total in equations:
            unknown = [t for t in [*terms, total] if t not in known_any]
            if len(unknown) == 1:
                known_any.add(unknown[0])
                solved.add(unknown[0])
                changed = True
    return solved & table.primary


def test_small_cells_are_suppressed_and_cannot_be_subtracted_back() -> None:
    cells = {("温江", "in_contact"): 40, ("温江", "lost_contact"): 2,
             ("温江", "returned"): 9, ("郫都", "in_contact"): 12,
             ("郫都", "lost_contact"): 0, ("郫都", "returned"): 7}
    table = suppress_table(cells, 5)
    assert table.shown("温江", "lost_contact") is None
    assert table.shown("郫都", "lost_contact") == 0  # nobody identifies nobody
    # 温江's total minus its shown cells would give the 2 back: a second cell is hidden
    hidden_in_row = [c for c in ("in_contact", "lost_contact", "returned")
                     if table.shown("温江", c) is None]
    assert len(hidden_in_row) >= 2
    assert not _recoverable(table)


def test_a_line_with_nothing_else_to_hide_hides_its_total() -> None:
    table = suppress_table({("村A", "x"): 3, ("村A", "y"): 0}, 5)
    assert table.shown("村A", "x") is None
    assert table.shown("村A", TOTAL) is None
    assert not _recoverable(table)


def test_two_small_cells_summing_under_k_are_protected_by_a_third() -> None:
    table = suppress_table({("a", "x"): 1, ("a", "y"): 1, ("a", "z"): 30}, 5)
    assert table.shown("a", "z") is None or table.shown("a", TOTAL) is None


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_leak_a_small_cell(seed: int) -> None:
    rng = random.Random(seed)
    rows = [f"org{i}" for i in range(rng.randint(1, 6))]
    cols = [f"m{j}" for j in range(rng.randint(1, 5))]
    cells = {(r, c): rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 20, 50])
             for r, c in itertools.product(rows, cols)}
    k = rng.choice([3, 5, 10])
    table = suppress_table(cells, k)
    assert table.primary <= table.suppressed
    assert not _recoverable(table)
    for key, value in table.counts.items():
        if 0 < value < k:
            assert table.shown(*key) is None


def test_min_count_has_a_floor() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        suppress_table({("a", "b"): 1}, MIN_COUNT_FLOOR - 1)
    with pytest.raises(ValueError):
        suppress_table({("a", "b"): -1}, 5)


def test_rates_of_people() -> None:
    assert rate_suppressed(3, 4)          # denominator under k
    assert rate_suppressed(2, 40)         # two attended: singled out
    assert rate_suppressed(38, 40)        # two did not: singled out
    assert not rate_suppressed(0, 40)     # nobody
    assert not rate_suppressed(40, 40)    # everybody
    assert not rate_suppressed(20, 40)
