"""Check and repair an LLM plan in code before any tool runs.

- titles the user never mentioned are dropped (small models invent seed titles);
- what code read from the user's words (values, ranges, exclusions) is the condition set: the LLM's filter
  conditions are typed, snapped to catalog values and kept only when grounded; one soft match step replaces
  any hard filter (tools/match.py);
- a recommendation plan always ends with rank then map; steps are ordered filter -> similarity -> rank;
- the user's stored profile feeds rank's prefer / avoid.
Every change is written to `notes`, which the critic and the trace show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from graph.understand import Request
from models.domain import Domain
from models.resolver import normalise
from models.vocabulary import key_of
from tools.common import MIN_CONFIDENCE

ORDER = {"store": 0, "lookup": 0, "sql": 0, "filter": 1, "match": 1, "retrieve": 2, "similar": 2, "rank": 3, "map": 4}
TITLE_FIELDS = {"store": ["titles"], "lookup": ["titles"], "similar": ["titles"], "rank": ["prefer", "avoid"]}
CANDIDATE_TOOLS = {"store", "filter", "match", "retrieve", "similar", "rank"}


@dataclass(frozen=True)
class Reading:
    """What code read of the conversation, read once per turn and handed to every repair step."""

    request: Request  # this message, with the conditions of earlier turns folded in (graph/understand)
    ages: dict[str, int]  # "+col=value" -> how many turns ago the user said it
    conversation: list[str]  # the user's messages, oldest first; the last one is this turn's
    profile: dict[str, list[str]]  # the stored like / dislike / expect facets
    message: str  # this turn's message


@dataclass(frozen=True)
class Proposal:
    """The LLM's plan before repair (empty when code plans alone)."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    reply: str | None = None
    like: list[str] = field(default_factory=list)
    dislike: list[str] = field(default_factory=list)


@dataclass
class Repaired:
    steps: list[dict[str, Any]]
    reply: str | None
    like: list[str]
    dislike: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def is_direct(self) -> bool:
        return not self.steps


def mentioned(title: str, said: str) -> bool:
    """Did the user (or their profile) mention this title? Fuzzy, on normalised keys."""
    key, _ = normalise(title)
    if len(key) < 3:
        return False
    return fuzz.partial_ratio(key, said) >= 88 if len(key) >= 5 else f" {key} " in f" {said} "


def _said_text(conversation: list[str], profile: dict[str, list[str]]) -> str:
    text = " ".join(conversation + profile.get("like", []) + profile.get("dislike", []))
    return " ".join(normalise(w)[0] for w in [text])


