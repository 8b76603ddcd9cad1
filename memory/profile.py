"""Long-term memory: per-user profile facets (like / dislike / expect) in a Chroma collection.

Every read and write is filtered by user_id (and domain), so one user's profile never reaches another.
A value moved to "like" leaves "dislike" and vice versa (mutual exclusion, as in RecAI).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from models.chroma import chroma_client
from models.embedder import Embedder

FACETS = ("like", "dislike", "expect")
EXCLUSIVE = {"like": "dislike", "dislike": "like"}
MAX_PER_FACET = 30
COLLECTION = "interec_profiles"
log = logging.getLogger("interec.memory")


def _doc_id(user_id: str, domain: str, facet: str, value: str) -> str:
    digest = hashlib.sha256(f"{user_id}\x00{domain}\x00{facet}\x00{value.lower()}".encode()).hexdigest()[:32]
    return f"p-{digest}"


def _is_outage(e: BaseException) -> bool:
    """Errors worth holding an update for: the store did not answer. Anything else (a refused id, a bad
    value) would fail again on every retry, so holding it would block every later write."""
    import httpx  # chromadb's HTTP client raises httpx transport errors when the server is down
    from chromadb.errors import InternalError, RateLimitError

    return isinstance(e, (httpx.TransportError, ConnectionError, TimeoutError, InternalError, RateLimitError))


def _unique(values: Iterable[str]) -> list[str]:
    """First spelling of each value: ids ignore case, and Chroma refuses a write that repeats an id (a
    refused write stayed pending and failed every later read and write of every user)."""
    seen: dict[str, str] = {}
    for v in values:
        seen.setdefault(v.lower(), v)
    return list(seen.values())


class ProfileStore:
    def __init__(self, embedder: Embedder, path: Path | None = None, client: Any = None):
        self.embedder = embedder
        self.client = client or chroma_client(path)
        self.col = self.client.get_or_create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
        self._lock = threading.Lock()
        # updates the store did not answer (server down): kept in order, written on the next success
        self._pending: list[tuple[str, str, dict[str, list[str]]]] = []

    def pending(self) -> int:
        return len(self._pending)

    def _where(self, user_id: str, domain: str, facet: str | None = None) -> dict[str, Any]:
        conds: list[dict[str, Any]] = [{"user_id": user_id}, {"domain": domain}]
        if facet:
            conds.append({"facet": facet})
        return {"$and": conds}

    def get(self, user_id: str, domain: str) -> dict[str, list[str]]:
        """The user's facets; with the store unreachable, what is known in this process (a turn goes on)."""
        try:
            self._flush()
            got = self.col.get(where=self._where(user_id, domain), include=["metadatas"])
        except Exception as e:  # noqa: BLE001 - a Chroma server down must not fail the turn
            log.warning("profile store unavailable, answering without the stored profile: %s", e)
            return self._overlay({f: [] for f in FACETS}, user_id, domain)
        rows = sorted((m for m in got["metadatas"] or []), key=lambda m: m.get("ts", 0))
        out: dict[str, list[str]] = {f: [] for f in FACETS}
        for m in rows:
            if m.get("user_id") == user_id and m.get("facet") in out:  # belt and braces on the filter
                out[m["facet"]].append(str(m["value"]))
        return {f: v[-MAX_PER_FACET:] for f, v in out.items()}

    def _overlay(self, out: dict[str, list[str]], user_id: str, domain: str) -> dict[str, list[str]]:
        for uid, dom, facets in self._pending:
            if (uid, dom) == (user_id, domain):
                for facet, values in facets.items():
                    other = EXCLUSIVE.get(facet)
                    for v in values:
                        if other and v in out[other]:
                            out[other].remove(v)
                        if v not in out[facet]:
                            out[facet].append(v)
        return out

    def _flush(self) -> None:
        with self._lock:
            while self._pending:
                uid, dom, facets = self._pending[0]
                try:
                    self._write(uid, dom, facets)
                except Exception as e:
                    if _is_outage(e):
                        raise
                    log.error("profile update for %s dropped, the store refused it: %s", uid, e)
                self._pending.pop(0)

    def update(self, user_id: str, domain: str, **facets: list[str]) -> dict[str, list[str]]:
        for facet in facets:
            if facet not in FACETS:
                raise ValueError(f"unknown profile facet '{facet}'")
        clean = {f: _unique(v.strip()[:120] for v in values if v and v.strip()) for f, values in facets.items()}
        clean = {f: v for f, v in clean.items() if v}
        with self._lock:  # queued behind any held update, so writes keep their order
            self._pending.append((user_id, domain, clean))
        try:
            self._flush()  # a refused write is dropped there; only an outage comes back
        except Exception as e:  # noqa: BLE001 - an outage is held and written once the store answers again
            log.warning("profile store unavailable, update held for later: %s", e)
        return self.get(user_id, domain)

    def _write(self, user_id: str, domain: str, facets: dict[str, list[str]]) -> None:
        for facet, values in facets.items():
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

    def clear(self, user_id: str, domain: str) -> None:
        with self._lock:
            self.col.delete(where=self._where(user_id, domain))
