"""Numbers and periods in a request -> ranges on the domain's own numeric and time columns.

"under $15", "less than 10 dollars", "at most 2 hours", "rated above 4", "between 10 and 20", "early 2010s",
"from the 2000s", "before 1980", "recent". Which column a number is about comes from the domain: a unit word
or currency sign the column declares (config `units`, or its description), a word next to the number that
names the column ("rated" ~ rating), or else the one numeric column whose range holds the number. A number
that fits no column is left unread (the caller keeps it as an unexplained word), never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.understand.words import (
    ABOUT,
    AFTER,
    AT_LEAST,
    AT_MOST,
    BEFORE,
    DECADE_WORDS,
    FUNCTION,
    OLD,
    RECENT,
)
from models.vocabulary import NumberColumn, Vocabulary, fold, key_of, singular

RECENT_YEARS = 3.0  # "recent": the catalog's last few years (relative to its newest item, not today's date)


@dataclass
class Range:
    col: str
    lo: float | None
    hi: float | None
    label: str  # the user's words, for replies ("under $15")
    start: int  # character span in the message
    end: int
    negated: bool = False  # "not from the 90s": items outside the range are wanted

    def contains(self, x: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(x)
        if self.lo is not None:
            ok &= x >= self.lo
        if self.hi is not None:
            ok &= x <= self.hi
        return ok


_NOT_UNIT = r"(?!(?:and|or|to|with|for|in|of|the|a|an|from|by|at|on|but|is|are|was|that|which|please|and)\b)"
NUM = (r"(?P<cur>[^\w\s.,;:!?()'\"-])?\s?(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?P<k>k\b)?\s?"
       rf"(?P<unit>{_NOT_UNIT}[^\W\d_][\w-]*|%)?")
_NUM_ONLY = re.compile(NUM)
_BETWEEN = re.compile(rf"\bbetween\s+{NUM.replace('?P<', '?P<a_')}\s+(?:and|-|to)\s+{NUM}", re.I)
_SPAN = re.compile(rf"(?<![\w.]){NUM.replace('?P<', '?P<a_')}\s*(?:-|–|to)\s*{NUM}", re.I)
_CMP = re.compile(rf"\b(?P<op>{AT_MOST}|{AT_LEAST}|{ABOUT})\s+(?:a\s+|an\s+)?{NUM}", re.I)
_POSTFIX = re.compile(rf"{NUM}\s*(?:or\s+(?P<post>less|fewer|under|below|cheaper|more|over|above|higher|better)|"
                      rf"(?P<plus>\+)(?!\w))", re.I)
_DECADE = re.compile(r"(?:\b(?P<part>early|mid|late)[\s-]+)?(?:the\s+)?(?:(?P<full>1[0-9]\d0|2[01]\d0)'?s|"
                     r"'?(?P<short>\d0)'?s)\b", re.I)
_DECADE_WORD = re.compile(rf"(?:\b(?P<part>early|mid|late)[\s-]+)?\b(?P<word>{'|'.join(DECADE_WORDS)})\b", re.I)
_YEAR = r"(?P<year>1[0-9]\d{2}|2[01]\d{2})"
_YEAR_CMP = re.compile(rf"\b(?P<op>{BEFORE}|{AFTER}|in|from|of|during|year|released in|made in|out in)\s+{_YEAR}\b",
                       re.I)
_YEAR_SPAN = re.compile(rf"\b(?:between\s+|from\s+)?{_YEAR.replace('year', 'y1')}\s*(?:-|–|to|and|until)\s*"
                        rf"{_YEAR.replace('year', 'y2')}\b", re.I)
_BARE_YEAR = re.compile(rf"(?<![\w$€£.]){_YEAR}(?![\w%])")
_WORD_BEFORE = re.compile(r"((?:[^\W\d_][\w-]*\W+){0,2}[^\W\d_][\w-]*)\W*$")  # up to three words


def _number(m: re.Match[str], prefix: str = "") -> float:
    x = float(m.group(prefix + "num").replace(",", ""))
    return x * 1000 if m.group(prefix + "k") else x


def _op_kind(op: str) -> str:
    o = op.lower()
    if re.fullmatch(AT_MOST, o):
        return "hi"
    if re.fullmatch(AT_LEAST, o):
        return "lo"
    return "about"


class QuantityReader:
    """Reads ranges against one domain's columns; built once per domain."""

    def __init__(self, vocab: Vocabulary, understanding: dict[str, Any] | None = None,
                 plain_words: set[str] | None = None):
        self.vocab = vocab
        self.plain_words = set(plain_words or ()) | FUNCTION
        self.numbers = {k: c for k, c in vocab.numbers.items() if not self._is_count(c)}
        cfg = understanding or {}
        self.words: dict[str, tuple[str, str]] = {}  # folded word -> (column, low | high | zero)
        for kind in ("low", "high", "zero"):
            for col, words in (cfg.get(kind) or {}).items():
                for w in words:
                    if col in vocab.numbers:
                        self.words[key_of(w)] = (col, kind)

    @staticmethod
    def _is_count(c: NumberColumn) -> bool:
        return c.name == "popularity"

    # ---- which column -----------------------------------------------------------------------------------
    def column_for(self, x: float, unit: str | None, cur: str | None, before: str) -> tuple[NumberColumn, float] | None:
        """The numeric column a number is about, and the scale that converts the user's unit to it."""
        cols = list(self.numbers.values())
        if not cols:
            return None
        unit_key = singular(fold(unit)) if unit else ""
        if unit_key in self.plain_words:
            unit_key = ""  # "$10 games", "4 ones": the word after the number is no unit
        for c in cols:  # a unit or currency the column declares
            if cur and cur in c.units:
                return c, c.units[cur]
            if unit_key and unit_key in c.units:
                return c, c.units[unit_key]
        if cur:
            declared = [c for c in cols if c.units]
            by_symbol = [c for c in cols if cur in c.description]
            if len(by_symbol) == 1:
                return by_symbol[0], 1.0
            if not declared and len(cols) == 1:
                return cols[0], 1.0
        for word in [unit_key, *[singular(fold(w)) for w in reversed(before.split())]]:
            if len(word) < 3 or word in self.plain_words:
                continue
            named = [c for c in cols if any(shares_stem(word, w) for w in c.words)]
            if len(named) == 1:
                return named[0], 1.0
        fits = [c for c in cols if c.lo <= x <= c.hi]
        if len(fits) == 1:
            return fits[0], 1.0
        return None

    # ---- reading -------------------------------------------------------------------------------------------
    def read(self, text: str) -> list[Range]:
        """Ranges stated in `text` (titles already blanked out by the caller)."""
        out: list[Range] = []
        taken = np.zeros(len(text) + 1, dtype=bool)

        def free(a: int, b: int) -> bool:
            return not taken[a:b].any()

        def add(r: Range) -> None:
            taken[r.start:r.end] = True
            out.append(r)

        self._periods(text, add, free)
        for m in _BETWEEN.finditer(text):
            if free(m.start(), m.end()):
                self._pair(m, text, add)
        for m in _SPAN.finditer(text):
            if free(m.start(), m.end()) and (m.group("a_cur") or m.group("cur") or m.group("unit") or m.group("a_unit")):
                self._pair(m, text, add)
        for m in _CMP.finditer(text):
            if free(m.start(), m.end()):
                self._single(m, text, _op_kind(m.group("op")), add)
        for m in _POSTFIX.finditer(text):
            if free(m.start(), m.end()):
                post = (m.group("post") or "").lower()
                kind = "lo" if m.group("plus") or post in ("more", "over", "above", "higher", "better") else "hi"
                self._single(m, text, kind, add)
        for m in _NUM_ONLY.finditer(text):  # "$15", "90 minutes": a number with a unit and no comparison
            if free(m.start(), m.end()) and (m.group("cur") or m.group("unit")):
                self._single(m, text, "about", add, need_unit=True)
        self._words(text, add, free)
        return out

    def _single(self, m: re.Match[str], text: str, kind: str, add: Any, need_unit: bool = False) -> None:
        x = _number(m)
        before = _WORD_BEFORE.search(text[: m.start()])
        col = self.column_for(x, m.group("unit"), m.group("cur"), before.group(1) if before else "")
        if col is None:
            return
        c, scale = col
        if need_unit and not (m.group("cur") in c.units or (m.group("unit") and singular(fold(m.group("unit"))) in c.units)
                              or (m.group("cur") and m.group("cur") in c.description)):
            return
        x *= scale
        lo, hi = (None, x) if kind == "hi" else (x, None) if kind == "lo" else (x * 0.8, x * 1.2)
        end = m.end() if m.group("unit") and m.group("unit").lower() not in ("and", "or", "to") else m.end("num")
        add(Range(c.name, lo, hi, text[m.start():end].strip(), m.start(), end))

    def _pair(self, m: re.Match[str], text: str, add: Any) -> None:
        a, b = _number(m, "a_"), _number(m)
        before = _WORD_BEFORE.search(text[: m.start()])
        col = self.column_for(max(a, b), m.group("unit") or m.group("a_unit"), m.group("cur") or m.group("a_cur"),
                              before.group(1) if before else "")
        if col is None:
            return
        c, scale = col
        lo, hi = sorted((a * scale, b * scale))
        add(Range(c.name, lo, hi, text[m.start():m.end()].strip(), m.start(), m.end()))

    def _periods(self, text: str, add: Any, free: Any) -> None:
        t = self.vocab.time
        if t is None:
            return
        name = t.name

        def decade(start: int, part: str | None, m: re.Match[str]) -> None:
            lo, hi = float(start), start + 9.999
            p = (part or "").lower()
            if p == "early":
                hi = start + 3.999
            elif p == "mid":
                lo, hi = start + 3.0, start + 6.999
            elif p == "late":
                lo = start + 6.0
            add(Range(name, lo, hi, m.group(0).strip(), m.start(), m.end()))

        for m in _YEAR_SPAN.finditer(text):
            y1, y2 = sorted((int(m.group("y1")), int(m.group("y2"))))
            if free(m.start(), m.end()) and y2 - y1 < 300:
                add(Range(name, float(y1), y2 + 0.999, m.group(0).strip(), m.start(), m.end()))
        for m in _DECADE.finditer(text):
            if not free(m.start(), m.end()):
                continue
            if m.group("full"):
                start = int(m.group("full"))
            else:
                d = int(m.group("short"))
                start = (1900 if d >= 20 or t.hi < 2000 + d else 2000) + d
            decade(start, m.group("part"), m)
        for m in _DECADE_WORD.finditer(text):
            if free(m.start(), m.end()):
                decade(1900 + DECADE_WORDS[m.group("word").lower()], m.group("part"), m)
        for m in _YEAR_CMP.finditer(text):
            if not free(m.start(), m.end()):
                continue
            y, op = int(m.group("year")), m.group("op").lower()
            if re.fullmatch(BEFORE, op):
                hi = y + 0.999 if op in ("until", "till", "up to", "up until", "no later than") else y - 0.001
                add(Range(name, None, hi, m.group(0).strip(), m.start(), m.end()))
            elif re.fullmatch(AFTER, op):
                lo = float(y) if op in ("since", "starting", "beginning", "no earlier than") else y + 1.0
                add(Range(name, lo, None, m.group(0).strip(), m.start(), m.end()))
            else:
                add(Range(name, float(y), y + 0.999, m.group(0).strip(), m.start(), m.end()))
        for m in _BARE_YEAR.finditer(text):
            y = int(m.group("year"))
            if free(m.start(), m.end()) and t.lo - 1 <= y <= t.hi + 1:
                add(Range(name, float(y), y + 0.999, m.group(0), m.start(), m.end()))
        for m in RECENT.finditer(text):
            if free(m.start(), m.end()):
                add(Range(name, t.hi - RECENT_YEARS, None, m.group(0), m.start(), m.end()))
        for m in OLD.finditer(text):
            if free(m.start(), m.end()):
                q = float(np.nanquantile(t.years, 0.25))
                add(Range(name, None, q, m.group(0), m.start(), m.end()))

    def _words(self, text: str, add: Any, free: Any) -> None:
        """The domain's own words for a range ("cheap", "free"), from its config."""
        if not self.words:
            return
        for key, (col, kind) in self.words.items():
            pattern = r"\b" + r"[\W_]+".join(re.escape(p) for p in key.split()) + r"\w*\b"
            for m in re.finditer(pattern, fold(text)):
                if not free(m.start(), m.end()):
                    continue
                values = self._column_values(col)
                if kind == "zero":
                    add(Range(col, None, 0.0, text[m.start():m.end()], m.start(), m.end()))
                elif len(values):
                    q = float(np.quantile(values, 0.25 if kind == "low" else 0.75))
                    lo, hi = (None, q) if kind == "low" else (q, None)
                    add(Range(col, lo, hi, text[m.start():m.end()], m.start(), m.end()))

    def _column_values(self, col: str) -> np.ndarray:
        x = self.vocab.number_values.get(col)
        return x[~np.isnan(x)] if x is not None else np.zeros(0)


def shares_stem(a: str, b: str) -> bool:
    """"rated" ~ "rating", "priced" ~ "price": a common prefix of >= 4 letters or most of the shorter word."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 4 or (n >= 3 and n >= 0.6 * min(len(a), len(b)))
