"""User simulators with a hidden target item.

Both accept only the target (the harness stops the conversation when a judge sees it), reveal fewer than
3 new facts per turn taken from the target's attributes, and never say its title.

- TemplatedSimulator: no LLM, deterministic per (seed, case). It reveals facts the way a person would: a
  category or two, a period rather than the exact year or date, a few descriptive tags (frequent ones, so
  rarely names of people), a maker, a number as a band with its unit from the column's `describe` text, and
  the titles of items the user liked. A reveal budget keeps most cases from being pinned down by the facts
  alone. Surface forms vary (case, hyphens, plurals, order); sentences come from one of two disjoint banks,
  `evals/banks/dev.toml` (tests, tuning) and `test.toml` (reported numbers).
- Identifiability: after every turn, the target's rank by popularity among the items matching every fact
  revealed so far (1 = the facts alone find it first). A case whose full reveal leaves the target below
  rank 5 is non-trivial: history and personal ranking have to do the work.
- LLMSimulator: RecAI's rules as a prompt; a leak guard regenerates a reply that fuzzy-matches the title
  (bounded retries at a higher temperature), then falls back to the templated reply of the same turn.
"""

from __future__ import annotations

import math
import random
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from evals.cases import EvalCase
from evals.judges import leaks
from evals.llmcall import bound
from models.catalog import LIST_SEP
from models.domain import Domain
from prompts import template

END = "<END>"
MAX_NEW_FACTS = 2  # "fewer than 3 conditions at a time"
# Facts (history aside) a simulated user gives over a whole conversation. Chosen on validation users (dev bank,
# n=100) so that most cases are non-trivial on every catalog: 2 -> 76 / 76 / 85 of 100 on MovieLens / store /
# Last.fm, 3 -> 55 / 43 / 85 (benchmarks/RESULTS.md).
REVEAL_BUDGET = 2
CATEGORY_MAX = 60  # a list column with at most this many values is a category (genres); more: tags
MIN_TAG_ITEMS = 5  # a tag is said only when at least this many items carry it (descriptive, not a name)
BANKS_DIR = Path(__file__).resolve().parent / "banks"
BANKS = ("dev", "test")
NON_TRIVIAL_RANK = 5


@dataclass
class SimTurn:
    text: str
    end: bool = False  # the simulated user ended the conversation (<END>)
    llm_calls: int = 0
    regenerated: int = 0  # replies the leak guard threw away
    fallback: bool = False  # the leak guard gave up and used the templated reply
    facts: list[str] = field(default_factory=list)  # what this turn revealed (templated)
    ident_rank: int | None = None  # target's popularity rank among items matching every fact so far


class SimSession(Protocol):
    def first(self) -> SimTurn: ...

    def respond(self, agent_message: str, recommended: list[str]) -> SimTurn: ...


class Simulator(Protocol):
    name: str

    def session(self, case: EvalCase) -> SimSession: ...


def load_bank(name: str) -> dict[str, list[str]]:
    """A phrasing bank (evals/banks/<name>.toml)."""
    if name not in BANKS:
        raise ValueError(f"unknown phrasing bank {name!r}: use {' or '.join(BANKS)}")
    return tomllib.loads((BANKS_DIR / f"{name}.toml").read_text(encoding="utf-8"))


# ---- facts ---------------------------------------------------------------------------------------------
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


def _num(x: float) -> str:
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
        return Fact("band", column, (lo_all, x), f"{column}<={_num(x)}")
    if r < 0.7:
        x = _nice(v * 0.95, up=False)
        return Fact("band", column, (x, hi_all), f"{column}>={_num(x)}")
    lo, hi = _nice(v * 0.8, up=False), _nice(v * 1.2, up=True)
    return Fact("band", column, (lo, hi), f"{column}={_num(lo)}..{_num(hi)}")


# ---- phrasing --------------------------------------------------------------------------------------------
def an(word: str) -> str:
    """The indefinite article for a word ("an action", "an 80s", "a comedy")."""
    return "an" if re.match(r"^(?:[aeiou]|8|11|18)", word.lower()) else "a"


