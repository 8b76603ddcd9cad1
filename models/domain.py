"""A built domain: config + artifacts, loaded lazily so a CLI or test pays only for what it touches."""

from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.catalog import item_text
from models.config import DomainConfig, DomainError, load_config
from models.filter_engine import FilterEngine
from models.vocabulary import Vocabulary
from models.item_table import ItemTable, TableSchema
from models.resolver import TitleResolver

MANIFEST = "manifest.json"


def artifacts_root() -> Path:
    return Path(os.environ.get("INTEREC_ARTIFACTS") or Path.home() / ".cache" / "interec" / "artifacts").expanduser()


def artifacts_dir(cfg: DomainConfig, root: Path | str | None = None) -> Path:
    """Per-domain folder outside the source tree; the path hash keeps two same-named domains apart."""
    tag = hashlib.sha256(str(cfg.root).encode()).hexdigest()[:8]
    return Path(root or artifacts_root()).expanduser().resolve() / f"{cfg.name}-{tag}"


def read_manifest(art: Path) -> dict[str, Any]:
    p = art / MANIFEST
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except json.JSONDecodeError:
        return {}


def write_manifest(art: Path, manifest: dict[str, Any]) -> None:
    tmp = art / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(art / MANIFEST)


class Domain:
    """Everything the tools and models need about one catalog."""

    def __init__(self, config: DomainConfig, artifacts: Path):
        self.config = config
        self.artifacts = artifacts
        self.manifest = read_manifest(artifacts)

    @property
    def name(self) -> str:
        return self.config.name

    @cached_property
    def items(self) -> pd.DataFrame:
        return pd.read_parquet(self.artifacts / "items.parquet")

    @cached_property
    def interactions(self) -> pd.DataFrame:
        return pd.read_parquet(self.artifacts / "interactions.parquet")

    @cached_property
    def schema(self) -> TableSchema:
        return TableSchema.load(self.artifacts / "schema.json")

    @cached_property
    def table(self) -> ItemTable:
        return ItemTable(self.artifacts / "items.sqlite", self.schema)

    @cached_property
    def filter_engine(self) -> FilterEngine:
        return FilterEngine(self.items, self.schema)

    @cached_property
    def titles(self) -> list[str]:
        return self.items["title"].tolist()

    @cached_property
    def popularity(self) -> np.ndarray:
        return self.items["popularity"].to_numpy(dtype=np.int64)

    @cached_property
    def resolver(self) -> TitleResolver:
        return TitleResolver(self.titles, self.popularity)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """Every categorical value of the domain, matched against requests (graph/understand/)."""
        return Vocabulary(self.items, self.schema, self.config.understanding, self.artifacts / "vocabulary")

    @property
    def n_items(self) -> int:
        return int(self.manifest.get("catalog", {}).get("stats", {}).get("items", len(self.items)))

    @property
    def n_users(self) -> int:
        return int(self.manifest.get("catalog", {}).get("stats", {}).get("users", 0))

    def item_text(self, iid: int) -> str:
        return item_text(self.items.iloc[int(iid)], self.config)

    def sequences(self, splits: tuple[str, ...] = ("train",)) -> list[np.ndarray]:
        """Per uid (index = uid), the positive iids of the given splits in time order."""
        df = self.interactions
        df = df[df["split"].isin(splits)]
        grouped = df.groupby("uid")["iid"].apply(lambda s: s.to_numpy(dtype=np.int64))
        out = [np.empty(0, dtype=np.int64)] * self.n_users
        for uid, seq in grouped.items():
            out[int(uid)] = seq
        return out

    def item_index(self, encoder_path: str | None = None) -> Any:
        """The Chroma-backed dense index (imports torch on first use)."""
        from models.chroma import chroma_client
        from models.embedder import get_embedder
        from models.item_index import ItemIndex, collection_name

        client = chroma_client(self.artifacts / "chroma")
        col = client.get_collection(collection_name(self.name))
        meta = col.metadata or {}
        path = encoder_path or meta.get("encoder")
        # queries must be embedded by the backend that embedded the items (int8 and fp32 vectors differ a bit)
        backend = meta.get("backend") if not encoder_path else None
        return ItemIndex(col, get_embedder(path, backend or None))


def load_domain(path: str | Path, artifacts: str | Path | None = None, build: bool = False,
                progress: bool = False) -> Domain:
    """Open a built domain; with build=True, build (or refresh) it first. Raises DomainError."""
    cfg = load_config(path)
    art = artifacts_dir(cfg, artifacts)
    if build:
        from models.build import build_domain

        build_domain(cfg, art, progress=progress)
    manifest = read_manifest(art)
    if "catalog" not in manifest:
        raise DomainError(f"domain '{cfg.name}' is not built yet: run `python app.py build --domain {path}`")
    return Domain(cfg, art)
