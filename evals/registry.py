"""Every eval suite, system and simulator by name, listed once (the CLI's --suite choices come from here,
in this order)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

from evals.doke import DokeSuite
from evals.faithfulness import FaithfulnessSuite
from evals.gen import GenSuite
from evals.llm_simulator import LLMSimulator
from evals.llm_systems import AgentSystem, ChatRecSystem, LLMAloneSystem
from evals.sim_facts import REVEAL_BUDGET
from evals.simulators import Simulator, TemplatedSimulator
from evals.suites import (
    OneTurnRankingSuite,
    OneTurnRetrievalSuite,
    RankingSuite,
    RetrievalSuite,
    SimulatorSuite,
)
from evals.systems import (
    LLM_SYSTEMS,
    NO_LLM_SYSTEMS,
    DenseSystem,
    KeywordSystem,
    PopularitySystem,
    RandomSystem,
    System,
)
from models.domain import Domain

SUITES: dict[str, Any] = {s.name: s for s in (SimulatorSuite(), OneTurnRetrievalSuite(), OneTurnRankingSuite(),
                                              RetrievalSuite(), RankingSuite(), DokeSuite(), FaithfulnessSuite(),
                                              GenSuite())}


def make_system(name: str, domain: Domain, llm: BaseChatModel | None, seed: int = 0,
                shared: dict[str, Any] | None = None, critic: str = "rules") -> System:
    """Build a system by name; `shared` caches heavy parts (the dense index) between systems."""
    shared = shared if shared is not None else {}
    builders: dict[str, Callable[[], System]] = {
        "random": lambda: RandomSystem(domain, seed),
        "popularity": lambda: PopularitySystem(domain, seed),
        "keyword": lambda: KeywordSystem(domain, seed),
        "dense": lambda: shared.setdefault("dense", DenseSystem(domain, seed)),
    }
    if name in builders:
        return builders[name]()
    if name not in LLM_SYSTEMS:
        raise ValueError(f"unknown system {name!r}: choose from {', '.join([*NO_LLM_SYSTEMS, *sorted(LLM_SYSTEMS)])}")
    if llm is None:
        raise ValueError(f"system {name!r} needs an LLM (--llm local|env|scripted)")
    if name == "llm":
        return LLMAloneSystem(domain, llm, seed)
    if name == "chatrec":
        if "dense" not in shared:
            shared["dense"] = DenseSystem(domain, seed)
        return ChatRecSystem(domain, llm, seed, dense=shared["dense"])
    return AgentSystem(domain, llm, seed, critic=critic)


def make_simulator(kind: str, domain: Domain, seed: int = 0, llm: BaseChatModel | None = None,
                   bank: str = "test", budget: int = REVEAL_BUDGET, max_turns: int = 5) -> Simulator:
    if kind == "templated":
        return TemplatedSimulator(domain, seed, bank, budget, max_turns)
    if kind == "llm":
        if llm is None:
            raise ValueError("the LLM simulator needs an LLM (--llm local, or an endpoint)")
        return LLMSimulator(domain, llm, seed, bank=bank, max_turns=max_turns)
    raise ValueError(f"unknown simulator {kind!r}: use templated or llm")
