"""The policy point: what a caller may see of each value (see base.py for the contract)."""

from hub.policy.base import (
    ANONYMOUS,
    SCOPE_BY_ROW,
    BasePolicy,
    Caller,
    Policy,
    Subject,
    SubjectWithOwners,
    Transform,
)
from hub.policy.masking import MASKED_FIELDS, MaskingPolicy
from hub.policy.transforms import apply, mask_id_number, mask_phone, mask_text

__all__ = [
    "ANONYMOUS",
    "Caller",
    "Policy",
    "BasePolicy",
    "SCOPE_BY_ROW",
    "Subject",
    "SubjectWithOwners",
    "Transform",
    "MaskingPolicy",
    "MASKED_FIELDS",
    "apply",
    "mask_id_number",
    "mask_phone",
    "mask_text",
]
