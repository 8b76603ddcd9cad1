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


def plan_tools() -> list[ToolSpec]:
    return [t for t in all_tools() if t.in_plan]


def make_plan_model(schema: TableSchema) -> type[Args]:
    variants = tuple(t.step_model(schema) for t in plan_tools())
    step_type: Any = Union[variants] if len(variants) > 1 else variants[0]  # noqa: UP007 - runtime union
    fields: dict[str, Any] = {
        "reply": (Annotated[str | None, Field(max_length=400, description="direct answer when no tool is needed")], None),
        "steps": (Annotated[list[step_type], Field(max_length=MAX_STEPS)], ...),
        "like": (Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=5)], []),
        "dislike": (Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=5)], []),
    }
    return create_model("Plan", __base__=Args, **fields)

