"""Ranking (popularity, similarity, preference) and mapping the top items to titles."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from models.pop_prior import zscore as _z
from tools.bus import Bus
from tools.common import Titles, names_of, resolve_titles
from tools.context import ToolContext
from tools.registry import Args, ToolSpec
from tools.similarity import similarity_scores

POOL_FROM_CATALOG = 2000  # ranking "everything" ranks the most popular items
KEEP = 100
DIVERSITY_POOL = 30
# How much an item's popularity counts beside similarity / preference (in standard deviations). It differs by
# catalog (Last.fm's next artist is often obscure, a shop's next purchase a best seller), so with a trained
# ranker the weight is measured on the catalog's own validation items (models/pop_prior.py); POP_PRIOR is the
# default without one (swept on validation users: benchmarks/RESULTS.md). LEARN_POP_PRIOR=False: always POP_PRIOR.
POP_PRIOR = 0.5
LEARN_POP_PRIOR = True
# How far the personal / similarity signal can lift an item past others that meet more of what was said (fit is
# the share of stated conditions met, 0..1; this bounds the rest to +-FIT_TIE). Chosen on validation users.
FIT_TIE = 0.15
# Weight of the previous step's similarity to the named items beside the personal ranker's score.
PRIOR_WEIGHT = 0.5


class RankArgs(Args):
    by: Literal["popularity", "similarity", "preference"]
    prefer: Titles = Field(default_factory=list, description="items the user likes")
    avoid: Titles = Field(default_factory=list, description="items the user does not want")


def _preference(ctx: ToolContext, history: list[int], cands: np.ndarray) -> tuple[np.ndarray, str]:
    ranker = ctx.ranker
    if ranker is not None and history:
        return np.asarray(ranker.score(history, cands.tolist()), dtype=np.float32), getattr(ranker, "name", "sasrec")
    if history:
        s, used = similarity_scores(ctx, history, cands)
        return s, f"{used} similarity to liked items (no trained ranker)"
    return np.log1p(ctx.popularity[cands]).astype(np.float32), "popularity (no liked items known)"


def run_rank(ctx: ToolContext, bus: Bus, args: RankArgs) -> str:
    prefer, _ = resolve_titles(ctx, args.prefer)
    avoid, _ = resolve_titles(ctx, args.avoid)
    if bus.candidates is None:
        cands = np.argsort(-ctx.popularity, kind="stable")[:POOL_FROM_CATALOG]
        prior = None
    else:
        cands = np.asarray(bus.candidates, dtype=np.int64)
        prior = np.asarray(bus.scores, dtype=np.float32) if bus.scores is not None else None
    masked = set(prefer) | set(avoid) | set(bus.seeds)
    keep = ~np.isin(cands, list(masked)) if masked else np.ones(len(cands), dtype=bool)
    cands = cands[keep]
    prior = prior[keep] if prior is not None else None
    if len(cands) == 0:
        bus.set([])
        return "no candidates to rank"
    logpop = np.log1p(ctx.popularity[cands]).astype(np.float32)
    if args.by == "popularity":
        score, used = logpop, "popularity"
    elif args.by == "similarity" and prior is not None:
        score, used = prior, "similarity from the previous step"
    elif args.by == "similarity" and prefer:
        score, used = similarity_scores(ctx, prefer, cands)
    else:
        score, used = _preference(ctx, list(dict.fromkeys(prefer + bus.seeds)), cands)
        if prior is not None:
            score = _z(score) + PRIOR_WEIGHT * _z(prior)
    learned = ctx.pop_prior if LEARN_POP_PRIOR and args.by != "popularity" else None
    pop_w = POP_PRIOR if learned is None else learned
    if args.by != "popularity" and pop_w > 0:
        score = _z(score) + pop_w * _z(logpop)
    fit = bus.fit_of(cands.tolist())
    if fit is not None:  # soft match ran: how much of what was said an item meets comes first
        score = np.asarray(fit, dtype=np.float32) + FIT_TIE * np.tanh(_z(score) / 2)
        used = f"fit to the stated conditions, then {used}"
    score = score + 1e-3 * logpop  # popularity breaks ties
    if ctx.mode == "diversity" and len(cands) > 5:
        rng = np.random.default_rng(ctx.seed)
        top = np.argsort(-score, kind="stable")[:DIVERSITY_POOL]
        w = np.exp(_z(score[top]))
        order = rng.choice(top, size=len(top), replace=False, p=w / w.sum())
        rest = np.argsort(-score, kind="stable")[DIVERSITY_POOL:KEEP]
        order = np.concatenate([order, rest])
        used += ", sampled for diversity"
    else:
        order = np.argsort(-score, kind="stable")[:KEEP]
    bus.set([int(cands[i]) for i in order], [float(score[i]) for i in order])
    masked_note = f"; excluded {names_of(ctx, sorted(masked), 4)}" if masked else ""
    return f"ranked {len(cands)} by {used}; top: {names_of(ctx, bus.candidates or [], 3)}{masked_note}"


class MapArgs(Args):
    n: Annotated[int, Field(ge=1, le=20)] = 5


def run_map(ctx: ToolContext, bus: Bus, args: MapArgs) -> str:
    if bus.candidates is None:
        ids = [int(i) for i in np.argsort(-ctx.popularity, kind="stable")[: args.n]]
    else:
        fresh = [i for i in bus.candidates if i not in bus.seeds]
        shown = set(bus.shown)
        # items the user already saw this conversation go last: "not those" should bring new ones
        ids = ([i for i in fresh if i not in shown] + [i for i in fresh if i in shown])[: args.n]
    bus.mapped = ids
    return f"top {len(ids)}: {names_of(ctx, ids, args.n)}" if ids else "no items to show"


RANK = ToolSpec("rank", "rank", "order candidates by popularity, similarity or the user's preference",
                lambda s: RankArgs, run_rank)
MAP = ToolSpec("map", "map", "how many items to show (default 5)", lambda s: MapArgs, run_map,
               in_plan=False)  # code appends it with the count the user asked for
