"""`build`: validate, normalise, split, describe and index a domain. Idempotent and incremental.

Each step records a hash of its inputs in the artifacts manifest; a step whose inputs did not change
is skipped, so a second build of an unchanged domain only hashes files. The index step itself is
incremental per row (models/item_index.py): a changed item file re-embeds only the changed rows.
Before a long step the build prints an estimate (from the rates measured by earlier builds on this
machine, saved in <artifacts root>/rates.json); the report carries a per-step time table.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.artifacts import artifacts_dir, artifacts_root, read_manifest, write_manifest
from models.config import DomainConfig, DomainError, load_config
from models.domain import Domain

CATALOG_VERSION = "2"  # 2: joined columns stored as lists; coercion warnings
INDEX_VERSION = "1"
VOCABULARY_VERSION = "vocab-v1"


@dataclass
class BuildReport:
    artifacts: Path
    stats: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)  # step -> "built" | "up to date"
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # step -> wall seconds (0 when up to date)
    echo: Callable[[str], None] | None = None

    def say(self, line: str) -> None:
        if self.echo is not None:
            self.echo(line)

    def time_table(self) -> str:
        """Per-step wall time, the state of each step and the total: printed at the end of a build."""
        rows = [(name, self.steps.get(name, ""), secs) for name, secs in self.timings.items()]
        width = max([len(r[0]) for r in rows] + [5])
        lines = [f"  {'step'.ljust(width)}  {'state':<12} {'seconds':>8}"]
        lines += [f"  {n.ljust(width)}  {st:<12} {sec:8.1f}" for n, st, sec in rows]
        lines.append(f"  {'total'.ljust(width)}  {'':<12} {sum(self.timings.values()):8.1f}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- rates and estimates
DEFAULT_RATES = {"embed_items_per_s": 300.0}  # first build on a machine: a 2-core figure (docs/BUILD.md)


def _rates_file() -> Path:
    return artifacts_root() / "rates.json"


def read_rates() -> dict[str, float]:
    out = dict(DEFAULT_RATES)
    for k, v in _saved_rates().items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def record_rate(name: str, value: float) -> None:
    """Keep a measured rate for the next estimate (averaged with the last one: one loaded run should not
    swing it alone)."""
    if not value or value <= 0:
        return
    saved = _saved_rates()
    old = saved.get(name)
    saved[name] = round(value if old is None else 0.5 * float(old) + 0.5 * value, 3)
    _write_json(_rates_file(), saved)


def _saved_rates() -> dict[str, Any]:
    try:
        data = json.loads(_rates_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only artifacts root only loses the estimate
        pass


def fmt_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def inputs_hash(cfg: DomainConfig, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in cfg.input_files():
        h.update(p.name.encode())
        h.update(file_digest(p).encode())
    return h.hexdigest()


def _step(manifest: dict[str, Any], name: str, digest: str, art: Path, report: BuildReport,
          run: Callable[[], dict[str, Any]], outputs: list[str]) -> None:
    done = manifest.get(name, {})
    if done.get("hash") == digest and all((art / o).exists() for o in outputs):
        report.steps[name] = "up to date"
        report.stats.update(done.get("stats", {}))
        report.timings[name] = 0.0
        return
    t = time.perf_counter()
    stats = run()
    report.timings[name] = time.perf_counter() - t
    manifest[name] = {"hash": digest, "stats": stats, "finished": time.time()}
    write_manifest(art, manifest)  # after each step: a crash later keeps the finished ones
    report.steps[name] = "built"
    report.stats.update(stats)


def build_domain(cfg: DomainConfig, art: Path, progress: bool = True, index: bool = True,
                 encoder_path: str | None = None, strict: bool = False, echo: Callable[[str], None] | None = None,
                 full_index: bool = False) -> BuildReport:
    """Run the steps that are missing or stale; `echo` receives the estimates printed before long steps."""
    start = time.perf_counter()
    art.mkdir(parents=True, exist_ok=True)
    report = BuildReport(art, echo=echo)
    manifest = read_manifest(art)
    catalog_hash = inputs_hash(cfg, CATALOG_VERSION)

    def catalog() -> dict[str, Any]:
        return _build_catalog(cfg, art, progress, strict)

    if strict and manifest.get("catalog", {}).get("hash") == catalog_hash:  # up to date, but with warnings?
        from models.catalog import BuildWarnings

        for w in manifest["catalog"].get("stats", {}).get("warnings", [])[:1]:
            BuildWarnings(strict=True).add(w)

    _step(manifest, "catalog", catalog_hash, art, report, catalog,
          ["items.parquet", "interactions.parquet", "schema.json", "items.sqlite"])
    if index:
        from models.embedder import base_encoder_path, default_backend

        enc = encoder_path or _trained_encoder(art) or base_encoder_path()
        target = os.environ.get("INTEREC_CHROMA_HOST", "") + ":" + os.environ.get("INTEREC_CHROMA_PORT", "")
        backend = default_backend()
        # the item rows alone (not the interaction log: a grown log changes popularity, not the texts)
        index_hash = hashlib.sha256(
            f"{_items_digest(art)}|{enc}|{backend}|{INDEX_VERSION}|{target}".encode()).hexdigest()
        _step(manifest, "index", index_hash, art, report,
              lambda: _build_index(cfg, art, enc, progress, report, full_index), ["chroma"])
        vocab_hash = hashlib.sha256(f"{catalog_hash}|{VOCABULARY_VERSION}".encode()).hexdigest()
        _step(manifest, "vocabulary", vocab_hash, art, report, lambda: _build_vocabulary(cfg, art, progress),
              ["vocabulary"])
    report.warnings = list(report.stats.pop("warnings", []))
    report.seconds = time.perf_counter() - start
    return report


def _build_vocabulary(cfg: DomainConfig, art: Path, progress: bool) -> dict[str, Any]:
    """Encoder vectors of every categorical value name, so requests are matched by meaning without delay."""
    from models.embedder import get_embedder

    vocab = Domain(cfg, art).vocabulary
    emb = get_embedder(None)
    vecs = vocab.vectors(lambda texts: emb.embed(texts, batch_size=256, progress=progress))
    return {"values": len(vocab.values), "value_vectors": int(len(vecs))}

def _items_digest(art: Path) -> str:
    """Hash of the normalised item table without the popularity column (what the index texts come from)."""
    import pandas as pd

    items = pd.read_parquet(art / "items.parquet")
    items = items.drop(columns=[c for c in ("popularity",) if c in items.columns])
    h = hashlib.sha256(",".join(map(str, items.columns)).encode())
    h.update(pd.util.hash_pandas_object(items, index=True).to_numpy().tobytes())
    return h.hexdigest()


def _trained_encoder(art: Path) -> str | None:
    """A fine-tuned RecLM-emb encoder replaces the base one in the index when it exists."""
    cand = art / "models" / "reclm-emb-v1"
    return str(cand) if (cand / "config.json").is_file() or (cand / "modules.json").is_file() else None


def _build_catalog(cfg: DomainConfig, art: Path, progress: bool, strict: bool = False) -> dict[str, Any]:
    from tqdm import tqdm

    from models.catalog import BuildWarnings, normalise_interactions, normalise_items, popularity
    from models.table_build import describe_table, write_item_db

    warn = BuildWarnings(strict=strict)
    with tqdm(total=4, desc="catalog", unit="step", disable=not progress) as bar:
        bar.set_postfix_str("items")
        items = normalise_items(cfg, warn)
        bar.update()
        bar.set_postfix_str("interactions")
        inter = normalise_interactions(cfg, items, warn)
        items["popularity"] = popularity(inter, len(items))
        bar.update()
        bar.set_postfix_str("schema")
        schema = describe_table(cfg, items)
        items.to_parquet(art / "items.parquet", index=False)
        inter.frame.to_parquet(art / "interactions.parquet", index=False)
        schema.save(art / "schema.json")
        bar.update()
        bar.set_postfix_str("sqlite")
        write_item_db(items, schema, art / "items.sqlite")
        bar.update()
    split_counts = inter.frame["split"].value_counts().to_dict()
    return {
        "items": len(items), "interactions": len(inter.frame), "users": len(inter.users),
        "interaction_word": "ratings" if cfg.interactions.rating else "interactions",
        "train": int(split_counts.get("train", 0)), "valid": int(split_counts.get("valid", 0)),
        "test": int(split_counts.get("test", 0)), "warnings": warn.lines,
    }


def _build_index(cfg: DomainConfig, art: Path, encoder: str, progress: bool, report: BuildReport,
                 full: bool = False) -> dict[str, Any]:
    import pandas as pd

    from models.catalog import item_text
    from models.chroma import chroma_client
    from models.embedder import get_embedder
    from models.item_index import build_item_index

    items = pd.read_parquet(art / "items.parquet")
    texts = [item_text(row, cfg) for _, row in items.iterrows()]
    embedder = get_embedder(encoder)
    rate = read_rates()["embed_items_per_s"]
    where = ("measured by an earlier build here" if "embed_items_per_s" in _saved_rates()
             else "a 2-core guess: no earlier build on this machine")
    report.say(f"index: up to {len(texts):,} item texts to embed ({embedder.backend}); only changed rows are "
               f"embedded. Estimate for a full embed: {fmt_duration(len(texts) / rate)} at ~{rate:.0f} items/s "
               f"({where})")
    upd = build_item_index(chroma_client(art / "chroma"), cfg.name, texts, items["title"].tolist(),
                           embedder, progress=progress, force=full)
    if upd.embedded >= 500:  # small updates are dominated by start-up: not a rate
        record_rate("embed_items_per_s", upd.embedded / upd.seconds_embedding)
    report.say(f"index: embedded {upd.embedded:,}, unchanged {upd.unchanged:,}, re-used {upd.reused:,}, "
               f"deleted {upd.deleted:,}" + (f" ({upd.embedded / upd.seconds_embedding:.0f} items/s)"
                                             if upd.seconds_embedding else ""))
    return {**upd.stats(), "encoder": Path(encoder).name, "backend": embedder.backend}


def train_quick_models(report: BuildReport, cfg: DomainConfig, background: bool = False, progress: bool = True,
                       echo: Callable[[str], None] = print) -> None:
    """After the build: popularity and ItemCF (seconds), then SASRec here or in a background process.

    Each model's time joins the report's time table; before SASRec the build prints an estimate from the
    last measured seconds per epoch-transition on this machine.
    """
    from models.recdata import from_domain
    from models.training import model_status, ranker_note, start_background_training, train_models

    domain = Domain(cfg, report.artifacts)
    for name in ("popularity", "itemcf"):
        r = train_models(domain, [name], progress=progress, echo=echo)[name]
        report.steps[f"model {name}"] = r["status"]
        report.timings[f"model {name}"] = r["seconds"]
    status = model_status(domain, ("sasrec",))["sasrec"]
    if status["state"] == "fresh":
        report.steps["model sasrec"] = "up to date"
        report.timings["model sasrec"] = 0.0
        return
    data = from_domain(domain)
    transitions = sum(max(0, len(s) - 1) for s in data.train)
    rate = read_rates().get("sasrec_transitions_per_s")
    est = (f"~{fmt_duration(25 * transitions / rate)} for ~25 epochs at {rate:.0f} transitions/s measured earlier"
           if rate else "no earlier run on this machine to estimate from (MovieLens: minutes on 2 cores)")
    if background:
        job = start_background_training(domain, ("sasrec",))
        echo(f"sasrec: training in the background (pid {job['pid']}, log {job['log']}); {est}")
        echo(ranker_note(domain))
        report.steps["model sasrec"] = "background"
        report.timings["model sasrec"] = 0.0
        return
    echo(f"sasrec: {transitions:,} train transitions; estimate {est}")
    r = train_models(domain, ["sasrec"], progress=progress, echo=echo)["sasrec"]
    report.steps["model sasrec"] = r["status"]
    report.timings["model sasrec"] = r["seconds"]
    record_sasrec_rate(domain)


def record_sasrec_rate(domain: Domain) -> None:
    """Transitions per second of the last SASRec fit, for the next build's estimate."""
    from models import model_dir
    from models.training import model_path

    meta = model_dir.read_meta(model_path(domain, "sasrec"))
    hist = meta.get("history") or []
    if meta and hist and meta.get("train_seconds") and not meta.get("warm_start"):
        n = int(meta.get("train_interactions", 0)) - int(meta.get("train_users", 0))
        if n > 0:
            record_rate("sasrec_transitions_per_s", n * len(hist) / float(meta["train_seconds"]))


def load_domain(path: str | Path, artifacts: str | Path | None = None, build: bool = False,
                progress: bool = False) -> Domain:
    """Open a built domain; with build=True, build (or refresh) it first. Raises DomainError."""
    cfg = load_config(path)
    art = artifacts_dir(cfg, artifacts)
    if build:
        build_domain(cfg, art, progress=progress)
    manifest = read_manifest(art)
    if "catalog" not in manifest:
        raise DomainError(f"domain '{cfg.name}' is not built yet: run `python app.py build --domain {path}`")
    return Domain(cfg, art)
