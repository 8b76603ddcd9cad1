"""What the graph's nodes need besides state: the domain, its tools, the LLM and the stores.

Built once per process (CLI, server lifespan, test fixture) and closed over by the nodes, so no
node opens clients or loads models on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from langchain_core.language_models import BaseChatModel

from graph.plan_schema import make_plan_model, plan_tools
from memory.demos import DemoStore
from memory.profile import ProfileStore
from models.domain import Domain
from prompts import load
from tools.context import ToolContext


@dataclass
class AgentDeps:
    domain: Domain
    llm: BaseChatModel
    profiles: ProfileStore
    demos: DemoStore | None = None
    critic: str = "rules"  # rules | llm (an extra LLM call that reviews each attempt)
    max_attempts: int = 3
    history_turns: int = 3  # user/assistant exchanges shown to the LLM
    n_demos: int = 3
    use_models: bool = True
    code_small_talk: bool = True  # answer greetings / thanks / "who are you" without an LLM call
    code_plans: bool = True  # plan fully understood requests in code (see graph/nodes/plan.py: understood)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def tools(self, mode: str = "accuracy", seed: int = 0) -> ToolContext:
        """A light per-turn context; vectors, index and models are loaded once and shared."""
        return ToolContext(self.domain, mode, seed, self.use_models, self._shared)

    @cached_property
    def plan_model(self) -> Any:
        return make_plan_model(self.domain.schema)

    @cached_property
    def plan_system(self) -> str:
        from graph.hints import year_column

        schema = self.domain.schema
        tool_lines = []
        for t in plan_tools():
            fields = ", ".join(t.make_args(schema).model_fields)
            tool_lines.append(f"- {t.name} {{{fields}}}: {t.description}")
        lists = [c.name for c in schema.columns if c.kind == "list"]
        word = self.domain.config.item_word
        return load("plan_system").format(item=word, items=word + "s", tools="\n".join(tool_lines),
                                          ycol=year_column(schema) or "year", listcol=lists[0] if lists else "category",
                                          schema=schema.prompt())
