"""The systems under evaluation, behind one interface: a session per case, one `turn(text)` per user message.

Every system answers with a message (what the lenient judge reads) and the ranked items it recommended
(what the strict judge reads). Baselines:

| name | LLM | does |
|---|---|---|
| random | no | random items |
| popularity | no | most popular items (train positives) |
| keyword | no | values of any attribute column found verbatim in everything the user said; items by count of matched values, then popularity (independent of graph/ and tools/) |
| dense | no | embedding retrieval of the user's messages (shares the agent's item index and encoder) |
| llm | yes | the LLM alone, from its own knowledge; titles resolved to the catalog for the strict judge |
| chatrec | yes | Chat-Rec: embedding retrieval of 20 candidates, the LLM picks |
| agent | yes | the interec agent (graph/agent.py); with `--llm scripted` only its code-side planning runs |

Baselines never repeat an item they already showed in the conversation (the user said no to it); the
agent is run as is. The systems that use an LLM (llm, chatrec, agent) live in evals/llm_systems.py;
evals/registry.py builds any of them by name.
"""

from __future__ import annotations

import random
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick  # pyahocorasick: the keyword baseline finds 10,000+ values in one pass
import numpy as np
from rapidfuzz import fuzz, process

from evals.cases import EvalCase
from models.catalog import LIST_SEP
from models.domain import Domain
from models.resolver import normalise

LLM_SYSTEMS = {"llm", "chatrec", "agent"}
NO_LLM_SYSTEMS = ("random", "popularity", "keyword", "dense")


@dataclass
class Reply:
    message: str
    items: list[int | None]  # ranked; None = a title the system named that is not in the catalog
    llm_calls: int = 0
    seconds: float = 0.0
    error: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


class Session(ABC):
    @abstractmethod
    def turn(self, text: str, *, n: int = 5, candidates: Sequence[int] | None = None,
             exclude: Sequence[int] = ()) -> Reply:
        """Answer one user message with up to n items (only from `candidates` when given, never `exclude`)."""


