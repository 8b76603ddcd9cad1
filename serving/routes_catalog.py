"""Read-only routes: health, catalog look-ups (by id, by title), and the caller's own profile."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from memory.checkpoint import checkpoint_kind
from serving.auth import Caller
from serving.cards import cards
from serving.errors import errors
from serving.runtime import runtime_of

router = APIRouter()


@router.get("/health", tags=["service"], summary="Liveness and what this worker is connected to (no key needed)")
async def health(request: Request) -> dict[str, Any]:
    rt = getattr(request.app.state, "runtime", None)
    s = request.app.state.settings
    host = os.environ.get("INTEREC_CHROMA_HOST")
    out: dict[str, Any] = {"status": "ok" if rt else "starting", "worker": os.getpid(), "auth": bool(s.api_keys),
                           "tracing": s.tracing,
                           "checkpointer": checkpoint_kind(s.checkpoint_url),
                           "chroma": f"server {host}:{os.environ.get('INTEREC_CHROMA_PORT', '8000')}" if host else "embedded"}
    if rt:
        d = rt.agent.deps.domain
        out.update(domain=d.name, items=d.n_items, item_word=d.config.item_word)
    return out


@router.get("/items/{iid}", tags=["catalog"], summary="One catalog item by its id (iid)",
            responses=errors(401, 404, 422, 503))
async def item(iid: int, request: Request, _: Caller) -> dict[str, Any]:
    rt = runtime_of(request)
    got = cards(rt.agent.deps.domain, [iid]) if 0 <= iid < rt.agent.deps.domain.n_items else []
    if not got:
        raise HTTPException(404, f"no item with id {iid}")
    return got[0]


@router.get("/items", tags=["catalog"], summary="Items whose title matches free text (typos, years, articles)",
            responses=errors(401, 422, 503))
async def find_items(request: Request, _: Caller, title: Annotated[str, Query(min_length=1, max_length=200)],
                     k: Annotated[int, Query(ge=1, le=20)] = 5) -> dict[str, Any]:
    domain = runtime_of(request).agent.deps.domain
    matches = await run_in_threadpool(domain.resolver.resolve, title, k)
    by_iid = {c["iid"]: c for c in cards(domain, [m.iid for m in matches])}
    return {"query": title, "matches": [{**by_iid[m.iid], "confidence": round(m.confidence, 3)}
                                        for m in matches if m.iid in by_iid]}


@router.get("/profile", tags=["profile"], summary="What the agent has learned about the caller's tastes",
            responses=errors(401, 503))
async def profile(request: Request, ident: Caller) -> dict[str, Any]:
    rt = runtime_of(request)
    facets = await run_in_threadpool(rt.agent.deps.profiles.get, ident.user_id, rt.domain_name)
    return {"user_id": ident.user_id, "domain": rt.domain_name, **facets}


@router.delete("/profile", tags=["profile"], summary="Forget the caller's profile in this domain",
            responses=errors(401, 503))
async def forget_profile(request: Request, ident: Caller) -> dict[str, Any]:
    rt = runtime_of(request)
    await run_in_threadpool(rt.agent.deps.profiles.clear, ident.user_id, rt.domain_name)
    return {"user_id": ident.user_id, "domain": rt.domain_name, "cleared": True}
