"""Participation rate and yearly compliance (004: one on-site activity; 002: four a year)."""

from __future__ import annotations

import pytest

from hub.exchange.participation import compliance, count_modes, participation_rate
from hub.exchange.points import check_hours, task_points, volunteer_points


def test_participation_counts_online_and_by_report_but_not_excused() -> None:
    counts = count_modes(["present"] * 30 + ["online"] * 5 + ["by_report"] * 4
                         + ["excused"] * 6 + ["absent"])
    assert counts.expected == 46
    assert counts.attended == 39
    assert counts.rate == pytest.approx(39 / 46)
    assert participation_rate(0, 0) is None
    with pytest.raises(ValueError):
        count_modes(["sleeping"])


def test_compliance_needs_one_on_site_and_four_activities() -> None:
    ok = compliance("k", 2026, ["present", "online", "online", "by_report"])
    assert ok.compliant and ok.activities == 4 and ok.on_site == 1
    online_only = compliance("k", 2026, ["online"] * 6)
    assert online_only.shortfalls == ("on_site",)
    few = compliance("k", 2026, ["present", "excused", "absent", "excused"])
    assert few.shortfalls == ("activities",)
    assert compliance("k", 2026, {"absent": 3}).shortfalls == ("on_site", "activities")


def test_points_rules() -> None:
    assert volunteer_points(2) == 4
    assert volunteer_points(1.5) == 3
    for bad in (0, -1, 0.25, 25, True):
        with pytest.raises(ValueError):
            check_hours(bad)
    assert task_points(10) == 10
    for bad_points in (-1, 101, True):
        with pytest.raises(ValueError):
            task_points(bad_points)
