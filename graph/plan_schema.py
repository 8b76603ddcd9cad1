"""The plan: one structured LLM output, either a direct reply or ordered typed tool steps.

Built per domain from the tool registry, so column names are enums of the real columns and tool
names are enums of the registered tools. Lean on purpose: every field costs the small model tokens.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, create_model

from models.table_schema import TableSchema
from tools.registry import Args, ToolSpec
from tools.toolbox import all_tools

MAX_STEPS = 6
# list lengths the planner may write: code reads every stated condition and named title itself, and the small
# model's extra items are mostly invented (dropped by repair) yet cost ~0.1 s each to generate on 2 cores
MAX_CONDITIONS = 3
MAX_LIKES = 3
MAX_SEEDS = 3  # similarity seeds and rank's prefer / avoid; look-up and store keep the tool's own limit
PLAN_MAX_ITEMS = {"filter": {"where": MAX_CONDITIONS}, "similar": {"titles": MAX_SEEDS},
                  "rank": {"prefer": MAX_SEEDS, "avoid": MAX_SEEDS}}


def plan_tools() -> list[ToolSpec]:
    return [t for t in all_tools() if t.in_plan]


def make_plan_model(schema: TableSchema) -> type[Args]:
    variants = tuple(t.step_model(schema, PLAN_MAX_ITEMS.get(t.name)) for t in plan_tools())
    step_type: Any = Union[variants] if len(variants) > 1 else variants[0]  # noqa: UP007 - runtime union
    fields: dict[str, Any] = {
        "reply": (Annotated[str | None, Field(max_length=400, description="direct answer when no tool is needed")], None),
        "steps": (Annotated[list[step_type], Field(max_length=MAX_STEPS)], ...),
        "like": (Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=MAX_LIKES)], []),
        "dislike": (Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=MAX_LIKES)], []),
    }
    return create_model("Plan", __base__=Args, **fields)

