"""An open agent picks up a SASRec that finished training in the background, without a restart."""

from __future__ import annotations

from typing import Any

import pytest

import models.training as training
import tools.context as context
from tools.context import ToolContext


def test_a_ranker_trained_later_is_picked_up(ml_domain, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    trained: list[Any] = []
    calls = []

    def load_ranker(domain: Any) -> Any:
        calls.append(1)
        return trained[0] if trained else None

    monkeypatch.setattr(training, "load_ranker", load_ranker)
    ctx = ToolContext(ml_domain)
    assert ctx.ranker is None and ctx.ranker is None
    assert len(calls) == 1  # within RECHECK_S nothing is looked up again
    trained.append(object())  # training finished
    monkeypatch.setattr(context, "RECHECK_S", 0.0)
    assert ctx.ranker is trained[0]
    turn = ToolContext(ctx.domain, "diversity", 1, ctx.use_models, ctx.shared)  # as AgentDeps builds each turn's
    assert turn.ranker is trained[0]  # every turn's context shares it
    n = len(calls)
    assert ctx.ranker is trained[0] and len(calls) == n  # once found, never looked up again