class System(ABC):
    name: str
    uses_llm = False
    note = ""  # said beside the system's row in reports (e.g. what it shares with the agent)

    def __init__(self, domain: Domain, seed: int = 0):
        self.domain = domain
        self.seed = seed

    @abstractmethod
    def session(self, case: EvalCase) -> Session: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the system holds (temp stores)."""


# ---- helpers -----------------------------------------------------------------------------------------------
def describe_item(domain: Domain, iid: int) -> str:
    row = domain.items.iloc[int(iid)]
    parts = []
    for col in domain.config.items.attribute_columns[:3]:
        v = row.get(col)
        if v is None or v == "" or (isinstance(v, float) and v != v):
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        parts.append(str(v).replace(LIST_SEP, ", ")[:60])
    return "; ".join(parts)


def list_message(domain: Domain, iids: Sequence[int], intro: str | None = None) -> str:
    """The message a non-LLM baseline sends: a numbered list of catalog titles with a few attributes."""
    word = domain.config.item_word
    if not iids:
        return f"Sorry, I have no {word}s to suggest."
    lines = [f"{k}. {domain.titles[i]} ({describe_item(domain, i)})" for k, i in enumerate(iids, 1)]
    return (intro or f"Here are some {word}s you may like:") + "\n" + "\n".join(lines)


_LIST_LINE = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+(.+)$")
_YEAR_END = re.compile(r"^(.*?\(\s*\d{4}\s*\))")


def parse_titles(text: str) -> list[str]:
    """Titles from a numbered or bulleted list ("1. **Heat (1995)** - a crime epic" -> "Heat (1995)")."""
    out = []
    for line in (text or "").splitlines():
        m = _LIST_LINE.match(line)
        if not m:
            continue
        name = m.group(1).replace("**", "").replace("__", "").strip()
        y = _YEAR_END.match(name)
        name = y.group(1) if y else re.split(r"\s+[-–—:]\s+|:\s", name, maxsplit=1)[0]
        name = name.strip(" \"'“”*")
        if name:
            out.append(name)
    return out


def resolve_titles(domain: Domain, names: Sequence[str], among: Sequence[int] | None = None,
                   min_conf: float = 0.85) -> list[int | None]:
    """Each name -> a catalog iid (None when no confident match); restricted to `among` when given."""
    if among is not None:
        keys = {i: normalise(domain.titles[i])[0] for i in among}
        out: list[int | None] = []
        for name in names:
            k = normalise(name)[0]
            best = process.extractOne(k, keys, scorer=fuzz.WRatio, score_cutoff=85) if k else None
            out.append(int(best[2]) if best else None)
        return out
    res: list[int | None] = []
    for name in names:
        m = domain.resolver.best(name, min_conf)
        res.append(m.iid if m else None)
    return res


def top_excluding(order: Sequence[int], n: int, banned: set[int]) -> list[int]:
    out: list[int] = []
    for i in order:
        if i not in banned and i not in out:
            out.append(int(i))
            if len(out) == n:
                break
    return out


class _BaselineSession(Session):
    """Shared bookkeeping: user messages so far, items already shown (never repeated)."""

    def __init__(self, system: System, case: EvalCase):
        self.system = system
        self.domain = system.domain
        self.case = case
        self.texts: list[str] = []
        self.shown: set[int] = set()
        self.rng = random.Random(f"{system.seed}:{system.name}:{case.case_id}")

    def turn(self, text: str, *, n: int = 5, candidates: Sequence[int] | None = None,
             exclude: Sequence[int] = ()) -> Reply:
        t = time.perf_counter()
        self.texts.append(text)
        banned = self.shown | set(exclude)
        if candidates is not None:
            pool = [int(c) for c in candidates if int(c) not in banned]
            items = self.rank_candidates(pool)[:n]
        else:
            items = self.recommend(n, banned)
        self.shown.update(items)
        reply = self.reply(items)
        reply.seconds = time.perf_counter() - t
        return reply

    def reply(self, items: list[int]) -> Reply:
        return Reply(list_message(self.domain, items), list(items))

    def recommend(self, n: int, banned: set[int]) -> list[int]:
        raise NotImplementedError

    def rank_candidates(self, pool: list[int]) -> list[int]:
        raise NotImplementedError


# ---- no-LLM baselines --------------------------------------------------------------------------------------
class RandomSystem(System):
    name = "random"

    def session(self, case: EvalCase) -> Session:
        return _RandomSession(self, case)


class _RandomSession(_BaselineSession):
    def recommend(self, n: int, banned: set[int]) -> list[int]:
        out: list[int] = []
        n_items = len(self.domain.items)
        while len(out) < min(n, n_items - len(banned)):
            i = self.rng.randrange(n_items)
            if i not in banned and i not in out:
                out.append(i)
        return out

    def rank_candidates(self, pool: list[int]) -> list[int]:
        pool = list(pool)
        self.rng.shuffle(pool)
        return pool


class PopularitySystem(System):
    name = "popularity"

    def __init__(self, domain: Domain, seed: int = 0):
        super().__init__(domain, seed)
        pop = domain.popularity
        self.order = sorted(range(len(pop)), key=lambda i: (-int(pop[i]), i))

    def session(self, case: EvalCase) -> Session:
        return _PopularitySession(self, case)


class _PopularitySession(_BaselineSession):
    system: PopularitySystem

    def recommend(self, n: int, banned: set[int]) -> list[int]:
        return top_excluding(self.system.order, n, banned)

    def rank_candidates(self, pool: list[int]) -> list[int]:
        pop = self.domain.popularity
        return sorted(pool, key=lambda i: (-int(pop[i]), i))


class KeywordMatcher:
    """Every value of every attribute column, found verbatim in a text (any case, whole words only).

    Independent of the agent's understanding code on purpose (it imports nothing from graph/ or tools/), so
    a fix there never lifts this anchor. The title is not a value: naming a liked title is not a condition.
    """

    MIN_LEN = 2

    def __init__(self, domain: Domain):
        self.n_items = len(domain.items)
        joins = {j.name for j in domain.config.items.joins}
        postings: dict[str, list[int]] = {}
        for col in domain.schema.columns:
            if col.name in ("title", "popularity") or col.name not in domain.items.columns:
                continue
            for iid, v in enumerate(domain.items[col.name].tolist()):
                for value in self._values(v, col.kind, col.name in joins):
                    postings.setdefault(f"{col.name}={value}", []).append(iid)
        self.postings = {k: np.unique(np.array(v, dtype=np.int64)) for k, v in postings.items()}
        by_value: dict[str, list[str]] = {}
        for key in self.postings:
            by_value.setdefault(key.split("=", 1)[1], []).append(key)
        self.automaton = ahocorasick.Automaton()
        for value, keys in by_value.items():
            self.automaton.add_word(value, (value, keys))
        self.automaton.make_automaton()

    @classmethod
    def _values(cls, v: Any, kind: str, joined: bool) -> list[str]:
        if v is None or v == "" or (isinstance(v, float) and v != v):
            return []
        if kind == "number":
            out = [f"{float(v):g}"]
        elif kind == "date":
            return []  # never said verbatim ("2015-05-28")
        elif kind == "list":
            out = str(v).split(LIST_SEP)
        elif joined:
            out = str(v).split(",")
        else:
            out = [str(v)]
        return [x.strip().lower() for x in out if len(x.strip()) >= cls.MIN_LEN]

    def match(self, text: str) -> set[str]:
        """The column=value keys whose value occurs in `text` as whole words."""
        low = text.lower()
        found: set[str] = set()
        for end, (value, keys) in self.automaton.iter(low):
            start = end - len(value) + 1
            if (start > 0 and low[start - 1].isalnum()) or (end + 1 < len(low) and low[end + 1].isalnum()):
                continue
            found.update(keys)
        return found

    def scores(self, texts: Sequence[str]) -> Any:
        """Per item, how many distinct stated values it has."""
        score = np.zeros(self.n_items, dtype=np.int64)
        for key in set().union(*(self.match(t) for t in texts)) if texts else ():
            score[self.postings[key]] += 1
        return score


class KeywordSystem(System):
    """Count of stated values each item has, then popularity (a plain matcher, not the agent's parser)."""

    name = "keyword"

    def __init__(self, domain: Domain, seed: int = 0):
        super().__init__(domain, seed)
        self.pop = domain.popularity
        self.matcher = KeywordMatcher(domain)

    def session(self, case: EvalCase) -> Session:
        return _KeywordSession(self, case)

    def ranked(self, texts: Sequence[str], pool: Sequence[int] | None = None) -> list[int]:
        """Items by number of matched values (descending), then popularity, then id."""
        score = self.matcher.scores(texts)
        ids = np.arange(len(score)) if pool is None else np.array(list(pool), dtype=np.int64)
        if len(ids) == 0:
            return []
        order = np.lexsort((ids, -self.pop[ids], -score[ids]))
        return [int(i) for i in ids[order]]


class _KeywordSession(_BaselineSession):
    system: KeywordSystem

    def recommend(self, n: int, banned: set[int]) -> list[int]:
        return top_excluding(self.system.ranked(self.texts), n, banned)

    def rank_candidates(self, pool: list[int]) -> list[int]:
        return self.system.ranked(self.texts, pool)


class DenseSystem(System):
    """Embedding retrieval of what the user said (the item index of the domain)."""

    name = "dense"
    note = "shares the agent's item index and encoder"

    def __init__(self, domain: Domain, seed: int = 0):
        super().__init__(domain, seed)
        self.index = domain.item_index()

    def session(self, case: EvalCase) -> Session:
        return _DenseSession(self, case)

    def search(self, text: str, k: int, among: Sequence[int] | None = None) -> list[int]:
        return [int(i) for i, _ in self.index.search(text, k=k, among=list(among) if among is not None else None)]


class _DenseSession(_BaselineSession):
    system: DenseSystem

    def query(self) -> str:
        return " ".join(self.texts[-3:])[-1500:]

    def recommend(self, n: int, banned: set[int]) -> list[int]:
        return top_excluding(self.system.search(self.query(), n + len(banned) + 5), n, banned)

    def rank_candidates(self, pool: list[int]) -> list[int]:
        ranked = self.system.search(self.query(), len(pool), pool)
        return ranked + [i for i in pool if i not in ranked]
