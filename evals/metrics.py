"""Metrics of the evaluator (RecLM-eval and InteRecAgent definitions), plain Python, each hand-checked in tests.

Ranked lists may hold None (an output that names no catalog item): it keeps its position and never counts
as relevant. A relevant item repeated in a list counts once, at its first position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

KS = (1, 5, 10, 20)
Ranked = Sequence[int | None]


def _first_hits(ranked: Ranked, relevant: set[int], k: int) -> list[int]:
    """0-based positions within the top k where a relevant item appears for the first time."""
    seen: set[int] = set()
    out = []
    for pos, item in enumerate(ranked[:k]):
        if item is not None and item in relevant and item not in seen:
            seen.add(item)
            out.append(pos)
    return out


def hit_at(ranked: Ranked, relevant: set[int], k: int) -> float:
    return 1.0 if _first_hits(ranked, relevant, k) else 0.0


def recall_at(ranked: Ranked, relevant: set[int], k: int) -> float:
    return len(_first_hits(ranked, relevant, k)) / len(relevant) if relevant else 0.0


def precision_at(ranked: Ranked, relevant: set[int], k: int) -> float:
    return len(_first_hits(ranked, relevant, k)) / k


def ndcg_at(ranked: Ranked, relevant: set[int], k: int) -> float:
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(p + 2) for p in _first_hits(ranked, relevant, k))
    idcg = sum(1.0 / math.log2(p + 2) for p in range(min(len(relevant), k)))
    return dcg / idcg


def map_at(ranked: Ranked, relevant: set[int], k: int) -> float:
    """AP@k: mean of precision at each relevant position, over min(|relevant|, k)."""
    if not relevant:
        return 0.0
    hits = _first_hits(ranked, relevant, k)
    return sum((n + 1) / (p + 1) for n, p in enumerate(hits)) / min(len(relevant), k)


def mrr_at(ranked: Ranked, relevant: set[int], k: int) -> float:
    hits = _first_hits(ranked, relevant, k)
    return 1.0 / (hits[0] + 1) if hits else 0.0


METRICS = {"NDCG": ndcg_at, "Recall": recall_at, "Hit": hit_at, "Precision": precision_at, "MAP": map_at,
           "MRR": mrr_at}


def ranking_metrics(ranked: Ranked, relevant: Iterable[int], ks: Sequence[int] = KS) -> dict[str, float]:
    """Every metric at every k, keyed like "NDCG@10"."""
    rel = set(relevant)
    return {f"{name}@{k}": fn(ranked, rel, k) for name, fn in METRICS.items() for k in ks}


def error_rates(ranked: Ranked, valid: set[int] | None, history: Iterable[int]) -> dict[str, float]:
    """Share of a list's entries that are not valid items (not in the catalog, or not among the candidates
    when `valid` is given), repeat an earlier entry, or copy an item of the user's history."""
    n = len(ranked)
    if n == 0:
        return {"not_in_catalog": 0.0, "duplicate": 0.0, "history_copy": 0.0}
    hist = set(history)
    bad = sum(1 for x in ranked if x is None or (valid is not None and x not in valid))
    seen: set[int] = set()
    dup = 0
    for x in ranked:
        if x is None:
            continue
        if x in seen:
            dup += 1
        seen.add(x)
    copies = sum(1 for x in ranked if x is not None and x in hist)
    return {"not_in_catalog": bad / n, "duplicate": dup / n, "history_copy": copies / n}


# ---- conversations -----------------------------------------------------------------------------------------
def hit_within(hit_turns: Sequence[int | None], k: int) -> float:
    """H@k: share of conversations whose target was recommended at turn <= k (turns count from 1)."""
    if not hit_turns:
        return 0.0
    return sum(1 for t in hit_turns if t is not None and t <= k) / len(hit_turns)


def average_turns(hit_turns: Sequence[int | None], k: int) -> float:
    """AT@k: mean turn of the hit; a miss within k turns counts k + 1 (as in InteRecAgent)."""
    if not hit_turns:
        return 0.0
    return sum(t if (t is not None and t <= k) else k + 1 for t in hit_turns) / len(hit_turns)


def hit_curve(hit_turns: Sequence[int | None], k: int) -> list[float]:
    """Cumulative hit rate after turn 1..k."""
    return [hit_within(hit_turns, t) for t in range(1, k + 1)]


# ---- aggregation -------------------------------------------------------------------------------------------
def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a proportion (honest error bars for small n)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean(values: Iterable[float]) -> float:
    vals = [float(v) for v in values]
    return sum(vals) / len(vals) if vals else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean_dicts(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Key-wise mean of numeric dicts (keys missing in a row are skipped for that row)."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    return {k: mean(r[k] for r in rows if isinstance(r.get(k), int | float)) for k in keys}
