"""LLM re-rank of candidates, with or without DOKE knowledge (the `--rank doke` final order): the prompt,
its typed answer model (candidate numbers), and the call; an unusable answer ranks nothing and the caller
completes the order from the tools'."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from models.titles import display_title
from prompts import template
from tools.common import item_values, list_columns
from tools.context import ToolContext
from tools.knowledge import Knowledge, estimate_tokens

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def make_ranking_model(n: int) -> type[BaseModel]:
    from pydantic import create_model

    from models.structured import StrictModel

    num = Annotated[int, Field(ge=1, le=max(n, 1))]
    return create_model("Ranking", __base__=StrictModel,
                        ranking=(Annotated[list[num], Field(max_length=n)], ...))


def _short_attrs(ctx: ToolContext, iid: int) -> str:
    cols = list_columns(ctx)[:1]
    vals = [v for col in cols for v in item_values(ctx, iid, col)[:3]]
    return f" [{', '.join(vals)}]" if vals else ""


def rerank_prompt(ctx: ToolContext, history: Sequence[int], candidates: Sequence[int],
                  knowledge: Knowledge | None, top: int) -> tuple[str, str]:
    """(system, user) messages: liked items, numbered candidates, then the knowledge block when given, its
    lines ordered strongest evidence first (a 1.5B model otherwise reads a list top-down and copies it)."""
    word = ctx.domain.config.item_word
    titles = ctx.domain.titles
    liked = "; ".join(display_title(titles[h]) for h in list(history)[-10:]) or "(nothing known)"
    lines = "\n".join(f"{k}. {display_title(titles[c])}{_short_attrs(ctx, c)}" for k, c in enumerate(candidates, 1))
    extra = " and the facts about the candidates" if knowledge is not None else ""
    system = template("rerank_system").format(items=word + "s", extra=extra)
    prompt = f"Liked {word}s: {liked}\n\nCandidates:\n{lines}"
    if knowledge is not None:
        block = knowledge.block({int(c): str(k) for k, c in enumerate(candidates, 1)}, strongest_first=True)
        prompt += f"\n\nFacts by candidate number, strongest first:\n{block or '(none)'}"
    prompt += "\n\n" + template("rerank_ask").format(top=top)
    return system, prompt


def llm_rerank(llm: BaseChatModel, ctx: ToolContext, history: Sequence[int], candidates: Sequence[int],
               knowledge: Knowledge | None = None, top: int | None = None) -> tuple[list[int], dict[str, Any]]:
    """The LLM orders the candidates (structured output: candidate numbers); returns (ranked iids, info).

    Numbers outside the list and repeats are dropped; info records the prompt size and any output error."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from models.structured import structured_call

    cands = [int(c) for c in candidates]
    top = min(top or len(cands), len(cands))
    system, prompt = rerank_prompt(ctx, history, cands, knowledge, top)
    info: dict[str, Any] = {"prompt_tokens_est": estimate_tokens(system + prompt), "error": None}
    try:
        out = structured_call(llm, make_ranking_model(len(cands)), [SystemMessage(system), HumanMessage(prompt)],
                              name="ranking")
        nums = [int(x) for x in out.ranking]  # type: ignore[attr-defined]
    except Exception as e:  # noqa: BLE001 - an unusable answer ranks nothing; the caller completes the list
        info["error"] = f"{type(e).__name__}: {str(e)[:200]}"
        nums = []
    ranked: list[int] = []
    for k in nums:
        if 1 <= k <= len(cands) and cands[k - 1] not in ranked:
            ranked.append(cands[k - 1])
    info["returned"] = len(nums)
    return ranked, info
