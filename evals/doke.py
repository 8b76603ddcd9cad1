"""DOKE suite: does domain knowledge in the prompt make the LLM a better ranker?

One case: the user's history (last <= 10 positives) and 20 candidates (the held-out target + 19 sampled
negatives, `evals.cases.ranking_candidates`, the same as the ranking suites). Systems:

| system | ranks by |
|---|---|
| popularity | train popularity (reference) |
| sasrec | the trained SASRec on the same history (reference) |
| llm-rank | the LLM, from the liked titles and the candidates' titles and genres |
| llm-rank-doke | the same prompt plus the knowledge block of `tools.knowledge.select_knowledge` (<= 2 facts per candidate, a token budget) |

The LLM answers with the numbers of its 5 best candidates (structured output); the candidates it leaves out
are appended in a seeded random order (`complete_ranking`), so N@20 and Hit@5 are always over all 20.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from evals import metrics as M
from evals.cases import EvalCase, ranking_candidates
from evals.report import HEADLINE, TABLES
from evals.rundir import RunDir
from evals.suites import complete_ranking
from evals.systems import System
from models.domain import Domain
from tools.context import ToolContext
from tools.knowledge import DEFAULT_BUDGET, Wants, select_knowledge
from tools.rerank import llm_rerank

N_NEGATIVES = 19
DOKE_SYSTEMS = ("popularity", "sasrec", "llm-rank", "llm-rank-doke")
LLM_RANKERS = {"llm-rank", "llm-rank-doke"}
LLM_TOP = 5  # the LLM names its 5 best (short output on 2 CPU cores); the other 15 follow in random order

TABLES["doke"] = [("N@20", "N@20"), ("95% CI", "N@20_ci95"), ("Hit@5", "Hit@5"), ("MRR@20", "MRR@20"),
                  ("ranked by system", "ranked_by_system"), ("facts/case", "facts"),
                  ("knowledge tokens", "knowledge_tokens"), ("prompt tokens (est.)", "prompt_tokens"),
                  ("LLM calls", "llm_calls"), ("latency s", "latency_mean_s"), ("errors", "errors")]
HEADLINE["doke"] = ("N@20", "Hit@5")


def tool_context(domain: Domain, shared: dict[str, Any]) -> ToolContext:
    """One ToolContext per domain and run: models and co-like counts load once."""
    return shared.setdefault(f"toolctx:{id(domain)}", ToolContext(domain))


class RankerSystem(System):
    """A system of the DOKE suite: orders a case's candidates."""

    def __init__(self, name: str, domain: Domain, llm: Any, seed: int, ctx: ToolContext,
                 budget: int = DEFAULT_BUDGET):
        super().__init__(domain, seed)
        self.name = name
        self.llm = llm
        self.ctx = ctx
        self.budget = budget
        self.uses_llm = name in LLM_RANKERS
        if self.uses_llm and llm is None:
            raise ValueError(f"system {name!r} needs an LLM (--llm local|env|scripted)")
        if name == "sasrec" and ctx.ranker is None:
            raise ValueError("system 'sasrec' needs a trained SASRec: python app.py train --model sasrec")

    def session(self, case: EvalCase) -> Any:
        raise NotImplementedError("DOKE systems rank candidates; they hold no conversation")

    def rank(self, case: EvalCase, cands: list[int]) -> dict[str, Any]:
        hist = list(case.history)
        out: dict[str, Any] = {"llm_calls": 0, "error": None}
        if self.name == "popularity":
            pop = self.domain.popularity
            out["items"] = sorted(cands, key=lambda i: (-int(pop[i]), i))
        elif self.name == "sasrec":
            s = np.asarray(self.ctx.ranker.score(hist, cands))
            out["items"] = [cands[k] for k in np.argsort(-s, kind="stable")]
        else:
            kn = select_knowledge(self.ctx, Wants(hist), cands, self.budget, 2) if self.name == "llm-rank-doke" else None
            items, info = llm_rerank(self.llm, self.ctx, hist, cands, kn, top=LLM_TOP)
            out.update(items=items, llm_calls=1, error=info["error"], returned=info["returned"],
                       prompt_tokens=info["prompt_tokens_est"])
            if kn is not None:
                out["knowledge"] = [f.to_json() for f in kn.facts]
                out["knowledge_tokens"] = kn.tokens
        return out


