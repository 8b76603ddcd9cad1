"""The plan prompt is laid out for the server's prompt cache: a stable head, then only the turn's own text.

A local model on 2 cores reads ~30 prompt tokens a second, so every token the cache cannot reuse costs the
turn ~30 ms (benchmarks/RESULTS.md, "The plan call's prompt, cached").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from graph.deps import AgentDeps
from graph.nodes.plan import plan_messages
from graph.plan_schema import (
    MAX_CONDITIONS,
    MAX_LIKES,
    MAX_SEEDS,
    compact_conditions,
    parse_condition,
    plan_steps,
    plan_tools,
)
from memory.demos import load_demos
from models.structured import json_schema_for
from prompts import template

REPLY = ("Here are movies that fit what you asked for:\n1. Heat (1995) (genres: Action, Crime; year: 1995; "
         "tags: heist, los angeles)\n2. Casino (1995) (genres: Crime, Drama; year: 1995; tags: gambling)\n"
         "3. Ronin (1998) (genres: Action, Thriller; year: 1998)")


def _deps(domain: Any, **kw: Any) -> AgentDeps:
    return AgentDeps(domain, llm=None, profiles=None, **kw)  # type: ignore[arg-type]


def _text(m: BaseMessage) -> str:
    return str(m.content)


def test_the_prefix_holds_every_demo_and_is_the_same_for_every_turn(ml_domain) -> None:  # type: ignore[no-untyped-def]
    deps = _deps(ml_domain)
    demos = load_demos(ml_domain)
    assert len(demos) >= 10
    head = deps.plan_prefix
    assert isinstance(head[0], SystemMessage) and len(head) == 1 + 2 * len(demos)
    assert [_text(m) for m in head[1::2]] == [d["request"] for d in demos]
    assert [json.loads(_text(m)) for m in head[2::2]] == [compact_conditions(d["plan"]) for d in demos]
    a = plan_messages(deps, {"messages": [HumanMessage("a western")]}, "a western")
    b = plan_messages(deps, {"messages": [HumanMessage("hi"), AIMessage(REPLY), HumanMessage("no sequels")],
                             "profile": {"like": ["genres=Crime"]}, "critiques": ["nothing matched"]}, "no sequels")
    assert a[:-1] == head and b[:-1] == head  # all of a turn's own content is in its one last message
    assert _text(a[-1]) == "a western"
    assert "Crime" not in _text(b[-1]) and _text(b[-1]).endswith("nothing matched")  # no profile; critique last


def test_consecutive_turns_share_the_prompt_up_to_the_new_exchange(ml_domain) -> None:  # type: ignore[no-untyped-def]
    deps = _deps(ml_domain)
    said = ["a crime movie with a heist", "something lighter", "from the 2000s"]
    msgs: list[Any] = []
    prompts = []
    for text in said:
        msgs.append(HumanMessage(text))
        prompts.append(_text(plan_messages(deps, {"messages": list(msgs)}, text)[-1]))
        msgs.append(AIMessage(REPLY))
    first, second, third = prompts
    assert first == said[0]  # plain, as in the demonstrations
    assert second.startswith(first + "\n\n") and third.startswith(second + "\n\n")  # each extends the last
    assert third.endswith(template("plan_followup").format(text="from the 2000s"))


def test_the_planner_sees_the_users_earlier_words_not_the_replies(ml_domain) -> None:  # type: ignore[no-untyped-def]
    deps = _deps(ml_domain)
    msgs: list[Any] = [HumanMessage(f"request {i}") for i in range(5)]
    msgs = [m for h in msgs for m in (h, AIMessage(REPLY))][:-1]
    last = _text(plan_messages(deps, {"messages": msgs}, "request 4")[-1])
    assert "Heat" not in last and "genres" not in last  # repair keeps no title the user did not say
    kept = [f"request {i}" for i in range(2, 4)]  # 4 earlier messages: the window shows the last 2 or 3
    follow = template("plan_followup")
    assert last == "\n\n".join([kept[0], *(follow.format(text=t) for t in [*kept[1:], "request 4"])])


def test_a_long_conversation_s_plan_text_grows_and_moves_on_only_every_few_turns(ml_domain) -> None:  # type: ignore[no-untyped-def]
    deps = _deps(ml_domain)
    h = deps.history_turns
    msgs: list[Any] = []
    prompts = []
    for i in range(12):
        msgs.append(HumanMessage(f"request {i}"))
        prompts.append(_text(plan_messages(deps, {"messages": list(msgs)}, f"request {i}")[-1]))
        msgs.append(AIMessage(REPLY))
    moved = [i for i in range(1, 12) if not prompts[i].startswith(prompts[i - 1] + "\n\n")]
    assert moved == list(range(h + 1, 12, h - 1))  # a cache miss every h - 1 turns, not every turn
    for i, p in enumerate(prompts):
        shown = p.count("request ") - 1
        assert min(i, h - 1) <= shown <= h and p.endswith(f"request {i}")  # never more history than before


def test_nearest_mode_puts_the_chosen_demos_after_the_head(ml_domain) -> None:  # type: ignore[no-untyped-def]
    deps = _deps(ml_domain, demo_mode="nearest")
    assert len(deps.plan_prefix) == 1
    demo = {"request": "a heist", "plan": {"steps": [{"tool": "retrieve", "query": "heist"}]}}
    msgs = plan_messages(deps, {"messages": [HumanMessage("x")], "demos": [demo]}, "x")
    assert [_text(m) for m in msgs[1:]] == ["a heist", '{"steps":[{"tool":"retrieve","query":"heist"}]}', "x"]


def test_an_unknown_demo_mode_is_a_clear_error(ml_domain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTEREC_DEMOS", "closest")
    with pytest.raises(ValueError, match="demo mode must be one of prefix, nearest .*INTEREC_DEMOS"):
        _deps(ml_domain)


def test_the_planner_does_not_write_the_count_code_reads() -> None:
    assert "map" not in {t.name for t in plan_tools()}
    for line in (Path(__file__).parents[2] / "prompts" / "demos" / "core.jsonl").read_text().splitlines():
        plan = json.loads(line)["plan"]
        assert "map" not in {s["tool"] for s in plan["steps"]}
        assert all(len(s.get("where", [])) <= MAX_CONDITIONS for s in plan["steps"])  # demos fit the schema


def test_the_plan_schema_is_lean_for_the_planner_only(ml_domain) -> None:  # type: ignore[no-untyped-def]
    deps = _deps(ml_domain)
    schema = json_schema_for(deps.plan_model, all_required=False)
    assert '"const": "map"' not in json.dumps(schema) and '"const": "rank"' in json.dumps(schema)
    [filt] = [v for v in schema["properties"]["steps"]["items"]["anyOf"] if v["properties"]["tool"]["const"] == "filter"]
    assert filt["properties"]["where"]["maxItems"] == MAX_CONDITIONS
    assert schema["properties"]["like"]["maxItems"] == MAX_LIKES
    steps = {v["properties"]["tool"]["const"]: v["properties"] for v in schema["properties"]["steps"]["items"]["anyOf"]}
    assert steps["similar"]["titles"]["maxItems"] == steps["rank"]["avoid"]["maxItems"] == MAX_SEEDS
    assert steps["store"]["titles"]["maxItems"] > MAX_SEEDS  # "which of these five?" lists every candidate
    with pytest.raises(ValidationError):
        deps.plan_model.model_validate({"steps": [{"tool": "filter", "where": [
            {"col": "year", "op": ">", "val": y} for y in (1990, 1991, 1992, 1993)]}]})
    [tool] = [t for t in plan_tools() if t.name == "filter"]  # other callers of the tool keep its own limit
    assert tool.make_args(ml_domain.schema).model_json_schema()["properties"]["where"]["maxItems"] > MAX_CONDITIONS


def test_a_condition_is_one_short_string_that_code_expands(ml_domain) -> None:  # type: ignore[no-untyped-def]
    schema = ml_domain.schema
    model = _deps(ml_domain).plan_model
    plan = model.model_validate_json(json.dumps({"steps": [{"tool": "filter", "where": [
        "genres contains Comedy", "year >= 1990", {"col": "genres", "op": "not contains", "val": "Horror"}]}]}))
    assert plan_steps(plan, schema) == [{"tool": "filter", "where": [
        {"col": "genres", "op": "contains", "val": "Comedy"}, {"col": "year", "op": ">=", "val": 1990.0},
        {"col": "genres", "op": "not contains", "val": "Horror"}]}]  # the object form (remote models) still reads
    for bad in ("year >= nineties", "genres >= 3", "colour contains red", 'genres contains "x"', "genres contains "):
        with pytest.raises(ValidationError):
            model.model_validate({"steps": [{"tool": "filter", "where": [bad]}]})
    assert parse_condition("year >= nineties", schema) is None
    # what the grammar sees: column and operator names only, no group names, nothing from the catalog's values
    sent = json_schema_for(model, all_required=False)
    [pattern] = {v["pattern"] for v in _walk(sent) if "pattern" in v}
    assert "?P<" not in pattern and "genres|tags" in pattern and "Comedy" not in json.dumps(sent)
    # the demos show the planner the compact form
    head = _deps(ml_domain).plan_prefix
    shown = [json.loads(_text(m)) for m in head[2::2]]
    conds = [c for p in shown for s in p.get("steps", []) if s["tool"] == "filter" for c in s["where"]]
    assert conds and all(isinstance(c, str) for c in conds)


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *[x for v in node.values() for x in _walk(v)]]
    if isinstance(node, list):
        return [x for v in node for x in _walk(v)]
    return []


class _Recorder:
    """Stands in for the local chat model: records what the warm-up sends."""

    interec_provider = "local"

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], list[BaseMessage]]] = []

    def bind(self, **kw: Any) -> Any:
        outer = self

        class _Bound:
            def invoke(self, messages: list[BaseMessage], config: Any = None) -> None:
                outer.calls.append((kw, messages))

        return _Bound()


def test_warm_up_reads_the_prefix_once_on_the_local_model_only(ml_domain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from models import local_llm

    saved: dict[str, int] = {}
    asked: list[tuple[str, str]] = []

    def fake_slot_cache(name: str, action: str) -> int:  # a real server may be running in this process
        asked.append((name, action))
        if action == "save":
            saved[name] = 1600
        return saved.get(name, 0)

    monkeypatch.setattr(local_llm, "slot_cache", fake_slot_cache)
    rec = _Recorder()
    deps = AgentDeps(ml_domain, llm=rec, profiles=None)  # type: ignore[arg-type]
    thread = deps.warm_planner()
    assert thread is not None
    thread.join(10)
    [(kw, sent)] = rec.calls  # nothing saved yet: the model reads the prefix, then it is saved
    assert kw == {"max_tokens": 1} and sent[:-1] == deps.plan_prefix
    name = asked[0][0]
    assert asked == [(name, "restore"), (name, "save")] and name.startswith("plan-")
    second = deps.warm_planner()  # a later start: loaded from the saved file, no model call
    assert second is not None
    second.join(10)
    assert len(rec.calls) == 1 and asked[-1] == (name, "restore")
    rec.interec_provider = "openai"
    assert deps.warm_planner() is None and len(rec.calls) == 1
