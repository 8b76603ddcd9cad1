"""What tools may use: the domain and its models, loaded lazily once and shared by every turn.

Per-turn settings (mode, seed) differ between turns, so they live on a light ToolContext; the heavy
things (item vectors, the index, trained models) live in one `shared` dict that all contexts of an
agent point at, so no turn reloads them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.domain import Domain

_MISSING = object()
RECHECK_S = 30.0  # how often a context without a trained ranker looks again (SASRec may train in the background)


@dataclass
class ToolContext:
    domain: Domain
    mode: str = "accuracy"  # accuracy | diversity
    seed: int = 0
    use_models: bool = True  # False: never load trained rankers (fast tests)
    shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def _once(self, key: str, load: Callable[[], Any]) -> Any:
        value = self.shared.get(key, _MISSING)
        if value is _MISSING:
            lock = self.shared.setdefault("_lock", threading.RLock())
            with lock:
                value = self.shared.get(key, _MISSING)
                if value is _MISSING:
                    value = self.shared[key] = load()
        return value

    @property
    def n_items(self) -> int:
        return len(self.domain.titles)

    @property
    def item_vectors(self) -> np.ndarray | None:
        """Normalised item embeddings from the Chroma index (None when the domain has no index)."""
        return self._once("item_vectors", self._load_vectors)

    def _load_vectors(self) -> np.ndarray | None:
        index = self.index
        if index is None:
            return None
        got = index.collection.get(include=["embeddings"], limit=self.n_items + 1)
        if not got["ids"]:
            return None
        vecs = np.zeros((self.n_items, len(got["embeddings"][0])), dtype=np.float32)
        vecs[[int(i) for i in got["ids"]]] = np.asarray(got["embeddings"], dtype=np.float32)
        return vecs

    @property
    def index(self) -> Any:
        def load() -> Any:
            try:
                return self.domain.item_index()
            except Exception:  # noqa: BLE001 - no index built: similarity tools fall back to other signals
                return None

        return self._once("index", load)

    @property
    def ranker(self) -> Any:
        """The trained sequential ranker (SASRec) when one exists for this domain."""
        got = self._once("ranker", lambda: self._model("load_ranker"))
        if got is None and self.use_models:  # trained since? an open chat switches to it without a restart
            now = time.monotonic()
            last = self.shared.setdefault("_ranker_checked", now)
            if now - last >= RECHECK_S:
                self.shared["_ranker_checked"] = now
                got = self._model("load_ranker")
                if got is not None:
                    self.shared["ranker"] = got
        return got

    @property
    def pop_prior(self) -> float | None:
        """Popularity's weight beside the ranker, measured on this catalog (None: no ranker, use the default)."""
        ranker = self.ranker
        if ranker is None:
            return None

        def load() -> float | None:
            try:
                import models.training as training

                return training.load_pop_prior(self.domain, ranker)
            except Exception:  # noqa: BLE001 - not measurable: the default weight serves
                return None

        return self._once(f"pop_prior-{id(ranker)}", load)

    @property
    def itemcf(self) -> Any:
        return self._once("itemcf", lambda: self._model("load_itemcf"))

    def _model(self, loader: str) -> Any:
        if not self.use_models:
            return None
        try:
            import models.training as training

            return getattr(training, loader)(self.domain)
        except Exception:  # noqa: BLE001 - not trained yet: the tools fall back and say so
            return None

    @property
    def popularity(self) -> np.ndarray:
        return self.domain.popularity
