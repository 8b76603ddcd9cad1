"""Helpers several tools share: title arguments and their resolution, item values, the columns worth naming.

Why a module of their own: the tools used to import each other's private helpers; these are the ones
with more than one user.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from models.catalog import LIST_SEP
from tools.context import ToolContext

Title = Annotated[str, Field(max_length=120)]
Titles = Annotated[list[Title], Field(max_length=8)]
MIN_CONFIDENCE = 0.75


def resolve_titles(ctx: ToolContext, titles: list[str]) -> tuple[list[int], list[str]]:
    """Titles -> iids (confident matches only) and the titles that matched nothing."""
    ids, missing = [], []
    for t in titles:
        m = ctx.domain.resolver.best(t, MIN_CONFIDENCE)
        if m is None:
            missing.append(t)
        elif m.iid not in ids:
            ids.append(m.iid)
    return ids, missing


def names_of(ctx: ToolContext, ids: list[int], limit: int = 8) -> str:
    """Titles for a tool's observation, at most `limit` of them."""
    shown = "; ".join(ctx.domain.titles[i] for i in ids[:limit])
    return shown + (f"; ... ({len(ids)} in all)" if len(ids) > limit else "")


def item_values(ctx: ToolContext, iid: int, col: str) -> list[str]:
    """One item's values in a column as strings (a list column split; 3.0 -> "3"); [] when empty."""
    v = ctx.domain.items.iloc[int(iid)].get(col)
    if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
        return []
    meta = ctx.domain.schema.get(col)
    if meta is not None and meta.kind == "list":
        return [x for x in str(v).split(LIST_SEP) if x]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return [str(v)]


def list_columns(ctx: ToolContext) -> list[str]:
    """The list columns with a small closed vocabulary (at most 200 values), not free-tag clouds."""
    return [c.name for c in ctx.domain.schema.columns if c.kind == "list" and c.values and len(c.values) <= 200]