def plural(word: str) -> str:
    """English plural of the last word (comedy -> comedies, thriller -> thrillers)."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(?:s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def vary(value: str, rng: random.Random) -> str:
    """A surface form of a stored value as a person would type it: case, hyphen or space, not always exact."""
    v = value
    if "-" in v and rng.random() < 0.5:
        v = v.replace("-", " ")
    elif " " in v and len(v.split()) == 2 and rng.random() < 0.2:
        v = v.replace(" ", "-")
    r = rng.random()
    return v.lower() if r < 0.6 else (v.title() if r < 0.75 else v)


def pick(variants: list[str], title: str, rng: random.Random) -> str | None:
    """A random variant that does not give the title away (None when every variant would)."""
    order = list(variants)
    rng.shuffle(order)
    return next((v for v in order if not leaks(v, title)), None)


def safe_text(text: str, title: str, fallbacks: list[str] | None = None) -> str:
    """`text` when it does not leak the title, else the first generic fallback that does not."""
    if not leaks(text, title):
        return text
    for alt in fallbacks or load_bank("test")["fallbacks"]:
        if not leaks(alt, title):
            return alt
    return "..."


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


class Phraser:
    """Facts -> sentences from one bank, with the value's surface form varied."""

    def __init__(self, domain: Domain, bank: dict[str, list[str]], rng: random.Random):
        self.domain = domain
        self.bank = bank
        self.rng = rng
        self.item = domain.config.item_word

    def fill(self, key: str, **kw: str) -> list[str]:
        return [_cap(t.format(item=self.item, items=plural(self.item), a_item=f"{an(self.item)} {self.item}", **kw))
                for t in self.bank[key]]

    def categories(self, values: list[str]) -> list[str]:
        vs = [vary(str(v), self.rng) for v in values]
        if len(vs) == 1:
            out = self.fill("category1", v=vs[0], an_v=an(vs[0]))
            if " " not in vs[0] and self.rng.random() < 0.3:
                out = self.fill("category1_plural", vs=plural(vs[0].lower()))
            return out
        if self.rng.random() < 0.5:
            vs.reverse()
        return self.fill("category2", a=vs[0], b=vs[1])

    def fact(self, f: Fact) -> list[str]:
        if f.kind == "category":
            return self.categories([str(f.value)])
        if f.kind == "period":
            return self.fill("period", period=f.key.split("|", 1)[1])
        if f.kind == "tag":
            v = vary(str(f.value), self.rng)
            return self.fill("tag", v=v)
        if f.kind == "maker":
            return self.fill("maker", v=str(f.value) if self.rng.random() < 0.5 else str(f.value).lower(),
                             what=self.domain.config.describe(f.column))
        if f.kind == "text":
            v = str(f.value).lower()
            return self.fill("text", v=v, an_v=an(v), what=self.domain.config.describe(f.column))
        if f.kind == "free":
            return self.fill("free", free=f.key.split("|", 1)[1])
        if f.kind == "band":
            unit = unit_of(self.domain.config.describe(f.column)) or self.domain.config.describe(f.column)
            lo, hi = f.value
            if "<=" in f.key:
                return self.fill("band_under", x=_num(hi), unit=unit)
            if ">=" in f.key:
                return self.fill("band_over", x=_num(lo), unit=unit)
            return self.fill("band_between", lo=_num(lo), hi=_num(hi), unit=unit)
        if f.kind == "history":
            names = list(f.value)
            return self.fill("history1", a=names[0]) if len(names) == 1 else self.fill("history2", a=names[0], b=names[1])
        raise ValueError(f"no phrasing for {f.kind}")

    def still(self, f: Fact) -> list[str]:
        if f.kind == "category":
            v = str(f.value).lower()
            what = f"{an(v)} {v} {self.item}"
        elif f.kind == "period":
            what = f"from {f.key.split('|', 1)[1]}"
        else:
            return []
        return self.fill("still", what=what)


