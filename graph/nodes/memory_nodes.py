"""load_memory and save_memory: profile facets in, profile updates and history trimming out."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import RemoveMessage
from langchain_core.runnables import RunnableConfig

from graph.context import Context
from graph.deps import AgentDeps
from graph.nodes.common import emit, last_user_text
from graph.state import State, turn_reset

KEEP_MESSAGES = 40  # the checkpoint keeps this many messages; prompts see far fewer
KEEP_SHOWN = 200  # items remembered as already recommended in this thread


def make_load_memory(deps: AgentDeps) -> Any:
    def load_memory(state: State, config: RunnableConfig) -> dict[str, Any]:
        s = Context.from_config(config)
        emit({"stage": "memory", "user": s.user_id})
        update = turn_reset()
        update["profile"] = deps.profiles.get(s.user_id, deps.domain.name)
        text = last_user_text(state.get("messages", []))
        update["demos"] = deps.demos.select(text, deps.n_demos) if deps.demos is not None else []
        return update

    return load_memory


def classify(entry: str, deps: AgentDeps) -> str | None:
    """A like/dislike string -> an exact catalog title, a "column=value" fact, or None."""
    entry = entry.strip()
    if not entry:
        return None
    low = entry.lower()
    for col in deps.domain.schema.columns:
        if col.kind in ("list", "text") and col.values and len(col.values) <= 200:
            for v in col.values:
                if v.lower() == low or v.lower() + "s" == low:
                    return f"{col.name}={v}"
    m = deps.domain.resolver.best(entry, 0.9)
    return m.title if m else None


def make_save_memory(deps: AgentDeps) -> Any:
    def save_memory(state: State, config: RunnableConfig) -> dict[str, Any]:
        s = Context.from_config(config)
        plan = state.get("plan") or {}
        likes = [c for c in (classify(x, deps) for x in plan.get("like", [])) if c]
        dislikes = [c for c in (classify(x, deps) for x in plan.get("dislike", [])) if c]
        if likes or dislikes:
            emit({"stage": "profile", "like": likes, "dislike": dislikes})
            deps.profiles.update(s.user_id, deps.domain.name, like=likes, dislike=dislikes)
        msgs = state.get("messages", [])
        update: dict[str, Any] = {}
        new = [int(it["iid"]) for it in state.get("items", []) or [] if "iid" in it]
        if new:
            shown = [i for i in state.get("shown", []) or [] if i not in new] + new
            update["shown"] = shown[-KEEP_SHOWN:]
        if len(msgs) > KEEP_MESSAGES:
            update["messages"] = [RemoveMessage(id=m.id) for m in msgs[: len(msgs) - KEEP_MESSAGES] if m.id]
        return update

    return save_memory
