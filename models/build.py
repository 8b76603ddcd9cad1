"""`build`: validate, normalise, split, describe and index a domain. Idempotent and incremental.

Each step records a hash of its inputs in the artifacts manifest; a step whose inputs did not change
is skipped, so a second build of an unchanged domain only hashes files.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.config import DomainConfig
from models.domain import read_manifest, write_manifest

CATALOG_VERSION = "2"  # 2: joined columns stored as lists; coercion warnings
INDEX_VERSION = "1"
VOCABULARY_VERSION = "vocab-v1"


@dataclass
class BuildReport:
    artifacts: Path
    stats: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)  # step -> "built" | "up to date"
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def inputs_hash(cfg: DomainConfig, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in cfg.input_files():
        h.update(p.name.encode())
        h.update(file_digest(p).encode())
    return h.hexdigest()


def _step(manifest: dict[str, Any], name: str, digest: str, art: Path, report: BuildReport,
          run: Callable[[], dict[str, Any]], outputs: list[str]) -> None:
    done = manifest.get(name, {})
    if done.get("hash") == digest and all((art / o).exists() for o in outputs):
        report.steps[name] = "up to date"
        report.stats.update(done.get("stats", {}))
        return
    stats = run()
    manifest[name] = {"hash": digest, "stats": stats, "finished": time.time()}
    write_manifest(art, manifest)  # after each step: a crash later keeps the finished ones
    report.steps[name] = "built"
    report.stats.update(stats)


def build_domain(cfg: DomainConfig, art: Path, progress: bool = True, index: bool = True,
                 encoder_path: str | None = None, strict: bool = False) -> BuildReport:
    start = time.perf_counter()
    art.mkdir(parents=True, exist_ok=True)
    report = BuildReport(art)
    manifest = read_manifest(art)
    catalog_hash = inputs_hash(cfg, CATALOG_VERSION)

    def catalog() -> dict[str, Any]:
        return _build_catalog(cfg, art, progress, strict)

    if strict and manifest.get("catalog", {}).get("hash") == catalog_hash:  # up to date, but with warnings?
        from models.catalog import BuildWarnings

        for w in manifest["catalog"].get("stats", {}).get("warnings", [])[:1]:
            BuildWarnings(strict=True).add(w)

    _step(manifest, "catalog", catalog_hash, art, report, catalog,
          ["items.parquet", "interactions.parquet", "schema.json", "items.sqlite"])
    if index:
        from models.embedder import base_encoder_path

        enc = encoder_path or _trained_encoder(art) or base_encoder_path()
        target = os.environ.get("INTEREC_CHROMA_HOST", "") + ":" + os.environ.get("INTEREC_CHROMA_PORT", "")
        index_hash = hashlib.sha256(f"{catalog_hash}|{enc}|{INDEX_VERSION}|{target}".encode()).hexdigest()
        _step(manifest, "index", index_hash, art, report, lambda: _build_index(cfg, art, enc, progress), ["chroma"])
        vocab_hash = hashlib.sha256(f"{catalog_hash}|{VOCABULARY_VERSION}".encode()).hexdigest()
        _step(manifest, "vocabulary", vocab_hash, art, report, lambda: _build_vocabulary(cfg, art, progress),
              ["vocabulary"])
    report.warnings = list(report.stats.pop("warnings", []))
    report.seconds = time.perf_counter() - start
    return report


def _build_vocabulary(cfg: DomainConfig, art: Path, progress: bool) -> dict[str, Any]:
    """Encoder vectors of every categorical value name, so requests are matched by meaning without delay."""
    from models.domain import Domain
    from models.embedder import get_embedder

    vocab = Domain(cfg, art).vocabulary
    emb = get_embedder(None)
    vecs = vocab.vectors(lambda texts: emb.embed(texts, batch_size=256, progress=progress))
    return {"values": len(vocab.values), "value_vectors": int(len(vecs))}


def _trained_encoder(art: Path) -> str | None:
    """A fine-tuned RecLM-emb encoder replaces the base one in the index when it exists."""
    cand = art / "models" / "reclm-emb-v1"
    return str(cand) if (cand / "config.json").is_file() or (cand / "modules.json").is_file() else None


def _build_catalog(cfg: DomainConfig, art: Path, progress: bool, strict: bool = False) -> dict[str, Any]:
    from tqdm import tqdm

    from models.catalog import BuildWarnings, normalise_interactions, normalise_items, popularity
    from models.table_build import describe_table, write_item_db

    warn = BuildWarnings(strict=strict)
    with tqdm(total=4, desc="catalog", unit="step", disable=not progress) as bar:
        bar.set_postfix_str("items")
        items = normalise_items(cfg, warn)
        bar.update()
        bar.set_postfix_str("interactions")
        inter = normalise_interactions(cfg, items, warn)
        items["popularity"] = popularity(inter, len(items))
        bar.update()
        bar.set_postfix_str("schema")
        schema = describe_table(cfg, items)
        items.to_parquet(art / "items.parquet", index=False)
        inter.frame.to_parquet(art / "interactions.parquet", index=False)
        schema.save(art / "schema.json")
        bar.update()
        bar.set_postfix_str("sqlite")
        write_item_db(items, schema, art / "items.sqlite")
        bar.update()
    split_counts = inter.frame["split"].value_counts().to_dict()
    return {
        "items": len(items), "interactions": len(inter.frame), "users": len(inter.users),
        "interaction_word": "ratings" if cfg.interactions.rating else "interactions",
        "train": int(split_counts.get("train", 0)), "valid": int(split_counts.get("valid", 0)),
        "test": int(split_counts.get("test", 0)), "warnings": warn.lines,
    }


def _build_index(cfg: DomainConfig, art: Path, encoder: str, progress: bool) -> dict[str, Any]:
    import pandas as pd

    from models.catalog import item_text
    from models.chroma import chroma_client
    from models.embedder import get_embedder
    from models.item_index import build_item_index

    items = pd.read_parquet(art / "items.parquet")
    texts = [item_text(row, cfg) for _, row in items.iterrows()]
    n = build_item_index(chroma_client(art / "chroma"), cfg.name, texts, items["title"].tolist(),
                         get_embedder(encoder), progress=progress)
    return {"indexed": n, "encoder": Path(encoder).name}
