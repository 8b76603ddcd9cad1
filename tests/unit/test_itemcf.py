import numpy as np
import scipy.sparse as sp

from models.itemcf import ItemCF, cosine_topk, user_item_matrix
from models.recdata import from_user_sequences

SEQS = [np.array(s) for s in ([0, 1, 2], [0, 1], [1, 2, 3], [3, 4], [3, 4], [0, 1, 4])]


def test_cosine_neighbours_are_symmetric_and_exclude_self():
    sim = cosine_topk(user_item_matrix(SEQS, 5), k=4).toarray()
    assert np.allclose(np.diag(sim), 0.0)
    assert np.allclose(sim, sim.T)  # k >= n-1 keeps every pair, so both directions are present
    # 0 and 1 co-occur in 3 of their users: cos = 3 / sqrt(3 * 4)
    assert np.isclose(sim[0, 1], 3 / np.sqrt(12))
    assert np.isclose(sim[3, 4], 2 / np.sqrt(3 * 3))


def test_neighbours_best_first_and_topk_cut():
    cf = ItemCF(cosine_topk(user_item_matrix(SEQS, 5), k=1))
    assert cf.sim.getnnz(axis=1).max() == 1
    ids, sims = ItemCF(cosine_topk(user_item_matrix(SEQS, 5), k=4)).neighbours(0, 2)
    assert ids[0] == 1 and sims[0] >= sims[1]
    assert len(cf.neighbours(99, 3)[0]) == 0


def test_blocked_computation_matches_one_block():
    rng = np.random.default_rng(0)
    ui = sp.random(200, 300, density=0.05, random_state=1, format="csr")
    ui.data[:] = 1.0
    a = cosine_topk(ui, k=7, block_work=50).toarray()
    b = cosine_topk(ui, k=7, block_work=10**9).toarray()
    assert np.allclose(a, b)
    del rng


def test_score_sums_history_neighbours_and_reload(tmp_path):
    cf = ItemCF.fit(from_user_sequences(SEQS + [np.array([0, 1, 2, 3, 4])], n_items=5, min_len=99), k=4)
    s = cf.score([0, 1], [2, 3, 4])
    dense = cf.sim.toarray()
    assert np.allclose(s, dense[0, [2, 3, 4]] + dense[1, [2, 3, 4]])
    assert np.allclose(cf.score_all([np.array([0, 1])])[0, [2, 3, 4]], s)
    assert cf.score([], [1, 2]).tolist() == [0.0, 0.0]
    cf.save(tmp_path / "cf")
    again = ItemCF.load(tmp_path / "cf")
    assert np.array_equal(again.score([0, 1], [2, 3, 4]), s)
    assert again.meta["k"] == 4
