"""What the simulated user knows about the wanted item: facts of every column kind (values, numbers as bands
with their unit, dates as periods), chosen so that together they narrow the catalog the way a person would."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from evals.cases import EvalCase
from evals.judges import leaks
from models.catalog import LIST_SEP
from models.domain import Domain

# Facts (history aside) a simulated user gives over a whole conversation. Chosen on validation users (dev bank,
# n=100) so that most cases are non-trivial on every catalog: 2 -> 76 / 76 / 85 of 100 on MovieLens / store /
# Last.fm, 3 -> 55 / 43 / 85 (benchmarks/RESULTS.md).
REVEAL_BUDGET = 2
CATEGORY_MAX = 60  # a list column with at most this many values is a category (genres); more: tags
MIN_TAG_ITEMS = 5  # a tag is said only when at least this many items carry it (descriptive, not a name)


@dataclass(frozen=True)
class Fact:
    kind: str  # category | period | tag | maker | text | band | free | history
    column: str
    value: Any  # the stored value (category, tag, maker, text), (lo, hi) for period and band
    key: str  # what the fact is about, for the record ("genres=Comedy", "year=1990..1999")


def natural_title(title: str) -> str:
    """ "Grand Budapest Hotel, The (2014)" -> "The Grand Budapest Hotel (2014)" (how people write it)."""
    m = re.match(r"^(.*?),\s*(The|A|An)(\s*\(\d{4}\))?\s*$", title)
    return f"{m.group(2)} {m.group(1)}{m.group(3) or ''}" if m else title


def _year_of(v: Any) -> int | None:
    m = re.match(r"^\s*(\d{4})", str(v))
    return int(m.group(1)) if m else None


def unit_of(describe: str) -> str:
    """The unit a column's describe text names: "price in US dollars (0 = free)" -> "US dollars",
    "average rating from 1 to 5 stars" -> "stars"; "" when it names none."""
    m = re.search(r"\bin ([A-Za-z][A-Za-z ]*?)\s*(?:\(|,|;|$)", describe)
    if m:
        return m.group(1).strip()
    m = re.search(r"\bto \d+(?:\.\d+)?\s+([A-Za-z]+)", describe)
    return m.group(1) if m else ""


def free_word(describe: str) -> str | None:
    """What a zero is called in a column's describe text ("price (0 = free)" -> "free")."""
    m = re.search(r"\b0\s*=\s*([A-Za-z][A-Za-z -]*[A-Za-z])", describe)
    return m.group(1) if m else None


def _nice(x: float, up: bool) -> float:
    """A round number a person would say just above (or below) x: 12.99 -> 15, 47 -> 50, 3.2 -> 3."""
    if x <= 0:
        return 0.0
    mag = 10 ** math.floor(math.log10(x))
    steps = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10]
    cands = [s * mag for s in steps] + [s * mag / 10 for s in steps]
    return min(c for c in cands if c >= x - 1e-9) if up else max(c for c in cands if c <= x + 1e-9)


def num_text(x: float) -> str:
    return f"{x:g}"


class FactIndex:
    """Per column, which items have each value: to say which facts are shared and to rank the target
    among the items matching what the user said (identifiability)."""

    def __init__(self, domain: Domain):
        self.domain = domain
        self.pop = domain.popularity.astype(np.int64)
        self.n = len(self.pop)
        joins = {j.name for j in domain.config.items.joins}
        self.kinds: dict[str, str] = {}
        self.sets: dict[str, dict[str, np.ndarray]] = {}
        self.numbers: dict[str, np.ndarray] = {}
        items = domain.items
        for col in domain.schema.columns:
            if col.name in ("title", "popularity") or col.name not in items.columns:
                continue
            values = items[col.name].tolist()
            if col.kind == "list" or col.name in joins:
                sep = LIST_SEP if col.kind == "list" else ","
                post: dict[str, list[int]] = {}
                for iid, v in enumerate(values):
                    for x in str(v or "").split(sep):
                        if x.strip():
                            post.setdefault(x.strip().lower(), []).append(iid)
                self.sets[col.name] = {k: np.array(v, dtype=np.int64) for k, v in post.items()}
                self.kinds[col.name] = "category" if len(post) <= CATEGORY_MAX else "tag"
            elif col.kind == "text":
                post = {}
                for iid, v in enumerate(values):
                    if v:
                        post.setdefault(str(v).strip().lower(), []).append(iid)
                shared = len(post) and sum(len(p) for p in post.values()) / len(post) >= 2
                short = all(len(k) <= 40 for k in list(post)[:200])
                if not (shared and short):
                    continue  # free text, one per item (descriptions): not something a person recites
                self.kinds[col.name] = "text" if col.values else "maker"
                self.sets[col.name] = {k: np.array(v, dtype=np.int64) for k, v in post.items()}
            elif col.kind == "number":
                arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
                ok = arr[~np.isnan(arr)]
                if not len(ok):
                    continue
                yearish = bool(np.all(ok == np.round(ok)) and ok.min() >= 1800 and ok.max() <= 2100)
                self.kinds[col.name] = "period" if yearish else "band"
                self.numbers[col.name] = arr
            elif col.kind == "date":
                self.kinds[col.name] = "period"
                self.numbers[col.name] = np.array([_year_of(v) or np.nan for v in values], dtype=float)

    def mask(self, f: Fact) -> np.ndarray | None:
        if f.kind in ("category", "tag", "maker", "text"):
            m = np.zeros(self.n, dtype=bool)
            m[self.sets[f.column].get(str(f.value).lower(), np.array([], dtype=np.int64))] = True
            return m
        if f.kind in ("period", "band", "free"):
            lo, hi = f.value
            arr = self.numbers[f.column]
            with np.errstate(invalid="ignore"):
                return (arr >= lo - 1e-9) & (arr <= hi + 1e-9)
        return None  # history: not a filter

    def rank(self, target: int, facts: list[Fact]) -> int:
        """1 + the number of items matching every fact that are more popular than the target."""
        m = np.ones(self.n, dtype=bool)
        for f in facts:
            fm = self.mask(f)
            if fm is not None:
                m &= fm
        m[target] = False
        return 1 + int(np.count_nonzero(m & (self.pop > self.pop[target])))

    def df(self, column: str, value: str) -> int:
        return len(self.sets[column].get(value.lower(), ()))


