"""Build throughput: fresh build (catalog + index + quick models) per catalog, and the incremental cases.

Each case runs `build` in a child process on a fresh artifacts folder, so its time, CPU time and peak
RSS are its own. Cases:
- fresh:      catalog + index (every item embedded) + popularity + ItemCF (SASRec trains in the
              background in `make demo`; --sasrec adds it here);
- add-100:    the same catalog with 100 items appended to its item file, rebuilt on top of the fresh
              artifacts (only the new rows are embedded; popularity / ItemCF refit);
- log-grows:  5% more interactions appended, rebuilt: no re-embedding, the models say they are stale.
Targets (issue 13, 2 cores): 30k-item / 100k-interaction build <= 5 min; adding 100 items <= 20 s.
Timings taken while other jobs share the cores are upper bounds: the load average is recorded, and the
CPU seconds of the child are printed beside the wall time.

    python benchmarks/build_bench.py --catalog movielens=data/movielens \\
        --catalog store=/tmp/store30k --out benchmarks/results/build_bench.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def child(domain: str, artifacts: str, sasrec: bool) -> dict[str, Any]:
    """One build in this process; returns timings and stats (run by the parent as a child process)."""
    from models.artifacts import artifacts_dir
    from models.build import build_domain, train_quick_models
    from models.config import load_config
    from models.domain import Domain
    from models.training import model_status, ranker_note

    cfg = load_config(domain)
    art = artifacts_dir(cfg, artifacts)
    t = time.perf_counter()
    lines: list[str] = []
    rep = build_domain(cfg, art, progress=False, echo=lines.append)
    if sasrec:
        train_quick_models(rep, cfg, background=False, progress=False, echo=lines.append)
    else:
        from models.training import train_models

        for name in ("popularity", "itemcf"):
            r = train_models(Domain(cfg, art), [name], progress=False)[name]
            rep.steps[f"model {name}"], rep.timings[f"model {name}"] = r["status"], r["seconds"]
    wall = time.perf_counter() - t
    d = Domain(cfg, art)
    status = model_status(d)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024,
            "timings": rep.timings, "steps": rep.steps, "stats": {k: v for k, v in rep.stats.items()
                                                                   if not isinstance(v, list | dict)},
            "messages": lines, "models": {k: v["state"] for k, v in status.items()}, "ranker_note": ranker_note(d)}


def run_case(domain: str, artifacts: str, sasrec: bool = False) -> dict[str, Any]:
    load0 = os.getloadavg()[0]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [sys.executable, __file__, "--child", domain, "--artifacts", artifacts, "--child-out", out]
    if sasrec:
        cmd.append("--sasrec")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rc = subprocess.run(cmd, env=env).returncode
    if rc != 0:
        raise SystemExit(f"build of {domain} failed (rc {rc})")
    res = json.loads(Path(out).read_text(encoding="utf-8"))
    os.unlink(out)
    res["loadavg_1min_start"], res["loadavg_1min_end"] = load0, os.getloadavg()[0]
    return res


def _items_file(domain_dir: Path) -> tuple[Path, dict[str, Any]]:
    from models.config import load_config

    cfg = load_config(domain_dir)
    return cfg.items.path, {"id": cfg.items.id, "title": cfg.items.title}


def copy_domain(src: Path, dest: Path) -> Path:
    """A self-contained copy (config + the files it names) that the incremental cases may edit."""
    from models.config import load_config

    cfg = load_config(src)
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file():
            shutil.copy2(f, dest / f.name)
    for p in cfg.input_files():
        if not (dest / p.name).exists():
            raise SystemExit(f"{src}: input {p} is outside the domain folder; pass a self-contained domain")
    return dest


def append_items(domain_dir: Path, n: int) -> None:
    """Append n new items (copies of the last rows with new ids and titles) to the domain's item file."""
    path, cols = _items_file(domain_dir)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    ids = [r[cols["id"]] for r in rows]
    numeric = all(i.isdigit() for i in ids)
    next_id = max(int(i) for i in ids) + 1 if numeric else 0
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        for k in range(n):
            r = dict(rows[-1 - (k % len(rows))])
            r[cols["id"]] = str(next_id + k) if numeric else f"bench-new-{k}"
            r[cols["title"]] = f"{r[cols['title']]} (new edition {k})"
            w.writerow(r)


