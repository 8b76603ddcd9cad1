"""Deterministic reading of a request: counts, year ranges, category values, negations, named titles.

This is where intelligence moves out of the LLM: a 1.5B planner misreads "before 1980" or forgets
"no horror", so the plan is checked against these hints in code and repaired (see graph/validate.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from models.item_table import TableSchema
from models.resolver import TitleResolver, normalise

NUM_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
             "ten": 10, "a couple of": 2, "a couple": 2, "a few": 3, "several": 5, "a dozen": 12}
DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                "seventies": 1970, "eighties": 1980, "nineties": 1990}
# plain-English forms of common category values; applied only when the target value exists in the domain
SYNONYMS = {"romantic": "romance", "romcom": "romance", "animated": "animation", "cartoon": "animation",
            "scary": "horror", "funny": "comedy", "comedic": "comedy", "kids": "children", "kid": "children",
            "family": "children", "science fiction": "sci-fi", "scifi": "sci-fi", "sci fi": "sci-fi",
            "space": "sci-fi", "detective": "mystery", "historical": "drama", "documentaries": "documentary",
            "westerns": "western", "musicals": "musical", "thrillers": "thriller", "war movies": "war",
            "war films": "war", "action-packed": "action", "noir": "film-noir", "fantastical": "fantasy",
            "suspense": "thriller", "crime": "crime", "criminal": "crime", "adventurous": "adventure"}
NEGATORS = r"(?:no|not|without|except|hate|hates|hated|dislike|dislikes|disliked|didn't like|did not like|can't stand|avoid|none of|anything but|nothing|don't want|do not want|don't like|do not like|never|isn't|aren't|not a|not an|but no|minus)"
REC_WORDS = re.compile(r"\b(recommend|suggest|looking for|look for|find|want|show me|give me|something|any good|"
                       r"what should i|in the mood|similar|like|watch|play|buy|read|listen|options|ideas|more)\b", re.I)
TITLE_TRIGGERS = re.compile(
    r"\b(?:loved|love|liked|like|enjoyed|enjoy|adored|similar to|such as|as good as|than|fan of|watched|"
    r"seen|played|read|besides|hated|hate|dislike|disliked)\s+(.+?)(?=[,.;!?]|\s+(?:and|but|or|so|because|"
    r"something|anything|any|with|which|that|recommend|released|from|in the|please)\b|$)", re.I)


CHIT_CHAT = {
    "identity": re.compile(r"\b(who are you|what are you|what can you do|how do(?:es)? (?:this|it|you) work|help me use)\b", re.I),
    "thanks": re.compile(r"^\W*(thanks?|thank you|thx|cheers|bye|goodbye|see you|that'?s all|great,? thanks?)\b", re.I),
    "greeting": re.compile(r"^\W*(hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|how are you|yo)\b[\W]*"
                           r"(?:there|again|friend|bot)?[\W]*$", re.I),
}


@dataclass
class Hints:
    n: int | None = None
    year_min: int | None = None
    year_max: int | None = None
    include: list[tuple[str, str]] = field(default_factory=list)  # (column, value)
    exclude: list[tuple[str, str]] = field(default_factory=list)
    titles: list[int] = field(default_factory=list)  # items the message names approvingly (resolved)
    avoid_titles: list[int] = field(default_factory=list)  # items named after "not", "hate", ...
    wants_recs: bool = False
    chit_chat: str | None = None  # greeting | thanks | identity: answered without tools
    terms: list[str] = field(default_factory=list)  # quoted descriptions ("people call it 'atmospheric'")

    @property
    def has_conditions(self) -> bool:
        return bool(self.include or self.exclude or self.year_min is not None or self.year_max is not None)


def year_column(schema: TableSchema) -> str | None:
    for c in schema.columns:
        if c.kind == "number" and c.min is not None and "year" in c.name.lower() and 1000 <= c.min <= 2100:
            return c.name
    return None


def _years(text: str, hints: Hints) -> str:
    t = text
    m = re.search(r"\bbetween\s+((?:19|20)\d{2})\s+(?:and|-|to)\s+((?:19|20)\d{2})\b", t)
    if m:
        hints.year_min, hints.year_max = sorted((int(m.group(1)), int(m.group(2))))
        return t.replace(m.group(0), " ")
    m = re.search(r"\b((?:19|20)\d{2})\s*(?:-|to|–)\s*((?:19|20)\d{2})\b", t)
    if m:
        hints.year_min, hints.year_max = sorted((int(m.group(1)), int(m.group(2))))
        return t.replace(m.group(0), " ")
    m = re.search(r"(?:\b(?:the\s+)?(?:early|late|mid)[\s-]+)?\b((?:19|20)?(\d)0)'?s\b|'(\d)0s\b", t)
    if m and (m.group(1) or m.group(3)):
        if m.group(3):
            d = int(m.group(3))
            start = (1900 if d >= 2 else 2000) + d * 10
        else:
            raw = m.group(1)
            start = int(raw) if len(raw) == 4 else (1900 if int(raw[0]) >= 2 else 2000) + int(raw)
        hints.year_min, hints.year_max = start, start + 9
        span = m.group(0).lower()
        if "early" in span:
            hints.year_max = start + 4
        elif "late" in span:
            hints.year_min = start + 5
        t = t.replace(m.group(0), " ")
        exact = re.search(r"\b(?:in|from|of|made in|released in|year|out in)\s+((?:19|20)\d{2})\b", t, re.I)
        if exact and hints.year_min <= int(exact.group(1)) <= hints.year_max:  # "a 90s movie, made in 1993"
            hints.year_min = hints.year_max = int(exact.group(1))
        return t
    for word, start in DECADE_WORDS.items():
        if re.search(rf"\b{word}\b", t, re.I):
            hints.year_min, hints.year_max = start, start + 9
            return t
    after = re.search(r"\b(?:after|since|post|newer than|later than|from after|released after|>\s*)\s*((?:19|20)\d{2})\b", t, re.I)
    before = re.search(r"\b(?:before|prior to|older than|earlier than|pre|until|up to|<\s*)[\s-]*((?:19|20)\d{2})\b", t, re.I)
    if after:
        y = int(after.group(1))
        hints.year_min = y if re.search(r"since|from", after.group(0), re.I) else y + 1
    if before:
        y = int(before.group(1))
        hints.year_max = y if re.search(r"until|up to", before.group(0), re.I) else y - 1
    if not after and not before:
        m = re.search(r"\b(?:in|from|of|released in|made in|year)\s+((?:19|20)\d{2})\b", t, re.I)
        if m:
            hints.year_min = hints.year_max = int(m.group(1))
    return t


def _category_forms(value: str) -> list[str]:
    v = value.lower()
    forms = {v, v + "s", v + "es"}
    if v.endswith("y"):
        forms.add(v[:-1] + "ies")
    return sorted(forms, key=len, reverse=True)


def _categories(text: str, schema: TableSchema, hints: Hints) -> None:
    low = " " + text.lower() + " "
    for word, target in SYNONYMS.items():
        low = re.sub(rf"\b{re.escape(word)}s?\b", target, low)
    for col in schema.columns:
        if col.kind not in ("list", "text") or not col.values or len(col.values) > 200:
            continue
        for value in col.values[:200]:
            for form in _category_forms(value):
                m = re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", low)
                if not m:
                    continue
                before = low[max(0, m.start() - 40) : m.start()]
                negated = re.search(rf"\b{NEGATORS}\b(?:\s+\w+){{0,3}}\s*$", before) and not re.search(
                    r"\bbut\s+(?:a|an|some|more)?\s*$", before)
                pair = (col.name, value)
                bucket = hints.exclude if negated else hints.include
                if pair not in hints.include and pair not in hints.exclude:
                    bucket.append(pair)
                break


def _category_words(schema: TableSchema) -> set[str]:
    words = {"the", "a", "and", "of", "movie", "movies", "film", "films"}
    for col in schema.columns:
        if col.kind in ("list", "text") and len(col.values) <= 200:
            for v in col.values:
                words.update(f for f in _category_forms(v))
    return words | set(SYNONYMS)


def _count(text: str) -> int | None:
    low = text.lower()
    m = re.search(r"\b(?:top|recommend|suggest|give me|show me|list|find|need|want|get)\s+(?:me\s+)?(\d{1,2})\b", low)
    m = m or re.search(r"\b(\d{1,2})\s+(?:\w+\s+){0,2}?(?:movies|films|items|games|books|songs|products|shows|ones|"
                       r"recommendations|suggestions|options|titles|[a-z]+s)\b", low)
    if m and 1 <= int(m.group(1)) <= 20:
        return int(m.group(1))
    nouns = r"(?:movie|film|item|game|book|song|product|show|title|pick|recommendation|suggestion|option|idea|one)s?"
    for word, n in NUM_WORDS.items():
        if re.search(rf"\b{word}\s+(?:[\w-]+\s+){{0,2}}?{nouns}\b", low) or re.search(
                rf"\b{word}\s+(?:[\w-]+\s+){{0,2}}?[a-z]{{3,}}s\b(?<!kids)", low):
            return n
    return None


_CAPS = re.compile(r"(?<![.!?]\s)(?<!^)\b((?:The\s+|A\s+)?[A-Z][\w'’:&-]+(?:\s+(?:[A-Z0-9][\w'’:&-]*|of|the|and|a|in|on|to|vs\.?))*)")


def capitalised_spans(text: str) -> list[str]:
    """Name-like spans not at a sentence start ("did The Matrix come out", "Inception or Memento")."""
    return [m.group(1) for m in _CAPS.finditer(text) if m.group(1) not in ("I", "I'm", "I've", "I'd")]


def _has_name(span: str) -> bool:
    return any(w[:1].isupper() for w in span.split() if w not in ("I", "I'm", "I've", "I'd", "I'll"))


QUOTED = re.compile(r"(?<![A-Za-z])[\"“”']([^\"“”']{2,80})[\"“”'](?![A-Za-z])")
DESCRIPTOR_BEFORE = re.compile(r"(?:describ\w*|tagged|tags?|labell?ed|keywords?|being|feels?|vibes?|known for|"
                               r"about|mood|themes?|called it|calls? it)\W*(?:it|them)?\s*(?:as|like|is|was)?\s*(?:a|an)?\s*$",
                               re.I)
DESCRIPTOR_AFTER = re.compile(r"^\s*(?:feel|vibe|mood|tone|atmosphere|kind of|type of|sort of)\b", re.I)


def descriptors(text: str) -> list[str]:
    """Quoted words that describe the item rather than name it: "people describe it as 'golf'"."""
    out = []
    for m in QUOTED.finditer(text or ""):
        before, after = text[max(0, m.start() - 40) : m.start()], text[m.end() : m.end() + 20]
        if DESCRIPTOR_BEFORE.search(before) or DESCRIPTOR_AFTER.search(after):
            term = m.group(1).strip().lower()
            if term and term not in out:
                out.append(term)
    return out


def mentioned_titles(text: str, resolver: TitleResolver, min_conf: float = 0.86) -> list[int]:
    """Titles named in free text: quoted spans and phrases after words such as "loved" or "like"."""
    described = set(descriptors(text))
    spans = [(x, False) for x in (m.group(1) for m in QUOTED.finditer(text)) if x.strip().lower() not in described]
    # lower-case phrases after "loved", "like", ...: only exact titles count ("as a kid" is not "The Kid")
    spans += [(m.group(1), not _has_name(m.group(1))) for m in TITLE_TRIGGERS.finditer(text)]
    spans += [(x, False) for x in re.findall(
        r"\b([A-Z][\w'’:&-]*(?:\s+(?:[A-Z0-9][\w'’:&-]*|of|the|and|a|in|on|to))*\s+\(\d{4}\))", text)]
    spans += [(x, False) for x in capitalised_spans(text)]
    out: list[int] = []
    for span, strict in spans:
        span = span.strip(" '\"")
        words = span.split()
        if not words or len(span) < 3:
            continue
        words = words[:12]
        start = 0
        while start < len(words):  # longest confident title from each position ("Alien and Aliens")
            for cut in range(len(words), start, -1):
                cand = " ".join(words[start:cut])
                if len(cand) < 3 or (strict and len(normalise(cand)[0]) < 5):
                    continue
                m = resolver.best(cand, 0.95 if strict else min_conf)
                if m is not None:
                    if m.iid not in out:
                        out.append(m.iid)
                    start = cut
                    break
            else:
                start += 1
    return out


def read_hints(text: str, schema: TableSchema, resolver: TitleResolver | None = None) -> Hints:
    hints = Hints(wants_recs=bool(REC_WORDS.search(text or "")))
    text = (text or "")[:2000]
    hints.terms = descriptors(text)
    hints.titles = mentioned_titles(text, resolver) if resolver is not None else []
    low = text.lower()
    for iid in list(hints.titles):
        key = " ".join(resolver.titles[iid].rsplit(" (", 1)[0].lower().split()[:2]) if resolver else ""
        pos = low.find(key) if key else -1
        if pos > 0 and re.search(rf"\b{NEGATORS}\b(?:\s+\w+){{0,2}}\s*$", low[max(0, pos - 30) : pos]):
            hints.titles.remove(iid)
            hints.avoid_titles.append(iid)
    stripped = text
    for term in hints.terms:  # a description is not a category statement ("'war hero'" is not the genre War)
        stripped = re.sub(rf"[\"“”']{re.escape(term)}[\"“”']", " ", stripped, flags=re.I)
    if resolver is not None:
        for iid in hints.titles + hints.avoid_titles:  # keep "Star Wars" from reading as the genre "War"
            key = resolver.titles[iid].rsplit(" (", 1)[0]
            stripped = re.sub(re.escape(key), " ", stripped, flags=re.I)
    if year_column(schema):
        stripped = _years(stripped, hints)
    for span in re.findall(r"\b([A-Z][\w'’:&-]+(?:\s+[A-Z0-9][\w'’:&-]*)+)", stripped):  # "Star Wars" is a name
        if not all(w.lower() in _category_words(schema) for w in span.split()):
            stripped = stripped.replace(span, " ")
    _categories(stripped, schema, hints)
    question = re.match(r"^\s*(how many|how much|what|when|who|which|where|is|are|does|did|was|were|tell me about)\b",
                        text, re.I) and not re.search(r"\b(recommend|suggest|should i|any good)\b", text, re.I)
    hints.wants_recs = not question
    if not hints.has_conditions and not hints.titles and not hints.terms and len(text) < 80:
        for kind, pattern in CHIT_CHAT.items():
            if pattern.search(text):
                hints.chit_chat, hints.wants_recs = kind, False
                break
    hints.n = _count(text)
    return hints


FRESH_START = re.compile(r"\b(something (?:completely |totally )?(?:different|else)|instead|forget (?:that|it|about)|"
                         r"new request|start over|another (?:kind|type))\b", re.I)


class Said(Protocol):
    """What merge_conditions accumulates into: Hints, or the keyword baseline's Conditions."""

    include: list[tuple[str, str]]
    exclude: list[tuple[str, str]]
    year_min: int | None
    year_max: int | None


