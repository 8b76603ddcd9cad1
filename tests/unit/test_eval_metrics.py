"""Every evaluator metric against values computed by hand."""

from __future__ import annotations

import math

import pytest

from evals import metrics as M

RANKED = [5, 3, 9, 1, 7]  # relevant items 3 (position 2) and 7 (position 5)
REL = {3, 7}


def test_hit_recall_precision() -> None:
    assert M.hit_at(RANKED, REL, 1) == 0.0
    assert M.hit_at(RANKED, REL, 2) == 1.0
    assert M.recall_at(RANKED, REL, 1) == 0.0
    assert M.recall_at(RANKED, REL, 2) == 0.5
    assert M.recall_at(RANKED, REL, 5) == 1.0
    assert M.precision_at(RANKED, REL, 2) == 0.5
    assert M.precision_at(RANKED, REL, 5) == pytest.approx(2 / 5)
    assert M.precision_at(RANKED, REL, 10) == pytest.approx(2 / 10)  # k, not the list length


def test_ndcg() -> None:
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3)
    assert M.ndcg_at(RANKED, REL, 5) == pytest.approx(dcg / idcg)  # 0.6240
    assert M.ndcg_at(RANKED, REL, 5) == pytest.approx(0.62405, abs=1e-5)
    assert M.ndcg_at(RANKED, REL, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert M.ndcg_at([7, 3], REL, 2) == pytest.approx(1.0)
    # one relevant item: NDCG@k = 1/log2(rank + 1)
    assert M.ndcg_at([0, 0, 42], {42}, 20) == pytest.approx(0.5)


def test_map_and_mrr() -> None:
    assert M.map_at(RANKED, REL, 5) == pytest.approx((1 / 2 + 2 / 5) / 2)  # 0.45
    assert M.map_at(RANKED, REL, 2) == pytest.approx((1 / 2) / 2)  # min(|rel|, k) = 2
    assert M.map_at(RANKED, {3}, 1) == 0.0
    assert M.mrr_at(RANKED, REL, 5) == 0.5
    assert M.mrr_at(RANKED, REL, 1) == 0.0
    assert M.mrr_at([1, 2, 3, 4, 7], {7}, 5) == pytest.approx(0.2)


def test_duplicates_and_missing_entries() -> None:
    # a repeated relevant item counts once; None (not in the catalog) keeps its position
    assert M.precision_at([3, 3, 7], {3}, 3) == pytest.approx(1 / 3)
    assert M.recall_at([3, 3], {3, 7}, 2) == 0.5
    assert M.mrr_at([None, 3], {3}, 2) == 0.5
    assert M.ndcg_at([None, None, 3], {3}, 3) == pytest.approx(0.5)
    assert M.ndcg_at([], {3}, 5) == 0.0
    assert M.ndcg_at([1], set(), 5) == 0.0


def test_ranking_metrics_keys() -> None:
    m = M.ranking_metrics(RANKED, REL)
    assert len(m) == 6 * 4
    assert m["Hit@1"] == 0.0 and m["Hit@5"] == 1.0 and m["MRR@20"] == 0.5
    assert m["Precision@20"] == pytest.approx(0.1)


def test_error_rates() -> None:
    e = M.error_rates([1, None, 1, 4, 99], valid={1, 4}, history=[4])
    assert e == {"not_in_catalog": pytest.approx(2 / 5), "duplicate": pytest.approx(1 / 5),
                 "history_copy": pytest.approx(1 / 5)}
    e = M.error_rates([1, None, 1, 4, 99], valid=None, history=[])
    assert e["not_in_catalog"] == pytest.approx(1 / 5)  # only None when any catalog item is valid
    assert M.error_rates([], None, [1]) == {"not_in_catalog": 0.0, "duplicate": 0.0, "history_copy": 0.0}


def test_conversation_metrics() -> None:
    turns = [1, None, 3, 6]  # 6 > k: a miss within 5 turns
    assert M.hit_within(turns, 5) == 0.5
    assert M.average_turns(turns, 5) == pytest.approx((1 + 6 + 3 + 6) / 4)  # 4.0
    assert M.hit_curve(turns, 3) == [0.25, 0.25, 0.5]
    assert M.hit_within([], 5) == 0.0 and M.average_turns([], 5) == 0.0
    assert M.average_turns([None, None], 5) == 6.0  # InteRecAgent: a failure counts max_turns + 1


def test_aggregation_helpers() -> None:
    lo, hi = M.wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert M.wilson(0, 0) == (0.0, 0.0)
    assert M.wilson(10, 10)[1] == pytest.approx(1.0)
    assert M.percentile([1, 2, 3, 4], 50) == 2.5
    assert M.percentile([1, 2, 3, 4], 100) == 4
    assert M.percentile([], 95) == 0.0
    assert M.mean([]) == 0.0
    assert M.mean_dicts([{"a": 1, "b": 2}, {"a": 3}]) == {"a": 2.0, "b": 2.0}
