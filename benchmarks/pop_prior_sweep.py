"""Sweep tools/rank.py POP_PRIOR on VALIDATION users only (dev phrasing bank, scripted LLM).

Tuning discipline (issue 15): a constant is chosen on cases that are never reported. This runs the
simulator suite for the agent once per value on `--split valid --bank dev` and prints strict H@5 overall
and on the non-trivial cases, with the commit and command, as a table and JSON.

  python benchmarks/pop_prior_sweep.py [--domain data/movielens] [--values 0,0.25,0.5,1] [--n 60] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--values", default="0,0.25,0.5,1")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="parallel cases (scripted LLM: threads)")
    ap.add_argument("--runs", default="runs/pop_prior_sweep", help="folder for the run folders (resumable)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import tools.rank as rank
    from evals.runner import EvalSpec, provenance, run_eval
    from models.domain import load_domain

    domain = load_domain(args.domain)
    prov = provenance()  # at the start: the code the cases are run with
    rows = []
    for v in [float(x) for x in args.values.split(",")]:
        rank.POP_PRIOR = v  # read at call time by tools.rank
        spec = EvalSpec(suite="simulator", n=args.n, seed=args.seed, systems=["agent"], llm="scripted",
                        split="valid", bank="dev", progress=False, workers=args.workers)
        t = time.perf_counter()
        res = run_eval(domain, spec, Path(args.runs) / f"{domain.name}-pop{v:g}", log=lambda s: None)
        m = res["systems"]["agent"]
        rows.append({"pop_prior": v, "cases": m["cases"], "strict_H@5": m["strict_H@5"],
                     "strict_H@5_ci95": m["strict_H@5_ci95"], "non_trivial_cases": m.get("non_trivial_cases"),
                     "strict_H@5_non_trivial": m.get("strict_H@5_non_trivial"), "seconds": round(time.perf_counter() - t, 1)})
        print(f"POP_PRIOR={v:g}: strict H@5 {m['strict_H@5']:.3f} {m['strict_H@5_ci95']}, non-trivial "
              f"{m.get('strict_H@5_non_trivial')} (n={m.get('non_trivial_cases')})", flush=True)
    out = {"domain": domain.name, "split": "valid", "bank": "dev", "n": args.n, "seed": args.seed,
           "provenance": prov, "rows": rows}
    print("\n| POP_PRIOR | strict H@5 | 95% CI | non-trivial H@5 | non-trivial cases | s |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pop_prior']:g} | {r['strict_H@5']:.3f} | {r['strict_H@5_ci95']} | {r['strict_H@5_non_trivial']} "
              f"| {r['non_trivial_cases']} | {r['seconds']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
