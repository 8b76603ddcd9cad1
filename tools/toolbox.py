"""The agent's tools, listed once: the plan schema, the executor and the LangChain tools read this list.

The order is the plan prompt's order (the planner sees the tools in it), so a new tool goes at the end.
"""

from __future__ import annotations

from typing import Any

from tools.bus import Bus
from tools.catalog_tools import FILTER, LOOKUP, SQL, STORE
from tools.context import ToolContext
from tools.explain import EXPLAIN
from tools.knowledge import KNOWLEDGE
from tools.match import MATCH
from tools.rank import MAP, RANK
from tools.registry import ToolSpec, run_step
from tools.similarity import RETRIEVE, SIMILAR

TOOLS: tuple[ToolSpec, ...] = (STORE, LOOKUP, SQL, FILTER, KNOWLEDGE, EXPLAIN, MATCH, SIMILAR, RETRIEVE, RANK, MAP)
_BY_NAME = {t.name: t for t in TOOLS}


def get_tool(name: str) -> ToolSpec:
    if name not in _BY_NAME:
        raise KeyError(f"unknown tool '{name}' (known: {', '.join(_BY_NAME)})")
    return _BY_NAME[name]


def all_tools() -> list[ToolSpec]:
    return list(TOOLS)


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
