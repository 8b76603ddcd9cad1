"""Train what is missing or stale, and load what the agent's tools need.

A model is stale when the data hash saved in its meta.json differs from the current domain's (the
train split, valid targets and catalog size; for the encoder also the item texts). Loaders never
train the expensive models behind the user's back: `load_ranker` returns None (the rank tool then uses
similarity or popularity) and `load_encoder_path` returns the base MiniLM. Cheap ItemCF and popularity
are built on first use.

Growing data does not force a full retrain: a stale SASRec keeps serving (items newer than it score
below every item it knows) and `model_status` / `ranker_note` say that it is stale; the next
`train --model sasrec` warm-starts from it for a few epochs. `start_background_training` trains in a
separate low-priority process, so a first chat need not wait for SASRec.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models import model_dir
from models.itemcf import NAME as ITEMCF_NAME
from models.itemcf import ItemCF
from models.popularity import NAME as POPULARITY_NAME
from models.popularity import Popularity
from models.recdata import SplitSequences, from_domain
from models.reclm_emb import NAME as EMB_NAME
from models.sasrec import NAME as SASREC_NAME
from models.sasrec import SASRec, SASRecConfig

if TYPE_CHECKING:
    from models.domain import Domain

log = logging.getLogger(__name__)

MODEL_NAMES = ("popularity", "itemcf", "sasrec", "emb")
DIRS = {"popularity": POPULARITY_NAME, "itemcf": ITEMCF_NAME, "sasrec": SASREC_NAME, "emb": EMB_NAME}


def model_path(domain: Domain, name: str) -> Path:
    """Folder of a model inside the domain's artifacts, e.g. <artifacts>/models/sasrec-v1."""
    return Path(domain.artifacts) / "models" / DIRS[name]


