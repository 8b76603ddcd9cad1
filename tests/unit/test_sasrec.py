import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models import sasrec_net
from models.recdata import from_user_sequences
from models.sasrec import SASRec, SASRecConfig, SASRecNet, training_windows

FAST = SASRecConfig(max_len=8, hidden=32, blocks=2, heads=2, dropout=0.1, lr=5e-3, batch_size=32,
                    max_epochs=40, patience=40, seed=1, device="cpu", threads=1)


def pattern_data() -> tuple:
    """Items come in chains A->B->C (0->1->2, 3->4->5, ...); a user sees several chains in a row."""
    rng = np.random.default_rng(0)
    seqs = []
    for _ in range(300):
        chains = rng.choice(5, size=4, replace=False)
        seq = np.concatenate([[3 * c, 3 * c + 1, 3 * c + 2] for c in chains])
        seqs.append(seq[: int(rng.integers(4, len(seq) + 1))])  # varied lengths: every position is seen
    return from_user_sequences(seqs, n_items=15)


@pytest.mark.parametrize("stride", [None, 2, 1])
def test_windows_cover_every_transition_once(stride):
    x, y = training_windows([np.arange(1, 12)], max_len=4, stride=stride)
    pairs = [(int(a), int(b)) for xr, yr in zip(x, y, strict=True) for a, b in zip(xr, yr, strict=True) if b]
    assert sorted(pairs) == [(i + 1, i + 2) for i in range(1, 11)]  # shifted ids, 0 = padding; each once
    if stride:  # overlapping windows: every target but the oldest few has >= max_len - stride context
        for xr, yr in zip(x[:-1], y[:-1], strict=True):
            assert not yr[: 4 - stride].any() and xr.all()


def test_learns_chain_pattern_and_reloads_identically(tmp_path):
    data = pattern_data()
    model = SASRec.fit(data, FAST)
    for a in range(5):
        assert int(np.argmax(model.score([3 * a], np.arange(15)))) == 3 * a + 1
        assert int(np.argmax(model.score([9 - 3 * (a % 3), 3 * a, 3 * a + 1], np.arange(15)))) == 3 * a + 2
    assert model.meta["data_hash"] == data.digest()
    model.save(tmp_path / "sasrec-v1")
    again = SASRec.load(tmp_path / "sasrec-v1")
    hist = [0, 1, 2, 6, 7]
    cands = np.array([8, 3, 0, 14])
    assert np.array_equal(again.score(hist, cands), model.score(hist, cands))
    batch = model.score_batch([np.array(hist), np.array([], dtype=np.int64)])
    assert np.allclose(batch[0, cands], model.score(hist, cands), atol=1e-5)
    assert not batch[1].any()  # empty history scores 0
    assert again.meta["config"]["max_len"] == 8


def test_sliced_softmax_head_gives_the_one_shot_gradient(monkeypatch):
    monkeypatch.setattr(sasrec_net, "HEAD_CHUNK", 7)  # slices that do not divide the positions evenly
    torch.manual_seed(0)
    net = SASRecNet(40, FAST)
    seq = torch.randint(1, 41, (5, 8))
    target = torch.randint(0, 40, (5 * 8,))

    def grads(fn):
        net.zero_grad(set_to_none=True)
        loss = fn(net(seq).reshape(-1, FAST.hidden))
        return loss, {k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None}

    def one_shot(h):
        loss = F.cross_entropy(h @ net.item_weights().T, target)
        loss.backward()
        return float(loss)

    net.eval()  # no dropout: both passes see the same activations
    want_loss, want = grads(one_shot)
    got_loss, got = grads(lambda h: sasrec_net.full_softmax_backward(net, h, target))
    assert got_loss == pytest.approx(want_loss, rel=1e-5)
    assert want.keys() == got.keys()
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-6), k


def test_sampled_softmax_learns_the_same_pattern():
    data = pattern_data()
    model = SASRec.fit(data, SASRecConfig(**{**FAST.__dict__, "loss": "sampled", "negatives": 4}))
    assert model.meta["loss"] == "sampled"
    for a in range(5):
        assert int(np.argmax(model.score([3 * a], np.arange(15)))) == 3 * a + 1


def test_auto_loss_switches_on_catalog_size():
    data = pattern_data()
    small = SASRec.fit(data, SASRecConfig(**{**FAST.__dict__, "max_epochs": 1, "sampled_above": 100}))
    large = SASRec.fit(data, SASRecConfig(**{**FAST.__dict__, "max_epochs": 1, "sampled_above": 10}))
    assert (small.meta["loss"], large.meta["loss"]) == ("full", "sampled")
    with pytest.raises(ValueError, match="loss"):
        SASRec.fit(data, SASRecConfig(**{**FAST.__dict__, "loss": "bpr"}))


def test_items_newer_than_the_model_score_lowest_and_warm_start_keeps_old_weights():
    data = pattern_data()
    model = SASRec.fit(data, FAST)
    scores = model.score([0], np.array([1, 15, 16, 2]))  # 15, 16: not in the catalog it was trained on
    assert scores[1] == scores[2] < min(scores[0], scores[3])
    grown = from_user_sequences([*[np.append(s, [15, 16, 17]) for s in data.train[:100]], *data.train[100:]],
                                n_items=18)
    cfg = SASRecConfig(**{**FAST.__dict__, "min_epochs": 1, "patience": 1, "max_epochs": 3})
    warm = SASRec.fit(grown, cfg, init=model)
    assert warm.meta["warm_start"] and warm.n_items == 18
    assert warm.meta["epochs"] <= 3
    for a in range(5):  # what the old model knew survives the few warm epochs
        assert int(np.argmax(warm.score([3 * a], np.arange(15)))) == 3 * a + 1
    with pytest.raises(ValueError, match="warm start"):
        SASRec.fit(data, SASRecConfig(**{**FAST.__dict__, "hidden": 16}), init=model)
