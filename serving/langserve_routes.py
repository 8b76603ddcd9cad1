"""LangServe routes for the compiled graph under /agent (invoke, batch, stream, stream_events, playground).

LangGraph 1.x graphs expose no config_specs, so LangServe drops `configurable` from the request;
`per_request_config` puts thread and user back, after the key check, from the caller's identity and
the X-Thread-Id header (or the body's config.configurable.thread_id). Inputs are checked like /chat:
only human messages, the last one 1 to 4,000 characters, and one input per batch (a batch shares
one thread, and its inputs would run at once on it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from graph.agent import InputError, check_message
from serving.auth import Identity, caller, identify
from serving.runtime import runtime_of

PATH = "/agent"
HUMAN = ("human", "user", "HumanMessage", "HumanMessageChunk")


def _last_human_text(messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        raise HTTPException(422, "input.messages must be a non-empty list of human messages")
    text = None
    for m in messages:
        if isinstance(m, str):
            text = m
            continue
        kind = (m.get("type") or m.get("role")) if isinstance(m, dict) else None
        if kind not in HUMAN:
            raise HTTPException(422, f"only human messages can be sent (got type {kind!r})")
        text = m.get("content")
    return check_message(text)


def check_input(value: Any) -> None:
    if not isinstance(value, dict) or set(value) - {"messages"}:
        raise HTTPException(422, "input must be {\"messages\": [...]} (other state fields are set by the agent)")
    _last_human_text(value.get("messages"))


async def check_body(request: Request) -> None:
    """Dependency for the POST routes: validate before LangServe runs the graph."""
    if request.method != "POST":
        return
    try:
        body = await request.json()
    except ValueError:
        return  # LangServe answers malformed JSON itself
    if not isinstance(body, dict):
        return
    inputs = body.get("inputs") if request.url.path.endswith("/batch") else [body.get("input")]
    if isinstance(inputs, list) and len(inputs) > 1:
        raise HTTPException(422, "batch: send one input per request; the inputs of one batch would run at once "
                                 "on the same conversation thread")
    try:
        for value in inputs or []:
            check_input(value)
    except InputError as e:
        raise HTTPException(400, str(e)) from None


async def per_request_config(config: dict[str, Any], request: Request) -> dict[str, Any]:
    rt = runtime_of(request)
    ident: Identity = getattr(request.state, "identity", None) or identify(request, rt.settings.api_keys)
    try:
        body = await request.json() if request.method == "POST" else {}
    except ValueError:
        body = {}
    sent = body.get("config") if isinstance(body, dict) else None
    conf = (sent.get("configurable") or {}) if isinstance(sent, dict) else {}
    thread = request.headers.get("X-Thread-Id") or conf.get("thread_id")
    if not thread:
        raise HTTPException(422, "a thread id is required: X-Thread-Id header or config.configurable.thread_id")
    cfg = rt.run_config(ident, str(thread), conf.get("mode", "accuracy"), conf.get("reply_style", "concise"),
                        conf.get("rank", "tools"))
    return {**config, **cfg, "configurable": {**config.get("configurable", {}), **cfg["configurable"]}}


def mount_langserve(app: FastAPI, graph: Any) -> None:
    from langserve import add_routes

    router = APIRouter()
    add_routes(router, graph, path=PATH, per_req_config_modifier=per_request_config,
               dependencies=[Depends(caller), Depends(check_body)],
               enabled_endpoints=["invoke", "batch", "stream", "stream_log", "stream_events", "input_schema",
                                  "output_schema", "config_schema", "playground"])
    app.include_router(router)
