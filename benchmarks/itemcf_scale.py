"""ItemCF at catalog scale: build sparse top-K neighbours for a synthetic 1M-item log (power-law items).

No N x N matrix is ever formed; reports build time, peak RSS, neighbour-matrix size and the latency of
`neighbours` and `score` (1,000 candidates, 20-item history).

    python benchmarks/itemcf_scale.py --items 1000000 --users 500000 --per-user 10 --out benchmarks/results/itemcf_scale.json
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rec_common import table, write_json  # noqa: E402

from models.itemcf import ItemCF  # noqa: E402
from models.recdata import SplitSequences  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=500_000)
    ap.add_argument("--per-user", type=int, default=10)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    ranks = np.arange(1, args.items + 1, dtype=np.float64)
    cdf = np.cumsum(ranks ** -0.8)
    cdf /= cdf[-1]
    perm = rng.permutation(args.items)
    lens = rng.poisson(args.per_user, size=args.users).clip(2, None)
    flat = perm[np.minimum(np.searchsorted(cdf, rng.random(int(lens.sum()))), args.items - 1)]
    seqs = np.split(flat.astype(np.int64), np.cumsum(lens)[:-1])
    data = SplitSequences(args.items, seqs, np.full(args.users, -1), np.full(args.users, -1))
    t = time.perf_counter()
    cf = ItemCF.fit(data, k=args.k)
    build = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hot = perm[:1000]
    nb, sc = [], []
    for i in range(200):
        t = time.perf_counter()
        cf.neighbours(int(hot[i % 1000]), 10)
        nb.append(1000 * (time.perf_counter() - t))
        hist = rng.choice(hot, 20, replace=False)
        cands = rng.choice(args.items, 1000, replace=False)
        t = time.perf_counter()
        cf.score(hist, cands)
        sc.append(1000 * (time.perf_counter() - t))
    res = {"items": args.items, "users": args.users, "interactions": int(lens.sum()), "k": args.k,
           "build_seconds": build, "peak_rss_mb": peak_mb, "neighbour_nnz": int(cf.sim.nnz),
           "neighbour_mb": (cf.sim.data.nbytes + cf.sim.indices.nbytes + cf.sim.indptr.nbytes) / 2**20,
           "neighbours_p95_ms": float(np.percentile(nb, 95)), "score_1000_p95_ms": float(np.percentile(sc, 95))}
    print(table([res], list(res), "{:.2f}"))
    write_json(args.out, res)


if __name__ == "__main__":
    main()
