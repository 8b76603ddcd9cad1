"""One simulated conversation: the user speaks first, the system answers, both judges read every answer.

The conversation ends when either judge sees the target (the simulated user accepts only the target),
when the user ends it (<END>), or after `max_turns` system answers.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from evals.cases import EvalCase
from evals.judges import lenient_hit, strict_hit
from evals.simulators import Simulator
from evals.systems import Reply, Session, System

MAX_TURNS = 5


@dataclass
class TurnRecord:
    turn: int
    user: str
    message: str
    items: list[int | None]
    lenient: bool
    strict: bool
    seconds: float
    llm_calls: int
    sim_llm_calls: int = 0
    sim_regenerated: int = 0
    sim_fallback: bool = False
    error: str | None = None
    ident_rank: int | None = None  # the target's popularity rank among items matching every fact said so far


@dataclass
class ConversationResult:
    case_id: str
    system: str
    target: int
    title: str
    turns: list[TurnRecord] = field(default_factory=list)
    hit_lenient: int | None = None  # turn of the first hit (1-based), None: miss
    hit_strict: int | None = None
    ended_by_user: bool = False
    seconds: float = 0.0
    ident_rank: int | None = None  # the same after everything the simulator would reveal (None: not templated)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def safe_turn(session: Session, text: str, **kwargs: Any) -> Reply:
    """A system failure is a turn with no recommendation and the error recorded, never a crashed run."""
    t = time.perf_counter()
    try:
        return session.turn(text, **kwargs)
    except Exception as e:  # noqa: BLE001 - the harness records every failure
        return Reply("", [], seconds=time.perf_counter() - t, error=f"{type(e).__name__}: {str(e)[:300]}")


def run_conversation(system: System, simulator: Simulator, case: EvalCase, max_turns: int = MAX_TURNS,
                     n: int = 5) -> ConversationResult:
    start = time.perf_counter()
    res = ConversationResult(case.case_id, system.name, case.target, case.title)
    session = system.session(case)
    sim = simulator.session(case)
    res.ident_rank = getattr(sim, "final_rank", None) or getattr(getattr(sim, "fallback", None), "final_rank", None)
    said = sim.first()
    for turn in range(1, max_turns + 1):
        if said.end and not said.text:
            res.ended_by_user = True
            break
        reply = safe_turn(session, said.text, n=n)
        lenient = lenient_hit(reply.message, case.title)
        strict = strict_hit(reply.items, case.target)
        res.turns.append(TurnRecord(turn, said.text, reply.message[:3000], list(reply.items), lenient, strict,
                                    round(reply.seconds, 4), reply.llm_calls, said.llm_calls, said.regenerated,
                                    said.fallback, reply.error, said.ident_rank))
        if lenient and res.hit_lenient is None:
            res.hit_lenient = turn
        if strict and res.hit_strict is None:
            res.hit_strict = turn
        if lenient or strict:
            break
        if said.end:
            res.ended_by_user = True
            break
        if turn == max_turns:
            break
        titles = [system.domain.titles[i] for i in reply.items if i is not None]
        said = sim.respond(reply.message, titles)
    res.seconds = round(time.perf_counter() - start, 4)
    return res
