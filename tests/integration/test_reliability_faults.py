"""Faults: the LLM endpoint down, slow, or answering garbage; the Chroma server down. Each faulty turn
gets a clear answer (never an exception or a 5xx), and afterwards the conversation goes on with its whole
history. The SIGKILL test is in test_reliability_kill.py."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from graph.agent import Agent, make_deps
from graph.builder import build_graph
from memory.checkpoint import open_checkpointer
from memory.profile import ProfileStore
from models.llm import LLMSettings
from models.llm_factory import get_chat_model
from tests.integration.fake_openai import FakeOpenAI, fake_openai
from tests.integration.serving_support import (
    chroma_cli,
    client_for,
    free_port,
    start_chroma,
)

FAULTS = ["down", "slow", "garbage", "html", "http500", "empty"]
EXPECT = {  # what the user is told (words in the reply)
    "down": "unreachable", "slow": "did not answer within", "garbage": "", "html": "not a chat completion",
    "http500": "kept failing",
    "empty": "",
}


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


def dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def agent_on(domain: Any, memory: Path, url: str, code_plans: bool = False) -> Agent:
    llm = get_chat_model(LLMSettings(provider="openai", base_url=url, api_key="sk-test", model="fake",
                                     timeout=1.0, max_retries=1, retry_backoff=0.01))
    deps = make_deps(domain, llm, memory_path=memory, use_models=False)
    deps.code_plans = code_plans
    return Agent(deps, build_graph(deps, open_checkpointer(f"sqlite:///{memory / 'threads.sqlite'}")))


def pairs(agent: Agent, thread: str) -> list[tuple[str, str]]:
    msgs = agent.graph.get_state(agent.config(thread)).values["messages"]
    return [("user" if isinstance(m, HumanMessage) else "agent", str(m.content)) for m in msgs
            if isinstance(m, HumanMessage | AIMessage)]


@pytest.mark.parametrize("code_plans", [False, True], ids=["llm-plans", "code-plans"])
@pytest.mark.parametrize("fault", FAULTS)
def test_llm_faults_get_a_clear_answer_and_the_conversation_goes_on(
        ml_domain_indexed, llm_server: FakeOpenAI, tmp_path: Path, fault: str, code_plans: bool) -> None:  # type: ignore[no-untyped-def]
    url = dead_url() if fault == "down" else llm_server.url
    healthy = agent_on(ml_domain_indexed, tmp_path, llm_server.url, code_plans)
    first = healthy.ask("a comedy please", "f1", "fay")
    assert first["items"]
    faulty = agent_on(ml_domain_indexed, tmp_path, url, code_plans)  # same thread store, broken LLM
    llm_server.mode = fault if fault != "down" else "ok"
    llm_server.hang_s = 3.0
    started = time.monotonic()
    st = faulty.ask("another comedy", "f1", "fay")
    took = time.monotonic() - started
    reply = str(st["messages"][-1].content)
    assert reply and EXPECT[fault] in reply, reply
    assert took < 30  # bounded: timeout 1 s x (1 + 1 retry) per call, at most 3 plan attempts
    llm_server.mode = "ok"
    llm_server.release.set()
    last = healthy.ask("one more comedy", "f1", "fay")
    assert last["items"] and "good fit" in str(last["messages"][-1].content)
    talk = pairs(healthy, "f1")
    assert [t for who, t in talk if who == "user"] == ["a comedy please", "another comedy", "one more comedy"]
    assert [who for who, _ in talk] == ["user", "agent"] * 3  # every turn, the faulty one too, has its answer


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_sse")
@pytest.mark.parametrize("fault", ["down", "html", "garbage"])
async def test_llm_faults_through_the_api_are_never_5xx(ml_domain_indexed, llm_server: FakeOpenAI, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        fault: str) -> None:
    from serving.app import create_app
    from serving.settings import Settings

    url = dead_url() if fault == "down" else llm_server.url
    llm_server.mode = "ok" if fault == "down" else fault
    agent = agent_on(ml_domain_indexed, tmp_path, url)
    app = create_app(Settings(domain="x", checkpoint_url=":memory:", warmup=False, langserve=False),
                     lambda cp: Agent(agent.deps, build_graph(agent.deps, cp)))
    async with client_for(app) as c:
        r = await c.post("/chat", json={"message": "a comedy please", "thread_id": "api1"})
        assert r.status_code == 200, r.text
        assert r.json()["reply"]
        r = await c.post("/chat/stream", json={"message": "a comedy please", "thread_id": "api1"})
        assert r.status_code == 200 and "event: final" in r.text and "event: error" not in r.text
        hist = (await c.get("/threads/api1")).json()
        assert [m["role"] for m in hist["messages"]] == ["user", "assistant"] * 2 and hist["interrupted"] is False


@pytest.fixture
def chroma_proc(tmp_path: Path) -> Iterator[dict[str, Any]]:
    cli = chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` command (from the chromadb wheel) is not installed")
    state: dict[str, Any] = {"port": free_port(), "path": tmp_path / "chroma-data", "proc": None}

    def start() -> None:
        state["proc"] = start_chroma(str(cli), state["path"], state["port"])

    def kill() -> None:
        state["proc"].kill()
        state["proc"].wait(timeout=20)

    state["start"], state["kill"] = start, kill
    start()
    try:
        yield state
    finally:
        if state["proc"].poll() is None:
            kill()


def test_chroma_server_down_turns_go_on_and_profile_updates_are_kept(
        ml_domain_indexed, llm_server: FakeOpenAI, chroma_proc: dict[str, Any], tmp_path: Path,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    from models.chroma import chroma_client

    monkeypatch.setenv("INTEREC_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("INTEREC_CHROMA_PORT", str(chroma_proc["port"]))
    agent = agent_on(ml_domain_indexed, tmp_path, llm_server.url, code_plans=True)
    assert type(agent.deps.profiles.client).__name__ != "PersistentClient"
    agent.ask("I loved Toy Story, a comedy please", "c1", "gus")
    assert agent.deps.profiles.get("gus", "movielens")["like"] == ["Toy Story (1995)"]

    chroma_proc["kill"]()
    st = agent.ask("I loved Heat, something similar", "c1", "gus")  # profile read and write both fail
    assert st["items"] and "good fit" in str(st["messages"][-1].content)
    assert agent.deps.profiles.pending() == 1  # the update is held, not lost
    st = agent.ask("a comedy from the 90s", "c1", "gus")
    assert st["items"]

    chroma_proc["start"]()  # same data path: the server comes back with what it had
    agent.ask("thanks!", "c1", "gus")
    assert agent.deps.profiles.pending() == 0
    assert sorted(agent.deps.profiles.get("gus", "movielens")["like"]) == ["Heat (1995)", "Toy Story (1995)"]
    assert [t for who, t in pairs(agent, "c1") if who == "user"] == [
        "I loved Toy Story, a comedy please", "I loved Heat, something similar", "a comedy from the 90s", "thanks!"]
    server = chroma_client()
    stored = ProfileStore(agent.deps.profiles.embedder).get("gus", "movielens")  # a fresh client: it is on the server
    assert server.heartbeat() > 0 and sorted(stored["like"]) == ["Heat (1995)", "Toy Story (1995)"]
