"""The exchange ledger and its workflows (placeholder until the ledger core lands)."""
