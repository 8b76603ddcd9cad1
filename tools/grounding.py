"""Grounding check in code: a reply may name only items that the tools returned this turn.

Title-like spans (list lines, bold or quoted text, "Title (1999)") are matched against the allowed
items; a span that is another catalog item, or a made-up "Title (year)", is an invention. Lines with
inventions are dropped; if nothing grounded is left, a plain templated reply replaces the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from models.resolver import TitleResolver, normalise

_LIST_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(?:\*\*)?\s*(.+?)\s*(?:\*\*)?\s*(?:(?:[-–—:]|\bby\b)\s.*)?$")
_BOLD = re.compile(r"\*\*([^*]{2,120})\*\*")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,120})[\"”]")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b((?:The\s+|A\s+)?[A-Z][\w'’:&-]+(?:\s+(?:[A-Z0-9][\w'’:&-]*|of|the|and|in|on|to))+)")
_WITH_YEAR = re.compile(r"((?:[A-Z0-9][\w'’:&!?.,-]*\s+){0,8}[A-Z0-9][\w'’:&!?.,-]*\s*\((?:19|20)\d{2}\))")


@dataclass
class Grounded:
    text: str
    invented: list[str] = field(default_factory=list)
    named: list[int] = field(default_factory=list)  # allowed items the reply mentions


def _matches(span: str, allowed: dict[int, str]) -> int | None:
    key, _ = normalise(span)
    if len(key) < 2:
        return None
    best, best_score = None, 0.0
    for iid, title in allowed.items():
        tkey, _ = normalise(title)
        score = max(fuzz.ratio(key, tkey), 100.0 if tkey and (tkey == key or (len(tkey) > 3 and tkey in key)) else 0.0)
        if score > best_score:
            best, best_score = iid, score
    return best if best_score >= 85 else None


def _spans(line: str) -> list[tuple[str, bool]]:
    """(span, strong) pairs: strong spans are title-shaped enough to be inventions if unknown."""
    out: list[tuple[str, bool]] = []
    m = _LIST_LINE.match(line)
    if m:
        out.append((m.group(1).strip(" *\"“”"), False))
    out += [(s.strip(), False) for s in _BOLD.findall(line)]
    out += [(s.strip(), False) for s in _QUOTED.findall(line)]
    out += [(re.sub(r"^\d+[.)]\s*", "", s.strip()), True) for s in _WITH_YEAR.findall(line)]
    out += [(s.strip(), False) for s in _NAME.findall(line) if len(s.split()) >= 2]
    return out


def check_reply(text: str, allowed: dict[int, str], resolver: TitleResolver) -> Grounded:
    """Drop lines that name items outside `allowed` ({iid: title}); report what was dropped."""
    result = Grounded(text)
    kept_lines = []
    # exact titles (with or without their year) are masked first, so their parts are never re-read as names
    variants = sorted(((t, i) for i, title in allowed.items() for t in {title, title.rsplit(" (", 1)[0]} if len(t) > 2),
                      key=lambda x: -len(x[0]))
    for line in text.splitlines():
        bad: list[str] = []
        masked = line
        for variant, iid in variants:
            pattern = re.compile(re.escape(variant), re.I)
            if pattern.search(masked):
                masked = pattern.sub(" ITEM ", masked)
                if iid not in result.named:
                    result.named.append(iid)
        for span, strong in _spans(masked):
            if span.strip(" *\"") in ("ITEM", "") or re.fullmatch(r"[\s\W]*ITEM[\s\W]*", span):
                continue
            hit = _matches(span, allowed)
            if hit is not None:
                if hit not in result.named:
                    result.named.append(hit)
                continue
            real = resolver.best(span, 0.9)
            if real is not None and real.iid not in allowed:
                bad.append(real.title)
            elif strong:
                bad.append(span)
        if bad:
            result.invented.extend(b for b in bad if b not in result.invented)
        else:
            kept_lines.append(line)
    # titles mentioned in running text without markup: catch exact catalog titles that were not allowed
    for iid, title in allowed.items():
        if iid not in result.named and normalise(title)[0] and normalise(title)[0] in normalise(text)[0]:
            result.named.append(iid)
    result.text = "\n".join(kept_lines).strip()
    return result


def template_reply(items: list[tuple[str, str]], intro: str) -> str:
    """A reply built only from tool output: used when the writer's text cannot be trusted."""
    lines = [intro]
    lines += [f"{i}. {title}" + (f" ({why})" if why else "") for i, (title, why) in enumerate(items, 1)]
    return "\n".join(lines)
