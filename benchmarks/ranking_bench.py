"""Full-ranking benchmark: popularity, ItemCF, our SASRec and RecBole 1.2.1's SASRec, same split, same metric code.

Protocol (identical for every model): leave-last-out over each user's positives (last = test, one
before = valid, the rest = train); only users with a test item; models train on train (+ valid for early
stopping); the test input is train + valid. Every item in the benchmark data is ranked (items never seen
in it are excluded for all models); ties broken at random. Reported twice: with the user's history
items MASKED (primary; the rank tool never re-recommends seen items) and UNMASKED (RecBole's own
sequential protocol). RecBole runs in its own venv (.venv-recbole, created on demand with the pins in
BASELINES.md) as a subprocess from a scratch folder; its training wall time is its Trainer.fit time.
Targets: our NDCG@10 >= RecBole's on both data sets; our training wall time <= 0.3x RecBole's.

    python benchmarks/ranking_bench.py --datasets movielens,beauty --out benchmarks/results/ranking_bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rec_common import ROOT, open_domain, set_threads, table, write_json  # noqa: E402

from models.itemcf import ItemCF  # noqa: E402
from models.metrics import hr_ndcg, target_ranks  # noqa: E402
from models.popularity import Popularity  # noqa: E402
from models.recdata import SplitSequences, from_domain, from_user_sequences, read_user_lines  # noqa: E402
from models.sasrec import SASRec, SASRecConfig  # noqa: E402

BEAUTY = "/work/shared/data/amazon-beauty-seq/Beauty.txt"
RECBOLE_VENV = ROOT / ".venv-recbole"
RECBOLE_PINS = [["torch==2.13.0"], ["recbole==1.2.1", "numpy<2", "pandas<3", "setuptools<81"]]


def ensure_recbole_venv() -> Path:
    """Create .venv-recbole (Python 3.11; ray 2.6.3 has no 3.12 wheels) when missing; returns its python."""
    py = RECBOLE_VENV / "bin" / "python"
    ok = py.is_file() and subprocess.run([str(py), "-c", "import recbole"], capture_output=True).returncode == 0
    if ok:
        return py
    base = os.environ.get("RECBOLE_PYTHON", "python3.11")
    print(f"creating {RECBOLE_VENV} with {base} (RecBole 1.2.1 pins, see BASELINES.md)", flush=True)
    subprocess.run([base, "-m", "venv", str(RECBOLE_VENV)], check=True)
    for pins in RECBOLE_PINS:  # torch first (local CPU build), then all other pins in one resolver call
        subprocess.run([str(py), "-m", "pip", "install", "-q", *pins], check=True)
    return py


def only_test_users(data: SplitSequences) -> SplitSequences:
    """Drop users without a test item (RecBole's leave-one-out would split them differently)."""
    keep = np.flatnonzero(data.test >= 0)
    return SplitSequences(data.n_items, [data.train[u] for u in keep], data.valid[keep], data.test[keep])


def universe_of(data: SplitSequences) -> np.ndarray:
    mask = np.zeros(data.n_items, dtype=bool)
    for s in data.train:
        mask[s] = True
    mask[data.valid[data.valid >= 0]] = True
    mask[data.test[data.test >= 0]] = True
    return mask


def evaluate(score_all: Any, data: SplitSequences, universe: np.ndarray, batch: int = 1024) -> dict[str, Any]:
    hist, targets = data.test_cases()
    rm, rp = [], []
    for lo in range(0, len(targets), batch):
        s = np.asarray(score_all(hist[lo:lo + batch]), dtype=np.float64).copy()
        s[:, ~universe] = -np.inf
        rp.append(target_ranks(s, targets[lo:lo + batch]))
        rm.append(target_ranks(s, targets[lo:lo + batch], hist[lo:lo + batch]))
    return {"masked": hr_ndcg(np.concatenate(rm)), "unmasked": hr_ndcg(np.concatenate(rp)), "n_test": len(targets)}


def write_recbole_inputs(work: Path, name: str, data: SplitSequences, universe: np.ndarray) -> None:
    folder = work / "data" / name
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.inter").open("w", encoding="utf-8") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for u in range(data.n_users):
            seq = [*data.train[u].tolist(), int(data.valid[u]), int(data.test[u])]
            f.writelines(f"{u}\t{i}\t{t}\n" for t, i in enumerate(seq))
    hist, _ = data.test_cases()
    off = np.concatenate([[0], np.cumsum([len(h) for h in hist])]).astype(np.int64)
    np.savez(work / "cases.npz", uids=np.arange(data.n_users), hist_flat=np.concatenate(hist).astype(np.int64),
             hist_off=off, universe=universe, n_items=np.int64(data.n_items))


def run_recbole(name: str, data: SplitSequences, universe: np.ndarray, epochs: int, threads: int,
                log_path: Path, python: str | None = None, batch_size: int = 2048, stopping_step: int = 10,
                max_seconds: float = 0) -> dict[str, Any]:
    py = Path(python) if python else ensure_recbole_venv()
    with tempfile.TemporaryDirectory(prefix=f"recbole-{name}-") as tmp:
        work = Path(tmp)
        write_recbole_inputs(work, name, data, universe)
        out = work / "result.json"
        cmd = [str(py), str(Path(__file__).resolve().parent / "recbole_runner.py"), "--workdir", str(work),
               "--name", name, "--out", str(out), "--epochs", str(epochs), "--threads", str(threads),
               "--batch-size", str(batch_size), "--stopping-step", str(stopping_step), "--max-seconds", str(max_seconds)]
        start = time.perf_counter()
        with log_path.open("w", encoding="utf-8") as log:
            env = {**os.environ, "PYTHONPATH": os.environ.get("RECBOLE_PYTHONPATH", "")}
            rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
        if rc != 0 or not out.is_file():
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"RecBole failed (rc={rc}); log {log_path}:\n{tail}")
        res = json.loads(out.read_text(encoding="utf-8"))
        res["process_seconds"] = time.perf_counter() - start
        return res


