"""The shared exchange ledger (stage 3): workflow actions, and their write-back."""
