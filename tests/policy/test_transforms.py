"""Value transforms: masking never reveals more of a malformed value than of a good one."""

from __future__ import annotations

from hub.policy.transforms import mask_id_number, mask_phone


def test_mask_id_number() -> None:
    assert mask_id_number("510521199003071234") == "510521********1234"
    assert mask_id_number(" 510521199003071234") == "510521********1234"  # normalised first
    assert mask_id_number("5105211990") == "**********"
    assert mask_id_number("5105211990030") == "*************"  # 13 characters: nothing shown


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345678") == "123*5678"
    assert mask_phone("1234567") == "*******"
