"""Which catalog items a message names: quoted spans, capitalised names and phrases after "loved", "like"...

A quoted span that resolves confidently to a title is a title; any other quoted span is a description
("people call it 'slow burn'"), searched by meaning and never read as a title.
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from models.resolver import Match, TitleResolver, normalise

_START = re.compile(r"^\W*((?:The\s+|A\s+)?[A-Z][\w'’:&-]+(?:\s+(?:[A-Z0-9][\w'’:&-]*|of|the|and|a|in|on|to))+)")

TITLE_TRIGGERS = re.compile(
    r"\b(?:loved|love|liked|like|enjoyed|enjoy|adored|similar to|such as|as good as|than|fan of|watched|"
    r"seen|played|read|heard|listened to|bought|besides|hated|hate|dislike|disliked)\s+(.+?)(?=[,.;!?]|\s+(?:and|but|"
    r"or|so|because|something|anything|any|with|which|that|recommend|released|from|in the|please)\b|$)", re.I)
# the same phrases run on over a period ("Tinie Tempah feat. Kelly Rowland"); only near-exact titles count there
TITLE_TRIGGERS_ON = re.compile(TITLE_TRIGGERS.pattern.replace("(?=[,.;!?]", "(?=[,;!?]|\\.\\s*$", 1), re.I)
QUOTED = re.compile(r"(?<![\w])[\"“”'‘’]([^\"“”'‘’]{2,80})[\"“”'‘’](?![\w])")
_CAPS = re.compile(r"(?<![.!?]\s)(?<!^)\b((?:The\s+|A\s+)?[A-Z][\w'’:&-]+(?:\s+(?:[A-Z0-9][\w'’:&-]*|of|the|and|a|in|"
                   r"on|to|vs\.?))*)")
PRONOUNS = ("I", "I'm", "I've", "I'd", "I'll")


def capitalised_spans(text: str) -> list[str]:
    """Name-like spans not at a sentence start ("did The Matrix come out", "Inception or Memento")."""
    return [m.group(1) for m in _CAPS.finditer(text) if m.group(1) not in PRONOUNS]


def _has_name(span: str) -> bool:
    return any(w[:1].isupper() for w in span.split() if w not in PRONOUNS)


def quoted(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(1), m.start(), m.end()) for m in QUOTED.finditer(text or "")]


def descriptors(text: str, resolver: TitleResolver | None = None, min_conf: float = 0.86) -> list[str]:
    """Quoted words that describe rather than name: every quoted span that is not a catalog title."""
    out: list[str] = []
    for span, _s, _e in quoted(text):
        term = span.strip().lower()
        if not term or term in out:
            continue
        if resolver is not None and resolver.best(span.strip(), 0.95) is not None:
            continue
        out.append(term)
    return out


def mentioned_titles(text: str, resolver: TitleResolver, min_conf: float = 0.86) -> list[int]:
    """Titles named in free text: quoted spans and phrases after words such as "loved" or "like"."""
    return list(dict.fromkeys(iid for iid, _a, _b in mention_spans(text, resolver, min_conf)))


def mention_spans(text: str, resolver: TitleResolver, min_conf: float = 0.86) -> list[tuple[int, int, int]]:
    """(iid, start, end) of each title named in the text, the span being the words that resolved to it."""
    spans = [(x, s, False) for x, s, _e in quoted(text) if resolver.best(x.strip(), 0.95) is not None]
    # lower-case phrases after "loved", "like", ...: only exact titles count ("as a kid" is not "The Kid")
    spans += [(m.group(1), m.start(1), not _has_name(m.group(1))) for m in TITLE_TRIGGERS.finditer(text)]
    spans += [(m.group(1), m.start(1), True) for m in TITLE_TRIGGERS_ON.finditer(text) if "." in m.group(1)]
    spans += [(m.group(1), m.start(1), False) for m in re.finditer(
        r"\b([A-Z][\w'’:&-]*(?:\s+(?:[A-Z0-9][\w'’:&-]*|of|the|and|a|in|on|to))*\s+\(\d{4}\))", text)]
    spans += [(m.group(1), m.start(1), False) for m in _CAPS.finditer(text) if m.group(1) not in PRONOUNS]
    for sentence in re.finditer(r"(?:^|(?<=[.!?]\s))[^.!?]+", text):  # a name opening a sentence ("Star Wars but...")
        m = _START.match(sentence.group(0))
        if m:
            spans.append((m.group(1), sentence.start() + m.start(1), False))
    out: list[tuple[int, int, int]] = []
    for span, offset, strict in spans:
        words = [(w.group(0), offset + w.start(), offset + w.end()) for w in re.finditer(r"\S+", span)][:12]
        start = 0
        while start < len(words):  # longest confident title from each position ("Alien and Aliens")
            for cut in range(len(words), start, -1):
                a, b = words[start][1], words[cut - 1][2]
                cand = text[a:b].strip(" '\"“”‘’")
                if len(cand) < 3 or (strict and len(normalise(cand)[0]) < 5) or all(
                        w.lower() in ENGLISH_STOP_WORDS for w in cand.split()):
                    continue  # "and", "it": a catalog may hold such titles, but saying the word names nothing
                hit = resolver.best(cand, 0.95 if strict else min_conf)
                if hit is not None:
                    out.append((hit.iid, a, b))
                    start = cut
                    break
            else:
                start += 1
    out += [x for x in (_longer(text, resolver, *y) for y in dict.fromkeys(out)) if x is not None]
    # a span inside a longer one that resolved ("Baitruda" in "Drom Baitruda") is not a title of its own
    # (nor one that overlaps a longer one: "Kelly Rowland and" against "Tinie Tempah feat. Kelly Rowland")
    return [x for x in out if not any(y is not x and y[1] < x[2] and x[1] < y[2] and (y[2] - y[1]) > (x[2] - x[1])
                                      for y in out)]


def _longer(text: str, resolver: TitleResolver, iid: int, a: int, b: int) -> tuple[int, int, int] | None:
    """A title that runs on past a period ("Taio Cruz Feat. Kylie Minogue" after "Taio Cruz"): the longest
    exact title made by adding up to six following words, if there is one."""
    words = list(re.finditer(r"\S+", text[b:b + 80]))[:6]
    best = None
    size = len(normalise(text[a:b])[0])
    seen: dict[tuple[str, int | None], Match | None] = {}  # the resolver answers by the normalised key alone
    for w in words:
        end = b + w.end()
        cand = text[a:end].rstrip(" ,;!?")
        hit = None
        for form in (cand, cand.rstrip(".")):
            key = normalise(form)  # "&" or a trailing period adds nothing to the key: no second look-up
            if key not in seen:
                seen[key] = resolver.best(form, 0.95)
            hit = seen[key]
            if hit is not None:
                break
        if hit is not None and hit.iid != iid and len(normalise(resolver.titles[hit.iid])[0]) > size:
            best = (hit.iid, a, a + len(cand))
    return best
