"""Train what is missing or stale, and load what the agent's tools need.

A model is stale when the data hash saved in its meta.json differs from the current domain's (the
train split, valid targets and catalog size; for the encoder also the item texts). Loaders never
train the expensive models behind the user's back: `load_ranker` returns None (the rank tool then uses
similarity or popularity) and `load_encoder_path` returns the base MiniLM. Cheap ItemCF and popularity
are built on first use.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models import model_dir
from models.itemcf import NAME as ITEMCF_NAME
from models.itemcf import ItemCF
from models.popularity import NAME as POPULARITY_NAME
from models.popularity import Popularity
from models.recdata import SplitSequences, from_domain
from models.reclm_emb import NAME as EMB_NAME
from models.sasrec import NAME as SASREC_NAME
from models.sasrec import SASRec, SASRecConfig

log = logging.getLogger(__name__)

MODEL_NAMES = ("popularity", "itemcf", "sasrec", "emb")
DIRS = {"popularity": POPULARITY_NAME, "itemcf": ITEMCF_NAME, "sasrec": SASREC_NAME, "emb": EMB_NAME}


def model_path(domain: Any, name: str) -> Path:
    """Folder of a model inside the domain's artifacts, e.g. <artifacts>/models/sasrec-v1."""
    return Path(domain.artifacts) / "models" / DIRS[name]


def text_hash(domain: Any) -> str:
    h = hashlib.sha256()
    for i in range(int(domain.n_items)):
        h.update(domain.item_text(i).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def data_hash(domain: Any, name: str, data: SplitSequences | None = None) -> str:
    base = (data or from_domain(domain)).digest()
    return f"{base}-{text_hash(domain)}" if name == "emb" else base


def is_fresh(domain: Any, name: str, data: SplitSequences | None = None) -> bool:
    meta = model_dir.read_meta(model_path(domain, name))
    return bool(meta) and meta.get("data_hash") == data_hash(domain, name, data)


def train_models(domain: Any, names: tuple[str, ...] | list[str] = MODEL_NAMES, force: bool = False,
                 progress: bool = True, sasrec_config: SASRecConfig | None = None, emb_config: Any = None,
                 echo: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Train the named models that are missing or stale; returns name -> {status, path, seconds, metrics}.

    status is "trained" or "up to date". "all" in names means every model.
    """
    names = MODEL_NAMES if "all" in names else tuple(names)
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODEL_NAMES)} or all")
    say = echo or log.info
    data = from_domain(domain)
    report: dict[str, dict[str, Any]] = {}
    for name in names:
        path = model_path(domain, name)
        digest = data_hash(domain, name, data)
        meta = model_dir.read_meta(path)
        if not force and meta.get("data_hash") == digest:
            report[name] = {"status": "up to date", "path": str(path), "seconds": 0.0,
                            "metrics": meta.get("metrics", {})}
            continue
        say(f"training {name} -> {path}")
        start = time.perf_counter()
        if name == "popularity":
            Popularity.fit(data).save(path)
            metrics: dict[str, Any] = {}
        elif name == "itemcf":
            ItemCF.fit(data).save(path)
            metrics = {}
        elif name == "sasrec":
            model = SASRec.fit(data, sasrec_config, progress=progress)
            model.save(path)
            metrics = model.meta.get("metrics", {})
        else:
            metrics = _train_emb(domain, data, path, digest, emb_config, progress, say)
        report[name] = {"status": "trained", "path": str(path), "seconds": time.perf_counter() - start,
                        "metrics": metrics}
    return report


def _train_emb(domain: Any, data: SplitSequences, path: Path, digest: str, cfg: Any, progress: bool,
               say: Callable[[str], None]) -> dict[str, Any]:
    from models.emb_pairs import generator_for_domain
    from models.reclm_emb import EmbConfig, train_encoder

    cfg = cfg or EmbConfig()
    cf = load_itemcf(domain)
    gen = generator_for_domain(domain, data, seed=cfg.seed, neighbours=lambda i, k: cf.neighbours(i, k)[0])
    t = time.perf_counter()
    pairs = gen.training_pairs(per_type=cfg.per_type)
    say(f"{len(pairs)} training pairs in {time.perf_counter() - t:.1f}s")
    meta = train_encoder(pairs, gen.texts, path, cfg, progress=progress,
                         extra_meta={"data_hash": digest, "heldout_items": len(gen.heldout)})
    return {"steps": meta["steps"], "train_seconds": meta["train_seconds"], "loss_last50": meta["loss_last50"]}


def _load_checked(domain: Any, name: str) -> Path | None:
    path = model_path(domain, name)
    meta = model_dir.read_meta(path)
    if not meta:
        return None
    if int(meta.get("n_items", domain.n_items)) != int(domain.n_items):
        log.warning("%s in %s was trained on another catalog size; ignoring it", name, path)
        return None
    if meta.get("data_hash") != data_hash(domain, name):
        log.warning("%s in %s is stale (data changed); retrain with `app.py train`", name, path)
    return path


def load_ranker(domain: Any, device: str = "cpu") -> SASRec | None:
    """The preference ranker (SASRec) trained for this catalog, or None so the caller picks its fallback."""
    path = _load_checked(domain, "sasrec")
    if path is not None:
        return SASRec.load(path, device=device)
    log.info("no SASRec model for %s (run `app.py train --model sasrec`)", getattr(domain, "name", "domain"))
    return None


def load_popularity(domain: Any) -> Popularity:
    path = _load_checked(domain, "popularity")
    if path is not None:
        return Popularity.load(path)
    train_models(domain, ("popularity",), progress=False)
    return Popularity.load(model_path(domain, "popularity"))


def load_itemcf(domain: Any) -> ItemCF:
    """ItemCF neighbours; built and saved on first use (seconds for 10k items)."""
    path = _load_checked(domain, "itemcf")
    if path is not None and is_fresh(domain, "itemcf"):
        return ItemCF.load(path)
    train_models(domain, ("itemcf",), progress=False)
    return ItemCF.load(model_path(domain, "itemcf"))


def load_encoder_path(domain: Any) -> str:
    """The fine-tuned encoder folder when present, else the base MiniLM path (or INTEREC_ENCODER)."""
    path = model_path(domain, "emb")
    if (path / "modules.json").is_file():
        return str(path)
    from models.reclm_emb import base_model_path

    return base_model_path()
