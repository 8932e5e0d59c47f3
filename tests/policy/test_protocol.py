"""The policy protocol is complete: callers ask `Policy` (through the request's `Decisions`)
only what it declares, and never probe a policy for what it can answer."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from typing_extensions import get_protocol_members

from hub.contracts.policy import ContractPolicy
from hub.policy.base import BasePolicy, Policy
from hub.policy.decisions import Decisions
from hub.policy.masking import MaskingPolicy

HUB = Path(__file__).resolve().parents[2] / "hub"
MEMBERS = get_protocol_members(Policy)


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p)))
            for p in sorted(HUB.rglob("*.py"))]


def _mentions_policy(node: ast.AST) -> bool:
    return "polic" in ast.unparse(node).lower()


def test_no_caller_probes_a_policy() -> None:
    probes = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.args):
                continue
            name = node.func.id
            if name in ("getattr", "hasattr") and _mentions_policy(node.args[0]):
                probes.append(f"{path.relative_to(HUB)}:{node.lineno}: {ast.unparse(node)}")
            if name == "isinstance" and len(node.args) == 2 and (
                    _mentions_policy(node.args[0])
                    or re.search(r"Policy\b", ast.unparse(node.args[1]))):
                probes.append(f"{path.relative_to(HUB)}:{node.lineno}: {ast.unparse(node)}")
    assert probes == []


def test_only_the_context_reaches_the_raw_policy() -> None:
    """Resolvers ask `ctx.decisions` (one place, once per question), never the policy."""
    users = [f"{p.relative_to(HUB)}:{n.lineno}" for p, tree in _modules()
             for n in ast.walk(tree)
             if isinstance(n, ast.Attribute) and n.attr == "active_policy"
             and p.relative_to(HUB).as_posix() != "api/context.py"]
    assert users == []


@pytest.mark.parametrize("policy", [BasePolicy, MaskingPolicy, ContractPolicy])
def test_each_policy_answers_the_whole_protocol(policy: type) -> None:
    for name in MEMBERS:
        assert hasattr(policy, name), f"{policy.__name__} lacks Policy.{name}"
        declared = getattr(Policy, name, None)
        if callable(declared):
            want = list(inspect.signature(declared).parameters)
            got = list(inspect.signature(getattr(policy, name)).parameters)
            assert got == want, f"{policy.__name__}.{name}{got} != Policy.{name}{want}"


def test_everything_asked_of_a_policy_is_declared() -> None:
    """Every `.x` read from something named like a policy in hub/ (outside the policies'
    own modules) is a member of the protocol."""
    own = {"policy/base.py", "policy/masking.py", "contracts/policy.py"}
    asked: dict[str, str] = {}
    for path, tree in _modules():
        rel = path.relative_to(HUB).as_posix()
        if rel in own:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name,
                                                                           ast.Attribute)):
                holder = node.value.id if isinstance(node.value, ast.Name) else \
                    node.value.attr
                if holder in ("policy", "active_policy", "fallback"):
                    asked.setdefault(node.attr, f"{rel}:{node.lineno}")
    undeclared = {a: where for a, where in asked.items() if a not in MEMBERS}
    assert undeclared == {}
    assert set(asked) >= {"denied_fields", "transform", "can_see", "scope_filter"}


def test_decisions_ask_only_the_protocol() -> None:
    source = inspect.getsource(Decisions)
    asked = {n.attr for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
             and n.value.attr == "policy"}
    assert asked <= MEMBERS
    assert asked == MEMBERS  # and every question of the protocol has its one way in
