"""Tiny synthetic catalogs for the recommender-model tests (no files, no trained weights)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

GENRES = ["Comedy", "Drama", "Horror", "Action", "Romance", "Sci-Fi"]


def toy_items(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        g = rng.choice(GENRES, size=int(rng.integers(1, 4)), replace=False)
        tags = ", ".join(rng.choice(["funny", "dark", "space", "love story", "zombies", "heist"], size=2, replace=False))
        rows.append({"iid": i, "id": str(100 + i), "title": f"Movie Number {i} ({1970 + i})",
                     "genres": "|".join(g), "year": float(1970 + i), "tags": tags, "popularity": 0})
    return pd.DataFrame(rows)


def toy_sequences(n_users: int = 60, n_items: int = 40, seed: int = 0) -> list[np.ndarray]:
    """Users walk item chains i -> i+1 -> i+2 ..., so next-item structure is learnable and co-occurrence is local."""
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n_users):
        start = int(rng.integers(0, n_items - 8))
        seqs.append(np.arange(start, start + int(rng.integers(4, 9)), dtype=np.int64))
    return seqs


def _items_config() -> Any:
    """Same shape as models.config.ItemsConfig for the columns of toy_items()."""
    return SimpleNamespace(lists={"genres": "|"}, numbers=("year",), derive=(), dates=(), text=(),
                           joins=(SimpleNamespace(name="tags"),), attribute_columns=["genres", "year", "tags"])


@dataclass
class ToyConfig:
    item_word: str = "movie"
    name: str = "toy"
    items: Any = field(default_factory=_items_config)

    def describe(self, col: str) -> str:
        return col


class ToyDomain:
    """Duck-typed stand-in for models.domain.Domain with the attributes the model code reads."""

    def __init__(self, artifacts: Path, n_items: int = 40, n_users: int = 60, seed: int = 0):
        self.items = toy_items(n_items, seed)
        self.config = ToyConfig()
        self.name = "toy"
        self.artifacts = Path(artifacts)
        rows = []
        for u, seq in enumerate(toy_sequences(n_users, n_items, seed)):
            for t, iid in enumerate(seq):
                split = "train"
                if len(seq) >= 3 and t == len(seq) - 1:
                    split = "test"
                elif len(seq) >= 3 and t == len(seq) - 2:
                    split = "valid"
                rows.append({"user": str(u), "uid": u, "iid": int(iid), "ts": float(t), "rating": 5.0,
                             "positive": True, "split": split})
        self.interactions = pd.DataFrame(rows)
        self.n_items = n_items
        self.n_users = n_users

    def item_text(self, iid: int) -> str:
        r = self.items.iloc[int(iid)]
        return f"{r['title']}. genres: {r['genres'].replace('|', ', ')}. year: {int(r['year'])}. tags: {r['tags']}"

    def sequences(self, splits: tuple[str, ...] = ("train",)) -> list[np.ndarray]:
        df = self.interactions[self.interactions["split"].isin(splits)]
        out = [np.empty(0, dtype=np.int64)] * self.n_users
        for uid, s in df.groupby("uid")["iid"]:
            out[int(uid)] = s.to_numpy(dtype=np.int64)
        return out
