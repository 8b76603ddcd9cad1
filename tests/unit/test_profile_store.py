"""The per-user profile in an embedded Chroma: a value said twice in different case is one fact, and such an
update is written at once instead of being held (a held write that can never succeed blocked every later one)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memory.profile import ProfileStore


class _HashEmbedder:
    """Deterministic 8-d vectors: the profile store only needs an embedding per value here."""

    def embed(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        rows = [np.random.default_rng(abs(hash(t.lower())) % 2**32).standard_normal(8) for t in texts]
        return np.asarray(rows, dtype=np.float32)


def test_a_value_repeated_in_another_case_is_stored_once_and_nothing_is_held(tmp_path: Path) -> None:
    store = ProfileStore(_HashEmbedder(), path=tmp_path / "chroma")  # type: ignore[arg-type]
    got = store.update("ann", "music", like=["Comedy", "comedy", "Jazz"], dislike=["jazz "])
    assert store.pending() == 0
    assert got["like"] == ["Comedy"] and got["dislike"] == ["jazz"]
    store.update("bob", "music", like=["Rock"])
    assert store.pending() == 0
    fresh = ProfileStore(_HashEmbedder(), path=tmp_path / "chroma")  # type: ignore[arg-type]
    assert fresh.get("bob", "music")["like"] == ["Rock"]
    assert fresh.get("ann", "music") == {"like": ["Comedy"], "dislike": ["jazz"], "expect": []}
