"""Run a suite over n cases for several systems into a run folder; resumable and parallel.

Run folder:
    config.json            what was run (a resumed run must match it, except n and systems)
    cases.jsonl            the cases (user, target, history)
    records/<system>/<case>.json   one finished case per file: the cache a resumed run skips
    results.json           metrics per system, timings
    report.md, *.png       the tables and plots (evals/report.py)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from tqdm import tqdm

from evals.cases import EvalCase, make_cases
from evals.explain import EXPLAINERS, aggregate_judgements, explain_case, judge_case
from evals.registry import SUITES, make_simulator, make_system
from evals.rundir import RunDir, read_json, write_json
from evals.sim_facts import REVEAL_BUDGET
from evals.suites import RunContext
from evals.systems import LLM_SYSTEMS, NO_LLM_SYSTEMS, System
from models.domain import Domain

ALL_SUITES = (*SUITES, "explanation")


@dataclass
class EvalSpec:
    suite: str
    n: int = 100
    seed: int = 0
    simulator: str = "templated"
    llm: str = "scripted"  # scripted | local | env
    systems: list[str] = field(default_factory=list)
    max_turns: int = 5
    workers: int = 1  # threads for systems without a real LLM
    llm_workers: int = 1  # threads when a real LLM is involved (one shared local server)
    critic: str = "rules"
    progress: bool = True
    retry_errors: bool = False  # rerun cached cases that recorded an error (e.g. an LLM timeout)
    split: str = "test"  # test: report users; valid: validation users (tuning only)
    bank: str = "test"  # the templated simulator's phrasing bank: test (reports) or dev (tests, tuning)
    budget: int = REVEAL_BUDGET  # facts the templated simulator reveals per conversation

    def fingerprint(self, domain: Domain) -> dict[str, Any]:
        return {"domain": domain.name, "domain_root": str(domain.config.root), "suite": self.suite, "seed": self.seed,
                "simulator": self.simulator, "llm": self.llm, "max_turns": self.max_turns, "split": self.split,
                "bank": self.bank, "budget": self.budget}


def default_systems(suite: str, llm: str) -> list[str]:
    if hasattr(SUITES.get(suite), "default_systems"):  # suites with their own systems (doke, explain)
        return SUITES[suite].default_systems(llm)
    if suite == "explanation":
        return list(EXPLAINERS)
    return [*NO_LLM_SYSTEMS, *(["llm", "chatrec", "agent"] if llm != "scripted" else ["agent"])]


def default_out(domain: Domain, spec: EvalSpec) -> Path:
    sim = f"-{spec.simulator}-{spec.bank}" if spec.suite in ("simulator", "one-turn-retrieval") else ""
    return Path("runs") / "eval" / f"{domain.name}-{spec.suite}{sim}-{spec.llm}-{spec.split}-s{spec.seed}"


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The commit a run was measured on (and whether the tree had uncommitted changes) and its command."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    argv = list(sys.argv if argv is None else argv)
    if argv and argv[0].endswith("app.py"):
        argv[0] = "python app.py"
    return {"commit": git("rev-parse", "HEAD") or "unknown",
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "command": " ".join(argv), "artifacts": os.environ.get("INTEREC_ARTIFACTS", "")}


def make_llm(kind: str) -> BaseChatModel | None:
    if kind == "scripted":
        from evals.scripted import ScriptedEvalLLM

        return ScriptedEvalLLM()
    from models.llm import LLMSettings
    from models.llm_factory import get_chat_model

    if kind == "local":
        return get_chat_model(LLMSettings.from_env(provider="local"))
    if kind == "env":
        return get_chat_model()
    raise ValueError(f"unknown --llm {kind!r}: use scripted, local or env")


def warm_up(llm: Any, log: Callable[[str], None] = print, tries: int = 3) -> None:
    """One tiny call before any case, so a model server still loading does not fail (or time) the first turns."""
    from langchain_core.messages import HumanMessage

    from evals.llmcall import bound

    t = time.perf_counter()
    for _ in range(tries):
        try:
            bound(llm, max_tokens=1).invoke([HumanMessage("Hi")])
            log(f"LLM ready ({time.perf_counter() - t:.1f} s)")
            return
        except Exception as e:  # noqa: BLE001 - reported; the cases record their own errors
            err = e
    log(f"warning: the LLM did not answer a warm-up call: {err}")


def has_error(record: dict[str, Any]) -> bool:
    """Did any turn of a cached case fail (an LLM timeout, a crash)?"""
    return bool(record.get("error")) or any(t.get("error") for t in record.get("turns", []))


def run_cases(name: str, cases: Sequence[EvalCase], fn: Callable[[EvalCase], dict[str, Any]], run: RunDir,
              workers: int = 1, progress: bool = True, retry_errors: bool = False,
              stamp: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], int, float]:
    """Every case through `fn`, skipping cached ones (and, with retry_errors, redoing cached failures);
    returns (records in case order, newly run, seconds)."""
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for c in cases:
        cached = run.load(name, c.case_id)
        if cached is not None and not (retry_errors and has_error(cached)):
            records[c.case_id] = cached
        else:
            todo.append(c)
    start = time.perf_counter()
    bar = tqdm(total=len(cases), initial=len(cases) - len(todo), desc=f"{name:>12}", unit="case",
               disable=not progress, dynamic_ncols=True)
    try:
        if workers <= 1:
            for c in todo:
                rec = {**fn(c), **(stamp or {})}
                run.save(name, c.case_id, rec)
                records[c.case_id] = rec
                bar.update(1)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(fn, c): c for c in todo}
                for fut in as_completed(futures):
                    c = futures[fut]
                    rec = {**fut.result(), **(stamp or {})}
                    run.save(name, c.case_id, rec)
                    records[c.case_id] = rec
                    bar.update(1)
    finally:
        bar.close()
    return [records[c.case_id] for c in cases if c.case_id in records], len(todo), time.perf_counter() - start


def run_eval(domain: Domain, spec: EvalSpec, out: Path | None = None, fresh: bool = False,
             llm: BaseChatModel | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run `spec` on `domain`; writes the run folder and returns the results dict."""
    if spec.suite not in ALL_SUITES:
        raise ValueError(f"unknown suite {spec.suite!r}: choose from {', '.join(ALL_SUITES)}")
    systems = spec.systems or default_systems(spec.suite, spec.llm)
    run = RunDir(out or default_out(domain, spec))
    run.check_config(spec.fingerprint(domain), fresh)
    t0 = time.perf_counter()
    cases = make_cases(domain, spec.n, spec.seed, split=spec.split)
    if not cases:
        raise ValueError(f"domain {domain.name} has no test cases (users with a held-out test item)")
    (run.root / "cases.jsonl").write_text("\n".join(json.dumps(c.to_json(), ensure_ascii=False) for c in cases) + "\n",
                                         encoding="utf-8")
    needs_llm = spec.simulator == "llm" or spec.suite == "explanation" or any(s in LLM_SYSTEMS for s in systems)
    needs_llm = needs_llm or bool(getattr(SUITES.get(spec.suite), "needs_llm", lambda s: False)(systems))
    if llm is None and needs_llm:
        llm = make_llm(spec.llm)
    real_llm = spec.llm != "scripted"
    if needs_llm and real_llm:
        warm_up(llm, log)
    log(f"{spec.suite} on {domain.name}: {len(cases)} cases, systems {', '.join(systems)}, llm {spec.llm}"
        + (f", simulator {spec.simulator}" if spec.suite in ("simulator", "one-turn-retrieval") else "")
        + f" -> {run.root}")
    results: dict[str, Any] = {"config": {**spec.fingerprint(domain), "n": len(cases), "systems": systems},
                               "systems": {}, "timings": {}, "provenance": provenance()}
    hits: dict[str, dict[str, bool]] = {}
    if spec.suite == "explanation":
        _run_explanation(domain, spec, run, cases, systems, llm, results, real_llm)
    else:
        simulator = make_simulator(spec.simulator, domain, spec.seed, llm, spec.bank, spec.budget, spec.max_turns)
        ctx = RunContext(domain, simulator, spec.seed, spec.max_turns)
        suite = SUITES[spec.suite]
        shared: dict[str, Any] = {}
        for name in systems:
            t = time.perf_counter()
            system: System = (suite.make_system(name, domain, llm, spec.seed, shared) if hasattr(suite, "make_system")
                              else make_system(name, domain, llm, spec.seed, shared, spec.critic))
            setup = time.perf_counter() - t
            involves_llm = real_llm and (system.uses_llm or spec.simulator == "llm")
            workers = spec.llm_workers if involves_llm else spec.workers
            try:
                prov = results["provenance"]
                stamp = {"commit": prov["commit"][:12] + ("+dirty" if prov["dirty"] else "")}
                records, new, secs = run_cases(name, cases, partial(suite.run_case, ctx, system), run, workers,
                                               spec.progress, spec.retry_errors, stamp)
            finally:
                system.close()
            metrics = suite.aggregate(ctx, records)
            metrics["llm"] = spec.llm if system.uses_llm else "none"
            if getattr(system, "note", ""):
                metrics["note"] = system.note
            metrics["provenance"] = results["provenance"]  # kept per system: a merged table names each run
            made = sorted({str(r.get("commit", "unrecorded")) for r in records})
            metrics["records_commits"] = made  # the commits the (possibly cached) records were produced at
            hits[name] = {r["case_id"]: r.get("hit_strict") is not None for r in records if "hit_strict" in r}
            results["systems"][name] = metrics
            results["timings"][name] = {"setup_s": round(setup, 2), "run_s": round(secs, 2), "new_cases": new,
                                        "case_s_mean": round(sum(_case_seconds(r) for r in records) / max(len(records), 1), 4)}
    results["timings"]["total_s"] = round(time.perf_counter() - t0, 2)
    _merge_earlier(run, results)
    if spec.suite == "simulator":
        results["paired"] = paired_vs(_all_hits(run, results, hits), "keyword")
    if hasattr(SUITES.get(spec.suite), "finish"):  # suite-level notes over all systems (doke: paired differences)
        SUITES[spec.suite].finish(run.root, cases, results)
    write_json(run.root / "results.json", results)
    from evals.report import write_report

    write_report(run.root, results)
    return results


