"""A conversation's conditions: each message read once, folded oldest first since the last fresh start.

Values accumulate (a later "no X" beats an earlier "X"); a range on a column narrows the earlier one, or
replaces it when the two are disjoint. Each condition keeps its age in messages (0 = the last one), so the
soft ranking can weigh what was said last above what was said five messages ago.
"""

from __future__ import annotations

from dataclasses import replace

from graph.understand.quantities import Range
from graph.understand.reading import Reader, Request
from graph.understand.words import FRESH_START

WINDOW = 6  # user messages that still count


def _merge_range(acc: list[Range], new: list[Range]) -> list[Range]:
    out = [r for r in acc if not (r.negated and any(n.negated and n.col == r.col for n in new))]
    out += [r for r in new if r.negated]
    new = [r for r in new if not r.negated]
    for col in dict.fromkeys(r.col for r in new):
        mine = [r for r in new if r.col == col]
        old = [r for r in out if r.col == col and not r.negated]
        lo = max((r.lo for r in old + mine if r.lo is not None), default=None)
        hi = min((r.hi for r in old + mine if r.hi is not None), default=None)
        out = [r for r in out if r.col != col or r.negated]
        if lo is not None and hi is not None and lo > hi:  # disjoint: the new statement replaces the old
            out += mine
        else:
            out += old + mine
    return out


def _state(p: tuple[str, str], into: list[tuple[str, str]], out_of: list[tuple[str, str]], sign: str,
           added: list[str]) -> None:
    """The later statement wins: "X" after "no X" (or the reverse) moves the value across."""
    if p in out_of:
        out_of.remove(p)
    if p not in into:
        into.append(p)
        added.append(f"{sign}{p[0]}={p[1]}")


def merge_into(acc: Request, req: Request, ages: dict[str, int]) -> list[str]:
    """Fold one message into what was said before; returns the labels it added."""
    added: list[str] = []
    for p in req.include:
        _state(p, acc.include, acc.exclude, "+", added)
        ages[f"+{p[0]}={p[1]}"] = 0
        if p in req.inferred and p not in acc.inferred:
            acc.inferred.append(p)
        if p in req.strong and p not in acc.strong:
            acc.strong.append(p)
    for p in req.exclude:
        _state(p, acc.exclude, acc.include, "-", added)
    if req.ranges:
        acc.ranges = _merge_range(acc.ranges, req.ranges)
        for r in req.ranges:
            ages[f"range:{r.col}"] = 0
            added.append(f"{r.col}: {r.label}")
    acc.titles = [i for i in acc.titles if i not in req.avoid_titles] + [i for i in req.titles if i not in acc.titles]
    acc.avoid_titles = [i for i in acc.avoid_titles if i not in req.titles] + [
        i for i in req.avoid_titles if i not in acc.avoid_titles]
    acc.terms += [t for t in req.terms if t not in acc.terms]
    acc.n = req.n or acc.n
    return added


def read_conversation(reader: Reader, user_texts: list[str], window: int = WINDOW) -> tuple[Request, dict[str, int]]:
    """The last message's reading with the conditions of the earlier ones merged in, and each condition's age."""
    texts = user_texts[-window:] if user_texts else [""]
    begin = max((k for k, t in enumerate(texts) if FRESH_START.search(t)), default=0)
    readings = [reader.read_cached(t) for t in texts[begin:]]
    last = readings[-1]
    acc = Request()
    ages: dict[str, int] = {}
    for req in readings:
        for key in ages:
            ages[key] += 1
        merge_into(acc, req, ages)
    # the last message's own facts (questions, small talk, language, residual words) stand as read
    merged = replace(last, include=acc.include, exclude=acc.exclude, inferred=acc.inferred, strong=acc.strong,
                     ranges=acc.ranges,
                     terms=acc.terms, n=last.n or acc.n,
                     titles=list(last.titles) + [i for i in reversed(acc.titles) if i not in last.titles],
                     avoid_titles=acc.avoid_titles)
    return merged, ages
