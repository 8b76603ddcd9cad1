"""Soft filter (similar to seed items) and dense retrieval (free text -> items)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from tools.bus import Bus
from tools.common import Titles, names_of, resolve_titles
from tools.context import ToolContext
from tools.registry import Args, ToolSpec

POOL = 300  # candidates kept when starting from the whole catalog
KEEP_SHARE = 0.05  # RecAI keeps the top 5% of the bus by similarity


def _keep_count(n: int) -> int:
    return max(50, int(n * KEEP_SHARE)) if n > 50 else n


def _set_top(bus: Bus, ids: np.ndarray, scores: np.ndarray, k: int) -> None:
    order = np.argsort(-scores, kind="stable")[:k]
    bus.set([int(ids[i]) for i in order], [float(scores[i]) for i in order])


def similarity_scores(ctx: ToolContext, seeds: list[int], cands: np.ndarray) -> tuple[np.ndarray, str]:
    """Blend of embedding similarity and ItemCF (when trained), each scaled to 0..1; says what it used."""
    parts, used = [], []
    vecs = ctx.item_vectors
    if vecs is not None:
        centre = vecs[seeds].mean(axis=0)
        parts.append(vecs[cands] @ centre)
        used.append("embedding")
    cf = ctx.itemcf
    if cf is not None:
        s = np.asarray(cf.score(seeds, cands.tolist()), dtype=np.float32)
        if s.max() > 0:
            parts.append(s / s.max())
            used.append("itemcf")
    if not parts:
        return np.log1p(ctx.popularity[cands]).astype(np.float32), "popularity (no similarity model)"
    return np.mean(parts, axis=0), "+".join(used)


class SimilarArgs(Args):
    titles: Titles


def run_similar(ctx: ToolContext, bus: Bus, args: SimilarArgs) -> str:
    seeds, missing = resolve_titles(ctx, args.titles)
    if not seeds:
        raise ValueError(f"no seed item found in the catalog for: {', '.join(args.titles)}")
    bus.seeds.extend(s for s in seeds if s not in bus.seeds)
    if bus.candidates is None:
        cands = np.arange(ctx.n_items)
        keep = POOL
    else:
        cands = np.asarray(bus.candidates, dtype=np.int64)
        keep = len(cands) if bus.fit is not None else _keep_count(len(cands))
    cands = cands[~np.isin(cands, seeds)]
    if len(cands) == 0:
        bus.set([])
        return "no candidates left besides the seeds"
    scores, used = similarity_scores(ctx, seeds, cands)
    before = len(cands)
    _set_top(bus, cands, scores, keep)
    note = f" (not found: {', '.join(missing)})" if missing else ""
    return f"{before} -> {len(bus.candidates or [])} most similar to {names_of(ctx, seeds)} by {used}{note}"


class RetrieveArgs(Args):
    query: Annotated[str, Field(max_length=200, description="what the user wants, in their words")]


def run_retrieve(ctx: ToolContext, bus: Bus, args: RetrieveArgs) -> str:
    if ctx.index is None:
        raise ValueError("no embedding index for this domain: run `python app.py build` first")
    before = bus.size(ctx.n_items)
    vecs = ctx.item_vectors
    if bus.candidates is None or vecs is None:
        hits = ctx.index.search(args.query, k=POOL, among=bus.candidates)
        bus.set([i for i, _ in hits], [s for _, s in hits])
    else:
        cands = np.asarray(bus.candidates, dtype=np.int64)
        q = ctx.index.embedder.embed([args.query])[0]
        keep = len(cands) if bus.fit is not None else min(len(cands), max(POOL, _keep_count(len(cands))))
        _set_top(bus, cands, vecs[cands] @ q, keep)  # after a soft match, every candidate keeps its fit
    return f"{before} -> {len(bus.candidates or [])} candidates closest to '{args.query}'"


SIMILAR = ToolSpec("similar", "filter", "keep candidates most similar to items the user named",
                   lambda s: SimilarArgs, run_similar)
RETRIEVE = ToolSpec("retrieve", "retrieve", "find candidates matching a free-text description",
                    lambda s: RetrieveArgs, run_retrieve)
