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
- LLMSimulator (evals/llm_simulator.py): RecAI's rules as a prompt; a leak guard regenerates a reply that
  fuzzy-matches the title (bounded retries at a higher temperature), then falls back to the templated reply
  of the same turn.

The facts themselves (what is said about the target, bands, periods) are chosen in evals/sim_facts.py.
"""

from __future__ import annotations

import random
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from evals.cases import EvalCase
from evals.judges import leaks
from evals.sim_facts import REVEAL_BUDGET, Fact, FactIndex, natural_title, num_text, target_facts, unit_of
from models.domain import Domain

END = "<END>"
MAX_NEW_FACTS = 2  # "fewer than 3 conditions at a time"
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
                return self.fill("band_under", x=num_text(hi), unit=unit)
            if ">=" in f.key:
                return self.fill("band_over", x=num_text(lo), unit=unit)
            return self.fill("band_between", lo=num_text(lo), hi=num_text(hi), unit=unit)
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
