"""`python app.py serve` as a real process with two uvicorn workers, and the langgraph.json graph factory."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import MOVIELENS, ROOT
from tests.fakes import ScriptedLLM
from tests.integration.serving_support import free_port


def test_langgraph_json_factory(ml_domain_indexed, artifacts_root: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    conf = json.loads((ROOT / "langgraph.json").read_text())
    path, _, attr = conf["graphs"]["interec"].partition(":")
    assert (ROOT / path).is_file() and attr == "make_graph"
    monkeypatch.setenv("INTEREC_DOMAIN", str(MOVIELENS))
    monkeypatch.setenv("INTEREC_ARTIFACTS", str(artifacts_root))
    monkeypatch.setenv("INTEREC_MEMORY_DIR", str(tmp_path))
    monkeypatch.setattr("models.llm_factory.get_chat_model", lambda: ScriptedLLM())
    from serving import graph_factory

    graph_factory._deps.cache_clear()
    g = asyncio.run(graph_factory.make_graph({"configurable": {}}))
    assert g.checkpointer is None and g.name == "interec"  # the LangGraph server brings its own
    out = g.invoke({"messages": [("human", "hello")]}, {"configurable": {"user_id": "lg", "thread_id": "x"}})
    assert out["messages"][-1].content and graph_factory.compiled_graph() is not None
    graph_factory._deps.cache_clear()


def test_serve_command_with_two_workers(ml_domain_indexed, artifacts_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, "INTEREC_MEMORY_DIR": str(tmp_path / "mem"), "INTEREC_ARTIFACTS": str(artifacts_root),
           "INTEREC_CHECKPOINT_URL": f"sqlite:///{tmp_path / 'threads.sqlite'}", "INTEREC_API_KEYS": "cli-key:cliuser",
           # a dead LLM endpoint: the turn must still finish with an honest reply, not an HTTP error
           "INTEREC_LLM_PROVIDER": "openai", "INTEREC_LLM_API_KEY": "none", "INTEREC_LLM_MAX_RETRIES": "0",
           "INTEREC_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "INTEREC_LLM_TIMEOUT": "2",
           "LANGSMITH_TRACING": "false", "INTEREC_SERVE_THREADS": "4", "INTEREC_WARMUP": "false"}
    proc = subprocess.Popen([sys.executable, "app.py", "serve", "--domain", str(MOVIELENS), "--port", str(port),
                             "--workers", "2", "--no-build", "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, pids = time.monotonic() + 240, set()
        while len(pids) < 2 and time.monotonic() < deadline:  # each worker answers once it has started
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with httpx.Client(timeout=5) as c:  # a new connection each time, so both workers get a turn
                    h = c.get(base + "/health").json()
                    if h["status"] == "ok":
                        pids.add(h["worker"])
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert pids, "the server did not start"
        key = {"X-API-Key": "cli-key"}
        assert httpx.post(base + "/chat", json={"message": "hi"}, timeout=30).status_code == 401
        r = httpx.post(base + "/chat", json={"message": "a comedy please", "thread_id": "c1"}, headers=key, timeout=60)
        assert r.status_code == 200
        assert "could not" in r.json()["reply"].lower() or "did not answer" in r.json()["reply"].lower()
        for _ in range(6):  # any worker can continue the thread: state lives in the shared checkpointer
            hist = httpx.get(base + "/threads/c1", headers=key, timeout=30).json()
            assert [m["role"] for m in hist["messages"]] == ["user", "assistant"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
