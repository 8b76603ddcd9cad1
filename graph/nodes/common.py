"""Helpers shared by the nodes: per-turn settings from the run config, message access, progress events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

MAX_MESSAGE_CHARS = 4000


RANKS = ("tools", "doke", "gen")


@dataclass(frozen=True)
class TurnSettings:
    user_id: str = "default"
    thread_id: str = ""
    mode: str = "accuracy"  # accuracy | diversity
    style: str = "concise"  # concise | detailed
    seed: int = 0
    rank: str = "tools"  # tools | doke | gen: an opt-in LLM re-rank of the tools' top items

    @classmethod
    def from_config(cls, config: RunnableConfig | None) -> TurnSettings:
        c: dict[str, Any] = dict((config or {}).get("configurable") or {})
        mode = str(c["mode"]) if c.get("mode") in ("accuracy", "diversity") else "accuracy"
        style = str(c["reply_style"]) if c.get("reply_style") in ("concise", "detailed") else "concise"
        rank = str(c["rank"]) if c.get("rank") in RANKS else "tools"
        return cls(str(c.get("user_id") or "default"), str(c.get("thread_id") or ""), mode, style,
                   int(c.get("seed") or 0), rank)


def emit(event: dict[str, Any]) -> None:
    """Custom stream event (chat loop and server show these); a no-op outside a streaming run."""
    try:
        from langgraph.config import get_stream_writer

        get_stream_writer()(event)
    except Exception:  # noqa: BLE001 - not inside a graph run (unit tests call nodes directly)
        pass


def text_of(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


def last_user_text(messages: list[AnyMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            return text_of(m)[:MAX_MESSAGE_CHARS]
    return ""


def user_texts(messages: list[AnyMessage]) -> list[str]:
    return [text_of(m)[:MAX_MESSAGE_CHARS] for m in messages if isinstance(m, HumanMessage)]


def history(messages: list[AnyMessage], turns: int, exclude_last: bool = True) -> str:
    """The last few exchanges as compact text (long ones cut), for prompts."""
    msgs = [m for m in messages if isinstance(m, HumanMessage | AIMessage)]
    if exclude_last and msgs and isinstance(msgs[-1], HumanMessage):
        msgs = msgs[:-1]
    lines = []
    for m in msgs[-2 * turns :]:
        who = "User" if isinstance(m, HumanMessage) else "Assistant"
        t = " ".join(text_of(m).split())
        lines.append(f"{who}: {t[:300]}{'...' if len(t) > 300 else ''}")
    return "\n".join(lines)
