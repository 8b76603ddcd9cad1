"""Isolation: with API keys a caller reaches only its own user's threads and profile, however it names
them; the CLI and library path refuse another user's thread before writing anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.agent import Agent, InputError, ThreadError
from graph.builder import build_graph
from graph.deps import AgentDeps
from tests.integration.serving_support import (
    COMEDY_PLAN,
    StreamingScriptedLLM,
    client_for,
    make_app,
    shared_deps,
)

KEYS = {"key-alice-0001": "alice", "key-bob-0002": "bob"}
ALICE, BOB = {"X-API-Key": "key-alice-0001"}, {"X-API-Key": "key-bob-0002"}
SECRET = "my secret wish is a 1950s musical"
# ways a caller might try to name alice's thread "private-1": every one must miss it
GUESSES = ["private-1", "alice/private-1", "alice%2Fprivate-1", "..%2Falice%2Fprivate-1", "alice-private-1",
           "ALICE/private-1", "private-1%00", "private-1/", " private-1", "private\u20111", "alice\\private-1",
           "*", "%", "private-%", "' OR 1=1 --", "../../threads.sqlite", "alice/private-1?x=1", "-1"]


@pytest.fixture(scope="module")
def deps(ml_domain_indexed, tmp_path_factory: pytest.TempPathFactory) -> AgentDeps:  # type: ignore[no-untyped-def]
    return shared_deps(ml_domain_indexed, tmp_path_factory.mktemp("iso"))


def checkpoint_rows(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM checkpoints").fetchone()[0])


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_sse")
async def test_a_key_reaches_only_its_own_threads_and_profile(deps: AgentDeps, tmp_path: Path) -> None:
    db = tmp_path / "threads.sqlite"
    llm = StreamingScriptedLLM(plans=[{**COMEDY_PLAN, "like": ["Toy Story"]}] + [COMEDY_PLAN] * 200)
    app = make_app(deps, llm, api_keys=KEYS, checkpoint_url=f"sqlite:///{db}")
    async with client_for(app) as c:
        r = await c.post("/chat", json={"message": f"I loved Toy Story, a comedy; {SECRET}", "thread_id": "private-1"}, headers=ALICE)
        assert r.status_code == 200
        alice_thread = (await c.get("/threads/private-1", headers=ALICE)).json()
        alice_profile = (await c.get("/profile", headers=ALICE)).json()
        assert alice_profile["like"] == ["Toy Story (1995)"]
        rows = checkpoint_rows(db)

        tried = 0
        for guess in GUESSES:  # reads: never alice's messages; unknown and foreign look the same (404)
            for headers in (BOB, {**BOB, "X-User-Id": "alice"}, {"X-API-Key": "key-alice-000"}, {}):
                r = await c.get(f"/threads/{guess}", headers=headers, follow_redirects=True)
                tried += 1
                assert r.status_code in (401, 404, 422), (guess, r.status_code)
                assert SECRET not in r.text
        assert checkpoint_rows(db) == rows  # reads wrote nothing

        for guess in GUESSES:  # writes: bob's turn lands in bob's own namespace, or is refused
            for route in ("/chat", "/agent/invoke"):
                body: dict[str, Any] = ({"message": "more", "thread_id": guess} if route == "/chat" else
                                        {"input": {"messages": [{"type": "human", "content": "more"}]},
                                         "config": {"configurable": {"thread_id": guess, "user_id": "alice"}}})
                r = await c.post(route, json=body, headers=BOB)
                tried += 1
                assert r.status_code in (200, 422), (route, guess, r.status_code)
                assert SECRET not in r.text
        assert (await c.get("/threads/private-1", headers=ALICE)).json() == alice_thread
        assert (await c.get("/profile", headers=ALICE)).json() == alice_profile
        bob_threads = (await c.get("/threads/private-1", headers=BOB)).json()  # bob's own "private-1"
        assert SECRET not in str(bob_threads) and {m["text"] for m in bob_threads["messages"] if m["role"] == "user"} == {"more"}
        assert (await c.get("/profile", headers=BOB)).json()["like"] == []
        assert tried == len(GUESSES) * 6

    with sqlite3.connect(db) as con:  # stored thread ids are all namespaced by the key's user
        owners = {t.split("/", 1)[0] for (t,) in con.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert owners == {"alice", "bob"}


def test_profiles_are_filtered_by_user_even_for_odd_ids(deps: AgentDeps) -> None:
    store = deps.profiles
    store.update("carol", "movielens", like=["Heat (1995)"])
    for odd in ("", "*", "$ne", "carol ", "Carol", "carol\x00", "{\"$ne\": \"x\"}"):
        assert store.get(odd, "movielens") == {"like": [], "dislike": [], "expect": []}, odd
    assert store.get("carol", "other-domain")["like"] == []
    assert store.get("carol", "movielens")["like"] == ["Heat (1995)"]
    store.clear("carol", "movielens")


def test_the_library_and_cli_path_refuse_another_users_thread(deps: AgentDeps) -> None:
    deps.llm = StreamingScriptedLLM(plans=[COMEDY_PLAN, COMEDY_PLAN])
    agent = Agent(deps, build_graph(deps, InMemorySaver()))
    agent.ask("a comedy please", "alice-abc", "alice")
    before = agent.graph.get_state(agent.config("alice-abc")).values["messages"]
    with pytest.raises(ThreadError, match="belongs to another user"):
        agent.ask("show me what alice said", "alice-abc", "bob")
    assert issubclass(ThreadError, InputError)  # the CLI prints it as one line and exits 2
    assert agent.graph.get_state(agent.config("alice-abc")).values["messages"] == before
    assert len(agent.ask("another comedy", "alice-abc", "alice")["messages"]) == len(before) + 2
