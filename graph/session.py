"""One streamed turn as plain events, for any front end (terminal, SSE, tests).

Events: {"type": "progress", ...stage fields}, {"type": "token", "text"}, and finally
{"type": "final", "reply", "items", "streamed_ok"}; `streamed_ok` is False when the grounding check
changed the streamed text, so a front end knows to show the checked reply instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage

from graph.agent import Agent, athread_status, check_message, thread_status
from graph.nodes.common import text_of

PROGRESS_TEXT = {
    "memory": lambda e: "recalling what I know about you",
    "planning": lambda e: "planning" + (f" (attempt {e['attempt']})" if e.get("attempt", 1) > 1 else ""),
    "tool": lambda e: f"running {e['tool']} on {e['candidates']:,} candidates",
    "reflecting": lambda e: "checking the result",
    "critique": lambda e: f"critic: {e['advice']}",
    "answering": lambda e: "writing the answer",
    "grounding": lambda e: f"removed invented titles: {', '.join(e['removed'])}",
    "profile": lambda e: "noted your tastes",
}


def describe(event: dict[str, Any]) -> str | None:
    fn = PROGRESS_TEXT.get(str(event.get("stage")))
    return fn(event) if fn else None


def events_from_chunk(chunk: Any, tokens: list[str]) -> Iterator[dict[str, Any]]:
    """Map one (mode, data) chunk of graph.stream(stream_mode=["custom", "messages"]) to session events."""
    mode, data = chunk
    if mode == "custom" and isinstance(data, dict):
        yield {"type": "progress", **data, "text": describe(data)}
    elif mode == "messages":
        msg, meta = data
        if meta.get("langgraph_node") == "respond" and isinstance(msg, AIMessageChunk) and msg.content:
            piece = text_of(msg)
            tokens.append(piece)
            yield {"type": "token", "text": piece}


def final_event(values: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
    reply = text_of(values["messages"][-1]) if values.get("messages") else ""
    streamed = "".join(tokens)
    return {"type": "final", "reply": reply, "items": values.get("items", []),
            "streamed_ok": bool(streamed) and streamed.strip() == reply.strip(),
            "llm_calls": values.get("llm_calls", 0), "invented": values.get("invented", [])}


def interrupted_event(text: str) -> dict[str, Any]:
    """Reported before the next turn: the previous one was cut off (process killed) and has no answer."""
    return {"type": "progress", "stage": "interrupted", "message": text,
            "text": f"your previous message was interrupted before it was answered (\"{text[:80]}\"); "
                    "it stays in the history, ask again if you still want it"}


def stream_turn(agent: Agent, text: str, thread_id: str, user_id: str, **settings: Any) -> Iterator[dict[str, Any]]:
    msg = check_message(text)
    interrupted = thread_status(agent.graph, thread_id, user_id)
    if interrupted:
        yield interrupted_event(interrupted)
    cfg = agent.config(thread_id, user_id, **settings)
    tokens: list[str] = []
    for chunk in agent.graph.stream({"messages": [HumanMessage(msg)]}, cfg, stream_mode=["custom", "messages"]):
        yield from events_from_chunk(chunk, tokens)
    yield final_event(agent.graph.get_state(cfg).values, tokens)


async def astream_turn(agent: Agent, text: str, thread_id: str, user_id: str, **settings: Any) -> AsyncIterator[dict[str, Any]]:
    msg = check_message(text)
    interrupted = await athread_status(agent.graph, thread_id, user_id)
    if interrupted:
        yield interrupted_event(interrupted)
    cfg = agent.config(thread_id, user_id, **settings)
    tokens: list[str] = []
    async for chunk in agent.graph.astream({"messages": [HumanMessage(msg)]}, cfg, stream_mode=["custom", "messages"]):
        for ev in events_from_chunk(chunk, tokens):
            yield ev
    yield final_event((await agent.graph.aget_state(cfg)).values, tokens)
