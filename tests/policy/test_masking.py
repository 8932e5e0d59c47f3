"""Stage 1 policy: everything visible, ID numbers and phones masked."""

from __future__ import annotations

from hub.policy import ANONYMOUS, MaskingPolicy, Policy, Subject, Transform, apply

SUBJECT = Subject("k", "LX-YS", "510521", "510115", "in_contact")


def test_is_a_policy_allowing_everything() -> None:
    policy = MaskingPolicy()
    assert isinstance(policy, Policy)
    assert policy.denied_fields(ANONYMOUS, {"Member": {"idNumber", "name"}}) == {}
    assert policy.can_see(ANONYMOUS, SUBJECT)
    assert policy.scope_filter(ANONYMOUS) is None


def test_masks_id_numbers_and_phones_only() -> None:
    policy = MaskingPolicy()
    t = lambda type_name, field: policy.transform(ANONYMOUS, SUBJECT, type_name, field, "x")  # noqa: E731
    assert t("Member", "idNumber") is Transform.MASKED
    assert t("Member", "phone") is Transform.MASKED
    assert t("Organization", "contactPhone") is Transform.MASKED
    assert t("Member", "name") is Transform.FULL
    assert t("Destination", "employer") is Transform.FULL
    assert apply(t("Member", "idNumber"), "idNumber", "510521199003071234") == "510521********1234"
    assert apply(t("Member", "phone"), "phone", "13812345678") == "138****5678"
