"""The agent's opt-in rank="gen": the LLM re-orders the tools' top candidates under a catalog constraint;
invented titles are dropped and the answer is always filled from the tools' order."""

from __future__ import annotations

from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

from graph.agent import Agent, make_deps
from graph.builder import build_graph
from models.constrained import display_title
from tests.fakes import ScriptedLLM

PLAN = {"reply": None, "like": [], "dislike": [], "steps": [
    {"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Animation"}]},
    {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}


def make(domain, tmp_path: Path, llm: ScriptedLLM) -> Agent:  # type: ignore[no-untyped-def]
    deps = make_deps(domain, llm, memory_path=tmp_path, use_models=False)
    deps.code_plans = False
    return Agent(deps, build_graph(deps, InMemorySaver()))


def test_gen_rank_reorders_the_top_candidates(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = make(ml_domain, tmp_path / "a", ScriptedLLM(plans=[PLAN]))
    before = [it["iid"] for it in base.ask("some animated movies", "t0", "u0")["items"]]
    assert len(before) == 5
    t = [display_title(ml_domain.titles[i]) for i in before]
    llm = ScriptedLLM(plans=[PLAN], replies=[
        f"1. {t[4]}\n2. Not A Real Movie (1999)\n3. {t[4]}\n4. {t[2]}\n5. {t[4]}",  # constrained answer
        f"1. {t[0]}\n2. {t[4]}",  # the refill for the two missing (the chosen are excluded there)
    ])
    st = make(ml_domain, tmp_path / "b", llm).ask("some animated movies", "t1", "u1", rank="gen")
    after = [it["iid"] for it in st["items"]]
    assert after[:3] == [before[4], before[2], before[0]]
    assert sorted(after) == sorted(before)  # nothing outside the tools' candidates
    assert st["llm_calls"] == 4  # plan, generation, refill, reply
    track = [x for x in st["bus"]["track"] if x["tool"] == "gen-rank"]
    assert track and "dropped" in track[0]["output"]


def test_without_the_setting_no_generation_call(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(plans=[PLAN])
    st = make(ml_domain, tmp_path, llm).ask("some animated movies", "t2", "u2")
    assert st["llm_calls"] == 2 and llm.count("reply") == 1


def test_doke_rank_orders_the_top_candidates_with_knowledge(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = make(ml_domain, tmp_path / "c", ScriptedLLM(plans=[PLAN]))
    st0 = base.ask("some animated movies", "t3", "u3")
    before, pool = [it["iid"] for it in st0["items"]], st0["bus"]["candidates"][:20]
    llm = ScriptedLLM(plans=[PLAN], replies=['{"ranking": [7, 3, 3, 1]}'])  # a repeat, and one short
    st = make(ml_domain, tmp_path / "d", llm).ask("some animated movies", "t4", "u4", rank="doke")
    after = [it["iid"] for it in st["items"]]
    assert after[:3] == [pool[6], pool[2], pool[0]] and len(after) == 5
    assert set(after) <= set(pool)  # only what the tools found
    assert "knowledge facts" in next(x for x in st["bus"]["track"] if x["tool"] == "doke-rank")["output"]
    assert st["llm_calls"] == 3  # plan, ranking, reply
    # an unusable ranking (a number outside the list) keeps the tools' order, and says so
    llm = ScriptedLLM(plans=[PLAN], replies=['{"ranking": [99]}'])
    st = make(ml_domain, tmp_path / "e", llm).ask("some animated movies", "t5", "u5", rank="doke")
    assert [it["iid"] for it in st["items"]] == before
    assert "kept the tools' order" in next(x for x in st["bus"]["track"] if x["tool"] == "doke-rank")["output"]
