"""Chroma client factory: embedded PersistentClient by default, a `chroma run` server when configured.

Chroma allows one client per path per process, so clients are cached here and opened in one place.
Set INTEREC_CHROMA_HOST (and INTEREC_CHROMA_PORT, default 8000) to use a server instead.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def chroma_client(path: Path | str | None = None, host: str | None = None, port: int | None = None) -> Any:
    import chromadb
    from chromadb.config import Settings

    host = host or os.environ.get("INTEREC_CHROMA_HOST") or None
    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    port_no = int(port or os.environ.get("INTEREC_CHROMA_PORT", "8000"))
    if host:
        key = f"http://{host}:{port_no}"
    else:
        if path is None:
            raise ValueError("an embedded Chroma client needs a path")
        key = str(Path(path).resolve())
    with _lock:
        if key not in _clients:
            if host:
                _clients[key] = chromadb.HttpClient(host=host, port=port_no, settings=settings)
            else:
                Path(key).mkdir(parents=True, exist_ok=True)
                _clients[key] = chromadb.PersistentClient(path=key, settings=settings)
        return _clients[key]


def add_in_batches(collection: Any, ids: list[str], embeddings: Any, metadatas: list[dict[str, Any]],
                   documents: list[str] | None = None, batch: int | None = None) -> None:
    """Chroma rejects very large adds; chunk by the client's own maximum."""
    size = batch or 4000
    for start in range(0, len(ids), size):
        end = start + size
        collection.upsert(ids=ids[start:end], embeddings=embeddings[start:end], metadatas=metadatas[start:end],
                          documents=documents[start:end] if documents is not None else None)
