"""`python app.py eval`: run an evaluation suite on a built domain (registered by app.py's PLUGGED list)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EVAL_HELP = """suites:
  simulator           conversations with a simulated user: H@k, AT@k (lenient and strict judges), per-turn cost
  one-turn-retrieval  one request from the target's attributes and the user's history: R@5
  one-turn-ranking    "rank these 20" (target + 19 random negatives): N@20
  retrieval           history -> 20 items: NDCG/Recall/Hit/Precision/MAP/MRR @1,5,10,20 + error rates
  ranking             history + 20 candidates -> ranked list: the same metrics + error rates
  explanation         explanations of the target compared pairwise by an LLM judge, both orders
  doke                LLM ranking of 20 candidates with and without knowledge facts (DOKE): N@20, Hit@5
  explain             faithfulness deletion test of explanations (cited vs random liked items, SASRec score)
  gen                 RecLM-gen: history -> 10 generated items, with and without the catalog constraint:
                      NonExistRate, RepeatRate, CorrectCount, Recall@10, NDCG@10 (llm-free, llm-gen, llm-gen-short)
systems: random, popularity, keyword, dense (no LLM); llm, chatrec, agent (need --llm; with --llm scripted the
agent runs on its code-side planning only); explanation: template, llm, agent
The run folder (default runs/eval/<domain>-<suite>-...) caches every finished case: rerun the same command
to resume, or raise --n to extend a run."""


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.rundir import RunConfigError
    from evals.runner import EvalSpec, run_eval
    from models.build import load_domain
    from models.llm import LLMError

    if args.llm != "scripted" and args.workers > 1 and args.llm_workers == 1:
        print("note: LLM systems run with --llm-workers 1 (one shared model server); --workers applies to the rest",
              file=sys.stderr)
    from evals.sim_facts import REVEAL_BUDGET

    if args.budget is None:
        args.budget = REVEAL_BUDGET
    domain = load_domain(args.domain, args.artifacts, build=args.build)
    spec = EvalSpec(suite=args.suite, n=args.n, seed=args.seed, simulator=args.simulator, llm=args.llm,
                    systems=[s.strip() for s in args.systems.split(",") if s.strip()] if args.systems else [],
                    max_turns=args.max_turns, workers=args.workers, llm_workers=args.llm_workers, critic=args.critic,
                    progress=not args.quiet, retry_errors=args.retry_errors, split=args.split, bank=args.bank,
                    budget=args.budget)
    try:
        results = run_eval(domain, spec, Path(args.out) if args.out else None, fresh=args.fresh)
    except (RunConfigError, ValueError, LLMError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from evals.report import markdown

    print(markdown(results))
    return 0


def register(subparsers: Any, add_domain: Callable[[argparse.ArgumentParser], None]) -> None:
    p = subparsers.add_parser("eval", help="evaluate the agent and baselines (simulated users, offline metrics)",
                              epilog=EVAL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_domain(p)
    p.add_argument("--suite", default="simulator",
                   choices=["simulator", "one-turn-retrieval", "one-turn-ranking", "retrieval", "ranking", "explanation",
                            "doke", "explain", "gen"])
    p.add_argument("--n", type=int, default=100, help="number of cases (users with a held-out test item)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--systems", default=None, help="comma-separated systems (default: all that fit --llm)")
    p.add_argument("--simulator", choices=["templated", "llm"], default="templated")
    p.add_argument("--split", choices=["test", "valid"], default="test",
                   help="test: the report users; valid: the validation users (tune constants on these only)")
    p.add_argument("--bank", choices=["test", "dev"], default="test",
                   help="the templated simulator's phrasings: test (reported numbers) or dev (tests and tuning)")
    p.add_argument("--budget", type=int, default=None,
                   help="facts the templated simulator reveals over a conversation (default evals.simulators.REVEAL_BUDGET)")
    p.add_argument("--llm", choices=["scripted", "local", "env"], default="scripted",
                   help="scripted: no language model; local: the embedded model; env: INTEREC_LLM_* settings")
    p.add_argument("--max-turns", type=int, default=5)
    p.add_argument("--workers", type=int, default=1, help="parallel cases for systems without a real LLM")
    p.add_argument("--llm-workers", type=int, default=1, help="parallel cases when a real LLM is involved")
    p.add_argument("--critic", choices=["rules", "llm"], default="rules")
    p.add_argument("--out", default=None, help="run folder (default runs/eval/<domain>-<suite>-...)")
    p.add_argument("--fresh", action="store_true", help="drop the cached cases of this run folder")
    p.add_argument("--retry-errors", action="store_true",
                   help="run again the cached cases that recorded an error (LLM timeouts, crashes)")
    p.add_argument("--build", action="store_true", help="build the domain first if needed")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval)
