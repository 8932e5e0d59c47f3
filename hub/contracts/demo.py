"""Demo trust world: a hub key, one key per party, a signed registry and two signed contracts.

`build_demo_trust` writes everything under `directory` and returns the paths and keys the demo
needs to serve and to mint one token per party. Party ids come from the caller (the demo's
systems choose them). Convention: `parties[0]` is the destination operator (流入地, e.g. the
Chengdu platform's owner), `parties[1]` the origin (流出地, e.g. a county or village), so:
- the two-party contract (温江区涌泉街道—叙州区高场镇 style) is between parties[0] and [1];
- the four-party contract (成德眉资 style) is between parties[0] and up to three more origins;
- the last `study_observers` parties run auxiliary systems (a 学习强国-like study platform): a study
  records contract lets the origins read their members' study records and yearly hours, and
  the destinations the yearly hours only; the platform's operator reads nothing of others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.clock import format_time, utcnow
from hub.contracts.keys import load_private_key, new_key_files
from hub.contracts.lifecycle import sign_contract
from hub.contracts.tokens import mint_token
from hub.contracts.trust_registry import (
    Registry,
    add_key,
    add_party,
    new_registry,
    sign_registry,
    verify_registry,
)
from hub.errors import ContractError
from hub.settings import TrustConfig

__all__ = ["DemoTrust", "build_demo_trust", "two_party_contract", "four_party_contract",
           "study_contract", "with_observers", "DEMO_PURPOSE"]

DEMO_PURPOSE = "co-management"
PartySpec = tuple[str, str, Sequence[str]]


@dataclass
class DemoTrust:
    directory: Path
    hub_id: str
    hub_kid: str
    hub_key: Ed25519PrivateKey = field(repr=False)
    registry_path: Path
    registry: Registry
    #: party id -> (kid, private key file)
    party_keys: dict[str, tuple[str, Path]]
    #: contract id -> signed envelope file
    contracts: dict[str, Path]

    def envelopes(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in self.contracts.values()]

    @property
    def hub_public_key_path(self) -> Path:
        return self.directory / "keys" / f"{self.hub_kid}.pub.pem"

    @property
    def hub_private_key_path(self) -> Path:
        return self.directory / "keys" / f"{self.hub_kid}.key.pem"

    def trust_config(self, *, checkpoint_every: int = 100, submit: bool = True) -> TrustConfig:
        """Serve under this trust world (`submit`: submit the contracts at startup)."""
        return TrustConfig(
            registry_path=self.registry_path, hub_public_key_path=self.hub_public_key_path,
            hub_private_key_path=self.hub_private_key_path, hub_kid=self.hub_kid,
            audience=self.hub_id, checkpoint_every=checkpoint_every,
            contracts=tuple(self.contracts.values()) if submit else (),
            replay_cache="memory",  # the demo is one process
            audit_anchor=self.directory / "audit-anchor.jsonl",
        )

    def token_for(self, party: str, user: str = "demo-official", *,
                  purpose: str = DEMO_PURPOSE, ttl: int = 600,
                  now: datetime | None = None) -> str:
        kid, path = self.party_keys[party]
        return mint_token(party, user, purpose, load_private_key(path), kid, self.hub_id, ttl,
                          now=now)


def _obligations() -> list[dict[str, Any]]:
    return [
        {"who": "origin", "to": "destination", "what": "reconciliation", "schedule": "quarterly",
         "grace_days": 15, "description": "每季度通联流动党员台账"},
        {"who": "destination", "to": "origin", "what": "evaluation_letter", "schedule": "yearly",
         "grace_days": 31, "description": "年终发函通报日常表现、奖惩建议"},
    ]


def with_observers(doc: dict[str, Any], observers: Sequence[PartySpec]) -> dict[str, Any]:
    """`doc` with `observers` (e.g. 四川省委组织部) as observer parties: they sign it and ask
    for statistics over its members, never for persons (hub.contracts.policy)."""
    parties = [*doc["parties"], *({"party": o[0], "role": "observer"} for o in observers)]
    return {**doc, "parties": parties}


def two_party_contract(destination: PartySpec, origin: PartySpec, *, not_before: datetime,
                       not_after: datetime) -> dict[str, Any]:
    """A 双向共管协议 like 温江区涌泉街道—叙州区高场镇 (2020): origin sees where and how its
    members work; destination sees membership facts; both see each other's record ids (for
    reconciliation) and the members' organisation life; each records its own side's actions."""
    return {
        "type": "yanxing.contract",
        "id": f"{destination[0]}--{origin[0]}",
        "version": 1,
        "supersedes": None,
        "title": f"{destination[1]}—{origin[1]}流动党员双向共管协议",
        "parties": [{"party": destination[0], "role": "destination"},
                    {"party": origin[0], "role": "origin"}],
        "validity": {"not_before": format_time(not_before), "not_after": format_time(not_after)},
        "scope": {"origin_region_codes": sorted(origin[2]),
                  "destination_region_codes": sorted(destination[2])},
        "permissions": {
            "read": [
                {"grantee": "origin", "data_of": "destination", "fields": {
                    "Member": {"status": "full", "phone": "masked", "activities": "full",
                               "originOrganization": "full"},
                    "SourceRecord": {"localId": "full"},
                    "Destination": {"region": "full", "address": "masked", "employer": "full",
                                    "occupation": "full", "since": "full",
                                    "organization": "full"},
                    "Work": {"employer": "full", "occupation": "full"},
                    "FourClarities": {"intendsReturnBusiness": "full",
                                      "willingVillageCadre": "full"},
                }},
                {"grantee": "destination", "data_of": "origin", "fields": {
                    "Member": {"name": "full", "gender": "full", "birthDate": "year",
                               "idNumber": "masked", "phone": "masked", "status": "full",
                               "originOrganization": "full", "activities": "full"},
                    "SourceRecord": {"localId": "full"},
                    "Destination": {"organization": "full"},
                }},
            ],
            "record": {
                "checkin": ["destination"], "attendance": ["destination"],
                "status_report": ["destination", "origin"],
                # the destination writes the letter, the origin acknowledges it (年终发函)
                "evaluation_letter": ["destination", "origin"],
                # 一领: the origin publishes; 群众点单: a destination community asks; either
                # side records the claims of the members it is in touch with
                "task_publish": ["origin", "destination"],
                "task_claim": ["origin", "destination"],
                # the origin approves (党籍管理), the destination may ask and accepts
                "transfer": ["origin", "destination"],
                "reconciliation": ["origin", "destination"],
            },
        },
        "prohibitions": {"read": [{"grantee": "destination", "data_of": "origin",
                                   "fields": {"FourClarities": ["willingVillageCadre"]}}]},
        "obligations": _obligations(),
        "purposes": [DEMO_PURPOSE],
        "limits": {"max_members_per_request": 200},
    }


def four_party_contract(destination: PartySpec, origins: Sequence[PartySpec], *,
                        not_before: datetime, not_after: datetime,
                        more_destinations: Sequence[PartySpec] = ()) -> dict[str, Any]:
    """A multi-city agreement like 成都—德阳—眉山—资阳: fewer fields, more parties. Each
    origin covers its own regions' members, each destination those living in its regions;
    origins see their members' organisation life at the destination, not its record ids."""
    destinations = [destination, *more_destinations]
    parties = [{"party": d[0], "role": "destination"} for d in destinations]
    parties += [{"party": o[0], "role": "origin"} for o in origins]
    return {
        "type": "yanxing.contract",
        "id": "-".join(p["party"] for p in parties) + "--regional",
        "version": 1,
        "supersedes": None,
        "title": "、".join([*(d[1] for d in destinations), *(o[1] for o in origins)])
        + "流动党员共管协议",
        "parties": parties,
        "validity": {"not_before": format_time(not_before), "not_after": format_time(not_after)},
        "scope": {"origin_region_codes": sorted({c for o in origins for c in o[2]}),
                  "destination_region_codes": sorted({c for d in destinations for c in d[2]})},
        "permissions": {
            "read": [
                {"grantee": "origin", "data_of": "destination", "fields": {
                    "Member": {"status": "full", "activities": "full",
                               "originOrganization": "full"},
                    "Destination": {"region": "full", "employer": "full", "organization": "full"},
                    "Work": {"employer": "full"},
                }},
                {"grantee": "destination", "data_of": "origin", "fields": {
                    "Member": {"name": "full", "birthDate": "year", "originOrganization": "full"},
                    "Destination": {"organization": "full"},
                }},
                # 组织关系 and the 流入地党组织 are the routing facts every party of the agreement
                # co-manages by, so each side shares them in full with its own side too
                {"grantee": "origin", "data_of": "origin", "fields": {
                    "Member": {"originOrganization": "full"},
                    "Destination": {"organization": "full"},
                }},
                {"grantee": "destination", "data_of": "destination", "fields": {
                    "Member": {"originOrganization": "full"},
                    "Destination": {"organization": "full"},
                }},
            ],
            "record": {"checkin": ["destination"], "reconciliation": ["origin", "destination"]},
        },
        "obligations": _obligations()[:1],
        "purposes": [DEMO_PURPOSE],
        "limits": {"max_members_per_request": 100},
    }