def repair_plan(proposal: Proposal, reading: Reading, domain: Domain) -> Repaired:
    hints, ages, conversation, profile = reading.request, reading.ages, reading.conversation, reading.profile
    message = reading.message
    out = Repaired([dict(s) for s in proposal.steps], (proposal.reply or "").strip() or None, list(proposal.like),
                   list(proposal.dislike))
    said = _said_text(conversation, profile)
    titles = domain.titles
    # 1. invented titles
    for step in out.steps:
        for fld in TITLE_FIELDS.get(step["tool"], []):
            kept = [t for t in step.get(fld) or [] if mentioned(t, said)]
            dropped = [t for t in step.get(fld) or [] if t not in kept]
            if dropped:
                out.notes.append(f"{step['tool']}: dropped title(s) the user never mentioned: {', '.join(dropped)}")
            step[fld] = kept
    out.like = [x for x in out.like if mentioned(x, said)]
    out.dislike = [x for x in out.dislike if mentioned(x, said)]
    # similarity seeds the catalog has no item for (a category the user said, say) would fail the step, and the
    # critic would send the plan back to the LLM for a second call: code drops them here
    for step in [s for s in out.steps if s["tool"] == "similar"]:
        unknown = [t for t in step.get("titles") or [] if domain.resolver.best(t, MIN_CONFIDENCE) is None]
        if unknown:
            out.notes.append(f"similar: dropped seed(s) that are no item in the catalog: {', '.join(unknown)}")
            step["titles"] = [t for t in step["titles"] if t not in unknown]
    before = len(out.steps)
    out.steps = [s for s in out.steps if not (s["tool"] in ("store", "lookup", "similar") and not s.get("titles"))]
    if len(out.steps) < before:
        out.notes.append("removed steps left without any real title")
    named = [titles[i] for i in hints.titles]
    if hints.chit_chat:  # small talk never needs tools, whatever the planner thought
        if out.steps:
            out.notes.append("small talk: answered without tools")
        out.steps = []
        return out
    # 2. questions about named items need a look-up
    tools = {s["tool"] for s in out.steps}
    if named and not hints.wants_recs and not tools & {"lookup", "sql"} and not (out.reply and not hints.titles):
        out.steps.insert(0, {"tool": "lookup", "titles": named})
        out.notes.append(f"added a look-up of {', '.join(named)}")
    if named and not hints.wants_recs and tools & CANDIDATE_TOOLS:  # a question about items, not a request
        keep = [s for s in out.steps if s["tool"] == "lookup" or (s["tool"] == "sql" and any(
            mentioned(normalise(t)[0], normalise(s.get("query", ""))[0]) for t in named))]
        if not any(s["tool"] == "lookup" for s in keep):
            keep.insert(0, {"tool": "lookup", "titles": named})
        out.notes.append("a question about named items: answered by look-up, not by recommendations")
        out.steps = keep
        tools = {s["tool"] for s in out.steps}
    # 3. recommendation requests: conditions from the request, seeds, rank, map
    # words code could not read alone do not make a recommendation request: the LLM's plan decides those
    recommending = bool(tools & CANDIDATE_TOOLS) or (hints.wants_recs and (
        hints.has_conditions or bool(named) or bool(hints.terms)))
    if recommending:
        _apply_conditions(out, hints, ages, domain, profile, conversation)
        tools = {s["tool"] for s in out.steps}
        if named and hints.wants_recs and not tools & {"similar", "store"}:
            out.steps.append({"tool": "similar", "titles": named})
            out.notes.append(f"added similarity to {', '.join(named)}")
        has_retrieve = any(s["tool"] == "retrieve" for s in out.steps)
        # descriptions are searched by meaning; so are leftover words, but only when nothing else was read (beside
        # stated values they are mostly the user's own filler, and similarity to them would outrank popularity)
        leftover = [] if (hints.has_conditions or named) else hints.residual
        described = hints.terms + leftover
        if described and not has_retrieve:
            out.steps.append({"tool": "retrieve", "query": ", ".join(dict.fromkeys(described))[:200]})
            out.notes.append(f"added retrieval by the described qualities: {', '.join(dict.fromkeys(described))}")
        elif not {s["tool"] for s in out.steps} & {"match", "similar", "retrieve", "store"}:
            out.steps.append({"tool": "retrieve", "query": message[:200]})
            out.notes.append("added retrieval by the request text")
        _ensure_rank(out, profile, named, [titles[i] for i in hints.avoid_titles])
        n = hints.n or 5  # the LLM's own count is often copied from a demonstration
        out.steps = [s for s in out.steps if s["tool"] != "map"]
        out.steps.sort(key=lambda s: ORDER.get(s["tool"], 2))
        out.steps.append({"tool": "map", "n": n})
        if out.reply:
            out.notes.append("the plan's direct reply was replaced by tool results")
            out.reply = None
    return out


def is_attribute(entry: str) -> bool:
    """Profile entries are catalog titles or "column=value" attribute facts."""
    return bool(re.match(r"^[a-z_][a-z0-9_]*=", entry))


def _stated(col: str, val: str, req: Request, said: str) -> bool:
    """Is this LLM condition grounded in what the user said? (Small models add plausible extras.)"""
    v = key_of(val)
    if any(c == col and key_of(x) == v for c, x in req.include + req.exclude):
        return True
    return bool(v) and f" {v} " in f" {said} "


def _llm_conditions(out: Repaired, req: Request, domain: Domain, said: str) -> tuple[list[dict[str, Any]],
                                                                                  list[dict[str, Any]],
                                                                                  list[dict[str, Any]]]:
    """The LLM's filter conditions, typed and snapped to the vocabulary; code's reading of a column wins."""
    schema, vocab = domain.schema, domain.vocabulary
    want: list[dict[str, Any]] = []
    avoid: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    coded = {r.col for r in req.ranges}
    for step in [s for s in out.steps if s["tool"] == "filter"]:
        for c in step.get("where", []):
            col, op, val = c["col"], c["op"], c["val"]
            meta = schema.get(col)
            if meta is None:
                continue
            numeric = meta.kind == "number" or (vocab.time is not None and col == vocab.time.name)
            if numeric:
                if col in coded:
                    out.notes.append(f"kept the request's own reading of {col} over the plan's {op} {val}")
                    continue
                try:
                    x = float(str(val).replace(",", "").lstrip("$€£").rstrip("s"))
                except ValueError:
                    out.notes.append(f"dropped condition with no number: {col} {op} {val}")
                    continue
                if f"{x:g}" not in said.split():  # small models add plausible numbers nobody said
                    out.notes.append(f"dropped condition the user did not state: {col} {op} {val}")
                    continue
                lo = x if op in (">", ">=", "=") else None
                hi = x if op in ("<", "<=", "=") else None
                if lo is None and hi is None:
                    continue
                spans.append({"col": col, "lo": lo, "hi": hi, "label": f"{col} {op} {val}"[:80]})
                continue
            if not _stated(col, str(val), req, said):
                out.notes.append(f"dropped condition the user did not state: {col} {op} {val}")
                continue
            vid = vocab.lookup(col, str(val))
            ids = [vid] if vid is not None else vocab.by_key.get(key_of(str(val)), [])
            if not ids:
                out.notes.append(f"no catalog value for {col} {val}: searched by meaning instead")
                out.steps.append({"tool": "retrieve", "query": str(val)[:200]})
                continue
            v = vocab.values[ids[0]]
            target = avoid if op in ("not contains", "!=") else want
            target.append({"col": v.col, "val": v.text})
    return want, avoid, spans


