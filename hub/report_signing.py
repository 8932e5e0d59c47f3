"""A party's countersignature of a reconciliation report (双向对账报告): hub core, no server code.

The hub signs a run's report first (hub.reconcile.report.sign_report); each party then adds its
own signature over the same canonical payload bytes and submits the envelope
(`signReconciliation`). That step happens wherever the party's key is — its backend, the
officials' console (console/, which may import only hub core and hub.client), or the command
line — so the primitive lives here, beside hub.jws, and hub.reconcile re-exports it. The
protected header's `typ` marks the envelope as a reconciliation report, so a signature made for
a contract or a letter can never be replayed as a report countersignature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.clock import utcnow
from hub.errors import ContractError
from hub.jws import add_signature, parse_general

__all__ = ["REPORT_TYPE", "REPORT_JWS_HEADER", "countersign_report"]

#: the signed document's `type`
REPORT_TYPE = "yanxing.reconciliation"
#: the protected header every signature on a report carries (the hub's and the parties')
REPORT_JWS_HEADER: Mapping[str, str] = {"typ": "yanxing-reconciliation+jws"}


def countersign_report(envelope: Mapping[str, Any], key: Ed25519PrivateKey, kid: str, *,
                       now: datetime | None = None) -> dict[str, Any]:
    """`envelope` with one more signature, by `key` (`kid` in the trust registry), over the
    same payload; ContractError when it is not a reconciliation report (nobody countersigns
    something else by mistake). Whether the signer is a party of the run the hub checks."""
    if parse_general(envelope).payload.get("type") != REPORT_TYPE:
        raise ContractError("not a reconciliation report")
    return add_signature(envelope, key, kid, iat=now or utcnow(),
                         extra_header=dict(REPORT_JWS_HEADER))
