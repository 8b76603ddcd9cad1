"""Popularity scorer: log(1 + train count). The fallback ranker and the "popular" schema of the rank tool."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models import model_dir
from models.recdata import SplitSequences

NAME = "popularity-v1"


class Popularity:
    """Scores ignore the history: every user gets the same log-count ordering."""

    name = "popularity"

    def __init__(self, log_counts: np.ndarray, meta: dict | None = None):
        self.log_counts = np.asarray(log_counts, dtype=np.float32)
        self.meta = meta or {}

    @property
    def n_items(self) -> int:
        return len(self.log_counts)

    @classmethod
    def fit(cls, data: SplitSequences) -> Popularity:
        counts = np.zeros(data.n_items, dtype=np.float64)
        for seq in data.train:
            np.add.at(counts, seq, 1.0)
        return cls(np.log1p(counts), {"model": NAME, "data_hash": data.digest(), "n_items": data.n_items})

    def score(self, history_iids: Sequence[int] | np.ndarray, candidate_iids: Sequence[int] | np.ndarray) -> np.ndarray:
        cand = np.asarray(candidate_iids, dtype=np.int64)
        return self.log_counts[cand]

    def score_all(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """(users x n_items) scores, for full-ranking evaluation."""
        return np.broadcast_to(self.log_counts, (len(histories), self.n_items))

    def save(self, path: str | Path) -> Path:
        with model_dir.writing(path, self.meta) as tmp:
            np.save(tmp / "log_counts.npy", self.log_counts)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Popularity:
        return cls(np.load(Path(path) / "log_counts.npy"), model_dir.read_meta(path))
