"""The popularity weight is measured per catalog: large where the next item is a best seller, zero where it is not."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.pop_prior import fit_pop_prior
from models.recdata import SplitSequences


class NoisyRanker:
    """Knows a little: the target scores a bit above noise, so popularity can only help where targets are popular."""

    def __init__(self, targets: dict[int, int], n_items: int, seed: int = 0):
        self.targets, self.n_items, self.rng = targets, n_items, np.random.default_rng(seed)

    def score_batch(self, histories):  # type: ignore[no-untyped-def]
        out = self.rng.normal(size=(len(histories), self.n_items))
        for r, h in enumerate(histories):
            if self.targets[int(h[-1])] < self.n_items:
                out[r, self.targets[int(h[-1])]] += 1.5
        return out


def _data(popular_targets: bool, n_items: int = 400, n_users: int = 300) -> tuple[SplitSequences, np.ndarray, NoisyRanker]:
    """User u's history is item u; its valid target is drawn from the most popular items or from the tail."""
    rng = np.random.default_rng(1)
    popularity = rng.zipf(1.6, size=n_items).astype(float)
    order = np.argsort(-popularity)
    pool = order[:40] if popular_targets else order[-200:]
    valid = np.array([int(rng.choice(pool)) for _ in range(n_users)])
    train = [np.array([u]) for u in range(n_users)]
    ranker = NoisyRanker({u: int(valid[u]) for u in range(n_users)}, n_items)
    return SplitSequences(n_items, train, valid, np.full(n_users, -1)), popularity, ranker


def test_popular_targets_get_weight_obscure_ones_none() -> None:
    data, pop, ranker = _data(popular_targets=True, n_users=300)
    hot = fit_pop_prior(ranker, data, pop)
    data, pop, ranker = _data(popular_targets=False, n_users=300)
    cold = fit_pop_prior(ranker, data, pop)
    assert hot["pop_prior"] is not None and hot["pop_prior"] > 0, hot
    assert cold["pop_prior"] == 0.0, cold
    assert set(hot["ndcg10"]) == {"0.0", "0.125", "0.25", "0.5", "1.0"}


def test_pools_of_one_stated_value() -> None:
    """With a values matrix the target is ranked among the items sharing one of its values."""
    data, pop, ranker = _data(popular_targets=True, n_users=200)
    n = data.n_items
    values = sp.csr_matrix((np.ones(n), (np.arange(n), np.arange(n) % 8)), shape=(n, 8))
    got = fit_pop_prior(ranker, data, pop, values)
    full = fit_pop_prior(ranker, data, pop)
    assert got["users"] == 200
    assert max(got["ndcg10"].values()) > max(full["ndcg10"].values())  # a smaller pool ranks the target higher


def test_a_ranker_trained_on_fewer_items_is_measured_on_those() -> None:
    """Items added after training have no ranker score: the measure skips them instead of failing."""
    data, pop, ranker = _data(popular_targets=True, n_users=100)
    ranker.n_items = data.n_items - 50  # the ranker knows the first 350 items only
    got = fit_pop_prior(ranker, SplitSequences(data.n_items, data.train, data.valid, data.test), pop)
    assert got["pop_prior"] is not None and got["users"] == 100
