"""Value transforms: masking never reveals more of a malformed value than of a good one."""

from __future__ import annotations

import re

import pytest

from hub.policy.base import Transform
from hub.policy.transforms import apply, mask_id_number, mask_phone


def test_mask_id_number() -> None:
    assert mask_id_number("510521199003071234") == "510521********1234"
    assert mask_id_number(" 510521199003071234") == "510521********1234"  # normalised first
    assert mask_id_number("5105211990") == "**********"
    assert mask_id_number("5105211990030") == "*************"  # 13 characters: nothing shown


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345678") == "123*5678"
    assert mask_phone("1234567") == "*******"


def test_hashed_needs_a_key() -> None:
    hashed = apply(Transform.HASHED, "phone", "13812345678", hash_key=b"k" * 32)
    assert re.fullmatch(r"[0-9a-f]{32}", hashed) and hashed != apply(
        Transform.HASHED, "phone", "13812345678", hash_key=b"l" * 32)
    with pytest.raises(ValueError, match="hash_key"):
        apply(Transform.HASHED, "phone", "13812345678")
    with pytest.raises(ValueError, match="hash_key"):
        apply(Transform.HASHED, "phone", "13812345678", hash_key=b"")
    assert apply(Transform.HASHED, "phone", None) is None  # nothing to hash, nothing to refuse
