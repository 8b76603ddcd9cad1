"""Constrained generation with the real local model: the llama.cpp server accepts the prefix-tree grammar
(catalog-wide and for a small candidate set) and every generated line is an allowed, unseen catalog item."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models import local_llm
from models.constrained import AllowedTitles, catalog_allowed, generate
from models.llm import LLMSettings
from models.llm_factory import get_chat_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm() -> Iterator[object]:
    owned = local_llm.local_server_info() is None
    yield get_chat_model(LLMSettings.from_env(provider="local"))
    if owned:
        local_llm.shutdown_local_server()


def test_catalog_constraint_names_only_real_unseen_items(ml_domain, llm) -> None:  # type: ignore[no-untyped-def]
    from evals.cases import make_cases

    case = make_cases(ml_domain, 1, 0)[0]
    allowed = catalog_allowed(ml_domain, case.history)
    r = generate(llm, ml_domain, case.history, 5, allowed)
    assert r.backend == "grammar" and r.allowed == len(allowed) > 9000
    assert r.first_pass and None not in r.first_pass  # every line of the constrained answer is a catalog item
    assert not set(r.raw) & set(case.history)
    assert 1 <= len(r.items) <= 5 and len(set(r.items)) == len(r.items)


def test_candidate_constraint_stays_inside_the_candidates(ml_domain, llm) -> None:  # type: ignore[no-untyped-def]
    cands = [int(i) for i in ml_domain.popularity.argsort()[::-1][100:120]]
    r = generate(llm, ml_domain, [0], 3, AllowedTitles(ml_domain.titles, cands))
    assert r.items and set(r.items) <= set(cands) and None not in r.first_pass
