"""Tool registry: each tool is an argument schema plus a pure function over (context, bus).

The plan schema is generated from this registry, so a domain (or a later issue: knowledge, explain)
adds a tool by registering it here; no other code changes. Tools never call the LLM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, create_model

from models.item_table import TableSchema
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

    def step_model(self, schema: TableSchema) -> type[BaseModel]:
        """The plan-step variant: {"tool": "<name>", ...args}."""
        args = self.make_args(schema)
        fields: dict[str, Any] = {"tool": (Literal[self.name], ...)}
        for fname, f in args.model_fields.items():
            fields[fname] = (f.annotation, f)
        return create_model(f"{self.name.title().replace('_', '')}Step", __base__=Args, **fields)


_REGISTRY: dict[str, ToolSpec] = {}


def register_tool(spec: ToolSpec) -> ToolSpec:
    _REGISTRY[spec.name] = spec
    return spec


def get_tool(name: str) -> ToolSpec:
    if name not in _REGISTRY:
        import tools.builtin  # noqa: F401 - registers the built-in tools on first use
    if name not in _REGISTRY:
        raise KeyError(f"unknown tool '{name}' (known: {', '.join(_REGISTRY)})")
    return _REGISTRY[name]


def all_tools() -> list[ToolSpec]:
    import tools.builtin  # noqa: F401 - registers the built-in tools on first use

    return list(_REGISTRY.values())


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


def run_plan_step(ctx: ToolContext, bus: Bus, step: dict[str, Any]) -> str:
    """One plan step {"tool": name, ...args}: validated by the tool's own per-domain argument model, run as
    `run_step`, recorded on the bus. Raises on bad input or a failing tool (callers decide what a failure means).

    The same path as the agent's execute node, for code outside the graph (tools/langchain_tools.py)."""
    spec = get_tool(str(step.get("tool", "?")))
    args = {k: v for k, v in step.items() if k != "tool"}
    parsed = spec.make_args(ctx.domain.schema).model_validate(args)
    out = run_step(spec, ctx, bus, parsed)
    bus.record(spec.name, args, out, visible=spec.family in ("lookup", "map"))
    return out
