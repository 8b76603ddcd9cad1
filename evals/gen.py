"""gen suite (RecLM-gen): can the LLM itself generate recommendations, and does it name only real items?

One case: the user's history (last <= 10 positives, as titles) -> N = 10 items, never seen before. Systems:

| system | does |
|---|---|
| popularity | the most popular unseen items (reference) |
| sasrec | the trained SASRec over the history, unseen items (reference) |
| llm-free | the LLM names N titles with no constraint; each line is resolved against the catalog (None when no confident match) |
| llm-gen | the same prompt, decoding constrained to the catalog minus the history (`models.constrained`: a prefix-tree GBNF grammar on the local server, an enum schema elsewhere); repeats are refilled by one more constrained call |
| llm-gen-short | as llm-gen, constrained to a 300-item shortlist (SASRec + ItemCF + popularity) |

Metrics (RecLM-gen's definitions, per generated line, over all cases): NonExistRate = lines naming no
catalog item; RepeatRate = lines naming an item of the user's history; DupRate = lines repeating an earlier
line; CorrectCount = share of answers with exactly N distinct, existing, unseen items; Recall@10 and
NDCG@10 of the final list against the held-out item.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from evals import metrics as M
from evals.cases import EvalCase
from evals.report import HEADLINE, TABLES
from evals.systems import System
from models.constrained import AllowedTitles, catalog_allowed, generate, shortlist
from models.domain import Domain

N = 10
GEN_SYSTEMS = ("popularity", "sasrec", "llm-free", "llm-gen")
ALL_GEN_SYSTEMS = (*GEN_SYSTEMS, "llm-gen-short")
LLM_GEN = {"llm-free", "llm-gen", "llm-gen-short"}
SHORTLIST = 300

TABLES["gen"] = [("NonExistRate", "NonExistRate"), ("RepeatRate", "RepeatRate"), ("DupRate", "DupRate"),
                 ("CorrectCount", "CorrectCount"), ("Recall@10", "Recall@10"), ("NDCG@10", "NDCG@10"),
                 ("first-pass CorrectCount", "CorrectCount_first_pass"), ("allowed titles", "allowed"),
                 ("LLM calls", "llm_calls"), ("latency s", "latency_mean_s"), ("errors", "errors")]
HEADLINE["gen"] = ("Recall@10", "NDCG@10")


class GenSystem(System):
    """A system of the gen suite: history -> N items (ids, or None for a name that is not in the catalog)."""

    def __init__(self, name: str, domain: Domain, llm: Any, seed: int, shared: dict[str, Any]):
        super().__init__(domain, seed)
        self.name = name
        self.llm = llm
        self.uses_llm = name in LLM_GEN
        if self.uses_llm and llm is None:
            raise ValueError(f"system {name!r} needs an LLM (--llm local|env|scripted)")
        self.ranker: Any = None
        self.itemcf: Any = None
        if name in ("sasrec", "llm-gen-short"):
            from models.training import load_itemcf, load_ranker

            if shared.get("ranker") is None:
                shared["ranker"] = load_ranker(domain)
            self.ranker = shared["ranker"]
            if self.ranker is None:
                raise ValueError(f"system {name!r} needs a trained SASRec: python app.py train --model sasrec")
            if name == "llm-gen-short":
                self.itemcf = load_itemcf(domain)
        pop = np.asarray(domain.popularity)
        self.pop_order = [int(i) for i in np.argsort(-pop, kind="stable")]

    def session(self, case: EvalCase) -> Any:
        raise NotImplementedError("gen systems answer one request per case; they hold no conversation")

    def recommend(self, case: EvalCase, n: int) -> dict[str, Any]:
        hist = [int(i) for i in case.history]
        seen = set(hist) | {int(i) for i in case.seen if int(i) != case.target}
        if self.name == "popularity":
            ids = [i for i in self.pop_order if i not in seen][:n]
            return {"items": ids, "raw": list(ids), "first_pass": list(ids), "llm_calls": 0}
        if self.name == "sasrec":
            s = np.asarray(self.ranker.score(hist, np.arange(len(self.domain.titles))), dtype=np.float32)
            ids = [int(i) for i in np.argsort(-s, kind="stable") if int(i) not in seen][:n]
            return {"items": ids, "raw": list(ids), "first_pass": list(ids), "llm_calls": 0}
        allowed: AllowedTitles | None = None
        if self.name == "llm-gen":
            allowed = catalog_allowed(self.domain, seen)
        elif self.name == "llm-gen-short":
            allowed = AllowedTitles(self.domain.titles,
                                    shortlist(self.domain, hist, SHORTLIST, ranker=self.ranker, itemcf=self.itemcf,
                                              exclude=seen))
        r = generate(self.llm, self.domain, hist, n, allowed)
        # llm-free keeps its raw lines (None = not in the catalog, repeats kept): that is what it recommended
        final: list[int | None] = list(r.raw) if allowed is None else list(r.items)
        return {"items": final[:n], "raw": r.raw, "first_pass": r.first_pass, "llm_calls": r.calls,
                "text": r.text[:2000], "dropped": r.dropped[:20], "allowed": r.allowed, "backend": r.backend,
                "truncated": r.truncated}


def _distinct_valid(items: list[int | None], banned: set[int]) -> int:
    return len({i for i in items if i is not None and i not in banned})


class GenSuite:
    name = "gen"
    n = N

    def default_systems(self, llm: str) -> list[str]:
        return list(GEN_SYSTEMS)

    def needs_llm(self, systems: list[str]) -> bool:
        return any(s in LLM_GEN for s in systems)

    def make_system(self, name: str, domain: Domain, llm: Any, seed: int, shared: dict[str, Any]) -> System:
        if name not in ALL_GEN_SYSTEMS:
            raise ValueError(f"unknown system {name!r} for --suite gen: choose from {', '.join(ALL_GEN_SYSTEMS)}")
        return GenSystem(name, domain, llm, seed, shared)

    def run_case(self, ctx: Any, system: GenSystem, case: EvalCase) -> dict[str, Any]:
        t = time.perf_counter()
        try:
            out = system.recommend(case, self.n)
            err = None
        except Exception as e:  # noqa: BLE001 - recorded; the case counts as an empty answer
            out = {"items": [], "raw": [], "first_pass": [], "llm_calls": 0}
            err = f"{type(e).__name__}: {str(e)[:300]}"
        return {"case_id": case.case_id, "target": case.target, "title": case.title, "history": list(case.history),
                "seconds": round(time.perf_counter() - t, 4), "error": err, **out}

    def aggregate(self, ctx: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(records)
        lines = [x for r in records for x in r["raw"]]
        n_lines = max(len(lines), 1)
        hist_hits = sum(1 for r in records for x in r["raw"] if x is not None and x in set(r["history"]))
        dups = 0
        for r in records:
            seen: set[int] = set()
            for x in r["raw"]:
                if x is not None and x in seen:
                    dups += 1
                if x is not None:
                    seen.add(x)
        out: dict[str, Any] = {
            "cases": n,
            "NonExistRate": round(sum(1 for x in lines if x is None) / n_lines, 4),
            "RepeatRate": round(hist_hits / n_lines, 4),
            "DupRate": round(dups / n_lines, 4),
            "CorrectCount": round(M.mean(1.0 if len(r["items"]) == self.n and
                                         _distinct_valid(r["items"], set(r["history"])) == self.n else 0.0
                                         for r in records), 4),
            "CorrectCount_first_pass": round(M.mean(1.0 if _distinct_valid(r["first_pass"], set(r["history"])) == self.n
                                                    else 0.0 for r in records), 4),
            "Recall@10": round(M.mean(M.recall_at(r["items"], {r["target"]}, 10) for r in records), 4),
            "NDCG@10": round(M.mean(M.ndcg_at(r["items"], {r["target"]}, 10) for r in records), 4),
            "llm_calls": round(M.mean(r["llm_calls"] for r in records), 3),
            "latency_mean_s": round(M.mean(r["seconds"] for r in records), 4),
            "errors": sum(1 for r in records if r.get("error")),
        }
        lo, hi = M.wilson(out["Recall@10"] * n, n)
        out["Recall@10_ci95"] = [round(lo, 3), round(hi, 3)]
        if any("allowed" in r for r in records):
            out["allowed"] = round(M.mean(r.get("allowed", 0) for r in records), 1)
        return out
