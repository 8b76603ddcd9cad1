"""A turn's settings, said once: what mode, reply style and final ranking may be.

The CLI flags and chat commands, the HTTP API, the MCP tools and the graph's nodes all validate through
`check`, so a bad value gets the same message everywhere. The settings travel in the run config's
`configurable` (what LangServe and the LangGraph SDK pass through); every node reads them with
`Context.from_config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import BeforeValidator

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

Mode = Literal["accuracy", "diversity"]
Style = Literal["concise", "detailed"]
Rank = Literal["tools", "doke", "gen"]  # tools: the ranking tools' order; doke / gen: an opt-in LLM re-rank
CHOICES: dict[str, tuple[str, ...]] = {"mode": get_args(Mode), "style": get_args(Style), "rank": get_args(Rank)}
HELP = {"mode": "accuracy: best matches; diversity: a more varied pick",
        "style": "concise: short answers; detailed: two sentences per item",
        "rank": "final order: the ranking tools, the LLM with DOKE knowledge, or catalog-constrained LLM generation"}


class SettingError(ValueError):
    """A mode, style or rank that does not exist."""


def check(name: str, value: Any) -> str:
    """`value` if it is one of the setting's choices, else SettingError with the one message every entry uses."""
    if value not in CHOICES[name]:
        raise SettingError(f"{name} must be one of {', '.join(CHOICES[name])} (got {value!r})")
    return str(value)


def _checked(name: str) -> BeforeValidator:
    return BeforeValidator(lambda v: check(name, v))


# request-model field types: the schema keeps the enum, a bad value gets check's message
ModeField = Annotated[Mode, _checked("mode")]
StyleField = Annotated[Style, _checked("style")]
RankField = Annotated[Rank, _checked("rank")]


@dataclass(frozen=True)
class Context:
    user_id: str = "default"
    thread_id: str = ""
    mode: str = "accuracy"
    style: str = "concise"
    seed: int = 0
    rank: str = "tools"

    def __post_init__(self) -> None:
        for name in CHOICES:
            check(name, getattr(self, name))

    @classmethod
    def from_config(cls, config: RunnableConfig | None) -> Context:
        c: dict[str, Any] = dict((config or {}).get("configurable") or {})
        return cls(str(c.get("user_id") or "default"), str(c.get("thread_id") or ""), c.get("mode") or "accuracy",
                   c.get("reply_style") or "concise", int(c.get("seed") or 0), c.get("rank") or "tools")
