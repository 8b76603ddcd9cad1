"""Recommended items as cards for front ends: id, title and the attributes the catalog has."""

from __future__ import annotations

from typing import Any

from models.catalog import LIST_SEP
from models.domain import Domain

HIDDEN = ("iid", "title", "popularity")
MAX_LIST = 6
MAX_TEXT = 160


def _value(kind: str, v: Any) -> Any:
    if v is None or v == "":
        return None
    if kind == "list":
        return [p for p in str(v).split(LIST_SEP) if p][:MAX_LIST]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and len(v) > MAX_TEXT:
        return v[:MAX_TEXT] + "..."
    return v


def cards(domain: Domain, iids: list[int]) -> list[dict[str, Any]]:
    """Rows in the given order; unknown ids are skipped."""
    cols = [c for c in domain.schema.columns if c.name not in HIDDEN]
    rows = domain.table.rows_for([int(i) for i in iids], ["iid", "title", *[c.name for c in cols]])
    return [{"iid": int(r["iid"]), "title": r.get("title"),
             "fields": {c.name: v for c in cols if (v := _value(c.kind, r.get(c.name))) is not None}}
            for r in rows]
