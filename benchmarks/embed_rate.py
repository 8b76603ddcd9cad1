"""Embedding throughput per backend in CPU time on one thread: a figure that survives a shared machine.

Wall-clock items/s on 2 cores shared with other jobs says more about the other jobs than about the
encoder; items per CPU-second on one thread (x2 is the ideal 2-core figure) does not. Both are printed,
with the load average. Samples n item texts of each built catalog (the build's own item texts).

    python benchmarks/embed_rate.py --catalog movielens=data/movielens --catalog store=/tmp/store30k \\
        --backends torch,onnx-int8,onnx-int8@64 --out benchmarks/results/embed_rate.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("INTEREC_EMBED_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", action="append", default=[], help="name=domain folder (built)")
    ap.add_argument("--backends", default="torch,onnx-int8,onnx-int8@64", help="backend[@max word pieces],...")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import pandas as pd
    import torch
    from rec_common import table, write_json

    from models.artifacts import artifacts_dir
    from models.catalog import item_text
    from models.config import load_config
    from models.embedder import Embedder, base_encoder_path

    torch.set_num_threads(1)
    rows, out = [], {}
    for spec_cat in args.catalog or ["movielens=data/movielens"]:
        name, folder = spec_cat.split("=", 1)
        cfg = load_config(folder)
        items = pd.read_parquet(artifacts_dir(cfg) / "items.parquet")
        items = items.sample(min(args.n, len(items)), random_state=0)
        texts = [item_text(r, cfg) for _, r in items.iterrows()]
        for spec in args.backends.split(","):
            backend, _, length = spec.partition("@")
            os.environ["INTEREC_ENCODER_MAX_LEN"] = length or "128"
            emb = Embedder(base_encoder_path(), backend=backend)
            emb.embed(["warm up"])
            c, t = time.process_time(), time.perf_counter()
            emb.embed(texts)
            cpu, wall = time.process_time() - c, time.perf_counter() - t
            r = {"catalog": name, "backend": spec, "items per CPU-s (1 thread)": round(len(texts) / cpu, 1),
                 "ideal 2-core items/s": round(2 * len(texts) / cpu), "wall items/s": round(len(texts) / wall, 1),
                 "load": round(os.getloadavg()[0], 1)}
            rows.append(r)
            out[f"{name} {spec}"] = r
            print(r, flush=True)
    print(table(rows, list(rows[0])))
    write_json(args.out, {"n": args.n, "results": out})


if __name__ == "__main__":
    main()
