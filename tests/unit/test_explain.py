"""Explain tool: explanations built only from computed facts; honest when nothing is shared; invented facts
in an LLM phrasing are caught and replaced by the templated text."""

from __future__ import annotations

import re

import numpy as np
import pytest

from models.recdata import from_domain
from models.sasrec import SASRec, SASRecConfig
from tests.fakes import ScriptedLLM
from tools.context import ToolContext
from tools.explain import check_phrasing, explain, phrase, why_target


@pytest.fixture(scope="module")
def ctx(ml_domain):  # type: ignore[no-untyped-def]
    cfg = SASRecConfig(hidden=16, blocks=1, heads=1, max_epochs=1, min_epochs=1, threads=1, device="cpu")
    return ToolContext(ml_domain, shared={"ranker": SASRec.fit(from_domain(ml_domain), cfg), "itemcf": None,
                                          "item_vectors": None, "index": None})


def _iid(ctx: ToolContext, title: str) -> int:
    m = ctx.domain.resolver.best(title, 0.9)
    assert m is not None, title
    return m.iid


def test_explanation_cites_largest_contributions(ctx: ToolContext) -> None:
    hist = [_iid(ctx, t) for t in ("Toy Story (1995)", "Heat (1995)", "Aladdin (1992)", "Fargo (1996)")]
    score = lambda h, t: float(ctx.ranker.score(h, [t])[0])  # noqa: E731
    cited_some = 0
    for target in [int(i) for i in np.argsort(-ctx.popularity, kind="stable")[10:30] if int(i) not in hist]:
        exp = explain(ctx, hist, target)
        assert set(exp.contributions) == set(hist) and "leave-one-out" in exp.method
        for h in hist:  # delta(h) = score(t | history) - score(t | history without h)
            want = score(hist, target) - score([x for x in hist if x != h], target)
            assert np.isclose(exp.contributions[h], want, atol=0.01)
        positive = sorted((h for h in hist if exp.contributions[h] > 0), key=lambda h: -exp.contributions[h])
        assert exp.cited == [h for h in positive if exp.contributions[h] >= 0.25 * exp.contributions[positive[0]]][:3]
        assert check_phrasing(ctx, exp, exp.text) == []  # the template says only what the facts say
        cited_some += bool(exp.cited)
    assert cited_some > 0


def test_nothing_shared_is_said_honestly(ml_domain) -> None:  # type: ignore[no-untyped-def]
    bare = ToolContext(ml_domain, use_models=False)
    items = ml_domain.items
    hist = [_iid(bare, "Toy Story (1995)")]
    toy = set(items.iloc[hist[0]]["genres"].split("|"))
    # an item no Toy Story fan liked, with no genre in common
    target = next(i for i in range(len(items)) if not toy & set(str(items.iloc[i]["genres"]).split("|"))
                  and bare.popularity[i] > 0 and i != hist[0]
                  and not any(hist[0] in s and i in s for s in map(set, from_domain(ml_domain).train)))
    exp = explain(bare, hist, target)
    assert exp.shares_nothing and not exp.cited
    assert "shares nothing" in exp.text and "Toy Story" not in exp.text
    assert not [f for f in exp.facts if f.kind in ("shared", "co_liked", "sasrec")]
    assert f"{int(bare.popularity[target])} people in our data liked it" in exp.text
    assert "genres" in exp.text and "attribute" not in exp.text  # the catalog's own words, not ours


def test_invented_facts_are_caught(ctx: ToolContext) -> None:
    hist = [_iid(ctx, t) for t in ("Toy Story (1995)", "Aladdin (1992)")]
    exp = explain(ctx, hist, _iid(ctx, "The Lion King (1994)"))
    assert any("number" in p for p in check_phrasing(ctx, exp, "93% of fans of Toy Story loved it."))
    assert any("title" in p for p in check_phrasing(ctx, exp, "It is just like Titanic (1997)."))
    assert any("Horror" in p for p in check_phrasing(ctx, exp, "A Horror story you will enjoy."))
    # an LLM phrasing with an invented fact falls back to the template; a faithful one is kept
    liar = ScriptedLLM(replies=["You will love it: like Titanic (1997), 93% of viewers adored it."])
    text, info = phrase(liar, ctx, exp)
    assert text == exp.text and info["used"] == "template" and info["problems"]
    honest_text = exp.facts[0].text + "."
    text, info = phrase(ScriptedLLM(replies=[honest_text]), ctx, exp)
    assert text == honest_text and info["used"] == "llm"


def test_explanations_speak_the_users_language(ctx: ToolContext) -> None:
    """No model scores or deltas reach the user: reasons are the liked items and shares of people."""
    hist = [_iid(ctx, t) for t in ("Toy Story (1995)", "Heat (1995)", "Aladdin (1992)", "Fargo (1996)")]
    kinds: set[str] = set()
    for target in [int(i) for i in np.argsort(-ctx.popularity, kind="stable")[10:30] if int(i) not in hist]:
        exp = explain(ctx, hist, target)
        kinds |= {f.kind for f in exp.facts}
        text = exp.text + " " + " ".join(f.text for f in exp.facts)
        assert not re.search(r"\d\.\d|score|drops|model'?s", text), text
        for f in exp.facts:
            if f.kind == "co_liked":
                liked = ctx.domain.titles[f.evidence["history_iid"]].rsplit(" (", 1)[0]
                assert f"Liked by {f.evidence['percent']}% of the {f.evidence['base']} people who liked" in exp.text
                assert liked.split(", ")[0] in exp.text
            if f.kind == "sasrec":
                assert "picked mainly because you liked" in exp.text
    assert {"co_liked", "sasrec"} <= kinds


def test_phrasing_cut_at_the_token_cap_ends_with_a_sentence(ctx: ToolContext) -> None:
    from langchain_core.messages import AIMessage

    hist = [_iid(ctx, t) for t in ("Toy Story (1995)", "Aladdin (1992)")]
    exp = explain(ctx, hist, _iid(ctx, "The Lion King (1994)"))
    first = exp.facts[0].text[0].upper() + exp.facts[0].text[1:] + "."

    class Capped(ScriptedLLM):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
            result = super()._generate(messages, stop, run_manager, **kwargs)
            msg = result.generations[0].message
            result.generations[0].message = AIMessage(msg.content, response_metadata={"finish_reason": "length"})
            return result

    text, info = phrase(Capped(replies=[first + " It also"]), ctx, exp)
    assert text == first and info["used"] == "llm"


def test_why_questions_find_their_item(ctx: ToolContext) -> None:
    toy = _iid(ctx, "Toy Story (1995)")
    assert why_target("Why did you recommend Toy Story?", ctx) == toy
    assert why_target("why toy story", ctx) == toy
    assert why_target("What made you pick Toy Story?", ctx) == toy
    assert why_target("why is the sky blue?", ctx) is None
    assert why_target("recommend me a comedy", ctx) is None
