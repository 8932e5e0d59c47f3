"""Demo history for workflows 5 and 6: last year's evaluation letters and transfers.

After the first sync, for every member the two-party contract (成都 destination — 叙州
origin, hub.contracts.demo) covers and the destination holds at one of its branches:
- one 年终发函 letter for last year: drafted by 成都 on 20 December, signed on 8 January,
  acknowledged by 叙州 on 15 January (ledger times), each signature made with the party's
  demo key (the demo is its key holder) over the letter's canonical payload and verified as
  the API verifies it;
- transfers in every state for a dozen of them: completed (the index moves them to the 成都
  branch), accepted, approved, requested, rejected, withdrawn.

Everything goes through the ledger's own `append` with the same payloads and effects as the
GraphQL mutations, one audit entry each (written now: the audit log records when the hub
wrote, the entry its stated time). Deterministic: members in key order, choices from a
seeded random stream. Signatures carry the seeding time as `iat` (the demo's keys are new).
`example_operations` are what the demo prints per party.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.log import AuditEvent, AuditLog, Decision
from hub.audit.privacy import operation_hash
from hub.contracts.demo import DEMO_PURPOSE, DemoTrust
from hub.contracts.keys import load_private_key
from hub.contracts.model import parse_contract, region_covers
from hub.exchange.ledger import Draft, Entry, append
from hub.exchange.letter_document import LetterParty, Recommendation
from hub.exchange.letter_signing import countersign_letter, sign_letter, verify_letter_signature
from hub.exchange.letters import (
    EvaluationLetter,
    EvaluationLetterAcknowledgement,
    EvaluationLetterSignature,
    acknowledgement_effect,
    draft_effect,
    envelope_text,
    letter_by_id,
    signature_effect,
)
from hub.exchange.transfer_rules import TransferAction
from hub.exchange.transfers import (
    STEP_ACTIONS,
    TransferParties,
    TransferRequest,
    request_effect,
    step_effect,
)
from hub.jws import parse_general
from hub.store.models import MemberRow, OrganizationRow

__all__ = ["SeededHistory", "seed_letters_and_transfers", "example_operations"]

_OFFICIAL = "demo-seed"
_OPERATION = operation_hash("demo seed: workflows 5 and 6")
_PERFORMANCE = (
    "遵守纪律，按时参加流入地党组织活动，积极参与社区志愿服务。",
    "工作踏实，主动参加主题党日，帮助社区开展邻里互助。",
    "能按时报到，参加组织生活较少，已提醒其按月向流出地党支部报告。",
    "在企业一线岗位发挥党员先锋模范作用，获评优秀员工。",
)
_RECOMMENDATIONS = (Recommendation.COMMEND, Recommendation.NONE, Recommendation.NONE,
                    Recommendation.COMMEND, Recommendation.CRITICISM_EDUCATION)
#: the transfers seeded, in this order over the chosen members: how far each gets
_TRANSFER_PATHS: tuple[tuple[TransferAction, ...], ...] = (
    (TransferAction.APPROVE, TransferAction.ACCEPT, TransferAction.COMPLETE),
    (TransferAction.APPROVE, TransferAction.ACCEPT, TransferAction.COMPLETE),
    (TransferAction.APPROVE, TransferAction.ACCEPT, TransferAction.COMPLETE),
    (TransferAction.APPROVE, TransferAction.ACCEPT),
    (TransferAction.APPROVE, TransferAction.ACCEPT),
    (TransferAction.APPROVE,),
    (TransferAction.APPROVE,),
    (),
    (),
    (TransferAction.REJECT,),
    (TransferAction.APPROVE, TransferAction.REJECT),
    (TransferAction.WITHDRAW,),
)


@dataclass(frozen=True, slots=True)
class SeededHistory:
    letters: int
    transfers: dict[str, int]
    #: a member with an acknowledged letter and one with a transfer awaiting acceptance, for
    #: the printed example operations
    letter_member: str | None
    letter_number: int | None
    approved_transfer: int | None
    #: members whose membership a completed transfer moved to the destination: the contract
    #: scoped on their old origin no longer brings the origin's fields about them
    completed_members: tuple[str, ...] = ()
    #: ledger entries written (each with its audit entry)
    entries: int = 0
    #: the destination branch the first letter was sent from (for the example operations)
    letter_branch: str | None = None


@dataclass(frozen=True, slots=True)
class _Candidate:
    row: MemberRow
    sender_org: OrganizationRow
    recipient_org: OrganizationRow


def _holders(org: OrganizationRow, owners: dict[str, str]) -> set[str]:
    return {owners[str(s.get("system"))] for s in (org.sources or [])
            if isinstance(s, dict) and str(s.get("system")) in owners}


async def _candidates(sessions: async_sessionmaker[AsyncSession], origin_regions: list[str],
                      destination_regions: list[str], sender: str, recipient: str,
                      owners: dict[str, str]) -> list[_Candidate]:
    async with sessions() as session:
        orgs = {o.org_id: o for o in await session.scalars(select(OrganizationRow))}
        rows = list(await session.scalars(select(MemberRow).order_by(MemberRow.key)))
    found = []
    for row in rows:
        if not any(region_covers(c, row.origin_region_code) for c in origin_regions) or \
                not any(region_covers(c, row.destination_region_code)
                        for c in destination_regions):
            continue
        branch = orgs.get(row.destination_org_id or "")
        home = orgs.get(row.origin_org_id or "")
        if branch is None or home is None or sender not in _holders(branch, owners):
            continue
        if recipient not in _holders(home, owners) and not region_covers(
                origin_regions[0], home.region_code):
            continue
        found.append(_Candidate(row, branch, home))
    return found


async def seed_letters_and_transfers(
    database: tuple[Any, async_sessionmaker[AsyncSession]], trust: DemoTrust,
    owners: dict[str, str], *, seed: int = 7, now: datetime | None = None,
) -> SeededHistory:
    """Seed the history (module docstring). `owners`: source name -> owning party."""
    engine, sessions = database
    now = now or datetime.now(UTC).replace(microsecond=0)
    year = now.year - 1
    envelope = json.loads(next(iter(trust.contracts.values())).read_text(encoding="utf-8"))
    contract = parse_contract(parse_general(envelope).payload)
    roles = {r.value: p for p, r in contract.parties.items()}
    sender, recipient = roles["destination"], roles["origin"]
    candidates = await _candidates(
        sessions, list(contract.scope.origin_region_codes),
        list(contract.scope.destination_region_codes), sender, recipient, owners)
    keys = {p: (load_private_key(path), kid) for p, (kid, path) in trust.party_keys.items()}
    # a signed checkpoint every 3 seeded entries, at least as often as any demo-served hub
    # signs them (yanxing.toml: 20; the tests: 3), so `yanxing audit verify` finds no gap
    audit = AuditLog(sessions, signing_key=trust.hub_key, kid=trust.hub_kid, engine=engine,
                     anchor=trust.directory / "audit-anchor.jsonl", checkpoint_every=3)
    written = 0
    rng = random.Random(seed)

    async def record(draft: Draft, at: datetime) -> Entry:
        def event(entry: Entry) -> AuditEvent:
            return AuditEvent(
                at=now, party=draft.party, user=_OFFICIAL, purpose=DEMO_PURPOSE,
                decision=Decision.ALLOWED, operation_hash=_OPERATION,
                contract_digests=draft.contracts, member_keys=[entry.member_key or ""],
                fields_allowed=[f"ledger.{entry.action}"], entry=entry.id,
                action=entry.action)

        nonlocal written
        written += 1
        return (await append(audit, draft, event, now=at)).entry

    def base(party: str, org: str, member: str, payload: Any, tag: str, **kw: Any) -> Draft:
        return Draft(payload=payload, organizations=(org, *kw.pop("also", ())), party=party,
                     member_key=member, official=_OFFICIAL, purpose=DEMO_PURPOSE,
                     contracts=(contract.digest,), idempotency_key=f"demo-{tag}-{member[:16]}",
                     **kw)

    letters = 0
    first_letter: tuple[str, int] | None = None
    branch: str | None = None
    try:
        for c in candidates:
            member = c.row.key
            payload = EvaluationLetter(
                year=year, recommendation=rng.choice(_RECOMMENDATIONS).value,
                performance=rng.choice(_PERFORMANCE), text="此函仅供流出地党组织存档。")
            effect = draft_effect(
                member_name=c.row.name,
                sender=LetterParty(sender, c.sender_org.org_id, c.sender_org.name),
                recipient=LetterParty(recipient, c.recipient_org.org_id, c.recipient_org.name))
            letter = await record(base(sender, c.sender_org.org_id, member, payload, "letter",
                                       also=(c.recipient_org.org_id,), effects=(effect,)),
                                  datetime(year, 12, 20, 9, tzinfo=UTC))
            stored = await letter_by_id(sessions, letter.id)
            assert stored is not None
            signed = sign_letter(stored.payload, *keys[sender])
            info = verify_letter_signature(signed, stored.payload, trust.registry, sender)
            await record(base(sender, c.sender_org.org_id, member,
                              EvaluationLetterSignature(envelope=envelope_text(signed)), "sign",
                              answers=letter.id, effects=(signature_effect(letter.id, info),)),
                         datetime(year + 1, 1, 8, 10, tzinfo=UTC))
            both = countersign_letter(signed, *keys[recipient])
            ack = verify_letter_signature(both, stored.payload, trust.registry, recipient)
            await record(base(recipient, c.recipient_org.org_id, member,
                              EvaluationLetterAcknowledgement(envelope=envelope_text(both)),
                              "ack", answers=letter.id,
                              effects=(acknowledgement_effect(letter.id, ack),)),
                         datetime(year + 1, 1, 15, 10, tzinfo=UTC))
            letters += 1
            if first_letter is None:
                first_letter, branch = (member, letter.id), c.sender_org.org_id

        states: dict[str, int] = {}
        approved: int | None = None
        moved: list[str] = []
        chosen = rng.sample(candidates, min(len(_TRANSFER_PATHS), len(candidates)))
        for i, (c, path) in enumerate(zip(chosen, _TRANSFER_PATHS)):
            member = c.row.key
            parties = TransferParties(origin=recipient, receiving=sender, branch=sender)
            requester, req_org = (recipient, c.recipient_org.org_id) if i % 2 == 0 else \
                (sender, c.sender_org.org_id)
            at = datetime(now.year, max(1, now.month - 2), 1, 9, tzinfo=UTC)
            request = await record(base(
                requester, req_org, member,
                TransferRequest(to_organization=c.sender_org.org_id,
                                reason="长期在流入地工作生活，本人愿意转接（宜转则转、愿转则转）"),
                "transfer", also=(c.sender_org.org_id,), effects=(request_effect(
                    from_org=c.row.origin_org_id, from_region=c.row.origin_region_code,
                    to_region=c.sender_org.region_code, parties=parties),)), at)
            state = "requested"
            for n, step in enumerate(path, start=1):
                party = requester if step is TransferAction.WITHDRAW else (
                    sender if step is TransferAction.ACCEPT or (
                        step is TransferAction.REJECT and state == "approved") else recipient)
                org = c.sender_org.org_id if party == sender else c.recipient_org.org_id
                await record(base(party, org, member, STEP_ACTIONS[step](note=None),
                                  f"transfer-{step.value}", answers=request.id,
                                  effects=(step_effect(request.id, step),)),
                             at.replace(day=1 + 3 * n))
                state = {"approve": "approved", "accept": "accepted", "complete": "completed",
                         "reject": "rejected", "withdraw": "withdrawn"}[step.value]
            states[state] = states.get(state, 0) + 1
            if state == "completed":
                moved.append(member)
            if state == "approved" and approved is None:
                approved = request.id
    finally:
        await audit.close()
    return SeededHistory(letters, states, first_letter[0] if first_letter else None,
                         first_letter[1] if first_letter else None, approved, tuple(moved),
                         written, branch)


def example_operations(history: SeededHistory, destination: str,
                       origin: str) -> list[tuple[str, str]]:
    """(title, operation) per party for the demo banner, naming seeded letters and
    transfers."""
    letter = history.letter_number or 1
    transfer = history.approved_transfer or 1
    member = history.letter_member or "MEMBER_KEY"
    branch = history.letter_branch or "BRANCH_CODE"
    return [
        (f"年终发函 as {origin} (origin): last year's letters received, acknowledged",
         "{ evaluationLetters(filter: {state: ACKNOWLEDGED}, first: 3) { totalCount nodes { "
         "number year memberName recommendation attendance { activities participationRate } "
         "signature { party signedAt } acknowledgement { party } pdfUrl } } }"),
        (f"年终发函 as {destination} (destination): draft this year's letter (then sign "
         "`letter.payload` with `yanxing letter sign`, and signEvaluationLetter)",
         f'mutation {{ draftEvaluationLetter(memberKey: "{member}", organization: '
         f'"{branch}", year: {datetime.now(UTC).year}, recommendation: COMMEND, '
         'performance: "按时参加组织生活", idempotencyKey: "draft-1") { letter { number state '
         "payload } } }"),
        (f"年终发函 PDF as {origin} or {destination}",
         f"curl -H 'Authorization: Bearer TOKEN' -o letter.pdf "
         f"http://127.0.0.1:PORT/letters/{letter}.pdf"),
        (f"组织关系转接 as {destination} (receiving): accept an approved transfer",
         f"mutation {{ acceptMembershipTransfer(transfer: {transfer}, idempotencyKey: "
         '"accept-1") { transfer { number state } entry { number action } } }'),
        (f"组织关系转接 as {origin} (origin): transfers and members due for a step",
         "{ membershipTransfers(first: 5) { totalCount nodes { number state member { name } "
         "toOrganization { name } } } membersDueForStep(step: FLOATING_BRANCH, first: 3) { "
         "totalCount nodes { awaySince member { name } } } }"),
    ]
