"""The domain's tools as LangChain tools, for any agent: `domain_tools(domain)`.

Why: interec's retrieval, ranking, knowledge and explain tools should be usable by someone else's agent
(LangGraph's prebuilt agent, langchain's `create_agent`, an MCP client). Each tool here is a short fixed
pipeline of the same plan steps the interec agent runs (`tools.toolbox.run_plan_step`: the
step's own argument model, then `run_step` over a fresh candidate bus), so both paths run one
implementation; only the argument shapes (typed for tool-calling models: column enums, numbers as
numbers) and the output (compact JSON: ids, titles and the attributes asked for) are made here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field, ValidationError, create_model

from models.build import load_domain
from models.catalog import LIST_SEP
from models.domain import Domain
from models.table_schema import TableSchema
from tools.bus import Bus
from tools.catalog_tools import Op
from tools.context import ToolContext
from tools.registry import Args
from tools.toolbox import run_plan_step

MAX_TEXT = 160  # characters of a text attribute in an output
MAX_LIST = 8  # values of a list attribute in an output
MAX_NOTE = 200


ToolArgs = Args  # unknown keys are errors, so a model's typo is reported, not ignored


def _columns(schema: TableSchema) -> tuple[str, ...]:
    return tuple(c.name for c in schema.columns if c.name not in ("title", "iid")) or ("popularity",)


def _num_text(v: float | str) -> str:
    """A condition value as the plan step takes it: numbers without a trailing ".0"."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int | float):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    return str(v)


@dataclass(frozen=True)
class Shapes:
    """The per-domain argument types shared by the tools (column names are enums of the real columns)."""

    column: Any
    where: Any
    fields: Any
    k: Any
    titles: Any

    @classmethod
    def of(cls, schema: TableSchema) -> Shapes:
        cols = _columns(schema)
        column = Literal[cols]  # type: ignore[valid-type]
        numbers = [c.name for c in schema.columns if c.kind == "number"]
        cond = create_model(
            "Condition", __base__=ToolArgs,
            column=(column, Field(description="catalog column")),
            op=(Op, Field(description="comparison; for list columns use contains / not contains")),
            value=(float | str, Field(description="the value to compare with: a number for number columns ("
                                                  f"{', '.join(numbers) or 'none'}), else text")),
        )
        where = Annotated[list[cond], Field(max_length=6, description="conditions the items must all meet")]  # type: ignore[valid-type]
        fields = Annotated[list[column], Field(max_length=len(cols),
                                               description="attributes to return for each item besides id and title")]
        k = Annotated[int, Field(ge=1, le=20, description="how many items to return")]
        titles = Annotated[list[Annotated[str, Field(max_length=120)]], Field(min_length=1, max_length=8)]
        return cls(column, where, fields, k, titles)


# ---- output -------------------------------------------------------------------------------------------------
def attribute_value(kind: str, v: Any, max_list: int = MAX_LIST, max_text: int = MAX_TEXT) -> Any:
    """An item-table cell as compact JSON: None when empty, lists split and capped, whole floats as ints."""
    if v is None or v == "" or (isinstance(v, float) and v != v):
        return None
    if kind == "list":
        return [p for p in str(v).split(LIST_SEP) if p][:max_list]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and len(v) > max_text:
        return v[:max_text] + "..."
    return v


def item_records(ctx: ToolContext, ids: Sequence[int], fields: Sequence[str] = ()) -> list[dict[str, Any]]:
    """{"id", "title", <asked attributes>} per item, in the given order (empty attributes are left out)."""
    schema = ctx.domain.schema
    cols = [c for c in dict.fromkeys(fields) if schema.get(c) is not None and c != "title"]
    rows = ctx.domain.table.rows_for([int(i) for i in ids], ["iid", "title", *cols])
    out = []
    for r in rows:
        rec: dict[str, Any] = {"id": int(r["iid"]), "title": r.get("title")}
        for c in cols:
            v = attribute_value(schema.get(c).kind, r.get(c))  # type: ignore[union-attr]
            if v is not None:
                rec[c] = v
        out.append(rec)
    return out


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def _notes(bus: Bus) -> list[str]:
    """What each step did (funnel sizes, which signal ranked), without the final title list."""
    return [t["output"][:MAX_NOTE] for t in bus.track if t["tool"] not in ("map", "store")]


def _where_steps(where: Sequence[Any]) -> list[dict[str, Any]]:
    if not where:
        return []
    return [{"tool": "filter", "where": [{"col": c.column, "op": c.op, "val": _num_text(c.value)} for c in where]}]


def _where_cols(where: Sequence[Any]) -> list[str]:
    return [c.column for c in where]


def run_steps(ctx: ToolContext, steps: Sequence[dict[str, Any]]) -> Bus:
    """The plan steps over a fresh bus; the first failing step stops the pipeline as a ToolException."""
    bus = Bus()
    for step in steps:
        try:
            run_plan_step(ctx, bus, step)
        except Exception as e:  # noqa: BLE001 - the calling model sees the reason and can retry
            raise ToolException(f"{step['tool']}: {e}"[:400]) from e
    return bus


