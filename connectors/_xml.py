"""XML answers of REST systems (`format = "xml"` in [connection]): a safe parse and XPath paths.

Many government platforms (学习强国-like study platforms, older provincial systems) answer in
XML. The mapping then names places with XPath 1.0 expressions instead of dotted JSON paths:
`records`, `pagination.total` and `pagination.next` are evaluated against the document's root
element (`/result/rows/row` or `rows/row`), every field column against one record element
(`name`, `@id`, `profile/phone`, `string(hours)`).

The parse is refused rather than risked: no network access, no DTD loaded, no entity expanded
(XXE, billion laughs), and any document that declares a DTD at all is SOURCE_INVALID, since no
system answering a hub needs one. The answer's size was already capped by the connector before
it gets here (`max_response_bytes`), as for JSON.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lxml import etree

from connectors._records import MISSING

__all__ = ["XmlRefused", "parse_xml", "xml_path", "xml_value", "xml_items", "path_problem"]


class XmlRefused(ValueError):
    """The answer is not XML the hub will read; the message says why (no values in it)."""


def _parser() -> etree.XMLParser:
    # a parser per document: lxml parsers keep state and are not safe to share across tasks
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )


def parse_xml(raw: bytes) -> etree._Element:
    """The root element of `raw`; XmlRefused for anything not plain, DTD-free XML."""
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError:
        raise XmlRefused("the answer is not well-formed XML") from None
    if root is None:
        raise XmlRefused("the answer is empty")
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.externalDTD is not None or info.doctype:
        raise XmlRefused(
            "the answer declares a DTD (<!DOCTYPE>): refused, as entities could expand or "
            "reach out (XXE); ask the system's operator to drop the declaration")
    return root


@lru_cache(maxsize=512)
def _compiled(path: str) -> etree.XPath:
    return etree.XPath(path, smart_strings=False)


def path_problem(path: str) -> str | None:
    """Why `path` is not a usable XPath expression (for the mapping check), or None."""
    try:
        _compiled(path)
    except etree.XPathSyntaxError as exc:
        return f"{path!r} is not an XPath expression ({exc})"
    return None


def _scalar(found: Any) -> Any:
    """One XPath result as a cell: an element's text, an attribute's or text node's string,
    a number or boolean as it is; MISSING when nothing matched."""
    if isinstance(found, list):
        if not found:
            return MISSING
        found = found[0]
    if isinstance(found, etree._Element):
        nil = found.get("{http://www.w3.org/2001/XMLSchema-instance}nil")
        if nil in ("true", "1"):
            return None
        return "".join(found.itertext())
    if isinstance(found, (str, bytes)):
        return found.decode() if isinstance(found, bytes) else str(found)
    if isinstance(found, float) and found.is_integer():
        return int(found)
    return found


def xml_value(node: etree._Element, path: str) -> Any:
    """The value at `path` from `node` (see `_scalar`); a failing evaluation is MISSING."""
    try:
        return _scalar(_compiled(path)(node))
    except etree.XPathError:
        return MISSING


def xml_path(root: etree._Element, path: str | None) -> Any:
    """The value at a document-level `path` (total, next cursor); None path: the root."""
    return root if not path else xml_value(root, path)


def xml_items(root: etree._Element, path: str | None) -> list[etree._Element] | None:
    """The record elements at `path` (default: the root's children); None when the path
    selects something other than elements (the mapping points at the wrong place)."""
    if not path:
        return list(root)
    try:
        found = _compiled(path)(root)
    except etree.XPathError:
        return None
    if not isinstance(found, list) or not all(isinstance(e, etree._Element) for e in found):
        return None
    return [e for e in found if isinstance(e, etree._Element)]
