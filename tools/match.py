"""Soft match: every item scored by how much of what the user said it meets, instead of a hard AND.

A hard AND of every stated value returns nothing (or drops the wanted item) as soon as one value is slightly
off; here each stated value or range is a weighted condition, and the item's fit is the weighted share it
meets. Weights: recency (what was said last counts most), specificity (a rare value says more than a common
one) and how the value was read (by name, or by meaning through the encoder). An explicit "no X" stays a
hard exclusion. Later steps (similarity, the personal ranker, popularity) order items of equal fit.
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
from pydantic import Field

from tools.bus import Bus
from tools.context import ToolContext
from tools.registry import Args, ToolSpec

FILL = 20  # fewer items meeting any condition than this: the rest stay (after them), so a list is never short
KEEP = 3000  # candidates passed on, best fit first (popularity breaks ties)
RECENCY = 0.8  # weight of a condition said one message earlier, relative to the last message
INFERRED = 0.6  # weight of a value matched by meaning rather than by name
NEAR = 0.5
STRONG = 3.0  # weight multiplier of an insisted-on value  # credit for a range missed by a small margin (decays with the distance)


class Want(Args):
    col: str
    val: str
    age: Annotated[int, Field(ge=0, le=50)] = 0
    inferred: bool = False
    strong: bool = False  # the user insisted ("only X"): weighs as much as the rest together


class Span(Args):
    col: str
    lo: float | None = None
    hi: float | None = None
    label: Annotated[str, Field(max_length=80)] = ""
    age: Annotated[int, Field(ge=0, le=50)] = 0
    negated: bool = False  # "not from the 90s"


class Avoid(Args):
    col: str
    val: str


class MatchArgs(Args):
    want: Annotated[list[Want], Field(max_length=24)] = Field(default_factory=list)
    ranges: Annotated[list[Span], Field(max_length=8)] = Field(default_factory=list)
    avoid: Annotated[list[Avoid], Field(max_length=24)] = Field(default_factory=list)


def _value_ids(ctx: ToolContext, col: str, val: str) -> list[int]:
    vocab = ctx.domain.vocabulary
    vid = vocab.lookup(col, val)
    if vid is None:
        from models.vocabulary import key_of

        return vocab.by_key.get(key_of(val), [])
    return vocab.same_key(vid)


def _column(ctx: ToolContext, col: str) -> np.ndarray:
    vocab = ctx.domain.vocabulary
    if vocab.time is not None and col == vocab.time.name:
        return vocab.time.years
    x = vocab.number_values.get(col)
    if x is None:
        raise ValueError(f"'{col}' is not a numeric or date column")
    return x


def range_credit(x: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """1 inside the range; near misses get partial credit that decays with the distance (relative to the width)."""
    inside = ~np.isnan(x)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    width = abs(hi - lo) if lo is not None and hi is not None else abs(hi if hi is not None else lo or 1.0)
    scale = max(width, 1.0) * 0.5
    dist = np.zeros_like(x)
    if lo is not None:
        dist = np.maximum(dist, lo - x)
    if hi is not None:
        dist = np.maximum(dist, x - hi)
    near = NEAR * np.exp(-np.nan_to_num(dist, nan=np.inf) / scale)
    return np.where(inside, 1.0, near)


def fit_scores(ctx: ToolContext, args: MatchArgs) -> tuple[np.ndarray, np.ndarray, float]:
    """Per item: fit in [0, 1], a hard-exclusion mask, and the total weight of the conditions."""
    vocab = ctx.domain.vocabulary
    n = ctx.n_items
    total = np.zeros(n, dtype=np.float64)
    weight = 0.0
    log_n = math.log(1 + n)
    for w in args.want:
        ids = _value_ids(ctx, w.col, w.val)
        if not ids:
            continue
        has = vocab.has(ids)
        spec = 0.5 + 0.5 * min(1.0, vocab.idf(ids) / log_n)
        wt = RECENCY ** w.age * spec * (1.0 if w.strong else INFERRED if w.inferred else 1.0) * (STRONG if w.strong else 1.0)
        total += wt * has
        weight += wt
    for r in args.ranges:
        if r.lo is None and r.hi is None:
            continue
        wt = RECENCY ** r.age
        credit = range_credit(_column(ctx, r.col), r.lo, r.hi)
        total += wt * (np.where(credit >= 1.0, 0.0, 1.0) if r.negated else credit)
        weight += wt
    banned = np.zeros(n, dtype=bool)
    for a in args.avoid:
        ids = _value_ids(ctx, a.col, a.val)
        if ids:
            banned |= vocab.has(ids)
    fit = total / weight if weight > 0 else np.ones(n)
    return fit, banned, weight


def unmet(ctx: ToolContext, iid: int, args: MatchArgs) -> list[str]:
    """The stated conditions this item does not meet, in the user's terms ("Horror", "under $15")."""
    vocab = ctx.domain.vocabulary
    out = []
    for w in args.want:
        ids = _value_ids(ctx, w.col, w.val)
        if ids and not vocab.has(ids)[iid]:
            out.append(w.val)
    for r in args.ranges:
        inside = range_credit(_column(ctx, r.col)[[iid]], r.lo, r.hi)[0] >= 1.0
        if (r.lo is not None or r.hi is not None) and inside == r.negated:
            out.append(f"{'not ' if r.negated else ''}{r.label or r.col}")
    return out


def run_match(ctx: ToolContext, bus: Bus, args: MatchArgs) -> str:
    before = bus.size(ctx.n_items)
    fit, banned, weight = fit_scores(ctx, args)
    pool = np.arange(ctx.n_items) if bus.candidates is None else np.asarray(bus.candidates, dtype=np.int64)
    pool = pool[~banned[pool]]
    if weight > 0 and int((fit[pool] > 0).sum()) >= FILL:
        pool = pool[fit[pool] > 0]  # else the few that meet something lead and the closest others follow
    order = np.lexsort((-ctx.popularity[pool], -fit[pool]))[:KEEP]
    kept = pool[order]
    bus.set(kept.tolist(), fit[kept].tolist())
    bus.fit = {str(int(i)): float(fit[i]) for i in kept}
    full = int((fit[kept] >= 0.999).sum()) if weight > 0 else len(kept)
    said = [w.val for w in args.want] + [r.label or r.col for r in args.ranges]
    avoided = f"; excluded {', '.join(a.val for a in args.avoid)}" if args.avoid else ""
    return (f"{before} -> {len(kept)} candidates by fit to {', '.join(said) or 'nothing'}"
            f" ({full} meet every condition){avoided}")


MATCH = ToolSpec("match", "filter", "score candidates by how many stated conditions they meet",
                 lambda s: MatchArgs, run_match, in_plan=False)
