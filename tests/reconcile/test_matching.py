"""The matching engine on small frames: names' variants and homophones with reasons, scope
rules, duplicates, decisions applied, and report rows whose polars NDJSON is their RFC 8785
form (so the signed digest can be recomputed from stored rows)."""

from __future__ import annotations

from typing import Any

import polars as pl

from hub.canonical_json import canonical
from hub.model import Side
from hub.reconcile.ledger import Ledger, frame_of
from hub.reconcile.matching import Parameters, RowScope, pair_id, reconcile
from hub.reconcile.names import name_similarity, simplified, sound_key
from hub.reconcile.report import nest, rows_digest, rows_of


def test_names_fold_variants_and_sounds() -> None:
    assert simplified(" 陳 偉 ") == "陈伟"
    assert sound_key("王玮") == sound_key("王伟") == "wang wei"
    assert name_similarity("王伟", "王伟") == (1.0, "name")
    assert name_similarity("張偉", "张伟") == (0.95, "name_variant")
    assert name_similarity("王伟", "王玮") == (0.85, "name_homophone")
    score, reason = name_similarity("王伟", "李强")
    assert reason == "name_similar" and score < 0.5


def ledger(side: Side, rows: list[dict[str, Any]]) -> Ledger:
    source = "o" if side is Side.ORIGIN else "d"
    full = [{"source": source, "row": i + 2, **r} for i, r in enumerate(rows)]
    return Ledger(side, source, "sha256:x", frame_of(full), (), frozenset({source}))


ORIGIN: list[dict[str, Any]] = [
    {"local_id": "1", "key": "k1", "name": "王伟", "birth_date": "1990-01-01",
     "status": "in_contact", "origin_region_code": "510521"},
    {"local_id": "2", "key": None, "name": "張三", "birth_date": "1980-02-02", "phone": "p2",
     "status": "in_contact", "origin_region_code": "510521"},
    {"local_id": "3", "key": "k3", "name": "李四", "birth_date": "1970-03-03",
     "status": "lost_contact", "origin_region_code": "510521"},
    {"local_id": "4", "key": "k3", "name": "李四", "birth_date": "1970-03-03",
     "status": "lost_contact", "origin_region_code": "510521"},
    {"local_id": "5", "key": "k5", "name": "外地人", "origin_region_code": "330100"},
    {"local_id": "6", "key": None, "name": "赵六", "id_region": "510521"},
]
DESTINATION: list[dict[str, Any]] = [
    {"local_id": "a", "key": "k1", "name": "王玮", "birth_date": "1990-01-01",
     "status": "in_contact", "destination_region_code": "510115", "id_region": "510521"},
    {"local_id": "b", "key": "k2", "name": "张三", "birth_date": "1980-02-02", "phone": "p2",
     "status": "in_contact", "destination_region_code": "510115", "id_region": "510521"},
    {"local_id": "c", "key": "k3", "name": "李四", "birth_date": "1970-03-03",
     "status": "in_contact", "destination_region_code": "510115", "id_region": "510521"},
    {"local_id": "d", "key": "k9", "name": "无人管", "destination_region_code": "510115",
     "id_region": "510521"},
    {"local_id": "f", "key": "k7", "name": "不明", "destination_region_code": "510115"},
    {"local_id": "e", "key": "k8", "name": "杭州人", "destination_region_code": "330100",
     "id_region": "510521"},
]
SCOPE = Parameters("2026Q3", RowScope((), ("510521",), ("510100",)))


def test_categories_scope_and_duplicates() -> None:
    out = reconcile(ledger(Side.ORIGIN, ORIGIN), ledger(Side.DESTINATION, DESTINATION), SCOPE)
    counts = out.counts
    assert counts["differing"] == 1            # 王伟 / 王玮, matched by key
    assert counts["status_conflict"] == 1      # 李四: lost contact against in contact
    assert counts["candidate"] == 1            # 張三 without an ID against 张三 (k2)
    assert counts["duplicate"] == 2            # k3 twice at the origin
    assert counts["destination_only"] == 1     # 无人管 (杭州人 is outside the scope)
    assert counts["origin_only"] == 1          # 赵六: placed by its ID county, no partner
    # 外地人 is from 杭州; 杭州人 lives in 杭州; 不明 names no origin and has no valid ID
    assert out.out_of_scope == {"origin": 1, "destination": 2}
    candidate = out.frames["candidate"].row(0, named=True)
    assert candidate["reasons"] == "name_variant birth_date phone"
    assert candidate["score"] == round(1000 * (0.5 * 0.95 + 0.3 + 0.2))


def test_decisions_are_applied() -> None:
    pair = pair_id("o", "2", "d", "b")
    o, d = ledger(Side.ORIGIN, ORIGIN), ledger(Side.DESTINATION, DESTINATION)
    confirmed = reconcile(o, d, SCOPE, decisions={pair: "confirmed"})
    assert confirmed.counts["candidate"] == 0
    assert confirmed.frames["differing"].filter(pl.col("via") == "confirmed").height == 1
    rejected = reconcile(o, d, SCOPE, decisions={pair: "rejected"})
    assert rejected.counts["candidate"] == 0
    assert rejected.counts["origin_only"] == 2 and rejected.counts["destination_only"] == 2


def test_rows_digest_is_the_canonical_json_of_the_stored_rows() -> None:
    o, d = ledger(Side.ORIGIN, ORIGIN), ledger(Side.DESTINATION, DESTINATION)
    rows = rows_of(reconcile(o, d, SCOPE), o, d)
    for frame in rows.values():
        dicts = frame.to_dicts()
        assert rows_digest(frame) == rows_digest(dicts)
        for row in dicts:
            assert frame.select(sorted(frame.columns)).height >= 1
            line = canonical(row).decode()
            assert line in frame.select(sorted(frame.columns)).write_ndjson()
    differing = nest(rows["differing"].row(0, named=True))
    assert differing["differences"] == [{"field": "name", "origin": "王伟", "destination": "王玮",
                                         "authority": "origin"}]