def _items_out(ctx: ToolContext, bus: Bus, fields: Sequence[str], where: Sequence[Any] = ()) -> str:
    cols = [*_where_cols(where), *fields]
    return _dump({"items": item_records(ctx, bus.mapped, cols), "notes": _notes(bus)})


# ---- the tools --------------------------------------------------------------------------------------------------
def _filter_items(ctx: ToolContext, a: Any) -> str:
    if not a.where:
        raise ToolException("give at least one condition in `where`")
    bus = run_steps(ctx, [*_where_steps(a.where), {"tool": "rank", "by": "popularity"}, {"tool": "map", "n": a.k}])
    return _items_out(ctx, bus, a.fields, a.where)


def _retrieve_items(ctx: ToolContext, a: Any) -> str:
    bus = run_steps(ctx, [*_where_steps(a.where), {"tool": "retrieve", "query": a.query},
                          {"tool": "rank", "by": "similarity"}, {"tool": "map", "n": a.k}])
    return _items_out(ctx, bus, a.fields, a.where)


def _similar_items(ctx: ToolContext, a: Any) -> str:
    bus = run_steps(ctx, [*_where_steps(a.where), {"tool": "similar", "titles": a.titles},
                          {"tool": "rank", "by": "similarity"}, {"tool": "map", "n": a.k}])
    return _items_out(ctx, bus, a.fields, a.where)


def _rank_for_user(ctx: ToolContext, a: Any) -> str:
    bus = run_steps(ctx, [*_where_steps(a.where), {"tool": "rank", "by": "preference", "prefer": a.history[-8:],
                                                   "avoid": a.avoid}, {"tool": "map", "n": a.k}])
    return _items_out(ctx, bus, a.fields, a.where)


def _lookup_items(ctx: ToolContext, a: Any) -> str:
    from tools.common import resolve_titles

    bus = run_steps(ctx, [{"tool": "lookup", "titles": a.titles}])
    ids, missing = resolve_titles(ctx, a.titles)  # the same resolution the look-up step made
    fields = a.fields or list(_columns(ctx.domain.schema))
    return _dump({"items": item_records(ctx, ids, fields), "not_found": missing, "notes": _notes(bus)})


def _item_knowledge(ctx: ToolContext, a: Any) -> str:
    bus = run_steps(ctx, [{"tool": "store", "titles": a.titles},
                          {"tool": "knowledge", "liked": a.liked, "budget": a.budget}])
    titles = ctx.domain.titles
    facts: dict[str, list[str]] = {}
    for row in bus.rows:
        facts.setdefault(row["title"], []).append(row["evidence"])
    items = [{"id": int(i), "title": titles[i], "facts": facts.get(titles[i], [])} for i in bus.candidates or []]
    return _dump({"items": items, "notes": _notes(bus)})


def _explain_item(ctx: ToolContext, a: Any) -> str:
    bus = run_steps(ctx, [{"tool": "explain", "titles": [a.title], "liked": a.liked}])
    exp = next(r["explain"] for r in bus.rows if isinstance(r.get("explain"), dict))
    titles = ctx.domain.titles
    return _dump({"item": {"id": int(exp["target"]), "title": titles[int(exp["target"])]},
                  "explanation": exp["text"],
                  "because_you_liked": [{"id": int(h), "title": titles[int(h)]} for h in exp["cited"]],
                  "facts": [{"kind": f["kind"], "text": f["text"]} for f in exp["facts"]],
                  "shares_nothing": bool(exp["shares_nothing"])})


def _catalog_sql(ctx: ToolContext, a: Any) -> str:
    bus = run_steps(ctx, [{"tool": "sql", "query": a.query}])
    rows = [{k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in r.items()} for r in bus.rows]
    return _dump({"rows": rows, "notes": _notes(bus)})


def _args(name: str, **fields: Any) -> type[ToolArgs]:
    return create_model(name, __base__=ToolArgs, **fields)


@dataclass(frozen=True)
class AgentTool:
    name: str
    description: str
    make_args: Callable[[Shapes], type[ToolArgs]]
    fn: Callable[[ToolContext, Any], str]


def _catalog(ctx: ToolContext) -> str:
    return f"{ctx.domain.config.item_word}s of the {ctx.domain.name} catalog"


