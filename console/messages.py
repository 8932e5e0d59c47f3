"""What an official reads when the hub says no: `extensions.code` -> a sentence in Chinese.

Officials never see raw JSON or English error text. Each code the hub's public schema may
return has a sentence saying what happened and, where there is one, what to do. A code not in
the table (a newer hub) still reads as a sentence, with the code for the help desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MESSAGES", "explain", "explain_error", "SOURCE_NAMES", "learn_party_names"]

MESSAGES: Mapping[str, str] = {
    "UNAUTHENTICATED": ("工作台与枢纽之间的身份校验未通过，请重新登录；"
                        "仍不行请联系系统管理员检查本方密钥。"),
    "CONTRACT_DENIED": "双向共管协议未授权此项操作或查询条件。",
    "WRONG_PARTY": "按协议规定，这一步应由另一方办理。",
    "STATE_CONFLICT": "该事项当前所处的环节不允许这一步操作，请刷新后查看最新状态。",
    "NOT_FOUND": "未找到该记录，可能已被撤回或不在本方管理范围内。",
    "BAD_USER_INPUT": "填写的内容有误，请按提示修改后再提交。",
    "BAD_REQUEST": "请求格式不正确，请刷新页面后重试。",
    "LIMIT_EXCEEDED": "一次查询的数据量过大，请缩小筛选范围或减少每页条数。",
    "RATE_LIMITED": "操作过于频繁，请稍候片刻再试。",
    "OVERLOADED": "枢纽当前繁忙，请稍候片刻再试。",
    "REQUEST_TIMEOUT": "查询超时，请缩小范围后重试。",
    "AUDIT_UNAVAILABLE": "审计日志暂时无法写入，为保证留痕，本次操作未执行，请稍后重试。",
    "DATABASE_UNAVAILABLE": "枢纽数据库暂时不可用，请稍后重试。",
    "SOURCE_UNAVAILABLE": "有业务系统暂时无法连接，以下结果不完整。",
    "SOURCE_TIMEOUT": "有业务系统响应超时，以下结果不完整。",
    "SOURCE_REJECTED": "业务系统拒绝了这次请求，请联系该系统的管理方。",
    "SOURCE_INVALID": "业务系统返回的数据格式有误，已记录为数据质量问题。",
    "IDEMPOTENCY_CONFLICT": "这张表单已经提交过且内容不同，请刷新页面后重新填写。",
    "CHECKIN_CODE_INVALID": "报到码无效，请重新扫描党组织的报到码。",
    "CHECKIN_CODE_EXPIRED": "报到码已过期，请向党组织索取新的报到码。",
    "CHECKIN_CODE_WRONG_ORGANIZATION": "这个报到码属于其他党组织。",
    "TASK_FULL": "该任务认领名额已满。",
    "TASK_NOT_ELIGIBLE": "该党员不在此任务的认领范围内。",
    "TASK_STATE_CONFLICT": "该任务当前状态不允许这一步操作，请刷新后查看。",
    "SIGNATURE_INVALID": "签名校验未通过，请确认使用的是本方登记的密钥。",
    "INTERNAL_ERROR": "枢纽内部出错，已记录，请稍后重试或联系系统管理员。",
    "GRAPHQL_VALIDATION_FAILED": "工作台与枢纽的接口版本不一致，请联系系统管理员。",
    "GRAPHQL_PARSE_FAILED": "工作台与枢纽的接口版本不一致，请联系系统管理员。",
    "UNREACHABLE": "暂时无法连接枢纽，请检查网络后重试。",
    "INTROSPECTION_DISABLED": "该枢纽未开放接口说明查询。",
    "CONTRACT_INVALID": "协议文本或签名无效，请联系协议管理员核对。",
    "CONFIG_INVALID": "枢纽配置有误，请联系系统管理员。",
    "CONNECTOR_ERROR": "读取业务系统时出错，已记录，请联系该系统的管理方。",
    "SOURCE_ERROR": "读取业务系统时出错，以下结果可能不完整。",
    "HUB_ERROR": "枢纽未能完成这项操作，请稍后重试或联系系统管理员。",
    "LEDGER_INVALID": "交换台账中的记录校验未通过，请联系系统管理员。",
    "NOT_SUPPORTED": "对方系统不支持这项操作。",
    "SCHEMA_OUT_OF_DATE": "枢纽数据库需要升级，请联系系统管理员。",
}

#: the demo systems' ids -> the names officials know them by (partial results name them)
SOURCE_NAMES: Mapping[str, str] = {
    "chengdu": "蓉城先锋", "zhejiang": "浙里", "village_ledger": "涌水村台账",
    "county": "叙州区流动党员信息库", "study": "党员教育学习平台",
}


def explain(code: str | None) -> str:
    """The sentence for `code`."""
    if code and code in MESSAGES:
        return MESSAGES[code]
    return f"操作未能完成（代码 {code or '未知'}），请联系系统管理员。"


def explain_error(error: Mapping[str, Any]) -> str:
    """A GraphQL error as a sentence: the code's sentence, plus the contract or the system it
    names where the hub says which (officials recognise their agreement by its title)."""
    extensions = error.get("extensions") or {}
    code = extensions.get("code")
    sentence = explain(str(code) if code else None)
    # a field inside an answer withheld (path deeper than the top-level field) reads as a
    # blank; a refused query or mutation (path of one field) is a refusal, said as one
    if code == "CONTRACT_DENIED" and len(error.get("path") or ()) > 1:
        return "部分党员的部分信息按双向共管协议不向本方提供，已留空。"
    if code == "CONTRACT_DENIED":
        titles = [str(t) for t in extensions.get("contracts") or () if t]
        named = f"涉及协议：《{'》《'.join(titles)}》。" if titles else ""
        reason = extensions.get("reason") or ""
        detail = f"原因：{_reason(str(reason))}。" if reason else ""
        return f"{sentence}{named}{detail}"
    source = extensions.get("source") or extensions.get("system")
    if source and code in {"SOURCE_UNAVAILABLE", "SOURCE_TIMEOUT", "SOURCE_REJECTED",
                           "SOURCE_INVALID"}:
        return f"{SOURCE_NAMES.get(str(source), str(source))}：{sentence}"
    return sentence


_REASONS = {
    "filter": "协议未允许按此条件筛选",
    "field": "协议未授权查看该字段",
    "scope": "该党员不在协议覆盖范围内",
    "purpose": "本次用途不在协议约定的用途之内",
    "action": "协议未授权这项操作",
}


def _reason(reason: str) -> str:
    for key, text in _REASONS.items():
        if key in reason.lower():
            return text
    return reason


# ── 组织关系转接 / 双向对账 / 履约 (console-transfers-reconcile) ──────────────────────────────
#: codes these pages meet besides the common ones
MESSAGES = {
    **MESSAGES,
    "LEDGER_INVALID": "提交的台账文件有误（编码、表头或字段映射），请按提示修改后重新提交。",
    "CONTRACT_INVALID": ("签名未通过校验：报告可能已被改动，"
                         "或签名密钥不是本方在信任名单登记的密钥。"),
    "RECONCILIATION_RUNNING": "该协议本季度的对账正在进行中，请等它完成后再发起。",
}

#: party ids -> the names officials know them by: learned from the hub (`Contract.parties
#: { name }`, the trust registry's names) when an official signs in; an unknown party shows
#: its id
PARTY_NAMES: dict[str, str] = {"yanxing-hub": "雁行枢纽"}


def learn_party_names(names: Mapping[str, str | None]) -> None:
    """Remember the names the hub gave for these parties."""
    PARTY_NAMES.update({party: name for party, name in names.items() if name})


def party_name(party: str | None) -> str:
    """A party id as officials name it."""
    if not party:
        return "—"
    return PARTY_NAMES.get(party, party)
