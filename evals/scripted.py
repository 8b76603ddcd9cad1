"""A chat model with no language model behind it, for `--llm scripted` runs and tests.

It answers each kind of prompt the way "no intelligence" would: the agent's planner returns an empty plan
(so only the agent's code-side repair from the request's hints runs), the critic accepts, the reply
writer returns nothing (the agent then uses its templated reply), a pick/rank prompt echoes the candidates
in the given order, a judge calls a tie, and the LLM-alone baseline knows no titles.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

CANDIDATE_LINE = re.compile(r"^\s*(\d+)\.\s+(.+?)\s*$")


class ScriptedEvalLLM(BaseChatModel):
    """Deterministic stand-in for an LLM; `calls` counts invocations."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted-eval"

    def _answer(self, system: str, prompt: str) -> str:
        if system.startswith("You plan"):
            return json.dumps({"reply": None, "steps": [], "like": [], "dislike": []})
        if system.startswith("You check"):
            return json.dumps({"ok": True, "advice": ""})
        if system.startswith(("You pick", "You rank")):
            n = re.search(r"\bpick the (\d+)\b|\brank all (\d+)\b", prompt)
            k = int(next(g for g in n.groups() if g)) if n else 5
            lines = [m.group(2) for line in prompt.splitlines() if (m := CANDIDATE_LINE.match(line))]
            return "\n".join(f"{i}. {t}" for i, t in enumerate(lines[:k], 1))
        if system.startswith("You order"):  # knowledge re-rank: candidate numbers in the given order
            k = len([line for line in prompt.split("\n\nFacts", 1)[0].splitlines() if CANDIDATE_LINE.match(line)])
            return json.dumps({"ranking": list(range(1, k + 1))})
        if system.startswith("You judge"):
            return json.dumps({"informativeness": "tie", "persuasiveness": "tie", "helpfulness": "tie"})
        if system.startswith("You are a user"):
            return "I'm looking for something good."
        return ""  # reply writer, LLM-alone recommender, explainer: nothing

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        self.calls += 1
        system = str(messages[0].content) if messages else ""
        text = self._answer(system, str(messages[-1].content) if messages else "")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])
