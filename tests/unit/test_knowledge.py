"""Knowledge selection: within the token budget, at most two facts per item, and specific to the user."""

from __future__ import annotations

import numpy as np
import pytest

from models.itemcf import ItemCF
from models.recdata import from_domain
from models.sasrec import SASRec, SASRecConfig
from tools.context import ToolContext
from tools.costats import loo_contributions
from tools.knowledge import Wants, candidate_facts, select_knowledge


@pytest.fixture(scope="module")
def ctx(ml_domain):  # type: ignore[no-untyped-def]
    """MovieLens with a tiny SASRec and ItemCF trained in memory (the shared test artifacts stay untouched)."""
    data = from_domain(ml_domain)
    cfg = SASRecConfig(hidden=16, blocks=1, heads=1, max_epochs=1, min_epochs=1, threads=1, device="cpu")
    return ToolContext(ml_domain, shared={"ranker": SASRec.fit(data, cfg), "itemcf": ItemCF.fit(data),
                                          "item_vectors": None, "index": None})


def _iid(ctx: ToolContext, title: str) -> int:
    m = ctx.domain.resolver.best(title, 0.9)
    assert m is not None, title
    return m.iid


def _popular(ctx: ToolContext, k: int, skip: int = 0) -> list[int]:
    return [int(i) for i in np.argsort(-ctx.popularity, kind="stable")[skip:skip + k]]


def test_budget_and_per_item_cap(ctx: ToolContext) -> None:
    hist = [_iid(ctx, t) for t in ("Toy Story (1995)", "Aladdin (1992)", "The Lion King (1994)")]
    cands = _popular(ctx, 20, skip=30)
    small = select_knowledge(ctx, Wants(hist), cands, budget=60)
    large = select_knowledge(ctx, Wants(hist), cands, budget=600)
    assert small.tokens <= 60 and small.facts
    assert large.tokens <= 600 and len(large.facts) > len(small.facts)
    for kn in (small, large):
        for c in cands:
            mine = kn.for_item(c)
            assert len(mine) <= 2 and len({f.kind for f in mine}) == len(mine)
    # the budget keeps the strongest evidence
    best = max(candidate_facts(ctx, Wants(hist), cands), key=lambda f: f.priority)
    assert best in small.facts


def test_facts_are_structured_and_checkable(ctx: ToolContext) -> None:
    hist = [_iid(ctx, "Toy Story (1995)"), _iid(ctx, "Aladdin (1992)")]
    kn = select_knowledge(ctx, Wants(hist), _popular(ctx, 20, skip=10), budget=400)
    co = [f for f in kn.facts if f.kind == "co_liked"]
    assert co, "popular candidates share fans with Toy Story"
    stats_ui = from_domain(ctx.domain).train
    for f in co:
        h, both, base = f.evidence["history_iid"], f.evidence["both"], f.evidence["base"]
        users_h = {u for u, s in enumerate(stats_ui) if h in set(s.tolist())}
        users_both = {u for u in users_h if f.iid in set(stats_ui[u].tolist())}
        assert (len(users_h), len(users_both)) == (base, both)
        assert f"{f.evidence['percent']}%" in f.text and round(100 * both / base) == f.evidence["percent"]


def test_knowledge_is_user_specific(ctx: ToolContext) -> None:
    cands = _popular(ctx, 20, skip=5)
    kids = [_iid(ctx, t) for t in ("Toy Story (1995)", "Aladdin (1992)", "Beauty and the Beast (1991)")]
    crime = [_iid(ctx, t) for t in ("Pulp Fiction (1994)", "Reservoir Dogs (1992)", "Fargo (1996)")]
    a = select_knowledge(ctx, Wants(kids), cands, budget=300)
    b = select_knowledge(ctx, Wants(crime), cands, budget=300)
    assert {f.text for f in a.facts} != {f.text for f in b.facts}
    assert any(ctx.domain.titles[h].startswith("Toy Story") or h in kids for h in a.cited_items())
    assert not set(a.cited_items()) & set(crime) and not set(b.cited_items()) & set(kids)


def test_conditions_become_facts_only_for_matching_items(ctx: ToolContext) -> None:
    cands = _popular(ctx, 30)
    kn = select_knowledge(ctx, Wants([], [("genres", "contains", "Comedy"), ("year", "<", "1990")]), cands, 1000)
    cond = [f for f in kn.facts if f.kind == "condition"]
    assert cond
    for f in cond:
        row = ctx.domain.items.iloc[f.iid]
        assert "Comedy" in row["genres"].split("|") or row["year"] < 1990
        assert f.text.startswith("matches your request")


def test_leave_one_out_matches_separate_scoring(ctx: ToolContext) -> None:
    hist = [_iid(ctx, t) for t in ("Toy Story (1995)", "Heat (1995)", "Fargo (1996)")]
    cands = _popular(ctx, 5, skip=40)
    base, delta = loo_contributions(ctx.ranker, hist, cands)
    for j in range(len(hist)):
        rest = hist[:j] + hist[j + 1:]
        want = ctx.ranker.score(hist, cands) - ctx.ranker.score(rest, cands)
        assert np.allclose(delta[j], want, atol=1e-4)
    assert np.allclose(base, ctx.ranker.score(hist, cands), atol=1e-4)


def test_no_history_no_models_gives_no_collaborative_facts(ml_domain) -> None:  # type: ignore[no-untyped-def]
    bare = ToolContext(ml_domain, use_models=False)
    kn = select_knowledge(bare, Wants([]), list(range(20)), budget=300)
    assert all(f.kind not in ("co_liked", "sasrec", "itemcf") for f in kn.facts)
