"""A scripted chat model for graph tests: plan / critic / reply calls each pop from their own script.

It is a real LangChain chat model (so callbacks, streaming and tracing see it), with no network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field


def default_reply(prompt: str) -> str:
    titles = [re.sub(r"^\d+\.\s+", "", line).rsplit(" (", 1)[0] for line in
              (prompt.split("Items:\n", 1)[1].split("\n\nFacts:", 1)[0] if "Items:\n" in prompt else "").splitlines()
              if re.match(r"^\d+\.", line)]
    if not titles:
        return "Here is what I found."
    return "You might enjoy:\n" + "\n".join(f"{i}. {t} - a good fit." for i, t in enumerate(titles, 1))


class ScriptedLLM(BaseChatModel):
    plans: list[Any] = Field(default_factory=list)
    critiques: list[Any] = Field(default_factory=list)
    replies: list[Any] = Field(default_factory=list)  # str, or callable(prompt) -> str
    reply_fn: Callable[[str], str] | None = None
    log: list[tuple[str, str]] = Field(default_factory=list)  # (kind, last prompt text)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _kind(self, messages: list[BaseMessage]) -> str:
        system = str(messages[0].content) if messages else ""
        if system.startswith("You plan"):
            return "plan"
        if system.startswith("You check"):
            return "critic"
        return "reply"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        kind = self._kind(messages)
        prompt = str(messages[-1].content)
        self.log.append((kind, prompt))
        if kind == "plan":
            item = self.plans.pop(0) if self.plans else {"reply": "Hello!", "steps": []}
        elif kind == "critic":
            item = self.critiques.pop(0) if self.critiques else {"ok": True, "advice": ""}
        else:
            item = self.replies.pop(0) if self.replies else (self.reply_fn or default_reply)
            if callable(item):
                item = item(prompt)
        if isinstance(item, Exception):
            raise item
        text = item if isinstance(item, str) else json.dumps(item)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.log if k == kind)
