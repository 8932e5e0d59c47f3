"""Two-way reconciliation (双向对账) and collision matching (撞库) of two ledgers, in polars.

The steps, each a join or an expression over whole columns (no Python loop over rows except
the scoring of the few candidate pairs blocking leaves):

1. scope: keep the records of the period's scope (origin organisations or regions x
   destination regions); a record naming no origin region is placed by its ID number's county;
2. duplicates: a key twice on one side is a duplicate (both rows reported; the first is
   compared);
3. exact: a full join on the keyed hash of the normalised ID number;
4. candidates: records left without a partner, one of them without a valid ID, are blocked
   by (birth date, surname) and by phone, then scored over name (variants, homophones),
   birth date and phone, with the reasons; a person's earlier decision on a pair (confirmed:
   compared as a match; rejected: never proposed again) is applied;
5. categories: matched pairs compare field by field (`COMPARED_FIELDS`; which side has
   authority from hub.model.FIELD_AUTHORITY); a lost contact against an in-contact record is a
   status conflict; the rest is origin only or destination only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from hub.contracts.model import region_prefix
from hub.model import FIELD_AUTHORITY, Authority
from hub.reconcile.ledger import COLUMNS, COMPARED_FIELDS, Ledger
from hub.reconcile.names import TRADITIONAL_PAIRS, name_similarity
from hub.reconcile.timing import Stopwatch

__all__ = ["CATEGORIES", "RowScope", "Parameters", "Outcome", "reconcile", "pair_id",
           "authority_of", "Progress"]

#: categories in report order; `candidate` pairs await a person, `bad_row` are reported rows
CATEGORIES: tuple[str, ...] = (
    "matched", "differing", "status_conflict", "origin_only", "destination_only", "candidate",
    "duplicate", "bad_row",
)
Progress = Callable[[str, float], None]
_TRAD_FROM = [t for t, _ in TRADITIONAL_PAIRS]
_TRAD_TO = [s for _, s in TRADITIONAL_PAIRS]


@dataclass(frozen=True, slots=True)
class RowScope:
    """The records a run compares: origin (organisations or regions) x destination regions."""

    origin_org_ids: tuple[str, ...] = ()
    origin_region_codes: tuple[str, ...] = ()
    destination_region_codes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, list[str]]:
        return {"origin_org_ids": sorted(self.origin_org_ids),
                "origin_region_codes": sorted(self.origin_region_codes),
                "destination_region_codes": sorted(self.destination_region_codes)}


@dataclass(frozen=True, slots=True)
class Parameters:
    """What decides the result besides the ledgers: part of the signed report."""

    period: str
    scope: RowScope
    threshold: float = 0.6
    weight_name: float = 0.5
    weight_birth_date: float = 0.3
    weight_phone: float = 0.2

    def as_json(self) -> dict[str, Any]:
        return {"period": self.period, "scope": self.scope.as_json(),
                "candidates": {"threshold_permille": round(self.threshold * 1000),
                               "weights_permille": {
                                   "name": round(self.weight_name * 1000),
                                   "birth_date": round(self.weight_birth_date * 1000),
                                   "phone": round(self.weight_phone * 1000)},
                               "blocking": ["birth_date+surname", "phone"]},
                "compared_fields": list(COMPARED_FIELDS)}


@dataclass(slots=True)
class Outcome:
    """A reconciliation's result: per category a frame of pairs (`o_*` / `d_*` columns)."""

    frames: dict[str, pl.DataFrame]
    in_scope: dict[str, int]
    out_of_scope: dict[str, int]
    #: wall and CPU seconds per stage (hub.reconcile.timing)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {c: self.frames[c].height for c in CATEGORIES}


def authority_of(field_name: str) -> str:
    """Which side's value counts when the two disagree (hub.model.FIELD_AUTHORITY)."""
    return FIELD_AUTHORITY.get(field_name, Authority.NEWEST).value


def pair_id(o_source: str | None, o_local: str | None, d_source: str | None,
            d_local: str | None) -> str:
    """Names a candidate pair across runs: the decision on it is kept by this id."""
    text = f"{o_source}\t{o_local}\t{d_source}\t{d_local}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _unscoped(scope: RowScope) -> bool:
    return not (scope.origin_org_ids or scope.origin_region_codes
                or scope.destination_region_codes)


