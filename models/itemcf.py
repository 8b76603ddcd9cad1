"""ItemCF: cosine similarity on the user-item train matrix, kept as sparse top-K neighbours per item.

Never materialises an N x N matrix: item rows are processed in blocks sized by their co-occurrence
work, and each block keeps only its K best neighbours, so memory grows with N*K (1M items, K=50:
~600 MB at worst, far less in practice). Neighbour lists back the soft (similarity) filter and the
"similar to these seeds" ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from models import model_dir
from models.recdata import SplitSequences

NAME = "itemcf-v1"
BLOCK_WORK = 20_000_000  # max co-occurrence entries produced per block (~240 MB of temporaries)


def user_item_matrix(seqs: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """Binary users x items matrix (repeats collapse to 1)."""
    lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    rows = np.repeat(np.arange(len(seqs)), lens)
    cols = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs]) if len(seqs) else np.empty(0, np.int64)
    m = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(seqs), n_items))
    m.data[:] = 1.0  # duplicates were summed
    return m


def _topk_rows(block: sp.csr_matrix, first_item: int, k: int) -> sp.csr_matrix:
    """Keep the k largest entries per row, dropping self-similarity (row r is item first_item + r)."""
    coo = block.tocoo()
    keep = coo.col != coo.row + first_item
    rows, cols, vals = coo.row[keep], coo.col[keep], coo.data[keep]
    order = np.lexsort((cols, -vals, rows))  # by row, best first; ties by item id for determinism
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(block.shape[0]))
    rank = np.arange(len(rows)) - starts[rows]
    sel = rank < k
    return sp.csr_matrix((vals[sel], (rows[sel], cols[sel])), shape=block.shape)


def cosine_topk(ui: sp.csr_matrix, k: int = 50, block_work: int = BLOCK_WORK) -> sp.csr_matrix:
    """items x items CSR with at most k neighbours per row, cosine of the item columns of `ui`."""
    ui = sp.csr_matrix(ui, dtype=np.float32)
    n_items = ui.shape[1]
    deg = np.asarray(ui.sum(axis=0)).ravel()
    inv = np.zeros_like(deg)
    inv[deg > 0] = 1.0 / np.sqrt(deg[deg > 0])
    xn = (ui @ sp.diags(inv.astype(np.float32))).tocsc()
    xt = xn.T.tocsr()  # items x users
    user_deg = np.diff(ui.indptr).astype(np.float64)
    work = (sp.csr_matrix(xt, copy=True).astype(bool).astype(np.float64) @ user_deg)  # entries per item row
    parts, start = [], 0
    cum = np.cumsum(work)
    while start < n_items:
        base = cum[start - 1] if start else 0.0
        stop = int(np.searchsorted(cum, base + block_work, side="right"))
        stop = min(max(stop, start + 1), n_items)
        block = (xt[start:stop] @ xn).tocsr()
        parts.append(_topk_rows(block, start, k))
        start = stop
    out = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, n_items), dtype=np.float32)
    out.sort_indices()
    return out.astype(np.float32)


class ItemCF:
    """Sparse top-K item neighbours; history scoring sums each history item's neighbour similarities."""

    name = "itemcf"

    def __init__(self, sim: sp.csr_matrix, meta: dict | None = None):
        self.sim = sp.csr_matrix(sim, dtype=np.float32)
        self.meta = meta or {}

    @property
    def n_items(self) -> int:
        return int(self.sim.shape[0])

    @classmethod
    def fit(cls, data: SplitSequences, k: int = 50) -> ItemCF:
        sim = cosine_topk(user_item_matrix(data.train, data.n_items), k)
        return cls(sim, {"model": NAME, "k": k, "data_hash": data.digest(), "n_items": data.n_items})

    def neighbours(self, iid: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(item ids, cosine similarities) of the k most similar items, best first."""
        if not 0 <= iid < self.n_items:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        lo, hi = self.sim.indptr[iid], self.sim.indptr[iid + 1]
        idx, val = self.sim.indices[lo:hi], self.sim.data[lo:hi]
        order = np.lexsort((idx, -val))[:k]
        return idx[order].astype(np.int64), val[order]

    def _history(self, history_iids: Sequence[int] | np.ndarray) -> np.ndarray:
        h = np.asarray(history_iids, dtype=np.int64).ravel()
        return h[(h >= 0) & (h < self.n_items)]

    def score(self, history_iids: Sequence[int] | np.ndarray, candidate_iids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Sum over history items of sim(history item -> candidate); 0 where no neighbour link exists."""
        cand = np.asarray(candidate_iids, dtype=np.int64).ravel()
        out = np.zeros(len(cand), dtype=np.float32)
        h = self._history(history_iids)
        if len(h) == 0 or len(cand) == 0:
            return out
        sub = self.sim[h]
        uniq, inverse = np.unique(cand, return_inverse=True)
        pos = np.searchsorted(uniq, sub.indices)
        pos = np.minimum(pos, len(uniq) - 1)
        hit = uniq[pos] == sub.indices
        acc = np.zeros(len(uniq), dtype=np.float64)
        np.add.at(acc, pos[hit], sub.data[hit])
        return acc[inverse].astype(np.float32)

    def score_all(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(users x n_items) dense scores for full-ranking evaluation."""
        h = user_item_matrix([self._history(x) for x in histories], self.n_items)
        return np.asarray((h @ self.sim).todense(), dtype=np.float32)

    def save(self, path: str | Path) -> Path:
        with model_dir.writing(path, self.meta) as tmp:
            sp.save_npz(tmp / "neighbours.npz", self.sim)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> ItemCF:
        return cls(sp.load_npz(Path(path) / "neighbours.npz"), model_dir.read_meta(path))
