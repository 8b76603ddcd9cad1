"""The suites: what one case means for one system, and how a system's cases become its metrics.

| suite | one case | metrics |
|---|---|---|
| simulator | a conversation of up to 5 turns with a simulated user | H@k, AT@k (both judges), hit rate by turn, LLM calls and latency per turn |
| one-turn-retrieval | one request synthesised from the target's attributes and the user's history | R@5 (both judges) |
| one-turn-ranking | "rank these 20": the target + 19 random negatives, in the user's words | N@20 (unranked candidates appended in random order) |
| retrieval | history -> 20 recommendations from the whole catalog | NDCG/Recall/Hit/Precision/MAP/MRR @1,5,10,20 + not-in-catalog, duplicate, history-copy rates |
| ranking | history + the 20 candidates -> a ranked list | the same metrics on the raw list + not-in-candidates, duplicate, history-copy rates |
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evals import metrics as M
from evals.cases import EvalCase, ranking_candidates
from evals.conversation import MAX_TURNS, run_conversation, safe_turn
from evals.judges import lenient_hit
from evals.sim_facts import natural_title
from evals.simulators import Simulator, TemplatedSession
from evals.systems import System
from models.domain import Domain
from prompts import template

N_NEGATIVES = 19


@dataclass
class RunContext:
    domain: Domain
    simulator: Simulator
    seed: int = 0
    max_turns: int = MAX_TURNS


def _liked(case: EvalCase, k: int = 5) -> list[str]:
    return [natural_title(t) for t in case.history_titles[-k:]]


def _round(d: dict[str, float], nd: int = 4) -> dict[str, float]:
    return {k: round(float(v), nd) for k, v in d.items()}


def complete_ranking(items: Sequence[int | None], candidates: Sequence[int], seed_key: str) -> list[int]:
    """The valid, unique candidates in the system's order, then the ones it left out in random order."""
    cset = set(candidates)
    ranked: list[int] = []
    for i in items:
        if i is not None and i in cset and i not in ranked:
            ranked.append(int(i))
    rest = [c for c in candidates if c not in ranked]
    random.Random(seed_key).shuffle(rest)
    return ranked + rest


# ---- simulator ---------------------------------------------------------------------------------------------
class SimulatorSuite:
    name = "simulator"

    def run_case(self, ctx: RunContext, system: System, case: EvalCase) -> dict[str, Any]:
        return run_conversation(system, ctx.simulator, case, ctx.max_turns).to_json()

    def aggregate(self, ctx: RunContext, records: list[dict[str, Any]]) -> dict[str, Any]:
        k = ctx.max_turns
        n = len(records)
        out: dict[str, Any] = {"cases": n}
        turns = [t for r in records for t in r["turns"]]
        for judge in ("lenient", "strict"):
            hits = [r[f"hit_{judge}"] for r in records]
            h = M.hit_within(hits, k)
            lo, hi = M.wilson(h * n, n)
            out[f"{judge}_H@{k}"] = round(h, 4)
            out[f"{judge}_H@{k}_ci95"] = [round(lo, 3), round(hi, 3)]
            out[f"{judge}_AT@{k}"] = round(M.average_turns(hits, k), 4)
            out[f"{judge}_curve"] = [round(x, 4) for x in M.hit_curve(hits, k)]
        secs = [t["seconds"] for t in turns]
        out.update({
            "turns": len(turns),
            "llm_calls_per_turn": round(M.mean(t["llm_calls"] for t in turns), 3),
            "latency_mean_s": round(M.mean(secs), 4),
            "latency_p50_s": round(M.percentile(secs, 50), 4),
            "latency_p95_s": round(M.percentile(secs, 95), 4),
            "errors": sum(1 for t in turns if t.get("error")),
            "ended_by_user": sum(1 for r in records if r.get("ended_by_user")),
            "sim_llm_calls_per_turn": round(M.mean(t["sim_llm_calls"] for t in turns), 3),
            "sim_regenerated": sum(t["sim_regenerated"] for t in turns),
            "sim_fallbacks": sum(1 for t in turns if t["sim_fallback"]),
            "judges_disagree": sum(1 for r in records if r["hit_lenient"] != r["hit_strict"]),
        })
        out.update(identifiability(records, k))
        return out


