"""Train and score RecBole 1.2.1's SASRec; run by ranking_bench.py with the python of .venv-recbole.

Reads <workdir>/data/<name>/<name>.inter (written by ranking_bench, positional timestamps so RecBole's
leave-one-out split equals ours) and <workdir>/cases.npz (test users, their full histories, targets and
the item universe). Writes a JSON with RecBole's own test metrics and ours (same protocol and metric
code as our models: models/metrics.py, imported by path because it needs only numpy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # RecBole's best-checkpoint reload needs it

import numpy as np  # noqa: E402
import torch  # noqa: E402

for _old, _new in (("float_", "float64"), ("complex_", "complex128"), ("unicode_", "str_")):
    if not hasattr(np, _old):  # aliases RecBole's configurator touches; removed in numpy 2
        setattr(np, _old, getattr(np, _new))

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from models.metrics import hr_ndcg, target_ranks  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--stopping-step", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--max-seconds", type=float, default=0, help="stop training after this wall time (0 = never)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    os.chdir(work)  # RecBole writes ./log and ./log_tensorboard

    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec

    torch.autograd.set_detect_anomaly(False)  # sine.py turns it on at import: ~1.6x slower training
    from recbole.trainer import Trainer
    from recbole.utils import init_logger, init_seed

    cfg = {
        "data_path": str(work / "data"), "checkpoint_dir": str(work / "saved"),
        "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": 50, "train_neg_sample_args": None, "loss_type": "CE",
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
        "metrics": ["Hit", "NDCG"], "topk": [10], "valid_metric": "NDCG@10",
        "epochs": args.epochs, "stopping_step": args.stopping_step, "train_batch_size": args.batch_size,
        "eval_batch_size": 4096, "show_progress": False, "use_gpu": torch.cuda.is_available(),
        "worker": 0, "seed": 2020, "reproducibility": True, "log_wandb": False,
    }
    config = Config(model="SASRec", dataset=args.name, config_dict=cfg)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    model = SASRec(config, train_data.dataset).to(config["device"])
    trainer = Trainer(config, model)
    history: list[dict[str, float]] = []
    start = time.perf_counter()

    def on_epoch(epoch: int, score: float) -> None:
        history.append({"epoch": epoch + 1, "valid_ndcg10": float(score), "seconds": time.perf_counter() - start})
        print(f"recbole epoch {epoch + 1} valid NDCG@10 {score:.4f} ({time.perf_counter() - start:.0f}s)", flush=True)

    class TimeCap(Exception):
        pass

    train_epoch = trainer._train_epoch

    def capped_epoch(*a, **k):  # the checkpoint of the best epoch so far is already saved
        if args.max_seconds and time.perf_counter() - start > args.max_seconds:
            raise TimeCap
        return train_epoch(*a, **k)

    trainer._train_epoch = capped_epoch
    capped = False
    try:
        trainer.fit(train_data, valid_data, saved=True, show_progress=False, callback_fn=on_epoch)
    except TimeCap:
        capped = True
    best_valid = trainer.best_valid_score
    fit_seconds = time.perf_counter() - start
    native = trainer.evaluate(test_data, load_best_model=True, show_progress=False)

    cases = np.load(work / "cases.npz")
    n_items = int(cases["n_items"])
    universe = cases["universe"].astype(bool)
    hist_by_uid = {int(u): cases["hist_flat"][a:b] for u, a, b in
                   zip(cases["uids"], cases["hist_off"][:-1], cases["hist_off"][1:], strict=True)}
    item_tok = dataset.field2id_token["item_id"]
    user_tok = dataset.field2id_token["user_id"]
    internal_to_iid = np.array([int(t) if t != "[PAD]" else -1 for t in item_tok], dtype=np.int64)
    known = internal_to_iid >= 0
    ranks_masked, ranks_plain = [], []
    model.eval()
    with torch.no_grad():
        for batch in test_data:
            inter = batch[0].to(config["device"])
            scores = model.full_sort_predict(inter).float().cpu().numpy()
            full = np.full((scores.shape[0], n_items), -np.inf, dtype=np.float64)
            full[:, internal_to_iid[known]] = scores[:, known]
            full[:, ~universe] = -np.inf
            uids = [int(user_tok[u]) for u in inter["user_id"].cpu().numpy()]
            targets = internal_to_iid[inter["item_id"].cpu().numpy()]
            hists = [hist_by_uid[u] for u in uids]
            ranks_plain.append(target_ranks(full, targets))
            ranks_masked.append(target_ranks(full, targets, hists))
    rm, rp = np.concatenate(ranks_masked), np.concatenate(ranks_plain)
    best_epoch = max(history, key=lambda h: h["valid_ndcg10"]) if history else {}
    result = {
        "fit_seconds": fit_seconds, "epochs": len(history), "capped_by_time": capped,
        "stopped_early": not capped and len(history) < args.epochs, "best_epoch": best_epoch.get("epoch"),
        "seconds_to_best_epoch": best_epoch.get("seconds"), "best_valid_ndcg10": float(best_valid),
        "history": history, "native_test": {k: float(v) for k, v in native.items()},
        "masked": hr_ndcg(rm), "unmasked": hr_ndcg(rp), "n_test": int(len(rm)),
        "config": {k: cfg[k] for k in ("MAX_ITEM_LIST_LENGTH", "train_batch_size", "epochs", "stopping_step",
                                       "loss_type", "valid_metric")},
        "model_config": {k: config[k] for k in ("n_layers", "n_heads", "hidden_size", "inner_size",
                                                "hidden_dropout_prob", "attn_dropout_prob", "learning_rate")},
        "device": str(config["device"]), "threads": args.threads,
    }
    Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
