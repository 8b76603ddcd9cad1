"""Catalog-constrained generation (RecLM-cgen's idea at inference): the LLM can only name real items.

Why: a generative recommender that names items freely invents titles (RecLM-gen's NonExistRate) and
repeats what the user already saw. Here the allowed titles (the catalog, a shortlist or the current
candidates, always minus the user's history) are turned into a constraint per request:

- local llama.cpp server (xllamacpp): a GBNF grammar sent as `grammar` in the request body. The titles
  form a radix (prefix) tree, one rule per branching node, so the grammar engine follows a handful of
  branches per step instead of thousands of flat alternatives; the answer is exactly `n` numbered lines.
- OpenAI-compatible endpoints without grammars: a json_schema response format whose items are an enum of
  the allowed titles (capped: OpenAI limits enum sizes), then post-validation.
- anything else (test fakes, endpoints with no structured output): a plain call, then post-validation.

Every answer is post-validated in code: lines are mapped back to item ids through the exact allowed
strings (then a fuzzy match restricted to the allowed set); anything else is dropped and counted. A
grammar cannot express "all different", so duplicates are removed after generation and counted too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from models.titles import display_title
from prompts import template

if TYPE_CHECKING:
    from models.domain import Domain

Backend = Literal["grammar", "enum", "free"]
MAX_ENUM = 250  # OpenAI: more than 250 enum values must stay under 15,000 characters in all; keep it simple
MAX_GRAMMAR_TITLES = 50_000  # beyond this the request body and grammar parse get slow: shortlist instead
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•])\s*(.+?)\s*$")

GEN_SYSTEM = template("gen_system")


def _clean(s: str) -> str:
    """One line of text, safe inside a grammar literal and a numbered list."""
    return " ".join(str(s).replace("\n", " ").split())


class AllowedTitles:
    """The strings the model may produce, each mapped to an item id (first listed wins a tie)."""

    def __init__(self, titles: Sequence[str], iids: Iterable[int]):
        self.by_text: dict[str, int] = {}
        for i in iids:
            text = _clean(display_title(titles[int(i)]))
            if text and text not in self.by_text:
                self.by_text[text] = int(i)

    def __len__(self) -> int:
        return len(self.by_text)

    @property
    def texts(self) -> list[str]:
        return list(self.by_text)

    def iids(self) -> list[int]:
        return list(self.by_text.values())

    def truncated(self, k: int) -> AllowedTitles:
        out = AllowedTitles([], [])
        out.by_text = dict(list(self.by_text.items())[:k])
        return out


# ---- GBNF prefix tree --------------------------------------------------------------------------------------
def _lit(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def trie_grammar(texts: Iterable[str], n: int, *, numbered: bool = True) -> str:
    """A GBNF grammar for exactly `n` lines, each one of `texts` (optionally "k. " numbered).

    The texts are stored as a radix tree: chains of single children become one literal, and each node
    with several continuations becomes a rule, so the grammar engine tracks only the live branches.
    """
    end = "\x00"
    root: dict[str, Any] = {}
    count = 0
    for t in texts:
        t = _clean(t)
        if not t:
            continue
        node = root
        for ch in t:
            node = node.setdefault(ch, {})
        node[end] = {}
        count += 1
    if count == 0:
        raise ValueError("no allowed titles to build a grammar from")
    if n < 1:
        raise ValueError("n must be at least 1")
    rules: list[str] = []

    def emit(node: dict[str, Any]) -> str:
        """The rule name matching everything below `node` (which has >= 1 child)."""
        alts: list[str] = []
        optional = end in node
        for ch, child in node.items():
            if ch == end:
                continue
            chunk = ch
            while len(child) == 1 and end not in child:  # a chain: one literal
                (c2, child), = child.items()
                chunk += c2
            if set(child) == {end}:  # a leaf
                alts.append(_lit(chunk))
            else:
                alts.append(f"{_lit(chunk)} {emit(child)}")
        name = f"t{len(rules)}"
        rules.append("")  # reserve the slot (children were emitted first, the name is fixed now)
        body = " | ".join(alts)
        rules[-1] = f"{name} ::= ({body})?" if optional else f"{name} ::= {body}"
        return name

    # emit() is recursive; catalog titles are < 300 characters, far below Python's recursion limit
    top = emit(root)
    lines = [(f'"{k}. " ' if numbered else "") + f'{top} "\\n"' for k in range(1, n + 1)]
    return "root ::= " + " ".join(lines) + "\n" + "\n".join(rules) + "\n"


def enum_schema(texts: Sequence[str], n: int) -> dict[str, Any]:
    """OpenAI structured-output form: {"items": [n titles from the enum]}."""
    return {"name": "recommendations", "strict": True, "schema": {
        "type": "object", "additionalProperties": False, "required": ["items"],
        "properties": {"items": {"type": "array", "minItems": n, "maxItems": n,
                                 "items": {"type": "string", "enum": list(texts)}}}}}


# ---- parsing and post-validation --------------------------------------------------------------------------
def parse_lines(text: str) -> list[str]:
    """Titles from the answer: a JSON {"items": [...]}, or a numbered/bulleted/plain list of lines."""
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            items = data.get("items") if isinstance(data, dict) else None
            if isinstance(items, list):
                return [_clean(x) for x in items if isinstance(x, str) and x.strip()]
        except ValueError:
            pass
    out = []
    for line in text.splitlines():
        m = _NUMBERED.match(line)
        name = (m.group(1) if m else line).replace("**", "").strip()
        name = re.split(r"\s+[-–—]\s+", name, maxsplit=1)[0].strip(" \"'“”*")
        if name:
            out.append(name)
    return out


@dataclass
class Validated:
    items: list[int]  # distinct allowed items, in the model's order
    raw: list[int | None]  # one entry per generated line: the item, or None (not allowed / not found)
    dropped: list[str] = field(default_factory=list)  # lines naming nothing allowed
    duplicates: int = 0

    def add(self, line: str, iid: int | None) -> None:
        """Record one generated line: an allowed item, a repeat, or a line naming nothing allowed."""
        self.raw.append(iid)
        if iid is None:
            self.dropped.append(line)
        elif iid in self.items:
            self.duplicates += 1
        else:
            self.items.append(iid)


def validate(lines: Sequence[str], allowed: AllowedTitles, resolver: Any = None, min_conf: float = 0.9) -> Validated:
    """Map generated lines to allowed items: exact display string, else a confident fuzzy match that is
    itself allowed. Anything else is dropped; repeats are dropped and counted."""
    allowed_ids = set(allowed.by_text.values())
    out = Validated([], [])
    for line in lines:
        iid = allowed.by_text.get(_clean(line))
        if iid is None and resolver is not None:
            m = resolver.best(line, min_conf)
            iid = m.iid if m is not None and m.iid in allowed_ids else None
        out.add(line, iid)
    return out


# ---- the generator ---------------------------------------------------------------------------------------
def backend_for(llm: Any) -> Backend:
    """grammar for the local llama.cpp server, enum for other OpenAI-compatible models, else free."""
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a core dependency
        return "free"
    if not isinstance(llm, BaseChatOpenAI):
        return "free"
    return "grammar" if getattr(llm, "interec_provider", "") == "local" else "enum"


@dataclass
class GenResult:
    items: list[int]
    raw: list[int | None]
    text: str
    backend: Backend
    allowed: int  # how many titles the constraint allowed
    dropped: list[str]
    duplicates: int
    seconds: float
    truncated: bool = False  # the answer hit the token cap
    calls: int = 1
    first_pass: list[int | None] = field(default_factory=list)  # the first call's lines, before any refill


def gen_prompt(domain: Domain, history: Sequence[int], n: int, request: str | None = None) -> str:
    word = domain.config.item_word
    liked = "; ".join(display_title(domain.titles[int(i)]) for i in list(history)[-10:]) or "(none yet)"
    if request:
        return template("gen_user_want").format(Items=word.capitalize() + "s", liked=liked, request=_clean(request)[:300],
                                                count=f"{n} {word}s")
    return template("gen_user").format(Items=word.capitalize() + "s", liked=liked, count=f"{n} {word}s")


def generate(llm: BaseChatModel, domain: Domain, history: Sequence[int], n: int, allowed: AllowedTitles | None,
             *, request: str | None = None, backend: Backend | None = None, tokens_per_item: int = 24,
             refill: int = 1, config: Any = None) -> GenResult:
    """Ask the LLM for `n` items. With `allowed`, decoding is constrained to those titles (grammar or
    enum, see the module docstring) and the answer is post-validated against them; `allowed=None` is the
    unconstrained baseline (names resolved against the whole catalog, unknown ones kept as None).

    A grammar cannot forbid repeats, so when the constrained answer has fewer than n distinct items, up to
    `refill` more calls ask for the missing ones with the chosen titles removed from the constraint."""
    first = _generate_once(llm, domain, history, n, allowed, request=request, backend=backend,
                           tokens_per_item=tokens_per_item, config=config)
    res = first
    if allowed is None:
        return res
    for _ in range(refill):
        missing = n - len(res.items)
        if missing <= 0:
            break
        rest = AllowedTitles([], [])
        rest.by_text = {t: i for t, i in allowed.by_text.items() if i not in res.items}
        if not rest.by_text:
            break
        more = _generate_once(llm, domain, [*history, *res.items], missing, rest, request=request, backend=backend,
                              tokens_per_item=tokens_per_item, config=config)
        add = [i for i in more.items if i not in res.items]
        res = GenResult([*res.items, *add], [*res.raw, *more.raw], res.text + "\n" + more.text, res.backend,
                        res.allowed, [*res.dropped, *more.dropped], res.duplicates + more.duplicates,
                        res.seconds + more.seconds, res.truncated or more.truncated, res.calls + 1,
                        first_pass=res.first_pass)
    return res


def _generate_once(llm: BaseChatModel, domain: Domain, history: Sequence[int], n: int, allowed: AllowedTitles | None,
                   *, request: str | None, backend: Backend | None, tokens_per_item: int, config: Any) -> GenResult:
    if n < 1:
        raise ValueError("n must be at least 1")
    word = domain.config.item_word
    system = GEN_SYSTEM.format(items=word + "s")
    messages = [SystemMessage(system), HumanMessage(gen_prompt(domain, history, n, request))]
    kind: Backend = "free" if allowed is None else (backend or backend_for(llm))
    if allowed is not None and len(allowed) == 0:
        raise ValueError("the constraint allows no titles")
    opts: dict[str, Any] = {"max_tokens": tokens_per_item * n + 16}
    if kind == "grammar" and allowed is not None:
        if len(allowed) > MAX_GRAMMAR_TITLES:
            raise ValueError(f"{len(allowed)} allowed titles is too many for one grammar (max {MAX_GRAMMAR_TITLES}): "
                             "pass a shortlist")
        opts["extra_body"] = {"grammar": trie_grammar(allowed.texts, n)}
    elif kind == "enum" and allowed is not None:
        if len(allowed) > MAX_ENUM:
            allowed = allowed.truncated(MAX_ENUM)  # keep the first (best-ranked) titles of the shortlist
        opts["response_format"] = {"type": "json_schema", "json_schema": enum_schema(allowed.texts, n)}
    t = time.perf_counter()
    runnable: Any
    try:
        runnable = llm.bind(**opts)
    except (AttributeError, NotImplementedError, TypeError):
        runnable = llm
    msg = runnable.invoke(messages, config=config)
    seconds = time.perf_counter() - t
    text = msg.content if isinstance(msg.content, str) else str(msg.content)
    truncated = (getattr(msg, "response_metadata", None) or {}).get("finish_reason") == "length"
    lines = parse_lines(text)[:n]
    got = validate_free(lines, domain) if allowed is None else validate(lines, allowed, domain.resolver)
    return GenResult(got.items, got.raw, text, kind, len(allowed) if allowed is not None else 0, got.dropped,
                     got.duplicates, seconds, truncated, first_pass=list(got.raw))


def validate_free(lines: Sequence[str], domain: Domain, min_conf: float = 0.85) -> Validated:
    """The unconstrained baseline: each line resolved against the whole catalog (None when no confident match)."""
    out = Validated([], [])
    for line in lines:
        m = domain.resolver.best(line, min_conf)
        out.add(line, m.iid if m is not None else None)
    return out


# ---- what to allow ---------------------------------------------------------------------------------------
def catalog_allowed(domain: Domain, exclude: Iterable[int] = ()) -> AllowedTitles:
    """Every catalog item except `exclude`, most popular first (so a tie on a display string keeps the
    better-known item, and an enum cap keeps the popular ones)."""
    ban = {int(i) for i in exclude}
    order = np.argsort(-np.asarray(domain.popularity), kind="stable")
    return AllowedTitles(domain.titles, (int(i) for i in order if int(i) not in ban))


def shortlist(domain: Domain, history: Sequence[int], k: int = 300, *, ranker: Any = None, itemcf: Any = None,
              exclude: Iterable[int] = ()) -> list[int]:
    """Up to k candidates for a large catalog, best first: half from the sequential ranker (SASRec) over
    the history, a quarter from ItemCF neighbours of the history, the rest by popularity; never the
    history or `exclude`."""
    ban = {int(i) for i in history} | {int(i) for i in exclude}
    n_items = len(domain.titles)
    out: list[int] = []

    def take(ids: Iterable[int], limit: int) -> None:
        for i in ids:
            if len(out) >= limit:
                return
            i = int(i)
            if i not in ban and i not in out:
                out.append(i)

    hist = [int(i) for i in history]
    if ranker is not None and hist:
        scores = np.asarray(ranker.score(hist, np.arange(n_items)), dtype=np.float32)
        take(np.argsort(-scores, kind="stable"), k // 2)
    if itemcf is not None and hist:
        scores = np.asarray(itemcf.score(hist, np.arange(n_items)), dtype=np.float32)
        take((i for i in np.argsort(-scores, kind="stable") if scores[i] > 0), len(out) + k // 4)
    take(np.argsort(-np.asarray(domain.popularity), kind="stable"), k)
    return out


# ---- the agent's "gen" ranking -----------------------------------------------------------------------------
GEN_POOL = 30  # candidates the LLM may choose from when it re-ranks the bus


def gen_rerank(llm: BaseChatModel, domain: Domain, candidates: Sequence[int], liked: Sequence[int], n: int,
               request: str | None = None, pool: int = GEN_POOL, config: Any = None) -> tuple[list[int], GenResult]:
    """The agent's rank-by-generation: the LLM names n of the top `pool` candidates (constrained to exactly
    those titles), then the candidates it did not name follow in their previous order, so the answer always
    has n items from the tools' candidates."""
    top = [int(i) for i in candidates[:pool] if int(i) not in set(liked)]
    if not top:
        return [], GenResult([], [], "", "free", 0, [], 0, 0.0, calls=0)
    k = min(n, len(top))
    r = generate(llm, domain, liked, k, AllowedTitles(domain.titles, top), request=request, config=config)
    chosen = [i for i in r.items if i in top]
    rest = [i for i in top if i not in chosen]
    return (chosen + rest)[:n], r
