"""What tools may use: the domain and its models, loaded lazily and shared across turns."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from models.domain import Domain


@dataclass
class ToolContext:
    domain: Domain
    mode: str = "accuracy"  # accuracy | diversity
    seed: int = 0
    use_models: bool = True  # False: never load trained rankers (fast tests)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.domain.titles)

    @cached_property
    def item_vectors(self) -> np.ndarray | None:
        """Normalised item embeddings from the Chroma index (None when the domain has no index)."""
        try:
            index = self.domain.item_index()
        except Exception:  # noqa: BLE001 - no index built: similarity tools fall back to other signals
            return None
        got = index.collection.get(include=["embeddings"], limit=self.n_items + 1)
        vecs = np.zeros((self.n_items, len(got["embeddings"][0])), dtype=np.float32)
        vecs[[int(i) for i in got["ids"]]] = np.asarray(got["embeddings"], dtype=np.float32)
        return vecs

    @cached_property
    def index(self) -> Any:
        try:
            return self.domain.item_index()
        except Exception:  # noqa: BLE001
            return None

    @cached_property
    def ranker(self) -> Any:
        """The trained sequential ranker (SASRec) when one exists for this domain."""
        if not self.use_models:
            return None
        try:
            from models.training import load_ranker

            return load_ranker(self.domain)
        except Exception:  # noqa: BLE001 - not trained yet: preference ranking falls back
            return None

    @cached_property
    def itemcf(self) -> Any:
        if not self.use_models:
            return None
        try:
            from models.training import load_itemcf

            return load_itemcf(self.domain)
        except Exception:  # noqa: BLE001
            return None

    @property
    def popularity(self) -> np.ndarray:
        return self.domain.popularity
