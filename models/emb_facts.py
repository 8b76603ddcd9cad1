"""Per-item attribute phrases for the RecLM-emb query templates (models/emb_pairs.py), and the text helpers
they share: a clean title, a misspelled one, an article, a number."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

LIST_SEP = "|"
_YEAR_PAREN = re.compile(r"\s*\((\d{4})\)\s*$")


class ItemFacts:
    """Per-item attribute phrases, typed by column kind, in a form the query templates can use."""

    def __init__(self, items: pd.DataFrame, kinds: dict[str, str], item_word: str = "item",
                 describe: Callable[[str], str] | None = None):
        self.word = item_word
        self.describe = describe or (lambda c: c.replace("_", " "))
        self.titles = items["title"].astype(str).tolist()
        self.n = len(items)
        self.lists: dict[str, list[list[str]]] = {}
        self.texts: dict[str, list[list[str]]] = {}
        self.numbers: dict[str, np.ndarray] = {}
        for col, kind in kinds.items():
            if col not in items:
                continue
            s = items[col]
            if kind == "list":
                self.lists[col] = [[v for v in str(x).split(LIST_SEP) if v] if _present(x) else [] for x in s]
            elif kind == "number":
                self.numbers[col] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
            elif kind == "date":
                self.numbers[col] = pd.to_numeric(s.astype(str).str.extract(r"(\d{4})")[0],
                                                  errors="coerce").to_numpy(dtype=np.float64)
            else:
                self.texts[col] = [_phrases(x) for x in s]
        # frequent values per list column, for negative-attribute queries
        self.common: dict[str, list[str]] = {}
        self.holders: dict[str, dict[str, np.ndarray]] = {}
        for col, vals in self.lists.items():
            ser = pd.Series([v for vs in vals for v in vs])
            self.common[col] = ser.value_counts().index[:30].astype(str).tolist() if len(ser) else []
            rows: dict[str, list[int]] = {}
            for i, vs in enumerate(vals):
                for v in vs:
                    rows.setdefault(v, []).append(i)
            self.holders[col] = {v: np.array(r, dtype=np.int64) for v, r in rows.items()}
        self._year_cols = {c for c in self.numbers if self._looks_like_year(c)}

    def _looks_like_year(self, col: str) -> bool:
        v = self.numbers[col]
        v = v[~np.isnan(v)]
        named = "year" in col.lower() or "date" in col.lower() or "year" in self.describe(col).lower()
        return named and len(v) > 0 and 1800 <= float(np.median(v)) <= 2100

    def is_year(self, col: str) -> bool:
        return col in self._year_cols

    def attributes(self, i: int) -> list[tuple[str, str, str]]:
        """(column, kind, value text) of every non-empty attribute of item i."""
        out = []
        for col, vals in self.lists.items():
            if vals[i]:
                out.append((col, "list", ", ".join(vals[i])))
        for col, arr in self.numbers.items():
            if not np.isnan(arr[i]):
                out.append((col, "number", num_text(arr[i])))
        for col, phr in self.texts.items():
            if phr[i]:
                out.append((col, "text", ", ".join(phr[i][:8])))
        return out


def _present(x: Any) -> bool:
    return x is not None and not (isinstance(x, float) and np.isnan(x)) and str(x).strip() != ""


def _phrases(x: Any) -> list[str]:
    if not _present(x):
        return []
    s = str(x)
    parts = [p.strip() for p in re.split(r"[|,;]", s) if p.strip()] if re.search(r"[|,;]", s) else [s.strip()]
    return [" ".join(p.split()[:8]) for p in parts]


def article_for(word: str) -> str:
    """Indefinite article for the word that follows."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def num_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}".rstrip("0").rstrip(".")


def clean_title(title: str) -> str:
    return _YEAR_PAREN.sub("", title).strip()


def misspell(title: str, rng: np.random.Generator) -> str:
    """1-3 keyboard-style typos (swap, drop, double, replace) on the title without its year."""
    s = clean_title(title) or title
    chars = list(s)
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    n_typos = 1 if len(letters) < 8 else int(rng.integers(1, 3 if len(letters) < 16 else 4))
    for _ in range(n_typos):
        if len(letters) < 3:
            break
        i = int(rng.choice(letters[:-1]))
        op = int(rng.integers(4))
        if op == 0 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op == 1:
            chars[i] = ""
        elif op == 2:
            chars[i] = chars[i] * 2
        else:
            chars[i] = "qwertyuiopasdfghjklzxcvbnm"[int(rng.integers(26))]
    out = "".join(chars)
    if rng.random() < 0.5:
        out = out.lower()
    return out if out != s else out[::-1]
