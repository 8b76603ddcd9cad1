"""The candidate bus: the funnel of item ids that tools narrow, score and finally map to titles.

Only look-up rows and mapped items are ever shown to the LLM; ids stay in code. The bus is a plain
JSON-able dict inside graph state so checkpoints can store it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import TypedDict

MAX_TRACK_OUTPUT = 600


class BusDict(TypedDict, total=False):
    """A Bus as it travels in the graph state (and so in every checkpoint)."""

    candidates: list[int] | None
    scores: list[float] | None
    track: list[dict[str, Any]]
    mapped: list[int]
    rows: list[dict[str, Any]]
    seeds: list[int]
    shown: list[int]
    fit: dict[str, float] | None


@dataclass
class Bus:
    candidates: list[int] | None = None  # None = the whole catalog
    scores: list[float] | None = None  # aligned with candidates, set by scoring tools
    track: list[dict[str, Any]] = field(default_factory=list)
    mapped: list[int] = field(default_factory=list)  # items finally recommended, in order
    rows: list[dict[str, Any]] = field(default_factory=list)  # look-up rows the LLM may see
    seeds: list[int] = field(default_factory=list)  # items the user named (never recommended back)
    shown: list[int] = field(default_factory=list)  # recommended in earlier turns: shown again only as a last resort
    fit: dict[str, float] | None = None  # soft match (tools/match.py): str(iid) -> share of stated conditions met

    def size(self, n_items: int) -> int:
        return n_items if self.candidates is None else len(self.candidates)

    def set(self, ids: list[int], scores: list[float] | None = None) -> None:
        self.candidates = [int(i) for i in ids]
        self.scores = [float(s) for s in scores] if scores is not None else None

    def record(self, tool: str, args: dict[str, Any], output: str, error: bool = False, visible: bool = False) -> None:
        self.track.append({"tool": tool, "input": args, "output": output[:MAX_TRACK_OUTPUT], "error": error,
                           "visible": visible})

    def to_dict(self) -> BusDict:
        return {"candidates": self.candidates, "scores": self.scores, "track": self.track, "mapped": self.mapped,
                "rows": self.rows, "seeds": self.seeds, "shown": self.shown, "fit": self.fit}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Bus:
        if not data:
            return cls()
        return cls(data.get("candidates"), data.get("scores"), list(data.get("track", [])),
                   list(data.get("mapped", [])), list(data.get("rows", [])), list(data.get("seeds", [])),
                   list(data.get("shown", [])), data.get("fit"))

    def trim_fit(self) -> None:
        """After the steps ran, keep the fit of the items still in play only: the soft match scored up to
        thousands of candidates, and the bus is written to the checkpointer with every turn."""
        if self.fit is None or self.candidates is None:
            return
        keep = {str(int(i)) for i in [*self.candidates, *self.mapped]}
        self.fit = {k: v for k, v in self.fit.items() if k in keep}

    def fit_of(self, ids: list[int]) -> list[float] | None:
        """The soft-match fit of these items (None when no match step ran this turn)."""
        if self.fit is None:
            return None
        return [self.fit.get(str(int(i)), 0.0) for i in ids]

    def errors(self) -> list[dict[str, Any]]:
        return [t for t in self.track if t.get("error")]
