"""The LLM simulator: an LLM plays the user from the target's facts (the templated simulator is the default;
this one checks that results hold under free phrasing). A turn that names the target is retried, then falls
back to the templated turn."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from evals.cases import EvalCase
from evals.judges import leaks
from evals.llmcall import bound
from evals.simulators import END, SimTurn, TemplatedSimulator
from models.domain import Domain
from prompts import template

SIM_SYSTEM = template("eval_sim_system")
SIM_RETRY = template("eval_sim_retry")


def describe_target(domain: Domain, case: EvalCase) -> str:
    lines = []
    for col, v in case.attributes.items():
        if col in ("title", "popularity", "id"):
            continue
        text = ", ".join(str(x) for x in v[:8]) if isinstance(v, list) else str(v)
        text = ", ".join(p for p in text.split(", ") if not leaks(p, case.title)) if isinstance(v, list) else text
        if text and not leaks(text, case.title):
            lines.append(f"- {domain.config.describe(col)}: {text[:200]}")
    return "\n".join(lines) or "- (no details)"


def _clean_reply(text: str) -> tuple[str, bool]:
    end = END in text or "<end>" in text.lower()
    text = re.sub(r"<\s*end\s*>", " ", text, flags=re.I)
    text = re.sub(r"^\s*(?:user|me|you)\s*:\s*", "", text.strip(), flags=re.I)
    text = text.strip().strip('"').strip()
    return " ".join(text.split())[:600], end


class LLMSession:
    def __init__(self, sim: LLMSimulator, case: EvalCase):
        self.sim = sim
        self.case = case
        self.fallback = sim.templated.session(case)  # kept in step for the fallback reply
        self.dialogue: list[tuple[str, str]] = []  # (speaker, text)
        word = sim.domain.config.item_word
        hist = [t for t in case.history_titles[::-1] if not leaks(t, case.title)][:5]
        self.system = SIM_SYSTEM.format(item=word, items=word + "s", facts=describe_target(sim.domain, case),
                                        history="; ".join(hist) or "none", end=END)

    def _prompt(self) -> list[Any]:
        lines = [f"{'You' if who == 'user' else 'Recommender'}: {text}" for who, text in self.dialogue[-8:]]
        task = (template("eval_sim_next").format(conversation="\n".join(lines)) if lines
                else template("eval_sim_start"))
        return [SystemMessage(self.system), HumanMessage(task)]

    def _generate(self, templated: SimTurn) -> SimTurn:
        word = self.sim.domain.config.item_word
        messages = self._prompt()
        out = SimTurn("", llm_calls=0)
        for attempt in range(self.sim.max_retries + 1):
            msgs = messages
            kwargs: dict[str, Any] = {"max_tokens": 150}  # a user's message is short; small models ramble
            if attempt:
                msgs = [*messages, HumanMessage(SIM_RETRY.format(item=word))]
                kwargs["temperature"] = self.sim.retry_temperature
            llm = bound(self.sim.llm, **kwargs)
            out.llm_calls += 1
            try:
                raw = llm.invoke(msgs)
                text, end = _clean_reply(str(raw.content))
            except Exception:  # noqa: BLE001 - a failing simulator turn falls back to the template
                text, end = "", False
            if text and not leaks(text, self.case.title):
                out.text, out.end = text, end
                return out
            if end and not text:
                out.text, out.end = "", True
                return out
            out.regenerated += 1
        out.text, out.fallback = templated.text, True
        return out

    def first(self) -> SimTurn:
        templated = self.fallback.first()
        out = self._generate(templated)
        self.dialogue.append(("user", out.text))
        return out

    def respond(self, agent_message: str, recommended: list[str]) -> SimTurn:
        self.dialogue.append(("agent", agent_message[:1200]))
        templated = self.fallback.respond(agent_message, recommended)
        out = self._generate(templated)
        self.dialogue.append(("user", out.text))
        return out


class LLMSimulator:
    name = "llm"

    def __init__(self, domain: Domain, llm: BaseChatModel, seed: int = 0, max_retries: int = 2,
                 retry_temperature: float = 0.8, bank: str = "test", max_turns: int = 5):
        self.domain = domain
        self.templated = TemplatedSimulator(domain, seed, bank, max_turns=max_turns)
        self.llm = llm
        self.seed = seed
        self.max_retries = max_retries
        self.retry_temperature = retry_temperature

    def session(self, case: EvalCase) -> LLMSession:
        return LLMSession(self, case)
