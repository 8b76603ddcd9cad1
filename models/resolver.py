"""Free text -> catalog items with a confidence, robust to case, years, articles and typos.

Exact matches on a normalised key ("Matrix, The (1999)" -> "matrix") answer at once. Otherwise a
character-trigram inverted index proposes a few hundred candidates (touching only the postings of the
query's trigrams, so it stays fast at a million items) and rapidfuzz re-scores them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import regex
from rapidfuzz import fuzz

_YEAR = re.compile(r"\(\s*(\d{4})\s*\)\s*$|\b((?:19|20)\d{2})\s*$")
_AKA = re.compile(r"\((?:a\.k\.a\.|aka)[^)]*\)", re.I)
_TRAILING_ARTICLE = re.compile(r",\s*(the|a|an|le|la|les|il|el|das|der|die)$")
_LEADING_ARTICLE = re.compile(r"^(the|a|an)\s+")
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Any script: letters, marks and digits are kept, the rest is a word break. Accents are dropped only where
# they are optional in writing (Latin, Greek, Cyrillic; Hebrew and Arabic vowel points), so "Amélie"
# finds "Amelie" and a pointed Hebrew title its unpointed form, while Devanagari or Thai vowel signs stay.
_U_NON_WORD = regex.compile(r"[^\p{L}\p{M}\p{N}]+")
_OPTIONAL_MARKS = regex.compile(r"(?<=[\p{Latin}\p{Greek}\p{Cyrillic}\p{Hebrew}\p{Arabic}]\p{Mn}*)\p{Mn}+")
_TATWEEL = "\u0640"  # Arabic elongation: a typographic stretch, not a letter


def split_year(title: str) -> tuple[str, int | None]:
    t = title.strip()
    m = _YEAR.search(t)
    if not m:
        return t, None
    return t[: m.start()].strip(), int(m.group(1) or m.group(2))


def normalise(title: str) -> tuple[str, int | None]:
    """Key used for matching: NFKC, case-folded, optional accents and punctuation gone, no year, no
    article; letters and digits of every script are kept."""
    base, year = split_year(title)
    base = _AKA.sub(" ", base)
    base = re.sub(r"\([^)]*\)\s*$", "", base).strip() or base  # trailing alternate title "(Le ...)"
    if base.isascii():  # the common case, kept fast
        base = base.lower().strip()
        base = _TRAILING_ARTICLE.sub(lambda m: "", base)
        key = _NON_WORD.sub(" ", base).strip()
    else:
        base = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", base)).replace(_TATWEEL, "")
        base = _OPTIONAL_MARKS.sub("", base)
        base = unicodedata.normalize("NFKC", base).casefold().strip()
        base = _TRAILING_ARTICLE.sub(lambda m: "", base)
        key = _U_NON_WORD.sub(" ", base).strip()
    key = _LEADING_ARTICLE.sub("", key)
    return key, year


def _trigrams(key: str) -> set[str]:
    s = f"  {key} "
    return {s[i : i + 3] for i in range(len(s) - 2)}


@dataclass(frozen=True)
class Match:
    iid: int
    title: str
    confidence: float  # 0..1


class TitleResolver:
    def __init__(self, titles: list[str], popularity: np.ndarray | None = None):
        self.titles = titles
        n = len(titles)
        self.pop = np.log1p(popularity.astype(np.float64)) if popularity is not None else np.zeros(n)
        self.keys: list[str] = []
        self.years = np.full(n, -1, dtype=np.int32)
        self.exact: dict[str, list[int]] = {}
        gram_ids: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for i, t in enumerate(titles):
            key, year = normalise(t)
            self.keys.append(key)
            if year:
                self.years[i] = year
            self.exact.setdefault(key, []).append(i)
            for g in _trigrams(key):
                cols.append(gram_ids.setdefault(g, len(gram_ids)))
                rows.append(i)
        self.gram_ids = gram_ids
        col_arr = np.asarray(cols, dtype=np.int32)
        row_arr = np.asarray(rows, dtype=np.int32)
        order = np.argsort(col_arr, kind="stable")
        self.postings = row_arr[order]
        self.offsets = np.zeros(len(gram_ids) + 1, dtype=np.int64)
        np.add.at(self.offsets, col_arr + 1, 1)
        self.offsets = np.cumsum(self.offsets)
        df = np.diff(self.offsets)
        self.idf = np.log((n + 1) / (df + 1)).astype(np.float32)

    def _candidates(self, key: str, limit: int) -> np.ndarray:
        grams = [self.gram_ids[g] for g in _trigrams(key) if g in self.gram_ids]
        if not grams:
            return np.empty(0, dtype=np.int32)
        grams.sort(key=lambda g: -self.idf[g])  # rarest first; skip the very common ones when enough
        parts: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        total = 0
        for g in grams:
            a, b = self.offsets[g], self.offsets[g + 1]
            if total > 60_000 and len(parts) >= 4:
                break
            parts.append(self.postings[a:b])
            weights.append(np.full(b - a, self.idf[g], dtype=np.float32))
            total += b - a
        ids = np.concatenate(parts)
        uniq, inv = np.unique(ids, return_inverse=True)
        score = np.bincount(inv, weights=np.concatenate(weights))
        if len(uniq) > limit:
            top = np.argpartition(-score, limit)[:limit]
            return uniq[top]
        return uniq

    def resolve(self, text: str, k: int = 5) -> list[Match]:
        """Best matches first; confidence 1.0 is an exact match on title (and year, when given)."""
        key, year = normalise(text or "")
        if not key:
            return []
        exact = self.exact.get(key, [])
        if exact:
            ranked = sorted(exact, key=lambda i: (not (year and self.years[i] == year), -self.pop[i]))
            out = []
            for i in ranked[:k]:
                conf = 1.0 if (year is None or self.years[i] == year) else 0.9
                if year is None and len(exact) > 1:
                    conf = 0.95
                out.append(Match(int(i), self.titles[i], conf))
            if len(out) >= k:
                return out
            seen = {m.iid for m in out}
            return out + [m for m in self._fuzzy(key, year, k) if m.iid not in seen][: k - len(out)]
        return self._fuzzy(key, year, k)

    def _fuzzy(self, key: str, year: int | None, k: int) -> list[Match]:
        cands = self._candidates(key, 300)
        scored = []
        for i in cands:
            ck = self.keys[i]
            s = max(fuzz.ratio(key, ck), 0.95 * fuzz.token_sort_ratio(key, ck))
            if len(key) >= 4 and ck.startswith(key):  # a prefix of a longer title (sequels, subtitles)
                s = max(s, 88.0 - 10.0 * (len(ck) - len(key)) / max(len(ck), 1))
            if year is not None and self.years[i] > 0:
                s += 4.0 if self.years[i] == year else -4.0
            scored.append((s + 0.3 * self.pop[i], s, int(i)))
        scored.sort(reverse=True)
        return [Match(i, self.titles[i], round(min(s, 100.0) / 100.0, 3)) for _, s, i in scored[:k]]

    def best(self, text: str, min_confidence: float = 0.75) -> Match | None:
        got = self.resolve(text, k=1)
        return got[0] if got and got[0].confidence >= min_confidence else None
