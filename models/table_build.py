"""Write the normalised item table into SQLite and describe it for prompts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from models.catalog import LIST_SEP
from models.config import DomainConfig
from models.table_schema import TABLE, Column, TableSchema

MAX_CATEGORIES = 2000  # values kept per categorical column for snapping (most frequent first)
TEXT_CATEGORICAL_MAX = 60  # a text column with at most this many distinct values is categorical


def column_kinds(cfg: DomainConfig) -> dict[str, str]:
    ic = cfg.items
    kinds = {c: "list" for c in ic.lists}
    kinds.update({c: "number" for c in ic.numbers})
    kinds.update({d.name: ("number" if d.kind == "number" else "text") for d in ic.derive})
    kinds.update({c: "date" for c in ic.dates})
    kinds.update({c: "text" for c in ic.text})
    kinds.update({j.name: "list" for j in ic.joins})  # joined values are a list, like any list column
    return {c: kinds[c] for c in ic.attribute_columns}


def describe_table(cfg: DomainConfig, items: pd.DataFrame) -> TableSchema:
    cols = [Column("title", "text", f"the {cfg.item_word}'s title")]
    for name, kind in column_kinds(cfg).items():
        col = Column(name, kind, cfg.describe(name))
        s = items[name]
        if kind == "list":
            counts = s[s != ""].str.split(LIST_SEP, regex=False).explode().value_counts()
            col.values = [str(v) for v in counts.index[:MAX_CATEGORIES]]
            col.distinct = int(len(counts))
        elif kind == "text":
            vc = s[s != ""].value_counts()
            if 0 < len(vc) <= TEXT_CATEGORICAL_MAX:
                col.values = [str(v) for v in vc.index]
        elif kind == "number" and s.notna().any():
            finite = s[np.isfinite(s.to_numpy(dtype=np.float64, na_value=np.nan))]
            if len(finite):  # the build already made non-finite numbers missing; this is a second guard
                col.min, col.max, col.mean = float(finite.min()), float(finite.max()), round(float(finite.mean()), 2)
        elif kind == "date":
            nz = s[s != ""]
            if len(nz):
                col.values = [str(nz.min()), str(nz.max())]
        cols.append(col)
    cols.append(Column("popularity", "number", f"how many users liked the {cfg.item_word} (higher = more popular)"))
    pop = items["popularity"]
    cols[-1].min, cols[-1].max, cols[-1].mean = float(pop.min()), float(pop.max()), round(float(pop.mean()), 2)
    aliases = sorted({cfg.name.lower(), f"{cfg.name.lower()}_information", f"{cfg.item_word.lower()}s",
                      cfg.item_word.lower(), "item", "catalog"} - {TABLE})
    col_aliases = {cfg.items.title.lower(): "title"} if cfg.items.title.lower() != "title" else {}
    return TableSchema(cols, len(items), aliases, col_aliases)


def write_item_db(items: pd.DataFrame, schema: TableSchema, path: Path) -> None:
    """(Re)create the SQLite file atomically: write to a temp file, then rename over the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    sql_type = {"number": "REAL", "list": "TEXT", "text": "TEXT", "date": "TEXT"}
    defs = ["iid INTEGER PRIMARY KEY", "id TEXT NOT NULL", "title TEXT NOT NULL"]
    names = ["iid", "id", "title"]
    for c in schema.columns:
        if c.name in ("title", "popularity"):
            continue
        defs.append(f'"{c.name}" {sql_type[c.kind]}')
        names.append(c.name)
    defs.append("popularity INTEGER NOT NULL")
    names.append("popularity")
    conn = sqlite3.connect(tmp)
    try:
        conn.execute(f"CREATE TABLE {TABLE} ({', '.join(defs)})")
        frame = items[names].astype(object).where(items[names].notna(), None)
        placeholders = ",".join("?" * len(names))
        conn.executemany(f"INSERT INTO {TABLE} VALUES ({placeholders})",
                         (tuple(_py(v) for v in row) for row in frame.itertuples(index=False, name=None)))
        for c in schema.columns:
            if c.kind == "number":
                conn.execute(f'CREATE INDEX idx_{c.name} ON {TABLE}("{c.name}")')
        conn.execute(f"CREATE INDEX idx_title ON {TABLE}(title)")
        conn.commit()
    finally:
        conn.close()
    tmp.replace(path)


def _py(v: object) -> object:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v