def identifiability(records: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """How much the revealed facts alone give away, and H@k on the cases they do not pin down.

    A case is non-trivial when, after everything the simulator reveals, the target still ranks below
    NON_TRIVIAL_RANK by popularity among the items matching every fact."""
    from evals.simulators import NON_TRIVIAL_RANK

    ranks = [r.get("ident_rank") for r in records]
    if not records or any(x is None for x in ranks):
        return {}
    hard = [r for r in records if r["ident_rank"] > NON_TRIVIAL_RANK]
    out: dict[str, Any] = {"ident_rank_median": float(M.percentile([float(x) for x in ranks if x is not None], 50)),
                           "trivial_share": round(1 - len(hard) / len(records), 4), "non_trivial_cases": len(hard)}
    for judge in ("lenient", "strict"):
        h = M.hit_within([r[f"hit_{judge}"] for r in hard], k) if hard else 0.0
        lo, hi = M.wilson(h * len(hard), len(hard)) if hard else (0.0, 0.0)
        out[f"{judge}_H@{k}_non_trivial"] = round(h, 4)
        out[f"{judge}_H@{k}_non_trivial_ci95"] = [round(lo, 3), round(hi, 3)]
    return out


# ---- one turn ----------------------------------------------------------------------------------------------
class OneTurnRetrievalSuite:
    name = "one-turn-retrieval"
    k = 5

    def request(self, ctx: RunContext, case: EvalCase) -> tuple[str, int]:
        sess = ctx.simulator.session(case)
        if isinstance(sess, TemplatedSession):
            return sess.one_turn_request(), 0
        said = sess.first()
        return said.text, said.llm_calls

    def run_case(self, ctx: RunContext, system: System, case: EvalCase) -> dict[str, Any]:
        text, sim_calls = self.request(ctx, case)
        reply = safe_turn(system.session(case), text, n=self.k)
        return {"case_id": case.case_id, "target": case.target, "title": case.title, "request": text,
                "message": reply.message[:3000], "items": reply.items, "seconds": round(reply.seconds, 4),
                "llm_calls": reply.llm_calls, "sim_llm_calls": sim_calls, "error": reply.error,
                "lenient": lenient_hit(reply.message, case.title)}

    def aggregate(self, ctx: RunContext, records: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(records)
        strict = [M.recall_at(r["items"], {r["target"]}, self.k) for r in records]
        r5 = M.mean(strict)
        lo, hi = M.wilson(r5 * n, n)
        return {"cases": n, f"strict_R@{self.k}": round(r5, 4), f"strict_R@{self.k}_ci95": [round(lo, 3), round(hi, 3)],
                f"lenient_R@{self.k}": round(M.mean(1.0 if r["lenient"] else 0.0 for r in records), 4),
                "NDCG@5": round(M.mean(M.ndcg_at(r["items"], {r["target"]}, 5) for r in records), 4),
                "llm_calls": round(M.mean(r["llm_calls"] for r in records), 3),
                "latency_mean_s": round(M.mean(r["seconds"] for r in records), 4),
                "errors": sum(1 for r in records if r.get("error"))}


def ranking_request(ctx: RunContext, case: EvalCase, cands: Sequence[int], conversational: bool) -> str:
    d = ctx.domain
    word = d.config.item_word
    lines = "\n".join(f"{k}. {d.titles[i]}" for k, i in enumerate(cands, 1))
    liked = _liked(case)
    if conversational:
        lead = f"I liked {', '.join(liked[:-1])} and {liked[-1]}. " if len(liked) > 1 else (
            f"I liked {liked[0]}. " if liked else "")
        return template("eval_rank_request_chat").format(lead=lead, n=len(cands), items=word + "s", candidates=lines)
    hist = "; ".join(liked)
    return template("eval_rank_request").format(items=word + "s", liked=hist, n=len(cands), candidates=lines)


class OneTurnRankingSuite:
    name = "one-turn-ranking"
    conversational = True

    def run_case(self, ctx: RunContext, system: System, case: EvalCase) -> dict[str, Any]:
        cands = ranking_candidates(ctx.domain, case, N_NEGATIVES, ctx.seed)
        text = ranking_request(ctx, case, cands, self.conversational)
        reply = safe_turn(system.session(case), text, n=len(cands), candidates=cands)
        full = complete_ranking(reply.items, cands, f"{ctx.seed}:{system.name}:{case.case_id}")
        return {"case_id": case.case_id, "target": case.target, "title": case.title, "candidates": cands,
                "history": list(case.history), "message": reply.message[:3000], "items": reply.items,
                "ranking": full, "seconds": round(reply.seconds, 4), "llm_calls": reply.llm_calls,
                "error": reply.error}

    def aggregate(self, ctx: RunContext, records: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(records)
        return {"cases": n,
                "N@20": round(M.mean(M.ndcg_at(r["ranking"], {r["target"]}, 20) for r in records), 4),
                "Hit@5": round(M.mean(M.hit_at(r["ranking"], {r["target"]}, 5) for r in records), 4),
                "MRR@20": round(M.mean(M.mrr_at(r["ranking"], {r["target"]}, 20) for r in records), 4),
                "ranked_by_system": round(M.mean(
                    len({i for i in r["items"] if i in set(r["candidates"])}) / len(r["candidates"]) for r in records), 4),
                "llm_calls": round(M.mean(r["llm_calls"] for r in records), 3),
                "latency_mean_s": round(M.mean(r["seconds"] for r in records), 4),
                "errors": sum(1 for r in records if r.get("error"))}


# ---- offline (RecLM-eval) ----------------------------------------------------------------------------------
class RankingSuite(OneTurnRankingSuite):
    name = "ranking"
    conversational = False

    def aggregate(self, ctx: RunContext, records: list[dict[str, Any]]) -> dict[str, Any]:
        rows = [M.ranking_metrics(r["items"], {r["target"]}) for r in records]
        errs = [M.error_rates(r["items"], set(r["candidates"]), r["history"]) for r in records]
        out: dict[str, Any] = {"cases": len(records), **_round(M.mean_dicts(rows))}
        e = M.mean_dicts(errs)
        out.update({"not_in_candidates": round(e.get("not_in_catalog", 0.0), 4),
                    "duplicate": round(e.get("duplicate", 0.0), 4),
                    "history_copy": round(e.get("history_copy", 0.0), 4),
                    "N@20_completed": round(M.mean(M.ndcg_at(r["ranking"], {r["target"]}, 20) for r in records), 4),
                    "llm_calls": round(M.mean(r["llm_calls"] for r in records), 3),
                    "latency_mean_s": round(M.mean(r["seconds"] for r in records), 4),
                    "errors": sum(1 for r in records if r.get("error"))})
        return out


class RetrievalSuite:
    name = "retrieval"
    k = 20

    def run_case(self, ctx: RunContext, system: System, case: EvalCase) -> dict[str, Any]:
        word = ctx.domain.config.item_word
        text = template("eval_retrieval_request").format(Items=word.capitalize() + "s", liked="; ".join(_liked(case, 10)),
                                                         k=self.k, items=word + "s")
        reply = safe_turn(system.session(case), text, n=self.k, exclude=list(case.history))
        return {"case_id": case.case_id, "target": case.target, "title": case.title, "history": list(case.history),
                "message": reply.message[:3000], "items": reply.items[: self.k], "seconds": round(reply.seconds, 4),
                "llm_calls": reply.llm_calls, "error": reply.error}

    def aggregate(self, ctx: RunContext, records: list[dict[str, Any]]) -> dict[str, Any]:
        rows = [M.ranking_metrics(r["items"], {r["target"]}) for r in records]
        errs = [M.error_rates(r["items"], None, r["history"]) for r in records]
        out: dict[str, Any] = {"cases": len(records), **_round(M.mean_dicts(rows)), **_round(M.mean_dicts(errs))}
        out.update({"list_length": round(M.mean(len(r["items"]) for r in records), 2),
                    "llm_calls": round(M.mean(r["llm_calls"] for r in records), 3),
                    "latency_mean_s": round(M.mean(r["seconds"] for r in records), 4),
                    "errors": sum(1 for r in records if r.get("error"))})
        return out
