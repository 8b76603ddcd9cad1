"""Recommended items as cards for front ends: id, title and the attributes the catalog has."""

from __future__ import annotations

from typing import Any

from models.domain import Domain
from tools.langchain_tools import attribute_value

HIDDEN = ("iid", "title", "popularity")
MAX_LIST = 6
MAX_TEXT = 160


def cards(domain: Domain, iids: list[int]) -> list[dict[str, Any]]:
    """Rows in the given order; unknown ids are skipped."""
    cols = [c for c in domain.schema.columns if c.name not in HIDDEN]
    rows = domain.table.rows_for([int(i) for i in iids], ["iid", "title", *[c.name for c in cols]])
    return [{"iid": int(r["iid"]), "title": r.get("title"),
             "fields": {c.name: v for c in cols if (v := attribute_value(c.kind, r.get(c.name), MAX_LIST, MAX_TEXT)) is not None}}
            for r in rows]
