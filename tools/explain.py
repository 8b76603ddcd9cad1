"""Explain tool: "why did you recommend X?" answered only from facts computed for this user and item.

Why: an LLM asked "why" invents plausible overlap. Here the facts come first, from code: the item's own
attributes, attribute values it shares with liked items, co-like counts from the train interactions, and
each liked item's contribution to the ranker's score. Method for the contribution: leave-one-out on
SASRec, delta(h) = score(X | history) - score(X | history without h); the explanation cites the liked
items with the largest positive deltas. The LLM may only phrase the facts: `check_phrasing` rejects any
number, title or attribute value that is not in them, and the templated text is used instead.
When nothing is shared, the explanation says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field

from models.titles import display_title
from prompts import load, template
from tools.bus import Bus
from tools.common import Titles, item_values, list_columns, resolve_titles
from tools.context import ToolContext
from tools.costats import CoStats, loo_contributions
from tools.knowledge import MIN_BASE, MIN_SUPPORT, Fact
from tools.registry import Args, ToolSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

METHOD = "leave-one-out on SASRec: score(item | history) - score(item | history without h)"
MAX_CITED = 3
MIN_SHARE_OF_TOP = 0.25  # cite a liked item when its contribution is at least this share of the largest


@dataclass
class Explanation:
    target: int
    history: list[int]
    facts: list[Fact]
    cited: list[int]  # liked items the explanation names as the reason (largest positive contributions)
    contributions: dict[int, float] = field(default_factory=dict)  # liked item -> leave-one-out delta
    method: str = METHOD
    text: str = ""  # the templated explanation, built from `facts` only
    shares_nothing: bool = False

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["contributions"] = {str(k): v for k, v in self.contributions.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Explanation:
        return cls(int(d["target"]), [int(x) for x in d["history"]], [Fact(**f) for f in d["facts"]],
                   [int(x) for x in d["cited"]], {int(k): float(v) for k, v in d.get("contributions", {}).items()},
                   d.get("method", METHOD), d.get("text", ""), bool(d.get("shares_nothing")))


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def explain(ctx: ToolContext, history: Sequence[int], target: int) -> Explanation:
    """Facts about `target` for a user who liked `history` (time order), the cited items and a templated text."""
    titles = ctx.domain.titles
    t = int(target)
    hist = [int(h) for h in dict.fromkeys(history) if int(h) != t and 0 <= int(h) < ctx.n_items]
    facts: list[Fact] = []
    # the item itself
    cols = list_columns(ctx)
    own = {col: item_values(ctx, t, col) for col in cols}
    desc = "; ".join(f"{c}: {', '.join(v)}" for c, v in own.items() if v)
    if desc:
        facts.append(Fact(t, "attribute", f"{display_title(titles[t])} has {desc}", {"values": own}, 1.0))
    # contributions (leave-one-out on the ranker)
    contrib: dict[int, float] = {}
    cited: list[int] = []
    ranker = ctx.ranker
    if ranker is not None and hist and hasattr(ranker, "score_batch"):
        use = hist[-getattr(ranker.config, "max_len", 50):]
        _, delta = loo_contributions(ranker, use, [t])
        contrib = {h: round(float(delta[i, 0]), 2) for i, h in enumerate(use)}
        top = max(contrib.values())
        if top > 0:
            best = sorted((h for h in use if contrib[h] > 0), key=lambda h: -contrib[h])
            cited = [h for h in best if contrib[h] >= MIN_SHARE_OF_TOP * top][:MAX_CITED]
        for h in cited:
            facts.append(Fact(t, "sasrec", f"picked mainly because you liked {display_title(titles[h])}",
                              {"history_iid": h, "delta": contrib[h]}, contrib[h]))
    # shared attribute values: cited items first, then the liked item that shares most
    shared_any = False
    if cols and hist:
        order = cited + [h for h in hist if h not in cited]
        by_item = []
        for h in order:
            common = [v for c in cols for v in own[c] if v in item_values(ctx, h, c)]
            if common:
                by_item.append((h, common))
        picked = [x for x in by_item if x[0] in cited] or sorted(by_item, key=lambda x: -len(x[1]))[:1]
        for h, common in picked[:2]:
            shared_any = True
            facts.append(Fact(t, "shared", f"shares {', '.join(common[:3])} with {display_title(titles[h])}",
                              {"history_iid": h, "values": common[:3]}, len(common) / max(1, sum(map(len, own.values())))))
    # co-likes from the train interactions
    co_any = False
    if hist:
        stats = CoStats.from_context(ctx)
        co = stats.co_counts(hist, [t])[:, 0]
        base = stats.likes[hist]
        ok = [(co[i] / base[i], int(co[i]), i) for i in range(len(hist)) if base[i] >= MIN_BASE and co[i] >= MIN_SUPPORT]
        if ok:
            p, both, i = max(ok)
            h = hist[i]
            co_any = True
            pct = round(100 * p)
            facts.append(Fact(t, "co_liked", f"liked by {pct}% of the {int(base[i])} people who liked "
                                             f"{display_title(titles[h])}", {"history_iid": h, "percent": pct, "both": both,
                                                                           "base": int(base[i])}, float(p)))
    nothing = not cited and not shared_any and not co_any
    if nothing:
        likes = int(ctx.popularity[t])
        facts.append(Fact(t, "popularity", f"{likes} people in our data liked it", {"likes": likes}, 0.0))
    exp = Explanation(t, hist, facts, cited, contrib, METHOD, "", nothing)
    exp.text = template_text(ctx, exp)
    return exp


def template_text(ctx: ToolContext, exp: Explanation) -> str:
    """The explanation in plain sentences, every one of them a fact of `exp` (nothing else)."""
    titles = ctx.domain.titles
    word = ctx.domain.config.item_word
    name = display_title(titles[exp.target])
    cols = _join(list_columns(ctx)) or "attributes"  # the catalog's own column names: "kinds and tags"
    by = {k: [f for f in exp.facts if f.kind == k] for k in ("attribute", "sasrec", "shared", "co_liked", "popularity")}
    out = [f"Why {name}:"]
    if by["attribute"]:
        out.append(by["attribute"][0].text + ".")
    if exp.shares_nothing:
        if not exp.history:
            out.append(f"I don't know any {word}s you liked, so I cannot link it to your taste.")
        else:
            out.append(f"Honestly, it shares nothing with the {word}s you liked: no {cols} in common, too few "
                       f"people who liked them also liked it, and none of them counted towards picking it.")
        out.append(f"It came up for other reasons: {by['popularity'][0].text}.")
        return " ".join(out)
    if by["sasrec"]:
        names = [display_title(titles[f.evidence["history_iid"]]) for f in by["sasrec"]]
        out.append(f"It was picked mainly because you liked {_join(names)}.")
    out += [f.text[0].upper() + f.text[1:] + "." for f in by["shared"]]
    if not by["shared"]:
        out.append(f"It has no {cols} in common with the {word}s you liked.")
    out += [f.text[0].upper() + f.text[1:] + "." for f in by["co_liked"]]
    return " ".join(out)


# ---- checking an LLM's phrasing ----------------------------------------------------------------------------
_NUM = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def _allowed_numbers(ctx: ToolContext, exp: Explanation) -> set[str]:
    out: set[str] = set()
    for f in exp.facts:
        out.update(_NUM.findall(f.text))
        for v in f.evidence.values():
            if isinstance(v, int | float) and not isinstance(v, bool):
                out.update({str(v), f"{v:.2f}", f"{v:.1f}", str(round(v)), str(abs(v))})
    out.update(x.lstrip("0") or "0" for x in list(out))
    return out


def check_phrasing(ctx: ToolContext, exp: Explanation, text: str) -> list[str]:
    """What the phrasing says that the facts do not: numbers, titles, attribute values. Empty = faithful."""
    from tools.grounding import check_reply

    problems: list[str] = []
    allowed_nums = _allowed_numbers(ctx, exp)
    for n in _NUM.findall(text):
        if n not in allowed_nums and (n.lstrip("0") or "0") not in allowed_nums:
            problems.append(f"number {n}")
    titles = ctx.domain.titles
    named = {exp.target} | {int(f.evidence["history_iid"]) for f in exp.facts if "history_iid" in f.evidence}
    masked = text  # the facts' titles (catalog or "The X" spelling, with or without year) are allowed
    variants = {v for i in named for t in (titles[i], display_title(titles[i])) for v in (t, t.rsplit(" (", 1)[0])}
    for v in sorted(variants, key=len, reverse=True):
        masked = re.sub(re.escape(v), " ITEM ", masked, flags=re.I) if len(v) > 2 else masked
    g = check_reply(masked, {}, ctx.domain.resolver)
    problems += [f"title {t}" for t in g.invented]
    fact_text = " ".join(f.text for f in exp.facts).lower()
    for col in list_columns(ctx):
        meta = ctx.domain.schema.get(col)
        for v in meta.values if meta is not None else []:
            pat = re.compile(rf"(?<![\w-]){re.escape(v.lower())}(?![\w-])")
            if pat.search(text.lower()) and not pat.search(fact_text):
                problems.append(f"{col} {v}")
    return problems




def phrase(llm: BaseChatModel, ctx: ToolContext, exp: Explanation, max_tokens: int = 120) -> tuple[str, dict[str, Any]]:
    """The LLM's phrasing when it passes `check_phrasing`, else the templated text; info says which and why."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from tools.sentences import whole_sentences

    facts = "\n".join(f"- {f.text}" for f in exp.facts)
    if exp.shares_nothing:
        facts += "\n- it shares nothing with the items the user liked"
    prompt = template("explain_user").format(title=display_title(ctx.domain.titles[exp.target]), facts=facts)
    info: dict[str, Any] = {"used": "template", "problems": []}
    try:
        bound: Any
        try:
            bound = llm.bind(max_tokens=max_tokens)
        except (AttributeError, NotImplementedError, TypeError):
            bound = llm
        # not streamed to the user: the phrasing may still be rejected below, and then the template is the answer
        out = bound.invoke([SystemMessage(load("explain_system").strip()), HumanMessage(prompt)],
                           config={"tags": ["nostream", "explain"], "run_name": "explain_llm"})
        text = str(getattr(out, "content", out)).strip()
        if (getattr(out, "response_metadata", None) or {}).get("finish_reason") == "length":
            text = whole_sentences(text)  # cut by the token cap: end at the last finished sentence
    except Exception as e:  # noqa: BLE001 - the template is always available
        info["error"] = f"{type(e).__name__}: {str(e)[:200]}"
        return exp.text, info
    problems = check_phrasing(ctx, exp, text) if text else ["empty"]
    if problems:
        info["problems"] = problems
        return exp.text, info
    if exp.shares_nothing and not re.search(r"\b(nothing|no |not|none)\b", text, re.I):
        info["problems"] = ["hides that nothing is shared"]
        return exp.text, info
    info["used"] = "llm"
    return text, info


