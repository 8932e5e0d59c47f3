"""Every error code the hub can return reads as a Chinese sentence in the console: the table
in console.messages covers each `code` the hub's and the connectors' error classes declare, so
a new code without a sentence fails here, not in front of an official."""

from __future__ import annotations

import re
from pathlib import Path

from console.messages import MESSAGES, explain, explain_error

ROOT = Path(__file__).resolve().parents[2]
_CODE = re.compile(r'^\s+code(?:: ClassVar\[str\])? = "([A-Z_]+)"', re.M)


def _declared_codes() -> set[str]:
    found: set[str] = set()
    for top in ("hub", "connectors"):
        for path in (ROOT / top).rglob("*.py"):
            found |= set(_CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_declared_code_has_a_sentence() -> None:
    codes = _declared_codes()
    assert {"CONTRACT_DENIED", "WRONG_PARTY", "SOURCE_UNAVAILABLE"} <= codes  # the scan works
    missing = sorted(codes - set(MESSAGES))
    assert not missing, f"add Chinese sentences for {missing} to console/messages.py"


def test_sentences_are_chinese_and_unknown_codes_still_read() -> None:
    for code, sentence in MESSAGES.items():
        assert re.search(r"[\u4e00-\u9fff]", sentence), code
        assert "{" not in sentence and "Error" not in sentence, code
    assert "NEW_CODE" in explain("NEW_CODE") and "联系" in explain("NEW_CODE")


def test_a_refusal_names_its_agreements_and_a_source_its_system() -> None:
    denied = explain_error({"message": "filter not allowed",
                            "extensions": {"code": "CONTRACT_DENIED",
                                           "contracts": ["成都—叙州流动党员双向共管协议"]}})
    assert "《成都—叙州流动党员双向共管协议》" in denied and "filter" not in denied
    down = explain_error({"extensions": {"code": "SOURCE_UNAVAILABLE", "source": "chengdu"}})
    assert down.startswith("蓉城先锋") and "不完整" in down


def test_a_value_withheld_for_some_members_is_not_a_refusal() -> None:
    """A field nulled for members a contract does not grant it (an error with a path) reads as
    "left blank", not as the operation refused."""
    blank = explain_error({"path": ["members", "nodes", 3, "phone"],
                           "extensions": {"code": "CONTRACT_DENIED"}})
    assert "留空" in blank and "未授权此项操作" not in blank


def test_a_refused_mutation_is_a_refusal_not_a_blank() -> None:
    """A mutation or top-level query the contracts refuse carries a path of one field (e.g.
    reviewTaskCompletion by a party that did not publish the task): it is said as refused."""
    refused = explain_error({"path": ["reviewTaskCompletion"],
                             "extensions": {"code": "CONTRACT_DENIED"}})
    assert refused.startswith(MESSAGES["CONTRACT_DENIED"]) and "留空" not in refused
