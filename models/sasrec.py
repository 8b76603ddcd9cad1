"""SASRec (Kang & McAuley 2018) in plain torch: the "preference" ranker of the rank tool.

Why these choices:
- Full-softmax cross-entropy over all items at every position of a user's window: one forward pass
  supervises every prefix (RecBole materialises each prefix as its own sample, ~avg-length x the work),
  and for ~10k-item catalogs the N-way softmax is cheap and converges in few epochs.
- Left padding with positions anchored at the end, so the most recent item always has the same
  position embedding; pad keys are masked out of attention.
- Early stopping on valid NDCG@10 (full ranking, history masked, like the evaluation).
- Large catalogs (loss="auto" above `sampled_above` items): sampled softmax over the batch's own
  targets plus `negatives` uniformly drawn items, so an epoch no longer costs positions x catalog size
  (a 32k-item catalog took 31 s per epoch with the full softmax).
- Each batch is cut to its longest real window (left padding, positions anchored at the end, so this is
  exact): short-history catalogs no longer run the transformer over 50 positions of mostly padding.
- The full-softmax head runs slice by slice (`sasrec_net.full_softmax_backward`): the same gradient without a
  positions x catalog logits matrix per batch; the network and its loss live in models/sasrec_net.py.
- Warm start (`fit(..., init=old_model)`): a grown interaction log or catalog continues from the last
  weights for a few epochs instead of training from scratch; new items start from random vectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models import model_dir
from models.metrics import hr_ndcg, target_ranks
from models.recdata import SplitSequences
from models.sasrec_net import SASRecConfig, SASRecNet, full_softmax_backward

NAME = "sasrec-v1"


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@contextmanager
def single_thread() -> Iterator[None]:
    """Run a tiny forward pass on one intra-op thread.

    On a loaded 2-core machine, OpenMP barriers across 2 threads made one 1,000-candidate scoring call
    take p95 33-224 ms instead of 0.5 ms; a sub-millisecond pass gains nothing from a second thread.
    """
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _pad_left(seqs: Sequence[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = np.asarray(s[-length:], dtype=np.int64) + 1
        if len(s):
            out[r, length - len(s):] = s
    return out


def training_windows(train: Sequence[np.ndarray], max_len: int, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut each sequence into (input, next-item target) windows, newest first.

    Windows step back by `stride` (default max_len: no overlap). With overlap, a window only keeps the
    targets of its last `stride` positions (the oldest window keeps all), so every train transition is a
    target exactly once per epoch, and each has at least max_len - stride items of context.
    """
    stride = max(1, min(stride or max_len, max_len))
    inputs, targets = [], []
    for s in train:
        s = np.asarray(s, dtype=np.int64)
        end = len(s)
        while end >= 2:
            start = max(0, end - 1 - max_len)
            tgt = s[start + 1:end].copy()
            if start > 0 and stride < len(tgt):
                tgt[:-stride] = -1  # -1 + 1 = padding after the id shift: not a target here
            inputs.append(s[start:end - 1])
            targets.append(tgt)
            if start == 0:
                break
            end -= stride
    return _pad_left(inputs, max_len), _pad_left(targets, max_len)


def _warm_start(net: SASRecNet, old: SASRec) -> None:
    """Copy an older model's weights; a grown catalog keeps the old item rows and random new ones."""
    state = {k: v.detach().cpu() for k, v in old.net.state_dict().items()}
    mine = net.state_dict()
    for k, v in state.items():
        if k not in mine:
            continue
        if mine[k].shape == v.shape:
            mine[k] = v
        elif k == "item_emb.weight" and v.shape[1] == mine[k].shape[1] and v.shape[0] <= mine[k].shape[0]:
            mine[k][: v.shape[0]] = v
        else:
            raise ValueError(f"warm start: {k} has shape {tuple(v.shape)}, the new model {tuple(mine[k].shape)}")
    net.load_state_dict(mine)


