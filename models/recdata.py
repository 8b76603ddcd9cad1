"""Leave-last-out sequences: the one data shape every recommender here trains and is judged on.

Models take a `SplitSequences` rather than a `Domain`, so the same code trains on a built domain (the
agent's catalog) and on raw benchmark files (Amazon Beauty has no metadata and is never a domain).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.domain import Domain

NO_ITEM = -1


@dataclass
class SplitSequences:
    """Per user (index = uid): train positives in time order, then the valid and test target (or -1)."""

    n_items: int
    train: list[np.ndarray]
    valid: np.ndarray
    test: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.train)

    def valid_cases(self) -> tuple[list[np.ndarray], np.ndarray]:
        """(history, target) for users with a valid item: history = train items."""
        users = np.flatnonzero(self.valid >= 0)
        return [self.train[u] for u in users], self.valid[users]

    def test_cases(self) -> tuple[list[np.ndarray], np.ndarray]:
        """(history, target) for users with a test item: history = train items + the valid item."""
        users = np.flatnonzero(self.test >= 0)
        hist = [np.append(self.train[u], self.valid[u]) if self.valid[u] >= 0 else self.train[u] for u in users]
        return hist, self.test[users]

    def digest(self) -> str:
        """Hash of everything training sees (train sequences, valid targets, catalog size)."""
        h = hashlib.sha256(f"n_items={self.n_items};users={self.n_users}".encode())
        for seq in self.train:
            h.update(np.asarray(seq, dtype=np.int64).tobytes())
            h.update(b"|")
        h.update(np.asarray(self.valid, dtype=np.int64).tobytes())
        return h.hexdigest()[:16]


def from_domain(domain: Domain) -> SplitSequences:
    """Build from a `models.domain.Domain` (interactions with a split column, positives only)."""
    n_users = int(domain.n_users) or int(domain.interactions["uid"].max()) + 1
    train = domain.sequences(("train",))
    train += [np.empty(0, dtype=np.int64)] * (n_users - len(train))
    valid = np.full(n_users, NO_ITEM, dtype=np.int64)
    test = np.full(n_users, NO_ITEM, dtype=np.int64)
    inter = domain.interactions
    for split, arr in (("valid", valid), ("test", test)):
        rows = inter[inter["split"] == split]
        arr[rows["uid"].to_numpy(dtype=np.int64)] = rows["iid"].to_numpy(dtype=np.int64)
    return SplitSequences(int(domain.n_items), [np.asarray(s, dtype=np.int64) for s in train], valid, test)


def from_user_sequences(seqs: Iterable[np.ndarray], n_items: int, min_len: int = 3) -> SplitSequences:
    """Leave-last-out over full sequences: last = test, one before = valid; shorter users all train."""
    train, valid, test = [], [], []
    for s in seqs:
        s = np.asarray(s, dtype=np.int64)
        if len(s) >= min_len:
            train.append(s[:-2])
            valid.append(s[-2])
            test.append(s[-1])
        else:
            train.append(s)
            valid.append(NO_ITEM)
            test.append(NO_ITEM)
    return SplitSequences(n_items, train, np.array(valid, dtype=np.int64), np.array(test, dtype=np.int64))


def read_user_lines(path: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """Read "user item item ..." lines (S3-Rec/ICLRec format) with items remapped to 0..N-1 by first sight.

    Returns the sequences and the original item tokens (index = iid).
    """
    index: dict[str, int] = {}
    seqs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            seqs.append(np.array([index.setdefault(t, len(index)) for t in parts[1:]], dtype=np.int64))
    return seqs, list(index)