def _period(year: int, rng: random.Random) -> tuple[int, int, str]:
    """A period around a year, as people say it: the 1990s, the late 90s, the early 2010s."""
    d = year // 10 * 10
    short = f"{d % 100:02d}s" if 1920 <= d < 2000 else f"{d}s"
    r = rng.random()
    if r < 0.45:
        return d, d + 9, f"the {rng.choice([f'{d}s', short])}"
    part, lo, hi = (("early", d, d + 3) if year % 10 <= 3 else ("mid", d + 3, d + 6) if year % 10 <= 6
                    else ("late", d + 6, d + 9))
    if year % 10 in (3, 6) and rng.random() < 0.5:  # either word fits a boundary year
        part, lo, hi = ("mid", d + 3, d + 6) if year % 10 == 3 else ("late", d + 6, d + 9)
    return lo, hi, f"the {part} {short}"


def target_facts(domain: Domain, case: EvalCase, rng: random.Random, index: FactIndex,
                 budget: int = REVEAL_BUDGET) -> list[Fact]:
    """The agenda: which facts about the target to reveal, in order (never the title); history last."""
    attrs = case.attributes
    cats: list[Fact] = []
    others: list[Fact] = []
    for col in domain.schema.columns:
        kind = index.kinds.get(col.name)
        v = attrs.get(col.name)
        if kind is None or v is None:
            continue
        if kind == "category":
            vals = list(v) if isinstance(v, list) else [v]
            rng.shuffle(vals)
            cats += [Fact("category", col.name, x, f"{col.name}={x}") for x in vals if not leaks(str(x), case.title)]
        elif kind == "tag":
            said = {str(f.value).lower() for f in cats}
            pool = [t for t in (v if isinstance(v, list) else [v])
                    if 2 <= len(t) <= 30 and len(t.split()) <= 3 and t.lower() not in said
                    and index.df(col.name, t) >= MIN_TAG_ITEMS and not leaks(t, case.title)]
            pool.sort(key=lambda t: -index.df(col.name, t))  # the most shared first: descriptive, not names
            picked = pool[:4]
            rng.shuffle(picked)
            others += [Fact("tag", col.name, t, f"{col.name}~{t}") for t in picked[:2]]
        elif kind in ("maker", "text") and isinstance(v, str) and not leaks(v, case.title):
            others.append(Fact(kind, col.name, v, f"{col.name}={v}"))
        elif kind == "period":
            y = _year_of(v) if not isinstance(v, int | float) else int(v)
            if y:
                lo, hi, words = _period(y, rng)
                others.append(Fact("period", col.name, (lo, hi), f"{col.name}={lo}..{hi}|{words}"))
        elif kind == "band" and isinstance(v, int | float):
            others.append(_band(domain, col.name, float(v), index, rng))
    agenda = cats[: 1 if rng.random() < 0.5 else 2]
    rng.shuffle(others)
    agenda += others
    agenda = agenda[:budget]
    hist = [natural_title(t) for t in case.history_titles[::-1] if not leaks(t, case.title)][:2]
    if hist:
        agenda.append(Fact("history", "history", tuple(hist), "history"))
    return agenda


def _band(domain: Domain, column: str, v: float, index: FactIndex, rng: random.Random) -> Fact:
    describe = domain.config.describe(column)
    arr = index.numbers[column]
    lo_all, hi_all = float(np.nanmin(arr)), float(np.nanmax(arr))
    if v == 0 and (word := free_word(describe)):
        return Fact("free", column, (0.0, 0.0), f"{column}=0|{word}")
    r = rng.random()
    below = v <= float(np.nanmedian(arr))  # a low value is said as "under", a high one as "at least"
    if r < 0.7 and below:
        x = _nice(v * 1.05 if v > 0 else 1, up=True)
        return Fact("band", column, (lo_all, x), f"{column}<={num_text(x)}")
    if r < 0.7:
        x = _nice(v * 0.95, up=False)
        return Fact("band", column, (x, hi_all), f"{column}>={num_text(x)}")
    lo, hi = _nice(v * 0.8, up=False), _nice(v * 1.2, up=True)
    return Fact("band", column, (lo, hi), f"{column}={num_text(lo)}..{num_text(hi)}")
