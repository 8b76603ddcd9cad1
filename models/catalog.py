"""Normalise a user's item table and interaction log into interec's schema.

Items get a dense internal index `iid` (0..N-1) used by every model; the user's own id is kept as `id`.
List columns are stored as "a|b|c" text so both pandas and SQL (`kind LIKE '%Comedy%'`) can use them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.config import ENCODINGS, Derived, DomainConfig, DomainError, file_format

LIST_SEP = "|"


@dataclass
class BuildWarnings:
    """Data problems that do not stop a build but that the user must hear about: each names what was
    changed, how many values or rows, a few examples and, for skipped rows, their line numbers.
    With strict=True (`build --strict`) the first one is an error instead."""

    lines: list[str] = field(default_factory=list)
    strict: bool = False

    def add(self, msg: str) -> None:
        if self.strict:
            raise DomainError(f"{msg} (--strict: data warnings are errors)")
        self.lines.append(msg)

    def count(self, what: str, n: int, examples: Sequence[object], outcome: str, lines: list[int] | None = None) -> None:
        """One counted warning: '<what>: <n> value(s) (e.g. ...) <outcome>[; lines ...]'."""
        if n <= 0:
            return
        eg = ", ".join(_short(x) for x in examples[:EXAMPLES])
        msg = f"{what}: {n:,} {outcome}" + (f" (e.g. {eg})" if eg else "")
        if lines:
            more = f" and {len(lines) - LINE_EXAMPLES:,} more" if len(lines) > LINE_EXAMPLES else ""
            msg += f"; line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:LINE_EXAMPLES]))}{more}"
        self.add(msg)


EXAMPLES = 3  # example values per warning
LINE_EXAMPLES = 8  # line numbers per warning


def _short(v: object, limit: int = 40) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def read_table(path: Path, what: str, warn: BuildWarnings | None = None) -> pd.DataFrame:
    """A data file as a frame of strings (CSV/TSV) or values (Parquet, JSON-lines). Its `line` attribute
    (`frame.attrs["line"]`) gives each row's line in the file, so skipped rows can be named."""
    fmt, enc = file_format(path), ENCODINGS.get(path, "utf-8")
    try:
        if fmt in ("csv", "tsv"):
            df = pd.read_csv(path, sep="," if fmt == "csv" else "\t", dtype=str, keep_default_na=False, encoding=enc)
            df.attrs["line"] = np.arange(len(df)) + 2  # line 1 is the header
            return df
        if fmt == "parquet":
            df = pd.read_parquet(path)
            df.attrs["line"] = np.arange(len(df)) + 1
            return df
        return _read_jsonl(path, what, warn)
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise DomainError(f"cannot read {what} file {path.name}: {str(e).splitlines()[0]}") from None


def _read_jsonl(path: Path, what: str, warn: BuildWarnings | None) -> pd.DataFrame:
    """JSON-lines parsed one line at a time: a broken line is skipped with its line number, not fatal."""
    records: list[dict[str, object]] = []
    numbers: list[int] = []
    bad: list[int] = []
    bad_text: list[str] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                rec = None
            if not isinstance(rec, dict):
                bad.append(n)
                bad_text.append(line.strip())
                continue
            records.append(rec)
            numbers.append(n)
    if not records:
        raise DomainError(f"cannot read {what} file {path.name}: no line holds a JSON object"
                          + (f" (line {bad[0]}: {_short(bad_text[0])})" if bad else ""))
    if bad:
        if warn is None:
            raise DomainError(f"{what} file {path.name}: line {bad[0]} is not a JSON object: {_short(bad_text[0])}")
        warn.count(f"{what} file {path.name}", len(bad), bad_text, "line(s) that are not a JSON object skipped", bad)
    df = pd.DataFrame.from_records(records)
    df.attrs["line"] = np.asarray(numbers)
    return df


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


def _split_list(v: object, sep: str, nulls: set[str], bad: list[str]) -> list[str]:
    """One cell of a list column as its values; a cell a "json" column cannot read as a JSON list is
    kept as one value and recorded in `bad`, so the build can say so."""
    if isinstance(v, list | tuple | np.ndarray):
        parts = [_clean_str(x) for x in v]
    else:
        s = _clean_str(v)
        if not s:
            return []
        if sep == "json":
            try:
                loaded = json.loads(s)
            except json.JSONDecodeError:
                loaded = None
            if isinstance(loaded, list):
                parts = [_clean_str(x) for x in loaded]
            else:
                bad.append(s)
                parts = [s]
        else:
            parts = [p.strip() for p in s.split(sep)]
    return [p for p in parts if p and p not in nulls]


