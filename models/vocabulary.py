"""The domain's own words, read from its data: every value of every categorical column, at any cardinality.

Request understanding (graph/understand/) matches messages against this, never against word lists in code:
- an Aho-Corasick automaton (pyahocorasick: linear in the message, whatever the number of values) over the
  folded forms of all values: case, accents, hyphens and plurals are folded on both sides, so "Sci-Fi",
  "sci fi", "scifi" and "platformers" find their values;
- the encoder's vectors of the value names (computed once, cached beside the artifacts), so a word that
  names no value ("spooky") can still map to its nearest value above a measured threshold;
- numeric columns with their unit words (config `units`, else the words of the column's description) and
  the time column (a date column, or a number column whose values are years), for ranges.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.catalog import LIST_SEP
from models.table_schema import TableSchema

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
FREE_TEXT_WORDS = 6  # a text column whose values average more words than this is prose, not a category
MAX_VALUE_WORDS = 6  # longer values are never matched verbatim


def fold(word: str) -> str:
    """Case and accents folded, letters of every script kept ("Café" -> "cafe", "Щит" -> "щит")."""
    w = unicodedata.normalize("NFKD", word.casefold())
    w = "".join(ch for ch in w if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", w)


def singular(word: str) -> str:
    """A plural-insensitive key for Latin-script words ("comedies" -> "comedy", "shooters" -> "shooter")."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Token:
    key: str  # folded, singular
    start: int  # character span in the original text
    end: int


def tokens(text: str) -> list[Token]:
    return [Token(singular(fold(m.group(0))), m.start(), m.end()) for m in _WORD.finditer(text or "")]


def key_of(text: str) -> str:
    return " ".join(t.key for t in tokens(text))


@dataclass(frozen=True)
class Value:
    col: str
    text: str  # as stored
    key: str  # folded form matched against messages
    df: int  # items that have it


@dataclass(frozen=True)
class Hit:
    """A span of the message (token range [first, last]) that names one or more values."""

    first: int
    last: int
    values: tuple[int, ...]  # indices into Vocabulary.values
    how: str = "exact"  # exact | synonym


@dataclass
class NumberColumn:
    name: str
    description: str
    lo: float
    hi: float
    units: dict[str, float] = field(default_factory=dict)  # folded unit word -> scale to the stored unit
    words: set[str] = field(default_factory=set)  # folded words of the name and description


@dataclass
class TimeColumn:
    name: str
    years: np.ndarray  # per item, fractional year (nan when missing)
    lo: float
    hi: float


def _split(series: pd.Series, is_list: bool) -> pd.Series:
    values = series.fillna("").astype(str)
    parts = values.str.split(LIST_SEP, regex=False) if is_list else values.map(lambda v: [v] if v else [])
    exploded = parts.explode()
    return exploded[exploded.notna() & (exploded.astype(str).str.strip() != "")].astype(str)


def _is_categorical_text(series: pd.Series) -> bool:
    """Text whose values repeat and are short (a maker, a country) is categorical; prose is not."""
    s = series.dropna().astype(str)
    s = s[s != ""]
    if s.empty:
        return False
    words = s.str.split().str.len().mean()
    return bool(words <= FREE_TEXT_WORDS and s.nunique() < 0.8 * len(s))


def _year_values(s: pd.Series) -> bool:
    x = pd.to_numeric(s, errors="coerce").dropna()
    return bool(len(x) and (x == x.round()).all() and x.min() >= 1000 and x.max() <= 2200)


def _fractional_years(s: pd.Series) -> np.ndarray:
    x = pd.to_numeric(s, errors="coerce")
    if x.notna().sum() >= 0.5 * max(1, s.notna().sum()) and _year_values(s):
        return x.to_numpy(np.float64)
    d = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    out = d.dt.year + (d.dt.dayofyear - 1) / 366.0
    return out.to_numpy(np.float64)


def _unit_words(spec: Any) -> dict[str, float]:
    if isinstance(spec, dict):
        return {key_of(k): float(v) for k, v in spec.items() if key_of(k)}
    if isinstance(spec, str):
        spec = [spec]
    out: dict[str, float] = {}
    for w in spec or []:
        w = str(w)
        out[key_of(w) or w.strip()] = 1.0  # a symbol such as "$" has no word characters: kept as is
    return out


