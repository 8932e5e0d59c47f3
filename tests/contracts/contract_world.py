"""Helpers for contract tests (imported by conftest and tests): a small, real trust world.

A hub key, two party keys, a signed registry, a contract factory.

Everything is real Ed25519; time is pinned (`NOW`) so validity windows are deterministic.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.contracts.lifecycle import sign_contract
from hub.contracts.trust_registry import (
    Registry,
    add_key,
    add_party,
    new_registry,
    sign_registry,
    verify_registry,
)

NOW = datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC)
HUB_ID = "yanxing-hub"


@dataclass
class World:
    hub_key: Ed25519PrivateKey
    keys: dict[str, Ed25519PrivateKey]  # kid -> private key
    draft: dict[str, Any]
    envelope: dict[str, Any]
    registry: Registry

    def resign(self, draft: dict[str, Any], *, now: datetime = NOW) -> Registry:
        self.draft = draft
        self.envelope = sign_registry(draft, self.hub_key, now=now)
        self.registry = verify_registry(self.envelope, self.hub_key.public_key(), now=now)
        return self.registry


def _world() -> World:
    hub_key = Ed25519PrivateKey.generate()
    keys = {kid: Ed25519PrivateKey.generate() for kid in ("wj-1", "xz-1", "sc-1")}
    draft = new_registry(HUB_ID, "hub-1", expires_at=NOW + timedelta(days=90))
    draft = add_party(draft, "wenjiang", "温江区委组织部（涌泉街道）", ["510115"], ["destination"])
    draft = add_party(draft, "xuzhou", "叙州区委组织部（高场镇）", ["511504"], ["origin"])
    draft = add_party(draft, "sichuan", "四川省委组织部", ["510000"], ["observer"])
    window = {"not_before": NOW - timedelta(days=365), "not_after": NOW + timedelta(days=365)}
    for party, kid in (("wenjiang", "wj-1"), ("xuzhou", "xz-1"), ("sichuan", "sc-1")):
        draft = add_key(draft, party, keys[kid].public_key(), kid, **window)
    envelope = sign_registry(draft, hub_key, now=NOW)
    registry = verify_registry(envelope, hub_key.public_key(), now=NOW)
    return World(hub_key, keys, draft, envelope, registry)


@pytest.fixture
def world() -> World:
    return _world()


CONTRACT: dict[str, Any] = {
    "type": "yanxing.contract",
    "id": "wenjiang-xuzhou",
    "version": 1,
    "supersedes": None,
    "title": "温江区涌泉街道—叙州区高场镇流动党员双向共管协议",
    "parties": [
        {"party": "wenjiang", "role": "destination"},
        {"party": "xuzhou", "role": "origin"},
    ],
    "validity": {"not_before": "2025-01-01T00:00:00Z", "not_after": "2026-01-01T00:00:00Z"},
    "scope": {"origin_region_codes": ["511504"], "destination_region_codes": ["510100"]},
    "permissions": {
        "read": [
            {
                "grantee": "origin",
                "data_of": "destination",
                "fields": {"Member": {"employer": "full", "occupation": "full",
                                      "destinationAddress": "masked", "birthDate": "year"}},
            },
            {
                "grantee": "destination",
                "data_of": "origin",
                "fields": {"Member": {"name": "full", "originOrgName": "full",
                                      "idNumber": "masked", "phone": "hashed"}},
            },
        ],
        "record": {
            "checkin": ["destination"],
            "attendance": ["destination"],
            "evaluation_letter": ["destination"],
            "task_publish": ["origin"],
            "reconciliation": ["origin", "destination"],
        },
    },
    "prohibitions": {"read": [{"grantee": "destination",
                               "fields": {"Member": ["willingVillageCadre"]}}]},
    "obligations": [
        {"who": "origin", "to": "destination", "what": "reconciliation", "schedule": "quarterly",
         "grace_days": 15, "description": "每季度通联流动党员台账"},
        {"who": "destination", "to": "origin", "what": "evaluation_letter", "schedule": "yearly",
         "grace_days": 31, "description": "年终发函通报日常表现、奖惩建议"},
    ],
    "purposes": ["co-management"],
    "limits": {"max_members_per_request": 200},
}

KNOWN_FIELDS: dict[str, set[str]] = {
    "Member": {"key", "name", "idNumber", "phone", "birthDate", "employer", "occupation",
               "destinationAddress", "originOrgName", "willingVillageCadre", "status"},
    "Organization": {"name", "secretary", "contactPhone"},
}


@pytest.fixture
def contract_doc() -> dict[str, Any]:
    return copy.deepcopy(CONTRACT)


SignAll = Callable[..., dict[str, Any]]


@pytest.fixture
def sign_all(world: World) -> SignAll:
    """Sign a document by both parties and the registrar (as at NOW unless told)."""

    def sign(doc: dict[str, Any], *, kids: tuple[str, ...] = ("wj-1", "xz-1", "hub"),
             now: datetime = NOW) -> dict[str, Any]:
        envelope: dict[str, Any] = doc
        for kid in kids:
            if kid == "hub":
                envelope = sign_contract(envelope, world.hub_key, "hub-1", now=now)
            else:
                envelope = sign_contract(envelope, world.keys[kid], kid, now=now)
        return envelope

    return sign
