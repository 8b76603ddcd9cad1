"""Native chat routes: one turn as JSON (/chat) or as server-sent events (/chat/stream), and a thread's history.

Thread ids are the caller's own names; the checkpointer sees them prefixed with the caller's user id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from graph.agent import check_message
from graph.context import ModeField, RankField, StyleField
from graph.nodes.common import text_of
from serving.auth import Caller, Identity, check_name, new_thread_id
from serving.errors import errors
from serving.runtime import runtime_of
from serving.stream import run_turn, sse, turn_events
from serving.turn_lock import acquire_turn

router = APIRouter(tags=["chat"])


class ChatRequest(BaseModel):
    message: str = Field(description="what the user says (1 to 4,000 characters)")
    thread_id: str | None = Field(None, description="your conversation id; a new one is made when missing")
    mode: ModeField = "accuracy"
    reply_style: StyleField = "concise"
    rank: RankField = Field("tools", description="final order: the ranking tools, or an LLM re-rank of their top "
                                            "items with DOKE knowledge (doke) or catalog-constrained generation (gen)")


class Card(BaseModel):
    iid: int
    title: str | None
    fields: dict[str, Any]


class ChatReply(BaseModel):
    thread_id: str
    reply: str
    items: list[Card]
    streamed_ok: bool
    llm_calls: int
    invented: list[str]
    interrupted: str | None = Field(None, description="the previous message of this thread, when its turn was cut "
                                                      "off (server killed mid-turn) and never answered")


def _prepare(req: ChatRequest, request: Request, ident: Identity) -> tuple[Any, dict[str, Any], str, str]:
    rt = runtime_of(request)
    text = check_message(req.message)  # InputError -> 400 before any state is touched
    thread = check_name(req.thread_id, "thread id") if req.thread_id else new_thread_id()
    return rt, rt.run_config(ident, thread, req.mode, req.reply_style, req.rank), thread, text


BUSY_409 = errors(400, 401, 409, 413, 422, 503)


@router.post("/chat", response_model=ChatReply, summary="One turn, answered when it is finished", responses=BUSY_409)
async def chat(req: ChatRequest, request: Request, ident: Caller) -> dict[str, Any]:
    rt, cfg, thread, text = _prepare(req, request, ident)
    with acquire_turn(rt.settings.memory_dir, cfg["configurable"]["thread_id"]):
        out = await run_turn(rt, text, cfg, thread)
    out.pop("type", None)
    return out


@router.post("/chat/stream", summary="One turn as server-sent events: progress..., token..., final (or error)",
             response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}, **BUSY_409})
async def chat_stream(req: ChatRequest, request: Request, ident: Caller) -> StreamingResponse:
    rt, cfg, thread, text = _prepare(req, request, ident)
    lock = acquire_turn(rt.settings.memory_dir, cfg["configurable"]["thread_id"])  # 409 before the stream starts

    async def events() -> Any:
        try:
            async for ev in turn_events(rt, text, cfg, thread):
                yield sse(ev)
        finally:  # also when the client goes away mid-stream
            lock.release()

    body = events()
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"X-Thread-Id": thread, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/threads/{thread_id}", summary="A conversation's messages and its last recommended items",
            responses=errors(401, 404, 422, 503))
async def thread_history(thread_id: str, request: Request, ident: Caller) -> dict[str, Any]:
    rt = runtime_of(request)
    cfg = rt.run_config(ident, check_name(thread_id, "thread id"))
    snap = await rt.agent.graph.aget_state(cfg)
    values = snap.values
    if not values:  # the same answer for another user's id and for one never used: ids cannot be probed
        raise HTTPException(404, f"no conversation '{thread_id}' for this user")
    msgs = [{"role": "user" if isinstance(m, HumanMessage) else "assistant", "text": text_of(m)}
            for m in values.get("messages", []) if isinstance(m, HumanMessage | AIMessage)]
    last = values.get("messages") or [None]
    pending = isinstance(last[-1], HumanMessage) and not rt.running.get(cfg["configurable"]["thread_id"])
    return {"thread_id": thread_id, "messages": msgs, "items": values.get("items", []), "interrupted": pending}
