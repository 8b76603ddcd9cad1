"""The systems that use an LLM: the LLM alone, Chat-Rec (a retriever proposes, the LLM picks) and the agent."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from evals.cases import EvalCase
from evals.llmcall import bound
from evals.systems import (
    DenseSystem,
    Reply,
    Session,
    System,
    describe_item,
    parse_titles,
    resolve_titles,
    top_excluding,
)
from models.domain import Domain
from prompts import template

# ---- LLM baselines -------------------------------------------------------------------------------------------
LLM_ALONE_SYSTEM = template("eval_llm_alone_system")
RANK_SYSTEM = template("eval_rank_system")
PICK_SYSTEM = template("eval_pick_system")


def _conversation(turns: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"{'User' if who == 'user' else 'You'}: {text}" for who, text in turns[-8:])


def _numbered(domain: Domain, iids: Sequence[int], with_attrs: bool = True) -> str:
    return "\n".join(f"{k}. {domain.titles[i]}" + (f" ({describe_item(domain, i)})" if with_attrs else "")
                     for k, i in enumerate(iids, 1))


class _LLMSession(Session):
    def __init__(self, system: LLMSystemBase, case: EvalCase):
        self.system = system
        self.domain = system.domain
        self.case = case
        self.turns: list[tuple[str, str]] = []
        self.shown: set[int] = set()

    def _call(self, system: str, prompt: str, max_tokens: int) -> str:
        out = bound(self.system.llm, max_tokens=max_tokens).invoke([SystemMessage(system), HumanMessage(prompt)])
        return str(out.content)

    def _rank(self, text: str, pool: list[int], n: int) -> tuple[str, list[int | None]]:
        word = self.domain.config.item_word
        prompt = template("eval_rank_user").format(conversation=_conversation(self.turns),
                                                   candidates=_numbered(self.domain, pool), n=len(pool))
        answer = self._call(RANK_SYSTEM.format(items=word + "s"), prompt, 30 * len(pool) + 60)
        return answer, resolve_titles(self.domain, parse_titles(answer), among=pool)

    def turn(self, text: str, *, n: int = 5, candidates: Sequence[int] | None = None,
             exclude: Sequence[int] = ()) -> Reply:
        t = time.perf_counter()
        self.turns.append(("user", text))
        banned = self.shown | set(exclude)
        if candidates is not None:
            pool = [int(c) for c in candidates if int(c) not in banned]
            message, items = self._rank(text, pool, n)
        else:
            message, items = self.recommend(n, banned)
        self.turns.append(("assistant", message[:1500]))
        self.shown.update(i for i in items if i is not None)
        return Reply(message, items[:n], llm_calls=1, seconds=time.perf_counter() - t)  # never more than asked

    def recommend(self, n: int, banned: set[int]) -> tuple[str, list[int | None]]:
        raise NotImplementedError


class LLMSystemBase(System):
    uses_llm = True

    def __init__(self, domain: Domain, llm: BaseChatModel, seed: int = 0):
        super().__init__(domain, seed)
        self.llm = llm


class LLMAloneSystem(LLMSystemBase):
    name = "llm"

    def session(self, case: EvalCase) -> Session:
        return _LLMAloneSession(self, case)


class _LLMAloneSession(_LLMSession):
    def recommend(self, n: int, banned: set[int]) -> tuple[str, list[int | None]]:
        word = self.domain.config.item_word
        answer = self._call(LLM_ALONE_SYSTEM.format(item=word, items=word + "s", n=n),
                            template("eval_llm_alone_user").format(conversation=_conversation(self.turns), n=n,
                                                                   items=word + "s"),
                            45 * n + 60)
        return answer, resolve_titles(self.domain, parse_titles(answer))


class ChatRecSystem(LLMSystemBase):
    """Chat-Rec: a retriever proposes candidates, the LLM picks among them (20 candidates, as the paper)."""

    name = "chatrec"

    def __init__(self, domain: Domain, llm: BaseChatModel, seed: int = 0, n_candidates: int = 20,
                 dense: DenseSystem | None = None):
        super().__init__(domain, llm, seed)
        self.dense = dense or DenseSystem(domain, seed)
        self.n_candidates = n_candidates

    def session(self, case: EvalCase) -> Session:
        return _ChatRecSession(self, case)


class _ChatRecSession(_LLMSession):
    system: ChatRecSystem

    def recommend(self, n: int, banned: set[int]) -> tuple[str, list[int | None]]:
        word = self.domain.config.item_word
        query = " ".join(t for who, t in self.turns if who == "user")[-1500:]
        k = self.system.n_candidates
        cands = top_excluding(self.system.dense.search(query, k + len(banned) + 5), k, banned)
        prompt = template("eval_pick_user").format(conversation=_conversation(self.turns),
                                                   candidates=_numbered(self.domain, cands), n=n)
        answer = self._call(PICK_SYSTEM.format(items=word + "s"), prompt, 45 * n + 60)
        picked = [i for i in resolve_titles(self.domain, parse_titles(answer), among=cands) if i is not None]
        picked = list(dict.fromkeys(picked))[:n]
        fill = [i for i in cands if i not in picked][: n - len(picked)]  # the LLM picked too few: retriever order
        message = answer.strip()
        if fill:
            message += "\nAlso worth a look:\n" + "\n".join(f"- {self.domain.titles[i]}" for i in fill)
        return message, [*picked, *fill]


# ---- the agent -----------------------------------------------------------------------------------------------
class AgentSystem(System):
    """The interec agent: a fresh thread and user per case, an in-memory checkpointer, temp profile store."""

    name = "agent"
    uses_llm = True

    def __init__(self, domain: Domain, llm: BaseChatModel, seed: int = 0, critic: str = "rules",
                 memory_path: Path | None = None):
        super().__init__(domain, seed)
        from langgraph.checkpoint.memory import InMemorySaver

        from graph.agent import Agent, make_deps
        from graph.builder import build_graph

        self._tmp = None
        if memory_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="interec-eval-")
            memory_path = Path(self._tmp.name)
        self.llm = llm
        deps = make_deps(domain, llm, memory_path=memory_path, critic=critic)
        self.agent = Agent(deps, build_graph(deps, InMemorySaver()))
        self.run_tag = uuid.uuid4().hex[:6]

    def session(self, case: EvalCase) -> Session:
        return _AgentSession(self, case)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class _AgentSession(Session):
    def __init__(self, system: AgentSystem, case: EvalCase):
        self.system = system
        self.case = case
        self.thread = f"eval-{system.run_tag}-{case.case_id}-{uuid.uuid4().hex[:6]}"
        self.user = f"eval-{case.case_id}"

    def turn(self, text: str, *, n: int = 5, candidates: Sequence[int] | None = None,
             exclude: Sequence[int] = ()) -> Reply:
        t = time.perf_counter()
        state = self.system.agent.ask(text, self.thread, self.user)
        message = str(state["messages"][-1].content)
        items: list[int | None] = [int(it["iid"]) for it in state.get("items") or []]
        notes = {"attempts": state.get("attempts", 0), "plan_notes": len(state.get("plan_notes") or []),
                 "invented": len(state.get("invented") or [])}
        return Reply(message, items, llm_calls=int(state.get("llm_calls", 0)), seconds=time.perf_counter() - t,
                     error=state.get("error"), notes=notes)