# ---- templated simulator -----------------------------------------------------------------------------------
class TemplatedSession:
    def __init__(self, sim: TemplatedSimulator, case: EvalCase):
        self.domain = sim.domain
        self.case = case
        self.index = sim.index
        self.bank = sim.bank
        self.rng = random.Random(f"{sim.seed}:{case.case_id}")
        self.agenda = target_facts(sim.domain, case, self.rng, sim.index, sim.budget)
        self.phraser = Phraser(sim.domain, sim.bank, self.rng)
        # how many facts each turn reveals, drawn up front so the schedule never depends on the system
        self.schedule = [1 if self.rng.random() < 0.3 else MAX_NEW_FACTS]
        self.schedule += [1 if self.rng.random() < 0.5 else MAX_NEW_FACTS for _ in range(sim.max_turns - 1)]
        self.final_rank = self.index.rank(case.target, self.agenda)  # after the whole agenda (history is no filter)
        self.revealed: list[Fact] = []
        self.turn = 0

    def _take(self, k: int) -> list[Fact]:
        out, self.agenda = self.agenda[:k], self.agenda[k:]
        self.revealed += out
        return out

    def _pick(self, variants: list[str]) -> str:
        return pick(variants, self.case.title, self.rng) or ""

    def _say(self, facts: list[Fact]) -> str:
        """One phrase per fact (two categories share one), each checked against the title on its own."""
        cats = [f for f in facts if f.kind == "category"]
        parts = [self._pick(self.phraser.categories([str(f.value) for f in cats]))] if cats else []
        parts += [self._pick(self.phraser.fact(f)) for f in facts if f.kind != "category"]
        return " ".join(p for p in parts if p)

    def _opener(self) -> str:
        return self._pick(self.phraser.fill("openers"))

    def _turn(self, text: str, facts: list[Fact]) -> SimTurn:
        return SimTurn(text, facts=[f.key for f in facts], ident_rank=self.index.rank(self.case.target, self.revealed))

    def _k(self) -> int:
        return self.schedule[self.turn - 1] if self.turn - 1 < len(self.schedule) else MAX_NEW_FACTS

    def first(self) -> SimTurn:
        self.turn = 1
        facts = self._take(self._k())
        return self._turn(self._join([self._opener(), self._say(facts)]), facts)

    def respond(self, agent_message: str, recommended: list[str]) -> SimTurn:
        self.turn += 1
        lead = self._pick(self.phraser.fill("rejections" if recommended else "empty"))
        facts = self._take(self._k())
        body = self._say(facts)
        if self.turn >= 3 and self.rng.random() < 0.5:  # restate an earlier condition now and then
            earlier = [f for f in self.revealed if f not in facts and f.kind in ("category", "period")]
            if earlier:
                body = f"{body} {self._pick(self.phraser.still(self.rng.choice(earlier)))}".strip()
        if not body:  # (never "something else": agents read it as a fresh start and drop the conditions)
            body = self._pick(self.phraser.fill("nothing_new"))
        return self._turn(self._join([lead, body]), facts)

    def _join(self, parts: list[str]) -> str:
        """Parts in order, skipping any whose addition would make the whole text leak the title."""
        text = ""
        for p in parts:
            cand = f"{text} {p}".strip() if p else text
            if not leaks(cand, self.case.title):
                text = cand
        return text or safe_text(self.bank["fallbacks"][0], self.case.title, self.bank["fallbacks"])

    def one_turn_request(self) -> str:
        """A single request with several facts at once (for the one-turn retrieval suite)."""
        facts = [f for f in self.agenda if f.kind != "history"][:4]
        self.agenda = [f for f in self.agenda if f not in facts]
        self.revealed += facts
        hist = [natural_title(t) for t in self.case.history_titles[::-1] if not leaks(t, self.case.title)][:3]
        lead = ""
        if hist:
            lead = "I liked " + (", ".join(hist[:-1]) + " and " + hist[-1] if len(hist) > 1 else hist[0]) + "."
        return self._join([lead, self._opener(), self._say(facts)])


class TemplatedSimulator:
    name = "templated"

    def __init__(self, domain: Domain, seed: int = 0, bank: str = "test", budget: int = REVEAL_BUDGET,
                 max_turns: int = 5):
        self.domain = domain
        self.seed = seed
        self.bank_name = bank
        self.bank = load_bank(bank)
        self.budget = budget
        self.max_turns = max_turns
        self.index = FactIndex(domain)

    def session(self, case: EvalCase) -> TemplatedSession:
        return TemplatedSession(self, case)


# ---- LLM simulator -----------------------------------------------------------------------------------------
SIM_SYSTEM = template("eval_sim_system")
SIM_RETRY = template("eval_sim_retry")


