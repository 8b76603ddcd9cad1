"""`python app.py train`: train the domain's recommendation models (and re-index after the encoder)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.domain import Domain


def cmd_train(args: argparse.Namespace) -> int:
    from models.build import build_domain, load_domain
    from models.training import train_models

    domain = load_domain(args.domain, args.artifacts, build=True, progress=not args.quiet)
    if args.model == "gen":
        return _train_gen(domain, args)
    names = ["popularity", "itemcf", "sasrec", "emb"] if args.model == "all" else [args.model]
    report = train_models(domain, names, force=args.force, progress=not args.quiet, echo=print)
    for name, r in report.items():
        metrics = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in r["metrics"].items()
                            if not isinstance(v, dict | list))
        print(f"{name}: {r['status']} ({r['seconds']:.1f} s) {metrics}")
    if "sasrec" in names and report.get("sasrec", {}).get("status") == "trained":
        from models.build import record_sasrec_rate

        record_sasrec_rate(domain)  # the next build's SASRec estimate
    if "emb" in names:  # the dense index must be rebuilt with the fine-tuned encoder
        rep = build_domain(domain.config, domain.artifacts, progress=not args.quiet)
        print(f"index: {rep.steps.get('index')}")
    return 0


def _train_gen(domain: Domain, args: argparse.Namespace) -> int:
    """RecLM-gen LoRA fine-tuning (models/gen_finetune.py); one clear line on bad input."""
    from pathlib import Path

    from models.gen_finetune import GenTuneConfig, finetune

    cfg = GenTuneConfig(model_path=args.base, gguf_path=args.gguf, tiny=args.tiny, per_task=args.per_task,
                        epochs=args.epochs, lr=args.lr, merge=args.merge)
    out = Path(args.out) if args.out else Path(domain.artifacts) / "models" / "reclm-gen"
    try:
        r = finetune(domain, cfg, out, echo=print)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"error: {e}")
        return 2
    print(f"gen: trained ({r['seconds']:.1f} s) loss {r['first_loss']} -> {r['last_loss']}, "
          f"held-out loss {r['eval_loss_before']} -> {r['eval_loss_after']} -> {out}")
    return 0


def register(sub: Any, add_domain: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("train", help="train ranking / similarity models and the RecLM-emb retrieval encoder")
    add_domain(p)
    p.add_argument("--model", choices=["popularity", "itemcf", "sasrec", "emb", "gen", "all"], default="all",
                   help="gen: RecLM-gen LoRA fine-tuning of a small LM (not part of all)")
    p.add_argument("--base", default=None, help="gen: a local Hugging Face model folder")
    p.add_argument("--gguf", default=None, help="gen: a GGUF file loaded through transformers (needs gguf)")
    p.add_argument("--tiny", action="store_true", help="gen: a tiny random model (pipeline smoke test)")
    p.add_argument("--per-task", type=int, default=200, help="gen: examples per task")
    p.add_argument("--epochs", type=int, default=1, help="gen: passes over the examples")
    p.add_argument("--lr", type=float, default=2e-4, help="gen: learning rate")
    p.add_argument("--merge", action="store_true", help="gen: also save the merged model (for GGUF conversion)")
    p.add_argument("--out", default=None, help="gen: output folder (default <artifacts>/models/reclm-gen)")
    p.add_argument("--force", action="store_true",
                   help="retrain from scratch even when the data did not change (no warm start)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)
