"""A separate process appending to one audit log for some seconds, as one of several hub
processes on a shared database would (tests/audit/test_audit_many_writers.py starts four).

    python tests/audit/_writer.py DATABASE_URL KEY_FILE SECONDS WRITER_ID

Prints one JSON line: how many appends committed and how many failed."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from hub.audit import AuditEvent, AuditLog, Decision, operation_hash
from hub.store.session import create_engine, create_session_factory


async def main(url: str, key_pem: bytes, seconds: float, writer: str) -> None:
    key = load_pem_private_key(key_pem, None)
    engine = create_engine(url)
    log = AuditLog(create_session_factory(engine), signing_key=key,  # type: ignore[arg-type]
                   kid="hub-1", checkpoint_every=10, engine=engine)
    committed = failed = 0
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    async def one(n: int) -> None:
        nonlocal committed, failed
        try:
            await log.append(AuditEvent(
                at=datetime.now(UTC), party=f"party-{writer}", user=f"u{n}",
                purpose="co-management", decision=Decision.ALLOWED,
                operation_hash=operation_hash("{ members { name } }"), contract_digests=[],
                member_keys=[f"{writer}{n:063d}"[-64:]], fields_allowed=["Member.name"],
                fields_denied=[]))
            committed += 1
        except Exception as exc:
            failed += 1
            if len(errors) < 3:
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    n = 0
    while time.monotonic() < deadline:
        # a few concurrent requests at a time, as a serving process has
        await asyncio.gather(*(one(n + i) for i in range(4)))
        n += 4
    await log.close()
    await engine.dispose()
    print(json.dumps({"writer": writer, "committed": committed, "failed": failed,
                      "errors": errors}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]).read_bytes(), float(sys.argv[3]), sys.argv[4]))
