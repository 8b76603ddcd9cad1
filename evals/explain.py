"""Explanation suite (RecLM-eval): each explainer says why the user would like the held-out target, and an LLM
judge compares two explanations on informativeness, persuasiveness and helpfulness, in both orders (A/B then
B/A) so position bias cancels out.

Explainers: `template` (no LLM: shared attributes with the user's history), `llm` (the LLM alone), `agent`
(the interec agent asked in chat).
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from evals import metrics as M
from evals.cases import EvalCase, item_attributes
from evals.llmcall import bound
from evals.sim_facts import natural_title
from models.domain import Domain
from prompts import template

CRITERIA = ("informativeness", "persuasiveness", "helpfulness")
EXPLAINERS = ("template", "llm", "agent")
Verdict = Literal["A", "B", "tie"]


class Judgement(BaseModel):
    informativeness: Verdict
    persuasiveness: Verdict
    helpfulness: Verdict


EXPLAIN_SYSTEM = template("eval_explain_system")
JUDGE_SYSTEM = template("eval_judge_system")


def _attrs_text(domain: Domain, iid: int) -> str:
    parts = []
    for k, v in item_attributes(domain, iid).items():
        text = ", ".join(map(str, v[:6])) if isinstance(v, list) else str(v)
        parts.append(f"{domain.config.describe(k)}: {text}")
    return "; ".join(parts)


def template_explanation(domain: Domain, case: EvalCase) -> str:
    """No LLM: what the target shares with the user's history, in one or two sentences."""
    word = domain.config.item_word
    target = item_attributes(domain, case.target)
    name = natural_title(case.title)
    lists = {k: set(v) for k, v in target.items() if isinstance(v, list)}
    best: tuple[int, str, list[str]] = (0, "", [])
    for iid, title in zip(case.history, case.history_titles, strict=False):
        other = item_attributes(domain, iid)
        shared = [x for k, vals in lists.items() for x in other.get(k, []) if x in vals] if lists else []
        if len(shared) > best[0]:
            best = (len(shared), natural_title(title), shared)
    desc = ", ".join(f"{domain.config.describe(k)}: {', '.join(map(str, v[:3])) if isinstance(v, list) else v}"
                     for k, v in list(target.items())[:3])
    text = f"{name} is a {word} with {desc}."
    if best[0]:
        text += f" Like {best[1]}, which you liked, it has {', '.join(best[2][:3]).lower()}."
    return text


def llm_explanation(llm: BaseChatModel, domain: Domain, case: EvalCase) -> str:
    word = domain.config.item_word
    liked = "; ".join(natural_title(t) for t in case.history_titles[-5:])
    prompt = template("eval_explain_user").format(Items=word.capitalize() + "s", liked=liked, item=word,
                                                  title=natural_title(case.title),
                                                  attributes=_attrs_text(domain, case.target))
    out = bound(llm, max_tokens=250).invoke([SystemMessage(EXPLAIN_SYSTEM.format(item=word, items=word + "s")), HumanMessage(prompt)])
    return str(out.content).strip()


def agent_explanation(agent: Any, domain: Domain, case: EvalCase, tag: str) -> tuple[str, int]:
    liked = ", ".join(natural_title(t) for t in case.history_titles[-3:])
    text = f"I liked {liked}. Why would I like {natural_title(case.title)}?"
    state = agent.ask(text, f"explain-{tag}-{case.case_id}", f"explain-{case.case_id}")
    return str(state["messages"][-1].content), int(state.get("llm_calls", 0))


def explain_case(explainer: str, domain: Domain, case: EvalCase, llm: BaseChatModel | None,
                 agent: Any = None, tag: str = "0") -> dict[str, Any]:
    t = time.perf_counter()
    calls, error = 0, None
    try:
        if explainer == "template":
            text = template_explanation(domain, case)
        elif explainer == "llm":
            if llm is None:
                raise ValueError("the llm explainer needs an LLM")
            text, calls = llm_explanation(llm, domain, case), 1
        elif explainer == "agent":
            text, calls = agent_explanation(agent, domain, case, tag)
        else:
            raise ValueError(f"unknown explainer {explainer!r}: use {', '.join(EXPLAINERS)}")
    except Exception as e:  # noqa: BLE001 - recorded, judged as an empty explanation
        text, error = "", f"{type(e).__name__}: {str(e)[:300]}"
    return {"case_id": case.case_id, "target": case.target, "title": case.title, "explanation": text[:3000],
            "llm_calls": calls, "seconds": round(time.perf_counter() - t, 4), "error": error}


def judge_pair(llm: BaseChatModel, domain: Domain, case: EvalCase, a: str, b: str) -> dict[str, str]:
    """One judgement with `a` shown as A and `b` as B; an unusable answer is a tie on every criterion."""
    from models.structured import structured_call

    word = domain.config.item_word
    prompt = template("eval_judge_user").format(
        Items=word.capitalize() + "s", liked="; ".join(natural_title(t) for t in case.history_titles[-5:]), item=word,
        title=natural_title(case.title), attributes=_attrs_text(domain, case.target), a=a or "(empty)", b=b or "(empty)")
    try:
        j = structured_call(llm, Judgement, [SystemMessage(JUDGE_SYSTEM.format(item=word)), HumanMessage(prompt)],
                            name="judgement")
        return j.model_dump()
    except Exception:  # noqa: BLE001
        return dict.fromkeys(CRITERIA, "tie") | {"invalid": "yes"}


def judge_case(llm: BaseChatModel, domain: Domain, case: EvalCase, texts: dict[str, str]) -> dict[str, Any]:
    """Every pair of explainers in both orders; per criterion, the score of the first of the pair."""
    out: dict[str, Any] = {"case_id": case.case_id, "pairs": {}}
    for x, y in itertools.combinations(sorted(texts), 2):
        ab = judge_pair(llm, domain, case, texts[x], texts[y])
        ba = judge_pair(llm, domain, case, texts[y], texts[x])
        scores = {}
        for c in CRITERIA:
            s1 = {"A": 1.0, "B": 0.0}.get(ab[c], 0.5)  # x shown first
            s2 = {"B": 1.0, "A": 0.0}.get(ba[c], 0.5)  # x shown second
            scores[c] = (s1 + s2) / 2
            scores[f"{c}_consistent"] = float(s1 == s2)
        out["pairs"][f"{x}|{y}"] = {"ab": ab, "ba": ba, "scores": scores,
                                    "invalid": int("invalid" in ab) + int("invalid" in ba)}
    return out


def aggregate_judgements(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per pair "x|y": x's mean score per criterion (1 = x always wins, 0.5 = even) and order consistency."""
    pairs: dict[str, list[dict[str, float]]] = {}
    invalid: dict[str, int] = {}
    for r in records:
        for key, p in r["pairs"].items():
            pairs.setdefault(key, []).append(p["scores"])
            invalid[key] = invalid.get(key, 0) + p["invalid"]
    out = {}
    for key, rows in pairs.items():
        m = M.mean_dicts(rows)
        out[key] = {"cases": len(rows), **{c: round(m[c], 4) for c in CRITERIA},
                    "order_consistency": round(M.mean(m[f"{c}_consistent"] for c in CRITERIA), 4),
                    "invalid_judgements": invalid[key]}
    return out
