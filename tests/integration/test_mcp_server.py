"""`python app.py mcp` as a real process: the MCP SDK's client over stdio and streamable HTTP, and
langchain-mcp-adapters loading the tools into a LangGraph agent. The LLM behind `chat` is a loopback fake."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from tests.conftest import MOVIELENS, ROOT
from tests.integration.fake_openai import FakeOpenAI, fake_openai
from tests.integration.fake_tool_model import ToolCallingFake, call, tool_json
from tests.integration.serving_support import free_port

pytest.importorskip("mcp")
pytest.importorskip("langchain_mcp_adapters")
pytestmark = pytest.mark.anyio
TOOLS = {"filter_items", "retrieve_items", "similar_items", "rank_for_user", "lookup_items", "item_knowledge",
         "explain_item", "catalog_sql", "chat"}


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


def _env(artifacts_root: Path, tmp_path: Path, llm: FakeOpenAI) -> dict[str, str]:
    return {**os.environ, "INTEREC_ARTIFACTS": str(artifacts_root), "INTEREC_MEMORY_DIR": str(tmp_path / "mem"),
            "INTEREC_LLM_PROVIDER": "openai", "INTEREC_LLM_API_KEY": "none", "INTEREC_LLM_BASE_URL": llm.url,
            "INTEREC_LLM_MAX_RETRIES": "0", "LANGSMITH_TRACING": "false", "HF_HUB_OFFLINE": "1"}


ARGS = [str(ROOT / "app.py"), "mcp", "--domain", str(MOVIELENS), "--no-build"]


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def test_sdk_client_over_stdio(ml_domain_indexed, artifacts_root: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                     llm: FakeOpenAI) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=ARGS, env=_env(artifacts_root, tmp_path, llm), cwd=ROOT)
    errlog = (tmp_path / "stderr.txt").open("w")
    async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as s:
        init = await s.initialize()
        assert init.serverInfo.name == "interec" and "movielens" in (init.instructions or "")
        listed = {t.name: t for t in (await s.list_tools()).tools}
        assert set(listed) == TOOLS
        where = listed["filter_items"].inputSchema["$defs"]["Condition"]["properties"]
        assert "genres" in where["column"]["enum"] and {"type": "number"} in where["value"]["anyOf"]

        res = await s.call_tool("filter_items", {"where": [{"column": "genres", "op": "contains", "value": "Horror"},
                                                           {"column": "year", "op": "<", "value": 1990}], "k": 3})
        assert not res.isError
        out = json.loads(_text(res))
        assert res.structuredContent == out and len(out["items"]) == 3
        for item in out["items"]:
            row = ml_domain_indexed.items.iloc[item["id"]]
            assert row["title"] == item["title"] and "Horror" in row["genres"] and item["year"] < 1990

        bad = await s.call_tool("filter_items", {"where": [{"column": "colour", "op": "=", "value": "red"}]})
        assert bad.isError and "colour" in _text(bad)
        missing = await s.call_tool("lookup_items", {"titles": ["Qwxz Zzyzx Nothing"]})
        assert not missing.isError and json.loads(_text(missing))["not_found"] == ["Qwxz Zzyzx Nothing"]

        resources = (await s.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["interec://movielens/schema"]
        schema = json.loads((await s.read_resource(resources[0].uri)).contents[0].text)  # type: ignore[union-attr]
        assert schema["items"] == ml_domain_indexed.n_items
        assert {c["name"] for c in schema["columns"]} == set(ml_domain_indexed.schema.names())

        first = await s.call_tool("chat", {"message": "a comedy please", "thread_id": "m1", "user_id": "ann"})
        assert not first.isError, _text(first)
        turn = json.loads(_text(first))
        assert turn["thread_id"] == "m1" and turn["items"] and "reply" in llm.requests
        for item in turn["items"]:  # the reply is the fake LLM's list of the items the tools found
            assert item["title"].rsplit(" (", 1)[0] in turn["reply"]
            assert "Comedy" in ml_domain_indexed.items.iloc[item["id"]]["genres"]
        other = await s.call_tool("chat", {"message": "more please", "thread_id": "m1", "user_id": "bob"})
        assert other.isError and "another user" in _text(other)  # threads belong to their user
        empty = await s.call_tool("chat", {"message": "", "thread_id": "m2"})
        assert empty.isError
    errlog.close()
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()


async def test_langchain_mcp_adapters_in_a_langgraph_agent(ml_domain_indexed, artifacts_root: Path,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path, llm: FakeOpenAI) -> None:
    from langchain.agents import create_agent
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langchain_mcp_adapters.tools import load_mcp_tools

    client = MultiServerMCPClient({"interec": {"transport": "stdio", "command": sys.executable, "args": ARGS,
                                               "env": _env(artifacts_root, tmp_path, llm), "cwd": str(ROOT)}})

    def similar(msgs: list[BaseMessage]) -> AIMessage:
        return call("similar_items", {"titles": ["Toy Story"], "k": 3}, 1)

    def lookup(msgs: list[BaseMessage]) -> AIMessage:
        return call("lookup_items", {"titles": [tool_json(msgs)["items"][0]["title"]], "fields": ["year", "genres"]}, 2)

    def answer(msgs: list[BaseMessage]) -> AIMessage:
        item = tool_json(msgs, 1)["items"][0]
        return AIMessage(f"{item['title']}: {', '.join(item['genres'])}.")

    async with client.session("interec") as session:
        tools = await load_mcp_tools(session)
        assert {t.name for t in tools} == TOOLS
        model = ToolCallingFake(steps=[similar, lookup, answer])
        out = await create_agent(model, tools).ainvoke({"messages": [HumanMessage("like Toy Story?")]})
    msgs = out["messages"]
    assert [m.name for m in msgs if isinstance(m, ToolMessage)] == ["similar_items", "lookup_items"]
    top = tool_json(msgs, 0)["items"][0]
    row = ml_domain_indexed.items.iloc[top["id"]]
    assert top["title"] != "Toy Story (1995)"
    assert msgs[-1].content == f"{row['title']}: {row['genres'].replace('|', ', ')}."  # grounded in the catalog


def _wait_port(port: int, proc: subprocess.Popen[str], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail("the MCP HTTP server did not start")


async def test_streamable_http(ml_domain_indexed, artifacts_root: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                               llm: FakeOpenAI) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    port = free_port()
    proc = subprocess.Popen([sys.executable, *ARGS, "--http", f"127.0.0.1:{port}"], cwd=ROOT,
                            env=_env(artifacts_root, tmp_path, llm), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_port(port, proc)
        url = f"http://127.0.0.1:{port}/mcp"
        async with streamablehttp_client(url) as (read, write, _), ClientSession(read, write) as s:
            await s.initialize()
            assert {t.name for t in (await s.list_tools()).tools} == TOOLS
            res = await s.call_tool("catalog_sql", {"query": "SELECT title FROM items WHERE year = 1995 LIMIT 2"})
            assert not res.isError and len(json.loads(_text(res))["rows"]) == 2
        # DNS-rebinding protection: a page on another host cannot drive the loopback server
        r = httpx.post(url, headers={"Host": "attacker.example", "Content-Type": "application/json",
                                     "Accept": "application/json, text/event-stream"},
                       json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert r.status_code in (400, 403, 421)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