class SASRec:
    """Trained SASRec plus the metadata that makes its folder self-describing."""

    name = "sasrec"

    def __init__(self, net: SASRecNet, n_items: int, meta: dict[str, Any] | None = None,
                 device: torch.device | None = None):
        self.net = net.eval()
        self.n_items = n_items
        self.meta = meta or {}
        self.device = device or next(net.parameters()).device

    @property
    def config(self) -> SASRecConfig:
        return self.net.cfg

    # ---------------------------------------------------------------- training
    def uses_sampled_softmax(self) -> bool:
        return self.config.loss == "sampled" or (self.config.loss == "auto" and self.n_items > self.config.sampled_above)

    @classmethod
    def fit(cls, data: SplitSequences, cfg: SASRecConfig | None = None, progress: bool = False,
            log: Callable[[str], None] | None = None, init: SASRec | None = None) -> SASRec:
        """Train with early stopping on valid NDCG@10; `init` warm-starts from an older model of this catalog."""
        cfg = cfg or SASRecConfig()
        if cfg.loss not in ("auto", "full", "sampled"):
            raise ValueError(f"SASRec loss {cfg.loss!r}: choose auto, full or sampled")
        device = pick_device(cfg.device)
        if device.type == "cpu" and cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        net = SASRecNet(data.n_items, cfg).to(device)
        if init is not None:
            _warm_start(net, init)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        x_all, y_all = training_windows(data.train, cfg.max_len, cfg.stride)
        if len(x_all) == 0:
            raise ValueError("SASRec needs at least one train sequence with two items")
        v_hist, v_tgt = data.valid_cases()
        model = cls(net, data.n_items, device=device)
        sampled = model.uses_sampled_softmax()
        gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
        best, best_state, best_epoch, stale, history = -1.0, None, 0, 0, []
        if init is not None and len(v_tgt):  # the old weights are the bar a warm start must beat
            best = model.evaluate(v_hist, v_tgt)["NDCG@10"]
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        start = time.perf_counter()
        from tqdm import tqdm

        bar = tqdm(range(1, cfg.max_epochs + 1), desc="sasrec", unit="epoch", disable=not progress)
        for epoch in bar:
            net.train()
            order = rng.permutation(len(x_all))
            total, count = 0.0, 0
            for lo in range(0, len(order), cfg.batch_size):
                idx = order[lo:lo + cfg.batch_size]
                xb, yb = x_all[idx], y_all[idx]
                first = int(np.argmax((xb > 0).any(axis=0)))  # leading all-padding columns: cut (exact)
                x = torch.from_numpy(xb[:, first:]).to(device)
                y = torch.from_numpy(yb[:, first:]).to(device)
                keep = y > 0
                h = net(x)[keep]
                opt.zero_grad(set_to_none=True)
                if sampled:
                    pos = y[keep] - 1
                    neg = torch.randint(0, data.n_items, (cfg.negatives,), generator=gen).to(device)
                    cand, inv = torch.unique(torch.cat([pos, neg]), return_inverse=True)
                    logits = h @ net.item_weights()[cand].T
                    loss = F.cross_entropy(logits, inv[:len(pos)])
                    loss.backward()
                    batch_loss = float(loss.detach())
                else:
                    batch_loss = full_softmax_backward(net, h, y[keep] - 1)
                opt.step()
                total += batch_loss * int(keep.sum())
                count += int(keep.sum())
            net.eval()
            metric = model.evaluate(v_hist, v_tgt)["NDCG@10"] if len(v_tgt) else -float(total / count)
            elapsed = time.perf_counter() - start
            history.append({"epoch": epoch, "loss": total / count, "valid_ndcg10": metric, "seconds": elapsed})
            bar.set_postfix(loss=f"{total / count:.3f}", valid_ndcg10=f"{metric:.4f}")
            if log:
                log(f"epoch {epoch} loss {total / count:.4f} valid NDCG@10 {metric:.4f} ({elapsed:.0f}s)")
            if metric > best:
                best, best_epoch, stale = metric, epoch, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
            if (stale >= cfg.patience and epoch >= cfg.min_epochs) or elapsed > cfg.max_minutes * 60:
                break
        bar.close()
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        model.meta = {
            "model": NAME, "config": asdict(cfg), "n_items": data.n_items, "data_hash": data.digest(),
            "train_seconds": time.perf_counter() - start, "epochs": len(history), "best_epoch": best_epoch,
            "metrics": {"valid_NDCG@10": best}, "history": history, "device": str(device),
            "torch": torch.__version__, "loss": "sampled" if sampled else "full",
            "warm_start": init is not None, "warm_start_from": (init.meta.get("data_hash") if init else None),
            "train_users": data.n_users,
            "train_interactions": int(sum(len(s) for s in data.train)),
        }
        return model

    # ---------------------------------------------------------------- scoring
    @torch.inference_mode()
    def _user_vectors(self, histories: Sequence[np.ndarray]) -> torch.Tensor:
        hist = [self._clean(h) for h in histories]
        x = torch.from_numpy(_pad_left(hist, self.config.max_len)).to(self.device)
        return self.net(x)[:, -1]

    def _clean(self, h: Sequence[int] | np.ndarray) -> np.ndarray:
        h = np.asarray(h, dtype=np.int64).ravel()
        return h[(h >= 0) & (h < self.n_items)]

    @torch.inference_mode()
    def score_batch(self, histories: Sequence[np.ndarray], candidates: np.ndarray | None = None) -> np.ndarray:
        """(users x candidates) scores; candidates=None scores all items. Empty histories score 0.

        Items added to the catalog after training (id >= n_items) have no vector: they score just below
        the lowest known candidate (no evidence for them) instead of borrowing another item's vector.
        """
        u = self._user_vectors(histories)
        w = self.net.item_weights()
        unknown = None
        if candidates is not None:
            cand = np.asarray(candidates, dtype=np.int64).ravel()
            unknown = (cand < 0) | (cand >= self.n_items)
            w = w[torch.as_tensor(np.where(unknown, 0, cand), device=self.device)]
        out = (u @ w.T).float().cpu().numpy()
        if unknown is not None and unknown.any():
            known = out[:, ~unknown]
            floor = (known.min(axis=1) if known.shape[1] else np.zeros(len(out), dtype=out.dtype)) - 1e-3
            out[:, unknown] = floor[:, None]
        empty = np.array([len(self._clean(h)) == 0 for h in histories])
        out[empty] = 0.0
        return out

    def score(self, history_iids: Sequence[int] | np.ndarray, candidate_iids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Preference of one user (history in time order) for each candidate; higher is better."""
        cand = np.asarray(candidate_iids, dtype=np.int64).ravel()
        if len(cand) == 0:
            return np.zeros(0, dtype=np.float32)
        if self.device.type != "cpu":
            return self.score_batch([np.asarray(history_iids)], cand)[0]
        with single_thread():
            return self.score_batch([np.asarray(history_iids)], cand)[0]

    def score_all(self, histories: Sequence[np.ndarray], batch: int = 512) -> np.ndarray:
        return np.concatenate([self.score_batch(histories[i:i + batch]) for i in range(0, len(histories), batch)])

    def evaluate(self, histories: Sequence[np.ndarray], targets: np.ndarray, k: int = 10,
                 batch: int = 512) -> dict[str, float]:
        """Full-ranking HR@k / NDCG@k with history items masked."""
        ranks = [target_ranks(self.score_batch(histories[i:i + batch]), targets[i:i + batch], histories[i:i + batch])
                 for i in range(0, len(targets), batch)]
        return hr_ndcg(np.concatenate(ranks) if ranks else np.empty(0), k)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        with model_dir.writing(path, self.meta) as tmp:
            state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
            torch.save(state, tmp / "model.pt")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> SASRec:
        meta = model_dir.read_meta(path)
        if not meta:
            raise FileNotFoundError(f"no SASRec model in {path}")
        cfg = SASRecConfig.from_dict(meta.get("config", {}))
        dev = pick_device(device)
        net = SASRecNet(int(meta["n_items"]), cfg)
        net.load_state_dict(torch.load(Path(path) / "model.pt", map_location="cpu", weights_only=True))
        return cls(net.to(dev), int(meta["n_items"]), meta, dev)

