"""Signed data-exchange contracts (双向共管协议): trust registry, contract documents, JWS
signing, lifecycle and store, request tokens, and the contract policy.

Typical wiring in the app: `load_registry` at startup; per request `verify_token` ->
`Caller`, then `ContractPolicy.from_store(store)` as the request's `Policy`.
"""

from hub.contracts.demo import DemoTrust, build_demo_trust
from hub.contracts.keys import generate_key, load_private_key, load_public_key, new_key_files
from hub.contracts.lifecycle import (
    ContractState,
    VerifiedContract,
    make_revocation,
    sign_contract,
    verify_contract,
)
from hub.contracts.lint import LintReport, known_fields_from_sdl, lint_contract
from hub.contracts.model import Contract, contract_digest, parse_contract
from hub.contracts.policy import ContractPolicy, SubjectWithOwners
from hub.contracts.store import ContractRecord, ContractStore
from hub.contracts.tokens import (
    MemoryReplayCache,
    ReplayCache,
    TokenRejected,
    mint_token,
    verify_token,
)
from hub.contracts.trust_registry import (
    Registry,
    add_key,
    add_party,
    load_registry,
    new_registry,
    revoke_key,
    sign_registry,
    verify_registry,
)

__all__ = [
    "Contract", "ContractPolicy", "ContractRecord", "ContractState", "ContractStore",
    "DemoTrust", "LintReport", "MemoryReplayCache", "Registry", "ReplayCache",
    "SubjectWithOwners", "TokenRejected", "VerifiedContract",
    "add_key", "add_party", "build_demo_trust", "contract_digest",
    "generate_key", "known_fields_from_sdl", "lint_contract", "load_private_key",
    "load_public_key", "load_registry", "make_revocation", "mint_token", "new_key_files",
    "new_registry", "parse_contract", "revoke_key", "sign_contract", "sign_registry",
    "verify_contract", "verify_registry", "verify_token",
]
