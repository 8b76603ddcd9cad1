"""Every text sent to an LLM, as plain files here (filled with str.format), so prompts are read and changed
without reading code; the files named eval_* are the evaluator's (simulated users, judges, LLM baselines)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


@cache
def template(name: str) -> str:
    """The file's text without the newline that ends it (a text file ends with one; the prompt does not)."""
    raw = load(name)
    return raw[:-1] if raw.endswith("\n") else raw