def save_npz(data: SplitSequences, path: str | Path) -> None:
    np.savez(path, flat=np.concatenate(data.train), lens=np.array([len(s) for s in data.train]),
             valid=data.valid, test=data.test, n_items=np.int64(data.n_items))


def load_npz(path: str | Path) -> SplitSequences:
    z = np.load(path)
    train = np.split(z["flat"].astype(np.int64), np.cumsum(z["lens"])[:-1])
    return SplitSequences(int(z["n_items"]), list(train), z["valid"].astype(np.int64), z["test"].astype(np.int64))


def load_dataset(name: str, artifacts: str | None, npz: dict[str, str] | None = None) -> SplitSequences:
    if npz and name in npz:
        return only_test_users(load_npz(npz[name]))
    if name == "movielens":
        return only_test_users(from_domain(open_domain(str(ROOT / "data" / "movielens"), artifacts)))
    if name == "beauty":
        seqs, _ = read_user_lines(BEAUTY)
        return only_test_users(from_user_sequences(seqs, n_items=max(int(s.max()) for s in seqs) + 1))
    raise SystemExit(f"unknown dataset {name} (movielens, beauty)")


SASREC_PRESETS = {  # chosen on the VALID split only (dropout 0.2/0.3/0.5, window stride 50/25)
    "movielens": {},  # the defaults (dropout 0.5)
    "beauty": {"dropout": 0.3},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="movielens,beauty")
    ap.add_argument("--artifacts", default=None)
    ap.add_argument("--models", default="popularity,itemcf,sasrec,recbole")
    ap.add_argument("--recbole-epochs", type=int, default=300, help="RecBole's default is 300 (+ early stop 10)")
    ap.add_argument("--recbole-batch-size", type=int, default=2048, help="RecBole's default train_batch_size")
    ap.add_argument("--recbole-stopping-step", type=int, default=10, help="RecBole's default early-stopping patience")
    ap.add_argument("--recbole-max-seconds", type=float, default=0, help="wall-time cap on RecBole training (0 = none)")
    ap.add_argument("--recbole-python", default=None, help="python with recbole importable (default: .venv-recbole)")
    ap.add_argument("--npz", default="", help="name=path,... split data saved by --save-npz (skips building)")
    ap.add_argument("--save-npz", default=None, help="folder: save each dataset's split as <name>.npz and exit")
    ap.add_argument("--sasrec", default="", help="overrides, e.g. dropout=0.5,lr=0.002")
    ap.add_argument("--sasrec-model", default=None,
                    help="evaluate this saved sasrec-v1 folder (trained on the same split) instead of training")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--logdir", default="/tmp")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    set_threads(args.threads)
    models = args.models.split(",")
    payload: dict[str, Any] = {"protocol": (__doc__ or "").split("\n\n")[1], "datasets": {},
                               "recbole_settings": {"batch_size": args.recbole_batch_size, "epochs": args.recbole_epochs,
                                                    "stopping_step": args.recbole_stopping_step,
                                                    "max_seconds": args.recbole_max_seconds}}
    rows = []
    npz = dict(kv.split("=", 1) for kv in args.npz.split(",") if kv)
    for name in args.datasets.split(","):
        data = load_dataset(name, args.artifacts, npz)
        if args.save_npz:
            Path(args.save_npz).mkdir(parents=True, exist_ok=True)
            save_npz(data, Path(args.save_npz) / f"{name}.npz")
            continue
        universe = universe_of(data)
        info = {"users": data.n_users, "items_ranked": int(universe.sum()),
                "train_interactions": int(sum(len(s) for s in data.train))}
        print(f"== {name}: {info}", flush=True)
        res: dict[str, Any] = {"info": info, "loadavg_1min_at_start": os.getloadavg()[0]}
        if "popularity" in models:
            t = time.perf_counter()
            pop = Popularity.fit(data)
            res["popularity"] = {**evaluate(pop.score_all, data, universe), "train_seconds": time.perf_counter() - t}
        if "itemcf" in models:
            t = time.perf_counter()
            cf = ItemCF.fit(data)
            res["itemcf"] = {**evaluate(cf.score_all, data, universe), "train_seconds": time.perf_counter() - t}
        if "sasrec" in models:
            over = {**SASREC_PRESETS.get(name, {}),
                    **{k: type(getattr(SASRecConfig(), k))(v) for k, v in
                       (kv.split("=") for kv in args.sasrec.split(",") if kv)}}
            cfg = SASRecConfig(threads=args.threads, **over)
            t = time.perf_counter()
            if args.sasrec_model:
                m = SASRec.load(args.sasrec_model)
                if m.meta.get("n_items") != data.n_items:
                    raise SystemExit(f"{args.sasrec_model} was trained on another catalog")
                secs = float(m.meta["train_seconds"])
            else:
                m = SASRec.fit(data, cfg, log=lambda s, n=name: print(f"[{n}] sasrec {s}", flush=True))
                secs = time.perf_counter() - t
            res["sasrec"] = {**evaluate(m.score_all, data, universe), "train_seconds": secs,
                             "epochs": m.meta["epochs"], "best_epoch": m.meta["best_epoch"],
                             "best_valid_ndcg10": m.meta["metrics"]["valid_NDCG@10"],
                             "seconds_to_best_epoch": m.meta["history"][m.meta["best_epoch"] - 1]["seconds"],
                             "config": m.meta["config"], "device": m.meta["device"]}
        if "recbole" in models:
            log_path = Path(args.logdir) / f"recbole-{name}.log"
            print(f"[{name}] RecBole SASRec running (log: {log_path})", flush=True)
            r = run_recbole(name, data, universe, args.recbole_epochs, args.threads, log_path, args.recbole_python,
                            args.recbole_batch_size, args.recbole_stopping_step, args.recbole_max_seconds)
            res["recbole_sasrec"] = {**r, "train_seconds": r["fit_seconds"]}
        for model in ("popularity", "itemcf", "sasrec", "recbole_sasrec"):
            if model in res:
                r = res[model]
                r.setdefault("loadavg_1min_after", os.getloadavg()[0])
                rows.append({"dataset": name, "model": model, "HR@10": r["masked"]["HR@10"],
                             "NDCG@10": r["masked"]["NDCG@10"], "HR@10 unmasked": r["unmasked"]["HR@10"],
                             "NDCG@10 unmasked": r["unmasked"]["NDCG@10"], "train s": f"{r['train_seconds']:.1f}",
                             "epochs (best)": f"{r.get('epochs', '')} ({r.get('best_epoch', '')})"
                             if "epochs" in r else ""})
        if "sasrec" in res and "recbole_sasrec" in res:
            ours, theirs = res["sasrec"], res["recbole_sasrec"]
            res["targets"] = {
                "ndcg_masked_ours_ge_recbole": ours["masked"]["NDCG@10"] >= theirs["masked"]["NDCG@10"],
                "ndcg_unmasked_ours_ge_recbole": ours["unmasked"]["NDCG@10"] >= theirs["unmasked"]["NDCG@10"],
                "time_ratio": ours["train_seconds"] / theirs["train_seconds"],
                "time_ratio_le_0.3": ours["train_seconds"] <= 0.3 * theirs["train_seconds"],
                "recbole_capped": bool(theirs.get("capped_by_time")),
            }
            if theirs.get("capped_by_time") and not res["targets"]["time_ratio_le_0.3"]:
                # a capped RecBole time is a lower bound on its real time: the ratio is only an upper bound
                res["targets"]["time_ratio_le_0.3"] = "unknown (RecBole stopped by --recbole-max-seconds)"
        payload["datasets"][name] = res
        print(table(rows, list(rows[0])) if rows else "", flush=True)
        write_json(args.out, payload)  # after each data set: a run cut short keeps what finished
    print()
    print(table(rows, list(rows[0])) if rows else "no results")
    for name, res in payload["datasets"].items():
        if "targets" in res:
            t = res["targets"]
            cap = " (RecBole capped: ratio is an upper bound)" if t["recbole_capped"] else ""
            print(f"{name}: NDCG@10 ours >= RecBole (masked) {t['ndcg_masked_ours_ge_recbole']}, "
                  f"(unmasked) {t['ndcg_unmasked_ours_ge_recbole']}; train time ratio {t['time_ratio']:.2f}{cap} "
                  f"(target <= 0.3: {t['time_ratio_le_0.3']})")
    import platform

    import torch

    payload["host"] = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                       "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                       "platform": platform.platform()}
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
