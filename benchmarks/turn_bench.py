"""LLM calls per turn (and attempts) over scripted conversations. Target: <= 2.5 per recommendation turn
on average without reflection retries (RecAI's plan-first measured 2.78).

  python benchmarks/turn_bench.py [--domain data/movielens] [--critic rules|llm] [--out FILE]

Uses the configured LLM (default: the embedded local model). Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--critic", choices=["rules", "llm"], default="rules")
    ap.add_argument("--out", default=None)
    ap.add_argument("--limit", type=int, default=None,
                    help="only the first N conversations of benchmarks/conversations/<domain>.jsonl")
    args = ap.parse_args()
    from evals.turn_runner import run_conversations
    from graph.agent import make_agent

    with tempfile.TemporaryDirectory() as mem:
        agent = make_agent(args.domain, memory_path=Path(mem), critic=args.critic, build=True)
        recs = run_conversations(agent, limit=args.limit)
    by_kind: dict[str, list] = {}
    for r in recs:
        by_kind.setdefault(r.kind, []).append(r)
    rows = {}
    for kind, rs in sorted(by_kind.items()):
        first_try = [r for r in rs if r.attempts <= 1]
        rows[kind] = {"turns": len(rs), "mean_llm_calls": statistics.mean(r.llm_calls for r in rs),
                      "mean_llm_calls_no_retry": statistics.mean(r.llm_calls for r in first_try) if first_try else None,
                      "turns_with_retries": len(rs) - len(first_try), "mean_attempts": statistics.mean(r.attempts for r in rs)}
    print(f"critic={args.critic}")
    print(f"{'kind':8s} {'turns':>5s} {'calls/turn':>10s} {'no-retry':>9s} {'retried':>8s} {'attempts':>8s}")
    for kind, v in rows.items():
        nr = v["mean_llm_calls_no_retry"]
        print(f"{kind:8s} {v['turns']:5d} {v['mean_llm_calls']:10.2f} {nr if nr is None else round(nr, 2)!s:>9s} "
              f"{v['turns_with_retries']:8d} {v['mean_attempts']:8.2f}")
    out = {"critic": args.critic, "by_kind": rows, "turns": [r.__dict__ for r in recs]}
    print(json.dumps(rows, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
