"""Attacks on a real audit database file, with plain SQL, each caught by the real CLI.

The log is written by the hub's own `AuditLog` (checkpoint every 5 entries, anchor file
outside the database). Then the attacker, who can run any SQL on the database but cannot
touch the anchor file or the heads parties saved, rewrites it; `yanxing audit verify` must
exit 2 naming what happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.audit import AuditEvent, AuditLog, Decision
from hub.audit.log import entry_hash
from hub.cli import main
from hub.contracts.keys import load_private_key, new_key_files
from hub.store.session import create_engine, create_session_factory, init_db

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ENTRIES = 23
EVERY = 5


def mkey(n: int) -> str:
    return hashlib.sha256(f"member-{n}".encode()).hexdigest()


@dataclass
class Log:
    db: Path
    url: str
    hub_key: Path
    anchor: Path
    head_at_20: Path

    def verify(self, *extra: str, anchor: bool = True) -> list[str]:
        return ["audit", "verify", "--db", self.url, "--hub-key", str(self.hub_key),
                *(["--anchor", str(self.anchor)] if anchor else []), *extra]

    def sql(self, *statements: str) -> None:
        with sqlite3.connect(self.db) as conn:
            for statement in statements:
                conn.execute(statement)

    def rehash_all(self, edit: dict[int, str]) -> None:
        """Replace some bodies and recompute every hash: a self-consistent chain again."""
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute("SELECT seq, body FROM audit_entries ORDER BY seq").fetchall()
            prev = "0" * 64
            for seq, body in rows:
                body = edit.get(seq, body)
                digest = entry_hash(prev, seq, body)
                conn.execute("UPDATE audit_entries SET body = ?, prev_hash = ?, entry_hash = ? "
                             "WHERE seq = ?", (body, prev, digest, seq))
                prev = digest


async def _write(url: str, key: Path, anchor: Path, until: int) -> None:
    engine = create_engine(url)
    try:
        await init_db(engine)
        log = AuditLog(create_session_factory(engine), signing_key=load_private_key(key),
                       kid="hub-1", checkpoint_every=EVERY, anchor=anchor)
        for n in range(1, until + 1):
            await log.append(AuditEvent(
                at=T0 + timedelta(seconds=n), party="luxian", user=f"official-{n % 3}",
                purpose="co-management", decision=Decision.ALLOWED, operation_hash="0" * 64,
                member_keys=[mkey(n % 4)], fields_allowed=["Member.name"]))
        if until % EVERY:
            await log.checkpoint()
        await log.close()
    finally:
        await engine.dispose()


@pytest.fixture
def log(tmp_path: Path) -> Log:
    files = new_key_files(tmp_path / "keys", "hub-1")
    db = tmp_path / "hub.db"
    url = f"sqlite+aiosqlite:///{db}"
    anchor = tmp_path / "anchor" / "audit-anchor.jsonl"
    asyncio.run(_write(url, files.private, anchor, 20))
    # a party saved auditHead at 20 entries (the anchor's last line is the same checkpoint)
    head = tmp_path / "party-head.json"
    last = json.loads(anchor.read_text().splitlines()[-1])
    head.write_text(json.dumps({"data": {"auditHead": {
        "sequence": last["size"], "hash": last["head"], "jws": last["jws"]}}}))
    written = Log(db, url, files.public_jwk, anchor, head)
    asyncio.run(_more(written, files.private))  # after a restart: entries 21..23
    return written


async def _more(log: Log, key: Path) -> None:
    """Entries 21..23 and the shutdown checkpoint at 23."""
    engine = create_engine(log.url)
    try:
        audit = AuditLog(create_session_factory(engine), signing_key=load_private_key(key),
                         kid="hub-1", checkpoint_every=EVERY, anchor=log.anchor)
        for n in range(21, ENTRIES + 1):
            await audit.append(AuditEvent(
                at=T0 + timedelta(seconds=n), party="wenjiang", user="official-9",
                purpose="co-management", decision=Decision.PARTIAL, operation_hash="0" * 64,
                member_keys=[mkey(1)]))
        await audit.checkpoint()
        await audit.close()
    finally:
        await engine.dispose()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_untouched_log_verifies_with_anchor_and_saved_head(
        log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(log.verify("--since-head", str(log.head_at_20)), capsys)
    assert code == 0, err
    assert (f"audit log intact: {ENTRIES} entries, 5 signed checkpoints, 5 anchored outside "
            "the database; grew from 1 saved head(s)") in out
    lines = log.anchor.read_text().splitlines()
    assert [json.loads(line)["size"] for line in lines] == [5, 10, 15, 20, 23]


def test_rehashed_chain_with_checkpoints_deleted_is_caught_by_the_anchor(
        log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(log.db) as conn:
        body = conn.execute("SELECT body FROM audit_entries WHERE seq = 3").fetchone()[0]
    log.rehash_all({3: body.replace('"official-0"', '"someone-else"')})
    log.sql("DELETE FROM audit_checkpoints")
    code, _, err = run(log.verify(), capsys)
    assert code == 2
    assert "audit log TAMPERED" in err
    assert ("anchor line 1 (entry 5): the log up to entry 5 differs from what the hub signed "
            "(entries rewritten)") in err
    assert "anchor line 1: checkpoint 5 is missing from the database (checkpoints deleted)" in err


def test_rehashed_chain_with_checkpoints_deleted_is_a_gap_without_the_anchor(
        log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    log.rehash_all({})
    log.sql("DELETE FROM audit_checkpoints")
    code, _, err = run(log.verify("--checkpoint-every", str(EVERY), anchor=False), capsys)
    assert code == 2
    assert (f"entries 1..{ENTRIES}: no signed checkpoint covers them, but the hub signs one "
            f"every {EVERY} entries") in err


def test_rehashed_chain_is_caught_by_a_saved_head(
        log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    log.rehash_all({1: '{"forged": true}'})
    log.sql("DELETE FROM audit_checkpoints")
    code, _, err = run(log.verify("--since-head", str(log.head_at_20), anchor=False), capsys)
    assert code == 2
    assert ("saved head (entry 20): the log up to entry 20 differs from what the hub signed "
            "(entries rewritten)") in err


def test_truncation_with_later_checkpoints_dropped_is_caught(
        log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    log.sql("DELETE FROM audit_members WHERE seq > 12", "DELETE FROM audit_entries WHERE seq > 12",
            "DELETE FROM audit_checkpoints WHERE size > 12")
    code, _, err = run(log.verify(), capsys)
    assert code == 2
    assert "anchor line 3 (entry 15): the hub signed a log of 15 entries" in err
    assert "but the log has only 12 (entries removed from the end)" in err
    code, _, err = run(log.verify("--since-head", str(log.head_at_20), anchor=False), capsys)
    assert code == 2
    assert "saved head (entry 20): the hub signed a log of 20 entries" in err


def test_deleted_member_index_rows_are_caught(
        log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    """Hiding entry 21 (wenjiang read member 1) from member 1's owner in accessLog."""
    log.sql(f"DELETE FROM audit_members WHERE seq = 21 AND member_key = '{mkey(1)}'")
    code, _, err = run(log.verify(), capsys)
    assert code == 2
    assert ("entry 21: 1 member key(s) missing from the audit_members index (rows deleted: the "
            "access is hidden from accessLog)") in err


