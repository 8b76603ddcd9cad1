"""How much popularity should count beside the personal ranker, measured on this catalog's own data.

One constant cannot serve every catalog: on Last.fm the artists users go on to play are often obscure, in
a shop the next purchase is usually a best seller. So the weight is chosen per catalog on its validation
items (each user's second-to-last item, never the test item). The situation measured is the agent's: the
ranker sees a short history (the few items a user names in a chat) and orders the items that share one
stated value with the wanted item (one of its own values, drawn at random), by NDCG@10.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from models.recdata import SplitSequences

GRID = (0.0, 0.125, 0.25, 0.5, 1.0)
SHORT = 3  # items a user names in a chat: the ranker's history there is short
USERS = 600
MIN_DF = 3  # a stated value labels at least this many items (rarer ones pin the item down alone)


def zscore(x: np.ndarray) -> np.ndarray:
    """Standardise along the last axis (a flat row gives zeros).

    The weight is in standard deviations, so the fit here and the ranker (tools/rank.py) must standardise
    the same way: both use this.
    """
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    sd = x.std(axis=-1, keepdims=True)
    safe = np.where(sd > 1e-9, sd, 1.0)
    return np.where(sd > 1e-9, (x - x.mean(axis=-1, keepdims=True)) / safe, 0.0).astype(x.dtype, copy=False)


def fit_pop_prior(ranker: Any, data: SplitSequences, popularity: np.ndarray, values: sp.spmatrix | None = None,
                  users: int = USERS, seed: int = 0) -> dict[str, Any]:
    """{"pop_prior": best weight, "ndcg10": {weight: NDCG@10}, "users": n}; ties go to the smaller weight.

    values: items x values (the vocabulary's matrix); without it the whole catalog is the pool."""
    hist, tgt = data.valid_cases()
    rng = np.random.default_rng(seed)
    keep = [i for i, h in enumerate(hist) if len(h) > 0]
    if len(keep) > users:
        keep = sorted(rng.choice(keep, size=users, replace=False).tolist())
    rows_m = values.tocsr() if values is not None else None
    cols_m = values.tocsc() if values is not None else None
    df = np.asarray(values.sum(axis=0)).ravel() if values is not None else None
    zpop = zscore(np.log1p(np.asarray(popularity, dtype=np.float64)[: data.n_items]))
    gains = {p: 0.0 for p in GRID}
    for start in range(0, len(keep), 128):
        rows = keep[start:start + 128]
        scores = zscore(ranker.score_batch([np.asarray(hist[i][-SHORT:]) for i in rows]).astype(np.float64))
        n = min(scores.shape[1], len(zpop))  # a ranker trained before items were added knows fewer
        for r, i in enumerate(rows):
            t = int(tgt[i])
            if t >= n:
                continue
            seen = np.asarray(hist[i], dtype=np.int64)
            seen = seen[seen < n]
            pool = None
            if rows_m is not None and cols_m is not None and df is not None and t < rows_m.shape[0]:
                own = [v for v in rows_m.indices[rows_m.indptr[t]:rows_m.indptr[t + 1]] if df[v] >= MIN_DF]
                if own:
                    v = int(rng.choice(own))
                    pool = cols_m.indices[cols_m.indptr[v]:cols_m.indptr[v + 1]]
            if pool is not None:
                pool = pool[pool < n]
            for p in GRID:
                s = scores[r, :n] + p * zpop[:n]
                s[seen] = -np.inf
                among = s if pool is None else s[pool]
                rank = int((among > s[t]).sum())
                gains[p] += 1.0 / np.log2(rank + 2) if rank < 10 else 0.0
    if not keep:
        return {"pop_prior": None, "ndcg10": {}, "users": 0}
    ndcg = {p: g / len(keep) for p, g in gains.items()}
    best = max(GRID, key=lambda p: (round(ndcg[p], 4), -p))
    return {"pop_prior": float(best), "ndcg10": {str(p): round(float(v), 4) for p, v in ndcg.items()},
            "users": len(keep)}
