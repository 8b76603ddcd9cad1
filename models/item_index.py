"""Dense item index in Chroma: item texts embedded once, queried by free text or restricted to candidates."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from models.chroma import add_in_batches
from models.embedder import Embedder


def collection_name(domain: str) -> str:
    return f"interec_items_{domain}"[:63]


def build_item_index(client: Any, domain: str, texts: list[str], titles: list[str], embedder: Embedder,
                     progress: bool = True, batch: int = 1024) -> int:
    """(Re)create the collection; returns the number of items indexed."""
    name = collection_name(domain)
    with contextlib.suppress(Exception):  # absent collection: nothing to delete (error type differs by version)
        client.delete_collection(name)
    col = client.create_collection(name, metadata={"hnsw:space": "cosine", "encoder": embedder.path})
    bar = tqdm(total=len(texts), desc="embedding items", unit="item", disable=not progress)
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        vecs = embedder.embed(chunk, batch_size=64)
        ids = [str(i) for i in range(start, start + len(chunk))]
        metas: list[dict[str, Any]] = [{"iid": i, "title": titles[i][:200]} for i in range(start, start + len(chunk))]
        add_in_batches(col, ids, vecs, metas)
        bar.update(len(chunk))
    bar.close()
    return len(texts)


@dataclass
class ItemIndex:
    collection: Any
    embedder: Embedder

    def search(self, text: str, k: int = 50, among: list[int] | None = None) -> list[tuple[int, float]]:
        """(iid, similarity) best first; `among` restricts the search to those items."""
        vec = self.embedder.embed([text])
        return self.search_vector(vec[0], k, among)

    def search_vector(self, vec: np.ndarray, k: int = 50, among: list[int] | None = None) -> list[tuple[int, float]]:
        where = None
        if among is not None:
            if not among:
                return []
            where = {"iid": {"$in": [int(i) for i in among]}}
            k = min(k, len(among))
        n = self.collection.count()
        res = self.collection.query(query_embeddings=[vec.tolist()], n_results=max(1, min(k, n)), where=where,
                                    include=["distances"])
        ids = res["ids"][0]
        dists = res["distances"][0]
        return [(int(i), 1.0 - float(d)) for i, d in zip(ids, dists, strict=False)]
