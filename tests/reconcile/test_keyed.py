"""The ledger's keyed hashes, computed over whole columns (polars-hash), are exactly the hub's
`keyed_hash` (HMAC-SHA256 hex) of each value, so a ledger read from a file joins with the
index; a key that is not UTF-8 text takes the per-row path and agrees too."""

from __future__ import annotations

import polars as pl

from hub.federation.identity import keyed_hash
from hub.reconcile.inputs import _hashes

VALUES = ["510521199001011234", None, "11010519491231002X", "", "姓名与号码"]


def test_column_hashes_are_keyed_hashes() -> None:
    for secret in (b"a-secret-0123456789", "密钥-with-text".encode(), b"k" * 100):
        got = _hashes(secret, pl.Series("id", VALUES, dtype=pl.Utf8)).to_list()
        assert got == [keyed_hash(secret, v) if v is not None else None for v in VALUES]


def test_a_prefix_and_a_binary_key() -> None:
    secret = b"\xff\xfe not utf-8"
    got = _hashes(secret, pl.Series("phone", ["13800138000", None]), "phone:").to_list()
    assert got == [keyed_hash(secret, "phone:13800138000"), None]
    text_key = b"plain"
    got = _hashes(text_key, pl.Series("phone", ["13800138000", None]), "phone:").to_list()
    assert got == [keyed_hash(text_key, "phone:13800138000"), None]
