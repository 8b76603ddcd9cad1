"""`python app.py train`: train the domain's recommendation models (and re-index after the encoder)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def cmd_train(args: argparse.Namespace) -> int:
    from models.build import build_domain
    from models.domain import load_domain
    from models.training import train_models

    domain = load_domain(args.domain, args.artifacts, build=True, progress=not args.quiet)
    names = ["popularity", "itemcf", "sasrec", "emb"] if args.model == "all" else [args.model]
    report = train_models(domain, names, force=args.force, progress=not args.quiet, echo=print)
    for name, r in report.items():
        metrics = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in r["metrics"].items()
                            if not isinstance(v, dict | list))
        print(f"{name}: {r['status']} ({r['seconds']:.1f} s) {metrics}")
    if "emb" in names:  # the dense index must be rebuilt with the fine-tuned encoder
        rep = build_domain(domain.config, domain.artifacts, progress=not args.quiet)
        print(f"index: {rep.steps.get('index')}")
    return 0


def register(sub: Any, add_domain: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("train", help="train ranking / similarity models and the RecLM-emb retrieval encoder")
    add_domain(p)
    p.add_argument("--model", choices=["popularity", "itemcf", "sasrec", "emb", "all"], default="all")
    p.add_argument("--force", action="store_true", help="retrain even when the data did not change")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)