def _likely_separator(values: list[str]) -> str | None:
    """The punctuation character most of the unreadable cells share, to suggest as the separator."""
    counts: dict[str, int] = {}
    for v in values:
        for ch in set(v):
            if ch in "|,;/:+&":
                counts[ch] = counts.get(ch, 0) + 1
    best = max(counts.items(), key=lambda kv: kv[1], default=None)
    return best[0] if best and best[1] >= max(1, len(values) // 2) else None


def _coerce_list(col: pd.Series, name: str, sep: str, nulls: set[str], warn: BuildWarnings) -> pd.Series:
    bad: list[str] = []
    parts = col.map(lambda v: _split_list(v, sep, nulls, bad))
    if bad:
        hint = _likely_separator(bad)
        fix = f'; if it is {hint!r}-separated, declare lists = {{ {name} = "{hint}" }}' if hint else ""
        warn.count(f"list column '{name}'", len(bad), bad, f"value(s) are not a JSON list; each kept as one value{fix}")
    clash = [v for vs in parts for v in vs if LIST_SEP in v]
    warn.count(f"list column '{name}'", len(clash), clash, f"value(s) contain '{LIST_SEP}', stored with '/' instead")
    return parts.map(lambda vs: LIST_SEP.join(v.replace(LIST_SEP, "/") for v in vs))


def _coerce_numbers(col: pd.Series, name: str, warn: BuildWarnings) -> pd.Series:
    raw = col.map(_clean_str)
    num = pd.to_numeric(raw.str.replace(",", "", regex=False), errors="coerce").astype("float64")
    bad = raw[(raw != "") & num.isna()]
    warn.count(f"column '{name}'", len(bad), list(bad.unique()), "non-numeric value(s) treated as missing")
    inf = np.isinf(num.to_numpy())
    if inf.any():  # inf would print as "range -inf..inf" and match "under $10"
        warn.count(f"column '{name}'", int(inf.sum()), list(raw[inf].unique()), "non-finite value(s) treated as missing")
        num = num.where(~inf)
    return num


def _coerce_dates(col: pd.Series, name: str, warn: BuildWarnings) -> pd.Series:
    raw = col.map(_clean_str)
    parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = raw[(raw != "") & parsed.isna()]
    warn.count(f"column '{name}'", len(bad), list(bad.unique()), "unparseable date(s) treated as missing")
    return parsed.dt.strftime("%Y-%m-%d").fillna("")


def _derive(d: Derived, src: pd.Series, warn: BuildWarnings) -> pd.Series:
    rx = re.compile(d.regex)
    vals = d.values  # whole-value maps first ("Free" -> 0), then the regex
    got = src.map(lambda s: vals.get(str(s).strip().lower()) or ((m.group(1) or "") if (m := rx.search(str(s))) else None))
    missed = src[got.isna() & (src != "")]
    filled = int(got.notna().sum())
    if filled == 0 and len(src):
        warn.count(f"derived column '{d.name}'", len(missed), list(missed.unique()),
                   f"value(s) of '{d.source}' did not match the regex '{d.regex}': it matched no row, "
                   f"so the column is empty")
    else:
        warn.count(f"derived column '{d.name}'", len(missed), list(missed.unique()),
                   f"value(s) of '{d.source}' did not match the regex '{d.regex}'; left missing")
    got = got.fillna("")
    return _coerce_numbers(got, d.name, warn) if d.kind == "number" else got


def _aggregate_join(cfg: DomainConfig, ids: pd.Series, join_idx: int, warn: BuildWarnings) -> pd.Series:
    """A joined file's values per item, most frequent first, as a list cell ("a|b|c")."""
    j = cfg.items.joins[join_idx]
    df = read_table(j.path, f"join '{j.name}'", warn)
    _require_columns(df, [j.key, j.column], f"join '{j.name}'", j.path)
    lines = df.attrs.get("line")
    values = df[j.column].map(_clean_str)
    if j.lookup:  # ids -> names through a second table
        lk = read_table(j.lookup.path, f"join '{j.name}' lookup", warn)
        _require_columns(lk, [j.lookup.key, j.lookup.column], f"join '{j.name}' lookup", j.lookup.path)
        names = pd.Series(lk[j.lookup.column].map(_clean_str).values, index=lk[j.lookup.key].map(_clean_str).values)
        values = values.map(names[~names.index.duplicated()]).fillna("")
    df = pd.DataFrame({"key": df[j.key].map(_clean_str),
                       "v": values.str.lower().str.replace(LIST_SEP, "/", regex=False)})
    orphan = (~df["key"].isin(set(ids))) & (df["key"] != "")
    warn.count(f"join '{j.name}' ({j.path.name})", int(orphan.sum()), list(df["key"][orphan].unique()),
               "row(s) with a key not in the item table skipped",
               [int(x) for x in lines[orphan.to_numpy()]] if lines is not None else None)
    df = df[(df["v"] != "") & ~orphan]
    counts = df.groupby(["key", "v"]).size().reset_index(name="n").sort_values(["key", "n", "v"],
                                                                              ascending=[True, False, True])
    agg = counts.groupby("key")["v"].apply(lambda s: LIST_SEP.join(s.head(j.max_values)))
    return ids.map(agg).fillna("")


def normalise_items(cfg: DomainConfig, warn: BuildWarnings) -> pd.DataFrame:
    """Return the item table: iid, id, title, attribute columns (typed), in file order, deduplicated."""
    ic = cfg.items
    df = read_table(ic.path, "items", warn)
    needed = [ic.id, ic.title, *ic.text, *ic.lists, *ic.numbers, *ic.dates, *(d.source for d in ic.derive)]
    needed = [c for c in dict.fromkeys(needed) if c not in {d.name for d in ic.derive} or c in df.columns]
    _require_columns(df, needed, "items", ic.path)
    lines = np.asarray(df.attrs.get("line", np.arange(len(df)) + 1))
    out = pd.DataFrame({"id": df[ic.id].map(_clean_str), "title": df[ic.title].map(_clean_str)})
    empty = (out["id"] == "") | (out["title"] == "")
    where = f"items file {ic.path.name}"
    warn.count(where, int(empty.sum()), [], "row(s) without id or title skipped",
               [int(x) for x in lines[empty.to_numpy()]])
    dup = out["id"].duplicated() & ~empty
    warn.count(where, int(dup.sum()), list(out["id"][dup].unique()),
               "row(s) repeat an earlier id; the first row of each is kept", [int(x) for x in lines[dup.to_numpy()]])
    keep = ~(empty | dup)
    df, out = df[keep].reset_index(drop=True), out[keep].reset_index(drop=True)
    if out.empty:
        raise DomainError(f"items file {ic.path.name} has no usable rows (each needs an id and a title)")
    nulls = set(ic.null_values)
    for col, sep in ic.lists.items():
        out[col] = _coerce_list(df[col], col, sep, nulls, warn)
    for col in ic.numbers:
        out[col] = _coerce_numbers(df[col], col, warn)
    for d in ic.derive:
        src = out[d.source] if d.source in out.columns else df[d.source].map(_clean_str)
        out[d.name] = _derive(d, src.fillna("").astype(str), warn)
    for col in ic.dates:
        out[col] = _coerce_dates(df[col], col, warn)
    for col in ic.text:
        out[col] = df[col].map(_clean_str).map(lambda s: "" if s in nulls else s)
    for i, j in enumerate(ic.joins):
        out[j.name] = _aggregate_join(cfg, out["id"], i, warn)
    out.insert(0, "iid", np.arange(len(out), dtype=np.int64))
    return out


@dataclass
class Interactions:
    """Interaction log mapped onto internal indices, with a leave-last-out split of positives."""

    frame: pd.DataFrame  # columns: user, uid, iid, ts, rating, positive, split
    users: list[str]


def normalise_interactions(cfg: DomainConfig, items: pd.DataFrame, warn: BuildWarnings) -> Interactions:
    c = cfg.interactions
    df = read_table(c.path, "interactions", warn)
    lines = np.asarray(df.attrs.get("line", np.arange(len(df)) + 1))
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
    warn.count(f"interactions file {c.path.name}", int(unknown.sum()), list(out["item"][out["iid"].isna()].unique()),
               "row(s) with an unknown item id or empty user skipped", [int(x) for x in lines[unknown.to_numpy()]])
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


def attribute_cells(row: pd.Series, cfg: DomainConfig) -> list[tuple[str, str]]:
    """An item's non-empty attributes as (readable column name, cell text); list cells keep LIST_SEP."""
    out = []
    for col in cfg.items.attribute_columns:
        v = row.get(col)
        if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append((col.replace("_", " "), str(v)))
    return out


def item_text(row: pd.Series, cfg: DomainConfig) -> str:
    """One compact text per item for the embedding index: title first, then attributes by name."""
    parts = [str(row["title"])] + [f"{name}: {text.replace(LIST_SEP, ', ')}" for name, text in attribute_cells(row, cfg)]
    return ". ".join(parts)[:1000]
