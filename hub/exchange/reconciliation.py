"""双向对账 signed: a reconciliation report every party of the run has countersigned, recorded
in the exchange ledger (action `reconciliation`, the contracts' `reconciliation` record
permission). The report itself stays with its run (hub.reconcile); the entry names the run,
the contract, the quarter, the digest of the signed document and its signers, so the ledger
shows when each contract's quarterly exchange of ledgers (每季度通联流动党员台账) was done.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.exchange.errors import PayloadInvalid
from hub.exchange.payloads import Payload, action, check_text

__all__ = ["ReconciliationSigned"]


@action("reconciliation", permission="reconciliation")
@dataclass(frozen=True, slots=True)
class ReconciliationSigned(Payload):
    run: str | None = None
    contract_id: str | None = None
    period: str | None = None
    #: "sha256:<hex>" of the signed document's canonical bytes
    report: str | None = None
    signers: tuple[str, ...] = ()

    def validate(self) -> None:
        check_text("run", self.run, max_length=64, required=True)
        check_text("contract_id", self.contract_id, max_length=128, required=True)
        check_text("period", self.period, max_length=8, required=True)
        check_text("report", self.report, max_length=80, required=True)
        if not self.signers or len(self.signers) > 20:
            raise PayloadInvalid("signers", "must name 1 to 20 parties")
        for signer in self.signers:
            check_text("signers", signer, max_length=64, required=True)
