"""Catalog-constrained generation: the grammar's language is exactly the allowed titles, answers are
post-validated, repeats are refilled, and each backend gets the right constraint."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from models.constrained import (
    AllowedTitles,
    catalog_allowed,
    enum_schema,
    generate,
    parse_lines,
    shortlist,
    trie_grammar,
    validate,
)
from models.resolver import TitleResolver
from models.titles import display_title

TITLES = ["Toy Story (1995)", "Toy Story 2 (1999)", "Matrix, The (1999)", "Matrix Reloaded, The (2003)",
          "Heat (1995)", "Heathers (1989)", 'Say "Hi" \\ Bye (2001)', "Amélie (2001)", "Up (2009)", "Heat (1995)"]


def fake_domain() -> Any:
    pop = np.array([50, 40, 90, 30, 60, 5, 1, 20, 70, 0], dtype=np.int64)
    return SimpleNamespace(titles=TITLES, popularity=pop, config=SimpleNamespace(item_word="movie"),
                           resolver=TitleResolver(TITLES, pop))


# ---- a reader of the GBNF we emit (literals, rule references, "( ... )?") ------------------------------------
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\w+)|(\()|(\)\?)|(\|)')


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), s)


def language(grammar: str, rule: str) -> set[str]:
    """Every string `rule` derives (our grammars are finite and acyclic)."""
    rules = {}
    for line in grammar.strip().splitlines():
        name, _, body = line.partition(" ::= ")
        rules[name] = body

    def expand(name: str) -> set[str]:
        body = rules[name]
        optional = body.startswith("(") and body.endswith(")?")
        if optional:
            body = body[1:-2]
        out: set[str] = {""} if optional else set()
        for alt in body.split(" | "):
            acc = {""}
            for m in _TOKEN.finditer(alt):
                lit, ref = m.group(1), m.group(2)
                part = {_unescape(lit)} if lit is not None else expand(ref)
                acc = {a + p for a in acc for p in part}
            out |= acc
        return out

    return expand(rule)


def test_display_title_moves_articles() -> None:
    assert display_title("Matrix, The (1999)") == "The Matrix (1999)"
    assert display_title("Heat (1995)") == "Heat (1995)"
    assert display_title("Dîner de cons, Le (1998)") == "Le Dîner de cons (1998)"
    assert (display_title("Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)")
            == "The Good, the Bad and the Ugly (Buono, il brutto, il cattivo, Il) (1966)")


def test_trie_grammar_language_is_exactly_the_titles() -> None:
    allowed = AllowedTitles(TITLES, range(len(TITLES)))
    g = trie_grammar(allowed.texts, 3)
    title_rule = re.search(r'"1\. " (\w+) "\\n"', g).group(1)
    assert language(g, title_rule) == set(allowed.texts)
    assert g.count('"\\n"') == 3 and '"3. "' in g
    # a prefix tree: "Heat (1995)" and "Heathers (1989)" share the literal "Heat" once, not twice
    assert g.count('"Heat') == 1


def test_trie_grammar_rejects_empty_input() -> None:
    with pytest.raises(ValueError, match="no allowed titles"):
        trie_grammar([], 5)
    with pytest.raises(ValueError, match="at least 1"):
        trie_grammar(["A"], 0)


def test_allowed_titles_dedupes_display_strings_and_excludes() -> None:
    d = fake_domain()
    allowed = catalog_allowed(d, exclude=[0])
    assert "Toy Story (1995)" not in allowed.by_text
    assert allowed.by_text["Heat (1995)"] == 4  # the more popular of the two "Heat (1995)" rows
    assert allowed.texts[0] == "The Matrix (1999)"  # most popular first
    assert len(allowed) == len(set(TITLES)) - 1


def test_parse_lines_numbered_json_and_plain() -> None:
    assert parse_lines("1. Heat (1995)\n2) Up (2009) - fun\n- **Amélie (2001)**") == ["Heat (1995)", "Up (2009)",
                                                                                    "Amélie (2001)"]
    assert parse_lines('{"items": ["Heat (1995)", "Up (2009)"]}') == ["Heat (1995)", "Up (2009)"]


def test_validate_drops_unknown_and_disallowed_and_counts_repeats() -> None:
    d = fake_domain()
    allowed = AllowedTitles(TITLES, [2, 4, 8])
    got = validate(["The Matrix (1999)", "Heat (1995)", "Heat (1995)", "Toy Story (1995)", "Blade Runner (1982)",
                    "the matrix (1999)"], allowed, d.resolver)
    assert got.items == [2, 4]
    assert got.raw == [2, 4, 4, None, None, 2]  # the fuzzy match still lands inside the allowed set
    assert got.dropped == ["Toy Story (1995)", "Blade Runner (1982)"]
    assert got.duplicates == 2


class Recorder(BaseChatModel):
    """Answers from a script and records the call options (grammar, response_format) it was bound with."""

    answers: list[str] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recorder"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        self.calls.append({"prompt": str(messages[-1].content), **kwargs})
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.answers.pop(0)))])


def test_generate_grammar_backend_sends_grammar_and_refills_repeats() -> None:
    d = fake_domain()
    allowed = catalog_allowed(d, exclude=[0])
    llm = Recorder(answers=["1. The Matrix (1999)\n2. The Matrix (1999)\n3. Heat (1995)\n",
                            "1. Up (2009)\n"])
    r = generate(llm, d, [0], 3, allowed, backend="grammar")
    assert r.items == [2, 4, 8] and r.calls == 2 and r.duplicates == 1
    assert r.first_pass == [2, 2, 4]
    g1, g2 = llm.calls[0]["extra_body"]["grammar"], llm.calls[1]["extra_body"]["grammar"]
    assert language(g1, re.search(r'"1\. " (\w+)', g1).group(1)) == set(allowed.texts)
    # the refill call may not name the chosen items again, and asks only for what is missing
    refill_titles = language(g2, re.search(r'"1\. " (\w+)', g2).group(1))
    assert "The Matrix (1999)" not in refill_titles and "Heat (1995)" not in refill_titles
    assert '"2. "' not in g2 and "Recommend 1 movies" in llm.calls[1]["prompt"]
    assert "Toy Story (1995)" in llm.calls[0]["prompt"]  # the history is in the prompt


def test_generate_enum_backend_caps_and_post_validates() -> None:
    d = fake_domain()
    allowed = AllowedTitles(TITLES, [2, 4, 8])
    llm = Recorder(answers=['{"items": ["Heat (1995)", "Blade Runner (1982)"]}', '{"items": ["Up (2009)"]}'])
    r = generate(llm, d, [], 2, allowed, backend="enum")
    fmt = llm.calls[0]["response_format"]["json_schema"]["schema"]["properties"]["items"]
    assert fmt["items"]["enum"] == allowed.texts and fmt["minItems"] == fmt["maxItems"] == 2
    assert r.items == [4, 8] and r.dropped == ["Blade Runner (1982)"]
    assert enum_schema(["A"], 1)["strict"] is True


def test_generate_free_keeps_unknown_titles_as_none() -> None:
    d = fake_domain()
    llm = Recorder(answers=["1. Heat (1995)\n2. Blade Runner (1982)\n3. Heat (1995)"])
    r = generate(llm, d, [], 3, None)
    assert r.raw == [4, None, 4] and r.items == [4] and r.calls == 1  # no refill without a constraint
    assert "extra_body" not in llm.calls[0] and "response_format" not in llm.calls[0]


def test_generate_rejects_an_empty_constraint() -> None:
    with pytest.raises(ValueError, match="allows no titles"):
        generate(Recorder(), fake_domain(), [], 3, AllowedTitles(TITLES, []), backend="grammar")


def test_shortlist_excludes_history_and_mixes_sources() -> None:
    d = fake_domain()

    class Ranker:
        def score(self, hist: list[int], cands: Any) -> np.ndarray:
            return -np.asarray(cands, dtype=np.float32)  # prefers low ids

    out = shortlist(d, [0, 1], 6, ranker=Ranker())
    assert 0 not in out and 1 not in out and len(out) == 6
    assert out[:3] == [2, 3, 4]  # half from the ranker
    assert out[3] == 8  # then popularity
