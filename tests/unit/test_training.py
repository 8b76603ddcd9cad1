import numpy as np
import pytest

from models.popularity import Popularity
from models.sasrec import SASRec, SASRecConfig
from models.training import (
    is_fresh,
    load_encoder_path,
    load_itemcf,
    load_popularity,
    load_ranker,
    model_path,
    train_models,
)
from tests.unit.rec_fixtures import ToyDomain

TINY = SASRecConfig(max_len=8, hidden=16, blocks=1, heads=1, max_epochs=2, patience=2, device="cpu", threads=1)


def test_train_skips_fresh_models_and_loaders_reload(tmp_path):
    dom = ToyDomain(tmp_path)
    first = train_models(dom, ("popularity", "itemcf", "sasrec"), progress=False, sasrec_config=TINY)
    assert {r["status"] for r in first.values()} == {"trained"}
    assert (model_path(dom, "sasrec") / "model.pt").is_file()
    assert (tmp_path / "models" / "sasrec-v1" / "meta.json").is_file()
    again = train_models(dom, ("popularity", "itemcf", "sasrec"), progress=False, sasrec_config=TINY)
    assert {r["status"] for r in again.values()} == {"up to date"}
    assert is_fresh(dom, "sasrec")
    ranker = load_ranker(dom)
    assert isinstance(ranker, SASRec)
    saved = SASRec.load(model_path(dom, "sasrec"))
    assert np.array_equal(ranker.score([1, 2, 3], [4, 5, 6]), saved.score([1, 2, 3], [4, 5, 6]))
    assert isinstance(load_popularity(dom), Popularity)
    assert load_itemcf(dom).n_items == dom.n_items


def test_stale_model_is_retrained_when_data_changes(tmp_path):
    dom = ToyDomain(tmp_path)
    train_models(dom, ("popularity",), progress=False)
    dom.interactions.loc[0, "iid"] = 39  # the train split changed
    assert not is_fresh(dom, "popularity")
    assert train_models(dom, ("popularity",), progress=False)["popularity"]["status"] == "trained"


def test_missing_models_fall_back(tmp_path, monkeypatch):
    dom = ToyDomain(tmp_path)
    monkeypatch.setenv("INTEREC_ENCODER", "/some/local/encoder")
    assert load_ranker(dom) is None
    assert load_encoder_path(dom) == "/some/local/encoder"
    (model_path(dom, "emb")).mkdir(parents=True)
    (model_path(dom, "emb") / "modules.json").write_text("[]")
    assert load_encoder_path(dom) == str(model_path(dom, "emb"))
    assert load_itemcf(dom).n_items == dom.n_items  # built on first use


def test_unknown_model_name_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        train_models(ToyDomain(tmp_path), ("bogus",))


def test_grown_catalog_keeps_the_stale_ranker_says_so_and_warm_starts(tmp_path):
    from models.training import model_status, ranker_note

    dom = ToyDomain(tmp_path)
    train_models(dom, ("sasrec",), progress=False, sasrec_config=TINY)
    assert model_status(dom, ("sasrec",))["sasrec"]["state"] == "fresh"
    assert "up to date" in ranker_note(dom)
    dom.n_items = 45  # five items added to the catalog, and a user's log grew
    extra = dom.interactions.iloc[:3].copy()
    extra["iid"] = [40, 41, 42]
    extra["ts"] = [100.0, 101.0, 102.0]
    dom.interactions = __import__("pandas").concat([dom.interactions, extra], ignore_index=True)
    st = model_status(dom, ("sasrec",))["sasrec"]
    assert st["state"] == "stale" and st["items_trained"] == 40 and st["items_now"] == 45
    note = ranker_note(dom)
    assert "stale" in note and "5 items newer" in note
    ranker = load_ranker(dom)  # still serves: new items score below every known one
    assert isinstance(ranker, SASRec)
    s = ranker.score([1, 2], [3, 44])
    assert s[1] < s[0]
    r = train_models(dom, ("sasrec",), progress=False, sasrec_config=TINY)["sasrec"]
    meta = SASRec.load(model_path(dom, "sasrec")).meta
    assert r["status"] == "trained" and meta["warm_start"] and meta["n_items"] == 45
    assert model_status(dom, ("sasrec",))["sasrec"]["state"] == "fresh"
    forced = train_models(dom, ("sasrec",), progress=False, sasrec_config=TINY, force=True)["sasrec"]
    assert forced["status"] == "trained" and not SASRec.load(model_path(dom, "sasrec")).meta["warm_start"]
