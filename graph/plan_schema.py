"""The plan: one structured LLM output, either a direct reply or ordered typed tool steps.

Built per domain from the tool registry, so column names are enums of the real columns and tool
names are enums of the registered tools. Lean on purpose: every field costs the small model tokens.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import Field, create_model

from models.table_schema import TableSchema
from tools.catalog_tools import filter_columns
from tools.registry import Args, ToolSpec
from tools.toolbox import all_tools, get_tool

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


NUM_OPS = ("<=", ">=", "!=", "=", "<", ">")  # two-character operators first: the regex tries them in order
VAL_OPS = ("not contains", "contains", "!=", "=")


def condition_regex(schema: TableSchema) -> str:
    """One condition as one string, "<column> <op> <value>": ~5 generated tokens where the object form
    {"col":..,"op":..,"val":..} costs ~13, at ~0.12 s a token on 2 cores. Columns and operators are
    alternations of the real names (the grammar grows with the columns, never with the values); numeric
    columns take a plain number, the others a short text without quotes."""
    numeric, other = filter_columns(schema)
    alts = []
    if numeric:
        alts.append(f"(?P<ncol>{'|'.join(map(re.escape, numeric))}) (?P<nop>{'|'.join(NUM_OPS)}) "
                    r"(?P<num>-?[0-9]{1,9}(\.[0-9]{1,4})?)")
    if other:
        alts.append(f"(?P<vcol>{'|'.join(map(re.escape, other))}) (?P<vop>{'|'.join(VAL_OPS)}) "
                    r'(?P<val>[^"\\]{1,60})')
    return "^(" + "|".join(alts) + ")$"


def _plain_pattern(regex: str) -> str:
    """The JSON-schema pattern: the same regex without group names (grammar converters do not read them)."""
    return re.sub(r"\(\?P<\w+>", "(", regex)


def _filter_step(schema: TableSchema, max_conditions: int) -> Any:
    """The planner's filter step: a condition is a compact string or, for callers that write objects (remote
    models, fakes), the tool's typed object; `plan_steps` turns strings into objects."""
    where = get_tool("filter").make_args(schema).model_fields["where"].annotation
    (obj,) = get_args(where)
    text = Annotated[str, Field(pattern=_plain_pattern(condition_regex(schema)), max_length=90)]
    cond: Any = Union[text, obj]  # noqa: UP007 - runtime union
    fields: dict[str, Any] = {"tool": (Literal["filter"], ...),
                              "where": (Annotated[list[cond], Field(min_length=1, max_length=max_conditions)], ...)}
    return create_model("FilterStep", __base__=Args, **fields)


def parse_condition(text: str, schema: TableSchema) -> dict[str, Any] | None:
    """"year >= 1990" -> {"col": "year", "op": ">=", "val": 1990.0}; None if it does not read as one."""
    m = re.match(condition_regex(schema), text.strip())
    if m is None:
        return None
    if m.groupdict().get("ncol"):
        return {"col": m.group("ncol"), "op": m.group("nop"), "val": float(m.group("num"))}
    val = m.group("val").strip()
    return {"col": m.group("vcol"), "op": m.group("vop"), "val": val} if val else None


def plan_steps(plan: Any, schema: TableSchema) -> list[dict[str, Any]]:
    """The plan's steps as dicts in the tools' own argument form (compact conditions expanded; one that
    does not read as a condition is dropped, repair then falls back on what code read)."""
    out = []
    for step in plan.steps:
        d = step.model_dump()
        if d.get("tool") == "filter":
            conds = [parse_condition(c, schema) if isinstance(c, str) else c for c in d.get("where", [])]
            d["where"] = [c for c in conds if c is not None]
        out.append(d)
    return out


def compact_conditions(plan: dict[str, Any]) -> dict[str, Any]:
    """A demo plan as the planner should write it: each filter condition as one "<col> <op> <val>" string."""
    steps = []
    for step in plan.get("steps", []):
        if step.get("tool") == "filter":
            step = {**step, "where": [c if isinstance(c, str) else f"{c['col']} {c['op']} {c['val']}"
                                      for c in step.get("where", [])]}
        steps.append(step)
    return {**plan, "steps": steps}


def make_plan_model(schema: TableSchema) -> type[Args]:
    variants = tuple(_filter_step(schema, MAX_CONDITIONS) if t.name == "filter"
                     else t.step_model(schema, PLAN_MAX_ITEMS.get(t.name)) for t in plan_tools())
    step_type: Any = Union[variants] if len(variants) > 1 else variants[0]  # noqa: UP007 - runtime union
    fields: dict[str, Any] = {
        "reply": (Annotated[str | None, Field(max_length=400, description="direct answer when no tool is needed")], None),
        "steps": (Annotated[list[step_type], Field(max_length=MAX_STEPS)], ...),
        "like": (Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=MAX_LIKES)], []),
        "dislike": (Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=MAX_LIKES)], []),
    }
    return create_model("Plan", __base__=Args, **fields)

