"""Cases, the templated simulator and the LLM simulator's leak guard, on the bring-your-own shop domain."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evals.cases import make_cases, ranking_candidates, sample_negatives
from evals.judges import leaks
from evals.llm_simulator import SIM_RETRY, LLMSimulator
from evals.sim_facts import natural_title
from evals.simulators import END, TemplatedSimulator, an
from tests.conftest import SHOP
from tests.fakes import ScriptedLLM


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from models.build import build_domain
    from models.config import load_config
    from models.domain import Domain

    root = tmp_path_factory.mktemp("evshop")
    shutil.copytree(SHOP, root / "shop")
    cfg = load_config(root / "shop")
    art = root / "art"
    build_domain(cfg, art, progress=False, index=False)
    return Domain(cfg, art)


def test_cases_hold_history_and_target(shop) -> None:  # type: ignore[no-untyped-def]
    cases = make_cases(shop, 100, seed=0)
    assert 1 <= len(cases) <= 8
    inter = shop.interactions
    for c in cases:
        test = inter[(inter["uid"] == c.uid) & (inter["split"] == "test")]
        assert int(test["iid"].iloc[0]) == c.target
        assert c.target not in c.history and 1 <= len(c.history) <= 10
        assert c.title == shop.titles[c.target]
        assert c.history_titles == tuple(shop.titles[i] for i in c.history)
        assert "tags" in c.attributes and isinstance(c.attributes["tags"], list)
        assert "title" not in c.attributes
    p0 = next(c for c in cases if c.user == "p0")  # plays G001 G004 G007 G010: last is test, others history
    assert p0.title == "Mind Maze" and p0.history_titles == ("Portal Quest", "Neon Drift", "Sky Shooter")
    # prefix-stable: more cases never reorder the first ones; another seed gives another order
    assert [c.case_id for c in make_cases(shop, 3, seed=0)] == [c.case_id for c in cases[:3]]
    assert [c.case_id for c in make_cases(shop, 8, seed=1)] != [c.case_id for c in cases]


def test_negatives_avoid_the_users_items(shop) -> None:  # type: ignore[no-untyped-def]
    case = make_cases(shop, 1, seed=0)[0]
    negs = sample_negatives(shop, case, 19, seed=0)  # a 12-item catalog has fewer: all of them
    assert negs and len(negs) == len(set(negs)) == 12 - len(set(case.seen) | {case.target})
    assert not set(negs) & (set(case.seen) | {case.target})
    cands = ranking_candidates(shop, case, 19, seed=0)
    assert case.target in cands and cands == ranking_candidates(shop, case, 19, seed=0)


def test_templated_simulator_is_deterministic_and_never_names_the_target(shop) -> None:  # type: ignore[no-untyped-def]
    cases = make_cases(shop, 8, seed=0)

    def dialogue(seed: int) -> list[list[str]]:
        sim = TemplatedSimulator(shop, seed)
        out = []
        for c in cases:
            s = sim.session(c)
            turns = [s.first().text] + [s.respond("1. Star Racer\n2. Neon Drift", ["Star Racer", "Neon Drift"]).text
                                        for _ in range(4)]
            out.append(turns)
        return out

    a, b = dialogue(0), dialogue(0)
    assert a == b
    assert dialogue(1) != a  # phrasing varies with the seed
    for c, turns in zip(cases, a, strict=True):
        for text in turns:
            assert text and not leaks(text, c.title), (c.title, text)
            assert c.title.lower() not in text.lower()


def test_templated_facts_come_from_the_target_few_at_a_time(shop) -> None:  # type: ignore[no-untyped-def]
    for c in make_cases(shop, 8, seed=0):
        s = TemplatedSimulator(shop, 3).session(c)
        turns = [s.first()] + [s.respond("nothing", ["Star Racer"]) for _ in range(5)]
        revealed = [k for t in turns for k in t.facts]
        for t in turns:
            assert len(t.facts) < 3
        assert revealed and len(revealed) == len(set(revealed))
        for key in revealed:
            if key.startswith("tags="):
                assert key.split("=", 1)[1] in c.attributes["tags"]
            if key.startswith("category="):
                assert key.split("=", 1)[1] == c.attributes["category"]
        feedback = turns[1].text
        # feedback names nothing it was shown (a liked title the user brings up is not feedback)
        assert "Star Racer" not in feedback or c.title == "Star Racer" or "Star Racer" in c.history_titles


def test_one_turn_request_has_history_and_facts(shop) -> None:  # type: ignore[no-untyped-def]
    c = next(c for c in make_cases(shop, 8, seed=0) if c.user == "p0")
    text = TemplatedSimulator(shop, 0).session(c).one_turn_request()
    assert text.startswith("I liked Sky Shooter, Neon Drift and Portal Quest.")
    assert "Mind Maze" not in text


def test_llm_simulator_regenerates_a_leaking_reply(shop) -> None:  # type: ignore[no-untyped-def]
    c = next(c for c in make_cases(shop, 8, seed=0) if c.user == "p0")  # target "Mind Maze"
    llm = ScriptedLLM(replies=["I want Mind Maze!", "User: A shooter game, single-player please."])
    s = LLMSimulator(shop, llm, seed=0, max_retries=2).session(c)
    t = s.first()
    assert t.text == "A shooter game, single-player please."
    assert (t.llm_calls, t.regenerated, t.fallback, t.end) == (2, 1, False, False)
    assert SIM_RETRY.split(",")[0].format(item="game") in llm.log[1][1]  # the retry says why
    assert "Mind Maze" in s.system or "mind maze" not in s.system.lower()  # the prompt may hold it; replies never


def test_llm_simulator_falls_back_to_the_template_after_bounded_retries(shop) -> None:  # type: ignore[no-untyped-def]
    c = next(c for c in make_cases(shop, 8, seed=0) if c.user == "p0")
    llm = ScriptedLLM(replies=["Mind Maze", "mind maze please", "It is called Mind-Maze", "never used"])
    s = LLMSimulator(shop, llm, seed=0, max_retries=2).session(c)
    t = s.first()
    assert (t.llm_calls, t.regenerated, t.fallback) == (3, 3, True)
    assert len(llm.log) == 3
    assert t.text == TemplatedSimulator(shop, 0).session(c).first().text  # the same turn, templated
    assert not leaks(t.text, c.title)


def test_llm_simulator_end_token(shop) -> None:  # type: ignore[no-untyped-def]
    c = next(c for c in make_cases(shop, 8, seed=0) if c.user == "p0")
    llm = ScriptedLLM(replies=["A shooter game please.", f"Thanks, that's enough. {END}"])
    s = LLMSimulator(shop, llm).session(c)
    assert not s.first().end
    t = s.respond("1. Star Racer", ["Star Racer"])
    assert t.end and t.text == "Thanks, that's enough." and END not in t.text
    assert "Recommender: 1. Star Racer" in llm.log[1][1]  # the dialogue so far is in the prompt


def test_helpers() -> None:
    assert natural_title("Grand Budapest Hotel, The (2014)") == "The Grand Budapest Hotel (2014)"
    assert natural_title("Heat (1995)") == "Heat (1995)"
    assert (an("action"), an("comedy"), an("80s")) == ("an", "a", "an")


def test_simulator_prompt_never_shows_leaking_attributes(shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = next(c for c in make_cases(shop, 8, seed=0) if c.user == "p0")
    s = LLMSimulator(shop, ScriptedLLM()).session(c)
    facts = s.system.split("(keep its name secret)")[1].split("before:")[0]
    assert "Mind Maze" not in facts  # "about" says "A shooter game called Mind Maze.": left out
    assert "shooter" in facts
