"""The gen suite's metrics by hand: NonExistRate, RepeatRate, DupRate, CorrectCount, Recall/NDCG@10."""

from __future__ import annotations

import math

import pytest

from evals.gen import ALL_GEN_SYSTEMS, GenSuite


def rec(items, raw=None, first=None, history=(), target=99, calls=1):  # type: ignore[no-untyped-def]
    raw = list(items) if raw is None else raw
    return {"items": list(items), "raw": raw, "first_pass": list(raw if first is None else first),
            "history": list(history), "target": target, "llm_calls": calls, "seconds": 1.0, "error": None}


def test_aggregate_by_hand() -> None:
    s = GenSuite()
    s.n = 3
    records = [
        rec([1, 2, 3]),  # perfect count, target missing
        rec([5, None, 5], history=[5]),  # a history copy twice (one is also a duplicate), one unknown
        rec([99, 7, 8], raw=[99, 99, 7, 8], first=[99, 99, 7], calls=2),  # refilled: hit at rank 1
    ]
    m = s.aggregate(None, records)
    assert m["cases"] == 3
    assert m["NonExistRate"] == round(1 / 10, 4)  # 10 generated lines, one names nothing
    assert m["RepeatRate"] == round(2 / 10, 4)
    assert m["DupRate"] == round(2 / 10, 4)  # 5 again, 99 again
    assert m["CorrectCount"] == round(2 / 3, 4)
    assert m["CorrectCount_first_pass"] == round(1 / 3, 4)
    assert m["Recall@10"] == round(1 / 3, 4)
    assert math.isclose(m["NDCG@10"], round(1 / 3, 4))
    assert m["llm_calls"] == round(4 / 3, 3)


def test_unknown_system_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="choose from"):
        GenSuite().make_system("nope", None, None, 0, {})  # type: ignore[arg-type]
    assert "llm-gen" in ALL_GEN_SYSTEMS


def test_llm_systems_need_an_llm(ml_domain) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="needs an LLM"):
        GenSuite().make_system("llm-gen", ml_domain, None, 0, {})
