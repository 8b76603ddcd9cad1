"""Long-term memory: per-user profile facets (like / dislike / expect) in a Chroma collection.

Every read and write is filtered by user_id (and domain), so one user's profile never reaches another.
A value moved to "like" leaves "dislike" and vice versa (mutual exclusion, as in RecAI).
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from models.chroma import chroma_client
from models.embedder import Embedder

FACETS = ("like", "dislike", "expect")
EXCLUSIVE = {"like": "dislike", "dislike": "like"}
MAX_PER_FACET = 30
COLLECTION = "interec_profiles"


def _doc_id(user_id: str, domain: str, facet: str, value: str) -> str:
    digest = hashlib.sha256(f"{user_id}\x00{domain}\x00{facet}\x00{value.lower()}".encode()).hexdigest()[:32]
    return f"p-{digest}"


class ProfileStore:
    def __init__(self, embedder: Embedder, path: Path | None = None, client: Any = None):
        self.embedder = embedder
        self.client = client or chroma_client(path)
        self.col = self.client.get_or_create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
        self._lock = threading.Lock()

    def _where(self, user_id: str, domain: str, facet: str | None = None) -> dict[str, Any]:
        conds: list[dict[str, Any]] = [{"user_id": user_id}, {"domain": domain}]
        if facet:
            conds.append({"facet": facet})
        return {"$and": conds}

    def get(self, user_id: str, domain: str) -> dict[str, list[str]]:
        got = self.col.get(where=self._where(user_id, domain), include=["metadatas"])
        rows = sorted((m for m in got["metadatas"] or []), key=lambda m: m.get("ts", 0))
        out: dict[str, list[str]] = {f: [] for f in FACETS}
        for m in rows:
            if m.get("user_id") == user_id and m.get("facet") in out:  # belt and braces on the filter
                out[m["facet"]].append(str(m["value"]))
        return {f: v[-MAX_PER_FACET:] for f, v in out.items()}

    def update(self, user_id: str, domain: str, **facets: list[str]) -> dict[str, list[str]]:
        with self._lock:
            for facet, values in facets.items():
                if facet not in FACETS:
                    raise ValueError(f"unknown profile facet '{facet}'")
                values = [v.strip()[:120] for v in values if v and v.strip()]
                if not values:
                    continue
                other = EXCLUSIVE.get(facet)
                if other:
                    self.col.delete(ids=[_doc_id(user_id, domain, other, v) for v in values])
                vecs = self.embedder.embed(values)
                now = time.time()
                self.col.upsert(
                    ids=[_doc_id(user_id, domain, facet, v) for v in values], embeddings=vecs,
                    documents=[f"{facet}: {v}" for v in values],
                    metadatas=[{"user_id": user_id, "domain": domain, "facet": facet, "value": v, "ts": now + i * 1e-6}
                               for i, v in enumerate(values)])
        return self.get(user_id, domain)

    def clear(self, user_id: str, domain: str) -> None:
        with self._lock:
            self.col.delete(where=self._where(user_id, domain))
