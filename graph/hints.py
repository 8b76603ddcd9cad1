"""Names kept for code written before graph/understand/ (the domain-driven reader) replaced this module."""

from __future__ import annotations

from graph.understand.words import FRESH_START
from models.item_table import TableSchema
from models.mentions import capitalised_spans, descriptors, mentioned_titles

__all__ = ["FRESH_START", "capitalised_spans", "descriptors", "mentioned_titles", "year_column"]


def year_column(schema: TableSchema) -> str | None:
    """A number column whose values are years (by its values, not its name), else None."""
    for c in schema.columns:
        if c.kind == "number" and c.min is not None and c.max is not None and 1000 <= c.min and c.max <= 2200 \
                and c.name != "popularity":
            return c.name
    return None
