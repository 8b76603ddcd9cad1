"""A fake tool-calling chat model: a scripted policy that reads the conversation so far (tool results
included) and answers with tool calls or a final message, the way an OpenAI-class model would.

Only the LLM is fake; the tools it calls are real. It works with any agent that calls `bind_tools`
(langchain's create_agent, LangGraph's create_react_agent, an MCP-loaded tool list).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

Policy = Callable[[list[BaseMessage]], AIMessage]


class ToolCallingFake(BaseChatModel):
    steps: list[Policy] = Field(default_factory=list)
    bound: list[str] = Field(default_factory=list)  # names of the tools the agent bound
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "tool-calling-fake"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolCallingFake:  # type: ignore[override]
        self.bound = [getattr(t, "name", None) or t["name"] for t in tools]
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        k = sum(1 for m in messages if isinstance(m, AIMessage))  # this is the model's (k+1)-th turn
        msg = self.steps[k](list(messages)) if k < len(self.steps) else AIMessage("(no more steps)")
        return ChatResult(generations=[ChatGeneration(message=msg)])


def call(name: str, args: dict[str, Any], n: int) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call_{n}", "type": "tool_call"}])


def tool_json(messages: list[BaseMessage], index: int = -1) -> dict[str, Any]:
    """The JSON answer of a tool call (the last one by default)."""
    outs = [m for m in messages if isinstance(m, ToolMessage)]
    content = outs[index].content
    text = content if isinstance(content, str) else "".join(
        c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
    return json.loads(text)
