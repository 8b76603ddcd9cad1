"""Dynamic demonstrations: seed {request, plan} pairs in Chroma, the most similar few chosen per turn.

Demo files use placeholders ({item}, {items}, {listcol}, {ycol}) so one set serves any domain; a demo
whose `requires` the domain cannot meet (no year column, no list column) is left out.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import resources
from typing import Any

from models.chroma import chroma_client
from models.domain import Domain
from models.embedder import Embedder

log = logging.getLogger("interec.memory")


def _fill(obj: Any, values: dict[str, str]) -> Any:
    if isinstance(obj, str):
        for k, v in values.items():
            obj = obj.replace("{" + k + "}", v)
        return obj
    if isinstance(obj, list):
        return [_fill(x, values) for x in obj]
    if isinstance(obj, dict):
        return {k: _fill(v, values) for k, v in obj.items()}
    return obj


def load_demos(domain: Domain, name: str = "core") -> list[dict[str, Any]]:
    text = resources.files("prompts").joinpath("demos", f"{name}.jsonl").read_text(encoding="utf-8")
    word = domain.config.item_word
    list_cols = [c.name for c in domain.schema.columns if c.kind == "list"]
    ycol = domain.schema.year_column()
    values = {"item": word, "items": word + "s", "listcol": list_cols[0] if list_cols else "", "ycol": ycol or ""}
    have = {"year": bool(ycol), "list": bool(list_cols)}
    demos = []
    for line in text.splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if all(have.get(r, False) for r in d.get("requires", [])):
            demos.append({"request": _fill(d["request"], values), "plan": _fill(d["plan"], values)})
    return demos


class DemoStore:
    def __init__(self, domain: Domain, embedder: Embedder, client: Any = None):
        self.demos = load_demos(domain)
        self.embedder = embedder
        client = client or chroma_client(domain.artifacts / "chroma")
        digest = hashlib.sha256(json.dumps(self.demos, sort_keys=True).encode()).hexdigest()[:16]
        name = f"interec_demos_{domain.name}"[:63]
        col = client.get_or_create_collection(name, metadata={"hnsw:space": "cosine"})
        if (col.metadata or {}).get("digest") != digest or col.count() != len(self.demos):
            client.delete_collection(name)
            col = client.create_collection(name, metadata={"hnsw:space": "cosine", "digest": digest})
            vecs = embedder.embed([d["request"] for d in self.demos])
            col.add(ids=[str(i) for i in range(len(self.demos))], embeddings=vecs,
                    documents=[d["request"] for d in self.demos])
        self.col = col

    def select(self, message: str, k: int = 3) -> list[dict[str, Any]]:
        if not self.demos or not message.strip():
            return []
        try:
            res = self.col.query(query_embeddings=self.embedder.embed([message]).tolist(), n_results=min(k, len(self.demos)))
        except Exception as e:  # noqa: BLE001 - a Chroma server down: plan without examples rather than fail
            log.warning("demonstration store unavailable, planning without examples: %s", e)
            return []
        return [self.demos[int(i)] for i in res["ids"][0]]
