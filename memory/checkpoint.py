"""Short-term memory: a LangGraph checkpointer per process (SQLite file by default, Postgres by URL)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from memory.paths import memory_dir


def open_checkpointer(url: str | None = None) -> Any:
    """`url`: None -> SQLite in the memory dir; "sqlite:///path"; "postgresql://..."; ":memory:"."""
    url = url or os.environ.get("INTEREC_CHECKPOINT_URL") or ""
    if url in (":memory:", "memory"):
        from langgraph.checkpoint.memory import InMemorySaver

        return InMemorySaver()
    if url.startswith(("postgres://", "postgresql://")):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg import Connection
        except ImportError as e:
            raise RuntimeError("Postgres checkpointer needs `pip install langgraph-checkpoint-postgres psycopg[binary]`") from e
        conn = Connection.connect(url, autocommit=True, prepare_threshold=0)
        saver = PostgresSaver(conn)
        saver.setup()
        return saver
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else memory_dir() / "threads.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver
