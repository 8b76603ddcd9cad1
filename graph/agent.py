"""One call to get a ready agent for a domain: stores opened, LLM chosen, graph compiled."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from graph.builder import build_graph
from graph.context import Context
from graph.deps import AgentDeps
from graph.guard import strip_controls
from graph.nodes.common import MAX_MESSAGE_CHARS
from memory.checkpoint import open_checkpointer
from memory.demos import DemoStore
from memory.paths import memory_dir
from memory.profile import ProfileStore
from models.build import load_domain
from models.domain import Domain
from models.embedder import get_embedder, set_query_threads


class InputError(ValueError):
    """A message the agent refuses before touching any state (empty, too long, not text)."""


def max_message_chars() -> int:
    """The message length cap: INTEREC_MAX_MESSAGE_CHARS (default 4,000; prompts see at most 4,000)."""
    raw = os.environ.get("INTEREC_MAX_MESSAGE_CHARS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else MAX_MESSAGE_CHARS


def check_message(text: Any, max_chars: int | None = None) -> str:
    """The message as clean text (terminal escapes and invisible controls removed), or InputError."""
    max_chars = max_chars or max_message_chars()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the message is not valid UTF-8 text") from None
    if not isinstance(text, str):
        raise InputError("the message must be text")
    try:  # lone surrogates: undecodable bytes from a terminal (surrogateescape) or "\ud800" in JSON
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the message is not valid UTF-8 text") from None
    if len(text) > max_chars:
        raise InputError(f"the message is too long ({len(text):,} characters; the limit is {max_chars:,})")
    text = strip_controls(text)
    if not text.strip():
        raise InputError("the message is empty")
    return text.strip()


class ThreadError(InputError):
    """A thread the caller may not use (another user's)."""


def thread_status(graph: Any, thread_id: str, user_id: str) -> str | None:
    """Check a thread before a turn writes to it: another user's thread is a ThreadError (nothing is
    written); returns the text of an interrupted turn (killed or failed mid-run: its message has no
    answer; the checkpoint's pending `next` is not used, LangGraph may not have saved the last step), else None.

    The owner is the user id LangGraph records in each checkpoint's metadata.
    """
    snap = graph.get_state({"configurable": {"thread_id": thread_id}})
    return _status(snap, thread_id, user_id)


async def athread_status(graph: Any, thread_id: str, user_id: str) -> str | None:
    snap = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    return _status(snap, thread_id, user_id)


def _status(snap: Any, thread_id: str, user_id: str) -> str | None:
    if not snap.values:
        return None
    owner = (snap.metadata or {}).get("user_id")
    if owner is not None and owner != user_id:
        raise ThreadError(f"conversation '{thread_id}' belongs to another user; start a new one")
    msgs = snap.values.get("messages") or []
    if msgs and isinstance(msgs[-1], HumanMessage):  # every finished turn ends with the agent's message
        return str(msgs[-1].content)[:200]
    return None


@dataclass
class Agent:
    deps: AgentDeps
    graph: Any

    def config(self, thread_id: str, user_id: str = "default", **settings: Any) -> dict[str, Any]:
        """The run config of one turn; a bad mode, style or rank raises SettingError here, before the turn."""
        # metadata: what a trace is filed under (LangSmith); message text stays in the runs' inputs only
        cfg = {"configurable": {"thread_id": thread_id, "user_id": user_id, **settings}, "recursion_limit": 40,
               "metadata": {"user_id": user_id, "thread_id": thread_id, "domain": str(self.deps.domain.name)}}
        Context.from_config(cfg)  # type: ignore[arg-type]
        return cfg

    def ask(self, text: str, thread_id: str, user_id: str = "default", **settings: Any) -> dict[str, Any]:
        """One turn; returns the final state (reply = state["messages"][-1])."""
        msg = check_message(text)
        thread_status(self.graph, thread_id, user_id)
        return self.graph.invoke({"messages": [HumanMessage(msg)]}, self.config(thread_id, user_id, **settings))


def make_deps(domain: Domain, llm: BaseChatModel, memory_path: Path | None = None, critic: str = "rules",
              use_models: bool = True, demos: bool = True) -> AgentDeps:
    set_query_threads()
    embedder = get_embedder()
    profiles = ProfileStore(embedder, path=(memory_path or memory_dir()) / "chroma")
    deps = AgentDeps(domain, llm, profiles, None, critic=critic, use_models=use_models)
    if demos and deps.demo_mode == "nearest":  # prefix mode needs no store: every demo is in the prompt
        deps.demos = DemoStore(domain, embedder)
    deps.warm_planner()
    return deps


def make_agent(domain_path: str | Path, llm: BaseChatModel | None = None, artifacts: str | Path | None = None,
               checkpointer: Any = None, memory_path: Path | None = None, critic: str = "rules",
               build: bool = False) -> Agent:
    from models.tracing import configure_from_env

    configure_from_env()  # LANGSMITH_TRACING=true: a bounded client (no exit stall, no key in logs)
    domain = load_domain(domain_path, artifacts, build=build)
    if llm is None:
        from models.llm_factory import get_chat_model

        llm = get_chat_model()
    deps = make_deps(domain, llm, memory_path, critic)
    if checkpointer is None:
        checkpointer = open_checkpointer(f"sqlite:///{memory_path / 'threads.sqlite'}" if memory_path else None)
    return Agent(deps, build_graph(deps, checkpointer))
