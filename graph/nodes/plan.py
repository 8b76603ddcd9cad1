"""plan: one structured LLM call -> a typed plan, then validated and repaired in code."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from graph.deps import AgentDeps, demo_messages
from graph.guard import guard_reply
from graph.nodes.common import emit, last_user_text, user_texts
from graph.plan_schema import plan_steps
from graph.state import Plan, State
from graph.understand import Request, read_conversation
from graph.validate import Proposal, Reading, Repaired, repair_plan
from models.llm import LLMConfigError, LLMOutputError, LLMUnavailable
from prompts import template

RELAX = "Nothing matched all conditions"


def history_window(earlier: list[str], h: int) -> list[str]:
    """The earlier messages the planner sees: the last h - 1 or h. The window's start moves h - 1 messages at a
    time, not one per turn, so between moves the text only grows and the server re-reads just the new request.
    A window sliding every turn changed the text's first line from the fifth turn on, and the whole history was
    read again each turn. (Showing up to 2h - 1 messages instead made the small model restate more of them.)"""
    if h <= 0:
        return []
    step = max(1, h - 1)
    start = -(-max(0, len(earlier) - h) // step) * step
    return earlier[start:]


def plan_messages(deps: AgentDeps, state: State, message: str) -> list[BaseMessage]:
    """The stable prefix first (the server caches it), then this turn's content, oldest first: the conversation
    so far only grows, so consecutive turns of a thread share their prompt up to the new exchange."""
    # nearest mode: the chosen demos follow the prefix, most similar last (small models copy the nearest one)
    msgs: list[BaseMessage] = [*deps.plan_prefix, *demo_messages(list(reversed(state.get("demos", []))))]
    earlier = [t[:300] for t in history_window(user_texts(state.get("messages", []))[:-1], deps.history_turns)]
    # the user's words only (repair keeps no title the user did not say, so replies would add nothing), written so
    # that each turn's text extends the last one's: "first\n\nFollow-up request: second\n\nFollow-up request: this";
    # the server then re-reads only the new request (the first line is plain, as in the demonstrations). No
    # profile lines: code applies the stored likes and dislikes (repair's rank prefer / avoid, disliked values).
    said = [*earlier, message]
    parts = [said[0], *(template("plan_followup").format(text=t) for t in said[1:])]
    for c in state.get("critiques", [])[-2:]:  # a retry's critique goes last: it is new in this call only
        parts.append(template("plan_rejected").format(critique=c))
    msgs.append(HumanMessage("\n\n".join(parts)))
    return msgs


def understood(req: Request) -> bool:
    """True when code fully understands the request: a recommendation with stated conditions or titles and
    no other content words, or a question about named items. The LLM would add nothing but latency."""
    if req.residual or req.language:
        return False
    if req.wants_recs:
        return req.has_conditions or bool(req.titles)
    return bool(req.titles) and not req.chit_chat


def direct_plan(steps: list[dict[str, Any]] | None = None, reply: str | None = None,
                chit_chat: str | None = None) -> Plan:
    """A plan code decided before reading any conditions: an in-role refusal, small talk, a why-question."""
    return Plan(steps=steps or [], reply=reply, like=[], dislike=[], expect=[], n=None, chit_chat=chit_chat)


def read_plan(fixed: Repaired, req: Request, *, understood: bool, llm_down: str | None = None) -> Plan:
    """The repaired plan plus what code read of the request (its conditions, count, language)."""
    return Plan(steps=fixed.steps, reply=fixed.reply, like=fixed.like, dislike=fixed.dislike,
                expect=[f"{c}={v}" for c, v in req.include], n=req.n, chit_chat=None if understood else req.chit_chat,
                read=req.labels(), language=req.language, understood=understood, llm_down=llm_down)


def make_plan(deps: AgentDeps) -> Any:
    from models.structured import structured_call

    def plan(state: State, config: RunnableConfig) -> dict[str, Any]:
        attempt = state.get("attempts", 0) + 1
        emit({"stage": "planning", "attempt": attempt})
        message = last_user_text(state.get("messages", []))
        texts = user_texts(state.get("messages", []))
        reader = deps.reader
        refusal = guard_reply(message, deps.domain.config.item_word)  # off-topic / injection: in role, no tools
        if refusal is not None:
            emit({"stage": "planned", "steps": [], "direct": True})
            return {"plan": direct_plan(reply=refusal), "plan_notes": ["off-topic or injection: answered in role"],
                    "attempts": attempt}
        if deps.code_small_talk:
            quick = reader.read_cached(message)
            if quick.chit_chat:  # greetings, thanks, "who are you": no LLM call needed
                emit({"stage": "planned", "steps": [], "direct": True})
                return {"plan": direct_plan(chit_chat=quick.chit_chat), "plan_notes": ["small talk answered in code"],
                        "attempts": attempt}
        profile = state.get("profile") or {}
        if not state.get("critiques"):  # "why did you recommend X?": the explain tool, planned in code
            from tools.explain import why_step

            why = why_step(message, deps.tools(), texts[:-1], profile)
            if why is not None:
                emit({"stage": "planned", "steps": ["explain"], "direct": False})
                return {"plan": direct_plan(steps=[why]),
                        "plan_notes": ["a why-question: explained from computed facts (planned in code)"],
                        "attempts": attempt}
        hints, ages = read_conversation(reader, texts)
        reading = Reading(hints, ages, texts, profile, message)
        if deps.code_plans and not state.get("critiques") and understood(hints):
            titles = deps.domain.titles
            fixed = repair_plan(Proposal(), reading, deps.domain)
            fixed.notes.insert(0, "planned in code: every part of the request was understood without the LLM")
            # what the user likes and rejects is what code read: the named titles and the excluded values
            fixed.like = [titles[i] for i in hints.titles]
            fixed.dislike = [titles[i] for i in hints.avoid_titles] + [v for _, v in hints.exclude]
            emit({"stage": "planned", "steps": [s["tool"] for s in fixed.steps], "direct": False})
            return {"plan": read_plan(fixed, hints, understood=True), "plan_notes": fixed.notes, "attempts": attempt}
        calls = state.get("llm_calls", 0) + 1
        down = ""
        try:
            raw = structured_call(deps.llm, deps.plan_model, plan_messages(deps, state, message), name="plan",
                                  config={"tags": ["nostream", "plan"], "run_name": "plan_llm"})
        except LLMOutputError as e:  # code's own reading still makes a plan: no second LLM call for a bad one
            raw, note = None, f"the LLM's plan was not valid ({str(e)[:120]}): planned from code's reading"
        except LLMConfigError as e:  # a setup problem: say so, a guess would hide it
            return {"plan": None, "attempts": attempt, "llm_calls": calls, "error": str(e)}
        except LLMUnavailable as e:  # down or too slow: code's reading still answers, and the reply says so
            raw, note = None, f"the LLM did not answer ({str(e)[:160]}): planned from code's reading"
            down = str(e)
        else:
            note = ""
        if raw is None:
            fixed = repair_plan(Proposal(), reading, deps.domain)
            fixed.notes.insert(0, note)
            if down and not fixed.steps:  # nothing code could act on: the error is the honest answer
                return {"plan": None, "attempts": attempt, "llm_calls": calls, "error": down}
        else:
            proposal = Proposal(plan_steps(raw, deps.domain.schema), raw.reply, raw.like, raw.dislike)
            fixed = repair_plan(proposal, reading, deps.domain)
        emit({"stage": "planned", "steps": [s["tool"] for s in fixed.steps], "direct": fixed.is_direct})
        return {"plan": read_plan(fixed, hints, understood=False, llm_down=down or None), "plan_notes": fixed.notes,
                "attempts": attempt, "llm_calls": calls}

    return plan