def _scope_expr(scope: RowScope, side: str) -> pl.Expr:
    """Is a record in the run's scope? Unknown routing fails closed, with one exception: an
    origin record that does not say where the member went stays in (those are exactly the
    members the destination should look for); a record naming no origin region is placed by
    its ID number's county (`id_region`)."""
    origin_region = pl.coalesce(pl.col("origin_region_code"), pl.col("id_region"))
    origin: pl.Expr | None = None
    if scope.origin_org_ids:
        origin = pl.col("origin_org_id").is_in(list(scope.origin_org_ids))
    for code in scope.origin_region_codes:
        clause = origin_region.str.starts_with(region_prefix(code))
        origin = clause if origin is None else origin | clause
    expr = pl.lit(True) if origin is None else origin.fill_null(False)
    destination: pl.Expr | None = None
    for code in scope.destination_region_codes:
        clause = pl.col("destination_region_code").str.starts_with(region_prefix(code))
        destination = clause if destination is None else destination | clause
    if destination is not None:
        expr = expr & destination.fill_null(side == "origin")
    return expr


def _in_scope(frame: pl.DataFrame, scope: RowScope, side: str) -> pl.DataFrame:
    """The frame's records in scope (the frame itself, not a copy, when the run has no
    scope: a million-row filter that keeps every row still copies every column)."""
    return frame if _unscoped(scope) else frame.filter(_scope_expr(scope, side))


def _prefixed(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.rename({c: prefix + c for c in frame.columns})


def _empty_pairs() -> pl.DataFrame:
    schema: dict[str, Any] = {}
    for prefix in ("o_", "d_"):
        for c in COLUMNS:
            schema[prefix + c] = pl.Int64 if c == "row" else pl.Utf8
    return pl.DataFrame(schema=schema)


def _with_pair_columns(pairs: pl.DataFrame, via: str) -> pl.DataFrame:
    return pairs.with_columns(pl.lit(via).alias("via"), pl.lit(None, pl.Int64).alias("score"),
                              pl.lit(None, pl.Utf8).alias("reasons"))


def _split_duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the frame with each key once, the rows of keys that occur more than once)."""
    # a 64-bit hash of each key first (three times cheaper than comparing 64-character keys
    # over a million rows); only the rows whose hash repeats are compared as text, so a hash
    # collision never makes a duplicate
    maybe = frame.select((pl.col("key").hash().is_duplicated() & pl.col("key").is_not_null())
                         .alias("r")).to_series()
    if not maybe.any():
        return frame, frame.clear()
    repeated = frame.select(pl.when(maybe).then(pl.col("key")).is_duplicated()
                            & maybe).to_series()
    if not repeated.any():
        return frame, frame.clear()
    dupes = frame.filter(repeated)
    first = frame.filter(pl.col("key").is_null() | pl.col("key").is_first_distinct())
    return first, dupes


def _blocking(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    name = pl.col(prefix + "name").str.replace_all(r"[\s·•・.]", "").str.replace_many(
        _TRAD_FROM, _TRAD_TO)
    return frame.with_columns(
        (pl.col(prefix + "birth_date") + "|" + name.str.slice(0, 1)).alias("_block"))


def _score_pairs(pairs: pl.DataFrame, params: Parameters) -> pl.DataFrame:
    """Score each blocked pair (rapidfuzz over names; the pairs are few after blocking)."""
    names = zip(pairs["o_name"].to_list(), pairs["d_name"].to_list())
    births = zip(pairs["o_birth_date"].to_list(), pairs["d_birth_date"].to_list())
    phones = zip(pairs["o_phone"].to_list(), pairs["d_phone"].to_list())
    scores: list[int] = []
    reasons: list[str] = []
    for (on, dn), (ob, db), (op, dp) in zip(names, births, phones):
        why: list[str] = []
        score = 0.0
        if on and dn:
            similarity = name_similarity(on, dn)
            score += params.weight_name * similarity.score
            why.append(similarity.reason if similarity.reason != "name_similar"
                       else f"name_similar:{round(similarity.score * 100)}")
        if ob and db:
            if ob == db:
                score += params.weight_birth_date
                why.append("birth_date")
            elif ob[:7] == db[:7]:
                score += params.weight_birth_date / 2
                why.append("birth_month")
        if op and dp and op == dp:
            score += params.weight_phone
            why.append("phone")
        scores.append(round(score * 1000))
        reasons.append(" ".join(why))
    return pairs.with_columns(pl.Series("score", scores, pl.Int64),
                              pl.Series("reasons", reasons, pl.Utf8))


def _candidates(o_pool: pl.DataFrame, d_pool: pl.DataFrame, params: Parameters) -> pl.DataFrame:
    """Blocked, scored pairs of unpartnered records where at least one has no valid ID: the
    records without one (about 2 %) are blocked against the whole other pool, and those with
    one only against the other side's records without one, so no pair of two valid IDs is
    ever formed (a national run would otherwise block millions of them to throw away)."""
    o_blocked = _blocking(o_pool, "o_")
    d_blocked = _blocking(d_pool, "d_")
    o_none, d_none = o_blocked.filter(pl.col("o_key").is_null()), \
        d_blocked.filter(pl.col("d_key").is_null())
    o_some = o_blocked.filter(pl.col("o_key").is_not_null())
    parts = []
    for left, right in ((o_none, d_blocked), (o_some, d_none)):
        if left.height == 0 or right.height == 0:
            continue
        parts.append(left.filter(pl.col("_block").is_not_null()).join(
            right.filter(pl.col("_block").is_not_null()), on="_block", how="inner"))
        parts.append(left.filter(pl.col("o_phone").is_not_null()).join(
            right.filter(pl.col("d_phone").is_not_null()), left_on="o_phone",
            right_on="d_phone", how="inner", coalesce=False))
    columns = [*o_pool.columns, *d_pool.columns]
    if not parts:
        return _no_pairs(o_pool, d_pool)
    pairs = pl.concat([part.select(columns) for part in parts], how="vertical")
    pairs = pairs.unique(["o_source", "o_local_id", "d_source", "d_local_id"],
                         maintain_order=True)
    if pairs.height == 0:
        return _no_pairs(o_pool, d_pool)
    scored = _score_pairs(pairs, params)
    return scored.filter(pl.col("score") >= round(params.threshold * 1000))


def _no_pairs(o_pool: pl.DataFrame, d_pool: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([o_pool.clear(), d_pool.clear()], how="horizontal").with_columns(
        pl.lit(None, pl.Int64).alias("score"), pl.lit(None, pl.Utf8).alias("reasons"))


def _apply_decisions(candidates: pl.DataFrame, decisions: Mapping[str, str]
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(confirmed pairs, pending pairs): rejected pairs drop out; a record in a confirmed pair
    is taken and proposes nothing else."""
    if candidates.height == 0:
        return candidates, candidates
    ids = [pair_id(*t) for t in zip(candidates["o_source"].to_list(),
                                    candidates["o_local_id"].to_list(),
                                    candidates["d_source"].to_list(),
                                    candidates["d_local_id"].to_list())]
    candidates = candidates.with_columns(pl.Series("pair", ids, pl.Utf8))
    decided = pl.Series("decision", [decisions.get(i) for i in ids], pl.Utf8)
    candidates = candidates.with_columns(decided)
    confirmed = candidates.filter(pl.col("decision") == "confirmed")
    pending = candidates.filter(pl.col("decision").is_null())
    if confirmed.height:
        taken_o = confirmed.select("o_source", "o_local_id")
        taken_d = confirmed.select("d_source", "d_local_id")
        pending = pending.join(taken_o, on=["o_source", "o_local_id"], how="anti").join(
            taken_d, on=["d_source", "d_local_id"], how="anti")
    return confirmed.drop("decision"), pending.drop("decision")


