"""Retrieval benchmark (RecLM-emb style): BM25 vs base all-MiniLM-L6-v2 vs our fine-tuned encoder.

Held-out queries of eight types are built from valid/test targets only (items/users the encoder never
saw as training answers). Each query has one relevant item; all catalog items are ranked; items named
in a query's history are removed from its ranking (the agent never re-recommends them), the same for
every model. Metrics per type: Recall@5, Recall@20, NDCG@10. Target: fine-tuned >= +25% relative
NDCG@10 over base, averaged over query types.

    python benchmarks/retrieval_bench.py --domain data/movielens --out benchmarks/results/retrieval_bench.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rec_common import open_domain, set_threads, table, write_json  # noqa: E402

from models.bm25 import BM25  # noqa: E402
from models.catalog import LIST_SEP, attribute_cells  # noqa: E402
from models.emb_pairs import QUERY_TYPES, Pair, generator_for_domain  # noqa: E402
from models.metrics import target_ranks  # noqa: E402
from models.reclm_emb import base_model_path, encode, load_encoder  # noqa: E402
from models.training import model_path, train_models  # noqa: E402


def metrics_for(scores: np.ndarray, queries: list[Pair]) -> dict[str, dict[str, float]]:
    targets = np.array([q.pos for q in queries], dtype=np.int64)
    ranks = target_ranks(scores, targets, [np.array(q.history, dtype=np.int64) for q in queries])
    out: dict[str, dict[str, float]] = {}
    kinds = np.array([q.kind for q in queries])
    for kind in [*QUERY_TYPES, "ALL"]:
        r = ranks if kind == "ALL" else ranks[kinds == kind]
        if len(r) == 0:
            continue
        out[kind] = {"n": int(len(r)), "Recall@5": float((r < 5).mean()), "Recall@20": float((r < 20).mean()),
                     "NDCG@10": float(np.where(r < 10, 1 / np.log2(r + 2.0), 0).mean())}
    return out


def dense_scores(path: str, item_texts: list[str], queries: list[Pair], progress: bool) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    model = load_encoder(path, "cpu")
    items = encode(model, item_texts, batch_size=64, progress=progress)
    qv = encode(model, [q.query for q in queries], batch_size=64)
    return qv @ items.T, time.perf_counter() - t


def item_parts(row: Any, cfg: Any) -> list[str]:
    """The title, then one "column: value" per value of each attribute (the pieces of `item_text`)."""
    return [str(row["title"])] + [f"{name}: {x}" for name, text in attribute_cells(row, cfg)
                                  for x in text.split(LIST_SEP) if x]


def compose(emb: Any, parts: list[list[str]], mode: str) -> np.ndarray:
    """Field-wise item vectors, an experiment (not the index's method): each distinct piece is encoded once
    (values repeat across a catalog, so the cost is about one title per item) and an item is the sum of its
    pieces' vectors weighted by their word pieces, as mean pooling over the whole text weighs them.
    "fields-title": the title weighs as much as all attribute pieces together."""
    from scipy.sparse import csr_matrix

    index: dict[str, int] = {}
    cols: list[int] = []
    starts = [0]
    for item in parts:
        cols += [index.setdefault(p, len(index)) for p in item]
        starts.append(len(cols))
    pieces = list(index)
    vecs = emb.embed(pieces)
    tok = emb._onnx_encoder().tokenizer if emb.backend != "torch" else emb.model.tokenizer
    lengths = np.maximum([len(t) for t in tok(pieces, add_special_tokens=False)["input_ids"]], 1).astype(np.float32)
    w = lengths[np.asarray(cols, dtype=np.int64)]
    if mode == "fields-title":
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            if b - a > 1:
                w[a] = max(w[a], w[a + 1:b].sum())
    m = csr_matrix((w, np.asarray(cols, dtype=np.int64), np.asarray(starts, dtype=np.int64)),
                   shape=(len(parts), len(pieces)))
    out = np.asarray(m @ vecs, dtype=np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def backend_scores(spec: str, item_texts: list[str], queries: list[Pair],
                   item_parts: list[list[str]] | None = None) -> tuple[np.ndarray, float, float]:
    """spec "backend", "backend@max_len" or "backend+fields" / "+fields-title" (field-wise item vectors, see
    `compose`) on the base encoder: (scores, seconds, items per second)."""
    import os

    from models.embedder import Embedder

    spec, _, fields = spec.partition("+")
    backend, _, length = spec.partition("@")
    old = os.environ.get("INTEREC_ENCODER_MAX_LEN")
    os.environ["INTEREC_ENCODER_MAX_LEN"] = length or "128"
    try:
        emb = Embedder(base_model_path(), backend=backend)
        emb.embed(["warm up"])
        t = time.perf_counter()
        items = compose(emb, item_parts, fields) if fields and item_parts is not None else emb.embed(item_texts)
        rate = len(item_texts) / (time.perf_counter() - t)
        qv = emb.embed([q.query for q in queries])
        return qv @ items.T, time.perf_counter() - t, rate
    finally:
        if old is None:
            os.environ.pop("INTEREC_ENCODER_MAX_LEN", None)
        else:
            os.environ["INTEREC_ENCODER_MAX_LEN"] = old


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--artifacts", default=None, help="artifacts root (default: the app's)")
    ap.add_argument("--per-type", type=int, default=250, help="held-out queries per type")
    ap.add_argument("--train", action="store_true", help="fine-tune first when the encoder is missing or stale")
    ap.add_argument("--encoder", default=None, help="fine-tuned encoder folder (default: the domain's reclm-emb-v1)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--backends", default="",
                    help="compare embedding backends of the base encoder instead, e.g. torch,onnx,onnx-int8@64 "
                         "(@N: word pieces kept per text; +fields: field-wise item vectors); the first is "
                         "the reference")
    args = ap.parse_args()
    set_threads()
    domain = open_domain(args.domain, args.artifacts)
    train_report = train_models(domain, ("emb",), progress=args.progress) if args.train else {}
    gen = generator_for_domain(domain, seed=0)
    queries = gen.heldout_queries(per_type=args.per_type)
    print(f"{domain.name}: {domain.n_items} items, {len(queries)} held-out queries "
          f"({len(gen.heldout)} held-out target items)")
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    if args.backends:
        compare_backends(args, domain, gen, queries)
        return
    t = time.perf_counter()
    bm = BM25(gen.texts)
    results["bm25"] = metrics_for(bm.scores([q.query for q in queries]), queries)
    seconds["bm25"] = time.perf_counter() - t
    s, seconds["base"] = dense_scores(base_model_path(), gen.texts, queries, args.progress)
    results["base"] = metrics_for(s, queries)
    enc = args.encoder or str(model_path(domain, "emb"))
    if (Path(enc) / "modules.json").is_file():
        s, seconds["finetuned"] = dense_scores(enc, gen.texts, queries, args.progress)
        results["finetuned"] = metrics_for(s, queries)
    else:
        print(f"no fine-tuned encoder at {enc} (run with --train or `app.py train --model emb`)")
    rows = []
    for kind in [*QUERY_TYPES, "ALL"]:
        for name, res in results.items():
            if kind in res:
                rows.append({"type": kind, "model": name, **res[kind]})
    print(table(rows, ["type", "model", "n", "Recall@5", "Recall@20", "NDCG@10"]))
    summary: dict[str, float] = {}
    for name, res in results.items():
        summary[f"{name}_mean_NDCG@10"] = float(np.mean([res[k]["NDCG@10"] for k in QUERY_TYPES if k in res]))
    if "finetuned" in results:
        b, f = summary["base_mean_NDCG@10"], summary["finetuned_mean_NDCG@10"]
        summary["relative_gain_of_mean"] = f / b - 1 if b else float("nan")
        per = [results["finetuned"][k]["NDCG@10"] / results["base"][k]["NDCG@10"] - 1
               for k in QUERY_TYPES if k in results["base"] and results["base"][k]["NDCG@10"] > 0]
        summary["mean_of_per_type_relative_gain"] = float(np.mean(per)) if per else float("nan")
        summary["target_met"] = bool(summary["relative_gain_of_mean"] >= 0.25)
        print(f"mean NDCG@10 over types: base {b:.4f}, fine-tuned {f:.4f} -> "
              f"{100 * summary['relative_gain_of_mean']:+.1f}% (target +25%: "
              f"{'met' if summary['target_met'] else 'MISSED'}); mean of per-type gains "
              f"{100 * summary['mean_of_per_type_relative_gain']:+.1f}%")
    from models import model_dir

    write_json(args.out, {"domain": domain.name, "n_items": int(domain.n_items), "queries": len(queries),
                          "protocol": "one relevant item per query; full catalog; history items of a query removed",
                          "results": results, "summary": summary, "seconds": seconds,
                          "encoder_meta": {k: v for k, v in model_dir.read_meta(enc).items() if k != "history"},
                          "train_report": train_report})


def compare_backends(args: argparse.Namespace, domain: object, gen: object, queries: list[Pair]) -> None:
    import os

    specs = [b for b in args.backends.split(",") if b]
    results, rates, seconds = {}, {}, {}
    d = domain  # a models.domain.Domain
    parts = ([item_parts(d.items.iloc[i], d.config) for i in range(int(d.n_items))]  # type: ignore[attr-defined]
             if any("+" in b for b in specs) else None)
    for spec in specs:
        s, seconds[spec], rates[spec] = backend_scores(spec, gen.texts, queries, parts)  # type: ignore[attr-defined]
        results[spec] = metrics_for(s, queries)
        print(f"{spec}: {rates[spec]:.0f} item texts/s (load {os.getloadavg()[0]:.1f})", flush=True)
    ref = specs[0]
    mean = {b: float(np.mean([results[b][k]["NDCG@10"] for k in QUERY_TYPES if k in results[b]])) for b in specs}
    rows = [{"backend": b, "ALL NDCG@10": results[b]["ALL"]["NDCG@10"], "mean NDCG@10 over types": mean[b],
             "vs reference": f"{100 * (mean[b] / mean[ref] - 1):+.2f}%", "item texts/s": f"{rates[b]:.0f}"}
            for b in specs]
    print(table(rows, list(rows[0])))
    write_json(args.out, {"domain": getattr(domain, "name", ""), "queries": len(queries), "reference": ref,
                          "results": results, "mean_ndcg10": mean, "items_per_s": rates, "seconds": seconds,
                          "within_1pct": {b: bool(mean[b] >= 0.99 * mean[ref]) for b in specs},
                          "loadavg_1min_end": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
