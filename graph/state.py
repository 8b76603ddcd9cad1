"""Graph state: conversation messages plus this turn's plan, candidate bus, critiques and result.

`typing_extensions.TypedDict` (not `typing`'s) because LangServe's schema generation needs it on 3.11.
Everything here is JSON-able so the checkpointer can persist it.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    profile: dict[str, list[str]]  # like / dislike / expect facets of this user
    demos: list[dict[str, Any]]  # demonstrations chosen for this turn
    plan: dict[str, Any] | None  # the validated plan of the current attempt
    plan_notes: list[str]  # what code changed in the LLM's plan, and why
    bus: dict[str, Any]  # tools.bus.Bus as a dict
    critiques: list[str]  # critic advice of earlier attempts this turn
    attempts: int
    best: dict[str, Any] | None  # best attempt so far: {"bus": ..., "plan": ..., "quality": ...}
    items: list[dict[str, Any]]  # what the reply recommends: [{"iid", "title"}]
    invented: list[str]  # titles the reply writer made up and the grounding check removed
    llm_calls: int  # LLM calls in this turn
    error: str | None  # a turn-level failure the reply must report honestly
    shown: list[int]  # items recommended in earlier turns of this thread (not reset per turn)


def turn_reset() -> dict[str, Any]:
    """Fields that start fresh every turn (the thread's messages and profile carry over)."""
    return {"plan": None, "plan_notes": [], "bus": {}, "critiques": [], "attempts": 0, "best": None,
            "items": [], "invented": [], "llm_calls": 0, "error": None, "demos": []}
