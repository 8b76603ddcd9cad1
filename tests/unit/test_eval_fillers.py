"""The agent's code must not be fitted to the simulator: no filler word or phrase of the test phrasing bank
may appear in a string of graph/, tools/ or models/ (issue 15 item 2). The dev bank is what tests and
tuning may read; the two banks share no sentence and no filler."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd

from evals.simulators import load_bank

ROOT = Path(__file__).resolve().parents[2]
AGENT_CODE = ("graph", "tools", "models")


def _code_strings(path: Path) -> list[str]:
    """String literals of a module that are not docstrings (what code can match text against)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    return [n.value.lower() for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def _catalog_words() -> set[str]:
    """Ordinary catalog words (MovieLens genres, tags, title words): a filler that is one is not the simulator's."""
    ml = ROOT / "data" / "movielens"
    movies = pd.read_csv(ml / "movies.csv", dtype=str)
    text = " ".join(movies["genres"].str.replace("|", " ")) + " " + " ".join(movies["title"])
    text += " " + " ".join(pd.read_csv(ml / "tags.csv", dtype=str)["tag"].dropna())
    return set(re.findall(r"[a-z']+", text.lower()))


def _found(filler: str, text: str) -> bool:
    return re.search(rf"(?<![a-z']){re.escape(filler)}(?![a-z'])", text) is not None


def test_bank_fillers_are_real_and_distinct() -> None:
    dev, test = load_bank("dev"), load_bank("test")
    assert set(dev) == set(test)  # the same kinds of sentence
    dev_sentences = {s for k, v in dev.items() if k != "fillers" for s in v}
    test_sentences = {s for k, v in test.items() if k != "fillers" for s in v}
    assert not dev_sentences & test_sentences
    test_text = " ".join(test_sentences).lower()
    dev_text = " ".join(dev_sentences).lower()
    for f in test["fillers"]:
        assert _found(f, test_text), f"test-bank filler {f!r} is not used by the test bank"
        assert not _found(f, dev_text), f"test-bank filler {f!r} is also in the dev bank"


def test_no_test_bank_filler_in_the_agents_code() -> None:
    catalog = _catalog_words()
    fillers = [f for f in load_bank("test")["fillers"] if not (" " not in f and f in catalog)]
    assert len(fillers) >= 15  # the check must keep its teeth
    hits = []
    for d in AGENT_CODE:
        for path in sorted((ROOT / d).rglob("*.py")):
            strings = _code_strings(path)
            hits += [f"{path.relative_to(ROOT)}: {f!r}" for f in fillers if any(_found(f, s) for s in strings)]
    assert not hits, "simulator fillers in the agent's code:\n" + "\n".join(hits)
