"""Turn latency with the embedded local model on this machine: p50/p95 per turn kind, tokens/s.

Measured on the second and later turns of each conversation (the first warms the prompt cache), over the
natural conversations of benchmarks/conversations/<domain>.jsonl. Targets on 2 cores (issue 13):
recommendation turns p50 <= 5 s and p95 <= 12 s on MovieLens, <= 6 s / <= 15 s on larger catalogs;
LLM calls per recommendation turn <= 1.5; chit-chat p50 <= 5 s with no LLM call.

  python benchmarks/turn_latency.py [--domain data/movielens] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"rec": 5.0, "chat": 5.0}  # p50 seconds (MovieLens; 6 s for the 30k-item catalog)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--out", default=None)
    ap.add_argument("--limit", type=int, default=None,
                    help="only the first N conversations of benchmarks/conversations/<domain>.jsonl")
    args = ap.parse_args()
    from evals.turn_runner import run_conversations
    from graph.agent import make_agent
    from models.llm import LLMSettings

    settings = LLMSettings.from_env()
    with tempfile.TemporaryDirectory() as mem:
        started = time.perf_counter()
        agent = make_agent(args.domain, memory_path=Path(mem), build=True)
        if agent.deps.warming is not None:  # the plan prefix is read once per process, in the background
            agent.deps.warming.join()
        warm_s = time.perf_counter() - started
        recs = run_conversations(agent, limit=args.limit)
    later = [r for r in recs if r.turn >= 1]
    result: dict[str, dict[str, float]] = {}
    for kind in sorted({r.kind for r in later}):
        rs = [r for r in later if r.kind == kind]
        secs = np.array([r.seconds for r in rs])
        gen = sum(r.completion_tokens for r in rs)
        llm_s = sum(r.llm_seconds for r in rs)
        result[kind] = {"turns": len(rs), "p50_s": float(np.percentile(secs, 50)), "p95_s": float(np.percentile(secs, 95)),
                        "mean_completion_tokens": gen / len(rs), "gen_tokens_per_s": gen / llm_s if llm_s else 0.0,
                        "llm_calls_per_turn": sum(r.llm_calls for r in rs) / len(rs),
                        "mean_prompt_tokens": sum(r.prompt_tokens for r in rs) / len(rs),
                        "mean_cached_tokens": sum(r.cached_tokens for r in rs) / len(rs)}
    print(f"provider={settings.provider} model={settings.model} threads={settings.threads}")
    import os

    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"agent start to plan prefix cached: {warm_s:.1f} s (once per process, in the background; turns below start after it)")
    print(f"{'kind':7s} {'turns':>5s} {'p50 s':>7s} {'p95 s':>7s} {'calls':>6s} {'gen tok':>8s} {'tok/s':>6s} {'target':>12s}")
    for kind, v in result.items():
        tgt = TARGETS.get(kind)
        mark = f"p50<={tgt:g}" + (" ok" if tgt and v["p50_s"] <= tgt else " MISSED") if tgt else ""
        print(f"{kind:7s} {v['turns']:5.0f} {v['p50_s']:7.2f} {v['p95_s']:7.2f} {v['llm_calls_per_turn']:6.2f} "
              f"{v['mean_completion_tokens']:8.1f} "
              f"{v['gen_tokens_per_s']:6.1f} {mark:>12s}")
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps({"settings": {"provider": settings.provider, "threads": settings.threads},
                                              "warm_up_s": warm_s, "by_kind": result, "turns": [r.__dict__ for r in recs]}, indent=1))


if __name__ == "__main__":
    main()