def test_added_member_index_rows_and_edited_party_column_are_caught(
        log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    log.sql(f"INSERT INTO audit_members (seq, member_key) VALUES (2, '{mkey(9)}')",
            "UPDATE audit_entries SET party = 'someone' WHERE seq = 4")
    code, _, err = run(log.verify(), capsys)
    assert code == 2
    assert "entry 2: audit_members lists 1 member key(s) the entry does not hold" in err
    assert "entry 4: the party column differs from the entry (edited)" in err


def test_a_missing_anchor_file_fails(log: Log, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    shutil.move(log.anchor, tmp_path / "elsewhere.jsonl")
    code, _, err = run(log.verify(), capsys)
    assert code == 2
    assert f"anchor file {log.anchor} not found" in err


def test_a_forged_anchor_line_fails(log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    with log.anchor.open("a") as f:
        f.write(json.dumps({"size": 99, "head": "f" * 64, "jws": "a.b.c"}) + "\n")
    code, _, err = run(log.verify(), capsys)
    assert code == 2
    assert "anchor line 6: not a compact JWS" in err


def test_a_saved_head_that_is_not_one_is_a_clear_error(
        log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"data": {"auditHead": null}}')
    code, _, err = run(log.verify("--since-head", str(bogus)), capsys)
    assert code == 2
    assert "holds no audit head" in err and "Traceback" not in err