def _apply_conditions(out: Repaired, req: Request, ages: dict[str, int], domain: Domain,
                      profile: dict[str, list[str]], conversation: list[str]) -> None:
    """One soft match step from what the user said (code's reading first), the LLM's grounded extras and
    the profile's dislikes; it replaces any hard filter the LLM wrote."""
    said = " ".join(key_of(t) for t in conversation)
    llm_want, llm_avoid, llm_spans = _llm_conditions(out, req, domain, said)
    want: list[dict[str, Any]] = [{"col": c, "val": v, "age": ages.get(f"+{c}={v}", 0),
                                   "inferred": (c, v) in req.inferred, "strong": (c, v) in req.strong}
                                  for c, v in req.include]
    avoid: list[dict[str, Any]] = [{"col": c, "val": v} for c, v in req.exclude]
    for w in llm_want:
        if not any(key_of(x["val"]) == key_of(w["val"]) for x in want + avoid):
            want.append({**w, "age": 0, "inferred": False})
            out.notes.append(f"added condition from the plan: {w['col']} {w['val']}")
    for a in llm_avoid:
        if not any(key_of(x["val"]) == key_of(a["val"]) for x in want + avoid):
            avoid.append(a)
            out.notes.append(f"added exclusion from the plan: {a['col']} {a['val']}")
    ranges: list[dict[str, Any]] = [{"col": r.col, "lo": r.lo, "hi": r.hi, "label": r.label[:80], "age": ages.get(f"range:{r.col}", 0),
               "negated": r.negated} for r in req.ranges] + [{**s, "age": 0} for s in llm_spans]
    for entry in profile.get("dislike", []):
        if is_attribute(entry):
            col, value = entry.split("=", 1)
            if domain.vocabulary.lookup(col, value) is not None and (col, value) not in req.include and not any(
                    key_of(x["val"]) == key_of(value) for x in want + avoid):
                avoid.append({"col": col, "val": value})
                out.notes.append(f"profile: the user dislikes {col} {value}")
    out.steps = [s for s in out.steps if s["tool"] not in ("filter", "match")]
    if want or avoid or ranges:
        out.steps.insert(0, {"tool": "match", "want": want[:24], "ranges": ranges[:8], "avoid": avoid[:24]})
        read = [w["val"] for w in want] + [f"no {a['val']}" for a in avoid] + [
            ("not " if r.get("negated") else "") + r["label"] for r in ranges]
        out.notes.append(f"soft match on what was said: {', '.join(read)}")


def _dedupe(titles: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for t in titles:
        key = normalise(t)[0]
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _ensure_rank(out: Repaired, profile: dict[str, list[str]], named: list[str], unwanted: list[str]) -> None:
    ranks = [s for s in out.steps if s["tool"] == "rank"]
    likes = [x for x in profile.get("like", []) if x not in named and not is_attribute(x)]
    dislikes = [x for x in profile.get("dislike", []) if not is_attribute(x)]
    has_sim = any(s["tool"] in ("similar", "retrieve") for s in out.steps)
    # liked items known: the personal ranker (with the similarity step's scores as a prior); else similarity
    by = "preference" if (named or likes) else ("similarity" if has_sim else "popularity")
    if not ranks:
        out.steps.append({"tool": "rank", "by": by, "prefer": list(named), "avoid": []})
        out.notes.append(f"added ranking by {by}")
        ranks = [out.steps[-1]]
    elif ranks[-1].get("by") != by and (named or likes):
        out.notes.append(f"ranking by {by}, not {ranks[-1].get('by')}: the user named items they like")
        ranks[-1]["by"] = by
    for r in ranks[-1:]:
        prefer = _dedupe([*r.get("prefer", []), *named, *likes])[:8]
        avoid = _dedupe([*r.get("avoid", []), *unwanted, *dislikes])[:8]
        if prefer != r.get("prefer") or avoid != r.get("avoid"):
            out.notes.append("ranking uses the user's known likes and dislikes")
        r["prefer"], r["avoid"] = prefer, avoid
    out.steps = [s for s in out.steps if s["tool"] != "rank"] + ranks[-1:]
