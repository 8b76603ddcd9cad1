"""Full-ranking metrics, numpy only, so RecBole's separate venv can import this file and score the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def target_ranks(scores: np.ndarray, targets: np.ndarray, histories: Sequence[np.ndarray] | None = None,
                 seed: int = 0) -> np.ndarray:
    """0-based rank of each target among all items (rows of `scores`).

    With `histories`, each user's history items are removed from the ranking first (never the target).
    Ties are broken uniformly at random (seeded), so a constant scorer gets chance-level metrics.
    """
    scores = np.array(scores, dtype=np.float64, copy=True)
    rows = np.arange(len(targets))
    if histories is not None:
        for r, h in enumerate(histories):
            h = np.asarray(h, dtype=np.int64)
            scores[r, h[h != targets[r]]] = -np.inf
    t = scores[rows, targets][:, None]
    greater = (scores > t).sum(axis=1)
    equal = (scores == t).sum(axis=1) - 1
    rng = np.random.default_rng(seed)
    return greater + (rng.random(len(targets)) * (equal + 1)).astype(np.int64)


def hr_ndcg(ranks: np.ndarray, k: int = 10) -> dict[str, float]:
    """HR@k and NDCG@k for one relevant item per user."""
    ranks = np.asarray(ranks)
    if len(ranks) == 0:
        return {f"HR@{k}": 0.0, f"NDCG@{k}": 0.0}
    hit = ranks < k
    ndcg = np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0)
    return {f"HR@{k}": float(hit.mean()), f"NDCG@{k}": float(ndcg.mean())}