# ---- the tool ----------------------------------------------------------------------------------------------
class ExplainArgs(Args):
    titles: Titles = Field(description="the item to explain")
    liked: Titles = Field(default_factory=list, description="items the user likes")


def run_explain(ctx: ToolContext, bus: Bus, args: ExplainArgs) -> str:
    ids, missing = resolve_titles(ctx, args.titles[:1])
    if not ids:
        raise ValueError(f"not in the catalog: {', '.join(args.titles) or '(no title)'}")
    liked, _ = resolve_titles(ctx, args.liked)
    history = list(dict.fromkeys([*liked, *bus.seeds]))
    exp = explain(ctx, history, ids[0])
    bus.rows.append({"title": ctx.domain.titles[ids[0]], "explanation": exp.text, "explain": exp.to_json()})
    cited = ", ".join(ctx.domain.titles[h] for h in exp.cited) or "none"
    return f"explained {ctx.domain.titles[ids[0]]} from {len(history)} liked item(s); cited: {cited}; {len(exp.facts)} facts"


# Kept out of the LLM plan's tool enum (the plan prompt and schema stay as benchmarked, and a stray explain step in
# a recommendation plan would put its facts among the reply's look-up rows): a why-question is recognised in code
# (graph/nodes/plan.py -> why_step) before any LLM call.
EXPLAIN = ToolSpec("explain", "explain", "say why an item was recommended, from the user's liked items and data",
                   lambda s: ExplainArgs, run_explain, in_plan=False)


