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

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from graph.agent import Agent, InputError
from memory.checkpoint import open_async_checkpointer
from serving.errors import errors
from serving.limits import BodyLimit
from serving.routes_catalog import router as catalog_router
from serving.routes_chat import router as chat_router
from serving.runtime import Runtime, domain_path_param
from serving.settings import Settings
from serving.tracing import tracing
from serving.warmup import warm_up

STATIC = Path(__file__).parent / "static"
AgentFactory = Callable[[Any], "Agent | list[Agent]"]  # checkpointer -> agent, or one agent per domain (default first)
log = logging.getLogger("interec.serving")


def default_agent_factory(settings: Settings) -> AgentFactory:
    def factory(checkpointer: Any) -> Agent | list[Agent]:
        from graph.agent import make_agent

        if len(settings.domains) == 1:
            return make_agent(settings.domain, artifacts=settings.artifacts, checkpointer=checkpointer,
                              memory_path=settings.memory_dir, critic=settings.critic, build=settings.build)
        from models.llm_factory import get_chat_model

        llm = get_chat_model()  # one LLM (one embedded model server) for every catalog
        return [make_agent(d, llm=llm, artifacts=settings.artifacts, checkpointer=checkpointer,
                           memory_path=settings.memory_dir, critic=settings.critic, build=settings.build)
                for d in settings.domains]

    return factory


def runtimes_for(agents: list[Agent], settings: Settings, callbacks: list[Any]) -> dict[str, Runtime]:
    """One runtime per domain, by domain name; the first is the default and keeps un-namespaced threads."""
    out: dict[str, Runtime] = {}
    for n, agent in enumerate(agents):
        name = str(agent.deps.domain.name)
        if name in out:
            raise ValueError(f"two served domains are both named '{name}'; each needs its own name")
        out[name] = Runtime(agent, settings, callbacks, namespace="" if n == 0 else name)
    return out


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
                made = await loop.run_in_executor(executor, factory, saver)
                agents = made if isinstance(made, list) else [made]
                if settings.warmup:
                    for agent in agents:
                        await loop.run_in_executor(executor, warm_up, agent)
                async with _serving(app, settings, agents):
                    yield
        finally:
            loop._default_executor = previous  # type: ignore[attr-defined]
            executor.shutdown(wait=False, cancel_futures=True)

    return lifespan


@asynccontextmanager
async def _serving(app: FastAPI, settings: Settings, agents: list[Agent]) -> AsyncIterator[None]:
    """Routes that need the compiled graph (LangServe's, for the default domain) are added here, once it exists."""
    with tracing(settings) as callbacks:
        runtimes = runtimes_for(agents, settings, callbacks)
        if settings.langserve and not getattr(app.state, "langserve_mounted", False):
            from serving.langserve_routes import mount_langserve

            mount_langserve(app, agents[0].graph)
            app.state.langserve_mounted = True
        app.state.runtimes = runtimes
        app.state.runtime = next(iter(runtimes.values()))
        log.info("interec serving domain(s) %s", ", ".join(runtimes))
        try:
            yield
        finally:
            app.state.runtime = None
            app.state.runtimes = {}


def create_app(settings: Settings | None = None, agent_factory: AgentFactory | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(title="interec", version="0.1.0", lifespan=_lifespan(settings, agent_factory or default_agent_factory(settings)),
                  description="Conversational recommender: LangServe routes under /agent, SSE chat at /chat/stream, "
                              "catalog look-ups, the caller's profile, and a web chat at /.")
    app.state.settings = settings
    app.state.runtime = None
    app.state.runtimes = {}
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.exception_handler(InputError)
    async def bad_message(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    app.include_router(chat_router)
    app.include_router(catalog_router)
    # the same routes per domain: /d/{name}/chat/stream, /d/{name}/items, /d/{name}/profile, ...
    per_domain = [Depends(domain_path_param)]
    unknown = errors(404)  # a domain this server does not serve
    app.include_router(chat_router, prefix="/d/{domain}", dependencies=per_domain, responses=unknown)
    app.include_router(catalog_router, prefix="/d/{domain}", dependencies=per_domain, responses=unknown)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/domains", tags=["service"], summary="The catalogs served here, the default first (no key needed)")
    async def domains() -> dict[str, Any]:
        runtimes: dict[str, Runtime] = app.state.runtimes or {}
        return {"default": next(iter(runtimes), None),
                "domains": [{"name": n, "items": rt.agent.deps.domain.n_items,
                             "item_word": rt.agent.deps.domain.config.item_word, "prefix": f"/d/{n}"}
                            for n, rt in runtimes.items()]}

    return app


def app_from_env() -> FastAPI:
    """Uvicorn factory (`--factory`): every worker process builds its app from the environment."""
    return create_app(Settings.from_env())