AGENT_TOOLS: tuple[AgentTool, ...] = (
    AgentTool("filter_items", "Find {items} whose attributes meet all the conditions (e.g. a category, a year range), "
              "most popular first.",
              lambda s: _args("FilterItems", where=(s.where, ...), k=(s.k, 5), fields=(s.fields, [])), _filter_items),
    AgentTool("retrieve_items", "Find {items} matching a free-text description (dense retrieval), optionally "
              "under conditions.",
              lambda s: _args("RetrieveItems",
                              query=(Annotated[str, Field(min_length=1, max_length=200)], Field(
                                  description="what the user wants, in their words")),
                              where=(s.where, []), k=(s.k, 5), fields=(s.fields, [])), _retrieve_items),
    AgentTool("similar_items", "Find {items} most similar to the named ones (embedding + co-liked signals), "
              "optionally under conditions; the named items are never returned.",
              lambda s: _args("SimilarItems", titles=(s.titles, Field(description="the seed items' titles")),
                              where=(s.where, []), k=(s.k, 5), fields=(s.fields, [])), _similar_items),
    AgentTool("rank_for_user", "Recommend {items} for a user from the items they liked (time order, the last 8 "
              "count), using the trained sequential ranker when there is one; optionally under conditions.",
              lambda s: _args("RankForUser",
                              history=(Annotated[list[Annotated[str, Field(max_length=120)]],
                                                 Field(min_length=1, max_length=50)],
                                       Field(description="titles the user liked, oldest first")),
                              avoid=(Annotated[list[Annotated[str, Field(max_length=120)]], Field(max_length=8)],
                                     Field(default_factory=list, description="titles the user does not want")),
                              where=(s.where, []), k=(s.k, 5), fields=(s.fields, [])), _rank_for_user),
    AgentTool("lookup_items", "Look up named {items}: id, title and attributes (all of them unless `fields` "
              "is given).",
              lambda s: _args("LookupItems", titles=(s.titles, Field(description="titles to look up")),
                              fields=(s.fields, [])), _lookup_items),
    AgentTool("item_knowledge", "Facts about candidate {items} that matter for a user: attribute matches, "
              "'liked by N% of the users who liked X' statistics and ranker signals (DOKE knowledge).",
              lambda s: _args("ItemKnowledge", titles=(s.titles, Field(description="the candidate items")),
                              liked=(Annotated[list[Annotated[str, Field(max_length=120)]], Field(max_length=8)],
                                     Field(default_factory=list, description="titles the user liked")),
                              budget=(Annotated[int, Field(ge=20, le=1000)], Field(
                                  120, description="token budget for all facts"))), _item_knowledge),
    AgentTool("explain_item", "Explain why an item suits a user who liked the given items, from catalog "
              "attributes, co-liked statistics and the ranker (only facts; says so when nothing is shared).",
              lambda s: _args("ExplainItem", title=(Annotated[str, Field(min_length=1, max_length=120)],
                                                    Field(description="the item to explain")),
                              liked=(Annotated[list[Annotated[str, Field(max_length=120)]], Field(max_length=8)],
                                     Field(default_factory=list, description="titles the user liked"))),
              _explain_item),
    AgentTool("catalog_sql", "Answer a question about the catalog with one read-only SELECT over table `items` "
              "(at most 20 rows).",
              lambda s: _args("CatalogSql", query=(Annotated[str, Field(min_length=1, max_length=400)],
                                                   Field(description="one SELECT over table items"))), _catalog_sql),
)
TOOL_NAMES = tuple(t.name for t in AGENT_TOOLS)


def bad_input(e: ValidationError) -> str:
    """A validation error as the model should read it: where and what, in one line."""
    problems = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'input'}: {x['msg']}" for x in e.errors()[:4])
    return f"bad input: {problems}"


class DomainTool(BaseTool):
    """One agent tool bound to a domain's ToolContext; errors come back to the model as the tool's answer."""

    ctx: Any  # ToolContext
    fn: Callable[[ToolContext, Any], str]
    handle_tool_error: bool = True
    handle_validation_error: Any = bad_input

    def _run(self, *args: Any, **kwargs: Any) -> str:
        kwargs.pop("run_manager", None)
        schema = self.args_schema
        assert isinstance(schema, type) and issubclass(schema, BaseModel)
        return self.fn(self.ctx, schema.model_validate(kwargs))


def domain_tools(domain: Domain | ToolContext | str | Path, *, artifacts: str | Path | None = None,
                 names: Sequence[str] | None = None, use_models: bool = True) -> list[BaseTool]:
    """The domain's tools as LangChain tools (search/filter, retrieve, similar, rank for a user, look-up,
    knowledge, explain, SQL), ready for `langchain.agents.create_agent` or `langgraph.prebuilt.create_react_agent`.

    `domain` is a built domain, a domain folder (opened with `artifacts`) or an agent's ToolContext
    (`agent.deps.tools()`: the tools then share its loaded index and models). `names` picks a subset."""
    if isinstance(domain, ToolContext):
        ctx = domain
    else:
        ctx = ToolContext(domain if isinstance(domain, Domain) else load_domain(domain, artifacts),
                          use_models=use_models)
    unknown = set(names or ()) - set(TOOL_NAMES)
    if unknown:
        raise ValueError(f"unknown tool(s) {', '.join(sorted(unknown))} (known: {', '.join(TOOL_NAMES)})")
    shapes = Shapes.of(ctx.domain.schema)
    word = ctx.domain.config.item_word
    return [DomainTool(name=t.name, description=t.description.format(items=word + "s") + f" Catalog: {_catalog(ctx)}.",
                       args_schema=t.make_args(shapes), ctx=ctx, fn=t.fn)
            for t in AGENT_TOOLS if names is None or t.name in names]
