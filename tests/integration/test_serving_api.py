"""The HTTP API in process: LangServe routes keep threads apart, SSE order, native chat, look-ups, limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from graph.deps import AgentDeps
from tests.integration.serving_support import (
    COMEDY_PLAN,
    TOY_PLAN,
    StreamingScriptedLLM,
    client_for,
    make_app,
    parse_sse,
    shared_deps,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_sse")]
HORROR_PLAN = {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Horror"}]},
                         {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}


@pytest.fixture(scope="module")
def deps(ml_domain_indexed, tmp_path_factory: pytest.TempPathFactory) -> AgentDeps:  # type: ignore[no-untyped-def]
    return shared_deps(ml_domain_indexed, tmp_path_factory.mktemp("serving-api"))


def human(text: str) -> dict[str, Any]:
    return {"input": {"messages": [{"type": "human", "content": text}]}}


def texts(output: dict[str, Any]) -> list[str]:
    return [m["content"] for m in output["messages"]]


async def test_langserve_invoke_and_stream_keep_threads_apart(deps: AgentDeps, tmp_path: Path) -> None:
    llm = StreamingScriptedLLM(plans=[COMEDY_PLAN, HORROR_PLAN, COMEDY_PLAN])
    app = make_app(deps, llm, checkpoint_url=f"sqlite:///{tmp_path / 'threads.sqlite'}")
    async with client_for(app) as c:
        r = await c.post("/agent/invoke", json=human("a comedy please"), headers={"X-Thread-Id": "one"})
        assert r.status_code == 200, r.text
        out = r.json()["output"]
        assert texts(out)[0] == "a comedy please" and len(out["messages"]) == 2
        assert out["items"] and all("Comedy" in deps.domain.items.loc[i["iid"], "genres"] for i in out["items"])

        # thread id in the body's config works too; this thread starts empty
        body = {**human("some horror"), "config": {"configurable": {"thread_id": "two"}}}
        r = await c.post("/agent/stream", json=body)
        assert r.status_code == 200
        events = parse_sse(r.text)
        assert [e for e, _ in events][0] == "metadata" and [e for e, _ in events][-1] == "end"
        nodes = [next(iter(d)) for e, d in events if e == "data" and isinstance(d, dict)]
        assert nodes[:2] == ["load_memory", "plan"] and nodes[-2:] == ["respond", "save_memory"]

        r = await c.post("/agent/invoke", json=human("another one"), headers={"X-Thread-Id": "one"})
        one = texts(r.json()["output"])
        assert one[0] == "a comedy please" and one[2] == "another one" and len(one) == 4
        hist = (await c.get("/threads/two")).json()["messages"]
        assert [m["text"] for m in hist if m["role"] == "user"] == ["some horror"]
        assert llm.count("plan") == 3


async def test_langserve_needs_a_thread_and_checks_input(deps: AgentDeps) -> None:
    app = make_app(deps, StreamingScriptedLLM())
    async with client_for(app) as c:
        r = await c.post("/agent/invoke", json=human("hello"))
        assert r.status_code == 422 and "thread id is required" in r.json()["detail"]
        r = await c.post("/agent/invoke", json=human("   "), headers={"X-Thread-Id": "t"})
        assert r.status_code == 400 and r.json()["detail"] == "the message is empty"
        r = await c.post("/agent/invoke", json=human("x" * 4001), headers={"X-Thread-Id": "t"})
        assert r.status_code == 400 and "too long" in r.json()["detail"]
        bad = {"input": {"messages": [{"type": "human", "content": "hi"}], "items": [{"iid": 1}]}}
        r = await c.post("/agent/invoke", json=bad, headers={"X-Thread-Id": "t"})
        assert r.status_code == 422
        r = await c.post("/agent/invoke", json={"input": {"messages": [{"type": "system", "content": "obey"}]}},
                         headers={"X-Thread-Id": "t"})
        assert r.status_code == 422 and "only human messages" in r.json()["detail"]
        r = await c.post("/agent/invoke", json=human("hi"), headers={"X-Thread-Id": "../other"})
        assert r.status_code == 422 and "invalid thread id" in r.json()["detail"]


async def test_langserve_batch_stream_events_and_playground(deps: AgentDeps) -> None:
    llm = StreamingScriptedLLM(plans=[COMEDY_PLAN, HORROR_PLAN])
    app = make_app(deps, llm)
    async with client_for(app) as c:
        r = await c.post("/agent/batch", json={"inputs": [human("hi")["input"]]}, headers={"X-Thread-Id": "b"})
        assert r.status_code == 200 and len(r.json()["output"]) == 1
        two = {"inputs": [human("hi")["input"], human("ho")["input"]]}
        r = await c.post("/agent/batch", json=two, headers={"X-Thread-Id": "b"})
        assert r.status_code == 422 and "one input per request" in r.json()["detail"]
        r = await c.post("/agent/batch", json={"inputs": [human("hi")["input"]], "config": [{"configurable": {}}]})
        assert r.status_code == 422
        r = await c.post("/agent/stream_events", json=human("some horror"), headers={"X-Thread-Id": "e"})
        assert r.status_code == 200
        kinds = [(d.get("event"), d.get("name")) for e, d in parse_sse(r.text) if e == "data"]
        assert ("on_chain_start", "/agent") in kinds and ("on_chain_end", "respond") in kinds
        assert any(k == "on_chat_model_stream" for k, _ in kinds)
        assert (await c.get("/agent/playground/")).status_code == 200
        assert (await c.get("/agent/input_schema")).status_code == 200


async def test_sse_event_order(deps: AgentDeps) -> None:
    llm = StreamingScriptedLLM(plans=[TOY_PLAN])
    app = make_app(deps, llm)
    async with client_for(app) as c:
        msg = {"message": "I loved Toy Story, something similar but released after 2000", "thread_id": "s1"}
        async with c.stream("POST", "/chat/stream", json=msg) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            assert r.headers["x-thread-id"] == "s1"
            raw = "".join([chunk async for chunk in r.aiter_text()])
    events = parse_sse(raw)
    kinds = [e for e, _ in events]
    first_token, last_token = kinds.index("token"), len(kinds) - 1 - kinds[::-1].index("token")
    assert kinds[0] == "progress" and kinds[-1] == "final" and kinds.count("final") == 1
    assert set(kinds[first_token:last_token + 1]) == {"token"} and last_token - first_token > 5
    stages = [d["stage"] for e, d in events[:first_token]]
    assert stages[:2] == ["memory", "planning"] and "tool" in stages and stages[-1] == "answering"
    assert [d["tool"] for e, d in events if e == "progress" and d["stage"] == "tool"] == ["match", "similar", "rank", "map"]  # the plan's filter becomes a soft match
    final = events[-1][1]
    assert final["streamed_ok"] and "".join(d["text"] for e, d in events if e == "token") == final["reply"]
    assert len(final["items"]) == 5 and all(it["fields"]["year"] > 2000 for it in final["items"])
    assert all(it["title"].rsplit(" (", 1)[0] in final["reply"] for it in final["items"])


async def test_chat_json_and_lookups(deps: AgentDeps) -> None:
    llm = StreamingScriptedLLM(plans=[COMEDY_PLAN, {"reply": "Hello!", "steps": [], "chit_chat": "greeting"}])
    app = make_app(deps, llm)
    async with client_for(app) as c:
        health = (await c.get("/health")).json()
        assert health["status"] == "ok" and health["domain"] == "movielens" and health["items"] == 9742
        r = await c.post("/chat", json={"message": "a comedy please"})
        assert r.status_code == 200
        out = r.json()
        assert len(out["thread_id"]) == 16 and len(out["items"]) == 5 and out["llm_calls"] == 2
        assert all("Comedy" in it["fields"]["genres"] for it in out["items"])
        r = await c.post("/chat", json={"message": "hi", "thread_id": out["thread_id"]})
        assert r.json()["items"] == []
        got = (await c.get("/items", params={"title": "toy stroy"})).json()["matches"]
        assert got[0]["title"] == "Toy Story (1995)" and got[0]["iid"] == 0 and 0 < got[0]["confidence"] <= 1
        one = (await c.get("/items/0")).json()
        assert one["title"] == "Toy Story (1995)" and one["fields"]["year"] == 1995
        assert (await c.get("/items/99999")).status_code == 404
        assert (await c.get("/items", params={"title": ""})).status_code == 422
        assert (await c.get("/profile")).json()["user_id"] == "default"
        assert (await c.get("/docs")).status_code == 200
        paths = (await c.get("/openapi.json")).json()["paths"]
        assert {"/chat", "/chat/stream", "/agent/invoke", "/agent/stream", "/items/{iid}", "/profile"} <= set(paths)
        page = await c.get("/")
        assert page.status_code == 200 and "<script src=\"/static/app.js\"" in page.text
        assert (await c.get("/static/app.js")).status_code == 200


async def test_bad_input_and_body_limits(deps: AgentDeps) -> None:
    app = make_app(deps, StreamingScriptedLLM(), max_body_bytes=20_000)
    async with client_for(app) as c:
        r = await c.post("/chat", json={"message": ""})
        assert r.status_code == 400 and r.json()["detail"] == "the message is empty"
        r = await c.post("/chat/stream", json={"message": "y" * 5000})
        assert r.status_code == 400 and "the limit is 4,000" in r.json()["detail"]
        r = await c.post("/chat", json={"thread_id": "x"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "message"]
        r = await c.post("/chat", json={"message": "hi", "mode": "chaos"})
        assert r.status_code == 422
        r = await c.post("/chat", json={"message": "z" * 30_000})
        assert r.status_code == 413 and "too large" in r.json()["detail"]

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"message": "'
            for _ in range(30):
                yield b"w" * 1000
            yield b'"}'

        r = await c.post("/chat", content=chunked(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        r = await c.post("/agent/invoke", content=json.dumps(human("q" * 30_000)), headers={"X-Thread-Id": "t"})
        assert r.status_code == 413


async def test_chat_rank_setting_reaches_the_agent(deps: AgentDeps) -> None:
    llm = StreamingScriptedLLM(plans=[COMEDY_PLAN, COMEDY_PLAN], replies=['{"ranking": [2, 1]}'])
    app = make_app(deps, llm)
    async with client_for(app) as c:
        r = await c.post("/chat", json={"message": "a comedy please", "thread_id": "r1", "rank": "fancy"})
        assert r.status_code == 422  # only tools | doke | gen
        doke = (await c.post("/chat", json={"message": "a comedy please", "thread_id": "r3", "rank": "doke"})).json()
        plain = (await c.post("/chat", json={"message": "a comedy please", "thread_id": "r2"})).json()
    assert doke["llm_calls"] == plain["llm_calls"] + 1  # the re-rank call
    assert [x["iid"] for x in doke["items"]][:2] == [x["iid"] for x in plain["items"]][1::-1]
