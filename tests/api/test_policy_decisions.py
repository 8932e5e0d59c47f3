"""One policy point per request: each distinct question is asked of the policy once, however
many resolvers need its answer (ctx.decisions), over real HTTP."""

from __future__ import annotations

from collections import Counter

from hub.policy.base import Caller, Subject, Transform
from tests.api.conftest import World
from tests.api.test_policy import ContractLikePolicy, _client


class CountingPolicy(ContractLikePolicy):
    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()

    def can_see(self, caller: Caller, subject: Subject) -> bool:
        self.seen[subject.member_key] += 1
        return super().can_see(caller, subject)


async def test_row_scope_is_decided_once_per_member(world: World) -> None:
    # an attendee is checked where its attendance entry is listed and again where its
    # member is made: one question, one answer
    policy = CountingPolicy()
    client = await _client(world, policy, party="luxian")
    body = (await client.post("/graphql", json={"query": "{ activities { nodes { attendees "
                                                "{ member { key name } } } } }"})).json()
    attendees = body["data"]["activities"]["nodes"][0]["attendees"]
    assert len(attendees) == 3 and all(a["member"]["key"] for a in attendees)
    assert policy.seen and set(policy.seen.values()) == {1}, policy.seen
    await client.aclose()


async def test_a_field_is_decided_once_per_member_and_owner(world: World) -> None:
    policy = ContractLikePolicy()
    client = await _client(world, policy, party="wenjiang")
    body = (await client.post("/graphql", json={"query": "{ members(first: 3) { nodes "
                                                "{ a: name b: name c: name idNumber } } }"})
            ).json()
    nodes = body["data"]["members"]["nodes"]
    assert len(nodes) == 3 and all(n["a"] == n["b"] == n["c"] for n in nodes)
    asked = Counter((t, f) for t, f, _ in policy.calls)
    assert asked[("Member", "name")] == 3  # once per member, not once per alias
    assert asked[("Member", "idNumber")] == 3
    await client.aclose()


def test_transform_answers_do_not_leak_between_requests() -> None:
    """The cache lives on the request's Decisions, never on the (shared) policy."""
    from hub.policy.decisions import Decisions

    class Flip(ContractLikePolicy):
        def transform(self, caller: Caller, subject: Subject | None, type_name: str,
                      field: str, owner: str | None) -> Transform:
            return Transform.FULL if caller.party == "a" else Transform.DENY

    policy = Flip()
    a = Decisions(policy, Caller(party="a"), {})
    b = Decisions(policy, Caller(party="b"), {})
    assert a.transform(None, "Member", "name", None) is Transform.FULL
    assert b.transform(None, "Member", "name", None) is Transform.DENY
