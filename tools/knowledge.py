"""Knowledge plugin (DOKE): the facts about each candidate that matter for this user, within a token budget.

Why: a small LLM knows little about a catalog's items and nothing about its users. DOKE (Yao et al. 2023)
puts domain knowledge into the prompt instead: attribute matches with what the user asked for and liked,
and collaborative signals computed from the train interactions. Every fact is a structured record (item,
kind, text, evidence numbers), so code can check what an LLM later says about it.

Kinds (strongest evidence first in selection, by weight):
- condition: the item meets conditions the user stated this conversation (filter conditions, expectations)
- co_liked:  "liked by 41% of the 120 users who liked Toy Story (1995)" (train positives, support >= 3)
- sasrec:    the sequential ranker's rank among the candidates and the history item it relied on most
             (leave-one-out: score(item | history) - score(item | history without h))
- itemcf:    one of the 10 nearest ItemCF neighbours of a liked item (cosine)
- profile:   has an attribute value the user's profile likes ("kind=Comedy")
- shared:    attribute values shared with several liked items ("Crime, Thriller like 6 of your 10")

The LLM re-rank (`llm_rerank`) is a plain function, not a tool: tools never call the LLM.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from models.titles import display_title
from tools.bus import Bus
from tools.common import Titles, item_values, list_columns, names_of, resolve_titles
from tools.context import ToolContext
from tools.costats import CoStats, loo_contributions
from tools.registry import Args, ToolSpec

MIN_SUPPORT = 3  # co-liked facts need at least this many users who liked both
MIN_BASE = 5  # ... and at least this many users who liked the history item
NEIGHBOURS = 10
MIN_PRIORITY = 0.3
RANK_FACTS = 5  # ranking prompts state the sequence model's rank of its top 5 only
DEFAULT_BUDGET = 300  # tokens of knowledge in a ranking prompt
REPLY_BUDGET = 120  # tokens of evidence in the reply writer's prompt
KIND_WEIGHT = {"condition": 1.0, "co_liked": 1.0, "sasrec": 0.9, "itemcf": 0.7, "profile": 0.6, "shared": 0.5}


def estimate_tokens(text: str) -> int:
    """Conservative token count for budgets: ~3.5 characters per token (Qwen/GPT BPE on English + digits)."""
    return max(1, math.ceil(len(text) / 3.5))


@dataclass(frozen=True)
class Fact:
    iid: int  # the item the fact is about
    kind: str  # condition | co_liked | sasrec | itemcf | profile | shared
    text: str  # one short natural-language phrase, about the item (the item itself is not named)
    evidence: dict[str, Any] = field(default_factory=dict)  # the numbers, ids and values the text is built from
    weight: float = 0.0  # relevance in 0..1 (before the kind weight), for selection

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)

    @property
    def priority(self) -> float:
        return self.weight * KIND_WEIGHT.get(self.kind, 0.5)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Wants:
    """What the user asked for and is known to like: conditions (col, op, value) and profile attributes."""

    history: list[int] = field(default_factory=list)  # liked items, oldest first
    conditions: list[tuple[str, str, str]] = field(default_factory=list)
    profile: list[tuple[str, str]] = field(default_factory=list)  # (col, value) the profile likes


@dataclass
class Knowledge:
    facts: list[Fact]
    budget: int
    max_per_item: int

    @property
    def tokens(self) -> int:
        return sum(f.tokens for f in self.facts)

    def for_item(self, iid: int) -> list[Fact]:
        return [f for f in self.facts if f.iid == iid]

    def block(self, label: dict[int, str], strongest_first: bool = False) -> str:
        """One line per item with facts: "<label>: fact; fact" (label = a candidate number or a title).
        strongest_first orders the lines by their best fact, so a small model meets the best evidence first."""
        lines = []
        for iid, name in label.items():
            mine = self.for_item(iid)
            if mine:
                lines.append((max(f.priority for f in mine), f"{name}: " + "; ".join(f.text for f in mine)))
        if strongest_first:
            lines.sort(key=lambda x: -x[0])
        return "\n".join(text for _, text in lines)

    def cited_items(self) -> list[int]:
        """History items the facts name (their titles may appear in an answer)."""
        out: list[int] = []
        for f in self.facts:
            h = f.evidence.get("history_iid")
            if h is not None and int(h) not in out:
                out.append(int(h))
        return out


# ---- facts -------------------------------------------------------------------------------------------------
def _meets(ctx: ToolContext, iid: int, col: str, op: str, val: str) -> bool | None:
    """Does the item meet one condition? None when the condition cannot be read."""
    meta = ctx.domain.schema.get(col)
    vals = item_values(ctx, iid, col)
    if meta is None:
        return None
    v = str(val).strip().lower()
    if meta.kind == "number":
        try:
            x, y = float(vals[0]) if vals else math.nan, float(v.replace(",", "").rstrip("s"))
        except ValueError:
            return None
        if math.isnan(x):
            return False
        return {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y,
                "contains": x == y, "not contains": x != y}.get(op)
    low = [x.lower() for x in vals]
    has = any(v == x or (meta.kind != "list" and v in x) for x in low)
    if op in ("=", "contains"):
        return has
    if op in ("!=", "not contains"):
        return not has
    return None


def _condition_facts(ctx: ToolContext, wants: Wants, candidates: Sequence[int]) -> list[Fact]:
    out: list[Fact] = []
    conds = [c for c in wants.conditions if c[1] in ("=", "contains", "<", "<=", ">", ">=")]
    if not conds:
        return out
    for c in candidates:
        met = [(col, op, val) for col, op, val in conds if _meets(ctx, c, col, op, val)]
        if not met:
            continue
        parts = []
        for col, _op, _val in met:
            meta = ctx.domain.schema.get(col)
            have = ", ".join(item_values(ctx, c, col)[:1] if meta is not None and meta.kind == "number" else
                             [x for x in item_values(ctx, c, col) if x.lower() == str(_val).strip().lower()][:1]
                             or item_values(ctx, c, col)[:1])
            part = f"{ctx.domain.config.describe(col)} {have}"
            if part not in parts:
                parts.append(part)
        text = "matches your request: " + ", ".join(parts)
        out.append(Fact(int(c), "condition", text, {"met": [list(m) for m in met], "of": len(conds)},
                        len(met) / len(conds)))
    return out


def _profile_facts(ctx: ToolContext, wants: Wants, candidates: Sequence[int]) -> list[Fact]:
    out = []
    for c in candidates:
        hits = [(col, v) for col, v in wants.profile if v.lower() in (x.lower() for x in item_values(ctx, c, col))]
        if hits:
            vals = ", ".join(v for _, v in hits[:3])
            out.append(Fact(int(c), "profile", f"has {vals}, which you like", {"values": [list(h) for h in hits]},
                            min(1.0, 0.5 + 0.25 * len(hits))))
    return out


def _shared_facts(ctx: ToolContext, history: Sequence[int], candidates: Sequence[int]) -> list[Fact]:
    cols = list_columns(ctx)
    history = list(dict.fromkeys(int(h) for h in history))  # a liked item counted once: "n of your N" stays true
    if not history or not cols:
        return []
    hist_vals = {col: [set(item_values(ctx, h, col)) for h in history] for col in cols}
    out = []
    for c in candidates:
        best: tuple[float, str, list[str], int] | None = None
        for col in cols:
            mine = item_values(ctx, c, col)
            counts = {v: sum(1 for s in hist_vals[col] if v in s) for v in mine}
            common = sorted((v for v in mine if counts[v] >= 2), key=lambda v: -counts[v])[:2]
            if not common:
                continue
            n = sum(1 for s in hist_vals[col] if s & set(common))
            share = n / len(history)
            if best is None or share > best[0]:
                best = (share, col, common, n)
        if best is not None and best[0] >= 0.3:
            share, col, common, n = best
            text = f"{', '.join(common)} like {n} of your {len(history)} liked {ctx.domain.config.items_word}"
            out.append(Fact(int(c), "shared", text, {"column": col, "values": common, "count": n,
                                                     "of": len(history)}, share))
    return out


def _co_liked_facts(ctx: ToolContext, history: Sequence[int], candidates: Sequence[int]) -> list[Fact]:
    if not history:
        return []
    stats = CoStats.from_context(ctx)
    co = stats.co_counts(history, candidates)
    base = stats.likes[list(history)]
    out = []
    titles = ctx.domain.titles
    for j, c in enumerate(candidates):
        best = None
        for i, h in enumerate(history):
            if int(h) == int(c) or base[i] < MIN_BASE or co[i, j] < MIN_SUPPORT:
                continue
            p = co[i, j] / base[i]
            if best is None or (p, co[i, j]) > (best[0], best[2]):
                best = (p, i, int(co[i, j]))
        if best is None:
            continue
        p, i, both = best
        h = int(history[i])
        pct = round(100 * p)
        text = f"liked by {pct}% of the {int(base[i])} users who liked {display_title(titles[h])}"
        out.append(Fact(int(c), "co_liked", text, {"history_iid": h, "percent": pct, "both": both,
                                                   "base": int(base[i])}, min(1.0, 2 * float(p))))
    return out


def _itemcf_facts(ctx: ToolContext, history: Sequence[int], candidates: Sequence[int]) -> list[Fact]:
    cf = ctx.itemcf
    if cf is None or not history:
        return []
    cset = {int(c) for c in candidates}
    best: dict[int, tuple[float, int, int]] = {}
    for h in history:
        ids, sims = cf.neighbours(int(h), NEIGHBOURS)
        for rank, (i, s) in enumerate(zip(ids.tolist(), sims.tolist(), strict=False), 1):
            if i in cset and i != int(h) and (i not in best or s > best[i][0]):
                best[i] = (float(s), int(h), rank)
    titles = ctx.domain.titles
    return [Fact(c, "itemcf", f"among the {NEIGHBOURS} items most liked together with {display_title(titles[h])}",
                 {"history_iid": h, "cosine": round(s, 3), "neighbour_rank": r}, min(1.0, s * 2))
            for c, (s, h, r) in best.items()]


def _sasrec_facts(ctx: ToolContext, history: Sequence[int], candidates: Sequence[int],
                  with_rank: bool) -> list[Fact]:
    ranker = ctx.ranker
    if ranker is None or not history or not hasattr(ranker, "score_batch"):
        return []
    hist = list(history)[-getattr(ranker.config, "max_len", 50):]
    base, delta = loo_contributions(ranker, hist, candidates)
    order = np.argsort(-base, kind="stable")
    rank_of = {int(candidates[k]): r for r, k in enumerate(order, 1)}
    titles = ctx.domain.titles
    n = len(candidates)
    out = []
    for j, c in enumerate(candidates):
        i = int(np.argmax(delta[:, j]))
        d = float(delta[i, j])
        r = rank_of[int(c)]
        ev: dict[str, Any] = {"rank": r, "of": n, "score": round(float(base[j]), 3)}
        if d > 0:
            ev.update({"history_iid": int(hist[i]), "delta": round(d, 2)})
        if with_rank:  # ranking prompts: only the model's top picks, said briefly
            if r > RANK_FACTS:
                continue
            out.append(Fact(int(c), "sasrec", f"our sequence model ranks it {r} of {n} for you", ev,
                            1.0 - 0.5 * (r - 1) / RANK_FACTS))
        elif d > 0:
            text = f"picked for you partly because you liked {display_title(titles[int(hist[i])])}"
            out.append(Fact(int(c), "sasrec", text, ev, min(1.0, d / 2)))
    return out


def candidate_facts(ctx: ToolContext, wants: Wants, candidates: Sequence[int], with_rank: bool = True) -> list[Fact]:
    """Every fact about every candidate (before selection)."""
    cands = [int(c) for c in candidates]
    hist = [int(h) for h in wants.history if 0 <= int(h) < ctx.n_items]
    return (_condition_facts(ctx, wants, cands) + _co_liked_facts(ctx, hist, cands)
            + _sasrec_facts(ctx, hist, cands, with_rank) + _itemcf_facts(ctx, hist, cands)
            + _profile_facts(ctx, wants, cands) + _shared_facts(ctx, hist, cands))


def select(facts: Sequence[Fact], budget: int, max_per_item: int = 2, min_priority: float = MIN_PRIORITY) -> list[Fact]:
    """Greedy by priority: at most `max_per_item` facts of different kinds per item, total tokens <= budget.
    Collaborative kinds say the same thing twice (co_liked and itemcf): an item keeps only one of them.
    Weak facts ("Drama, like 5 of your 10") are noise to a small model: below `min_priority` they are left out."""
    taken: list[Fact] = []
    used = 0
    kinds: dict[int, set[str]] = {}
    for f in sorted(facts, key=lambda f: -f.priority):
        if f.priority < min_priority:
            break
        mine = kinds.setdefault(f.iid, set())
        if len(mine) >= max_per_item or f.kind in mine or ({"co_liked", "itemcf"} <= mine | {f.kind}):
            continue
        if used + f.tokens > budget:
            continue
        taken.append(f)
        used += f.tokens
        mine.add(f.kind)
    return taken


def select_knowledge(ctx: ToolContext, wants: Wants, candidates: Sequence[int], budget: int = DEFAULT_BUDGET,
                     max_per_item: int = 2, with_rank: bool = True) -> Knowledge:
    """The knowledge that matters for this user and these candidates, within `budget` tokens."""
    facts = select(candidate_facts(ctx, wants, candidates, with_rank), budget, max_per_item)
    order = {int(c): k for k, c in enumerate(candidates)}
    facts.sort(key=lambda f: (order.get(f.iid, 0), -f.priority))
    return Knowledge(facts, budget, max_per_item)


# ---- for the reply writer ----------------------------------------------------------------------------------
def wants_from_turn(ctx: ToolContext, plan: Mapping[str, Any], profile: dict[str, list[str]], bus: Bus) -> Wants:
    """The user's liked items and conditions as the agent knows them this turn (plan, profile, named seeds)."""
    liked_titles = [t for t in [*plan.get("like", []), *profile.get("like", [])] if not re.match(r"^[a-z_]\w*=", t)]
    ids, _ = resolve_titles(ctx, liked_titles[:12])
    history = list(dict.fromkeys([*ids, *bus.seeds]))
    conds: list[tuple[str, str, str]] = []
    for step in plan.get("steps", []):
        if step.get("tool") == "filter":
            conds += [(c["col"], c["op"], str(c["val"])) for c in step.get("where", [])]
    prof = [tuple(x.split("=", 1)) for x in profile.get("like", []) if re.match(r"^[a-z_]\w*=", x)]
    return Wants(history, conds, [(a, b) for a, b in prof if ctx.domain.schema.get(a) is not None])