def merge_conditions(acc: Said, h: Hints) -> list[str]:
    """Fold one message's conditions into what was said before: categories accumulate (a later "no X" beats
    an earlier "X"); a year statement narrows the earlier range, a disjoint one replaces it. Returns the
    labels of what this message added ("+col=value", "-col=value", "year"), in that order."""
    added: list[str] = []
    for p in h.include:
        if p in acc.exclude:
            acc.exclude.remove(p)
        if p not in acc.include:
            acc.include.append(p)
            added.append(f"+{p[0]}={p[1]}")
    for p in h.exclude:
        if p in acc.include:
            acc.include.remove(p)
        if p not in acc.exclude:
            acc.exclude.append(p)
            added.append(f"-{p[0]}={p[1]}")
    if h.year_min is not None or h.year_max is not None:
        lo = max(x for x in (acc.year_min, h.year_min, -10**9) if x is not None)
        hi = min(x for x in (acc.year_max, h.year_max, 10**9) if x is not None)
        if lo > hi:
            lo = h.year_min if h.year_min is not None else -10**9
            hi = h.year_max if h.year_max is not None else 10**9
        acc.year_min = lo if lo > -10**9 else None
        acc.year_max = hi if hi < 10**9 else None
        added.append("year")
    return added


def conversation_hints(user_texts: list[str], schema: TableSchema, resolver: TitleResolver | None = None,
                       window: int = 6) -> Hints:
    """Hints of the last message merged with the conditions of the previous few, oldest first, since the
    last fresh start: categories accumulate (a later "no X" beats an earlier "X"), years narrow."""
    last = read_hints(user_texts[-1] if user_texts else "", schema, resolver)
    if len(user_texts) < 2 or FRESH_START.search(user_texts[-1]):
        return last
    earlier = user_texts[-window:-1]
    begin = max((k for k, t in enumerate(earlier) if FRESH_START.search(t)), default=0)
    acc = Hints()
    titles: list[int] = []
    avoid: list[int] = []
    for h in [read_hints(t, schema, resolver) for t in earlier[begin:]] + [last]:
        merge_conditions(acc, h)
        titles = [i for i in titles if i not in h.avoid_titles] + [i for i in h.titles if i not in titles]
        avoid = [i for i in avoid if i not in h.titles] + [i for i in h.avoid_titles if i not in avoid]
        acc.n = h.n or acc.n
        acc.terms += [t for t in h.terms if t not in acc.terms]
    last.terms = acc.terms
    last.include, last.exclude = acc.include, acc.exclude
    last.year_min, last.year_max = acc.year_min, acc.year_max
    last.titles = [i for i in last.titles] + [i for i in reversed(titles) if i not in last.titles]
    last.avoid_titles = avoid
    last.n = last.n or acc.n
    return last


