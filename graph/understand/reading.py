"""One message read against the domain's vocabulary, once, into a typed Request.

Order matters: named titles are found first and their words blanked (so "Romance of the Three Kingdoms"
gives no category and no count), then numbers and periods, then categorical values (multi-word first), then
what is left is matched by meaning against the value names. The words nothing explains are kept as
`residual`: a request with none is fully understood and needs no LLM.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from graph.understand.quantities import QuantityReader, Range, shares_stem
from graph.understand.words import (
    ASKING,
    ASKS_FOR_RECS,
    CHIT_CHAT,
    COUNT_WORDS,
    FUNCTION,
    NEGATION_RESET,
    NEGATORS,
    OLD,
    RECENT,
)
from models.mentions import descriptors, mention_spans, quoted
from models.resolver import normalise
from models.vocabulary import Token, Vocabulary, key_of, singular, tokens

if TYPE_CHECKING:
    from models.domain import Domain

# cosine between a phrase and a value name (all-MiniLM-L6-v2) above which the phrase means that value;
# chosen on the dev requests in tests/fixtures/understanding/ (benchmarks/RESULTS.md, "understanding")
ENCODER_MATCH = 0.62
MAX_TEXT = 2000
CACHE_SIZE = 2048
TIME_WORD = re.compile(f"(?:{RECENT.pattern})|(?:{OLD.pattern})", re.I)  # never read as a value by resemblance
MEANING_SUPPORT = 3  # items a value must label to be read by meaning: one-off free tags (names, in-jokes) are noise
CATEGORY_COLUMN = 200  # distinct values up to which a column is category-like (its values are never titles)


@dataclass
class Request:
    n: int | None = None
    include: list[tuple[str, str]] = field(default_factory=list)  # (column, value), as stored
    exclude: list[tuple[str, str]] = field(default_factory=list)
    inferred: list[tuple[str, str]] = field(default_factory=list)  # includes matched by meaning, not by name
    ranges: list[Range] = field(default_factory=list)
    titles: list[int] = field(default_factory=list)  # items named approvingly (resolved)
    avoid_titles: list[int] = field(default_factory=list)  # items named after "not", "hate", ...
    terms: list[str] = field(default_factory=list)  # quoted descriptions, searched by meaning
    residual: list[str] = field(default_factory=list)  # content words nothing explained
    strong: list[tuple[str, str]] = field(default_factory=list)  # includes the user insisted on ("only X")
    wants_recs: bool = False
    chit_chat: str | None = None  # greeting | thanks | identity
    language: str | None = None  # set when the message is not in English (only English is read by code)

    @property
    def has_conditions(self) -> bool:
        return bool(self.include or self.exclude or self.ranges)

    def range_for(self, col: str) -> tuple[float | None, float | None] | None:
        rs = [r for r in self.ranges if r.col == col and not r.negated]
        if not rs:
            return None
        lo = max((r.lo for r in rs if r.lo is not None), default=None)
        hi = min((r.hi for r in rs if r.hi is not None), default=None)
        return lo, hi

    def labels(self) -> list[str]:
        """What was read, for traces and replies ("kind=Comedy", "-kind=Horror", "price: under $15")."""
        out = [f"{c}={v}" for c, v in self.include] + [f"-{c}={v}" for c, v in self.exclude]
        return out + [f"{r.col}: {'not ' if r.negated else ''}{r.label}" for r in self.ranges]


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for i in range(a, min(b, len(chars))):
            chars[i] = " "
    return "".join(chars)


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 48):start]
    m = NEGATORS.search(before)
    if not m:
        # "no horror or gore": a negation carries over an "or"/"," list of values
        m = re.search(r"\b(?:no|not|without|except|avoid)\b[^.;!?]*?(?:,|\bor\b|\bnor\b)\s*$", before, re.I)
        if not m or re.search(r"\b(?:but|and)\b", before[m.start():], re.I):
            return False
    return not NEGATION_RESET.search(before[m.end():]) if m.end() < len(before) else True


COUNTED = {"one", "more", "other", "recommendation", "suggestion", "option", "pick", "title", "idea", "choice", "result"}


# "another one", "these ones", "a different one": "one" after these words stands for an item, it counts nothing
PRONOUN_ONE = {"another", "this", "that", "these", "those", "the", "a", "an", "different", "other", "new", "same",
               "similar", "last", "first", "next", "which", "any", "every", "no", "some", "each", "right", "good",
               "better", "older", "newer", "such"}


def _count(toks: list[Token], counted: set[int], nouns: set[str], work: str = "") -> int | None:
    """ "three comedies", "5 more", "top 10", "give me 3": a count is a number next to the item word, a value
    or a word such as "more"; never a number inside a title or a range (titles and ranges are blanked)."""
    keys = [t.key for t in toks]
    for i, k in enumerate(keys):
        n = int(k) if k.isdigit() and len(k) <= 2 else COUNT_WORDS.get(k)
        if k == "one" and (work[toks[i].start:toks[i].end].lower() != "one" or (i > 0 and keys[i - 1] in PRONOUN_ONE)):
            continue  # "ones" (plural) and "another one" name items, they count nothing
        if n is None and i + 1 < len(keys) and f"{k} {keys[i + 1]}" in COUNT_WORDS:
            n = COUNT_WORDS[f"{k} {keys[i + 1]}"]
        if n is None or not 1 <= n <= 20:
            continue
        if i > 0 and keys[i - 1] in ("top", "me", "recommend", "suggest", "list", "show", "give", "need", "want", "get"):
            return n
        for j in range(i + 1, min(len(keys), i + 4)):
            if keys[j] in nouns or keys[j] in COUNTED or j in counted:
                return n
    return None


def _fragment_of(said: set[str], value_key: str) -> bool:
    """ "feel" and the tags "feel good" or "feelgood", "remember" and "remember him": words said that are only part of
    a longer value resemble it by their letters, not by meaning; the whole value said is matched verbatim elsewhere."""
    words = value_key.split()
    if said < set(words):
        return True
    return len(said) == 1 and len(words) == 1 and words[0] != (w := next(iter(said))) and words[0].startswith(w)


SUBJECTS = {"i", "we", "you", "they"}
BRIDGE = {"do", "did", "really", "still", "also", "just", "can", "could", "would", "will"}


def _after_subject(toks: list[Token], i: int) -> bool:
    """ "I remember", "we really enjoyed": the word after a personal pronoun is the speaker's verb, not a
    description of an item, so it is not read by resemblance (it would become a tag like "remember him")."""
    j = i - 1
    if j >= 0 and (toks[j].key in BRIDGE or toks[j].key.endswith("ly")):
        j -= 1
    return j >= 0 and toks[j].key in SUBJECTS


INSIST = re.compile(r"\b(?:only|just|must|has to be|have to be|needs? to be|strictly|definitely|exclusively)\b"
                    r"(?:\s+\w+){0,2}\s*$", re.I)


class Reader:
    """Reads messages for one domain. `encode` (texts -> vectors) enables matching by meaning."""

    def __init__(self, domain: Domain, encode: Callable[[list[str]], Any] | None = None):
        self.domain = domain
        self.vocab: Vocabulary = domain.vocabulary
        self.encode = encode
        cfg = domain.config
        self._cache: dict[str, Request] = {}
        self._rare = np.asarray([v.df < MEANING_SUPPORT for v in self.vocab.values], dtype=bool)
        self.column_sizes: dict[str, int] = {}
        for v in self.vocab.values:
            self.column_sizes[v.col] = self.column_sizes.get(v.col, 0) + 1
        self.column_words = {t.key for c in domain.schema.columns if c.name not in ("title", "popularity")
                             for t in tokens(f"{c.name.replace('_', ' ')} {c.description}")
                             if len(t.key) > 2 and t.key not in FUNCTION and not t.key.isdigit()}
        self.item_words = {key_of(cfg.item_word), key_of(cfg.items_word)} | {"item", "thing", "option", "pick"} | {
            key_of(w) for w in cfg.understanding.get("item_words", [])}
        self.quantities = QuantityReader(self.vocab, cfg.understanding, self.item_words)

    # ---- public -------------------------------------------------------------------------------------------
    def read_cached(self, text: str) -> Request:
        """Each message is read once per process: later turns reuse the earlier readings."""
        got = self._cache.get(text)
        if got is None:
            got = self._cache[text] = self.read(text)
            if len(self._cache) > CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
        return copy.deepcopy(got)

    def read(self, text: str) -> Request:
        text = (text or "")[:MAX_TEXT]
        req = Request()
        resolver = self.domain.resolver
        spans: list[tuple[int, int]] = []
        quotes = [(a, b) for _q, a, b in quoted(text)]
        for iid, a, b in mention_spans(text, resolver):
            if not any(qa <= a and b <= qb for qa, qb in quotes) and self._value_not_title(key_of(text[a:b]), iid):
                continue  # "comedy and Romance": a category-like value, not the item called "Romance"
            spans.append((a, b))
            named = req.avoid_titles if _negated(text, a) else req.titles
            if iid not in req.titles and iid not in req.avoid_titles:
                named.append(iid)
        req.terms = descriptors(text, resolver)
        work = _blank(text, spans)
        req.ranges = self.quantities.read(work)
        for r in req.ranges:
            r.negated = _negated(work, r.start)
        work = _blank(work, [(r.start, r.end) for r in req.ranges])
        toks = tokens(work)
        explained = self._values(work, toks, req)
        req.n = _count(toks, explained, self.item_words, work)
        residual_idx = [i for i, t in enumerate(toks) if i not in explained and self._content(t)
                        and not self._names_column(t.key)]
        req.language = self._language(text, toks, residual_idx)
        question = ASKING.match(text) and not ASKS_FOR_RECS.search(text)
        req.wants_recs = not question  # "No, not those." continues the conversation's request
        if not req.has_conditions and not req.titles and not req.terms and len(text) < 80:
            for kind, pattern in CHIT_CHAT.items():
                if pattern.search(text):  # "hello there" is a greeting, not a value that resembles "hello"
                    req.chit_chat, req.wants_recs = kind, False
                    break
        by_meaning = [i for i in residual_idx if len(toks[i].key) > 3 and not TIME_WORD.fullmatch(toks[i].key)
                      and not _after_subject(toks, i)]
        if by_meaning and self.encode is not None and req.language is None and req.chit_chat is None:
            explained |= self._by_meaning(work, toks, by_meaning, req)  # the encoder reads English words
        req.residual = [toks[i].key for i in residual_idx if i not in explained]
        return req

    # ---- steps -------------------------------------------------------------------------------------------
    def _content(self, t: Token) -> bool:
        k = t.key
        return len(k) > 2 and not k.isdigit() and k not in FUNCTION and k not in self.item_words and \
            singular(k) not in FUNCTION and not NEGATORS.fullmatch(k)

    def _category_word(self, key: str) -> bool:
        """A value of a small, category-like column (few distinct values). Values of large free-tag columns are
        often names themselves (Last.fm tags hold artist names), so there the title wins."""
        return any(self.column_sizes.get(self.vocab.values[i].col, 0) <= CATEGORY_COLUMN
                   for i in self.vocab.by_key.get(key, []))

    @functools.cached_property
    def _popularity(self) -> np.ndarray:
        """Interactions per item: a name that is both a value and a title goes to the better known of the two."""
        return np.asarray(self.domain.popularity)

    def _value_not_title(self, key: str, iid: int) -> bool:
        """A capitalised word that is both a value and an item's name: a category-like value stays a value; a
        free tag ("a Soundtrack feel") is the value when more items carry it than the item has interactions."""
        if self._category_word(key):
            return True
        ids = self.vocab.by_key.get(key, [])
        if not ids:
            return False
        return max(self.vocab.values[i].df for i in ids) > self._popularity[iid]

    def _names_column(self, key: str) -> bool:
        """ "rated", "released", "tagged": words that name a column (from its name and description) carry no
        condition of their own; the value or number next to them does."""
        return any(shares_stem(key, w) for w in self.column_words)

    def _pair(self, vid: int) -> tuple[str, str]:
        v = self.vocab.values[vid]
        return v.col, v.text

    def _primary(self, ids: tuple[int, ...]) -> int:
        """Of the values one span names (a category and a tag spelled alike), the one of the most categorical column."""
        size = self.column_sizes
        return min(ids, key=lambda i: (size.get(self.vocab.values[i].col, 0), -self.vocab.values[i].df))

    def _values(self, work: str, toks: list[Token], req: Request) -> set[int]:
        explained: set[int] = set()
        for hit in self.vocab.find(toks):
            words = [toks[i].key for i in range(hit.first, hit.last + 1)]
            if all(w in FUNCTION or w in self.item_words for w in words) or len("".join(words)) < 2:
                continue  # a value spelled like a function word ("the", "new") or a letter ("that's") is not said
            iid = self._title_named(work, toks, hit)
            if iid is not None:
                named = req.avoid_titles if _negated(work, toks[hit.first].start) else req.titles
                if iid not in req.titles and iid not in req.avoid_titles:
                    named.append(iid)
                explained |= set(range(hit.first, hit.last + 1))
                continue
            pair = self._pair(self._primary(hit.values))
            self._add(req, pair, work, toks[hit.first].start, inferred=False)
            explained |= set(range(hit.first, hit.last + 1))
        return explained

    def _title_named(self, work: str, toks: list[Token], hit: Any) -> int | None:
        """A lowercase name that is both a free tag and an item ("led zeppelin") names the item when the item is
        better known than the tag is used (its interactions outnumber the items tagged so); a value of a small
        category-like column, or a one-word span, stays a value."""
        if hit.last == hit.first or any(self._category_word(self.vocab.values[i].key) for i in hit.values):
            return None
        resolver = self.domain.resolver
        got = resolver.exact.get(normalise(work[toks[hit.first].start:toks[hit.last].end])[0], [])
        if not got:
            return None
        pop = self._popularity
        iid = max(got, key=lambda i: pop[i])
        df = max(self.vocab.values[i].df for i in hit.values)
        return int(iid) if pop[iid] > df else None

    @staticmethod
    def _add(req: Request, pair: tuple[str, str], work: str, start: int, inferred: bool) -> None:
        if pair in req.include or pair in req.exclude:
            return
        if _negated(work, start):
            req.exclude.append(pair)
            return
        req.include.append(pair)
        if inferred:
            req.inferred.append(pair)
        if INSIST.search(work[max(0, start - 30):start]):
            req.strong.append(pair)

    def _by_meaning(self, work: str, toks: list[Token], idx: list[int], req: Request) -> set[int]:
        """Words no value names, matched to the nearest value names by the encoder ("spooky" -> Horror)."""
        if self.encode is None:
            return set()
        vecs = self.vocab.vectors(self.encode)
        if not len(vecs):
            return set()
        phrases: list[tuple[int, int]] = []
        for a, b in zip(idx, idx[1:], strict=False):
            if b == a + 1:
                phrases.append((a, b))
        phrases += [(i, i) for i in idx]
        texts = [work[toks[a].start:toks[b].end] for a, b in phrases]
        q = np.asarray(self.encode(texts), dtype=np.float32)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-9)
        sims = q @ vecs.T
        sims[:, self._rare] = -1.0  # said exactly they still match; by meaning only common ones
        explained: set[int] = set()
        for (a, b), row in zip(phrases, sims, strict=True):
            if any(i in explained for i in range(a, b + 1)):
                continue
            said = {toks[i].key for i in range(a, b + 1)}
            best = next((int(v) for v in np.argsort(-row)[:8] if row[v] >= ENCODER_MATCH
                         and not _fragment_of(said, self.vocab.values[int(v)].key)), None)
            if best is None:
                continue
            pair = self._pair(self._primary(tuple(self.vocab.same_key(best))))
            self._add(req, pair, work, toks[a].start, inferred=True)
            explained |= set(range(a, b + 1))
        return explained

    def _language(self, text: str, toks: list[Token], residual: list[int]) -> str | None:
        """Only English is read by code: say so for other languages rather than drop their conditions silently."""
        words = [t.key for t in toks if t.key.isalpha()]
        if len(words) < 3 or len(residual) < 0.5 * len(words) or sum(w in FUNCTION for w in words) >= 0.4 * len(words):
            return None
        try:
            from langdetect import DetectorFactory, detect_langs

            DetectorFactory.seed = 0
            best = detect_langs(text)[0]
        except Exception:  # noqa: BLE001 - no language guess: treat as English
            return None
        return best.lang if best.lang != "en" and best.prob >= 0.9 else None

