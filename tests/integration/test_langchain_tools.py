"""interec's tools as LangChain tools in someone else's agent: typed schemas, compact JSON, the agent's own code."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from tests.integration.fake_tool_model import ToolCallingFake, call, tool_json
from tools.context import ToolContext
from tools.langchain_tools import TOOL_NAMES, domain_tools

WHERE = [{"column": "genres", "op": "contains", "value": "Comedy"}, {"column": "year", "op": ">=", "value": 2000}]


@pytest.fixture(scope="module")
def ctx(ml_domain_indexed) -> ToolContext:  # type: ignore[no-untyped-def]
    return ToolContext(ml_domain_indexed, use_models=False)


@pytest.fixture(scope="module")
def tools(ctx: ToolContext) -> dict[str, Any]:
    return {t.name: t for t in domain_tools(ctx)}


def test_schemas_are_typed_per_domain(tools: dict[str, Any], ctx: ToolContext) -> None:
    assert tuple(tools) == TOOL_NAMES
    schema = tools["filter_items"].tool_call_schema.model_json_schema()
    cond = schema["$defs"]["Condition"]["properties"]
    columns = [c.name for c in ctx.domain.schema.columns if c.name != "title"]
    assert cond["column"]["enum"] == columns  # the catalog's real columns, as an enum
    assert {"type": "number"} in cond["value"]["anyOf"]  # numbers travel as numbers
    assert schema["properties"]["k"]["type"] == "integer"
    assert schema["properties"]["fields"]["items"]["enum"] == columns
    assert schema["required"] == ["where"]
    for t in tools.values():  # every tool states what it is for and which catalog it serves
        assert "movielens" in t.description and t.args_schema.model_json_schema()["additionalProperties"] is False


def test_outputs_are_compact_json_with_ids_titles_and_asked_fields(tools: dict[str, Any], ctx: ToolContext) -> None:
    out = json.loads(tools["filter_items"].invoke({"where": WHERE, "k": 4, "fields": ["tags"]}))
    assert len(out["items"]) == 4
    for item in out["items"]:
        row = ctx.domain.items.iloc[item["id"]]
        assert item["title"] == row["title"]
        assert "Comedy" in item["genres"] and isinstance(item["year"], int) and item["year"] >= 2000  # where cols
        assert set(item) <= {"id", "title", "genres", "year", "tags"}
    pops = [int(ctx.popularity[i["id"]]) for i in out["items"]]
    assert pops == sorted(pops, reverse=True)  # most popular first
    text = tools["lookup_items"].invoke({"titles": ["The Matrix", "No Such Film Qwxz"], "fields": ["year"]})
    assert " " not in text.split('"title"')[0]  # compact separators
    look = json.loads(text)
    assert look["items"][0]["title"].startswith("Matrix") and look["items"][0]["year"] == 1999
    assert look["not_found"] == ["No Such Film Qwxz"]
    sim = json.loads(tools["similar_items"].invoke({"titles": ["Toy Story"], "k": 5}))
    assert "Toy Story (1995)" not in [i["title"] for i in sim["items"]] and len(sim["items"]) == 5
    facts = json.loads(tools["item_knowledge"].invoke({"titles": ["Toy Story 2"], "liked": ["Toy Story"]}))
    assert facts["items"][0]["title"] == "Toy Story 2 (1999)" and any("Toy Story (1995)" in f for f in facts["items"][0]["facts"])
    rows = json.loads(tools["catalog_sql"].invoke({"query": "SELECT title, year FROM items WHERE year = 1995 LIMIT 2"}))
    assert [r["year"] for r in rows["rows"]] == [1995, 1995]


def test_bad_input_and_failures_come_back_as_text(tools: dict[str, Any]) -> None:
    msg = tools["filter_items"].invoke({"name": "filter_items", "args": {"where": [{"column": "colour", "op": "=",
                                        "value": "red"}]}, "id": "c1", "type": "tool_call"})
    assert isinstance(msg, ToolMessage) and "bad input" in msg.content and "where.0.column" in msg.content
    msg = tools["similar_items"].invoke({"name": "similar_items", "args": {"titles": ["Qwxz Zzyzx Nothing"]},
                                         "id": "c2", "type": "tool_call"})
    assert msg.status == "error" and "no seed item found" in msg.content


def test_same_code_as_the_agents_plan_execute(ctx: ToolContext, tools: dict[str, Any]) -> None:
    """A LangChain tool call and the agent's execute node, given the same steps, pick the same items."""
    from graph.nodes.execute import run_steps

    deps = SimpleNamespace(domain=ctx.domain, tools=lambda mode="accuracy", seed=0: ctx)
    plan = [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"},
                                         {"col": "year", "op": ">=", "val": "2000"}]},
            {"tool": "rank", "by": "preference", "prefer": ["Toy Story", "Finding Nemo"], "avoid": []},
            {"tool": "map", "n": 5}]
    bus = run_steps(deps, plan)  # type: ignore[arg-type]
    assert not bus.errors()
    out = json.loads(tools["rank_for_user"].invoke({"history": ["Toy Story", "Finding Nemo"], "where": WHERE, "k": 5}))
    assert [i["id"] for i in out["items"]] == bus.mapped


def _agent(kind: str, model: Any, tools: list[Any]) -> Any:
    if kind == "create_agent":
        from langchain.agents import create_agent

        return create_agent(model, tools)
    from langgraph.prebuilt import create_react_agent

    return create_react_agent(model, tools)


@pytest.mark.parametrize("kind", ["create_agent", "create_react_agent"])
def test_prebuilt_agent_two_tool_calls_grounded_answer(kind: str, ctx: ToolContext, tools: dict[str, Any]) -> None:
    def rank(msgs: list[BaseMessage]) -> AIMessage:
        return call("rank_for_user", {"history": ["Toy Story"], "where": WHERE, "k": 3, "fields": ["year"]}, 1)

    def explain(msgs: list[BaseMessage]) -> AIMessage:
        first = tool_json(msgs)["items"][0]
        return call("explain_item", {"title": first["title"], "liked": ["Toy Story"]}, 2)

    def answer(msgs: list[BaseMessage]) -> AIMessage:
        picked, why = tool_json(msgs, 0)["items"][0], tool_json(msgs, 1)
        return AIMessage(f"Try {picked['title']} (id {picked['id']}). {why['explanation']}")

    model = ToolCallingFake(steps=[rank, explain, answer])
    agent = _agent(kind, model, list(tools.values()))
    out = agent.invoke({"messages": [HumanMessage("I loved Toy Story. A comedy from 2000 on, and why?")]})
    msgs = out["messages"]
    assert set(model.bound) == set(TOOL_NAMES)
    tool_msgs = [m for m in msgs if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_msgs] == ["rank_for_user", "explain_item"]
    assert all(m.status != "error" for m in tool_msgs)
    ranked, why = tool_json(msgs, 0), tool_json(msgs, 1)
    final = msgs[-1].content
    top = ranked["items"][0]
    # grounded: the answer names the tool's top item, which really meets the request, and its real explanation
    assert f"Try {top['title']} (id {top['id']})" in final and why["explanation"] in final
    row = ctx.domain.items.iloc[top["id"]]
    assert "Comedy" in row["genres"] and row["year"] >= 2000 and top["title"] != "Toy Story (1995)"
    assert why["item"]["id"] == top["id"] and why["explanation"].startswith("Why ")
    assert any("Toy Story (1995)" in f["text"] for f in why["facts"])  # the explanation cites the liked movie