class DokeSuite:
    name = "doke"

    def finish(self, root: Any, cases: list[EvalCase], results: dict[str, Any]) -> None:
        _finish_doke(root, cases, results)

    def default_systems(self, llm: str) -> list[str]:
        return list(DOKE_SYSTEMS)

    def needs_llm(self, systems: list[str]) -> bool:
        return any(s in LLM_RANKERS for s in systems)

    def make_system(self, name: str, domain: Domain, llm: Any, seed: int, shared: dict[str, Any]) -> System:
        if name not in DOKE_SYSTEMS:
            raise ValueError(f"unknown system {name!r} for --suite doke: choose from {', '.join(DOKE_SYSTEMS)}")
        return RankerSystem(name, domain, llm, seed, tool_context(domain, shared))

    def run_case(self, ctx: Any, system: RankerSystem, case: EvalCase) -> dict[str, Any]:
        cands = ranking_candidates(ctx.domain, case, N_NEGATIVES, ctx.seed)
        t = time.perf_counter()
        try:
            out = system.rank(case, cands)
        except Exception as e:  # noqa: BLE001 - recorded; the case counts with a random order
            out = {"items": [], "llm_calls": 0, "error": f"{type(e).__name__}: {str(e)[:300]}"}
        seconds = time.perf_counter() - t
        own = [int(i) for i in out.pop("items")]
        full = complete_ranking(own, cands, f"{ctx.seed}:{system.name}:{case.case_id}")
        return {"case_id": case.case_id, "target": case.target, "title": case.title, "candidates": cands,
                "history": list(case.history), "items": own, "ranking": full, "seconds": round(seconds, 4), **out}

    def aggregate(self, ctx: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(records)
        nd = [M.ndcg_at(r["ranking"], {r["target"]}, 20) for r in records]
        mean = M.mean(nd)
        se = float(np.std(nd, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
        out: dict[str, Any] = {
            "cases": n, "N@20": round(mean, 4), "N@20_ci95": [round(mean - 1.96 * se, 3), round(mean + 1.96 * se, 3)],
            "Hit@5": round(M.mean(M.hit_at(r["ranking"], {r["target"]}, 5) for r in records), 4),
            "MRR@20": round(M.mean(M.mrr_at(r["ranking"], {r["target"]}, 20) for r in records), 4),
            "ranked_by_system": round(M.mean(len(set(r["items"])) / len(r["candidates"]) for r in records), 4),
            "llm_calls": round(M.mean(r["llm_calls"] for r in records), 3),
            "latency_mean_s": round(M.mean(r["seconds"] for r in records), 4),
            "errors": sum(1 for r in records if r.get("error"))}
        if any("knowledge" in r for r in records):
            out["facts"] = round(M.mean(len(r.get("knowledge", [])) for r in records), 2)
            out["knowledge_tokens"] = round(M.mean(r.get("knowledge_tokens", 0) for r in records), 1)
        if any("prompt_tokens" in r for r in records):
            out["prompt_tokens"] = round(M.mean(r.get("prompt_tokens", 0) for r in records), 1)
        return out


def paired(a: list[float], b: list[float], seed: int = 0, draws: int = 2000) -> dict[str, Any]:
    """Mean of b - a over the same cases with a 95% bootstrap interval, and b's wins/ties/losses."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    if not len(d):
        return {"cases": 0}
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, len(d), size=(draws, len(d)))].mean(axis=1)
    return {"cases": len(d), "mean_diff": round(float(d.mean()), 4),
            "ci95": [round(float(np.percentile(boot, 2.5)), 4), round(float(np.percentile(boot, 97.5)), 4)],
            "wins": int((d > 0).sum()), "ties": int((d == 0).sum()), "losses": int((d < 0).sum())}


def _finish_doke(root: Any, cases: list[EvalCase], results: dict[str, Any]) -> None:
    """Paired effect of knowledge: llm-rank-doke minus llm-rank on the cases both finished."""
    from pathlib import Path

    run = RunDir(Path(root))
    pairs = [(run.load("llm-rank", c.case_id), run.load("llm-rank-doke", c.case_id)) for c in cases]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    if not pairs:
        return
    out = {}
    for key, fn in (("N@20", lambda r: M.ndcg_at(r["ranking"], {r["target"]}, 20)),
                    ("Hit@5", lambda r: M.hit_at(r["ranking"], {r["target"]}, 5))):
        out[key] = paired([fn(a) for a, _ in pairs], [fn(b) for _, b in pairs])
    results["paired_knowledge_effect"] = out
    n = out["N@20"]
    h = out["Hit@5"]
    results.setdefault("notes", []).append(
        f"Knowledge effect (llm-rank-doke minus llm-rank, same {n['cases']} cases): N@20 {n['mean_diff']:+.3f} "
        f"(95% bootstrap CI {n['ci95'][0]:+.3f}..{n['ci95'][1]:+.3f}; better on {n['wins']}, equal on {n['ties']}, "
        f"worse on {n['losses']}); Hit@5 {h['mean_diff']:+.3f} (CI {h['ci95'][0]:+.3f}..{h['ci95'][1]:+.3f}).")