def grow_log(domain_dir: Path, frac: float) -> int:
    """Append frac x the interaction rows again with later timestamps (same users, shifted items)."""
    from models.config import load_config

    cfg = load_config(domain_dir)
    ic = cfg.interactions
    with ic.path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    n = int(len(rows) * frac)
    t_max = max(float(r[ic.time]) if ic.time and r[ic.time].replace(".", "").isdigit() else 0 for r in rows)
    with ic.path.open("a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        for k, r in enumerate(rows[:n]):
            r = dict(r)
            r[ic.item] = rows[(k * 7919) % len(rows)][ic.item]
            if ic.time and r[ic.time].replace(".", "").isdigit():
                r[ic.time] = str(int(t_max) + 1 + k)
            w.writerow(r)
    return n


def fmt(res: dict[str, Any]) -> dict[str, Any]:
    t = res["timings"]
    st = res["stats"]
    return {"wall s": f"{res['wall_s']:.1f}", "cpu s": f"{res['cpu_s']:.1f}",
            "catalog s": f"{t.get('catalog', 0):.1f}", "index s": f"{t.get('index', 0):.1f}",
            "embedded": st.get("embedded", ""), "items/s": st.get("items_per_s", ""),
            "models s": f"{sum(v for k, v in t.items() if k.startswith('model')):.1f}",
            "peak RSS MB": f"{res['peak_rss_mb']:.0f}", "load": f"{res['loadavg_1min_start']:.1f}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", action="append", default=[], help="name=domain folder (repeatable)")
    ap.add_argument("--incremental", default="", help="catalog names to run add-100 / log-grows on (default: the last)")
    ap.add_argument("--sasrec", action="store_true", help="train SASRec in the fresh build too (time it)")
    ap.add_argument("--keep", default=None, help="keep artifacts under this folder")
    ap.add_argument("--seed", action="append", default=[],
                    help="name=built artifacts folder of that catalog: copied in first, so the incremental cases "
                         "run without a fresh full embed (the fresh case then reports 'up to date')")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--artifacts", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        res = child(args.child, args.artifacts, args.sasrec)
        Path(args.child_out).write_text(json.dumps(res, default=str), encoding="utf-8")
        return
    from rec_common import table, write_json

    cats = dict(c.split("=", 1) for c in args.catalog) or {"movielens": str(ROOT / "data" / "movielens")}
    inc = [c for c in args.incremental.split(",") if c] or [list(cats)[-1]]
    work = Path(args.keep or tempfile.mkdtemp(prefix="build-bench-"))
    rows, payload = [], {"cases": {}, "cpu_count": os.cpu_count()}
    for name, folder in cats.items():
        art = work / f"art-{name}"
        shutil.rmtree(art, ignore_errors=True)
        src = Path(folder)
        dom = copy_domain(src, work / f"domain-{name}") if name in inc else src
        seeds = dict(x.split("=", 1) for x in args.seed)
        label = "fresh"
        if name in seeds:
            from models.artifacts import artifacts_dir
            from models.config import load_config

            shutil.copytree(seeds[name], artifacts_dir(load_config(dom), art))
            label = "from seed"
        print(f"== {name}: {label} build", flush=True)
        r = run_case(str(dom), str(art), args.sasrec)
        payload["cases"][f"{name} {label}"] = r
        rows.append({"case": f"{name} {label}", **fmt(r)})
        if name in inc:
            append_items(dom, 100)
            print(f"== {name}: +100 items", flush=True)
            r = run_case(str(dom), str(art))
            payload["cases"][f"{name} add-100"] = r
            rows.append({"case": f"{name} add-100 items", **fmt(r)})
            n = grow_log(dom, 0.05)
            print(f"== {name}: +{n} interactions", flush=True)
            r = run_case(str(dom), str(art))
            payload["cases"][f"{name} log-grows"] = r
            rows.append({"case": f"{name} +{n} interactions", **fmt(r)})
            print(f"   {r['ranker_note']}")
        print(table(rows, list(rows[0])), flush=True)
        write_json(args.out, payload)
    print()
    print(table(rows, list(rows[0])))
    write_json(args.out, payload)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
