"""User simulators with a hidden target item.

Both accept only the target (the harness stops the conversation when a judge sees it), reveal fewer than
3 new conditions per turn taken from the target's attributes, and never say its title.

- TemplatedSimulator: no LLM, deterministic per (seed, case). An agenda of facts (categories, then the
  decade, then tags, a finer year, history titles...) is spread over the turns in varied phrasings;
  after a miss it says "no, not those" style feedback that names nothing.
- LLMSimulator: RecAI's rules as a prompt; a leak guard regenerates a reply that fuzzy-matches the title
  (bounded retries at a higher temperature), then falls back to the templated reply of the same turn.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from evals.cases import EvalCase
from evals.judges import leaks
from evals.llmcall import bound
from graph.hints import year_column
from models.domain import Domain

END = "<END>"
MAX_NEW_FACTS = 2  # "fewer than 3 conditions at a time"


@dataclass
class SimTurn:
    text: str
    end: bool = False  # the simulated user ended the conversation (<END>)
    llm_calls: int = 0
    regenerated: int = 0  # replies the leak guard threw away
    fallback: bool = False  # the leak guard gave up and used the templated reply
    facts: list[str] = field(default_factory=list)  # what this turn revealed (templated)


class SimSession(Protocol):
    def first(self) -> SimTurn: ...

    def respond(self, agent_message: str, recommended: list[str]) -> SimTurn: ...


class Simulator(Protocol):
    name: str

    def session(self, case: EvalCase) -> SimSession: ...


# ---- facts ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fact:
    kind: str  # category | decade | year | tag | text | number | history
    column: str
    value: Any
    key: str  # what the fact is about, for the record ("genres=Comedy")


def natural_title(title: str) -> str:
    """ "Grand Budapest Hotel, The (2014)" -> "The Grand Budapest Hotel (2014)" (how people write it)."""
    m = re.match(r"^(.*?),\s*(The|A|An)(\s*\(\d{4}\))?\s*$", title)
    return f"{m.group(2)} {m.group(1)}{m.group(3) or ''}" if m else title


def _decade(year: int) -> int:
    return year // 10 * 10


def _year_of(v: Any) -> int | None:
    m = re.match(r"^\s*((?:1[89]|20)\d{2})", str(v))
    return int(m.group(1)) if m else None


def target_facts(domain: Domain, case: EvalCase, rng: random.Random) -> list[Fact]:
    """The agenda: which facts about the target to reveal, in order (never the title)."""
    schema = domain.schema
    ycol = year_column(schema)
    attrs = case.attributes
    cats: list[Fact] = []
    texts: list[Fact] = []
    tags: list[Fact] = []
    numbers: list[Fact] = []
    year: int | None = None
    for col in schema.columns:
        v = attrs.get(col.name)
        if v is None or col.name in ("title", "popularity"):
            continue
        if col.name == ycol or col.kind == "date":
            year = year or _year_of(v)
        elif col.kind == "list" and col.values:
            vals = [x for x in v if x in col.values] or list(v)
            rng.shuffle(vals)
            cats += [Fact("category", col.name, x, f"{col.name}={x}") for x in vals]
        elif col.kind == "text" and col.values and isinstance(v, str):
            texts.append(Fact("text", col.name, v, f"{col.name}={v}"))
        elif isinstance(v, list):  # free-text lists such as user tags
            pool = [t for t in v if 2 <= len(t) <= 30 and len(t.split()) <= 3 and not leaks(t, case.title)]
            rng.shuffle(pool)
            tags += [Fact("tag", col.name, t, f"{col.name}~{t}") for t in pool[:4]]
        elif col.kind == "number" and isinstance(v, int | float):
            numbers.append(Fact("number", col.name, v, f"{col.name}~{v}"))
    hist = [natural_title(t) for t in case.history_titles[::-1] if not leaks(t, case.title)][:2]
    said = {str(f.value).lower() for f in cats}
    tags = [f for f in tags if str(f.value).lower() not in said]  # a tag that repeats a genre adds nothing
    agenda: list[Fact] = cats[:2]
    if year:
        agenda.append(Fact("decade", ycol or "year", _decade(year), f"decade={_decade(year)}"))
    agenda += texts + tags[:2] + cats[2:]
    if year:
        agenda.append(Fact("year", ycol or "year", year, f"year={year}"))
    agenda += tags[2:] + numbers
    if hist:
        agenda.append(Fact("history", "history", tuple(hist), "history"))
    return agenda


# ---- phrasing --------------------------------------------------------------------------------------------
OPENERS = ["I'm looking for a {item}.", "Can you recommend a {item}?", "Hi! I want a {item} recommendation.",
           "Help me find a {item}, please.", "I need a good {item}.", "Any {item} suggestions?"]
REJECTIONS = ["No, not those.", "None of these are it.", "Hmm, not quite.", "Those aren't right.",
              "No, those don't fit.", "Not these ones, sorry.", "No, keep looking."]
EMPTY = ["You didn't suggest anything yet.", "Hmm, no suggestions?", "Can you give me some options?"]
STILL = ["Still {f}.", "Remember: {f}.", "Again, {f}."]
GENERIC_FALLBACKS = ["Not those, please try again.", "Other ideas, please.", "Please try again.", "Hmm."]


def an(word: str) -> str:
    """The indefinite article for a word ("an action", "an 80s", "a comedy")."""
    return "an" if re.match(r"^(?:[aeiou]|8|11|18)", word.lower()) else "a"


def _cat_phrases(values: list[str], item: str) -> list[str]:
    vs = [v.lower() for v in values]
    if len(vs) == 1:
        return [f"I'd like {an(vs[0])} {vs[0]} {item}.", f"Something in {vs[0]}.", f"It should be {vs[0]}.",
                f"I'm in the mood for {vs[0]}."]
    return [f"I'd like a {item} that is {vs[0]} and {vs[1]}.", f"Something {vs[0]} with some {vs[1]}.",
            f"I'm in the mood for {vs[0]} and {vs[1]}.", f"It should mix {vs[0]} and {vs[1]}."]


def _fact_phrases(f: Fact, domain: Domain) -> list[str]:
    item = domain.config.item_word
    if f.kind == "category":
        return _cat_phrases([str(f.value)], item)
    if f.kind == "decade":
        d = int(f.value)
        short = f"{d % 100:02d}s" if 1920 <= d < 2000 else f"{d}s"
        return [f"From the {d}s.", f"Released in the {short}.", f"{an(short).capitalize()} {short} {item}.", f"Something made in the {d}s."]
    if f.kind == "year":
        y = int(f.value)
        choices = [f"Released in {y}.", f"I think it came out in {y}.", f"Made in {y}, I believe."]
        part = "early" if y % 10 < 4 else ("late" if y % 10 >= 6 else None)
        if part:
            d = _decade(y)
            choices.append(f"More precisely the {part} {d % 100:02d}s." if 1920 <= d < 2000 else
                           f"More precisely the {part} {d}s.")
        return choices
    if f.kind == "tag":
        return [f"People describe it as '{f.value}'.", f"Something with a '{f.value}' feel.",
                f"Tagged '{f.value}', I remember.", f"I recall it being '{f.value}'."]
    if f.kind == "text":
        v = str(f.value).lower()
        return [f"{an(v).capitalize()} {v} {item}.", f"Its {domain.config.describe(f.column)} is {f.value}."]
    if f.kind == "number":
        v = f.value
        shown = f"{v:g}" if isinstance(v, float) else str(v)
        what = domain.config.describe(f.column)
        return [f"With a {what} of about {shown}.", f"Its {what} is around {shown}."]
    if f.kind == "history":
        names = list(f.value)
        if len(names) == 1:
            return [f"I liked {names[0]}.", f"I enjoyed {names[0]} before."]
        return [f"I liked {names[0]} and {names[1]}.", f"I enjoyed {names[0]} and {names[1]}."]
    raise ValueError(f"no phrasing for {f.kind}")


def _still_phrases(f: Fact, domain: Domain) -> list[str]:
    item = domain.config.item_word
    if f.kind == "category":
        v = str(f.value).lower()
        what = f"{an(v)} {v} {item}"
    elif f.kind == "decade":
        what = f"from the {int(f.value)}s"
    else:
        return []
    return [s.format(f=what) for s in STILL]


def pick(variants: list[str], title: str, rng: random.Random) -> str | None:
    """A random variant that does not give the title away (None when every variant would)."""
    order = list(variants)
    rng.shuffle(order)
    return next((v for v in order if not leaks(v, title)), None)


def safe_text(text: str, title: str, fallbacks: list[str] | None = None) -> str:
    """`text` when it does not leak the title, else the first generic fallback that does not."""
    if not leaks(text, title):
        return text
    for alt in fallbacks or GENERIC_FALLBACKS:
        if not leaks(alt, title):
            return alt
    return "..."


# ---- templated simulator -----------------------------------------------------------------------------------
class TemplatedSession:
    def __init__(self, domain: Domain, case: EvalCase, seed: int):
        self.domain = domain
        self.case = case
        self.rng = random.Random(f"{seed}:{case.case_id}")
        self.agenda = target_facts(domain, case, self.rng)
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
        parts = [self._pick(_cat_phrases([str(f.value) for f in cats], self.domain.config.item_word))] if cats else []
        parts += [self._pick(_fact_phrases(f, self.domain)) for f in facts if f.kind != "category"]
        return " ".join(p for p in parts if p)

    def _opener(self) -> str:
        return self._pick([o.format(item=self.domain.config.item_word) for o in OPENERS])

    def first(self) -> SimTurn:
        self.turn = 1
        facts = self._take(1 if self.rng.random() < 0.3 else MAX_NEW_FACTS)
        return SimTurn(self._join([self._opener(), self._say(facts)]), facts=[f.key for f in facts])

    def respond(self, agent_message: str, recommended: list[str]) -> SimTurn:
        self.turn += 1
        lead = self._pick(REJECTIONS if recommended else EMPTY)
        facts = self._take(MAX_NEW_FACTS)
        body = self._say(facts)
        if self.turn >= 3 and self.rng.random() < 0.5:  # restate an earlier condition now and then
            earlier = [f for f in self.revealed if f not in facts and f.kind in ("category", "decade")]
            if earlier:
                body = f"{body} {self._pick(_still_phrases(self.rng.choice(earlier), self.domain))}".strip()
        if not body:  # (never "something else": agents read it as a fresh start and drop the conditions)
            body = self._pick(["Any other ideas?", "Try another one.", "Keep looking, please."])
        return SimTurn(self._join([lead, body]), facts=[f.key for f in facts])

    def _join(self, parts: list[str]) -> str:
        """Parts in order, skipping any whose addition would make the whole text leak the title."""
        text = ""
        for p in parts:
            cand = f"{text} {p}".strip() if p else text
            if not leaks(cand, self.case.title):
                text = cand
        return text or safe_text(GENERIC_FALLBACKS[0], self.case.title)

    def one_turn_request(self) -> str:
        """A single request with several facts at once (for the one-turn retrieval suite)."""
        facts = [f for f in self.agenda if f.kind != "history"][:4]
        self.agenda = [f for f in self.agenda if f not in facts]
        hist = [natural_title(t) for t in self.case.history_titles[::-1] if not leaks(t, self.case.title)][:3]
        lead = ""
        if hist:
            lead = "I liked " + (", ".join(hist[:-1]) + " and " + hist[-1] if len(hist) > 1 else hist[0]) + "."
        parts = [lead, self._opener()]
        cats = [f for f in facts if f.kind == "category"]
        if cats:
            parts.append(self._pick(_cat_phrases([str(f.value) for f in cats], self.domain.config.item_word)))
        parts += [self._pick(_fact_phrases(f, self.domain)) for f in facts if f.kind != "category"]
        return self._join(parts)


class TemplatedSimulator:
    name = "templated"

    def __init__(self, domain: Domain, seed: int = 0):
        self.domain = domain
        self.seed = seed

    def session(self, case: EvalCase) -> TemplatedSession:
        return TemplatedSession(self.domain, case, self.seed)


# ---- LLM simulator -----------------------------------------------------------------------------------------
SIM_SYSTEM = """You are a user chatting with a recommender system to find one {item}. You act only as the user.
The {item} you are looking for (keep its name secret): it has these properties:
{facts}
{items} you liked before: {history}.
Rules:
- If the recommender suggests other {items}, refuse them and give some information about the {item} you want.
- If the recommender asks about your preferences, answer with information about the {item} you want.
- Never say or spell the name of the {item} you want. Use only the properties above.
- Give fewer than 3 properties per message. Keep each message to one or two short sentences.
- Output only the words of the user. If you think the conversation is over, output {end}."""

SIM_RETRY = ("Your last message named the {item} you want, which is forbidden. Write a different message that "
             "describes it only by its properties, without any part of its name.")


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
        self.fallback = TemplatedSession(sim.domain, case, sim.seed)  # kept in step for the fallback reply
        self.dialogue: list[tuple[str, str]] = []  # (speaker, text)
        word = sim.domain.config.item_word
        hist = [t for t in case.history_titles[::-1] if not leaks(t, case.title)][:5]
        self.system = SIM_SYSTEM.format(item=word, items=word + "s", facts=describe_target(sim.domain, case),
                                        history="; ".join(hist) or "none", end=END)

    def _prompt(self) -> list[Any]:
        lines = [f"{'You' if who == 'user' else 'Recommender'}: {text}" for who, text in self.dialogue[-8:]]
        task = ("Conversation so far:\n" + "\n".join(lines) + "\n\nWrite your next message as the user."
                if lines else "Start the conversation: write your first message as the user.")
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
                 retry_temperature: float = 0.8):
        self.domain = domain
        self.llm = llm
        self.seed = seed
        self.max_retries = max_retries
        self.retry_temperature = retry_temperature

    def session(self, case: EvalCase) -> LLMSession:
        return LLMSession(self, case)


def make_simulator(kind: str, domain: Domain, seed: int = 0, llm: BaseChatModel | None = None) -> Simulator:
    if kind == "templated":
        return TemplatedSimulator(domain, seed)
    if kind == "llm":
        if llm is None:
            raise ValueError("the LLM simulator needs an LLM (--llm local, or an endpoint)")
        return LLMSimulator(domain, llm, seed)
    raise ValueError(f"unknown simulator {kind!r}: use templated or llm")
