"""Reading and writing the JSON documents the trust commands edit (registry drafts, contracts).

Documents are read strictly (duplicate keys refused, as signing requires) and written as
readable UTF-8 with Chinese left as is, so a person can review a draft before signing it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.canonical_json import strict_loads
from hub.errors import ContractError

__all__ = ["read_document", "write_document"]


def read_document(path: Path, *, what: str = "JSON object") -> dict[str, Any]:
    """The JSON object in `path`; ContractError naming the file when it is not one."""
    try:
        doc = strict_loads(path.read_bytes())
    except OSError as exc:
        raise ContractError(f"cannot read {path}: {exc}") from exc
    except ContractError as exc:  # not JSON, or ambiguous JSON: say which file
        raise ContractError(f"{path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ContractError(f"{path} is not a {what}")
    return doc


def write_document(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
