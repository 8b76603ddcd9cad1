import numpy as np

from models.metrics import hr_ndcg, target_ranks
from models.popularity import Popularity
from models.recdata import from_user_sequences


def test_ranks_mask_history_but_never_the_target():
    scores = np.array([[5.0, 4.0, 3.0, 2.0]])
    assert target_ranks(scores, np.array([2]))[0] == 2
    assert target_ranks(scores, np.array([2]), [np.array([0, 1, 2])])[0] == 0


def test_ties_are_broken_at_random_not_optimistically():
    scores = np.zeros((2000, 100))
    ranks = target_ranks(scores, np.zeros(2000, dtype=np.int64))
    assert 40 < ranks.mean() < 60
    assert hr_ndcg(np.array([0, 20]), 10) == {"HR@10": 0.5, "NDCG@10": 0.5}


def test_leave_last_out_and_popularity():
    data = from_user_sequences([np.array([0, 1, 2, 3]), np.array([1, 2])], n_items=5)
    assert data.train[0].tolist() == [0, 1] and data.valid[0] == 2 and data.test[0] == 3
    assert data.valid[1] == -1 and data.train[1].tolist() == [1, 2]
    hist, tgt = data.test_cases()
    assert hist[0].tolist() == [0, 1, 2] and tgt.tolist() == [3]
    pop = Popularity.fit(data)
    assert pop.score([], [1, 0, 4]).tolist() == np.log1p([2, 1, 0]).astype(np.float32).tolist()
