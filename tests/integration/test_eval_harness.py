"""The evaluator end to end on MovieLens: suites, baselines, the agent with a scripted LLM, run folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.cases import make_cases
from evals.llm_systems import LLMAloneSystem
from evals.registry import make_system
from evals.rundir import RunConfigError
from evals.runner import EvalSpec, run_eval
from evals.scripted import ScriptedEvalLLM
from evals.simulators import TemplatedSimulator
from evals.systems import KeywordSystem, parse_titles, resolve_titles
from tests.fakes import ScriptedLLM


def spec(suite: str, systems: list[str], n: int = 6, **kw) -> EvalSpec:  # type: ignore[no-untyped-def]
    kw.setdefault("bank", "dev")  # tests never read the test phrasing bank's numbers
    return EvalSpec(suite=suite, n=n, systems=systems, progress=False, **kw)


def _pop_rank(domain, iid: int) -> int:  # type: ignore[no-untyped-def]
    """1-based rank of an item in the popularity baseline's order (popularity desc, then iid)."""
    pop = domain.popularity
    return 1 + sum(1 for j in range(len(pop)) if (pop[j], -j) > (pop[iid], -iid))


def test_simulator_suite_writes_a_resumable_run(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    res = run_eval(ml_domain, spec("simulator", ["random", "popularity", "keyword"], n=12), out, log=lambda s: None)
    for f in ("config.json", "cases.jsonl", "results.json", "report.md", "hit_by_turn.png", "metrics.png"):
        assert (out / f).is_file(), f
    assert len(list((out / "records" / "keyword").glob("*.json"))) == 12
    m = res["systems"]
    assert set(m) == {"random", "popularity", "keyword"}
    cases = make_cases(ml_domain, 12, split="test")
    # popularity shows the 25 most popular items over 5 turns, 5 a turn: a hit iff the target ranks <= 25
    expected = sum(_pop_rank(ml_domain, c.target) <= 25 for c in cases) / 12
    assert m["popularity"]["strict_H@5"] == pytest.approx(expected)
    for s in m.values():
        assert s["cases"] == 12 and s["non_trivial_cases"] == m["random"]["non_trivial_cases"]
        assert 1 <= s["strict_AT@5"] <= 6 and len(s["strict_curve"]) == 5
        assert s["llm_calls_per_turn"] == 0 and s["errors"] == 0
    assert m["keyword"]["strict_H@5"] > m["random"]["strict_H@5"]
    report = (out / "report.md").read_text()
    assert "| keyword |" in report and "Hit rate by turn (strict judge)" in report
    # resume: nothing is run again, same numbers; another system is added to the same table
    again = run_eval(ml_domain, spec("simulator", ["keyword"], n=12), out, log=lambda s: None)
    assert again["timings"]["keyword"]["new_cases"] == 0
    assert again["systems"]["keyword"] == m["keyword"]
    assert set(again["systems"]) == {"random", "popularity", "keyword"}
    # a cached case that recorded a failure (e.g. an LLM timeout) is redone only with retry_errors
    rec_path = next((out / "records" / "keyword").glob("*.json"))
    rec = json.loads(rec_path.read_text())
    rec["turns"][0]["error"] = "LLMUnavailable: timeout"
    rec_path.write_text(json.dumps(rec))
    assert run_eval(ml_domain, spec("simulator", ["keyword"], n=12), out, log=lambda s: None)["timings"]["keyword"][
        "new_cases"] == 0
    redo = run_eval(ml_domain, spec("simulator", ["keyword"], n=12, retry_errors=True), out, log=lambda s: None)
    assert redo["timings"]["keyword"]["new_cases"] == 1
    assert not any(t["error"] for t in json.loads(rec_path.read_text())["turns"])
    with pytest.raises(RunConfigError, match="seed"):
        run_eval(ml_domain, spec("simulator", ["keyword"], n=12, seed=1), out, log=lambda s: None)


def test_conversation_records_are_judged_per_turn(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    run_eval(ml_domain, spec("simulator", ["keyword"], n=10, workers=2), out, log=lambda s: None)
    cases = {c.case_id: c for c in make_cases(ml_domain, 10, split="test")}
    for f in (out / "records" / "keyword").glob("*.json"):
        r = json.loads(f.read_text())
        c = cases[r["case_id"]]
        assert 1 <= len(r["turns"]) <= 5
        for t in r["turns"]:
            assert t["strict"] == (c.target in t["items"])
            assert len(t["items"]) == 5
        shown = [i for t in r["turns"] for i in t["items"]]
        assert len(shown) == len(set(shown))  # a baseline never repeats what the user turned down
        if r["hit_strict"] is not None:
            assert r["hit_strict"] == len(r["turns"])


def test_validation_users_never_meet_report_users(ml_domain) -> None:  # type: ignore[no-untyped-def]
    valid = {c.user for c in make_cases(ml_domain, 10_000, split="valid")}
    test = {c.user for c in make_cases(ml_domain, 10_000, split="test")}
    every = {c.user for c in make_cases(ml_domain, 10_000)}
    assert not valid & test and valid | test == every
    assert 0.15 < len(valid) / len(every) < 0.25
    assert {c.user for c in make_cases(ml_domain, 50, seed=7, split="valid")} <= valid  # whatever the seed


def test_keyword_baseline_ranks_by_stated_values(ml_domain) -> None:  # type: ignore[no-untyped-def]
    """Recomputed with plain regexes over every item's values: count of values said, then popularity."""
    kw = KeywordSystem(ml_domain)
    texts = ["Hi! I want a movie. Something in comedy.", "No, not those. Maybe with some ROMANCE? From 1995."]
    said = " ".join(texts).lower()
    items, pop = ml_domain.items, ml_domain.popularity

    def count(i: int) -> int:
        row = items.iloc[i]
        values = {f"genres={v.lower()}" for v in row["genres"].split("|") if v}
        values |= {f"tags={v.strip().lower()}" for v in str(row["tags"] or "").split("|") if len(v.strip()) >= 2}
        if row["year"] == row["year"]:
            values.add(f"year={row['year']:g}")
        return sum(1 for v in values if re.search(rf"(?<![a-z0-9]){re.escape(v.split('=', 1)[1])}(?![a-z0-9])", said))

    counts = [count(i) for i in range(len(items))]
    expected = sorted(range(len(items)), key=lambda i: (-counts[i], -int(pop[i]), i))[:20]
    assert kw.ranked(texts)[:20] == expected
    assert counts[expected[0]] >= 3  # comedy, romance and 1995 at least


def test_templated_simulator_is_mostly_non_trivial_and_says_periods(ml_domain) -> None:  # type: ignore[no-untyped-def]
    """The reveal budget leaves most MovieLens cases for history and ranking to decide (dev bank, validation users)."""
    sim = TemplatedSimulator(ml_domain, 0, bank="dev")
    cases = make_cases(ml_domain, 60, split="valid")
    ranks = [sim.session(c).final_rank for c in cases]
    assert sum(r > 5 for r in ranks) / len(ranks) > 0.5
    years = 0
    for c in cases[:30]:
        s = sim.session(c)
        texts = [s.first().text] + [s.respond("x", ["y"]).text for _ in range(4)]
        y = c.attributes.get("year")
        bare = [re.sub(r"\(\d{4}\)", "", t) for t in texts]  # liked titles carry their own years
        years += any(re.search(rf"\b{y}\b(?!s)", t) for t in bare) if y else 0
    assert years == 0  # the exact year is never said (a period is)


def test_offline_and_one_turn_suites(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    systems = ["random", "popularity", "keyword"]
    ret = run_eval(ml_domain, spec("retrieval", systems), tmp_path / "ret", log=lambda s: None)["systems"]
    for s in ret.values():
        assert {"NDCG@20", "Recall@1", "Hit@10", "Precision@5", "MAP@20", "MRR@20"} <= set(s)
        assert s["not_in_catalog"] == 0 and s["duplicate"] == 0 and s["history_copy"] == 0
        assert s["list_length"] == 20
    rank = run_eval(ml_domain, spec("ranking", systems), tmp_path / "rank", log=lambda s: None)["systems"]
    for s in rank.values():
        assert s["not_in_candidates"] == 0 and s["NDCG@20"] > 0  # the target is always among the 20
        assert s["NDCG@20"] == pytest.approx(s["N@20_completed"])
    otr = run_eval(ml_domain, spec("one-turn-ranking", systems), tmp_path / "otr", log=lambda s: None)["systems"]
    assert all(s["N@20"] > 0 and s["ranked_by_system"] == 1.0 for s in otr.values())
    one = run_eval(ml_domain, spec("one-turn-retrieval", systems), tmp_path / "one", log=lambda s: None)["systems"]
    top5 = sum(_pop_rank(ml_domain, c.target) <= 5 for c in make_cases(ml_domain, 6, split="test")) / 6
    assert one["popularity"]["strict_R@5"] == pytest.approx(top5) and one["random"]["strict_R@5"] == 0.0
    rec = json.loads(next((tmp_path / "one" / "records" / "keyword").glob("*.json")).read_text())
    assert rec["request"].startswith("I liked ")


def test_llm_alone_titles_are_resolved_for_the_strict_judge(ml_domain) -> None:  # type: ignore[no-untyped-def]
    answer = ("Here you go:\n1. **The Matrix (1999)** - mind-bending\n2. Not A Real Film At All (1999) - x\n"
              "3. Heat - a crime epic\n- Toy Story (1995): fun")
    assert parse_titles(answer) == ["The Matrix (1999)", "Not A Real Film At All (1999)", "Heat", "Toy Story (1995)"]
    llm = ScriptedLLM(replies=[answer])
    case = make_cases(ml_domain, 1)[0]
    reply = LLMAloneSystem(ml_domain, llm).session(case).turn("a movie please", n=5)
    titles = ml_domain.titles
    assert [titles[i] if i is not None else None for i in reply.items] == [
        "Matrix, The (1999)", None, "Heat (1995)", "Toy Story (1995)"]
    assert reply.llm_calls == 1
    among = [titles.index("Heat (1995)"), titles.index("Casino (1995)")]
    assert resolve_titles(ml_domain, ["casino", "heat (1995)", "jaws"], among=among) == [among[1], among[0], None]


def test_agent_and_llm_baselines_with_a_scripted_llm(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    res = run_eval(ml_domain_indexed, spec("simulator", ["dense", "chatrec", "agent"], n=3), out,
                   llm=ScriptedEvalLLM(), log=lambda s: None)
    m = res["systems"]
    assert m["agent"]["errors"] == 0 and m["chatrec"]["errors"] == 0
    # at most plan + reply; since the domain-driven understanding merge a turn code fully understood may need
    # no call at all (measured 0.7 per turn on these 3 cases)
    assert m["agent"]["llm_calls_per_turn"] <= 2
    turns = [t for f in (out / "records" / "agent").glob("*.json") for t in json.loads(f.read_text())["turns"]]
    assert all(t["llm_calls"] in (0, 1, 2) for t in turns)
    assert m["chatrec"]["llm_calls_per_turn"] == 1
    for f in (out / "records" / "agent").glob("*.json"):
        r = json.loads(f.read_text())
        assert all(t["items"] for t in r["turns"])  # the code-side planner still recommends
    # chatrec with an echoing LLM picks the retriever's first candidates: it equals dense on the first turn
    d = json.loads(next((out / "records" / "dense").glob("*.json")).read_text())
    c = json.loads((out / "records" / "chatrec" / next((out / "records" / "dense").glob("*.json")).name).read_text())
    assert d["turns"][0]["items"] == c["turns"][0]["items"]


def test_make_system_rejects_unknown_and_llm_less(ml_domain) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown system"):
        make_system("oracle", ml_domain, None)
    with pytest.raises(ValueError, match="needs an LLM"):
        make_system("llm", ml_domain, None)