def describe_target(domain: Domain, case: EvalCase) -> str:
    lines = []
    for col, v in case.attributes.items():
        if col in ("title", "popularity", "id"):
            continue
        text = ", ".join(str(x) for x in v[:8]) if isinstance(v, list) else str(v)
        text = ", ".join(p for p in text.split(", ") if not leaks(p, case.title)) if isinstance(v, list) else text
        if text and not leaks(text, case.title):
            lines.append(f"- {domain.config.describe(col)}: {text[:200]}")
    return "\n".join(lines) or "- (no details)"


def _clean_reply(text: str) -> tuple[str, bool]:
    end = END in text or "<end>" in text.lower()
    text = re.sub(r"<\s*end\s*>", " ", text, flags=re.I)
    text = re.sub(r"^\s*(?:user|me|you)\s*:\s*", "", text.strip(), flags=re.I)
    text = text.strip().strip('"').strip()
    return " ".join(text.split())[:600], end


class LLMSession:
    def __init__(self, sim: LLMSimulator, case: EvalCase):
        self.sim = sim
        self.case = case
        self.fallback = sim.templated.session(case)  # kept in step for the fallback reply
        self.dialogue: list[tuple[str, str]] = []  # (speaker, text)
        word = sim.domain.config.item_word
        hist = [t for t in case.history_titles[::-1] if not leaks(t, case.title)][:5]
        self.system = SIM_SYSTEM.format(item=word, items=word + "s", facts=describe_target(sim.domain, case),
                                        history="; ".join(hist) or "none", end=END)

    def _prompt(self) -> list[Any]:
        lines = [f"{'You' if who == 'user' else 'Recommender'}: {text}" for who, text in self.dialogue[-8:]]
        task = (template("eval_sim_next").format(conversation="\n".join(lines)) if lines
                else template("eval_sim_start"))
        return [SystemMessage(self.system), HumanMessage(task)]

    def _generate(self, templated: SimTurn) -> SimTurn:
        word = self.sim.domain.config.item_word
        messages = self._prompt()
        out = SimTurn("", llm_calls=0)
        for attempt in range(self.sim.max_retries + 1):
            msgs = messages
            kwargs: dict[str, Any] = {"max_tokens": 150}  # a user's message is short; small models ramble
            if attempt:
                msgs = [*messages, HumanMessage(SIM_RETRY.format(item=word))]
                kwargs["temperature"] = self.sim.retry_temperature
            llm = bound(self.sim.llm, **kwargs)
            out.llm_calls += 1
            try:
                raw = llm.invoke(msgs)
                text, end = _clean_reply(str(raw.content))
            except Exception:  # noqa: BLE001 - a failing simulator turn falls back to the template
                text, end = "", False
            if text and not leaks(text, self.case.title):
                out.text, out.end = text, end
                return out
            if end and not text:
                out.text, out.end = "", True
                return out
            out.regenerated += 1
        out.text, out.fallback = templated.text, True
        return out

    def first(self) -> SimTurn:
        templated = self.fallback.first()
        out = self._generate(templated)
        self.dialogue.append(("user", out.text))
        return out

    def respond(self, agent_message: str, recommended: list[str]) -> SimTurn:
        self.dialogue.append(("agent", agent_message[:1200]))
        templated = self.fallback.respond(agent_message, recommended)
        out = self._generate(templated)
        self.dialogue.append(("user", out.text))
        return out


class LLMSimulator:
    name = "llm"

    def __init__(self, domain: Domain, llm: BaseChatModel, seed: int = 0, max_retries: int = 2,
                 retry_temperature: float = 0.8, bank: str = "test", max_turns: int = 5):
        self.domain = domain
        self.templated = TemplatedSimulator(domain, seed, bank, max_turns=max_turns)
        self.llm = llm
        self.seed = seed
        self.max_retries = max_retries
        self.retry_temperature = retry_temperature

    def session(self, case: EvalCase) -> LLMSession:
        return LLMSession(self, case)


def make_simulator(kind: str, domain: Domain, seed: int = 0, llm: BaseChatModel | None = None,
                   bank: str = "test", budget: int = REVEAL_BUDGET, max_turns: int = 5) -> Simulator:
    if kind == "templated":
        return TemplatedSimulator(domain, seed, bank, budget, max_turns)
    if kind == "llm":
        if llm is None:
            raise ValueError("the LLM simulator needs an LLM (--llm local, or an endpoint)")
        return LLMSimulator(domain, llm, seed, bank=bank, max_turns=max_turns)
    raise ValueError(f"unknown simulator {kind!r}: use templated or llm")
