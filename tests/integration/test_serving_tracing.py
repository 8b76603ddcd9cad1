"""LangSmith tracing against a loopback fake: node, LLM and tool spans, with user/thread/domain metadata."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.fake_langsmith import FakeLangSmith
from tests.integration.serving_support import (
    COMEDY_PLAN,
    StreamingScriptedLLM,
    client_for,
    make_app,
    shared_deps,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_sse")]


async def test_runs_carry_spans_and_metadata(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = StreamingScriptedLLM(plans=[COMEDY_PLAN, COMEDY_PLAN])
    with FakeLangSmith() as fake:
        app = make_app(shared_deps(ml_domain_indexed, tmp_path), llm, api_keys={"k1": "tracy"}, tracing=True,
                       langsmith_endpoint=fake.url, langsmith_api_key="ls-fake", langsmith_project="interec-test")
        async with client_for(app, **{"X-API-Key": "k1"}) as c:
            assert (await c.get("/health")).json()["tracing"] is True
            r = await c.post("/chat", json={"message": "a comedy please", "thread_id": "tr1", "mode": "diversity"})
            assert r.status_code == 200
            r = await c.post("/agent/invoke", json={"input": {"messages": [{"type": "human", "content": "more"}]}},
                             headers={"X-Thread-Id": "tr2"})
            assert r.status_code == 200
            started = time.monotonic()
        shutdown_s = time.monotonic() - started  # lifespan exit flushes with a time limit

        assert shutdown_s < 5, shutdown_s
        assert any(p.endswith("/runs/multipart") or p.endswith("/runs/batch") for _, p in fake.requests)
        runs = fake.runs
        roots = [r for r in runs.values() if not r.get("parent_run_id")]
        assert sorted(r["name"] for r in roots) == ["/agent", "interec"]
        for root in roots:
            meta = root["extra"]["metadata"]
            assert meta["user_id"] == "tracy" and meta["domain"] == "movielens"
            assert meta["thread_id"] in ("tracy/tr1", "tracy/tr2")
            assert {"interec", "domain:movielens", "user:tracy"} <= set(root.get("tags", []))
            assert root.get("session_name") == "interec-test" or "session_id" in root
        chat_root = next(r for r in roots if r["name"] == "interec")
        assert chat_root["extra"]["metadata"]["mode"] == "diversity"

        names = {r["name"] for r in runs.values()}
        assert {"load_memory", "plan", "execute", "reflect", "respond", "save_memory"} <= names
        assert {"plan_llm", "reply_llm", "tool:match", "tool:rank", "tool:map"} <= names
        for tool in fake.by_name("tool:match"):
            assert tool["run_type"] == "tool"
            assert runs[tool["parent_run_id"]]["name"] == "execute"
            assert "Comedy" in str(tool.get("inputs"))
            assert tool.get("outputs")
        assert all(r["run_type"] == "llm" for r in fake.by_name("plan_llm"))
        assert len(fake.by_name("execute")) == 2 and len(fake.by_name("tool:rank")) == 2
