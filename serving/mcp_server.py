"""interec over the Model Context Protocol (the official `mcp` SDK): the domain's tools, a `chat` tool and the
catalog schema as a resource, on stdio or streamable HTTP (`python app.py mcp`).

Why: any MCP client (Claude Desktop, an IDE, `langchain-mcp-adapters`) can then use the catalog's search,
ranking, knowledge and explain tools, or talk to the whole agent. The tools are exactly
`tools.langchain_tools.domain_tools` (same names, same JSON schemas, same code); `chat` runs one agent turn
in a thread, like POST /chat. The low-level server is used (not FastMCP's decorators) because the tools'
argument schemas are built per domain at run time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph.context import ModeField, StyleField
from models.domain import Domain
from tools.context import ToolContext
from tools.langchain_tools import bad_input, domain_tools, item_records

log = logging.getLogger("interec.mcp")
SERVER_NAME = "interec"
THREAD_CHARS = r"^[A-Za-z0-9_.:-]{1,64}$"


class ChatArgs(BaseModel):
    """One agent turn: the agent keeps the conversation per (user, thread)."""

    model_config = ConfigDict(extra="forbid")
    message: Annotated[str, Field(min_length=1, max_length=4000, description="what the user says")]
    thread_id: str | None = Field(None, pattern=THREAD_CHARS,
                                  description="conversation id; omit to start a new one (it is returned)")
    user_id: str = Field("mcp", pattern=THREAD_CHARS, description="whose profile and threads")
    mode: ModeField = "accuracy"
    reply_style: StyleField = "concise"


AgentFactory = Callable[[Domain, dict[str, Any]], Any]  # (domain, shared model cache) -> graph.agent.Agent


def default_agent_factory(memory_dir: Path | None = None, critic: str = "rules") -> AgentFactory:
    """The agent with the configured LLM (INTEREC_LLM_*), the SQLite checkpointer and profiles in the memory dir."""

    def factory(domain: Domain, shared: dict[str, Any]) -> Any:
        from graph.agent import Agent, make_deps
        from graph.builder import build_graph
        from memory.checkpoint import open_checkpointer
        from models.llm_factory import get_chat_model

        deps = make_deps(domain, get_chat_model(), memory_dir, critic)
        deps._shared = shared  # one copy of the index, vectors and models for the tools and the agent
        url = f"sqlite:///{memory_dir / 'threads.sqlite'}" if memory_dir else None
        return Agent(deps, build_graph(deps, open_checkpointer(url)))

    return factory


@dataclass
class McpApp:
    """What the MCP handlers share: the tools, the lazily built agent (first `chat` call) and the schema."""

    ctx: ToolContext
    agent_factory: AgentFactory
    tools: dict[str, Any] = field(init=False)
    _agent: Any = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.tools = {t.name: t for t in domain_tools(self.ctx)}

    @property
    def domain(self) -> Domain:
        return self.ctx.domain

    @property
    def schema_uri(self) -> str:
        return f"interec://{self.domain.name}/schema"

    def agent(self) -> Any:
        with self._lock:
            if self._agent is None:
                self._agent = self.agent_factory(self.domain, self.ctx.shared)
            return self._agent

    def schema_json(self) -> str:
        d = self.domain
        cols = [{"name": c.name, "kind": c.kind, "description": c.description, "values": c.values[:50],
                 **({"min": c.min, "max": c.max} if c.kind == "number" else {})} for c in d.schema.columns]
        return json.dumps({"domain": d.name, "item_word": d.config.item_word, "description": d.config.description,
                           "items": d.n_items, "columns": cols, "tools": list(self.tools) + ["chat"]},
                          ensure_ascii=False)

    def call(self, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        """(text, is_error) for one tool call; blocking (the handlers run it in a worker thread)."""
        if name == "chat":
            return self.chat(arguments)
        tool = self.tools.get(name)
        if tool is None:
            return f"unknown tool '{name}' (known: {', '.join([*self.tools, 'chat'])})", True
        msg = tool.invoke({"name": name, "args": arguments, "id": f"mcp-{uuid.uuid4().hex[:8]}", "type": "tool_call"})
        return str(msg.content), getattr(msg, "status", "success") == "error"

    def chat(self, arguments: dict[str, Any]) -> tuple[str, bool]:
        from graph.agent import InputError

        try:
            a = ChatArgs.model_validate(arguments)
        except ValidationError as e:
            return bad_input(e), True
        thread = a.thread_id or uuid.uuid4().hex[:12]
        agent = self.agent()
        try:
            state = agent.ask(a.message, thread, a.user_id, mode=a.mode, reply_style=a.reply_style)
        except InputError as e:  # an empty message, another user's thread: the caller can fix it
            return str(e), True
        reply = state["messages"][-1].content if state.get("messages") else ""
        ids = [int(it["iid"]) for it in state.get("items") or [] if "iid" in it]
        return json.dumps({"thread_id": thread, "reply": reply, "items": item_records(self.ctx, ids)},
                          ensure_ascii=False, separators=(",", ":")), False


def build_server(app: McpApp) -> Any:
    """The low-level MCP server over `app`: tools/list, tools/call, resources/list, resources/read."""
    import anyio
    import mcp.types as types
    from mcp.server.lowlevel import Server

    server: Server[Any, Any] = Server(
        SERVER_NAME, version="0.1.0",
        instructions=(f"Recommender tools over the {app.domain.name} catalog ({app.domain.config.item_word}s): "
                      "search, retrieve, similar, rank for a user, look-up, knowledge facts, explain, SQL; "
                      f"`chat` runs the whole interec agent for one turn. The schema is the resource {app.schema_uri}."))

    chat_tool = types.Tool(name="chat", description=(
        "Talk to the interec recommender agent: one turn in a conversation (it remembers the thread and the "
        "user's tastes). Returns the reply, the recommended items and the thread id to continue."),
        inputSchema=ChatArgs.model_json_schema())

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        out = [types.Tool(name=t.name, description=t.description, inputSchema=t.tool_call_schema.model_json_schema())
               for t in app.tools.values()]
        return [*out, chat_tool]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        text, is_error = await anyio.to_thread.run_sync(app.call, name, arguments or {})
        structured = None
        if not is_error:
            try:
                parsed = json.loads(text)
                structured = parsed if isinstance(parsed, dict) else None
            except ValueError:
                structured = None
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structuredContent=structured, isError=is_error)

    @server.list_resources()
    async def list_resources() -> list[types.Resource]:
        return [types.Resource(uri=app.schema_uri, name=f"{app.domain.name} catalog schema",  # type: ignore[arg-type]
                               description="columns (kind, meaning, values, ranges) of the item table the tools use",
                               mimeType="application/json")]

    @server.read_resource()
    async def read_resource(uri: Any) -> list[Any]:
        from mcp.server.lowlevel.helper_types import ReadResourceContents

        if str(uri) != app.schema_uri:
            raise ValueError(f"unknown resource {uri} (known: {app.schema_uri})")
        return [ReadResourceContents(content=app.schema_json(), mime_type="application/json")]

    return server


# ---- transports ----------------------------------------------------------------------------------------------------
def protocol_stdout() -> Any:
    """The protocol's own copy of stdout; fd 1 then points at stderr, so a stray print (or a native library's
    log line) cannot corrupt the JSON-RPC stream."""
    import io

    import anyio

    proto = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return anyio.wrap_file(io.TextIOWrapper(os.fdopen(proto, "wb"), encoding="utf-8", line_buffering=True))


async def serve_stdio(app: McpApp, stdout: Any = None) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(app)
    async with stdio_server(stdout=stdout) as (read, write):
        await server.run(read, write, server.create_initialization_options())


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def http_app(app: McpApp, host: str) -> Any:
    """A Starlette app serving streamable HTTP at /mcp (DNS-rebinding protection on loopback)."""
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette
    from starlette.routing import Route

    security = None
    if host in LOOPBACK:
        security = TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                             allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                                             allowed_origins=["http://127.0.0.1:*", "http://localhost:*",
                                                              "http://[::1]:*"])
    manager = StreamableHTTPSessionManager(app=build_server(app), security_settings=security)

    class Endpoint:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await manager.handle_request(scope, receive, send)

    return Starlette(routes=[Route("/mcp", endpoint=Endpoint())], lifespan=lambda _: manager.run())


def parse_host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--http wants HOST:PORT (e.g. 127.0.0.1:8765), not {text!r}")
    return host.strip("[]"), int(port)
