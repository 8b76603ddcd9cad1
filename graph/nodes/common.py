"""Helpers shared by the nodes: message access and progress events (per-turn settings: graph/context.py)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

MAX_MESSAGE_CHARS = 4000


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
