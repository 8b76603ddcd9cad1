"""A chat "why did you recommend X?" reaches the explain tool; an LLM phrasing with invented facts is replaced."""

from __future__ import annotations

from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

from graph.agent import Agent, make_deps
from graph.builder import build_graph
from tests.fakes import ScriptedLLM, default_reply


def test_why_question_is_answered_from_facts(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(replies=[default_reply, "You will love it: 99% of Titanic (1997) fans rated it a Horror gem."])
    deps = make_deps(ml_domain, llm, memory_path=tmp_path, use_models=False)
    agent = Agent(deps, build_graph(deps, InMemorySaver()))
    first = agent.ask("I loved Toy Story, recommend something similar", "t1", "ann")
    assert first["items"]
    item = first["items"][0]["title"]
    st = agent.ask(f"Why did you recommend {item.rsplit(' (', 1)[0]}?", "t1", "ann")
    text = str(st["messages"][-1].content)
    assert st["plan"]["steps"][0]["tool"] == "explain" and llm.count("plan") == 0
    assert st["plan"]["steps"][0]["liked"][:1] == ["Toy Story (1995)"]
    assert text.startswith("Why ") and "Titanic" not in text and "99%" not in text  # the invented phrasing is gone
    assert "Toy Story" in text or "shares nothing" in text
    assert st["items"] == []


def test_reply_writer_gets_evidence_and_may_cite_liked_items(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def cite(prompt: str) -> str:
        lines = prompt.split("Evidence:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        title, fact = lines[0].split(": ", 1)
        return f"1. {title.rsplit(' (', 1)[0]} - {fact.split('; ')[0]}."

    llm = ScriptedLLM(replies=[cite])
    deps = make_deps(ml_domain, llm, memory_path=tmp_path, use_models=False)
    agent = Agent(deps, build_graph(deps, InMemorySaver()))
    st = agent.ask("I loved Toy Story, recommend something similar", "t2", "bob")
    prompt = next(p for kind, p in llm.log if kind == "reply")
    evidence = prompt.split("Evidence:\n", 1)[1].split("\n\n", 1)[0]
    assert "users who liked Toy Story (1995)" in evidence
    assert len(evidence) <= 120 * 4  # the reply budget (tokens, ~3.5 characters each)
    text = str(st["messages"][-1].content)
    assert "users who liked Toy Story" in text and st["invented"] == []  # citing the liked item is grounded
