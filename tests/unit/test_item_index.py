"""Incremental dense index: only changed rows are embedded; moved rows re-use their vectors."""

import hashlib

import numpy as np
import pytest

from models.chroma import chroma_client
from models.item_index import ItemIndex, build_item_index


class CountingEmbedder:
    """Deterministic text -> unit vector (a hash), counting the texts it is asked to embed.

    The test is about which rows the index re-embeds, not about embedding quality, so no model loads."""

    def __init__(self, backend: str = "onnx-int8"):
        self.path, self.backend, self.calls = "/enc/test", backend, []

    def embed(self, texts, batch_size=64, progress=False):
        self.calls.extend(texts)
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little")
            v = np.random.default_rng(seed).normal(size=8).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32)


def stored(col, n):
    got = col.get(ids=[str(i) for i in range(n)], include=["embeddings", "metadatas"])
    return {int(i): (np.asarray(e), m) for i, e, m in zip(got["ids"], got["embeddings"], got["metadatas"], strict=True)}


@pytest.fixture
def client(tmp_path):
    return chroma_client(tmp_path / "chroma")


def test_only_changed_and_new_rows_are_embedded(client):
    texts = [f"item {i} text" for i in range(30)]
    titles = [f"Item {i}" for i in range(30)]
    emb = CountingEmbedder()
    first = build_item_index(client, "toy", texts, titles, emb, progress=False)
    assert (first.embedded, first.full) == (30, True)
    texts2 = [*texts, "item 30 new", "item 31 new"]
    texts2[4] = "item 4 rewritten"
    titles2 = [*titles, "Item 30", "Item 31"]
    emb.calls.clear()
    upd = build_item_index(client, "toy", texts2, titles2, emb, progress=False)
    assert sorted(emb.calls) == sorted(["item 4 rewritten", "item 30 new", "item 31 new"])
    assert (upd.embedded, upd.unchanged, upd.full) == (3, 29, False)
    col = client.get_collection("interec_items_toy")
    rows = stored(col, 32)
    assert len(rows) == 32 and col.count() == 32
    for i, t in enumerate(texts2):  # every id holds the vector of its current text
        assert np.allclose(rows[i][0], emb.embed([t])[0], atol=1e-5)
    idx = ItemIndex(col, emb)
    assert idx.search("item 30 new", k=1)[0][0] == 30


def test_moved_rows_reuse_vectors_and_removed_rows_are_deleted(client):
    texts = [f"text {i}" for i in range(10)]
    titles = [f"T{i}" for i in range(10)]
    emb = CountingEmbedder()
    build_item_index(client, "toy", texts, titles, emb, progress=False)
    order = [1, 0, *range(2, 8)]  # rows 0 and 1 swapped, rows 8 and 9 gone
    emb.calls.clear()
    upd = build_item_index(client, "toy", [texts[i] for i in order], [titles[i] for i in order], emb, progress=False)
    assert emb.calls == []  # nothing re-embedded
    assert (upd.reused, upd.deleted, upd.unchanged) == (2, 2, 6)
    col = client.get_collection("interec_items_toy")
    assert col.count() == 8
    rows = stored(col, 8)
    assert rows[0][1]["title"] == "T1" and np.allclose(rows[0][0], emb.embed(["text 1"])[0], atol=1e-5)


def test_another_backend_rebuilds_everything(client):
    texts = [f"text {i}" for i in range(5)]
    build_item_index(client, "toy", texts, texts, CountingEmbedder("torch"), progress=False)
    other = CountingEmbedder("onnx-int8")
    upd = build_item_index(client, "toy", texts, texts, other, progress=False)
    assert upd.full and upd.embedded == 5 and len(other.calls) == 5
    assert client.get_collection("interec_items_toy").metadata["backend"] == "onnx-int8"
