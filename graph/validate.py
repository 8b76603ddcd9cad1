"""Check and repair an LLM plan in code before any tool runs.

- titles the user never mentioned are dropped (small models invent seed titles);
- year ranges and category conditions the request states but the plan missed or misread are set;
- a recommendation plan always ends with rank then map; steps are ordered filter -> similarity -> rank;
- the user's stored profile feeds rank's prefer / avoid.
Every change is written to `notes`, which the critic and the trace show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from graph.hints import Hints, year_column
from models.domain import Domain
from models.resolver import normalise

ORDER = {"store": 0, "lookup": 0, "sql": 0, "filter": 1, "retrieve": 2, "similar": 2, "rank": 3, "map": 4}
TITLE_FIELDS = {"store": ["titles"], "lookup": ["titles"], "similar": ["titles"], "rank": ["prefer", "avoid"]}
CANDIDATE_TOOLS = {"store", "filter", "retrieve", "similar", "rank"}


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


def _year_conditions(col: str, hints: Hints) -> list[dict[str, str]]:
    conds = []
    if hints.year_min is not None and hints.year_min == hints.year_max:
        return [{"col": col, "op": "=", "val": str(hints.year_min)}]
    if hints.year_min is not None:
        conds.append({"col": col, "op": ">=", "val": str(hints.year_min)})
    if hints.year_max is not None:
        conds.append({"col": col, "op": "<=", "val": str(hints.year_max)})
    return conds


def _bounds(conds: list[dict[str, str]]) -> tuple[float, float]:
    """The numeric interval a list of conditions on one column allows (integers: > 2000 == >= 2001)."""
    lo, hi = float("-inf"), float("inf")
    for c in conds:
        try:
            v = float(str(c["val"]).rstrip("s"))
        except ValueError:
            continue
        op = c["op"]
        if op in (">", ">="):
            lo = max(lo, v + 1 if op == ">" else v)
        elif op in ("<", "<="):
            hi = min(hi, v - 1 if op == "<" else v)
        elif op == "=":
            lo, hi = max(lo, v), min(hi, v)
    return lo, hi


def repair_plan(raw_steps: list[dict[str, Any]], reply: str | None, like: list[str], dislike: list[str],
                hints: Hints, domain: Domain, conversation: list[str], profile: dict[str, list[str]],
                message: str, relax: int = 0, advice: list[str] | None = None) -> Repaired:
    out = Repaired([dict(s) for s in raw_steps], (reply or "").strip() or None, list(like), list(dislike))
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
    recommending = bool(tools & CANDIDATE_TOOLS) or (hints.wants_recs and (hints.has_conditions or bool(named)))
    if recommending:
        _apply_conditions(out, hints, domain, relax, profile, conversation[-3:] + list(advice or []))
        tools = {s["tool"] for s in out.steps}
        if named and hints.wants_recs and not tools & {"similar", "store"}:
            out.steps.append({"tool": "similar", "titles": named})
            out.notes.append(f"added similarity to {', '.join(named)}")
        has_retrieve = any(s["tool"] == "retrieve" for s in out.steps)
        if hints.terms and not has_retrieve:  # quoted descriptions: searched by meaning, never hard filters
            out.steps.append({"tool": "retrieve", "query": ", ".join(hints.terms)[:200]})
            out.notes.append(f"added retrieval by the described qualities: {', '.join(hints.terms)}")
        elif not {s["tool"] for s in out.steps} & {"filter", "similar", "retrieve", "store"}:
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


def _stated(cond: dict[str, str], hints: Hints, ycol: str | None, said: str) -> bool:
    """Is this LLM condition grounded in what the user said? (Small models add plausible extras.)"""
    col, val = cond["col"], str(cond["val"]).strip().lower()
    if col == ycol:
        return hints.year_min is not None or hints.year_max is not None
    if any(c == col and v.lower() == val for c, v in hints.include + hints.exclude):
        return True
    if not val:
        return False
    forms = {val, val + "s", val.rstrip("s"), val[:-1] + "ies" if val.endswith("y") else val}
    return any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", said) for f in forms)


def _apply_conditions(out: Repaired, hints: Hints, domain: Domain, relax: int,
                      profile: dict[str, list[str]], conversation: list[str]) -> None:
    schema = domain.schema
    filters = [s for s in out.steps if s["tool"] == "filter"]
    conds: list[dict[str, str]] = [dict(c) for f in filters for c in f.get("where", [])]
    ycol = year_column(schema)
    said = " ".join(conversation).lower()
    grounded = [c for c in conds if _stated(c, hints, ycol, said)]
    for c in conds:
        if c not in grounded:
            out.notes.append(f"dropped condition the user did not state: {c['col']} {c['op']} {c['val']}")
    conds = grounded
    free_text = [c for c in conds if (m := schema.get(c["col"])) is not None and m.kind == "text" and not m.values
                 and c["op"] in ("contains", "=")]
    if free_text:  # sparse free text (user tags) is better searched by meaning than by LIKE
        conds = [c for c in conds if c not in free_text]
        query = " ".join([*(c["val"] for c in free_text)])
        if not any(s["tool"] == "retrieve" for s in out.steps):
            out.steps.append({"tool": "retrieve", "query": f"{query}: {conversation[-1] if conversation else ''}"[:200]})
        out.notes.append(f"searched by meaning instead of a text filter: {query}")
    if ycol and (hints.year_min is not None or hints.year_max is not None):
        wanted = _year_conditions(ycol, hints)
        current = [c for c in conds if c["col"] == ycol]
        if _bounds(current) != _bounds(wanted):
            conds = [c for c in conds if c["col"] != ycol] + wanted
            out.notes.append(f"{ycol} conditions set from the request: "
                             + " and ".join(f"{c['op']} {c['val']}" for c in wanted))
    for col, value in hints.include:
        if not any(c["col"] == col and c["val"].lower() == value.lower() and c["op"] in ("contains", "=") for c in conds):
            conds = [c for c in conds if not (c["col"] == col and c["val"].lower() == value.lower())]
            conds.append({"col": col, "op": "contains", "val": value})
            out.notes.append(f"added condition from the request: {col} contains {value}")
    for col, value in hints.exclude:
        conds = [c for c in conds if not (c["col"] == col and c["val"].lower() == value.lower() and c["op"] in ("contains", "="))]
        if not any(c["col"] == col and c["val"].lower() == value.lower() for c in conds):
            conds.append({"col": col, "op": "not contains", "val": value})
            out.notes.append(f"added condition from the request: {col} not contains {value}")
    for entry in profile.get("dislike", []):
        if is_attribute(entry):
            col, value = entry.split("=", 1)
            if schema.get(col) and (col, value) not in hints.include and not any(
                    c["col"] == col and c["val"].lower() == value.lower() for c in conds):
                conds.append({"col": col, "op": "not contains", "val": value})
                out.notes.append(f"profile: the user dislikes {col} {value}")
    for _ in range(relax):
        if conds:
            dropped = conds.pop()
            out.notes.append(f"relaxed: dropped condition {dropped['col']} {dropped['op']} {dropped['val']}")
    out.steps = [s for s in out.steps if s["tool"] != "filter"]
    if conds:
        out.steps.insert(0, {"tool": "filter", "where": conds[:6]})


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
    if not ranks:
        has_sim = any(s["tool"] in ("similar", "retrieve") for s in out.steps)
        by = "similarity" if has_sim else ("preference" if (named or likes) else "popularity")
        out.steps.append({"tool": "rank", "by": by, "prefer": list(named), "avoid": []})
        out.notes.append(f"added ranking by {by}")
        ranks = [out.steps[-1]]
    for r in ranks[-1:]:
        prefer = _dedupe([*r.get("prefer", []), *named, *likes])[:8]
        avoid = _dedupe([*r.get("avoid", []), *unwanted, *dislikes])[:8]
        if prefer != r.get("prefer") or avoid != r.get("avoid"):
            out.notes.append("ranking uses the user's known likes and dislikes")
        r["prefer"], r["avoid"] = prefer, avoid
    out.steps = [s for s in out.steps if s["tool"] != "rank"] + ranks[-1:]
