"""Shared helpers for the recommender benchmarks: open (or build) a domain, print tables, write JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def set_threads(n: int | None = None) -> int:
    """Torch CPU threads for benchmarks (2 by default: the machine is shared)."""
    import torch

    n = n or int(os.environ.get("INTEREC_TORCH_THREADS", "2"))
    torch.set_num_threads(n)
    return n


def open_domain(path: str, artifacts: str | None = None) -> Any:
    """load_domain, building the catalog (not the Chroma index) first when it is missing."""
    from models.artifacts import artifacts_dir, read_manifest
    from models.build import build_domain, load_domain
    from models.config import load_config

    cfg = load_config(path)
    art = artifacts_dir(cfg, artifacts)
    if "catalog" not in read_manifest(art):
        build_domain(cfg, art, progress=False, index=False)
    return load_domain(path, artifacts=artifacts)


def table(rows: list[dict[str, Any]], cols: list[str], floatfmt: str = "{:.4f}") -> str:
    def fmt(v: Any) -> str:
        return floatfmt.format(v) if isinstance(v, float) else str(v)

    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if not path:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(payload, indent=1, default=float), encoding="utf-8")
    print(f"wrote {p}")
