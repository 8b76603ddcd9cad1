"""Sweep one tuned constant (e.g. tools.rank.POP_PRIOR, tools.rank.FIT_TIE, graph.understand.reading.ENCODER_MATCH)
on VALIDATION users only (dev phrasing bank, scripted LLM), on one or more catalogs.

Tuning discipline (issue 15): a constant is chosen on cases that are never reported. This runs the
simulator suite for the agent once per value on `--split valid --bank dev` and prints strict H@5 overall
and on the non-trivial cases, with the commit and command, as a table and JSON.

  python benchmarks/sweep.py --param tools.rank.POP_PRIOR [--domain data/movielens ...] [--values 0,0.25,0.5,1]
      [--n 60] [--out FILE]
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
    ap.add_argument("--param", default="tools.rank.POP_PRIOR", help="module.CONSTANT to set for each run")
    ap.add_argument("--domain", action="append", default=None, help="catalog (repeatable; default MovieLens)")
    ap.add_argument("--values", default="0,0.25,0.5,1")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="parallel cases (scripted LLM: threads)")
    ap.add_argument("--runs", default="runs/sweep", help="folder for the run folders (resumable)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import importlib

    from evals.runner import EvalSpec, provenance, run_eval

    prov = provenance()  # at the start: the code the cases are run with
    from models.build import load_domain

    module_name, _, name = args.param.rpartition(".")
    module = importlib.import_module(module_name)
    if not hasattr(module, name):
        raise SystemExit(f"{module_name} has no constant {name}")
    rows = []
    for path in args.domain or ["data/movielens"]:
        domain = load_domain(path)
        for v in [float(x) for x in args.values.split(",")]:
            setattr(module, name, v)  # read at call time by the module that owns it
            spec = EvalSpec(suite="simulator", n=args.n, seed=args.seed, systems=["agent"], llm="scripted",
                            split="valid", bank="dev", progress=False, workers=args.workers)
            t = time.perf_counter()
            res = run_eval(domain, spec, Path(args.runs) / f"{domain.name}-{name}{v:g}", log=lambda s: None)
            m = res["systems"]["agent"]
            rows.append({"domain": domain.name, name: v, "cases": m["cases"], "strict_H@5": m["strict_H@5"],
                         "strict_H@5_ci95": m["strict_H@5_ci95"], "non_trivial_cases": m.get("non_trivial_cases"),
                         "strict_H@5_non_trivial": m.get("strict_H@5_non_trivial"),
                         "seconds": round(time.perf_counter() - t, 1)})
            print(f"{domain.name} {name}={v:g}: strict H@5 {m['strict_H@5']:.3f} {m['strict_H@5_ci95']}, non-trivial "
                  f"{m.get('strict_H@5_non_trivial')} (n={m.get('non_trivial_cases')})", flush=True)
    out = {"param": args.param, "split": "valid", "bank": "dev", "n": args.n, "seed": args.seed,
           "provenance": prov, "rows": rows}
    print(f"\n| catalog | {name} | strict H@5 | 95% CI | non-trivial H@5 | non-trivial cases | s |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['domain']} | {r[name]:g} | {r['strict_H@5']:.3f} | {r['strict_H@5_ci95']} | "
              f"{r['strict_H@5_non_trivial']} | {r['non_trivial_cases']} | {r['seconds']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
