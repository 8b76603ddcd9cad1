"""Rank-tool latency: score 1,000 candidates for one user on CPU (target p95 < 20 ms for SASRec).

Uses the domain's trained SASRec (trains it first with --train when missing) and also times ItemCF and
popularity, the other scorers behind the rank and similarity tools. Histories are real test-user
histories (last 50 items used by SASRec).

    python benchmarks/rank_latency.py --domain data/movielens --out benchmarks/results/rank_latency.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rec_common import open_domain, set_threads, table, write_json  # noqa: E402

from models.recdata import from_domain  # noqa: E402
from models.training import load_itemcf, load_popularity, load_ranker, train_models  # noqa: E402


def timings(fn, cases: list[tuple[np.ndarray, np.ndarray]], warmup: int = 10) -> dict[str, float]:
    for h, c in cases[:warmup]:
        fn(h, c)
    ms = []
    for h, c in cases:
        t = time.perf_counter()
        fn(h, c)
        ms.append(1000 * (time.perf_counter() - t))
    a = np.array(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean()), "calls": len(a)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--artifacts", default=None)
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train", action="store_true", help="train SASRec first if it is missing")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    threads = set_threads(args.threads)
    domain = open_domain(args.domain, args.artifacts)
    if args.train:
        train_models(domain, ("sasrec",), progress=False)
    ranker = load_ranker(domain)
    if ranker is None:
        raise SystemExit("no SASRec model: run with --train or `app.py train --model sasrec`")
    data = from_domain(domain)
    hist, _ = data.test_cases()
    rng = np.random.default_rng(0)
    cases = [(hist[int(rng.integers(len(hist)))],
              rng.choice(domain.n_items, size=min(args.candidates, domain.n_items), replace=False))
             for _ in range(args.calls)]
    rows, res = [], {}
    for name, model in (("sasrec", ranker), ("itemcf", load_itemcf(domain)), ("popularity", load_popularity(domain))):
        res[name] = timings(model.score, cases)
        rows.append({"scorer": name, **res[name]})
    print(f"{domain.name}: {args.candidates} candidates per call, torch threads {threads}")
    print(table(rows, ["scorer", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "calls"], "{:.2f}"))
    met = res["sasrec"]["p95_ms"] < 20
    print(f"SASRec p95 {res['sasrec']['p95_ms']:.2f} ms (target < 20 ms: {'met' if met else 'MISSED'})")
    write_json(args.out, {"domain": domain.name, "candidates": args.candidates, "threads": threads,
                          "results": res, "target_met": met})


if __name__ == "__main__":
    main()
