"""The ONNX backends give the torch path's vectors (fp32: equal; per-channel int8: close), offline."""

import numpy as np
import pytest

from models.embedder import Embedder, base_encoder_path, onnx_supported

pytestmark = [pytest.mark.slow, pytest.mark.ci]

TEXTS = ["a quiet film about a lighthouse keeper", "Space Station 9. genres: Sci-Fi, Thriller. year: 1999",
         "x", "an upbeat pop record with synthesizers and a long title " * 6]


def test_onnx_backends_match_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("INTEREC_ARTIFACTS", str(tmp_path))
    path = base_encoder_path()
    assert onnx_supported(path)
    ref = Embedder(path, backend="torch").embed(TEXTS)
    fp32 = Embedder(path, backend="onnx").embed(TEXTS)
    int8 = Embedder(path, backend="onnx-int8").embed(TEXTS)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert (fp32 * ref).sum(1).min() > 0.9999
    assert (int8 * ref).sum(1).min() > 0.97
    assert list((tmp_path / "encoders").glob("*/model-int8.onnx"))  # exported once, cached
    order = Embedder(path, backend="onnx-int8").embed(TEXTS[::-1])[::-1]  # length sorting keeps row order
    assert np.allclose(order, int8, atol=1e-5)


def test_models_without_mean_pooling_fall_back_to_torch(tmp_path):
    (tmp_path / "modules.json").write_text('[{"type": "sentence_transformers.models.Transformer", "path": ""},'
                                           '{"type": "sentence_transformers.models.Pooling", "path": "1_P"}]')
    (tmp_path / "1_P").mkdir()
    (tmp_path / "1_P" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    assert not onnx_supported(str(tmp_path))
    assert Embedder(str(tmp_path), backend="onnx-int8").backend == "torch"
    with pytest.raises(ValueError, match="backend"):
        Embedder(str(tmp_path), backend="tflite")