def _symbols(text: str) -> set[str]:
    return {ch for ch in text if unicodedata.category(ch) == "Sc"}  # currency signs named in a description


class Vocabulary:
    """Values, automaton and column facts of one domain; built in well under a second at 30k items."""

    def __init__(self, items: pd.DataFrame, schema: TableSchema, understanding: dict[str, Any] | None = None,
                 cache_dir: Path | None = None):
        cfg = understanding or {}
        self.n_items = len(items)
        self.cache_dir = cache_dir
        self.values: list[Value] = []
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        self.categorical: list[str] = []
        for col in schema.columns:
            if col.name in ("title", "popularity") or col.name not in items.columns:
                continue
            if col.kind == "list" or (col.kind == "text" and (col.values or _is_categorical_text(items[col.name]))):
                exploded = _split(items[col.name], col.kind == "list")
            else:
                continue
            exploded = exploded.str.strip()
            if exploded.empty:
                continue
            self.categorical.append(col.name)
            codes, uniques = pd.factorize(exploded, sort=False)
            counts = np.bincount(codes, minlength=len(uniques))
            base = len(self.values)
            for text, n in zip(uniques, counts, strict=True):
                self.values.append(Value(col.name, str(text), key_of(str(text)), int(n)))
            rows.append(exploded.index.to_numpy(np.int64))
            cols.append(codes.astype(np.int64) + base)
        r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        self.matrix = sp.csc_matrix((np.ones(len(r), dtype=np.float32), (r, c)),
                                    shape=(self.n_items, len(self.values)))
        self.matrix.data[:] = 1.0  # an item listing a value twice still has it once
        self.by_key: dict[str, list[int]] = {}
        for i, v in enumerate(self.values):
            if v.key:
                self.by_key.setdefault(v.key, []).append(i)
        self.synonyms: dict[str, list[int]] = {}
        for phrase, target in (cfg.get("synonyms") or {}).items():
            targets = target if isinstance(target, list) else [target]
            ids = [i for t in targets for i in self.by_key.get(key_of(str(t)), [])]
            if ids and key_of(phrase):
                self.synonyms[key_of(phrase)] = ids
        self._automaton = self._build_automaton()
        self.numbers: dict[str, NumberColumn] = {}
        self.number_values: dict[str, np.ndarray] = {}  # per numeric column, per item (nan when missing)
        self.time: TimeColumn | None = None
        self._columns(items, schema, cfg)
        self._vectors: np.ndarray | None = None

    # ---- matching ---------------------------------------------------------------------------------------
    def _build_automaton(self) -> Any:
        auto = ahocorasick.Automaton()
        patterns: dict[str, tuple[tuple[int, ...], str]] = {}
        for key, ids in self.by_key.items():
            if len(key.split()) > MAX_VALUE_WORDS:
                continue
            patterns[key] = (tuple(ids), "exact")
        for key, ids in self.by_key.items():  # "sci fi" also as "scifi" (with any value spelled "scifi")
            joined = key.replace(" ", "")
            if " " in key and len(joined) >= 5 and len(key.split()) <= MAX_VALUE_WORDS:
                merged = tuple(dict.fromkeys(list(patterns.get(joined, ((), ""))[0]) + ids))
                patterns[joined] = (merged, "exact")
        for key, ids in self.synonyms.items():  # the config's own word for a value joins any value spelled so
            patterns[key] = (tuple(dict.fromkeys(ids + list(patterns.get(key, ((), ""))[0]))), "synonym")
        for key, (found, how) in patterns.items():
            auto.add_word(f" {key} ", (len(key) + 2, len(key.split()), found, how))
        if not patterns:
            auto.add_word(" \x00 ", (3, 1, (), "exact"))
        auto.make_automaton()
        return auto

    def find(self, toks: list[Token], skip: Iterable[int] = ()) -> list[Hit]:
        """Value spans in a tokenised message, longest first and never overlapping (nor touching `skip`)."""
        if not toks:
            return []
        keys = [t.key for t in toks]
        text = " " + " ".join(keys) + " "
        token_at: dict[int, int] = {}  # character offset of a token's first letter -> token index
        pos = 1
        for i, k in enumerate(keys):
            token_at[pos] = i
            pos += len(k) + 1
        hits: list[Hit] = []
        for end, (length, n_words, ids, how) in self._automaton.iter(text):
            first = token_at.get(end - length + 2)  # the pattern is " key ": its first letter follows a space
            if first is not None and ids:
                hits.append(Hit(first, first + n_words - 1, ids, how))
        blocked = set(skip)
        chosen: list[Hit] = []
        for h in sorted(hits, key=lambda h: (-(h.last - h.first), h.first)):
            span = set(range(h.first, h.last + 1))
            if span & blocked:
                continue
            chosen.append(h)
            blocked |= span
        return sorted(chosen, key=lambda h: h.first)

    # ---- columns -------------------------------------------------------------------------------------------
    def _columns(self, items: pd.DataFrame, schema: TableSchema, cfg: dict[str, Any]) -> None:
        units = cfg.get("units") or {}
        time_name = cfg.get("time_column")
        candidates: list[tuple[int, str]] = []
        for col in schema.columns:
            if col.name not in items.columns or col.name in ("title",):
                continue
            if col.kind == "date" or (col.kind == "number" and _year_values(items[col.name])):
                candidates.append((0 if col.kind == "date" else 1, col.name))
            if col.kind == "number":
                self.number_values[col.name] = pd.to_numeric(items[col.name], errors="coerce").to_numpy(np.float64)
            if col.kind == "number" and col.min is not None and col.name != "popularity":
                words = {t.key for t in tokens(f"{col.name.replace('_', ' ')} {col.description}")}
                unit = _unit_words(units.get(col.name)) if col.name in units else {}
                if not unit:
                    unit = {s: 1.0 for s in _symbols(col.description)}
                self.numbers[col.name] = NumberColumn(col.name, col.description, float(col.min),
                                                      float(col.max if col.max is not None else col.min), unit, words)
        if time_name and time_name in items.columns:
            candidates = [(-1, str(time_name))]
        if candidates:
            name = sorted(candidates)[0][1]
            years = _fractional_years(items[name])
            ok = years[~np.isnan(years)]
            if len(ok):
                self.time = TimeColumn(name, years, float(ok.min()), float(ok.max()))
                self.numbers.pop(name, None)

    # ---- item side -------------------------------------------------------------------------------------
    def has(self, value_ids: Iterable[int]) -> np.ndarray:
        """Boolean mask: items with any of these values (one stated value may live in several columns)."""
        ids = list(value_ids)
        if not ids:
            return np.zeros(self.n_items, dtype=bool)
        return np.asarray(self.matrix[:, ids].sum(axis=1)).ravel() > 0

    def same_key(self, value_id: int) -> list[int]:
        """Every value with the same folded form, in any column ("Comedy" the category and "comedy" the tag)."""
        return self.by_key.get(self.values[value_id].key, [value_id])

    def lookup(self, col: str, text: str) -> int | None:
        key = key_of(text)
        return next((i for i in self.by_key.get(key, []) if self.values[i].col == col), None)

    def idf(self, value_ids: Iterable[int]) -> float:
        df = max(1, int(self.has(value_ids).sum()))
        return float(np.log((1 + self.n_items) / df))

    # ---- encoder side ------------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        h = hashlib.sha1()
        for v in self.values:
            h.update(v.key.encode("utf-8") + b"\x00")
        return h.hexdigest()[:16]

    def vectors(self, encode: Any) -> np.ndarray:
        """Normalised encoder vectors of the value names, cached on disk keyed by the values' fingerprint."""
        if self._vectors is not None:
            return self._vectors
        path = self.cache_dir / f"value_vectors-{self.fingerprint()}.npy" if self.cache_dir else None
        if path is not None and path.exists():
            self._vectors = np.load(path)
            return self._vectors
        texts = [v.text for v in self.values]
        vecs = np.asarray(encode(texts), dtype=np.float32) if texts else np.zeros((0, 1), np.float32)
        if len(vecs):
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        self._vectors = vecs
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, vecs)
            except OSError:  # a read-only artifacts folder: vectors stay in memory
                pass
        return vecs
