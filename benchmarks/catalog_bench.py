"""Catalog benchmark: MovieLens build time and peak memory; SQL filter and title resolution at 1M items.

Prints a table and JSON (also written to --out). Targets on 2 cores: MovieLens build (no model
training) < 60 s; at 1M items hard-filter p95 < 50 ms and title resolution p95 < 20 ms.

hard_filter: the agent's filter tool over the whole catalog (typed conditions, in-memory engine, most
popular 5,000 kept). sql_bus1000: the same conditions as SQL over a 1,000-item candidate bus. raw_sql_full_scan:
LLM-written SQL over the whole table with ORDER BY popularity (what the `sql` look-up tool may run).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ["shadow", "river", "night", "star", "dark", "king", "lost", "city", "game", "blue", "red", "love", "war", "last", "secret", "house", "heart", "dream", "fire", "storm", "ghost", "road", "silent", "golden", "little", "big", "wild", "iron", "empire", "ocean", "winter", "summer", "broken", "glass", "moon", "sun", "garden", "island", "hunter", "journey", "machine", "planet", "queen", "stone", "tale", "thunder", "time", "valley", "wolf", "world", "angel", "apple", "bridge", "castle", "dragon", "echo", "forest", "harbor", "legend", "mirror", "mountain", "orchid", "paradise", "rain", "rebel", "rose", "saint", "sky", "soldier", "spirit", "sword", "temple", "tiger", "tower", "train", "truth", "voyage", "wind", "witch", "zero", "alpha", "bravo", "crimson", "delta", "emerald", "falcon", "glory", "horizon", "infinity", "jade", "karma", "lunar", "matrix", "nova", "omega", "phoenix", "quest", "raven", "sierra", "titan", "ultra", "vortex", "whisper", "xenon", "yonder", "zenith"]
GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def make_synthetic(folder: Path, n_items: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    titles = []
    with (folder / "items.csv").open("w") as f:
        f.write("item,title,genres,year,price\n")
        for i in range(n_items):
            t = " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(2, 4)))
            t = f"{t} {rng.randint(1, 99)}" if rng.random() < 0.3 else t
            y = rng.randint(1920, 2024)
            titles.append(f"{t} ({y})")
            g = "|".join(rng.sample(GENRES, rng.randint(1, 3)))
            f.write(f"{i},\"{t} ({y})\",{g},{y},{rng.randint(0, 6000) / 100}\n")
    nprng = np.random.default_rng(seed)
    users = nprng.integers(0, 20000, 200_000)
    its = np.minimum(nprng.zipf(1.3, 200_000), n_items) - 1
    with (folder / "log.csv").open("w") as f:
        f.write("user,item\n")
        for u, it in zip(users, its, strict=True):
            f.write(f"u{u},{it}\n")
    (folder / "domain.toml").write_text(
        'name = "synthetic"\nitem_word = "movie"\n[items]\npath = "items.csv"\nid = "item"\ntitle = "title"\n'
        'lists = { genres = "|" }\nnumbers = ["year", "price"]\n'
        '[interactions]\npath = "log.csv"\nuser = "user"\nitem = "item"\n')
    return titles


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000.0, p))


def bench_movielens(art_root: Path) -> dict[str, float]:
    code = "\n".join([
        "import sys, time",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "from models.build import build_domain; from models.config import load_config",
        "from models.artifacts import artifacts_dir",
        f"cfg = load_config({str(ROOT / 'data' / 'movielens')!r}); t = time.perf_counter()",
        f"r = build_domain(cfg, artifacts_dir(cfg, {str(art_root)!r}), progress=False)",
        "print(time.perf_counter() - t, r.stats['items'], r.stats['interactions'], r.stats['users'])",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rebuild = time.perf_counter() - start
    return {"build_s": float(out[0]), "items": int(out[1]), "interactions": int(out[2]), "users": int(out[3]),
            "peak_rss_mb": rss_mb, "rebuild_s_incl_python_start": rebuild}


def bench_million(tmp: Path, n_items: int, queries: int) -> dict[str, float]:
    from models.artifacts import artifacts_dir
    from models.build import build_domain
    from models.config import load_config
    from models.domain import Domain

    titles = make_synthetic(tmp / "synthetic", n_items)
    cfg = load_config(tmp / "synthetic")
    t = time.perf_counter()
    art = artifacts_dir(cfg, tmp / "art")
    build_domain(cfg, art, progress=True, index=False)
    build_s = time.perf_counter() - t
    d = Domain(cfg, art)
    t = time.perf_counter()
    resolver = d.resolver
    resolver_build_s = time.perf_counter() - t
    rng = random.Random(1)
    from tools.bus import Bus
    from tools.catalog_tools import make_filter_args, run_filter
    from tools.context import ToolContext

    ctx = ToolContext(d, use_models=False)
    filter_args = make_filter_args(d.schema)
    run_filter(ctx, Bus(), filter_args.model_validate({"where": [{"col": "year", "op": ">", "val": "1"}]}))  # warm
    sql_full, sql_bus, typed = [], [], []
    for _ in range(queries):
        g = rng.choice(GENRES)
        y0 = rng.randint(1920, 2010)
        q = f"SELECT * FROM items WHERE genres LIKE '%{g}%' AND year BETWEEN {y0} AND {y0 + 9} AND price < 30"
        args = filter_args.model_validate({"where": [
            {"col": "genres", "op": "contains", "val": g}, {"col": "year", "op": ">=", "val": str(y0)},
            {"col": "year", "op": "<=", "val": str(y0 + 9)}, {"col": "price", "op": "<", "val": "30"}]})
        t = time.perf_counter()
        run_filter(ctx, Bus(), args)
        typed.append(time.perf_counter() - t)
        t = time.perf_counter()
        d.table.filter_ids(q + " ORDER BY popularity DESC", cap=5000)
        sql_full.append(time.perf_counter() - t)
        bus = rng.sample(range(n_items), 1000)
        t = time.perf_counter()
        d.table.filter_ids(q, candidates=bus)
        sql_bus.append(time.perf_counter() - t)

    def typo(s: str) -> str:
        i = rng.randrange(1, max(2, len(s) - 1))
        return s[:i] + s[i + 1 :]

    res_t, correct = [], 0
    for _ in range(queries):
        target = rng.randrange(n_items)
        base = titles[target].rsplit(" (", 1)[0]
        kind = rng.random()
        q = titles[target] if kind < 0.3 else (typo(base) if kind < 0.7 else base.lower())
        t = time.perf_counter()
        got = resolver.resolve(q, k=5)
        res_t.append(time.perf_counter() - t)
        correct += bool(got) and any(m.title.rsplit(" (", 1)[0] == base for m in got[:1])
    return {"items": n_items, "build_s": build_s, "resolver_index_s": resolver_build_s,
            "hard_filter_p50_ms": pct(typed, 50), "hard_filter_p95_ms": pct(typed, 95),
            "raw_sql_full_scan_p50_ms": pct(sql_full, 50), "raw_sql_full_scan_p95_ms": pct(sql_full, 95),
            "sql_bus1000_p50_ms": pct(sql_bus, 50), "sql_bus1000_p95_ms": pct(sql_bus, 95),
            "resolve_p50_ms": pct(res_t, 50), "resolve_p95_ms": pct(res_t, 95),
            "resolve_top1_same_title": correct / queries}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", default=None, help="write JSON here too")
    ap.add_argument("--skip-movielens", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, dict[str, float]] = {}
        if not args.skip_movielens:
            result["movielens"] = bench_movielens(Path(tmp) / "ml-art")
        result["synthetic"] = bench_million(Path(tmp), args.items, args.queries)
    targets = {"movielens.build_s": 60, "synthetic.hard_filter_p95_ms": 50, "synthetic.sql_bus1000_p95_ms": 50,
               "synthetic.resolve_p95_ms": 20}
    print(f"{'metric':40s} {'value':>12s} {'target':>8s}")
    for sec, vals in result.items():
        for k, v in vals.items():
            tgt = targets.get(f"{sec}.{k}")
            mark = "" if tgt is None else (f"< {tgt}" + (" ok" if v < tgt else " MISSED"))
            print(f"{sec + '.' + k:40s} {v:12.2f} {mark:>8s}")
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
