"""Dense item index in Chroma: item texts embedded once, queried by free text or restricted to candidates.

Incremental: every row stores a hash of its text (and of the encoder) in its metadata. A rebuild embeds
only rows whose hash is new, re-uses the stored vector of a row whose text merely moved to another id,
and deletes ids past the end of the catalog, so adding 100 items to a 30k catalog embeds 100 texts.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from models.chroma import add_in_batches
from models.embedder import Embedder

INDEX_FORMAT = "2"  # metadata carries "h" (row hash); format 1 collections are rebuilt from scratch
PAGE = 20000  # rows per Chroma get(): bounded memory on million-item catalogs


def collection_name(domain: str) -> str:
    return f"interec_items_{domain}"[:63]


def encoder_key(embedder: Embedder) -> str:
    return f"{embedder.path}|{embedder.backend}"


def row_hash(text: str, title: str, enc_key: str) -> str:
    return hashlib.blake2b(f"{enc_key}\x00{title[:200]}\x00{text}".encode(), digest_size=12).hexdigest()


@dataclass
class IndexUpdate:
    """What a (re)build did; `embedded` is the expensive part."""

    total: int
    embedded: int = 0
    reused: int = 0  # same text under another id: vector copied, not re-embedded
    unchanged: int = 0
    deleted: int = 0
    full: bool = False  # the collection was (re)created
    seconds_embedding: float = 0.0
    notes: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        return {"indexed": self.total, "embedded": self.embedded, "reused_vectors": self.reused,
                "unchanged": self.unchanged, "deleted": self.deleted, "full_rebuild": self.full,
                "embed_seconds": round(self.seconds_embedding, 2),
                "items_per_s": round(self.embedded / self.seconds_embedding, 1) if self.seconds_embedding else None}


def _existing(col: Any) -> dict[str, str]:
    """id -> stored row hash, read page by page."""
    out: dict[str, str] = {}
    total = col.count()
    for off in range(0, total, PAGE):
        got = col.get(include=["metadatas"], limit=PAGE, offset=off)
        for i, m in zip(got["ids"], got["metadatas"] or [], strict=False):
            out[i] = str((m or {}).get("h", ""))
    return out


def _open(client: Any, name: str, embedder: Embedder, force: bool) -> tuple[Any, bool]:
    meta = {"hnsw:space": "cosine", "encoder": embedder.path, "backend": embedder.backend, "format": INDEX_FORMAT}
    col = None
    if not force:
        with contextlib.suppress(Exception):  # absent collection (error type differs by version)
            col = client.get_collection(name)
    if col is not None:
        old = col.metadata or {}
        if all(str(old.get(k)) == str(v) for k, v in meta.items() if k != "hnsw:space"):
            return col, False
    with contextlib.suppress(Exception):
        client.delete_collection(name)
    return client.create_collection(name, metadata=meta), True


def build_item_index(client: Any, domain: str, texts: list[str], titles: list[str], embedder: Embedder,
                     progress: bool = True, batch: int = 2048, force: bool = False) -> IndexUpdate:
    """Bring the collection in line with `texts` (id = row number), embedding only what changed."""
    import time

    name = collection_name(domain)
    col, created = _open(client, name, embedder, force)
    key = encoder_key(embedder)
    hashes = [row_hash(t, ti, key) for t, ti in zip(texts, titles, strict=True)]
    have = {} if created else _existing(col)
    upd = IndexUpdate(total=len(texts), full=created)
    stale_ids = [i for i in have if not i.isdigit() or int(i) >= len(texts)]
    if stale_ids:
        for lo in range(0, len(stale_ids), 4000):
            col.delete(ids=stale_ids[lo:lo + 4000])
        upd.deleted = len(stale_ids)
    todo = [i for i, h in enumerate(hashes) if have.get(str(i)) != h]
    upd.unchanged = len(texts) - len(todo)
    # rows whose text already has a vector under another id (rows moved in the item file): copy it
    by_hash = {h: i for i, h in have.items() if h}
    moved = [i for i in todo if hashes[i] in by_hash]
    if moved:
        src = [by_hash[hashes[i]] for i in moved]
        got: dict[str, Any] = {}
        for lo in range(0, len(src), PAGE):
            g = col.get(ids=src[lo:lo + PAGE], include=["embeddings"])
            got.update(zip(g["ids"], g["embeddings"], strict=False))
        vec_ids = [i for i, s in zip(moved, src, strict=True) if s in got]
        if vec_ids:
            vecs = np.asarray([got[by_hash[hashes[i]]] for i in vec_ids], dtype=np.float32)
            add_in_batches(col, [str(i) for i in vec_ids], vecs, _metas(vec_ids, titles, hashes))
        upd.reused = len(vec_ids)
        done = set(vec_ids)
        todo = [i for i in todo if i not in done]
    upd.embedded = len(todo)
    if todo:
        # length-sorted overall (not only inside a batch): fewer pad tokens, the biggest win on mixed rows
        todo.sort(key=lambda i: len(texts[i]))
        bar = tqdm(total=len(todo), desc="embedding items", unit="item", disable=not progress, smoothing=0.1)
        t = time.perf_counter()
        for lo in range(0, len(todo), batch):
            ids = todo[lo:lo + batch]
            vecs = embedder.embed([texts[i] for i in ids], batch_size=64)
            add_in_batches(col, [str(i) for i in ids], vecs, _metas(ids, titles, hashes))
            bar.update(len(ids))
        upd.seconds_embedding = time.perf_counter() - t
        bar.close()
    return upd


def _metas(ids: list[int], titles: list[str], hashes: list[str]) -> list[dict[str, Any]]:
    return [{"iid": i, "title": titles[i][:200], "h": hashes[i]} for i in ids]


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
