"""A link's content hash is the keyed hash of the record as `json.dumps(sort_keys=True)` text.

Reconciliation digests include it (hub.reconcile.inputs), so the text must not change when
the encoder does: ingest encodes with json's C encoder made once, and this checks that it
gives the text json.dumps gives, for every kind of value a record holds.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

from connectors.base import PartialDate, Record
from hub.federation.identity import hmac_sha256_hex
from hub.federation.ingest import _content_hash, _content_text, _json_default

VALUES = {
    "name": "张三 \"引号\" \\ \n", "id_number": "51010519900101123X", "phone": None,
    "birth_date": PartialDate(1990, 1), "join_date": date(2015, 7, 1),
    "updated_at": datetime(2024, 3, 1, 18, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
    "score": 12.5, "count": 3, "flag": True, "big": 10**20, "ext.党费": 1e-7,
    "nested": {"b": [1, "二"], "a": None},
}


def test_content_text_is_json_dumps_sorted() -> None:
    expected = json.dumps(VALUES, sort_keys=True, default=_json_default)
    assert _content_text(dict(VALUES)) == expected
    assert "\\u5f20\\u4e09" in expected and expected.index('"big"') < expected.index('"birth_')


def test_content_hash_is_keyed_over_that_text() -> None:
    record = Record("src", "member", "1", VALUES, datetime(2024, 1, 1, tzinfo=UTC))
    text = json.dumps(VALUES, sort_keys=True, default=_json_default).encode()
    assert _content_hash(b"k" * 32, record) == hmac_sha256_hex(b"k" * 32, text)
    assert _content_hash(b"k" * 32, record) != _content_hash(b"j" * 32, record)
