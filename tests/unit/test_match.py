"""The soft match: items ordered by the share of stated conditions they meet; "no X" stays hard."""

from __future__ import annotations

from tools.bus import Bus
from tools.context import ToolContext
from tools.match import FILL, MatchArgs, run_match


def _tags(ctx: ToolContext) -> tuple[str, str]:
    vocab = ctx.domain.vocabulary
    return next((v.col, v.text) for v in vocab.values if v.df == 1)


def test_a_rare_condition_leads_and_the_list_is_not_short(ml_domain) -> None:  # type: ignore[no-untyped-def]
    """Where fewer than FILL items meet anything, they come first and the others follow, so five are shown."""
    ctx = ToolContext(ml_domain, use_models=False)
    col, val = _tags(ctx)
    bus = Bus()
    run_match(ctx, bus, MatchArgs.model_validate({"want": [{"col": col, "val": val}]}))
    assert bus.candidates is not None and len(bus.candidates) > FILL
    meets = ctx.domain.vocabulary.has([ctx.domain.vocabulary.lookup(col, val)])
    assert meets[bus.candidates[0]] and not meets[bus.candidates[-1]]


def test_a_common_condition_keeps_only_items_that_meet_something(ml_domain) -> None:  # type: ignore[no-untyped-def]
    ctx = ToolContext(ml_domain, use_models=False)
    bus = Bus()
    run_match(ctx, bus, MatchArgs.model_validate({"want": [{"col": "genres", "val": "Comedy"}],
                                                  "avoid": [{"col": "genres", "val": "Drama"}]}))
    items = ctx.domain.items  # a value means the same in every column that has it (the genre and the tag)
    said = (items["genres"] + "|" + items["tags"]).str.lower()
    assert bus.candidates and all("comedy" in said[i] and "Drama" not in items["genres"][i] for i in bus.candidates)