def _compare(pairs: pl.DataFrame) -> pl.DataFrame:
    """Add `differs` (space-separated fields that disagree) and `category`."""
    flags = [
        pl.when((pl.col("o_" + f) != pl.col("d_" + f)).fill_null(False))
        .then(pl.lit(f)).otherwise(pl.lit(None, pl.Utf8))
        for f in COMPARED_FIELDS
    ]
    conflict = (((pl.col("o_status") == "lost_contact") & (pl.col("d_status") == "in_contact"))
                | ((pl.col("o_status") == "in_contact")
                   & (pl.col("d_status") == "lost_contact"))).fill_null(False)
    # a string concatenation skipping nulls, not a list per row (ten times cheaper)
    differs = pl.concat_str(flags, separator=" ", ignore_nulls=True).fill_null("")
    return pairs.with_columns(differs.alias("differs")).with_columns(
        pl.when(conflict).then(pl.lit("status_conflict"))
        .when(pl.col("differs") != "").then(pl.lit("differing"))
        .otherwise(pl.lit("matched")).alias("category"))


def _one_side(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """Rows of one side only, as pairs with the other side empty."""
    other = "d_" if prefix == "o_" else "o_"
    empty = [pl.lit(None, pl.Int64 if c == "row" else pl.Utf8).alias(other + c) for c in COLUMNS]
    return frame.with_columns(*empty, pl.lit(None, pl.UInt32).alias(other + "_pos"))


def _in_order(frame: pl.DataFrame, *first: str) -> pl.DataFrame:
    """The report's order: by the origin record's position in its ledger, then the
    destination's (one-sided rows where their side's record falls)."""
    return frame.sort([*first, "o__pos", "d__pos"], nulls_last=True, maintain_order=True)


def reconcile(origin: Ledger, destination: Ledger, params: Parameters, *,
              decisions: Mapping[str, str] | None = None,
              progress: Progress | None = None) -> Outcome:
    """Reconcile two ledgers; `decisions` maps pair ids to "confirmed" / "rejected"."""
    decisions = decisions or {}
    report = progress or (lambda stage, share: None)
    watch = Stopwatch()

    def lap(stage: str, share: float) -> None:
        watch.lap(stage)
        report(stage, share)

    # each record's position in its ledger: the report's order (pairs by origin position,
    # then destination position), sorted as integers rather than as four text columns
    o_all = origin.frame.with_row_index("_pos")
    d_all = destination.frame.with_row_index("_pos")
    o_in = _in_scope(o_all, params.scope, "origin")
    d_in = _in_scope(d_all, params.scope, "destination")
    o_first, o_dupes = _split_duplicates(o_in)
    d_first, d_dupes = _split_duplicates(d_in)
    lap("scope", 0.15)

    # keys are unique on each side now, and a null key joins nothing: one full join of the
    # keys and positions alone gives the pairs and each side's rest (null keys among the
    # rest); the records are then gathered by position, so no two-million-row frame of
    # every column is ever made (and the keys are hashed once, not three times)
    o_pref, d_pref = _prefixed(o_first, "o_"), _prefixed(d_first, "d_")
    del o_first, d_first
    links = o_pref.select("o_key", "o__pos").with_row_index("_o").join(
        d_pref.select("d_key", "d__pos").with_row_index("_d"), left_on="o_key",
        right_on="d_key", how="full", coalesce=False).select("_o", "_d")
    both = links.filter(pl.col("_o").is_not_null() & pl.col("_d").is_not_null()).sort("_o")
    o_left = o_pref.gather(links.filter(pl.col("_d").is_null())["_o"].sort())
    d_left = d_pref.gather(links.filter(pl.col("_o").is_null())["_d"].sort())
    del links
    lap("exact", 0.5)

    candidates = _candidates(o_left, d_left, params)
    confirmed, pending = _apply_decisions(candidates, decisions)
    lap("candidates", 0.8)

    # the exact pairs are compared on the compared fields alone, then every column gathered
    # once, already in category order (a stable sort of pairs in origin order keeps that
    # order within each category): one wide copy of the pairs, not one to compare and
    # another to split
    narrow = pl.concat([
        o_pref.select([f"o_{f}" for f in COMPARED_FIELDS]).gather(both["_o"]),
        d_pref.select([f"d_{f}" for f in COMPARED_FIELDS]).gather(both["_d"])],
        how="horizontal")
    flags = _compare(narrow).select("differs", "category")
    del narrow
    order = flags.with_row_index("_k").sort("category", maintain_order=True)["_k"]
    flags = flags.gather(order)
    compared = _with_pair_columns(pl.concat([
        o_pref.gather(both["_o"].gather(order)), d_pref.gather(both["_d"].gather(order)),
        flags], how="horizontal"), "id").with_columns(pl.lit(None, pl.Utf8).alias("pair"))
    del both, order
    counts = flags["category"].value_counts()
    size = dict(zip(counts["category"].to_list(), counts["count"].to_list()))
    del flags
    start: dict[str, int] = {}
    offset = 0
    for name in sorted(size):
        start[name] = offset
        offset += size[name]
    by_decision = _compare(confirmed.with_columns(pl.lit("confirmed").alias("via")))

    def part(name: str) -> pl.DataFrame:
        found = compared.slice(start.get(name, 0), size.get(name, 0))
        extra = by_decision.filter(pl.col("category") == name)
        if extra.height == 0:
            return found
        return _in_order(pl.concat([found, extra], how="diagonal_relaxed"))

    o_taken = pl.concat([confirmed.select("o_source", "o_local_id"),
                         pending.select("o_source", "o_local_id")])
    d_taken = pl.concat([confirmed.select("d_source", "d_local_id"),
                         pending.select("d_source", "d_local_id")])
    origin_only = _one_side(o_left.join(o_taken, on=["o_source", "o_local_id"], how="anti",
                                        maintain_order="left"), "o_")
    destination_only = _one_side(
        d_left.join(d_taken, on=["d_source", "d_local_id"], how="anti",
                    maintain_order="left"), "d_")
    duplicates = _in_order(pl.concat([_one_side(_prefixed(o_dupes, "o_"), "o_"),
                                      _one_side(_prefixed(d_dupes, "d_"), "d_")],
                                     how="diagonal_relaxed"))
    frames = {
        "matched": part("matched"),
        "differing": part("differing"),
        "status_conflict": part("status_conflict"),
        "origin_only": origin_only,
        "destination_only": destination_only,
        "candidate": _in_order(pending),
        "duplicate": duplicates,
        "bad_row": pl.DataFrame({"n": [0] * (len(origin.bad_rows) + len(destination.bad_rows))}),
    }
    lap("categories", 0.95)
    return Outcome(
        frames=frames,
        in_scope={"origin": o_in.height, "destination": d_in.height},
        out_of_scope={"origin": o_all.height - o_in.height,
                      "destination": d_all.height - d_in.height},
        seconds=watch.wall,
        cpu_seconds=watch.cpu,
    )

