"""Real MiniLM fine-tuning for a few steps: the loop runs, saves a loadable encoder, reload is exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.emb_pairs import generator_for_domain
from models.itemcf import ItemCF
from models.recdata import from_domain
from models.reclm_emb import EmbConfig, contrastive_loss, encode, load_encoder, train_encoder
from models.training import load_encoder_path, model_path
from tests.unit.rec_fixtures import ToyDomain

pytestmark = pytest.mark.slow


@pytest.mark.ci  # tiny tensors: runs in CI
def test_contrastive_loss_masks_duplicate_positives():
    q = torch.eye(3)
    docs = torch.eye(3).repeat(2, 1)
    ids = torch.tensor([0, 1, 2])
    low = contrastive_loss(q, docs, ids, torch.cat([ids, ids]), 20.0)
    high = contrastive_loss(q, docs, ids, torch.tensor([0, 1, 2, 7, 8, 9]), 20.0)
    assert float(low) < float(high)  # the copies of each positive are not counted as negatives


def test_few_steps_fine_tune_saves_and_reloads(tmp_path):
    dom = ToyDomain(tmp_path)
    data = from_domain(dom)
    cf = ItemCF.fit(data, k=10)
    gen = generator_for_domain(dom, data, neighbours=lambda i, k: cf.neighbours(i, k)[0])
    pairs = gen.training_pairs(per_type=8)
    out = model_path(dom, "emb")
    meta = train_encoder(pairs, gen.texts, out, EmbConfig(batch_size=8, per_type=8, max_minutes=2, threads=2),
                         progress=False, extra_meta={"data_hash": "x"})
    assert meta["steps"] >= 4 and np.isfinite(meta["loss_last50"])
    assert load_encoder_path(dom) == str(out)
    a = encode(load_encoder(str(out)), gen.texts[:5])
    b = encode(load_encoder(str(out)), gen.texts[:5])
    assert np.array_equal(a, b)
    assert a.shape == (5, 384)
