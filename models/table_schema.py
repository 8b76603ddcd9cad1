"""What the LLM and the tools may know about the item table: its columns (kind, meaning, range, example
values) and the compact text of them for prompts. Written at build time, read by every turn."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLE = "items"


@dataclass
class Column:
    name: str
    kind: str  # text | list | number | date
    description: str
    values: list[str] = field(default_factory=list)  # categorical values (lists, low-cardinality text)
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    distinct: int | None = None  # distinct values of a list column (values keeps the most frequent)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class TableSchema:
    """What the LLM may know about the table: columns, meanings, ranges, example values."""

    columns: list[Column]
    n_rows: int
    aliases: list[str] = field(default_factory=list)  # table names accepted in FROM besides `items`
    column_aliases: dict[str, str] = field(default_factory=dict)  # the user's own names, e.g. name -> title

    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def get(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def hint(self) -> str:
        return f"Table {TABLE}({', '.join(self.names())})."

    def year_column(self) -> str | None:
        """A number column whose values are years (by its values, not its name), else None."""
        for c in self.columns:
            if c.kind == "number" and c.min is not None and c.max is not None and c.min >= 1000 and c.max <= 2200 \
                    and c.name != "popularity":
                return c.name
        return None

    def prompt(self, max_values: int = 10) -> str:
        """Compact schema text for prompts: one line per column."""
        lines = [f"Table `{TABLE}` ({self.n_rows} rows). Columns:"]
        for c in self.columns:
            line = f"- {c.name} ({c.kind}): {c.description}"
            if c.kind == "number" and c.min is not None:
                line += f"; range {c.min:g}..{c.max:g}"
            if c.values:
                line += "; values: " + ", ".join(c.values[:max_values])
            if c.kind == "list":
                line += " (a list: use LIKE '%value%')"
            lines.append(line)
        return "\n".join(lines)

    def save(self, path: Path) -> None:
        data = {"columns": [c.to_json() for c in self.columns], "n_rows": self.n_rows, "aliases": self.aliases,
                "column_aliases": self.column_aliases}
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TableSchema:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls([Column(**c) for c in data["columns"]], data["n_rows"], data.get("aliases", []),
                   data.get("column_aliases", {}))
