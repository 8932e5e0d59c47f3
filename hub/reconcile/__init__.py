"""Two-way reconciliation (双向对账) and collision matching (撞库) between an origin's and a
destination's ledgers, with signed reports (docs/reconcile.md)."""
