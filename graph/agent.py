"""One call to get a ready agent for a domain: stores opened, LLM chosen, graph compiled."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from graph.builder import build_graph
from graph.deps import AgentDeps
from graph.nodes.common import MAX_MESSAGE_CHARS
from memory.checkpoint import open_checkpointer
from memory.demos import DemoStore
from memory.paths import memory_dir
from memory.profile import ProfileStore
from models.domain import Domain, load_domain
from models.embedder import get_embedder, set_query_threads


class InputError(ValueError):
    """A message the agent refuses before touching any state (empty, too long, not text)."""


def check_message(text: Any, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the message is not valid UTF-8 text") from None
    if not isinstance(text, str):
        raise InputError("the message must be text")
    if not text.strip():
        raise InputError("the message is empty")
    if len(text) > max_chars:
        raise InputError(f"the message is too long ({len(text):,} characters; the limit is {max_chars:,})")
    return text.strip()


@dataclass
class Agent:
    deps: AgentDeps
    graph: Any

    def config(self, thread_id: str, user_id: str = "default", **settings: Any) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id, "user_id": user_id, **settings}, "recursion_limit": 40}

    def ask(self, text: str, thread_id: str, user_id: str = "default", **settings: Any) -> dict[str, Any]:
        """One turn; returns the final state (reply = state["messages"][-1])."""
        msg = check_message(text)
        return self.graph.invoke({"messages": [HumanMessage(msg)]}, self.config(thread_id, user_id, **settings))


def make_deps(domain: Domain, llm: BaseChatModel, memory_path: Path | None = None, critic: str = "rules",
              use_models: bool = True, demos: bool = True) -> AgentDeps:
    set_query_threads()
    embedder = get_embedder()
    profiles = ProfileStore(embedder, path=(memory_path or memory_dir()) / "chroma")
    demo_store = DemoStore(domain, embedder) if demos else None
    return AgentDeps(domain, llm, profiles, demo_store, critic=critic, use_models=use_models)


def make_agent(domain_path: str | Path, llm: BaseChatModel | None = None, artifacts: str | Path | None = None,
               checkpointer: Any = None, memory_path: Path | None = None, critic: str = "rules",
               build: bool = False) -> Agent:
    domain = load_domain(domain_path, artifacts, build=build)
    if llm is None:
        from models.llm import get_chat_model

        llm = get_chat_model()
    deps = make_deps(domain, llm, memory_path, critic)
    if checkpointer is None:
        checkpointer = open_checkpointer(f"sqlite:///{memory_path / 'threads.sqlite'}" if memory_path else None)
    return Agent(deps, build_graph(deps, checkpointer))
