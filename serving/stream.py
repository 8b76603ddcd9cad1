"""One turn over HTTP: the session events of graph/session.py, produced with async-only graph calls.

graph.session.astream_turn ends with a sync `get_state`, which an async checkpointer (AsyncSqliteSaver,
AsyncPostgresSaver) refuses on the event loop; here the final state comes from `aget_state`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.messages import HumanMessage

from graph.agent import athread_status, check_message
from graph.nodes.common import text_of
from graph.session import events_from_chunk, interrupted_event
from serving.cards import cards
from serving.runtime import Runtime

log = logging.getLogger("interec.serving")


def final_event(rt: Runtime, values: dict[str, Any], tokens: list[str], thread_id: str) -> dict[str, Any]:
    msgs = values.get("messages") or []
    reply = text_of(msgs[-1]) if msgs else ""
    streamed = "".join(tokens)
    items = values.get("items") or []
    return {"type": "final", "thread_id": thread_id, "reply": reply,
            "items": cards(rt.agent.deps.domain, [int(i["iid"]) for i in items]),
            "streamed_ok": bool(streamed) and streamed.strip() == reply.strip(),
            "llm_calls": values.get("llm_calls", 0), "invented": values.get("invented", [])}


async def interrupted_turn(rt: Runtime, cfg: dict[str, Any]) -> str | None:
    """The message of a turn that was cut off (worker killed mid-turn), unless a turn runs here right now."""
    conf = cfg["configurable"]
    if rt.running.get(conf["thread_id"]):
        return None
    return await athread_status(rt.agent.graph, conf["thread_id"], conf["user_id"])


@contextmanager
def running(rt: Runtime, cfg: dict[str, Any]) -> Iterator[None]:
    thread = cfg["configurable"]["thread_id"]
    rt.running[thread] = rt.running.get(thread, 0) + 1
    try:
        yield
    finally:
        rt.running[thread] -= 1
        if not rt.running[thread]:
            del rt.running[thread]


async def turn_events(rt: Runtime, text: str, cfg: dict[str, Any], thread_id: str) -> AsyncIterator[dict[str, Any]]:
    """progress... token... final; a failure after the stream started becomes an "error" event."""
    msg = check_message(text)
    tokens: list[str] = []
    interrupted = await interrupted_turn(rt, cfg)
    if interrupted:
        yield interrupted_event(interrupted)
    try:
        with running(rt, cfg):
            async for chunk in rt.agent.graph.astream({"messages": [HumanMessage(msg)]}, cfg,
                                                      stream_mode=["custom", "messages"]):
                for ev in events_from_chunk(chunk, tokens):
                    yield ev
        state = await rt.agent.graph.aget_state(cfg)
        yield {**final_event(rt, state.values, tokens, thread_id), "interrupted": interrupted}
    except Exception as e:  # noqa: BLE001 - the HTTP status is already sent; tell the client in-band
        log.exception("turn failed")
        yield {"type": "error", "message": f"{type(e).__name__}: {e}"[:300]}


async def run_turn(rt: Runtime, text: str, cfg: dict[str, Any], thread_id: str) -> dict[str, Any]:
    msg = check_message(text)
    interrupted = await interrupted_turn(rt, cfg)
    with running(rt, cfg):
        values = await rt.agent.graph.ainvoke({"messages": [HumanMessage(msg)]}, cfg)
    return {**final_event(rt, values, [], thread_id), "interrupted": interrupted}


def sse(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False, default=str)}\n\n"
