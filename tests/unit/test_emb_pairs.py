import numpy as np
import pytest

from models.emb_facts import misspell
from models.emb_pairs import QUERY_TYPES, USER_TYPES, generator_for_domain, heldout_items
from models.itemcf import ItemCF
from models.recdata import from_domain
from tests.unit.rec_fixtures import ToyDomain


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    dom = ToyDomain(tmp_path_factory.mktemp("art"))
    data = from_domain(dom)
    cf = ItemCF.fit(data, k=10)
    return generator_for_domain(dom, data, seed=3, neighbours=lambda i, k: cf.neighbours(i, k)[0])


def test_every_query_type_is_generated(gen):
    pairs = gen.training_pairs(per_type=15)
    kinds = {p.kind for p in pairs}
    assert kinds == set(QUERY_TYPES)
    for p in pairs:
        assert p.query.strip() and p.neg >= 0 and p.neg != p.pos
    na = [p for p in pairs if p.kind == "NA2I"]
    assert all(" not " in p.query or "without" in p.query or p.query.startswith("no ") for p in na)


def test_training_pairs_never_leak_valid_or_test_targets(gen):
    data = gen.data
    held = heldout_items(data)
    assert held  # the toy catalog has valid/test targets
    pairs = gen.training_pairs(per_type=40)
    assert all(p.pos not in held for p in pairs)
    for p in pairs:
        if p.kind in USER_TYPES and p.uid >= 0:
            train = set(data.train[p.uid].tolist())
            assert set(p.history) <= train  # history comes from the train split only
            assert p.pos in train and p.pos not in {int(data.valid[p.uid]), int(data.test[p.uid])}


def test_heldout_queries_target_only_valid_test_items(gen):
    held = heldout_items(gen.data)
    qs = gen.heldout_queries(per_type=10)
    assert {q.kind for q in qs} == set(QUERY_TYPES)
    assert all(q.pos in held for q in qs)
    user_qs = [q for q in qs if q.kind in ("UH2I", "UQ2I")]
    for q in user_qs:
        assert q.pos in (int(gen.data.valid[q.uid]), int(gen.data.test[q.uid]))


def test_misspelling_changes_title_but_stays_close():
    rng = np.random.default_rng(0)
    for title in ["Toy Story (1995)", "Shawshank Redemption, The (1994)", "Up (2009)"]:
        typo = misspell(title, rng)
        assert typo != title and "(" not in typo[-6:]
        assert abs(len(typo) - len(title.split(" (")[0])) <= 3


def test_movielens_pairs_never_leak(ml_domain):
    from models.emb_pairs import generator_for_domain

    data = from_domain(ml_domain)
    cf = ItemCF.fit(data)
    g = generator_for_domain(ml_domain, data, neighbours=lambda i, k: cf.neighbours(i, k)[0])
    held = heldout_items(data)
    pairs = g.training_pairs(per_type=30)
    assert {p.kind for p in pairs} == set(QUERY_TYPES)
    assert not [p for p in pairs if p.pos in held]
    for p in pairs:
        if p.uid >= 0:
            assert set(p.history) <= set(data.train[p.uid].tolist())
