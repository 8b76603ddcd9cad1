"""What a tool is: an argument schema plus a pure function over (context, bus), and how one step runs.

The tools themselves are listed in tools/toolbox.py; the plan schema is generated from that list, so adding
a tool is one module and one entry there. Tools never call the LLM.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from annotated_types import MaxLen
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, create_model

from models.table_schema import TableSchema
from tools.bus import Bus
from tools.context import ToolContext

Family = Literal["lookup", "filter", "retrieve", "rank", "map", "store", "knowledge", "explain"]


class Args(BaseModel):
    """Base of every tool's arguments: unknown keys are errors (additionalProperties: false)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ToolSpec:
    name: str
    family: Family
    description: str  # one line, shown in the plan prompt
    make_args: Callable[[TableSchema], type[Args]]  # per-domain schema (e.g. column enums)
    run: Callable[[ToolContext, Bus, Any], str]  # mutates the bus, returns a short output for the track
    in_plan: bool = True  # False: appended by code (map) or internal

    def step_model(self, schema: TableSchema, max_items: Mapping[str, int] | None = None) -> type[BaseModel]:
        """The plan-step variant: {"tool": "<name>", ...args}; `max_items` tightens list fields for the planner
        only (every item is generated tokens), not for other callers of the tool."""
        args = self.make_args(schema)
        fields: dict[str, Any] = {"tool": (Literal[self.name], ...)}
        for fname, f in args.model_fields.items():
            if max_items and fname in max_items:
                f = copy.copy(f)
                f.metadata = [m for m in f.metadata if not isinstance(m, MaxLen)] + [MaxLen(max_items[fname])]
            fields[fname] = (f.annotation, f)
        return create_model(f"{self.name.title().replace('_', '')}Step", __base__=Args, **fields)


class _StepRun(BaseTool):
    """A plan step as a LangChain tool run, so tracers (LangSmith) record it under the execute node."""

    description: str = "one plan step over the candidate bus"
    fn: Callable[[], str]

    def _run(self, *args: Any, **kwargs: Any) -> str:
        return self.fn()


def run_step(spec: ToolSpec, ctx: ToolContext, bus: Bus, args: Any) -> str:
    """Run one step as a named run ("tool:<name>"); callbacks come from the caller's context."""
    step = _StepRun(name=f"tool:{spec.name}", fn=lambda: spec.run(ctx, bus, args))
    return str(step.invoke(args.model_dump_json()))
