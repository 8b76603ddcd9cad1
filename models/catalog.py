"""Normalise a user's item table and interaction log into interec's schema.

Items get a dense internal index `iid` (0..N-1) used by every model; the user's own id is kept as `id`.
List columns are stored as "a|b|c" text so both pandas and SQL (`genres LIKE '%Comedy%'`) can use them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.config import ENCODINGS, DomainConfig, DomainError, file_format

LIST_SEP = "|"


@dataclass
class BuildWarnings:
    """Data problems that do not stop a build but that the user must hear about."""

    lines: list[str] = field(default_factory=list)

    def add(self, msg: str) -> None:
        self.lines.append(msg)


def read_table(path: Path, what: str) -> pd.DataFrame:
    fmt, enc = file_format(path), ENCODINGS.get(path, "utf-8")
    try:
        if fmt == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
        if fmt == "tsv":
            return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding=enc)
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=True, dtype=False)
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DomainError(f"cannot read {what} file {path.name}: {str(e).splitlines()[0]}") from None


def _require_columns(df: pd.DataFrame, cols: list[str], what: str, path: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns[:12]))
        raise DomainError(f"{what} file {path.name} has no column {', '.join(repr(m) for m in missing)} "
                          f"(columns found: {have})")


def _clean_str(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


def _split_list(v: object, sep: str, nulls: set[str]) -> list[str]:
    if isinstance(v, list | tuple | np.ndarray):
        parts = [_clean_str(x) for x in v]
    else:
        s = _clean_str(v)
        if not s:
            return []
        if sep == "json":
            try:
                loaded = json.loads(s)
                parts = [_clean_str(x) for x in loaded] if isinstance(loaded, list) else [s]
            except json.JSONDecodeError:
                parts = [s]
        else:
            parts = [p.strip() for p in s.split(sep)]
    return [p.replace(LIST_SEP, "/") for p in parts if p and p not in nulls]


def _coerce_numbers(col: pd.Series, name: str, warn: BuildWarnings) -> pd.Series:
    raw = col.map(_clean_str)
    num = pd.to_numeric(raw.str.replace(",", "", regex=False), errors="coerce")
    bad = raw[(raw != "") & num.isna()]
    if len(bad):
        examples = ", ".join(repr(x) for x in bad.unique()[:3])
        warn.add(f"column '{name}': {len(bad)} non-numeric value(s) (e.g. {examples}) treated as missing")
    return num.astype("float64")


def _coerce_dates(col: pd.Series, name: str, warn: BuildWarnings) -> pd.Series:
    raw = col.map(_clean_str)
    parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = raw[(raw != "") & parsed.isna()]
    if len(bad):
        warn.add(f"column '{name}': {len(bad)} unparseable date(s) (e.g. {bad.iloc[0]!r}) treated as missing")
    return parsed.dt.strftime("%Y-%m-%d").fillna("")


def _aggregate_join(cfg: DomainConfig, ids: pd.Series, join_idx: int) -> pd.Series:
    j = cfg.items.joins[join_idx]
    df = read_table(j.path, f"join '{j.name}'")
    _require_columns(df, [j.key, j.column], f"join '{j.name}'", j.path)
    values = df[j.column].map(_clean_str)
    if j.lookup:  # ids -> names through a second table
        lk = read_table(j.lookup.path, f"join '{j.name}' lookup")
        _require_columns(lk, [j.lookup.key, j.lookup.column], f"join '{j.name}' lookup", j.lookup.path)
        names = pd.Series(lk[j.lookup.column].map(_clean_str).values, index=lk[j.lookup.key].map(_clean_str).values)
        values = values.map(names[~names.index.duplicated()]).fillna("")
    df = pd.DataFrame({"key": df[j.key].map(_clean_str), "v": values.str.lower()})
    df = df[df["v"] != ""]
    counts = df.groupby(["key", "v"]).size().reset_index(name="n").sort_values(["key", "n", "v"],
                                                                              ascending=[True, False, True])
    agg = counts.groupby("key")["v"].apply(lambda s: ", ".join(s.head(j.max_values)))
    return ids.map(agg).fillna("")


def normalise_items(cfg: DomainConfig, warn: BuildWarnings) -> pd.DataFrame:
    """Return the item table: iid, id, title, attribute columns (typed), in file order, deduplicated."""
    ic = cfg.items
    df = read_table(ic.path, "items")
    needed = [ic.id, ic.title, *ic.text, *ic.lists, *ic.numbers, *ic.dates, *(d.source for d in ic.derive)]
    needed = [c for c in dict.fromkeys(needed) if c not in {d.name for d in ic.derive} or c in df.columns]
    _require_columns(df, needed, "items", ic.path)
    out = pd.DataFrame({"id": df[ic.id].map(_clean_str), "title": df[ic.title].map(_clean_str)})
    empty = (out["id"] == "") | (out["title"] == "")
    if empty.any():
        warn.add(f"items: {int(empty.sum())} row(s) without id or title skipped")
    dup = out["id"].duplicated() & ~empty
    if dup.any():
        warn.add(f"items: {int(dup.sum())} duplicate id(s); the first row of each is kept")
    keep = ~(empty | dup)
    df, out = df[keep].reset_index(drop=True), out[keep].reset_index(drop=True)
    if out.empty:
        raise DomainError(f"items file {ic.path.name} has no usable rows (each needs an id and a title)")
    nulls = set(ic.null_values)
    for col, sep in ic.lists.items():
        out[col] = df[col].map(lambda v, s=sep: LIST_SEP.join(_split_list(v, s, nulls)))
    for col in ic.numbers:
        out[col] = _coerce_numbers(df[col], col, warn)
    for d in ic.derive:
        src = out[d.source] if d.source in out.columns else df[d.source].map(_clean_str)
        got = src.map(lambda s, rx=re.compile(d.regex), vals=d.values: vals.get(str(s).strip().lower()) or
                      (m.group(1) if (m := rx.search(str(s))) else ""))
        out[d.name] = _coerce_numbers(got, d.name, warn) if d.kind == "number" else got
    for col in ic.dates:
        out[col] = _coerce_dates(df[col], col, warn)
    for col in ic.text:
        out[col] = df[col].map(_clean_str).map(lambda s: "" if s in nulls else s)
    for i, j in enumerate(ic.joins):
        out[j.name] = _aggregate_join(cfg, out["id"], i)
    out.insert(0, "iid", np.arange(len(out), dtype=np.int64))
    return out


@dataclass
class Interactions:
    """Interaction log mapped onto internal indices, with a leave-last-out split of positives."""

    frame: pd.DataFrame  # columns: user, uid, iid, ts, rating, positive, split
    users: list[str]


def normalise_interactions(cfg: DomainConfig, items: pd.DataFrame, warn: BuildWarnings) -> Interactions:
    c = cfg.interactions
    df = read_table(c.path, "interactions")
    _require_columns(df, [x for x in (c.user, c.item, c.time, c.rating) if x], "interactions", c.path)
    out = pd.DataFrame({"user": df[c.user].map(_clean_str), "item": df[c.item].map(_clean_str)})
    out["order"] = np.arange(len(out), dtype=np.int64)
    if c.time:
        raw = df[c.time].map(_clean_str)
        ts = pd.to_numeric(raw, errors="coerce")
        if ts.isna().mean() > 0.5:  # not epoch numbers: try dates
            ts = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed").astype("int64") // 10**9
            ts = ts.where(ts > -(10**10))
        if ts.isna().any():
            warn.add(f"interactions: {int(ts.isna().sum())} unparseable timestamp(s); file order used for them")
        out["ts"] = ts.fillna(-1).astype("float64")
    else:
        out["ts"] = out["order"].astype("float64")
    if c.rating:
        out["rating"] = _coerce_numbers(df[c.rating], c.rating, warn)
        thr = c.positive_at
        out["positive"] = out["rating"] >= thr if thr is not None else out["rating"].notna()
    else:
        out["rating"] = np.nan
        out["positive"] = True
    id_to_iid = pd.Series(items["iid"].values, index=items["id"].values)
    out["iid"] = out["item"].map(id_to_iid)
    unknown = out["iid"].isna() | (out["user"] == "")
    if unknown.any():
        warn.add(f"interactions: {int(unknown.sum())} row(s) with an unknown item id or empty user skipped")
    out = out[~unknown].copy()
    if out.empty:
        raise DomainError(f"interactions file {c.path.name} has no rows that match the item table's ids")
    out["iid"] = out["iid"].astype(np.int64)
    users = sorted(out["user"].unique(), key=lambda u: (len(u), u))
    out["uid"] = out["user"].map({u: i for i, u in enumerate(users)}).astype(np.int64)
    out = out.sort_values(["uid", "ts", "order"], kind="stable").reset_index(drop=True)
    out["split"] = _leave_last_out(out)
    cols = ["user", "uid", "iid", "ts", "rating", "positive", "split"]
    return Interactions(out[cols], users)


def _leave_last_out(df: pd.DataFrame) -> np.ndarray:
    """Per user, the last positive is test, the one before it valid, earlier positives train.

    Users with fewer than 3 positives keep everything in train; non-positive rows are marked "neg".
    """
    split = np.where(df["positive"].to_numpy(), "train", "neg").astype(object)
    pos = df[df["positive"]]
    rank_from_end = pos.groupby("uid").cumcount(ascending=False).to_numpy()
    n_pos = pos.groupby("uid")["uid"].transform("size").to_numpy()
    idx = pos.index.to_numpy()
    eligible = n_pos >= 3
    split[idx[eligible & (rank_from_end == 0)]] = "test"
    split[idx[eligible & (rank_from_end == 1)]] = "valid"
    return split


def popularity(inter: Interactions, n_items: int) -> np.ndarray:
    """Positive train interactions per item: what the popularity ranker and baselines use (no test leak)."""
    train = inter.frame[inter.frame["split"] == "train"]
    return np.bincount(train["iid"].to_numpy(), minlength=n_items).astype(np.int64)


def item_text(row: pd.Series, cfg: DomainConfig) -> str:
    """One compact text per item for the embedding index: title first, then attributes by name."""
    parts = [str(row["title"])]
    for col in cfg.items.attribute_columns:
        v = row.get(col)
        if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = str(v).replace(LIST_SEP, ", ")
        parts.append(f"{col.replace('_', ' ')}: {text}")
    return ". ".join(parts)[:1000]
