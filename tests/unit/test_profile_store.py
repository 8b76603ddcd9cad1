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



class _Flaky:
    """A collection that raises `error` on every call while `down` is set: a refused or unanswered store."""

    def __init__(self, col: object, error: Exception):
        self._col, self.error, self.down = col, error, True

    def __getattr__(self, name: str) -> object:
        if self.down:
            raise self.error
        return getattr(self._col, name)


def test_a_refused_write_is_dropped_not_held_so_later_writes_go_through(tmp_path: Path) -> None:
    from chromadb.errors import DuplicateIDError

    store = ProfileStore(_HashEmbedder(), path=tmp_path / "chroma")  # type: ignore[arg-type]
    flaky = _Flaky(store.col, DuplicateIDError("repeated id"))
    store.col = flaky
    store.update("ann", "music", like=["Jazz"])
    assert store.pending() == 0
    flaky.down = False
    assert store.update("ann", "music", like=["Rock"])["like"] == ["Rock"]


def test_an_unanswered_write_is_held_and_written_once_the_store_answers(tmp_path: Path) -> None:
    import httpx

    store = ProfileStore(_HashEmbedder(), path=tmp_path / "chroma")  # type: ignore[arg-type]
    flaky = _Flaky(store.col, httpx.ConnectError("connection refused"))
    store.col = flaky
    assert store.update("ann", "music", like=["Jazz"])["like"] == ["Jazz"]  # answered from the held update
    assert store.pending() == 1
    flaky.down = False
    assert store.update("ann", "music", like=["Rock"])["like"] == ["Jazz", "Rock"]
    assert store.pending() == 0
