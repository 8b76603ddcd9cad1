"""API keys: required when configured, one user per key, and no way into another user's threads or profile."""

from __future__ import annotations

from typing import Any

import pytest

from graph.deps import AgentDeps
from serving.auth import parse_api_keys
from serving.settings import Settings
from tests.integration.serving_support import (
    COMEDY_PLAN,
    StreamingScriptedLLM,
    client_for,
    make_app,
    shared_deps,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_sse")]
KEYS = {"k-alice-123": "alice_auth", "k-bob-456": "bob_auth"}
ALICE, BOB = {"X-API-Key": "k-alice-123"}, {"Authorization": "Bearer k-bob-456"}
LIKES_TOY_STORY = {**COMEDY_PLAN, "like": ["Toy Story"]}


@pytest.fixture(scope="module")
def deps(ml_domain_indexed, tmp_path_factory: pytest.TempPathFactory) -> AgentDeps:  # type: ignore[no-untyped-def]
    return shared_deps(ml_domain_indexed, tmp_path_factory.mktemp("serving-auth"))


def user_texts(hist: dict[str, Any]) -> list[str]:
    return [m["text"] for m in hist["messages"] if m["role"] == "user"]


def test_api_key_parsing() -> None:
    assert parse_api_keys(" k1:alice , k:2:bob,") == {"k1": "alice", "k:2": "bob"}
    assert parse_api_keys("") == {}
    for bad in ("nouser", "key:", ":alice", "key:al/ice"):
        with pytest.raises(ValueError, match="INTEREC_API_KEYS"):
            parse_api_keys(bad)


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEREC_API_KEYS", "a:alice")
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.delenv("LANGCHAIN_API_KEY", raising=False)
    s = Settings.from_env(domain="x")
    assert s.api_keys == {"a": "alice"} and s.domain == "x"
    assert s.tracing is False  # tracing needs a key as well
    monkeypatch.setenv("LANGSMITH_API_KEY", "ls-test")
    assert Settings.from_env().tracing is True


async def test_key_required_when_configured(deps: AgentDeps) -> None:
    app = make_app(deps, StreamingScriptedLLM(), api_keys=KEYS)
    async with client_for(app) as c:
        assert (await c.get("/health")).json()["auth"] is True
        assert (await c.get("/")).status_code == 200  # the page itself is public; it asks for a key
        for method, path, body in [("POST", "/chat", {"message": "hi"}), ("POST", "/chat/stream", {"message": "hi"}),
                                   ("GET", "/profile", None), ("GET", "/items/0", None), ("GET", "/threads/t1", None),
                                   ("POST", "/agent/invoke", {"input": {"messages": [{"type": "human", "content": "hi"}]}})]:
            r = await c.request(method, path, json=body, headers={"X-Thread-Id": "t1"})
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
            r = await c.request(method, path, json=body, headers={"X-API-Key": "k-alice-12", "X-Thread-Id": "t1"})
            assert r.status_code == 401 and r.json()["detail"] == "unknown API key"
        assert (await c.get("/items/0", headers=ALICE)).status_code == 200
        assert (await c.get("/items/0", headers=BOB)).status_code == 200
        assert (await c.get("/items/0", cookies={"interec_api_key": "k-bob-456"})).status_code == 200


async def test_users_cannot_reach_each_others_threads_or_profiles(deps: AgentDeps) -> None:
    llm = StreamingScriptedLLM(plans=[LIKES_TOY_STORY, COMEDY_PLAN, COMEDY_PLAN, COMEDY_PLAN])
    app = make_app(deps, llm, api_keys=KEYS)
    async with client_for(app) as c:
        r = await c.post("/chat", json={"message": "I loved Toy Story, a comedy please", "thread_id": "t1"}, headers=ALICE)
        assert r.status_code == 200
        assert user_texts((await c.get("/threads/t1", headers=ALICE)).json()) == ["I loved Toy Story, a comedy please"]

        # bob names the same thread id, and even claims to be alice: he gets his own, empty thread
        spoof = {**BOB, "X-User-Id": "alice_auth"}
        assert (await c.get("/threads/t1", headers=spoof)).status_code == 404  # not his: as if it did not exist
        r = await c.post("/chat", json={"message": "a comedy for bob", "thread_id": "t1"}, headers=spoof)
        assert r.status_code == 200
        assert user_texts((await c.get("/threads/t1", headers=BOB)).json()) == ["a comedy for bob"]
        assert user_texts((await c.get("/threads/t1", headers=ALICE)).json()) == ["I loved Toy Story, a comedy please"]

        # the internal name of alice's thread is not a valid thread id, and configurable.user_id is ignored
        assert (await c.get("/threads/alice_auth%2Ft1", headers=BOB)).status_code in (404, 422)
        r = await c.post("/chat", json={"message": "hi", "thread_id": "alice_auth/t1"}, headers=BOB)
        assert r.status_code == 422
        body = {"input": {"messages": [{"type": "human", "content": "more comedy"}]},
                "config": {"configurable": {"thread_id": "t1", "user_id": "alice_auth"}}}
        r = await c.post("/agent/invoke", json=body, headers=BOB)
        assert r.status_code == 200
        assert [m["content"] for m in r.json()["output"]["messages"] if m["type"] == "human"] == [
            "a comedy for bob", "more comedy"]
        assert user_texts((await c.get("/threads/t1", headers=ALICE)).json()) == ["I loved Toy Story, a comedy please"]

        alice = (await c.get("/profile", headers=ALICE)).json()
        bob = (await c.get("/profile", headers=BOB)).json()
        assert alice["user_id"] == "alice_auth" and alice["like"] == ["Toy Story (1995)"]
        assert bob["user_id"] == "bob_auth" and bob["like"] == []
        assert (await c.delete("/profile", headers=BOB)).json()["cleared"] is True
        assert (await c.get("/profile", headers=ALICE)).json()["like"] == ["Toy Story (1995)"]


async def test_without_keys_the_caller_names_itself(deps: AgentDeps) -> None:
    app = make_app(deps, StreamingScriptedLLM())
    async with client_for(app) as c:
        assert (await c.get("/profile", headers={"X-User-Id": "carol"})).json()["user_id"] == "carol"
        assert (await c.get("/profile")).json()["user_id"] == "default"
        assert (await c.get("/profile", headers={"X-User-Id": "a b"})).status_code == 422
