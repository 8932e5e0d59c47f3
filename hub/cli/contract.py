"""`yanxing contract new|lint|sign|submit|show|revoke`: contracts from draft to revocation.

A contract travels as a file: `new` writes a template, `lint` checks it against the published
schema, each party `sign`s (the file becomes a JWS envelope), the registrar signs last, and
`submit` stores it — active once every signature is there. `revoke` is signed by one party.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from hub.cli._args import DAYS
from hub.cli._db import open_db
from hub.cli._json_files import read_document, write_document
from hub.cli.schema import DEFAULT_PATH as PACKAGED_SDL
from hub.clock import format_time, utcnow
from hub.contracts.keys import load_private_key, load_public_key
from hub.contracts.lifecycle import make_revocation, sign_contract
from hub.contracts.lint import known_fields_from_sdl, lint_contract
from hub.contracts.store import ContractRecord, ContractStore
from hub.contracts.trust_registry import Registry, load_registry
from hub.errors import ContractError
from hub.store.session import create_session_factory, init_db

__all__ = ["register"]

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("contract", help="signed data-exchange contracts (双向共管协议)")
    cmds = parser.add_subparsers(dest="contract_command", required=True, metavar="ACTION")

    p = cmds.add_parser("new", help="write a contract template to edit")
    p.add_argument("out", type=Path)
    p.add_argument("--id", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--party", action="append", required=True, metavar="ID:ROLE",
                   help="e.g. wenjiang:destination (repeat; roles origin|destination|observer)")
    p.add_argument("--days", type=DAYS, default=365)
    p.set_defaults(handler=_new)

    p = cmds.add_parser("lint", help="check a contract before signing")
    p.add_argument("file", type=Path)
    p.add_argument("--sdl", type=Path, default=None,
                   help="published GraphQL schema (default: the copy packaged with the hub)")
    p.add_argument("--fix", type=Path, help="write the conflict-resolved contract here")
    p.set_defaults(handler=_lint)

    p = cmds.add_parser("sign", help="sign a contract (or add a signature to an envelope)")
    p.add_argument("file", type=Path)
    p.add_argument("--key", type=Path, required=True)
    p.add_argument("--kid", help="default: the key file name before '.key.pem'")
    p.add_argument("--out", type=Path, help="default: overwrite FILE")
    p.set_defaults(handler=_sign)

    for name, helptext in (("submit", "store a signed envelope (active when complete)"),
                           ("revoke", "revoke a contract, signed by one of its parties"),
                           ("show", "list stored contracts with state and signatures")):
        p = cmds.add_parser(name, help=helptext)
        p.add_argument("--db", required=True, help="database URL")
        if name != "show":
            p.add_argument("--registry", type=Path, required=True)
            p.add_argument("--hub-key", type=Path, required=True, help="hub public key")
        if name == "submit":
            p.add_argument("file", type=Path)
        if name == "revoke":
            p.add_argument("--digest", required=True)
            p.add_argument("--key", type=Path, required=True)
            p.add_argument("--kid")
            p.add_argument("--reason", required=True)
        if name == "show":
            p.add_argument("--party", help="only contracts this party is party to")
        p.set_defaults(handler={"submit": _submit, "revoke": _revoke, "show": _show}[name])




def _kid(args: argparse.Namespace) -> str:
    return str(args.kid or args.key.name.removesuffix(".key.pem"))


def _new(args: argparse.Namespace) -> int:
    parties = []
    for spec in args.party:
        pid, _, role = spec.partition(":")
        parties.append({"party": pid, "role": role})
    now = utcnow()
    doc = {
        "type": "yanxing.contract", "id": args.id, "version": 1, "supersedes": None,
        "title": args.title, "parties": parties,
        "validity": {"not_before": format_time(now),
                     "not_after": format_time(now + timedelta(days=args.days))},
        "scope": {"origin_region_codes": ["000000"]},
        "permissions": {"read": [], "record": {}},
        "prohibitions": {"read": [], "record": {}},
        "obligations": [
            {"who": "origin", "to": "destination", "what": "reconciliation",
             "schedule": "quarterly", "grace_days": 15, "description": "每季度通联流动党员台账"},
            {"who": "destination", "to": "origin", "what": "evaluation_letter",
             "schedule": "yearly", "grace_days": 31, "description": "年终发函"},
        ],
        "purposes": ["co-management"],
        "limits": {"max_members_per_request": 200},
    }
    write_document(args.out, doc)
    print(f"template written to {args.out}: set scope and permissions, then "
          "`yanxing contract lint`")
    return 0


def _lint(args: argparse.Namespace) -> int:
    source = args.sdl if args.sdl is not None else PACKAGED_SDL
    try:
        sdl = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"cannot read the published schema {source}: {exc} "
                            "(run `yanxing schema export` or pass --sdl)") from exc
    doc = read_document(args.file)
    if "payload" in doc:
        raise ContractError("lint the contract document, not a signed envelope")
    report = lint_contract(doc, known_fields_from_sdl(sdl))
    for line in report.lines():
        print(line)
    if args.fix and report.resolved is not None:
        write_document(args.fix, report.resolved)
    if not report.ok:
        return 2
    print("contract is valid" + (" (conflicts resolved for the prohibitions)"
                                 if report.conflicts else ""))
    return 0


def _sign(args: argparse.Namespace) -> int:
    envelope = sign_contract(read_document(args.file), load_private_key(args.key), _kid(args))
    write_document(args.out or args.file, envelope)
    print(f"signed with {_kid(args)} -> {args.out or args.file}")
    return 0


def _with_store(url: str, action: Callable[[ContractStore], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = open_db(url)
        try:
            await init_db(engine)
            return await action(ContractStore(create_session_factory(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _registry(args: argparse.Namespace) -> Registry:
    return load_registry(args.registry, load_public_key(args.hub_key))


def _print(record: ContractRecord) -> None:
    c = record.contract
    print(f"{c.id} v{c.version}  {record.state.value}  {record.digest}")
    print(f"  {c.title}")
    for party, role in c.parties.items():
        sig = record.signatures.get(party)
        signed = f"signed {format_time(sig.signed_at)} ({sig.kid})" if sig else "NOT SIGNED"
        print(f"  {role.value:<12} {party:<24} {signed}")
    reg = record.registrar
    print(f"  {'registrar':<12} {'':<24} "
          + (f"signed {format_time(reg.signed_at)} ({reg.kid})" if reg else "NOT SIGNED"))
    if record.revoked_by and record.revoked_at:
        print(f"  revoked by {record.revoked_by} at {format_time(record.revoked_at)}")


def _submit(args: argparse.Namespace) -> int:
    registry, envelope = _registry(args), read_document(args.file)
    record = _with_store(args.db, lambda s: s.submit(envelope, registry))
    _print(record)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    registry = _registry(args)
    key = load_private_key(args.key)

    async def run(store: ContractStore) -> ContractRecord:
        record = await store.get(args.digest)
        revocation = make_revocation(record.contract, args.reason, key, _kid(args))
        return await store.revoke(revocation, registry)

    _print(_with_store(args.db, run))
    return 0


def _show(args: argparse.Namespace) -> int:
    async def run(store: ContractStore) -> list[ContractRecord]:
        return await (store.for_party(args.party) if args.party else store.all())

    for record in _with_store(args.db, run):
        _print(record)
    return 0
