"""Catalog tools: store user-named items, look items up, SQL look-up, hard filter over the bus."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from models.item_table import SQLError
from models.table_schema import TableSchema
from tools.bus import Bus
from tools.common import Titles, names_of, resolve_titles
from tools.context import ToolContext
from tools.registry import Args, ToolSpec

FULL_FILTER_CAP = 5000


# ---- store ---------------------------------------------------------------------------------------------
class StoreArgs(Args):
    titles: Titles


def run_store(ctx: ToolContext, bus: Bus, args: StoreArgs) -> str:
    ids, missing = resolve_titles(ctx, args.titles)
    if not ids:
        raise ValueError(f"none of these titles are in the catalog: {', '.join(args.titles)}")
    bus.set(ids)
    note = f" (not found: {', '.join(missing)})" if missing else ""
    return f"candidates set to {len(ids)} named item(s): {names_of(ctx, ids)}{note}"


# ---- lookup --------------------------------------------------------------------------------------------
class LookupArgs(Args):
    titles: Titles


def run_lookup(ctx: ToolContext, bus: Bus, args: LookupArgs) -> str:
    ids, missing = resolve_titles(ctx, args.titles)
    rows = ctx.domain.table.rows_for(ids)
    bus.rows.extend(rows)
    note = f"; not in catalog: {', '.join(missing)}" if missing else ""
    return f"{len(rows)} row(s) for {names_of(ctx, ids)}{note}"


# ---- sql -----------------------------------------------------------------------------------------------
class SqlArgs(Args):
    query: Annotated[str, Field(max_length=400, description="one SELECT over table items")]


def run_sql(ctx: ToolContext, bus: Bus, args: SqlArgs) -> str:
    res = ctx.domain.table.query(args.query, row_cap=20)
    bus.rows.extend(res.records())
    notes = f" ({'; '.join(res.notes)})" if res.notes else ""
    more = " (more rows exist)" if res.truncated else ""
    return f"{len(res.rows)} row(s){more}{notes}"


# ---- hard filter ---------------------------------------------------------------------------------------
Op = Literal["=", "!=", "<", "<=", ">", ">=", "contains", "not contains"]


def filter_columns(schema: TableSchema) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns a condition may name: numeric ones (compared as numbers) and the others (as text)."""
    numeric = tuple(c.name for c in schema.columns if c.kind == "number" and c.name != "title")
    other = tuple(c.name for c in schema.columns if c.kind != "number" and c.name != "title")
    return numeric, other


def make_filter_args(schema: TableSchema) -> type[Args]:
    """Typed conditions: numbers are numbers (no "$15" strings), values are strings; the columns are enums
    (the schema grows with the number of columns, never with the number of values)."""
    numeric, other = filter_columns(schema)

    class NumCond(Args):
        col: Literal[numeric]  # type: ignore[valid-type]
        op: Literal["=", "!=", "<", "<=", ">", ">="]
        val: float

    class ValCond(Args):
        col: Literal[other]  # type: ignore[valid-type]
        op: Literal["contains", "not contains", "=", "!="]
        val: Annotated[str, Field(max_length=60)]

    cond: Any = (NumCond | ValCond) if numeric and other else (NumCond if numeric else ValCond)

    class FilterArgs(Args):
        where: Annotated[list[cond], Field(min_length=1, max_length=6)]

    return FilterArgs


def _quote(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def condition_sql(schema: TableSchema, col: str, op: str, val: str) -> str:
    """One typed condition -> SQL text that the item table engine validates and repairs again."""
    meta = schema.get(col)
    if meta is None:
        raise ValueError(f"unknown column '{col}'")
    v = str(val).strip()
    if meta.kind == "number":
        num = v.replace(",", "").rstrip("s")
        if not _NUMBER.match(num):
            raise ValueError(f"'{val}' is not a number for {col}")
        sql_op = {"contains": "=", "not contains": "!="}.get(op, op)
        return f'"{col}" {sql_op} {num}'
    if op in ("contains", "=") and meta.kind == "list":
        return f'"{col}" LIKE {_quote("%" + v + "%")}'
    if op in ("not contains", "!=") and meta.kind == "list":
        return f'("{col}" IS NULL OR "{col}" NOT LIKE {_quote("%" + v + "%")})'
    if op == "contains":
        return f'"{col}" LIKE {_quote("%" + v + "%")}'
    if op == "not contains":
        return f'("{col}" IS NULL OR "{col}" NOT LIKE {_quote("%" + v + "%")})'
    if op in ("=", "!="):
        return f'lower("{col}") {op} lower({_quote(v)})'
    return f'"{col}" {op} {_quote(v)}'


def run_filter(ctx: ToolContext, bus: Bus, args: Any) -> str:
    schema = ctx.domain.schema
    clauses = [condition_sql(schema, c.col, c.op, c.val) for c in args.where]  # validates values too
    before = bus.size(ctx.n_items)
    notes: list[str] = []
    fast = ctx.domain.filter_engine.filter([(c.col, c.op, c.val) for c in args.where], bus.candidates)
    if fast is not None:
        ids = fast.tolist()
        if bus.candidates is None:  # the whole catalog: keep the most popular matches
            order = np.argsort(-ctx.popularity[fast], kind="stable")[:FULL_FILTER_CAP]
            ids = fast[order].tolist()
    else:
        sql = f"SELECT * FROM items WHERE {' AND '.join(clauses)}"
        try:
            if bus.candidates is None:
                ids, notes = ctx.domain.table.filter_ids(sql + " ORDER BY popularity DESC", cap=FULL_FILTER_CAP)
            else:
                ids, notes = ctx.domain.table.filter_ids(sql, candidates=bus.candidates)
        except SQLError as e:
            raise ValueError(str(e)) from None
    if bus.candidates is not None and bus.scores is not None:
        keep = set(ids)
        pairs = [(i, s) for i, s in zip(bus.candidates, bus.scores, strict=False) if i in keep]
        bus.set([i for i, _ in pairs], [s for _, s in pairs])
    else:
        bus.set(ids)
    extra = f" ({'; '.join(notes)})" if notes else ""
    return f"{before} -> {len(ids)} candidates where {' AND '.join(clauses)}{extra}"


STORE = ToolSpec("store", "store", "use only the items the user listed as candidates",
                 lambda s: StoreArgs, run_store)
LOOKUP = ToolSpec("lookup", "lookup", "show the attributes of named items (facts, dates, categories)",
                  lambda s: LookupArgs, run_lookup)
SQL = ToolSpec("sql", "lookup", "answer a question about the catalog with one SELECT over table items",
               lambda s: SqlArgs, run_sql)
FILTER = ToolSpec("filter", "filter", "keep only candidates whose attributes meet all conditions",
                  make_filter_args, run_filter)
