"""Short-term memory: a LangGraph checkpointer per process (SQLite file by default, Postgres by URL)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        from psycopg.rows import dict_row

        pg = Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        pg_saver = PostgresSaver(pg)
        pg_saver.setup()
        return pg_saver
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else memory_dir() / "threads.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def checkpoint_kind(url: str | None = None) -> str:
    """"memory", "postgres" or "sqlite", for the same URL forms as `open_checkpointer` (health pages, logs)."""
    url = url or os.environ.get("INTEREC_CHECKPOINT_URL") or ""
    if url in (":memory:", "memory"):
        return "memory"
    return "postgres" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


@asynccontextmanager
async def open_async_checkpointer(url: str | None = None) -> AsyncIterator[Any]:
    """The async twin of `open_checkpointer`, for servers: the sync SqliteSaver cannot serve `astream`.

    Same URL forms; the connection is closed when the context exits (a server's lifespan).
    """
    url = url or os.environ.get("INTEREC_CHECKPOINT_URL") or ""
    kind = checkpoint_kind(url)
    if kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    if kind == "postgres":
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as e:
            raise RuntimeError("Postgres checkpointer needs `pip install langgraph-checkpoint-postgres psycopg[binary]`") from e
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else memory_dir() / "threads.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        await saver.conn.execute("PRAGMA journal_mode=WAL")
        await saver.setup()
        yield saver
