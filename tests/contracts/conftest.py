"""Fixtures of the contract tests; the world they build lives in contract_world.py."""

from contract_world import contract_doc, sign_all, world  # noqa: F401  (pytest fixtures)
