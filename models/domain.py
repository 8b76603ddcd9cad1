"""A built domain: config + artifacts, loaded lazily so a CLI or test pays only for what it touches."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.artifacts import read_manifest
from models.catalog import item_text
from models.config import DomainConfig
from models.filter_engine import FilterEngine
from models.item_table import ItemTable
from models.resolver import TitleResolver
from models.table_schema import TableSchema
from models.vocabulary import Vocabulary


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