def study_contract(observer: PartySpec, destinations: Sequence[PartySpec],
                   origins: Sequence[PartySpec], *, not_before: datetime,
                   not_after: datetime) -> dict[str, Any]:
    """学习记录共享协议: an auxiliary study platform shares what members studied. The origin
    side keeps membership and education records (党员教育管理), so it reads each study record
    and the yearly hours; the destination side, running the members' organisation life,
    reads the yearly hours only; the platform reads nothing of the other parties. The
    origins and destinations also share the routing facts (组织关系, 流入地), as in the
    multi-party contract: a contract adding members to a party's range must let it filter
    them as the others do (ContractPolicy.filter_allowed)."""
    parties = [{"party": d[0], "role": "destination"} for d in destinations]
    parties += [{"party": o[0], "role": "origin"} for o in origins]
    parties.append({"party": observer[0], "role": "observer"})
    return {
        "type": "yanxing.contract",
        "id": f"{observer[0]}--study-records",
        "version": 1,
        "supersedes": None,
        "title": f"{observer[1]}学习记录共享协议",
        "parties": parties,
        "validity": {"not_before": format_time(not_before), "not_after": format_time(not_after)},
        # the origins' members wherever they live: each destination is narrowed to members
        # living in its own regions all the same (ContractPolicy._own_origin)
        "scope": {"origin_region_codes": sorted({c for o in origins for c in o[2]})},
        "permissions": {
            "read": [
                {"grantee": "origin", "data_of": "observer", "fields": {
                    "Member": {"studyRecords": "full", "studyHours": "full"}}},
                {"grantee": "destination", "data_of": "observer", "fields": {
                    "Member": {"studyHours": "full"}}},
                # whose members they are: the routing facts every party co-manages by (as in
                # the multi-party contract), so the parties it adds may still filter on them
                {"grantee": "destination", "data_of": "origin", "fields": {
                    "Member": {"originOrganization": "full"},
                    "Destination": {"organization": "full"}}},
                {"grantee": "origin", "data_of": "destination", "fields": {
                    "Member": {"originOrganization": "full"},
                    "Destination": {"region": "full", "organization": "full"}}},
                {"grantee": "origin", "data_of": "origin", "fields": {
                    "Member": {"originOrganization": "full"},
                    "Destination": {"organization": "full"}}},
                {"grantee": "destination", "data_of": "destination", "fields": {
                    "Member": {"originOrganization": "full"},
                    "Destination": {"organization": "full"}}},
            ],
            "record": {},
        },
        "obligations": [],
        "purposes": [DEMO_PURPOSE],
        "limits": {"max_members_per_request": 200},
    }


