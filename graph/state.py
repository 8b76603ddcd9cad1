"""Graph state: conversation messages plus this turn's plan, candidate bus, critiques and result.

`typing_extensions.TypedDict` (not `typing`'s) because LangServe's schema generation needs it on 3.11.
Everything here is JSON-able so the checkpointer can persist it.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from tools.bus import BusDict


class Plan(TypedDict, total=False):
    """The validated plan of one attempt: tool steps plus what the user asked for, as code read it."""

    steps: list[dict[str, Any]]  # {"tool": name, **arguments}, in run order (graph/validate.py orders them)
    reply: str | None  # a direct answer when no tool is needed
    like: list[str]  # titles / "column=value" facets to remember as liked
    dislike: list[str]
    expect: list[str]  # "column=value" conditions the answer should meet (the critic and reply check them)
    n: int | None  # how many items the user asked for
    chit_chat: str | None  # greeting | thanks | identity | ... when the message is small talk
    read: list[str]  # what code read from the message (Request.labels), for the trace
    language: str | None  # set when the message is not in the catalog's language
    understood: bool  # True when code planned it alone (no LLM call)
    llm_down: str | None  # the LLM error when code planned because the model did not answer


class Attempt(TypedDict):
    """The best attempt of this turn so far: kept so that a failed retry still answers from it."""

    bus: BusDict
    plan: Plan
    quality: float


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    profile: dict[str, list[str]]  # like / dislike / expect facets of this user
    demos: list[dict[str, Any]]  # demonstrations chosen for this turn
    plan: Plan | None  # the validated plan of the current attempt
    plan_notes: list[str]  # what code changed in the LLM's plan, and why
    bus: BusDict  # the candidate bus after execute
    critiques: list[str]  # critic advice of earlier attempts this turn
    attempts: int
    best: Attempt | None
    items: list[dict[str, Any]]  # what the reply recommends: [{"iid", "title"}]
    invented: list[str]  # titles the reply writer made up and the grounding check removed
    llm_calls: int  # LLM calls in this turn
    error: str | None  # a turn-level failure the reply must report honestly
    shown: list[int]  # items recommended in earlier turns of this thread (not reset per turn)


def turn_reset() -> dict[str, Any]:
    """Fields that start fresh every turn (the thread's messages and profile carry over)."""
    return {"plan": None, "plan_notes": [], "bus": {}, "critiques": [], "attempts": 0, "best": None,
            "items": [], "invented": [], "llm_calls": 0, "error": None, "demos": []}