WHY = re.compile(r"^\s*(?:but\s+|and\s+|so\s+)?(?:why|what made you|how come)\s+(?:(?:did|do|would|have)\s+you\s+)?"
                 r"(?:(?:recommend|suggest|pick|choose|chose|show|give)(?:ed)?(?:\s+me)?\s+|(?:is|was)\s+)?"
                 r"(?P<item>.+?)\s*\??\s*$", re.I)


def why_target(message: str, ctx: ToolContext, recent: Sequence[int] = ()) -> int | None:
    """The item a "why did you recommend X?" / "why X?" question asks about, or None."""
    m = WHY.match(message or "")
    if not m:
        return None
    span = re.sub(r"\s+(?:to me|for me|then|again|here)$", "", m.group("item").strip(" \"'“”"), flags=re.I)
    from rapidfuzz import fuzz

    from models.resolver import normalise

    key = normalise(span)[0]
    scored = [(fuzz.WRatio(key, normalise(ctx.domain.titles[i])[0]), i) for i in recent]
    if scored and max(scored)[0] >= 86:
        return int(max(scored)[1])
    hit = ctx.domain.resolver.best(span, 0.9)  # word order matters too: "the sky blue" is not "Blue Sky"
    if hit is None or fuzz.ratio(key, normalise(ctx.domain.titles[hit.iid])[0]) < 80:
        return None
    return hit.iid


def explain_result(bus: Bus) -> Explanation | None:
    """The explanation an explain step left on the bus (for the reply writer)."""
    for row in bus.rows:
        if isinstance(row.get("explain"), dict):
            return Explanation.from_json(row["explain"])
    return None


def why_step(message: str, ctx: ToolContext, earlier_texts: Sequence[str], profile: dict[str, list[str]]
             ) -> dict[str, Any] | None:
    """The explain step when the message asks why an item was recommended, else None.

    The user's liked items are the titles they named earlier in the conversation and their profile likes."""
    target = why_target(message, ctx)
    if target is None:
        return None
    from models.mentions import mentioned_titles

    titles = ctx.domain.titles
    liked = [titles[i] for text in earlier_texts for i in mentioned_titles(text, ctx.domain.resolver)]
    liked += [x for x in profile.get("like", []) if not re.match(r"^[a-z_]\w*=", x)]
    liked = [t for t in dict.fromkeys(liked) if t != titles[target]][:8]
    return {"tool": "explain", "titles": [titles[target]], "liked": liked}