def build_demo_trust(
    directory: Path | str,
    parties: Sequence[PartySpec],
    *,
    hub_id: str = "yanxing-hub",
    now: datetime | None = None,
    destinations: int = 1,
    study_observers: int = 0,
    observers: Sequence[PartySpec] = (),
    history_days: int = 1,
) -> DemoTrust:
    """Create keys, registry and contracts under `directory` (fresh each run: fails if keys
    already exist there, rather than silently replacing them). The first `destinations`
    parties are destinations, the rest origins: the two-party contract is between the first
    destination and the first origin, the multi-party one between all destinations and up to
    three origins; the last `study_observers` parties share study records (`study_contract`).
    `observers` (e.g. 四川省委组织部) are registered and sign every contract as observers. The
    contracts are in force from `history_days` ago (the demo seeds a year of workflow history
    under them)."""
    if len(parties) < destinations + study_observers + 1 or destinations < 1:
        raise ContractError("the demo needs at least a destination and an origin party")
    now = now or utcnow()
    directory = Path(directory)
    keys_dir = directory / "keys"
    hub_files = new_key_files(keys_dir, "hub-1")
    hub_key = load_private_key(hub_files.private)
    draft = new_registry(hub_id, "hub-1", expires_at=now + timedelta(days=30))
    party_keys: dict[str, tuple[str, Path]] = {}
    for party_id, name, regions in [*parties, *observers]:
        kid = f"{party_id}-1"
        files = new_key_files(keys_dir, kid)
        draft = add_party(draft, party_id, name, regions)
        draft = add_key(draft, party_id, load_private_key(files.private).public_key(), kid,
                        not_before=now - timedelta(days=1), not_after=now + timedelta(days=365))
        party_keys[party_id] = (kid, files.private)
    envelope = sign_registry(draft, hub_key, now=now)
    registry_path = directory / "registry.json"
    registry_path.write_text(json.dumps(envelope, indent=2) + "\n", encoding="utf-8")
    registry = verify_registry(envelope, hub_key.public_key(), now=now)
    # the draft the signed registry came from, beside it, as `yanxing registry sign` leaves it
    # (version bumped, so the next signing is newer): where `registry add-party` starts from
    next_draft = {**draft, "version": draft["version"] + 1}
    (directory / "registry.draft.json").write_text(
        json.dumps(next_draft, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    window = {"not_before": now - timedelta(days=history_days),
              "not_after": now + timedelta(days=365)}
    origins = list(parties[destinations:len(parties) - study_observers])
    docs = [two_party_contract(parties[0], origins[0], **window)]
    if len(parties) - study_observers > 2:
        docs.append(four_party_contract(parties[0], origins[:3], **window,
                                        more_destinations=list(parties[1:destinations])))
    for observer in parties[len(parties) - study_observers:]:
        docs.append(study_contract(observer, parties[:destinations], origins, **window))
    contracts: dict[str, Path] = {}
    (directory / "contracts").mkdir(exist_ok=True)
    docs = [with_observers(doc, observers) for doc in docs]
    for doc in docs:
        signed: dict[str, Any] = doc
        for party in doc["parties"]:
            kid, path = party_keys[party["party"]]
            signed = sign_contract(signed, load_private_key(path), kid, now=now)
        signed = sign_contract(signed, hub_key, "hub-1", now=now)
        path = directory / "contracts" / f"{doc['id']}.jws.json"
        path.write_text(json.dumps(signed, indent=2) + "\n", encoding="utf-8")
        contracts[doc["id"]] = path
    return DemoTrust(directory, hub_id, "hub-1", hub_key, registry_path, registry, party_keys,
                     contracts)
