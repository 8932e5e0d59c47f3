"""The demo's signed contracts let each side do its everyday work, not only refuse.

The filter rule (hub.contracts.policy, `filter_allowed`) is conservative, so a contract that
forgets to share the routing facts (组织关系 and the 流入地党组织) in full makes an origin branch
unable to list its own members (`organization { members }`). These tests pin that the demo's
agreements share them, and that they still refuse what they mean to refuse.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hub.contracts.demo import build_demo_trust
from hub.contracts.lifecycle import verify_contract
from hub.contracts.policy import ContractPolicy
from hub.policy.base import Caller

#: destinations first, as hub.demo.launch orders them
PARTIES = [
    ("chengdu-rcxf-operator", "成都市委组织部（蓉城先锋）", ["510100"]),
    ("zhejiang-platform-operator", "浙江省委组织部（浙里平台）", ["330000"]),
    ("xuzhou-county-org", "叙州区委组织部", ["511502"]),
    ("luxian-yongshui-village", "泸县涌水村党支部", ["510521"]),
]
MEMBER_FIELDS = {"Member": {"name", "status", "originOrganization", "birthDate"},
                 "Destination": {"organization", "region", "employer"}}


def _policy(tmp_path: Path) -> ContractPolicy:
    trust = build_demo_trust(tmp_path / "trust", PARTIES, destinations=2)
    contracts = [verify_contract(e, trust.registry).contract for e in trust.envelopes()]
    assert len(contracts) == 2
    now = max(c.not_before for c in contracts) + timedelta(days=1)
    return ContractPolicy(
        contracts, now=now,
        supplied_fields={p[0]: MEMBER_FIELDS for p in PARTIES},
        sources_of={p[0]: {p[0]} for p in PARTIES},
        party_regions={p[0]: p[2] for p in PARTIES},
    )


def _caller(party: str) -> Caller:
    from hub.contracts.demo import DEMO_PURPOSE

    return Caller(party=party, user="u1", purpose=DEMO_PURPOSE)


def test_every_party_may_list_an_organisations_members(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    for party, *_ in PARTIES:
        for type_name, field in (("Member", "originOrganization"),
                                 ("Destination", "organization")):
            assert policy.filter_allowed(_caller(party), type_name, field), (party, field)


def test_name_probing_still_refused_where_names_are_not_shared_in_full(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    # 叙州 (origin) is granted no names of the destinations' data: no filtering on names
    assert not policy.filter_allowed(_caller("xuzhou-county-org"), "Member", "name")
    # birth dates leave coarsened to the year: never a filter
    assert not policy.filter_allowed(_caller("chengdu-rcxf-operator"), "Member", "birthDate")


def test_a_refused_filter_names_the_agreements_behind_it(tmp_path: Path) -> None:
    """The refusal an official reads names the agreement to renegotiate: 叙州 may not filter
    on names because the destinations' contracts do not share them in full."""
    policy = _policy(tmp_path)
    xuzhou = _caller("xuzhou-county-org")
    titles = policy.filter_refused_by(xuzhou, "Member", "name")
    assert titles and all("叙州区委组织部" in t for t in titles), titles
    # an allowed filter names nothing; nor does a party that is in no contract
    assert policy.filter_refused_by(xuzhou, "Member", "originOrganization") == ()
    assert policy.filter_refused_by(_caller("nobody-at-all"), "Member", "name") == ()
