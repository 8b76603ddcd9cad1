"""Shared helpers for the serving tests: a streaming scripted LLM, an app around a prebuilt agent,
an in-process client that runs the app's lifespan, and an SSE parser."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from graph.agent import Agent, make_deps
from graph.builder import build_graph
from graph.deps import AgentDeps
from serving.app import create_app
from serving.settings import Settings
from tests.fakes import ScriptedLLM

TOY_PLAN = {"reply": None, "like": ["Toy Story"], "dislike": [], "steps": [
    {"tool": "filter", "where": [{"col": "year", "op": ">", "val": "2000"}]},
    {"tool": "similar", "titles": ["Toy Story"]},
    {"tool": "rank", "by": "preference", "prefer": ["Toy Story"], "avoid": []}]}
COMEDY_PLAN = {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"}]},
                         {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}


class StreamingScriptedLLM(ScriptedLLM):
    """ScriptedLLM that streams its text word by word, as a real chat model would."""

    delay: float = 0.0  # seconds between streamed words (lets a browser test see a reply grow)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        text = str(self._generate(messages, stop, None, **kwargs).generations[0].message.content)
        words = text.split(" ")
        for n, w in enumerate(words):
            piece = w + (" " if n < len(words) - 1 else "")
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            if self.delay:
                time.sleep(self.delay)
            yield chunk


def shared_deps(domain: Any, memory_path: Path) -> AgentDeps:
    """Deps for a test module (stores, loaded vectors); each app swaps in its own scripted LLM."""
    deps = make_deps(domain, ScriptedLLM(), memory_path=memory_path, use_models=False)
    deps.code_plans = False  # these tests script the planner's output
    return deps


def make_app(deps: AgentDeps, llm: ScriptedLLM, **settings: Any) -> Any:
    """An app around prebuilt deps; the lifespan compiles the graph with the app's own checkpointer."""
    deps.llm = llm

    def factory(checkpointer: Any) -> Agent:
        return Agent(deps, build_graph(deps, checkpointer))

    s = Settings(domain=str(deps.domain.config.root), checkpoint_url=settings.pop("checkpoint_url", ":memory:"), **settings)
    return create_app(s, factory)


@asynccontextmanager
async def client_for(app: Any, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client; httpx's ASGITransport does not run the lifespan, so it is run here."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers, timeout=60) as c:
            yield c


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            out.append((fields["event"], json.loads(fields.get("data", "{}"))))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A real uvicorn on 127.0.0.1 in a background thread (for browsers and other processes)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def chroma_cli() -> str | None:
    """The `chroma` command of this virtualenv (from the chromadb wheel), else one on PATH."""
    local = Path(sys.executable).parent / "chroma"
    return str(local) if local.exists() else shutil.which("chroma")


def start_chroma(cli: str, path: Path, port: int) -> subprocess.Popen[bytes]:
    """`chroma run` on 127.0.0.1:port, returned once its heartbeat answers (the test fails after 60 s)."""
    proc = subprocess.Popen([cli, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("chroma run did not start")
        time.sleep(0.2)