def reply_knowledge(ctx: ToolContext, plan: Mapping[str, Any], profile: dict[str, list[str]], bus: Bus,
                    budget: int = REPLY_BUDGET) -> Knowledge:
    """Evidence for the items the reply recommends (no ranks: the list is already in order)."""
    if not bus.mapped:
        return Knowledge([], budget, 2)
    return select_knowledge(ctx, wants_from_turn(ctx, plan, profile, bus), bus.mapped, budget, 2, with_rank=False)


# ---- the tool ----------------------------------------------------------------------------------------------
class KnowledgeArgs(Args):
    liked: Titles = Field(default_factory=list, description="items the user likes")
    budget: Annotated[int, Field(ge=20, le=1000)] = REPLY_BUDGET


def run_knowledge(ctx: ToolContext, bus: Bus, args: KnowledgeArgs) -> str:
    """Facts about the shown items (or the top 10 candidates) become look-up rows the reply may cite."""
    liked, _ = resolve_titles(ctx, args.liked)
    cands = bus.mapped or (bus.candidates or [])[:10]
    if not cands:
        return "no candidates to collect knowledge about"
    wants = Wants(list(dict.fromkeys([*liked, *bus.seeds])))
    kn = select_knowledge(ctx, wants, cands, args.budget, 2, with_rank=False)
    titles = ctx.domain.titles
    for f in kn.facts:
        bus.rows.append({"title": titles[f.iid], "evidence": f.text})
    return f"{len(kn.facts)} fact(s), {kn.tokens} tokens, about {names_of(ctx, sorted({f.iid for f in kn.facts}), 4)}"


KNOWLEDGE = ToolSpec("knowledge", "knowledge",
                     "evidence for the current candidates: attribute matches, co-liked statistics, ranker signals",
                     lambda s: KnowledgeArgs, run_knowledge, in_plan=False)
