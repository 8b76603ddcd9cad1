"""Co-liked statistics over the training sequences ("liked by N% of the users who liked X") and the
sequence model's leave-one-out contributions: the numbers DOKE facts and explanations cite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from tools.context import ToolContext


class CoStats:
    """Users x items matrix of train positives: co-like counts between history items and candidates."""

    def __init__(self, seqs: Sequence[np.ndarray], n_items: int):
        rows = np.concatenate([np.full(len(s), u, dtype=np.int64) for u, s in enumerate(seqs)] or [np.empty(0, np.int64)])
        cols = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs] or [np.empty(0, np.int64)])
        ok = (cols >= 0) & (cols < n_items)
        m = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (rows[ok], cols[ok])),
                          shape=(max(len(seqs), 1), n_items))
        m.data[:] = 1.0  # duplicates count once
        m.sum_duplicates()
        m.data[:] = 1.0
        self.ui = m.tocsc()
        self.n_users = int(np.asarray(self.ui.sum(axis=1) > 0).sum())
        self.likes = np.asarray(self.ui.sum(axis=0), dtype=np.int64).ravel()  # users who liked each item

    @classmethod
    def from_context(cls, ctx: ToolContext) -> CoStats:
        return ctx._once("knowledge_costats", lambda: cls(ctx.domain.sequences(("train",)), ctx.n_items))

    def co_counts(self, history: Sequence[int], candidates: Sequence[int]) -> np.ndarray:
        """(len(history) x len(candidates)) users who liked both."""
        if not len(history) or not len(candidates):
            return np.zeros((len(history), len(candidates)), dtype=np.int64)
        a = self.ui[:, list(history)]
        b = self.ui[:, list(candidates)]
        return np.asarray((a.T @ b).todense(), dtype=np.int64)


def loo_contributions(ranker: Any, history: Sequence[int], candidates: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out on the ranker: (base scores (C,), deltas (H x C)) where
    delta[h, c] = score(c | history) - score(c | history without h). One batched forward pass."""
    hist = [int(h) for h in history]
    cands = np.asarray(list(candidates), dtype=np.int64)
    if not hist or not len(cands):
        return np.zeros(len(cands), np.float32), np.zeros((len(hist), len(cands)), np.float32)
    variants = [np.asarray(hist, dtype=np.int64)] + [np.asarray(hist[:j] + hist[j + 1:], dtype=np.int64)
                                                     for j in range(len(hist))]
    from models.sasrec import single_thread

    with single_thread():
        scores = np.asarray(ranker.score_batch(variants, cands), dtype=np.float32)
    return scores[0], scores[0][None, :] - scores[1:]
