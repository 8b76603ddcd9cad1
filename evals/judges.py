"""Hit judges and the simulator's title-leak guard.

- lenient (InteRecAgent): rapidfuzz partial_ratio(target title, agent message) > 80, case-insensitive.
  Titles are tried as written ("Matrix, The (1999)"), with the article in front ("The Matrix (1999)") and
  without the year ("The Matrix"), since replies rarely copy catalog spelling. A form shorter than
  `min_fuzzy_len` characters must appear as whole words with its year ("Up (2009)"): partial_ratio of
  "Up" is 100 against any text that contains "up". It stays lenient: a sequel ("Toy Story 2" for "Toy Story 3") can count as a hit,
  which is why the strict judge exists.
- strict: the target's iid is among the items the system actually recommended (state["items"]).
- leak guard: the simulator must never say the title; partial_ratio(title, reply) >= 60 is a leak, on the
  title's name without article and year; names under 8 characters must be spelled by the reply's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from models.resolver import normalise, split_year

LENIENT_THRESHOLD = 80.0  # hit when partial_ratio > this
LEAK_THRESHOLD = 60.0  # leak when partial_ratio >= this
_ARTICLE_AT_END = re.compile(r"^(.*),\s*(the|a|an|le|la|les|il|el|das|der|die)$", re.I)
_ALT_TITLE = re.compile(r"\s*\((?:a\.k\.a\.|aka)?[^)]*\)\s*$", re.I)


def _squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w']+", " ", text.lower()).split())


def title_forms(title: str) -> list[str]:
    """Ways a reply may write a catalog title: as is, article first, without the year (lower-case)."""
    base, year = split_year(title)
    forms = [title]
    base2 = _ALT_TITLE.sub("", base).strip() or base  # "Seven (a.k.a. Se7en)" -> "Seven"
    for b in dict.fromkeys([base, base2]):
        m = _ARTICLE_AT_END.match(b)
        front = f"{m.group(2)} {m.group(1)}" if m else b
        for f in dict.fromkeys([b, front]):
            if year:
                forms.append(f"{f} ({year})")
            forms.append(f)
    out: list[str] = []
    for f in forms:
        f = f.strip().lower()
        if f and f not in out:
            out.append(f)
    return out


def _word_match(form: str, text: str) -> bool:
    sq = _squash(form)
    return bool(sq) and re.search(rf"(?<!\w){re.escape(sq)}(?!\w)", _squash(text)) is not None


def title_score(title: str, text: str, min_fuzzy_len: int = 5) -> float:
    """Best partial_ratio of any form of `title` in `text` (0..100).

    A title whose name (without year) is shorter than `min_fuzzy_len` scores 100 only when the name and its
    year appear as whole words ("Up (2009)"), else 0: fuzzy scores of very short strings say nothing.
    """
    low = (text or "").lower()
    if not low.strip():
        return 0.0
    base, year = split_year(title)
    if len(_squash(base)) < min_fuzzy_len:  # "Up (2009)": whole words, with the year when it has one
        forms = [f for f in title_forms(title) if not year or str(year) in f]
        return 100.0 if any(_word_match(f, low) for f in forms) else 0.0
    return max(float(fuzz.partial_ratio(form, low)) for form in title_forms(title))


def lenient_hit(message: str, title: str, threshold: float = LENIENT_THRESHOLD) -> bool:
    return title_score(title, message) > threshold


def strict_hit(items: Sequence[int | None], target: int, k: int | None = None) -> bool:
    ranked = list(items)[:k] if k else list(items)
    return target in ranked


def leaks(text: str, title: str, threshold: float = LEAK_THRESHOLD, min_fuzzy_len: int = 8) -> bool:
    """Does a simulator reply give the hidden title away?

    The title's name (no year, no article, no punctuation) against the reply: partial_ratio >= threshold.
    Names shorter than `min_fuzzy_len` characters ("Heat", "Matrix") leak only when a run of the reply's
    words spells them (ratio >= 90), because partial_ratio of a short string matches almost any text.
    """
    key, _ = normalise(title)
    if not key:
        return False
    words = _squash(text).split()
    if len(key) < min_fuzzy_len:
        n = len(key.split())
        windows = {" ".join(words[i : i + m]) for m in {max(n - 1, 1), n, n + 1} for i in range(len(words))}
        return any(fuzz.ratio(key, w) >= 90 for w in windows if w)
    return float(fuzz.partial_ratio(key, " ".join(words))) >= threshold
