"""The FastAPI app: `create_app(settings, agent_factory)`; `uvicorn serving.app:app_from_env --factory`.

The lifespan opens the async checkpointer and builds the agent once per worker process; every route
reads them from app.state. Workers keep no conversation state of their own (threads live in the
checkpointer, profiles in Chroma), so several can run behind one port or a load balancer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from graph.agent import Agent, InputError
from memory.checkpoint import open_async_checkpointer
from serving.limits import BodyLimit
from serving.routes_catalog import router as catalog_router
from serving.routes_chat import router as chat_router
from serving.runtime import Runtime
from serving.settings import Settings
from serving.tracing import tracing
from serving.warmup import warm_up

STATIC = Path(__file__).parent / "static"
AgentFactory = Callable[[Any], Agent]  # checkpointer -> agent
log = logging.getLogger("interec.serving")


def default_agent_factory(settings: Settings) -> AgentFactory:
    def factory(checkpointer: Any) -> Agent:
        from graph.agent import make_agent

        return make_agent(settings.domain, artifacts=settings.artifacts, checkpointer=checkpointer,
                          memory_path=settings.memory_dir, critic=settings.critic, build=settings.build)

    return factory


def _limit_torch(n: int) -> None:
    """Each turn embeds the message (MiniLM). With torch's default of one thread per core, concurrent
    requests on a busy 2-core machine oversubscribe and spin: measured 920 ms per short query vs 17 ms
    with one thread."""
    if n > 0:
        import torch

        torch.set_num_threads(n)


def _lifespan(settings: Settings, factory: AgentFactory) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync graph nodes run in the loop's default executor; asyncio's default (cpu+4 threads) would
        # queue concurrent conversations behind a few slow LLM calls.
        loop = asyncio.get_running_loop()
        previous = getattr(loop, "_default_executor", None)  # restored after, for loops that outlive the app
        executor = ThreadPoolExecutor(settings.threads, thread_name_prefix="interec")
        loop.set_default_executor(executor)
        try:
            async with open_async_checkpointer(settings.checkpoint_url) as saver:
                await loop.run_in_executor(executor, _limit_torch, settings.torch_threads)
                agent = await loop.run_in_executor(executor, factory, saver)
                if settings.warmup:
                    await loop.run_in_executor(executor, warm_up, agent)
                async with _serving(app, settings, agent):
                    yield
        finally:
            loop._default_executor = previous  # type: ignore[attr-defined]
            executor.shutdown(wait=False, cancel_futures=True)

    return lifespan


@asynccontextmanager
async def _serving(app: FastAPI, settings: Settings, agent: Agent) -> AsyncIterator[None]:
    """Routes that need the compiled graph (LangServe's) are added here, once the graph exists."""
    with tracing(settings) as callbacks:
        if settings.langserve and not getattr(app.state, "langserve_mounted", False):
            from serving.langserve_routes import mount_langserve

            mount_langserve(app, agent.graph)
            app.state.langserve_mounted = True
        app.state.runtime = Runtime(agent, settings, callbacks)
        log.info("interec serving domain %s", agent.deps.domain.name)
        try:
            yield
        finally:
            app.state.runtime = None


def create_app(settings: Settings | None = None, agent_factory: AgentFactory | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(title="interec", version="0.1.0", lifespan=_lifespan(settings, agent_factory or default_agent_factory(settings)),
                  description="Conversational recommender: LangServe routes under /agent, SSE chat at /chat/stream, "
                              "catalog look-ups, the caller's profile, and a web chat at /.")
    app.state.settings = settings
    app.state.runtime = None
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.exception_handler(InputError)
    async def bad_message(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    app.include_router(chat_router)
    app.include_router(catalog_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def app_from_env() -> FastAPI:
    """Uvicorn factory (`--factory`): every worker process builds its app from the environment."""
    return create_app(Settings.from_env())
