"""BM25 over item texts with numpy/scipy: the lexical baseline the fine-tuned encoder must beat, and a
cheap source of look-alike (hard negative) items for contrastive training."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75, idf = ln(1 + (N - df + .5) / (df + .5))), docs x terms as one CSR."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75):
        self.vocab: dict[str, int] = {}
        rows, cols = [], []
        for r, doc in enumerate(docs):
            for tok in tokenize(doc):
                cols.append(self.vocab.setdefault(tok, len(self.vocab)))
                rows.append(r)
        n = len(docs)
        tf = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(n, len(self.vocab)))
        tf.sum_duplicates()
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avg = float(dl.mean()) if n else 0.0
        df = np.bincount(tf.indices, minlength=len(self.vocab)).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * dl / max(avg, 1e-9))
        w = tf.tocoo()
        data = w.data * (k1 + 1) / (w.data + norm[w.row]) * idf[w.col]
        self.weights = sp.csr_matrix((data.astype(np.float32), (w.row, w.col)), shape=tf.shape)
        self.weights_t = self.weights.T.tocsr()

    def _query_matrix(self, queries: Sequence[str]) -> sp.csr_matrix:
        rows, cols = [], []
        for r, q in enumerate(queries):
            for tok in tokenize(q):
                j = self.vocab.get(tok)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
        return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)),
                             shape=(len(queries), len(self.vocab)))

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """(queries x docs) dense scores; repeated query terms count repeatedly."""
        return np.asarray((self._query_matrix(queries) @ self.weights_t).todense(), dtype=np.float32)

    def top(self, query: str, k: int = 20) -> np.ndarray:
        s = self.scores([query])[0]
        k = min(k, len(s))
        idx = np.argpartition(-s, k - 1)[:k] if k else np.empty(0, np.int64)
        return idx[np.lexsort((idx, -s[idx]))]
