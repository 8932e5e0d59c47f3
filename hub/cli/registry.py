"""`yanxing registry init|add-party|add-key|revoke-key|sign|show|publish`: the trust registry.

Edits go to an unsigned draft file; `sign` (hub operator only) writes the signed registry the
hub loads, and bumps the draft's version so the next signing cannot be downgraded to.
`publish FILE --config yanxing.toml` verifies a signed registry with the hub key and stores it
in the hub's database as the newest accepted one: every running hub process on that database
uses it from its next request (hub.contracts.registry_state says why the database); only a
newer version than the one accepted is taken.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.cli._args import DAYS
from hub.cli._json_files import read_document, write_document
from hub.clock import format_time, parse_time, utcnow
from hub.contracts.keys import load_private_key, load_public_key
from hub.contracts.trust_registry import (
    add_key,
    add_party,
    load_registry,
    new_registry,
    revoke_key,
    sign_registry,
)
from hub.errors import ConfigError, ContractError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("registry", help="the trust registry of parties and their keys")
    cmds = parser.add_subparsers(dest="registry_command", required=True, metavar="ACTION")

    p = cmds.add_parser("init", help="start a registry draft")
    p.add_argument("draft", type=Path)
    p.add_argument("--hub-id", required=True)
    p.add_argument("--hub-kid", required=True, help="kid of the hub operator's key")
    p.add_argument("--expires-days", type=DAYS, default=90)
    p.set_defaults(handler=_init)

    p = cmds.add_parser("add-party", help="add a party (organisation department or operator)")
    p.add_argument("draft", type=Path)
    p.add_argument("--id", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--region", action="append", default=[], help="6-digit code (repeatable)")
    p.add_argument("--role", action="append", default=[], help="role hint (repeatable)")
    p.set_defaults(handler=_add_party)

    p = cmds.add_parser("add-key", help="add a party's public key (also how keys rotate)")
    p.add_argument("draft", type=Path)
    p.add_argument("--party", required=True)
    p.add_argument("--public", type=Path, required=True, help="JWK or PEM public key file")
    p.add_argument("--kid", required=True)
    p.add_argument("--not-before", help="2025-01-01T00:00:00Z (default: now)")
    p.add_argument("--days", type=DAYS, default=365, help="validity length")
    p.set_defaults(handler=_add_key)

    p = cmds.add_parser("revoke-key", help="revoke a key from a time on")
    p.add_argument("draft", type=Path)
    p.add_argument("--kid", required=True)
    p.add_argument("--at", help="effective time, 2025-01-01T00:00:00Z (default: now)")
    p.set_defaults(handler=_revoke_key)

    p = cmds.add_parser("sign", help="sign the draft with the hub key")
    p.add_argument("draft", type=Path)
    p.add_argument("--key", type=Path, required=True, help="hub private key (PEM)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(handler=_sign)

    p = cmds.add_parser("show", help="verify and print a signed registry")
    p.add_argument("registry", type=Path)
    p.add_argument("--hub-key", type=Path, required=True, help="hub public key (JWK or PEM)")
    p.add_argument("--current-version", type=int)
    p.set_defaults(handler=_show)

    p = cmds.add_parser("publish", help="load a signed registry into the running hub(s)")
    p.add_argument("registry", type=Path, help="the signed registry (from `registry sign`)")
    p.add_argument("--config", type=Path, default=Path("yanxing.toml"),
                   help="the hub's configuration: its database and [trust] hub key")
    p.set_defaults(handler=_publish)




def _init(args: argparse.Namespace) -> int:
    if args.draft.exists():
        raise ContractError(f"{args.draft} exists; edit it with add-party / add-key")
    write_document(args.draft, new_registry(
        args.hub_id, args.hub_kid, expires_at=utcnow() + timedelta(days=args.expires_days)))
    print(f"registry draft written to {args.draft}")
    return 0


def _draft(args: argparse.Namespace) -> dict[str, Any]:
    return read_document(args.draft, what="registry draft")


def _add_party(args: argparse.Namespace) -> int:
    write_document(args.draft, add_party(_draft(args), args.id, args.name, args.region, args.role))
    print(f"party {args.id} added")
    return 0


def _add_key(args: argparse.Namespace) -> int:
    start = parse_time(args.not_before) if args.not_before else utcnow()
    doc = add_key(_draft(args), args.party, load_public_key(args.public), args.kid,
                  not_before=start, not_after=start + timedelta(days=args.days))
    write_document(args.draft, doc)
    print(f"key {args.kid} of {args.party} valid {format_time(start)} for {args.days} days")
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    at = parse_time(args.at) if args.at else utcnow()
    write_document(args.draft, revoke_key(_draft(args), args.kid, at))
    print(f"key {args.kid} revoked from {format_time(at)}; sign and publish the registry")
    return 0


def _sign(args: argparse.Namespace) -> int:
    draft = _draft(args)
    signed = sign_registry(draft, load_private_key(args.key))
    write_document(args.out, signed)
    draft["version"] += 1  # the next signing must be newer than what was just published
    write_document(args.draft, draft)
    print(f"registry version {draft['version'] - 1} signed to {args.out}")
    return 0


def _show(args: argparse.Namespace) -> int:
    reg = load_registry(args.registry, load_public_key(args.hub_key),
                        current_version=args.current_version)
    print(f"registry version {reg.version} of hub {reg.hub_id}, expires "
          f"{format_time(reg.expires_at)}")
    for party in reg.parties.values():
        print(f"- {party.id}  {party.name}  regions={','.join(party.region_codes)}")
        for key in party.keys:
            state = f"revoked at {format_time(key.revoked_at)}" if key.revoked_at else "active"
            print(f"    {key.kid}: {format_time(key.not_before)} .. "
                  f"{format_time(key.not_after)} ({state})")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from hub.cli._registry_db import publish_registry, verified_registry
    from hub.settings import load_settings

    settings = load_settings(args.config)
    if settings.trust is None:
        raise ConfigError(f"{args.config}: has no [trust] table, so the hub trusts no registry")
    envelope, registry = verified_registry(args.registry, settings.trust)
    if publish_registry(settings.hub.database_url, envelope, registry):
        print(f"registry version {registry.version} published: every hub on this database "
              "uses it from its next request. Install it as trust.registry "
              f"({settings.trust.registry_path}) too: a restart with an older one is refused")
    else:
        print(f"registry version {registry.version} is already the hub's current registry")
    return 0
