"""No personal data in the audit log or the server's logs, whatever a caller sends.

The world holds known names (张000...), ID numbers and phones; every kind of operation is run
with them inlined as literals, in variables, in comments, in a check-in note, in bad tokens and
bodies. Then the audit tables, the anchor file and every captured log line (all loggers but
the test's own HTTP client) are searched for each of them.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from hub.contracts.keys import load_private_key
from hub.contracts.tokens import mint_token
from tests.api.conftest import id_number
from tests.api.trusted import Trusted

N = 61
NAMES = [f"张{i:03d}" for i in range(N)] + ["李书记", "王小明"]
ID_NUMBERS = [id_number(i) for i in range(N)] + ["510521199001011234"]
PHONES = [f"138{i:08d}" for i in range(N)] + ["13900001111", "13912345678"]
NOTE = "王小明 13912345678 身份证 510521199001011234 已报到"
CLIENT_LOGGERS = ("httpx", "httpcore")


def token(t: Trusted, party: str, user: str, purpose: str = "co-management") -> str:
    kid, path = t.demo.party_keys[party]
    return mint_token(party, user, purpose, load_private_key(path), kid, t.demo.hub_id, 300)


async def run_every_operation(t: Trusted) -> None:
    key = t.world.keys[1]
    client = t.world.client
    ops = [
        ("luxian", f'{{ members(filter: {{name: "{NAMES[1]}"}}) {{ nodes {{ name idNumber '
                   "phone } } }"),
        ("luxian", f'# asked for {PHONES[3]} / {ID_NUMBERS[3]}\n{{ member(key: "{key}") '
                   "{ name idNumber phone sources { localId } } }"),
        ("wenjiang", f'{{ members(filter: {{name: "{NAMES[2]}"}}) {{ nodes {{ name }} }} }}'),
        ("deyang", f'{{ members(filter: {{name: "{NAMES[4]}"}}) {{ nodes {{ idNumber }} }} }}'),
        ("luxian", f'{{ members(filter: {{name: "{NAMES[5]}"}}) {{ nodes {{ nosuch }} }} }}'),
        ("luxian", f'{{ members(filter: {{name: "{NAMES[6]}", phone: "{PHONES[6]}"'),
        ("luxian", f'{{ accessLog(memberKeys: ["{key}"]) {{ party user purpose }} }}'),
        ("wenjiang", "{ auditHead { sequence } }"),
        ("wenjiang", f'mutation {{ recordCheckIn(memberKey: "{key}", organization: "WJ-YQ", '
                     f'note: "{NOTE}") {{ id }} }}'),
        ("luxian", f'mutation {{ recordCheckIn(memberKey: "{key}", organization: "LX-YS", '
                   f'note: "{NOTE}") {{ id }} }}'),
        ("wenjiang", "{ organizations { nodes { name secretary contactPhone } } }"),
    ]
    for party, query in ops:
        await t.post(query, party=party)
    await t.post("query Q($n: String) { members(filter: {name: $n}) { nodes { name } } }",
                 {"n": NAMES[7]}, party="luxian")
    await t.post("mutation C($k: ID!, $note: String) { recordCheckIn(memberKey: $k, "
                 'organization: "WJ-YQ", note: $note) { id } }', {"k": key, "note": NOTE},
                 party="wenjiang")
    await client.get("/graphql", params={"query": f'{{ members(filter: {{name: "{NAMES[8]}"}})'
                                                  " { totalCount } }"},
                     headers={"Authorization": f"Bearer {t.demo.token_for('luxian')}"})
    for user in (NAMES[9], PHONES[9], ID_NUMBERS[9]):
        await t.post("{ __typename }", token=token(t, "luxian", user))
    await t.post("{ __typename }", token=ID_NUMBERS[10])
    await client.post("/graphql", json={"query": "{ __typename }"},
                      headers={b"Authorization": f"{NAMES[10]} {PHONES[10]}".encode()})
    await client.post("/graphql", content=f'{{"query": "{NAMES[11]} {PHONES[11]}'.encode(),
                      headers={"content-type": "application/json"})
    await t.trust.audit_log.drain()


async def audit_text(t: Trusted) -> str:
    parts: list[str] = []
    async with t.world.runtime.engine.connect() as conn:
        for table in ("audit_entries", "audit_members", "audit_checkpoints"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            parts += [" ".join(str(v) for v in row) for row in rows]
    anchor = t.trust.config.audit_anchor
    if anchor is not None and anchor.exists():
        parts.append(anchor.read_text(encoding="utf-8"))
    return "\n".join(parts)


def found_in(haystack: str) -> list[str]:
    return [v for v in (*NAMES, *ID_NUMBERS, *PHONES, NOTE) if v in haystack]


async def test_no_personal_data_in_the_audit_log_or_server_logs(
        trusted: Trusted, caplog: pytest.LogCaptureFixture) -> None:
    # INFO is what `yanxing serve` logs at (database drivers print SQL parameters at DEBUG)
    caplog.set_level(logging.INFO)
    before = await trusted.trust.audit_log.count()
    await run_every_operation(trusted)
    assert await trusted.trust.audit_log.count() - before >= 20  # every operation recorded
    assert found_in(await audit_text(trusted)) == []
    server_lines = "\n".join(
        caplog.handler.format(r) for r in caplog.records
        if not r.name.startswith(CLIENT_LOGGERS))
    leaked = found_in(server_lines)
    assert leaked == [], [line for line in server_lines.splitlines()
                          if any(v in line for v in leaked)]
    # the note is kept where the check-in is (the exchange ledger), not in the audit log
    async with trusted.world.runtime.engine.connect() as conn:
        notes = (await conn.execute(text("SELECT payload FROM exchange_entries"))).scalars().all()
    assert any(NOTE in n for n in notes)
