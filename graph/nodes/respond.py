"""respond: the reply writer sees the request, short history and the visible track, and is grounded.

Every item the reply names must come from this turn's tools; the check is code, not a prompt.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from graph.context import CHOICES, Context
from graph.deps import AgentDeps
from graph.guard import inert, leaks_prompt, strip_controls
from graph.nodes.common import emit, history, last_user_text, text_of
from graph.state import Plan, State
from models.catalog import LIST_SEP
from models.llm import LLMError
from prompts import load, template
from tools.bus import Bus
from tools.explain import explain_result, phrase
from tools.grounding import check_reply, template_reply
from tools.knowledge import reply_knowledge
from tools.sentences import whole_sentences

STYLES = {s: template(f"reply_style_{s}") for s in CHOICES["style"]}
GREETING = ("Hi! Tell me what kind of {item} you are in the mood for: a kind, a period, or a {item} you "
            "liked, and I will find some for you.")
SMALL_TALK = {
    "thanks": "You're welcome! Come back any time you want another {item}.",
    "identity": ("I am a {item} recommender. Tell me what you like (kinds, a period, {item}s you enjoyed or "
                 "disliked, a mood) and I will find {item}s from the catalog and explain why they fit."),
}
FALLBACK_DIRECT = "Sorry, I can only talk about what I can look up. What kind of {item} are you looking for?"


def _describe(row: dict[str, Any], max_tags: int = 5) -> str:
    parts = []
    for k, v in row.items():
        if k in ("iid", "title", "popularity") or v in (None, ""):
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = inert(str(v).replace(LIST_SEP, ", "))  # catalog text is data: one line, no controls
        if k == "tags":
            text = ", ".join(text.split(", ")[:max_tags])
        parts.append(f"{k}: {text[:120]}")
    return "; ".join(parts)


def _short_reason(row: dict[str, Any]) -> str:
    return _describe(row, 3)[:100]


def _match_args(plan: Plan) -> Any:
    from tools.match import MatchArgs

    step = next((s for s in plan.get("steps", []) if s.get("tool") == "match"), None)
    return MatchArgs.model_validate({k: v for k, v in step.items() if k != "tool"}) if step else None


def _reasons(deps: AgentDeps, plan: Plan, rows: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], int]:
    """(title, why) per item from the tools' facts: the stated conditions it meets, then what it misses;
    and how many items miss something. Only fields with values are shown."""
    from tools.match import unmet

    args = _match_args(plan)
    ctx = deps.tools()
    out: list[tuple[str, str]] = []
    missing = 0
    for r in rows:
        why = _short_reason(r)
        if args is not None:
            miss = unmet(ctx, int(r["iid"]), args)
            if miss:
                missing += 1
                why = f"{why}; not: {', '.join(miss)}" if why else f"not: {', '.join(miss)}"
        out.append((inert(str(r["title"]), 200), why))
    return out, missing


def _intro(word: str, words: str, n: int, missing: int, language: str | None) -> str:
    intro = f"Here are {words} that fit what you asked for:"
    if missing and missing == n:
        intro = f"No {word} meets everything you asked for; these come closest (what each misses is marked \"not\"):"
    elif missing:
        intro = f"Here are {words} that fit what you asked for ({missing} of them miss something, marked \"not\"):"
    if language:
        intro = (f"(I read requests in English; parts of your message in another language ({language}) may not "
                 f"have been understood.)\n{intro}")
    return intro


def _facts(bus: Bus) -> str:
    return "\n".join(f"- {inert(str(r['title']), 200)}: {_describe(r)}" if "title" in r else "- " + _describe(r)
                     for r in bus.rows[:10])


def in_role(text: str) -> bool:
    """False when a reply repeats the wording of our prompts (an injected "print your instructions")."""
    return not leaks_prompt(text, load("plan_system"), load("reply_system"), load("critic_system"))


def _evidence(deps: AgentDeps, s: Context, plan: Plan, state: State,
              bus: Bus) -> tuple[str, dict[int, str]]:
    """Knowledge facts about the shown items (tools/knowledge.py) as data lines, and the liked items they name."""
    if not bus.mapped:
        return "", {}
    try:
        kn = reply_knowledge(deps.tools(s.mode, s.seed), plan, state.get("profile") or {}, bus)
    except Exception:  # noqa: BLE001 - evidence is optional: a reply never fails for want of it
        return "", {}
    titles = deps.domain.titles
    lines = "\n".join(inert(line, 400) for line in kn.block({i: titles[i] for i in bus.mapped}).splitlines())
    return lines, {h: titles[h] for h in kn.cited_items()}


def _attr_columns(deps: AgentDeps) -> list[str]:
    """Attribute columns shown to the reply writer."""
    return [c.name for c in deps.domain.schema.columns if c.name not in ("title", "popularity")]


def make_respond(deps: AgentDeps) -> Any:
    word = deps.domain.config.item_word

    def _grounded_or_template(text: str, allowed: dict[int, str], rows: list[dict[str, Any]],
                              intro: str, cited: dict[int, str] | None = None) -> tuple[str, list[str]]:
        g = check_reply(text, {**(cited or {}), **allowed}, deps.domain.resolver)  # evidence may name liked items
        g.named = [i for i in g.named if i in allowed]
        if allowed and not g.named:
            reasons = [(r["title"], _short_reason(r)) for r in rows]
            return template_reply(reasons, intro), g.invented
        missing = [r for r in rows if r["iid"] not in g.named] if allowed else []
        if missing and not g.text.strip():
            return template_reply([(r["title"], _short_reason(r)) for r in rows], intro), g.invented
        if missing:  # the writer skipped some results: list them so the answer is complete
            extra = "\n".join(f"- {r['title']} ({_short_reason(r)})" for r in missing)
            return f"{g.text}\nAlso worth a look:\n{extra}", g.invented
        return (g.text or template_reply([(r["title"], _short_reason(r)) for r in rows], intro)), g.invented

    def respond(state: State, config: RunnableConfig) -> dict[str, Any]:
        s = Context.from_config(config)
        emit({"stage": "answering"})
        calls = state.get("llm_calls", 0)
        if state.get("error"):
            msg = f"I could not think this through: {state['error']}"
            return {"messages": [AIMessage(msg)], "items": []}
        best = state.get("best")
        plan: Plan = state.get("plan") or (best["plan"] if best is not None else {})
        bus = Bus.from_dict(state.get("bus"))
        if best is not None and (state.get("plan") is None or len(state.get("critiques", [])) >= state.get("attempts", 0)):
            bus, plan = Bus.from_dict(best["bus"]), best["plan"]  # retries ran out: answer from the best try
        reply = plan.get("reply")
        if not plan.get("steps") and state.get("plan") is not None and (
                not reply or plan.get("chit_chat") in ("greeting", "identity", "thanks")):
            text = SMALL_TALK.get(plan.get("chit_chat") or "", GREETING)
            if reply and plan.get("chit_chat") in ("greeting", None):
                g = check_reply(reply, {}, deps.domain.resolver)
                text = g.text if g.text and not g.invented and in_role(g.text) else text
            return {"messages": [AIMessage(text.format(item=word))], "items": []}
        if reply and not plan.get("steps"):
            g = check_reply(reply, {}, deps.domain.resolver)
            text = g.text if g.text and not g.invented and in_role(g.text) else FALLBACK_DIRECT.format(item=word)
            return {"messages": [AIMessage(strip_controls(text))], "items": [], "invented": g.invented}
        if not plan:
            return {"messages": [AIMessage(f"Sorry, I could not make a plan for that. Could you rephrase what {word} you want?")],
                    "items": []}
        exp = explain_result(bus)
        if exp is not None and not bus.mapped:  # a why-question: the LLM phrases the facts, code checks them
            text, _info = phrase(deps.llm, deps.tools(s.mode, s.seed), exp)
            return {"messages": [AIMessage(strip_controls(text))], "items": [], "llm_calls": calls + 1}
        rows = deps.domain.table.rows_for(bus.mapped, ["iid", "title", *_attr_columns(deps)]) if bus.mapped else []
        allowed = {i: deps.domain.titles[i] for i in bus.mapped}
        items = [{"iid": i, "title": deps.domain.titles[i]} for i in bus.mapped]
        if not rows and not bus.rows:
            failed = "; ".join(t["output"][:120] for t in bus.errors()) or "no match for all conditions"
            text = (f"I couldn't find a {word} that matches everything you asked for ({failed}). "
                    "Could you loosen one of the conditions?")
            return {"messages": [AIMessage(text)], "items": []}
        if rows and (deps.writer == "template" or plan.get("llm_down")):  # written by code from the tools' facts
            reasons, missing = _reasons(deps, plan, rows)
            text = template_reply(reasons, _intro(word, deps.domain.config.items_word, len(rows), missing,
                                                  plan.get("language")))
            if plan.get("llm_down"):  # the plan came from code alone: the user should know why it may be rougher
                text += f"\n(The language model did not answer, so I read your request without it: {plan['llm_down']})"
            return {"messages": [AIMessage(strip_controls(text))], "items": items, "invented": [], "llm_calls": calls}
        item_lines = "\n".join(f"{n}. {inert(str(r['title']), 200)} ({_describe(r)})" for n, r in enumerate(rows, 1))
        evidence, cited = _evidence(deps, s, plan, state, bus)
        notes = [t["output"] for t in bus.track if t["tool"] == "plan-check" and t["output"].startswith("relaxed")]
        hist = history(state.get("messages", []), 2)
        prompt = (f"{('Conversation so far:' + chr(10) + hist + chr(10) + chr(10)) if hist else ''}"
                  f"User: {last_user_text(state.get('messages', []))}\n\n"
                  f"Items:\n{item_lines or '(none)'}\n\nFacts:\n{_facts(bus) or '(none)'}"
                  + (f"\n\nEvidence:\n{evidence}" if evidence else "")
                  + (f"\n\nNote: {'; '.join(notes)}" if notes else "")
                  + "\n\n" + (template("reply_write").format(n=len(rows), items=word + "s", style=STYLES[s.style]) if rows
                                else template("reply_from_facts")))
        system = load("reply_system").format(item=word, items=word + "s", style=STYLES[s.style])
        intro = f"Here are {word}s that fit what you asked for:" if rows else "Here is what I found:"
        calls += 1
        try:
            budget = (30 + 22 * len(rows) if s.style == "concise" else 60 + 60 * len(rows)) if rows else 150
            answer = deps.llm.invoke([SystemMessage(system), HumanMessage(prompt)],
                                     config={"tags": ["reply"], "run_name": "reply_llm"}, max_tokens=budget)
            written = strip_controls(text_of(answer))
            if (getattr(answer, "response_metadata", None) or {}).get("finish_reason") == "length":
                written = whole_sentences(written)  # cut by the token cap: end at the last finished sentence
            if not in_role(written):  # the writer obeyed injected text: answer from the tool output only
                written = ""
            text, invented = _grounded_or_template(written, allowed, rows, intro, cited)
        except LLMError as e:
            text, invented = template_reply([(r["title"], _short_reason(r)) for r in rows], intro), []
            text += f"\n(The language model did not answer: {e})"
        except Exception as e:  # noqa: BLE001 - connection errors from the client, translated for the user
            from models.openai_chat import translate_error

            err = translate_error(e, getattr(deps.llm, "interec_endpoint", "the LLM endpoint"), 1, None)
            if err is None:
                raise
            text, invented = template_reply([(r["title"], _short_reason(r)) for r in rows], intro), []
            text += f"\n(The language model did not answer: {err})"
        if invented:
            emit({"stage": "grounding", "removed": invented})
        text = strip_controls(text)  # catalog titles may carry terminal escapes; replies reach terminals
        return {"messages": [AIMessage(text)], "items": items, "invented": invented, "llm_calls": calls}

    return respond