def _merge_earlier(run: RunDir, results: dict[str, Any]) -> None:
    """Keep systems an earlier invocation ran into this folder over the same cases (one table for all)."""
    old = read_json(run.root / "results.json")
    if not isinstance(old, dict) or old.get("config", {}).get("n") != results["config"]["n"]:
        return
    for name, m in old.get("systems", {}).items():
        if name not in results["systems"]:
            results["systems"][name] = m
            results["timings"].setdefault(name, old.get("timings", {}).get(name, {}))
    results["config"]["systems"] = list(results["systems"])
    if "pairwise" in old and "pairwise" not in results:
        results["pairwise"] = old["pairwise"]


def _all_hits(run: RunDir, results: dict[str, Any], hits: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Strict hits per case for every system in the table (cached records of systems run earlier too)."""
    ids = [json.loads(line)["case_id"] for line in (run.root / "cases.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]
    out = dict(hits)
    for name in results["systems"]:
        if name not in out:
            recs = [run.load(name, i) for i in ids]
            out[name] = {r["case_id"]: r.get("hit_strict") is not None for r in recs if r and "hit_strict" in r}
    return out


def paired_vs(hits: dict[str, dict[str, bool]], anchor: str) -> dict[str, dict[str, int]]:
    """Per system, on the cases both ran: cases it hit and the anchor missed (wins), the reverse (losses)."""
    if anchor not in hits:
        return {}
    base = hits[anchor]
    out = {}
    for name, h in hits.items():
        if name == anchor:
            continue
        common = [c for c in h if c in base]
        out[name] = {"cases": len(common), "wins": sum(h[c] and not base[c] for c in common),
                     "losses": sum(base[c] and not h[c] for c in common),
                     "both_hit": sum(h[c] and base[c] for c in common),
                     "both_miss": sum(not h[c] and not base[c] for c in common)}
    return out


def _case_seconds(rec: dict[str, Any]) -> float:
    if "turns" in rec:
        return float(sum(t["seconds"] for t in rec["turns"]))
    return float(rec.get("seconds", 0.0))


def _explain_one(name: str, domain: Domain, llm: BaseChatModel | None, agent: Any, case: EvalCase) -> dict[str, Any]:
    return explain_case(name, domain, case, llm, agent)


def _run_explanation(domain: Domain, spec: EvalSpec, run: RunDir, cases: list[EvalCase], systems: list[str],
                     llm: BaseChatModel | None, results: dict[str, Any], real_llm: bool) -> None:
    texts: dict[str, dict[str, str]] = {c.case_id: {} for c in cases}
    for name in systems:
        t = time.perf_counter()
        agent_sys = make_system("agent", domain, llm, spec.seed, critic=spec.critic) if name == "agent" else None
        agent = getattr(agent_sys, "agent", None)
        workers = spec.llm_workers if (real_llm and name != "template") else spec.workers
        try:
            fn = partial(_explain_one, name, domain, llm, agent)
            records, new, secs = run_cases(name, cases, fn, run, workers, spec.progress, spec.retry_errors)
        finally:
            if agent_sys is not None:
                agent_sys.close()
        for r in records:
            texts[r["case_id"]][name] = r["explanation"]
        results["systems"][name] = {"cases": len(records),
                                    "mean_words": round(sum(len(r["explanation"].split()) for r in records) / max(len(records), 1), 1),
                                    "empty": sum(1 for r in records if not r["explanation"].strip()),
                                    "llm_calls": round(sum(r["llm_calls"] for r in records) / max(len(records), 1), 3),
                                    "errors": sum(1 for r in records if r.get("error"))}
        results["timings"][name] = {"setup_s": round(time.perf_counter() - t - secs, 2), "run_s": round(secs, 2),
                                    "new_cases": new}
    if llm is None or len(systems) < 2:
        return
    by_id = {c.case_id: c for c in cases}
    judged = [c for c in cases if len(texts[c.case_id]) == len(systems)]
    records, new, secs = run_cases("judge-" + "+".join(sorted(systems)), judged, lambda c: judge_case(llm, domain, by_id[c.case_id], texts[c.case_id]),
                                   run, spec.llm_workers if real_llm else spec.workers, spec.progress)
    results["pairwise"] = aggregate_judgements(records)
    results["timings"]["judge"] = {"run_s": round(secs, 2), "new_cases": new}