def text_hash(domain: Domain) -> str:
    h = hashlib.sha256()
    for i in range(int(domain.n_items)):
        h.update(domain.item_text(i).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def data_hash(domain: Domain, name: str, data: SplitSequences | None = None) -> str:
    base = (data or from_domain(domain)).digest()
    return f"{base}-{text_hash(domain)}" if name == "emb" else base


def is_fresh(domain: Domain, name: str, data: SplitSequences | None = None) -> bool:
    meta = model_dir.read_meta(model_path(domain, name))
    return bool(meta) and meta.get("data_hash") == data_hash(domain, name, data)


WARM_START = {"min_epochs": 1, "patience": 2, "max_epochs": 15}  # continue, do not start over


def _warm_start_from(domain: Domain, path: Path, cfg: SASRecConfig | None) -> SASRec | None:
    """The existing SASRec when it can seed the new one (same architecture, catalog not shrunk)."""
    meta = model_dir.read_meta(path)
    if not meta or int(meta.get("n_items", 0)) > int(domain.n_items):
        return None
    if cfg is not None:
        old = SASRecConfig.from_dict(meta.get("config", {}))
        arch = ("hidden", "blocks", "heads", "max_len")
        if any(getattr(old, a) != getattr(cfg, a) for a in arch):
            return None
    try:
        return SASRec.load(path)
    except (OSError, RuntimeError, KeyError, ValueError):
        return None


def train_models(domain: Domain, names: tuple[str, ...] | list[str] = MODEL_NAMES, force: bool = False,
                 progress: bool = True, sasrec_config: SASRecConfig | None = None, emb_config: Any = None,
                 echo: Callable[[str], None] | None = None, warm: bool = True) -> dict[str, dict[str, Any]]:
    """Train the named models that are missing or stale; returns name -> {status, path, seconds, metrics}.

    status is "trained" or "up to date". "all" in names means every model. A stale SASRec is
    warm-started from its last weights unless `force` or warm=False.
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
            init = None if force or not warm else _warm_start_from(domain, path, sasrec_config)
            cfg = sasrec_config or SASRecConfig()
            if init is not None:
                say(f"sasrec: warm start from the model trained on {meta.get('train_interactions', '?')} "
                    f"interactions (a few epochs instead of a full retrain; --force retrains from scratch)")
                cfg = dataclasses.replace(init.config, **WARM_START, threads=cfg.threads, device=cfg.device)  # type: ignore[arg-type]
            model = SASRec.fit(data, cfg, progress=progress, init=init)
            model.save(path)
            metrics = model.meta.get("metrics", {})
            try:  # measured now, so the first chat turn does not pay for it
                load_pop_prior(domain, model)
            except Exception as e:  # noqa: BLE001 - the ranker still serves; the weight is measured on first use
                log.warning("popularity weight not measured: %s", e)
        else:
            metrics = _train_emb(domain, data, path, digest, emb_config, progress, say)
        report[name] = {"status": "trained", "path": str(path), "seconds": time.perf_counter() - start,
                        "metrics": metrics}
    return report


def _train_emb(domain: Domain, data: SplitSequences, path: Path, digest: str, cfg: Any, progress: bool,
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


def _load_checked(domain: Domain, name: str, grown_ok: bool = False) -> Path | None:
    """The model folder when usable. grown_ok: a model trained before items were added still serves."""
    path = model_path(domain, name)
    meta = model_dir.read_meta(path)
    if not meta:
        return None
    trained_on = int(meta.get("n_items", domain.n_items))
    if trained_on != int(domain.n_items) and not (grown_ok and trained_on < int(domain.n_items)):
        log.warning("%s in %s was trained on another catalog size; ignoring it", name, path)
        return None
    if meta.get("data_hash") != data_hash(domain, name):
        log.warning("%s in %s is stale (data changed); retrain with `app.py train`", name, path)
    return path


def load_ranker(domain: Domain, device: str = "cpu") -> SASRec | None:
    """The preference ranker (SASRec) trained for this catalog, or None so the caller picks its fallback."""
    path = _load_checked(domain, "sasrec", grown_ok=True)
    if path is not None:
        return SASRec.load(path, device=device)
    log.info("no SASRec model for %s (run `app.py train --model sasrec`)", getattr(domain, "name", "domain"))
    return None


POP_PRIOR_VERSION = 1  # bump when models/pop_prior.py measures differently


def load_pop_prior(domain: Domain, ranker: SASRec) -> float | None:
    """The popularity weight measured for this catalog and ranker (models/pop_prior.py), cached beside it."""
    import numpy as np

    from models.pop_prior import fit_pop_prior

    meta = model_dir.read_meta(model_path(domain, "sasrec"))
    key = f"{meta.get('data_hash', 'none')}-{domain.n_items}-v{POP_PRIOR_VERSION}"
    cache = Path(domain.artifacts) / "models" / f"pop_prior-{key}.json"
    try:
        return json.loads(cache.read_text())["pop_prior"]
    except (OSError, ValueError, KeyError):
        pass
    got = fit_pop_prior(ranker, from_domain(domain), np.asarray(domain.popularity), domain.vocabulary.matrix)
    with contextlib.suppress(OSError):  # read-only artifacts: measured again next process
        cache.write_text(json.dumps(got))
    log.info("popularity weight for %s: %s (NDCG@10 by weight %s)", getattr(domain, "name", "domain"),
             got["pop_prior"], got["ndcg10"])
    return got["pop_prior"]


def load_popularity(domain: Domain) -> Popularity:
    path = _load_checked(domain, "popularity")
    if path is not None and is_fresh(domain, "popularity"):  # seconds to refit: never serve a stale one
        return Popularity.load(path)
    train_models(domain, ("popularity",), progress=False)
    return Popularity.load(model_path(domain, "popularity"))


def load_itemcf(domain: Domain) -> ItemCF:
    """ItemCF neighbours; built and saved on first use (seconds for 10k items)."""
    path = _load_checked(domain, "itemcf")
    if path is not None and is_fresh(domain, "itemcf"):
        return ItemCF.load(path)
    train_models(domain, ("itemcf",), progress=False)
    return ItemCF.load(model_path(domain, "itemcf"))


def load_encoder_path(domain: Domain) -> str:
    """The fine-tuned encoder folder when present, else the base MiniLM path (or INTEREC_ENCODER)."""
    path = model_path(domain, "emb")
    if (path / "modules.json").is_file():
        return str(path)
    from models.reclm_emb import base_model_path

    return base_model_path()


# ----------------------------------------------------------------------------- staleness and background
TRAINING_MARKER = "training.json"


def _marker(domain: Domain) -> Path:
    return Path(domain.artifacts) / "models" / TRAINING_MARKER


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child not yet reaped is a zombie: not training any more
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def background_training(domain: Domain) -> dict[str, Any] | None:
    """The running background training job ({pid, models, started, log}) or None."""
    try:
        job = json.loads(_marker(domain).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return job if isinstance(job, dict) and _pid_alive(int(job.get("pid", 0))) else None


def start_background_training(domain: Domain, names: tuple[str, ...] = ("sasrec",), threads: int = 1) -> dict[str, Any]:
    """Train `names` in a separate, niced process (one torch thread by default: the chat and the local LLM
    keep the other core). Returns the job record; a job already running is returned, not doubled."""
    running = background_training(domain)
    if running is not None:
        return running
    logs = Path(domain.artifacts) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"train-{'-'.join(names)}.log"
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-c", "import sys, app; sys.exit(app.run(sys.argv[1:]))", "train",
           "--domain", str(domain.config.root), "--artifacts", str(Path(domain.artifacts).parent), "--quiet"]
    env = {**os.environ, "INTEREC_TORCH_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    argv = [[*cmd, "--model", name] for name in names]
    # one model after another (never two trainings at once); a single model runs without a shell
    run = argv[0] if len(argv) == 1 else ["/bin/sh", "-c", " && ".join(shlex.join(a) for a in argv)]
    with log_path.open("ab") as out:
        proc = subprocess.Popen(run, stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL,
                                start_new_session=True,
                                preexec_fn=lambda: os.nice(10))  # noqa: PLW1509 - no threads started yet
    job = {"pid": proc.pid, "models": list(names), "started": time.time(), "log": str(log_path)}
    _marker(domain).parent.mkdir(parents=True, exist_ok=True)
    _marker(domain).write_text(json.dumps(job), encoding="utf-8")
    return job


def model_status(domain: Domain, names: tuple[str, ...] = ("popularity", "itemcf", "sasrec")) -> dict[str, dict[str, Any]]:
    """Per model: state (fresh | stale | missing | training) and what it was trained on vs the data now."""
    data = from_domain(domain)
    now_inter = int(sum(len(s) for s in data.train))
    job = background_training(domain)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        meta = model_dir.read_meta(model_path(domain, name))
        info: dict[str, Any] = {"items_now": int(domain.n_items), "train_interactions_now": now_inter}
        if meta:
            info.update({"trained_at": meta.get("saved_at"), "items_trained": meta.get("n_items"),
                         "train_interactions_trained": meta.get("train_interactions"),
                         "warm_start": meta.get("warm_start", False)})
        fresh = bool(meta) and meta.get("data_hash") == data_hash(domain, name, data)
        info["state"] = "fresh" if fresh else ("stale" if meta else "missing")
        if job is not None and name in job.get("models", []) and not fresh:
            info["state"] = "training"
            info["training_log"] = job.get("log")
            info["training_since"] = time.strftime("%H:%M:%S", time.localtime(float(job.get("started", 0))))
        out[name] = info
    return out


def ranker_note(domain: Domain, status: dict[str, dict[str, Any]] | None = None) -> str:
    """One line for the chat banner / info: which preference ranker the agent uses now, and why."""
    st = (status or model_status(domain, ("sasrec",)))["sasrec"]
    state = st["state"]
    if state == "fresh":
        return f"ranker: SASRec (trained {st.get('trained_at')}, up to date)"
    if state == "training":
        return (f"ranker: similarity to liked items and popularity until SASRec finishes training in the "
                f"background (since {st['training_since']}; log {st['training_log']}); chats switch to it when it is ready")
    if state == "stale":
        parts = []
        if st.get("items_trained") is not None and int(st["items_trained"]) < st["items_now"]:
            parts.append(f"{st['items_now'] - int(st['items_trained']):,} items newer than it score lowest")
        if st.get("train_interactions_trained") is not None:
            parts.append(f"trained on {int(st['train_interactions_trained']):,} of "
                         f"{st['train_interactions_now']:,} interactions")
        why = "; ".join(parts) or "the data changed since it was trained"
        return f"ranker: SASRec, stale ({why}); `app.py train --model sasrec` updates it with a warm start"
    return "ranker: similarity to liked items and popularity (no SASRec trained: `app.py train --model sasrec`)"
