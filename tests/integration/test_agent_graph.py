"""Full conversations through the real graph, tools, stores and MovieLens data; only the LLM is scripted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.agent import Agent, InputError, check_message, make_deps
from graph.builder import build_graph
from memory.checkpoint import open_checkpointer
from models.llm import LLMUnavailable
from tests.conftest import ROOT
from tests.fakes import ScriptedLLM

TOY_PLAN = {"reply": None, "like": ["Toy Story"], "dislike": [], "steps": [
    {"tool": "filter", "where": [{"col": "year", "op": ">", "val": "2000"}]},
    {"tool": "similar", "titles": ["Toy Story"]},
    {"tool": "rank", "by": "preference", "prefer": ["Toy Story"], "avoid": []}]}


def make(domain, tmp_path: Path, llm: ScriptedLLM, critic: str = "rules", checkpointer: Any = None,  # type: ignore[no-untyped-def]
         code_plans: bool = False, writer: str = "llm") -> Agent:
    """Most tests drive the LLM planner and reply writer, so code planning and code-written lists are off
    unless a test asks for them."""
    deps = make_deps(domain, llm, memory_path=tmp_path, critic=critic, use_models=False)
    deps.code_plans = code_plans
    deps.writer = writer
    return Agent(deps, build_graph(deps, checkpointer or InMemorySaver()))


def reply(state: dict[str, Any]) -> str:
    return str(state["messages"][-1].content)


def test_similar_after_2000(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(plans=[TOY_PLAN])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("I loved Toy Story, something similar but released after 2000", "t1", "alice")
    items = st["items"]
    assert len(items) == 5
    titles = set(ml_domain_indexed.titles)
    years = ml_domain_indexed.items.set_index("iid")["year"]
    for it in items:
        assert it["title"] in titles
        assert years[it["iid"]] > 2000
        assert not it["title"].startswith("Toy Story (1995)")
        assert it["title"].rsplit(" (", 1)[0] in reply(st)
    assert st["llm_calls"] == 2 and llm.count("plan") == 1 and llm.count("reply") == 1
    assert st["invented"] == []


def test_critic_rejection_leads_to_better_second_plan(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = {"steps": [{"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
    second = {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Animation"}]},
                        {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
    llm = ScriptedLLM(plans=[first, second],
                      critiques=[{"ok": False, "advice": "You should keep only animated movies."}, {"ok": True, "advice": ""}])
    agent = make(ml_domain_indexed, tmp_path, llm, critic="llm")
    st = agent.ask("show me the best cartoons for tonight", "t-crit", "carol")
    assert st["attempts"] == 2
    assert st["critiques"] == ["You should keep only animated movies."]
    assert "Your previous plan was rejected: You should keep only animated movies." in llm.log[2][1]
    genres = ml_domain_indexed.items.set_index("iid")["genres"]
    assert st["items"] and all("Animation" in genres[i["iid"]] for i in st["items"])
    assert st["llm_calls"] == 5  # 2 plans + 2 critiques + 1 reply


def test_an_impossible_combination_is_answered_closest_first_in_one_attempt(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No western from 1942 exists: the soft match answers the closest items in the same attempt (no relax
    loop, no second LLM plan), and the reply says what each one misses."""
    plan = {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Western"},
                                                    {"col": "year", "op": "=", "val": 1942}]},
                      {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
    llm = ScriptedLLM(plans=[plan, plan])
    agent = make(ml_domain_indexed, tmp_path, llm, writer="template")
    st = agent.ask("a western from 1942", "t-relax", "dan")  # MovieLens has none
    assert st["attempts"] == 1 and not st["critiques"] and llm.count("plan") == 1
    items = ml_domain_indexed.items.set_index("iid")
    assert len(st["items"]) == 5
    for it in st["items"]:  # each meets one of the two conditions, none both
        western, in_1942 = "Western" in items.loc[it["iid"], "genres"], items.loc[it["iid"], "year"] == 1942
        assert western != in_1942
    assert "No movie meets everything you asked for" in reply(st) and reply(st).count("not:") == 5


def test_conditions_the_user_never_stated_are_dropped(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"},
                                                    {"col": "popularity", "op": ">", "val": "100000"}]},
                      {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
    llm = ScriptedLLM(plans=[plan])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("a comedy please", "t-ground", "dan")
    assert st["attempts"] == 1
    assert any("did not state: popularity > 100000" in n for n in st["plan_notes"])
    genres = ml_domain_indexed.items.set_index("iid")["genres"]
    assert len(st["items"]) == 5 and all("Comedy" in genres[i["iid"]] for i in st["items"])


def test_conditions_carry_over_between_turns(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rank_only = {"steps": [{"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
    llm = ScriptedLLM(plans=[rank_only, rank_only, rank_only])
    agent = make(ml_domain_indexed, tmp_path, llm)
    agent.ask("I want a comedy", "t-multi", "eve")
    st = agent.ask("from the 90s please", "t-multi", "eve")
    items = ml_domain_indexed.items.set_index("iid")
    assert st["items"] and all("Comedy" in items.loc[i["iid"], "genres"] and 1990 <= items.loc[i["iid"], "year"] <= 1999
                               for i in st["items"])
    st = agent.ask("something completely different: horror", "t-multi", "eve")
    assert st["items"] and all("Comedy" not in items.loc[i["iid"], "genres"] or "Horror" in items.loc[i["iid"], "genres"]
                               for i in st["items"])
    assert all("Horror" in items.loc[i["iid"], "genres"] for i in st["items"])


def test_each_message_is_read_once_and_the_plan_is_typed(ml_domain_indexed, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Three turns: the understanding code reads each user message once (later turns reuse the reading), and
    the plan in the state carries every field of graph.state.Plan."""
    from graph.state import Plan
    from graph.understand.reading import Reader

    read: list[str] = []
    real = Reader.read
    monkeypatch.setattr(Reader, "read", lambda self, text: read.append(text) or real(self, text))
    rank_only = {"steps": [{"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
    agent = make(ml_domain_indexed, tmp_path, ScriptedLLM(plans=[rank_only] * 3))
    said = ["I want a comedy", "from the 90s please", "maybe something with time travel"]
    for text in said:
        st = agent.ask(text, "t-once", "ida")
    assert sorted(read) == sorted(said), read
    assert set(st["plan"]) == set(Plan.__annotations__), sorted(st["plan"])
    bus = st["bus"]  # the checkpointed bus keeps the fit of the items still in play, not of all matched
    assert bus["fit"] and set(bus["fit"]) <= {str(i) for i in bus["candidates"] + bus["mapped"]}


def test_tool_error_then_fixed_plan(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = {"steps": [{"tool": "sql", "query": "DROP TABLE items"}]}
    good = {"steps": [{"tool": "sql", "query": "SELECT count(*) AS n FROM items WHERE year = 1995"}]}
    llm = ScriptedLLM(plans=[bad, good], replies=[lambda p: "There are " + p.split("n: ")[1].split()[0] + " of them."])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("how many movies from 1995 are in the catalog?", "t-err", "erin")
    assert st["critiques"][0].startswith("The sql step failed")
    assert "only SELECT" in st["critiques"][0]
    n95 = int((ml_domain_indexed.items["year"] == 1995).sum())
    assert reply(st) == f"There are {n95} of them."


def test_tool_errors_every_time_end_in_a_graceful_answer(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = {"steps": [{"tool": "sql", "query": "SELECT * FROM sqlite_master"}]}
    llm = ScriptedLLM(plans=[bad, bad, bad])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("how many tables do you have?", "t-err2", "erin")
    assert st["attempts"] == 3
    assert len(st["critiques"]) == 3
    text = reply(st)
    assert "couldn't find" in text and "only `items` can be queried" in text
    assert llm.count("reply") == 0  # nothing grounded to phrase: an honest templated answer


def test_repeated_tool_in_one_plan(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = {"steps": [{"tool": "lookup", "titles": ["Heat"]}, {"tool": "lookup", "titles": ["Casino"]}]}
    llm = ScriptedLLM(plans=[plan], replies=[lambda p: "Heat is from 1995 and Casino is from 1995."])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("when were Heat and Casino released?", "t-rep", "fay")
    lookups = [t for t in st["bus"]["track"] if t["tool"] == "lookup"]
    assert len(lookups) == 2 and not any(t["error"] for t in lookups)
    prompt = llm.log[-1][1]
    assert "Heat (1995): genres: Action, Crime, Thriller" in prompt and "Casino (1995)" in prompt


def test_profile_shared_across_threads_of_one_user_only(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(plans=[TOY_PLAN, {"steps": [{"tool": "rank", "by": "preference", "prefer": [], "avoid": []}]},
                             {"steps": [{"tool": "rank", "by": "preference", "prefer": [], "avoid": []}]}])
    agent = make(ml_domain_indexed, tmp_path, llm)
    agent.ask("I loved Toy Story, something similar but released after 2000", "thread-a", "alice")
    st = agent.ask("recommend me something for tonight", "thread-b", "alice")
    assert st["profile"]["like"] == ["Toy Story (1995)"]
    assert "Toy Story" not in llm.log[-2][1]  # the new thread's plan prompt: code applies the profile, below
    rank = next(t for t in st["bus"]["track"] if t["tool"] == "rank")
    assert "Toy Story (1995)" in rank["input"]["prefer"]
    assert all(not i["title"].startswith("Toy Story (1995)") for i in st["items"])
    other = agent.ask("recommend me something for tonight", "thread-c", "bob")
    assert other["profile"]["like"] == []
    assert "Toy Story" not in llm.log[-2][1]
    # a fresh process reading the same store sees alice's profile, and nothing for bob
    code = ("import json,sys; sys.path.insert(0, {!r})\n"
            "from memory.profile import ProfileStore; from models.embedder import get_embedder\n"
            "s = ProfileStore(get_embedder(), path={!r})\n"
            "print(json.dumps([s.get('alice','movielens'), s.get('bob','movielens')]))").format(str(ROOT), str(tmp_path / "chroma"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    alice, bob = json.loads(out.stdout.strip().splitlines()[-1])
    assert alice["like"] == ["Toy Story (1995)"] and bob["like"] == []


def test_thread_history_survives_reopening_sqlite(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'threads.sqlite'}"
    llm = ScriptedLLM(plans=[{"reply": "Hi! What do you feel like watching?", "steps": []},
                             {"reply": "Sure.", "steps": []}])
    agent = make(ml_domain_indexed, tmp_path, llm, checkpointer=open_checkpointer(url))
    agent.deps.code_small_talk = False
    agent.ask("hello", "persist", "gil")
    reopened = make(ml_domain_indexed, tmp_path, llm, checkpointer=open_checkpointer(url))
    reopened.deps.code_small_talk = False
    st = reopened.ask("and again", "persist", "gil")
    texts = [m.content for m in st["messages"]]
    assert texts == ["hello", "Hi! What do you feel like watching?", "and again", "Sure."]
    assert "hello\n\nFollow-up request: and again" in llm.log[-1][1]  # history reached the planner


def test_invented_title_in_reply_is_caught(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def writer(prompt: str) -> str:
        return ("Try these:\n1. Toy Story 3 (2010) - more toys.\n2. Finding Nemo (2003) - fish.\n"
                "3. Zorblax Returns (2011) - a classic.\nEnjoy!")

    plan = {"steps": [{"tool": "filter", "where": [{"col": "year", "op": ">", "val": "2000"}]},
                      {"tool": "similar", "titles": ["Toy Story"]},
                      {"tool": "rank", "by": "preference", "prefer": ["Toy Story"], "avoid": []}]}
    llm = ScriptedLLM(plans=[plan], replies=[writer])  # "one" is the count: code reads it, the plan has no map step
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("I loved Toy Story, one similar movie after 2000 please", "t-inv", "hal")
    assert [i["title"] for i in st["items"]] == ["Toy Story 3 (2010)"]
    assert "Finding Nemo (2003)" in st["invented"] and "Zorblax Returns (2011)" in st["invented"]
    assert "Finding Nemo" not in reply(st) and "Zorblax" not in reply(st)
    assert "Toy Story 3" in reply(st)


def test_chit_chat_is_one_call_and_invented_direct_titles_are_dropped(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(plans=[{"reply": "Hello! Tell me what you like.", "steps": []},
                             {"reply": "You should watch Finding Nemo (2003)!", "steps": []}])
    agent = make(ml_domain_indexed, tmp_path, llm)
    agent.deps.code_small_talk = False  # let the planner answer, as a large model would
    st = agent.ask("hi there!", "t-chat", "ivy")
    assert reply(st) == "Hello! Tell me what you like." and st["llm_calls"] == 1
    st = agent.ask("what's up?", "t-chat", "ivy")
    assert "Finding Nemo" not in reply(st) and st["invented"] == ["Finding Nemo (2003)"]


def test_fully_understood_requests_are_planned_in_code(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM()
    agent = make(ml_domain_indexed, tmp_path, llm, code_plans=True)
    st = agent.ask("recommend three comedies from the 90s", "t-code", "lee")
    assert st["llm_calls"] == 1 and llm.count("plan") == 0 and llm.count("reply") == 1
    items = ml_domain_indexed.items.set_index("iid")
    assert len(st["items"]) == 3
    assert all("Comedy" in items.loc[i["iid"], "genres"] and 1990 <= items.loc[i["iid"], "year"] <= 1999 for i in st["items"])
    st = agent.ask("I loved Toy Story, something similar but released after 2000", "t-code2", "lee")
    assert llm.count("plan") == 0 and all(items.loc[i["iid"], "year"] > 2000 for i in st["items"]), st["plan_notes"]
    assert st["profile"]["like"] == [] and agent.deps.profiles.get("lee", "movielens")["like"] == ["Toy Story (1995)"]
    llm.plans.append({"steps": [{"tool": "retrieve", "query": "car chases and heists"}]})
    st = agent.ask("a film with great car chases and heists", "t-code3", "lee")
    assert llm.count("plan") == 1  # content words the hints cannot place: the LLM plans


def test_not_those_brings_new_items_under_the_same_conditions(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM()
    agent = make(ml_domain_indexed, tmp_path, llm, code_plans=True)
    items = ml_domain_indexed.items.set_index("iid")
    first = agent.ask("recommend a comedy from the 90s", "t-more", "kim")["items"]
    st = agent.ask("No, not those.", "t-more", "kim")
    second = st["items"]
    assert len(first) == len(second) == 5 and not {i["iid"] for i in first} & {i["iid"] for i in second}
    assert all("Comedy" in items.loc[i["iid"], "genres"] and 1990 <= items.loc[i["iid"], "year"] <= 1999 for i in second)
    assert st["shown"] == [i["iid"] for i in first + second]
    # a quoted description is searched by meaning inside the same conditions
    st = agent.ask("People describe it as 'golf'.", "t-more", "kim")
    assert any("golf" in str(items.loc[i["iid"], "tags"]).lower() for i in st["items"])
    assert llm.count("plan") == 0


def test_small_talk_is_answered_in_code_without_llm_calls(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM()
    agent = make(ml_domain_indexed, tmp_path, llm)
    for text in ("hello!", "thanks, bye", "who are you?"):
        st = agent.ask(text, "t-small", "ivy")
        assert st["llm_calls"] == 0 and st["items"] == []
    assert llm.log == []
    assert "recommender" in reply(st)


def test_direct_answer_to_a_recommendation_request_is_replaced_by_tools(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(plans=[{"reply": "Watch The Big Lebowski and The Hangover!", "steps": []}])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("recommend three comedies from the 90s", "t-direct", "jo")
    items = ml_domain_indexed.items.set_index("iid")
    assert len(st["items"]) == 3
    for it in st["items"]:
        assert "Comedy" in items.loc[it["iid"], "genres"] and 1990 <= items.loc[it["iid"], "year"] <= 1999
    assert "The Hangover" not in reply(st)


def test_llm_down_gives_a_clear_message(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(plans=[LLMUnavailable("LLM endpoint http://127.0.0.1:9 is unreachable")])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("recommend a movie", "t-down", "kim")
    assert "unreachable" in reply(st)
    assert [m.type for m in st["messages"]] == ["human", "ai"]


def test_llm_down_still_answers_what_code_read(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A timed-out plan call does not end the turn when code read the request: the list comes from code's
    reading, written by code (no second call to a model that is down), and the reply says why."""
    llm = ScriptedLLM(plans=[LLMUnavailable("LLM endpoint http://127.0.0.1:9 did not answer within 120 s")])
    agent = make(ml_domain_indexed, tmp_path, llm, code_plans=False, writer="llm")
    st = agent.ask("recommend three comedies from the 90s", "t-down2", "kim")
    items = ml_domain_indexed.items.set_index("iid")
    assert len(st["items"]) == 3 and llm.count("reply") == 0
    for it in st["items"]:
        assert "Comedy" in items.loc[it["iid"], "genres"] and 1990 <= items.loc[it["iid"], "year"] <= 1999
    assert "did not answer within 120 s" in reply(st)


@pytest.mark.parametrize("bad", ["", "   \n ", "x" * 5000, b"\xff\xfe"])
def test_bad_input_is_refused_before_the_graph(bad: Any) -> None:
    with pytest.raises(InputError):
        check_message(bad)


def test_understood_request_needs_no_llm_and_says_what_is_missed(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A request code fully reads is planned in code and its list written by code: 0 LLM calls; an item that
    misses a stated condition says so."""
    llm = ScriptedLLM(plans=[])
    agent = make(ml_domain_indexed, tmp_path, llm, code_plans=True, writer="template")
    st = agent.ask("a Sci-Fi comedy from the 90s, no horror", "t1", "alice")
    assert st["llm_calls"] == 0 and llm.count("plan") == 0 and llm.count("reply") == 0
    years = ml_domain_indexed.items.set_index("iid")["year"]
    genres = ml_domain_indexed.items.set_index("iid")["genres"]
    assert len(st["items"]) == 5
    for it in st["items"]:
        assert 1990 <= years[it["iid"]] <= 1999 and "Horror" not in genres[it["iid"]].split("|")
        assert it["title"] in reply(st)
    st = agent.ask("only Film-Noir ones", "t1", "alice")  # few 90s sci-fi comedy noirs: the reply says what is missed
    assert st["llm_calls"] == 0 and "not:" in reply(st)


def test_a_similarity_seed_that_is_no_item_costs_no_second_plan(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the user said the words, so repair keeps them as "mentioned"; no movie is called that, so the similar step
    # would fail and the critic would ask the LLM again (a 22 s look-up turn on the store, RESULTS "Eighth session")
    plan = {"steps": [{"tool": "filter", "where": ["genres contains Comedy"]},
                      {"tool": "similar", "titles": ["Zorblax Quintet"]}], "like": []}
    llm = ScriptedLLM(plans=[plan, plan, plan])
    agent = make(ml_domain_indexed, tmp_path, llm)
    st = agent.ask("zorblax quintet kind of comedies please, the funny ones", "t", "u")
    assert llm.count("plan") == 1 and st["attempts"] == 1 and not st.get("critiques")
    assert any("no item in the catalog: Zorblax Quintet" in n for n in st["plan_notes"])
    assert st["items"]
