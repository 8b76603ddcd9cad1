"""SASRec's network, its hyper-parameters and the full-softmax loss: what one training step runs.

The model around it (training loop, early stopping, scoring, saving) is models/sasrec.py.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def default_threads() -> int:
    """Two torch threads unless INTEREC_TORCH_THREADS says otherwise (the CPU is shared with the local LLM)."""
    return int(os.environ.get("INTEREC_TORCH_THREADS", "2"))


@dataclass
class SASRecConfig:
    max_len: int = 50
    stride: int = 50  # window step; < max_len gives every target more context at ~max_len/stride x the work
    hidden: int = 64
    blocks: int = 2
    heads: int = 2
    dropout: float = 0.5  # chosen on MovieLens valid (0.2/0.3/0.5); RecBole's and the SASRec paper's sparse-data value
    lr: float = 3e-3
    weight_decay: float = 0.0
    batch_size: int = 64
    loss: str = "auto"  # full | sampled | auto (sampled when the catalog has more than sampled_above items)
    negatives: int = 2048  # uniform negatives per batch for the sampled softmax (plus the batch's targets)
    sampled_above: int = 20000
    max_epochs: int = 200
    patience: int = 5  # evaluations without a better valid NDCG@10 before stopping
    min_epochs: int = 10  # never stop inside the noisy first-epoch plateau
    max_minutes: float = 30.0  # hard wall-time cap on training
    seed: int = 42
    device: str = "auto"  # auto = cuda when available, else cpu
    threads: int = field(default_factory=default_threads)  # torch CPU threads while training

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SASRecConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class _Block(nn.Module):
    """Pre-LN transformer block with causal, pad-aware self-attention."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.ff(self.ln2(x)))


class SASRecNet(nn.Module):
    """Item ids are shifted by one inside the net: 0 is padding."""

    def __init__(self, n_items: int, cfg: SASRecConfig):
        super().__init__()
        self.cfg = cfg
        self.item_emb = nn.Embedding(n_items + 1, cfg.hidden, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(_Block(cfg.hidden, cfg.heads, cfg.dropout) for _ in range(cfg.blocks))
        self.ln = nn.LayerNorm(cfg.hidden)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """seq: (B, L) shifted ids, left-padded -> hidden states (B, L, d)."""
        b, n = seq.shape
        pos = torch.arange(self.cfg.max_len - n, self.cfg.max_len, device=seq.device)
        x = self.item_emb(seq) * math.sqrt(self.cfg.hidden) + self.pos_emb(pos)[None]
        x = self.drop(x)
        valid = seq > 0
        eye = torch.eye(n, dtype=torch.bool, device=seq.device)
        causal = torch.ones(n, n, dtype=torch.bool, device=seq.device).tril()
        mask = (causal & (valid[:, None, :] | eye))[:, None]  # (B, 1, L, L); pad rows see themselves
        for blk in self.blocks:
            x = blk(x, mask)
        return self.ln(x)

    def item_weights(self) -> torch.Tensor:
        return self.item_emb.weight[1:]


HEAD_CHUNK = 256  # positions per slice of the full-softmax head


def full_softmax_backward(net: SASRecNet, h: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean cross-entropy over all items, back-propagated slice by slice; returns the loss.

    The same gradient as one `cross_entropy(h @ W.T)`, but a batch's logits (positions x items: 88 MB for
    3,000 positions of a 7k-item catalog) never exist at once. Each 256-row slice is freed before the
    next, so the allocator reuses it instead of mapping fresh pages every batch; on 2 cores this took a
    batch from ~0.55 s to ~0.40 s (the head is most of SASRec's training time on catalogs this size).
    """
    hd = h.detach().requires_grad_()
    n = len(targets)
    total = 0.0
    for lo in range(0, n, HEAD_CHUNK):
        part = F.cross_entropy(hd[lo:lo + HEAD_CHUNK] @ net.item_weights().T, targets[lo:lo + HEAD_CHUNK],
                               reduction="sum") / n
        part.backward()
        total += float(part.detach())
    h.backward(hd.grad)
    return total