STOP = frozenset(re.findall(r"\S+", """a an the and or but so to of in on at for with from by about as is are was were be been it its this that
these those i i'm im me my we our you your he she they them please some any something anything one ones more
other else also really very just maybe perhaps kind sort type like likes liked love loved lovely enjoy enjoyed
want wanted need looking look find show give get recommend recommendation recommendations suggest suggestion
suggestions watch see similar released release made came out year years era decade new old good great nice best
top few couple what which should could would can will next now tonight today thanks thank hi hello hey not no
without except than then too much many lot lots all every only do does did have has had movie movies film films
item items title titles hmm quite people describe describes described keep looking think remember recall being
feel mix help mood again still right believe precisely options sorry ideas idea try fit fits wrong close nope
yeah yes okay well sure guess actually exactly tagged tag tags remind reminds there here"""))


def residual_words(text: str, hints: Hints, schema: TableSchema, resolver: TitleResolver | None) -> list[str]:
    """Content words the hints did not explain: when there are none, the request is fully understood."""
    low = text.lower()
    if resolver is not None:
        for iid in hints.titles + hints.avoid_titles:
            for part in (resolver.titles[iid].rsplit(" (", 1)[0], normalise(resolver.titles[iid])[0]):
                low = low.replace(part.lower(), " ")
    for word in SYNONYMS:
        low = re.sub(rf"\b{re.escape(word)}s?\b", " ", low)
    for col in schema.columns:
        if col.kind in ("list", "text") and col.values and len(col.values) <= 200:
            for value in col.values:
                for form in _category_forms(value):
                    low = re.sub(rf"(?<![\w-]){re.escape(form)}(?![\w-])", " ", low)
    low = re.sub(r"\b(?:19|20)?\d0'?s\b|\b\d+\b|'\d0s", " ", low)
    for w in list(NUM_WORDS) + list(DECADE_WORDS) + ["early", "late", "mid", "since", "after", "before", "prior",
                                                     "older", "newer", "later", "earlier", "between", "until"]:
        low = re.sub(rf"\b{w}\b", " ", low)
    low = re.sub(rf"\b{NEGATORS}\b", " ", low)
    for term in hints.terms:
        low = re.sub(rf"[\"“”']?{re.escape(term)}[\"“”']?", " ", low)
    words = [w.strip("'-") for w in re.findall(r"[a-z][a-z'-]+", low)]
    return [w for w in words if w not in STOP and len(w) > 2]
