"""Call options for the evaluator's own LLM calls (simulated user, baselines, explainer)."""

from __future__ import annotations

from typing import Any


def bound(llm: Any, **kwargs: Any) -> Any:
    """`llm.bind(**kwargs)` (e.g. max_tokens: a small model may ramble for its whole context), or `llm` itself
    when the model cannot bind options."""
    try:
        return llm.bind(**kwargs)
    except (AttributeError, NotImplementedError, TypeError):
        return llm
