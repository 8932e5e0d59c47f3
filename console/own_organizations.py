"""The console's party's own organisations: those a system the party owns holds.

The hub lets a party record (issue check-in codes, record organisation life) only at its own
organisations, or at ones a contract names for the member (hub.api.exchange.may_record_at).
The public schema says which systems a party owns (`sources { owner }`) and which systems
hold an organisation (`Organization.sources`), so the console offers exactly those, branches
first; the hub still decides every action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from console.officials import Official
from console.web import Console

__all__ = ["OwnOrganization", "own_organizations", "ORG_CODE", "KIND_NAMES"]

OWN_ORGANIZATIONS = """
query ConsoleOwnOrganizations($after: String) {
  sources { name owner }
  organizations(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { code name kind sources { system } }
  }
}
"""
#: pages of organisations read at most (a party's own are far fewer than 1,000 of all)
MAX_PAGES = 10

#: an organisation code as the hub accepts it (hub.api.inputs.check_org_code is stricter
#: about nothing an official types: letters, digits, - and _)
ORG_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

KIND_NAMES = {"ORIGIN_BRANCH": "流出地党支部", "FLOATING_BRANCH": "流动党员党支部",
              "DESTINATION_BRANCH": "流入地党支部", "COMMITTEE": "党（工）委"}
_ORDER = {"DESTINATION_BRANCH": 0, "FLOATING_BRANCH": 1, "ORIGIN_BRANCH": 2, "COMMITTEE": 3}


@dataclass(frozen=True)
class OwnOrganization:
    code: str
    name: str
    kind: str | None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind or "", "")


async def own_organizations(console: Console, official: Official,
                            page: str) -> list[OwnOrganization]:
    """The party's organisations, branches first, then by code."""
    nodes: list[dict[str, Any]] = []
    own: set[str] = set()
    after: str | None = None
    for _ in range(MAX_PAGES):
        answer = await console.hub.page_data(official, page, OWN_ORGANIZATIONS,
                                             {"after": after})
        own |= {s["name"] for s in answer.data.get("sources") or ()
                if s.get("owner") == console.party}
        found = answer.data.get("organizations") or {}
        nodes.extend(found.get("nodes") or ())
        info = found.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            break
        after = str(info["endCursor"])
    mine = [OwnOrganization(n["code"], n.get("name") or n["code"], n.get("kind"))
            for n in nodes
            if any(s.get("system") in own for s in n.get("sources") or ())]
    return sorted(mine, key=lambda o: (_ORDER.get(o.kind or "", 9), o.code))
