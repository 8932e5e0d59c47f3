"""The rejection rate limit on its own: per network, in all, and for many networks."""

from __future__ import annotations

from hub.audit.privacy import source_network
from hub.audit.rejections import OTHER_SOURCES, RejectionLimiter


def test_per_network_share_then_a_summary_next_minute() -> None:
    limiter = RejectionLimiter(per_source=2, total=100)
    logged = [limiter.admit("a", 60.0 + i).log for i in range(5)]
    assert logged == [True, True, False, False, False]
    assert limiter.admit("b", 61.0).log  # another network still has its share
    nxt = limiter.admit("a", 125.0)
    assert nxt.log and nxt.summaries == (("a", 3),)
    assert limiter.flush() == ()


def test_total_cap_over_all_networks() -> None:
    limiter = RejectionLimiter(per_source=10, total=3)
    assert [limiter.admit(f"n{i}", 0.0).log for i in range(5)] == [True] * 3 + [False] * 2
    assert limiter.flush() == (("n3", 1), ("n4", 1))


def test_tracked_networks_are_bounded() -> None:
    limiter = RejectionLimiter(per_source=1, total=1_000_000, MAX_SOURCES=3)
    for i in range(10):
        limiter.admit(f"n{i}", 0.0)
    for i in range(10):
        limiter.admit(f"n{i}", 0.0)
    summaries = dict(limiter.flush())
    assert len(summaries) <= 4 and OTHER_SOURCES in summaries
    assert sum(summaries.values()) == 16  # 3 networks and the shared bucket logged once each


def test_only_the_network_is_recorded() -> None:
    assert source_network("203.0.113.77") == "203.0.113.0/24"
    assert source_network("2001:db8:1:2::7") == "2001:db8:1::/48"
    assert source_network("not-an-ip") == "unknown" and source_network(None) is None
