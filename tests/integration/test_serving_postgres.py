"""Conversation checkpoints in a real PostgreSQL (started by the test): a thread outlives the server process
state, and the sync opener the CLI uses works on the same URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from graph.agent import Agent
from graph.builder import build_graph
from graph.deps import AgentDeps
from memory.checkpoint import open_checkpointer
from tests.integration.pg_cluster import TempCluster, skip_reason
from tests.integration.serving_support import (
    COMEDY_PLAN,
    StreamingScriptedLLM,
    client_for,
    make_app,
    shared_deps,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_sse")]


@pytest.fixture(scope="module")
def pg() -> Iterator[TempCluster]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with TempCluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def deps(ml_domain_indexed, tmp_path_factory: pytest.TempPathFactory) -> AgentDeps:  # type: ignore[no-untyped-def]
    return shared_deps(ml_domain_indexed, tmp_path_factory.mktemp("serving-pg"))


async def test_threads_persist_in_postgres_across_app_restarts(pg: TempCluster, deps: AgentDeps) -> None:
    llm = StreamingScriptedLLM(plans=[COMEDY_PLAN] * 3)
    async with client_for(make_app(deps, llm, checkpoint_url=pg.url)) as c:
        assert (await c.get("/health")).json()["checkpointer"] == "postgres"
        for text in ("a comedy please", "another comedy"):
            assert (await c.post("/chat", json={"message": text, "thread_id": "pg1"})).status_code == 200
        r = await c.post("/chat/stream", json={"message": "and one more", "thread_id": "pg2"})
        assert r.status_code == 200 and "event: final" in r.text

    async with client_for(make_app(deps, llm, checkpoint_url=pg.url)) as c:  # a new process would do the same
        hist = (await c.get("/threads/pg1")).json()["messages"]
        assert [m["text"] for m in hist if m["role"] == "user"] == ["a comedy please", "another comedy"]
        assert len(hist) == 4
        assert [m["role"] for m in (await c.get("/threads/pg2")).json()["messages"]] == ["user", "assistant"]


def test_sync_postgres_checkpointer(pg: TempCluster, deps: AgentDeps, tmp_path: Path) -> None:
    deps.llm = StreamingScriptedLLM(plans=[COMEDY_PLAN])
    saver = open_checkpointer(pg.url)
    try:
        agent = Agent(deps, build_graph(deps, saver))
        st = agent.ask("a comedy please", "sync-1", "pat")
        assert len(st["items"]) == 5
        again = agent.graph.get_state(agent.config("sync-1", "pat")).values
        assert isinstance(again["messages"][0], HumanMessage) and len(again["messages"]) == 2
    finally:
        saver.conn.close()
